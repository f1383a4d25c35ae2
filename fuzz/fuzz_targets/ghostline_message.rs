//! GhostLine sealed messages (`tabella_ghostline::message`) and pad file headers
//! (`tabella_ghostline::pad`). A sealed message must re-encode to exactly its bytes; opening it
//! with the pad its header points at must fail unless the tag is right, and a message sealed
//! from its ciphertext must open back to it and fail after any one-byte change. A pad file
//! header must re-encode to its first bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_ghostline::message::{open, seal, SealedMessage};
use tabella_ghostline::pad::{consumption, PadFileHeader, PAD_FILE_HEADER_LEN};

/// A deterministic pad for a message of `len` bytes (the fuzzer cannot know it).
fn pad_for(len: usize, salt: u8) -> Vec<u8> {
    (0..consumption(len))
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("ghostline_message"), |data: &[u8]| {
    if let Ok(h) = PadFileHeader::decode(data) {
        assert_eq!(&h.encode()[..], &data[..PAD_FILE_HEADER_LEN]);
        assert_eq!(PadFileHeader::decode(&h.encode()).unwrap(), h);
    }
    let Ok(m) = SealedMessage::decode(data) else {
        return;
    };
    assert_eq!(m.encode(), data, "decoding is not canonical");
    let len = m.ciphertext.len();
    let pad = pad_for(len, 7);
    if let Ok(plain) = open(&m, &pad) {
        // Only possible if the fuzzer computed the one-time MAC: then sealing the plaintext
        // again must give back the same message.
        let again = seal(m.header, &plain.0, &pad).unwrap();
        assert_eq!(again, m);
    }
    // Seal the ciphertext as a plaintext under the same header: it opens, and any one-byte
    // change (chosen by the input) is refused.
    let sealed = seal(m.header, &m.ciphertext, &pad).unwrap();
    assert_eq!(&open(&sealed, &pad).unwrap().0[..], &m.ciphertext[..]);
    let mut wire = sealed.encode();
    let at = usize::from(data[data.len() - 1]) * 7 % wire.len();
    wire[at] ^= data[0] | 1;
    if let Ok(tampered) = SealedMessage::decode(&wire) {
        if tampered.ciphertext.len() == len {
            assert!(open(&tampered, &pad).is_err(), "a changed byte {at} was accepted");
        }
    }
});
