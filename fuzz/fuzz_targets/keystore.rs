//! Sealed keystore files (`tabella_node::seal::Sealed`): the `*.sealed` files of the `tabella`
//! keystore and the node's `validator.key`, read from disk where anyone may have changed them.
//! `Sealed::parse_with` checks the format and bounds the Argon2 cost before anything is
//! derived; the target uses cheap bounds (at most 1 MiB, 1 pass) so every accepted file can be
//! opened. A parsed file must re-encode stably, and it opens (with the seed's passphrase and
//! associated data) only to the seed's secret: no change to a sealed file goes unnoticed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_node::seal::{KdfBounds, Passphrase, Sealed};

/// The secret, passphrase and associated data of the seed (`fuzz/src/seeds.rs`).
pub const SECRET: &[u8] = b"[1,2,3]";
const PASSPHRASE: &str = "fuzz passphrase";
const AAD: &[u8] = b"tabella-keystore/v1/key/alice";

const BOUNDS: KdfBounds = KdfBounds {
    min_m_kib: 8,
    max_m_kib: 1024,
    min_t: 1,
    max_t: 1,
    max_p: 2,
};

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("keystore"), |data: &[u8]| {
    let Ok(sealed) = Sealed::parse_with(data, "fuzz.sealed", &BOUNDS) else {
        return;
    };
    let json = sealed.to_json().unwrap();
    let back = Sealed::parse_with(&json, "fuzz.sealed", &BOUNDS).expect("re-encoding parses");
    assert_eq!(back.to_json().unwrap(), json, "sealed encoding is not stable");
    assert_eq!(back.kdf(), sealed.kdf());
    let pass = Passphrase::new(PASSPHRASE.into()).unwrap();
    if let Ok(Some(plain)) = sealed.open(&pass, AAD) {
        assert_eq!(&plain[..], SECRET, "a changed sealed file opened to another secret");
    }
});
