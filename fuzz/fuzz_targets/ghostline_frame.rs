#![no_main]
use libfuzzer_sys::fuzz_target;
use tabella_ghostline::frame::Frame;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((frame, _))) = Frame::decode(data) {
        let wire = frame.encode();
        let (back, _) = Frame::decode(&wire).unwrap().unwrap();
        assert_eq!(back, frame);
    }
});
