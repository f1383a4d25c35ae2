//! Incoming mail as a MessageVortex node reads it (`tabella_vortex_mail::unblend::candidates`):
//! MIME parsing of an untrusted mail, base64 and quoted-printable bodies, PLAIN unblending at
//! the default offsets and F5 extraction from JPEG attachments with a passphrase. It must never
//! panic and must respect its bounds (at most `MAX_CANDIDATES` candidates, each at least
//! `MIN_CANDIDATE` bytes, no duplicates).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_vortex_mail::unblend::{candidates, Accepts, MAX_CANDIDATES, MIN_CANDIDATE};

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("vortex_mail"), |data: &[u8]| {
    let accepts = Accepts {
        offsets: vec![0, 256],
        passphrases: vec![b"fuzz".to_vec()],
    };
    if let Ok(found) = candidates(data, &accepts) {
        assert!(found.len() <= MAX_CANDIDATES);
        for (i, c) in found.iter().enumerate() {
            assert!(c.len() >= MIN_CANDIDATE, "a candidate too short");
            assert!(!found[..i].contains(c), "a duplicate candidate");
        }
    }
});
