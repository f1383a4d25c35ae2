//! GhostLine relay frames (`tabella_ghostline::frame`), as a relay reads them off a TCP stream:
//! decode frames one after another from the fuzzed bytes. Each decoded frame must re-encode to
//! exactly the bytes it was read from (the decoder is canonical), which decode to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_ghostline::frame::Frame;

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("ghostline_frame"), |data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((frame, used))) = Frame::decode(rest) {
        assert!(used > 4 && used <= rest.len());
        let wire = frame.encode();
        let (back, n) = Frame::decode(&wire).unwrap().unwrap();
        assert_eq!(back, frame);
        assert_eq!(n, wire.len());
        assert_eq!(wire, &rest[..used], "decoding is not canonical");
        rest = &rest[used..];
    }
});
