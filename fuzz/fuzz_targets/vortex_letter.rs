//! What a MessageVortex recipient reads from a delivered payload: slot-0 chunks
//! (`tabella_vortex::special::read`: a node's special block, or a user message with its
//! backslashes escaped) and letters with a reply block (`builder::read_letter`). Escaping must
//! be undone exactly (`read(escape(m)) == m` for every `m`, and no user message can pass for a
//! special block); a letter that reads must be rebuilt into the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_vortex::builder::{letter, read_letter};
use tabella_vortex::special::{self, Local};

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("vortex_letter"), |data: &[u8]| {
    // Any bytes as a user message: escaped, they read back as that message.
    match special::read(&special::escape(data)) {
        Ok(Local::Message(m)) => assert_eq!(m, data, "escaping is not undone exactly"),
        Ok(Local::Special(_)) => panic!("a user message passed for a special block"),
        Err(e) => panic!("an escaped message was refused: {e}"),
    }
    // The bytes as a chunk a node wrote to slot 0.
    match special::read(data) {
        Ok(Local::Special(block)) => {
            assert_eq!(special::write(&block).unwrap(), data);
        }
        Ok(Local::Message(m)) => assert_eq!(special::escape(&m), data),
        Err(_) => {}
    }
    // The bytes as a letter.
    if let Ok((text, reply)) = read_letter(data) {
        let again = letter(&text, reply.as_ref()).unwrap();
        if reply.is_some() {
            assert_eq!(again, data, "a letter with a reply block is not rebuilt exactly");
        }
        let (t2, r2) = read_letter(&again).unwrap();
        assert_eq!(t2, text);
        assert_eq!(r2, reply);
    }
});
