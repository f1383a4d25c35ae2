//! Property tests of the sealed-message layer: round trips, and every single-bit change rejected.

use proptest::prelude::*;
use tabella_ghostline::message::{open, seal, MessageHeader, SealedMessage};
use tabella_ghostline::pad::{consumption, PadId, PadOffset, SenderIndex};

fn header(len: usize, sender: u16, offset: u64) -> MessageHeader {
    MessageHeader {
        pad_id: PadId([0x11; 16]),
        sender: SenderIndex(sender),
        offset: PadOffset(offset),
        length: len as u32,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn seal_then_open_round_trips(
        text in prop::collection::vec(any::<u8>(), 0..400),
        seed in any::<u8>(),
        sender in any::<u16>(),
        offset in any::<u64>(),
    ) {
        let pad: Vec<u8> = (0..consumption(text.len()))
            .map(|i| (i as u8).wrapping_mul(seed | 1).wrapping_add(seed))
            .collect();
        let sealed = seal(header(text.len(), sender, offset), &text, &pad).unwrap();
        let back = SealedMessage::decode(&sealed.encode()).unwrap();
        prop_assert_eq!(&open(&back, &pad).unwrap().0[..], &text[..]);
    }

    #[test]
    fn any_bit_flip_is_rejected(
        text in prop::collection::vec(any::<u8>(), 1..200),
        pad_byte in any::<u8>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let pad: Vec<u8> = (0..consumption(text.len()))
            .map(|i| (i as u8) ^ pad_byte)
            .collect();
        let wire = seal(header(text.len(), 1, 0), &text, &pad).unwrap().encode();
        let mut bad = wire.clone();
        let at = flip.index(bad.len());
        bad[at] ^= 1 << bit;
        if let Ok(m) = SealedMessage::decode(&bad) {
            prop_assert!(open(&m, &pad).is_err(), "flip at {} accepted", at);
        }
    }
}
