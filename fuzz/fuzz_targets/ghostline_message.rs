#![no_main]
use libfuzzer_sys::fuzz_target;
use tabella_ghostline::message::SealedMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SealedMessage::decode(data) {
        assert_eq!(m.encode(), data);
    }
});
