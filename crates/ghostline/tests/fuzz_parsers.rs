//! Fuzz-style property tests: every parser takes arbitrary bytes without panicking, and what it
//! accepts re-encodes to something it decodes the same way. (`fuzz/` holds the cargo-fuzz targets
//! for longer runs; CI does not build them.)

use proptest::prelude::*;
use tabella_ghostline::frame::{Frame, Member, MAX_FRAME};
use tabella_ghostline::message::SealedMessage;
use tabella_ghostline::pad::PadFileHeader;

fn arb_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (
            prop::collection::vec(any::<u8>(), 0..300),
            any::<u16>(),
            ".{0,70}"
        )
            .prop_map(|(token, sender, nick)| Frame::Hello {
                token,
                sender,
                nick
            }),
        Just(Frame::Welcome),
        prop::collection::vec(any::<u8>(), 0..2000).prop_map(Frame::Data),
        prop::collection::vec((any::<u16>(), "[a-z]{0,10}"), 0..20).prop_map(|m| Frame::Presence(
            m.into_iter()
                .map(|(sender, nick)| Member { sender, nick })
                .collect()
        )),
        ".{0,100}".prop_map(Frame::Error),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn frame_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(Some((frame, used))) = Frame::decode(&bytes) {
            prop_assert!(used <= bytes.len());
            let again = frame.encode();
            let (back, n) = Frame::decode(&again).unwrap().unwrap();
            prop_assert_eq!(n, again.len());
            prop_assert_eq!(back, frame);
        }
    }

    #[test]
    fn frame_decoder_on_structured_noise(
        kind in 0u8..8,
        body in prop::collection::vec(any::<u8>(), 0..300),
        len_delta in -3i64..3,
    ) {
        let mut b = vec![kind];
        b.extend_from_slice(&body);
        let len = (b.len() as i64 + len_delta).max(0) as u32;
        let mut wire = len.to_be_bytes().to_vec();
        wire.extend_from_slice(&b);
        let _ = Frame::decode(&wire);
        let _ = Frame::decode_body(&b);
    }

    #[test]
    fn frames_round_trip(f in arb_frame()) {
        let wire = f.encode();
        prop_assert!(wire.len() <= MAX_FRAME + 4);
        let (back, n) = Frame::decode(&wire).unwrap().unwrap();
        prop_assert_eq!(n, wire.len());
        // Over-long fields are cut at encoding time; what comes back re-encodes identically.
        prop_assert_eq!(back.encode(), wire);
    }

    #[test]
    fn sealed_message_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(m) = SealedMessage::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    #[test]
    fn sealed_message_decoder_with_valid_prefix(
        len in 0u32..100,
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut wire = b"GL\x02".to_vec();
        wire.extend_from_slice(&[0u8; 16 + 2 + 8]);
        wire.extend_from_slice(&len.to_be_bytes());
        wire.extend_from_slice(&body);
        match SealedMessage::decode(&wire) {
            Ok(m) => prop_assert_eq!(body.len(), m.header.length as usize + 32),
            Err(_) => prop_assert_ne!(body.len(), len as usize + 32),
        }
    }

    #[test]
    fn pad_header_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let _ = PadFileHeader::decode(&bytes);
    }
}
