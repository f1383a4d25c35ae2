//! Fuzz-style property tests: every parser takes arbitrary bytes without panicking, and what it
//! accepts re-encodes to something it decodes the same way. The cargo-fuzz targets
//! `ghostline_frame` and `ghostline_message` of the workspace's `fuzz/` crate run the same checks
//! for longer (docs/FUZZING.md); the inputs they found are replayed here from
//! `tests/fuzz-regressions/`.

use proptest::prelude::*;
use tabella_ghostline::frame::{Frame, Member, MAX_ERROR_TEXT, MAX_FRAME};
use tabella_ghostline::message::SealedMessage;
use tabella_ghostline::pad::{PadFileHeader, PAD_FILE_HEADER_LEN};

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

fn regression(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fuzz-regressions/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Found by `ghostline_frame`: an error frame longer than the encoder writes (it cut the text at
/// 1024 bytes) was accepted, so decoding was not canonical and a relay could send a client
/// 1 MiB of error text. Every frame decoded from the stream now re-encodes to its own bytes.
#[test]
fn fuzz_regression_long_error_frame() {
    let stream = regression("frame-long-error-text");
    let mut rest = &stream[..];
    let mut frames = 0;
    loop {
        match Frame::decode(rest) {
            Ok(Some((frame, used))) => {
                assert_eq!(frame.encode(), &rest[..used]);
                rest = &rest[used..];
                frames += 1;
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    assert!(frames > 0);
    let frame = |text: &[u8]| {
        let mut w = ((text.len() + 1) as u32).to_be_bytes().to_vec();
        w.push(5);
        w.extend_from_slice(text);
        w
    };
    let max = vec![b'e'; MAX_ERROR_TEXT];
    let (f, _) = Frame::decode(&frame(&max)).unwrap().unwrap();
    assert_eq!(f.encode(), frame(&max));
    assert!(Frame::decode(&frame(&[b'e'; MAX_ERROR_TEXT + 1])).is_err());
    assert!(Frame::decode(&frame(&[0xff; 400])).is_err(), "not UTF-8");
}

/// Found by `ghostline_message`: a pad file header whose zero padding (bytes 40..64) was not zero
/// was accepted. It is refused now, so an accepted header re-encodes to its own 64 bytes.
#[test]
fn fuzz_regression_pad_header_padding() {
    let bytes = regression("pad-header-nonzero-padding");
    assert!(PadFileHeader::decode(&bytes).is_err());
    let mut clean = bytes.clone();
    clean[40..PAD_FILE_HEADER_LEN].fill(0);
    let h = PadFileHeader::decode(&clean).unwrap();
    assert_eq!(&h.encode()[..], &clean[..PAD_FILE_HEADER_LEN]);
}
