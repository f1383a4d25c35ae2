//! Issue 10, finding 4, played by a malicious relay: it withholds Alice's message M1 whose
//! plaintext it knows (so it knows M1's keystream), and forges a message at a pad position inside
//! M1. With version 1's layout (MAC key = the 64 pad bytes at the offset, keystream right after)
//! the forgery keyed with M1's known keystream verified, and the real M1 was then refused as a
//! replay. With version 2 (messages on chunk boundaries; each chunk's key area never used as
//! keystream) every variant is rejected and the real M1 is still accepted afterwards.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use tabella_ghostline::mac::OneTimeMacKey;
use tabella_ghostline::message::{MessageHeader, SealedMessage};
use tabella_ghostline::pad::{PadOffset, CHUNK, CHUNK_BODY, PAD_FILE_HEADER_LEN};
use tabella_ghostline::store::{create_pad_set, PadStore};
use tabella_ghostline::Error;

/// The first `len` bytes of `sender`'s region, read from a fresh copy of a pad file (the test's
/// view of the pad, to show what the old receiver would have checked).
fn region_bytes(pad: &Path, region_size: u64, sender: u16, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(pad).unwrap();
    f.seek(SeekFrom::Start(
        PAD_FILE_HEADER_LEN as u64 + u64::from(sender) * region_size,
    ))
    .unwrap();
    let mut out = vec![0u8; len];
    f.read_exact(&mut out).unwrap();
    out
}

fn forge(header: MessageHeader, plaintext: &[u8], key: &[u8], stream: &[u8]) -> Vec<u8> {
    let ciphertext: Vec<u8> = plaintext.iter().zip(stream).map(|(m, k)| m ^ k).collect();
    let mut k = [0u8; 64];
    k.copy_from_slice(&key[..64]);
    let tag = OneTimeMacKey::from_pad_bytes(&k).tag_parts(&[&header.encode(), &ciphertext]);
    SealedMessage {
        header,
        ciphertext,
        tag: tag.0,
    }
    .encode()
}

#[test]
fn relay_cannot_forge_inside_a_withheld_message() {
    let tmp = tempfile::tempdir().unwrap();
    let pads = create_pad_set(tmp.path(), 2, 64 * 1024).unwrap();
    // A pristine copy of Bob's pad file: the pad bytes as they were when the pads were made.
    let pristine = tmp.path().join("pristine.ghostpad");
    std::fs::copy(&pads[1], &pristine).unwrap();
    let mut alice = PadStore::open(&pads[0]).unwrap();
    let mut bob = PadStore::open(&pads[1]).unwrap();
    let layout = *alice.layout();

    // Alice sends M1, whose plaintext the relay knows (e.g. a message it got her to send).
    let m1_text = vec![b'A'; 900];
    let m1 = alice.seal(&m1_text).unwrap().message;
    assert_eq!(m1.header.offset, PadOffset(0));
    // The relay withholds M1 and learns its keystream.
    let keystream: Vec<u8> = m1
        .ciphertext
        .iter()
        .zip(&m1_text)
        .map(|(c, m)| c ^ m)
        .collect();
    let evil = b"transfer the funds to account 6666";

    // What version 1 allowed. There M1's ciphertext was its plaintext XOR region bytes
    // 64..964, so the relay that knows the plaintext learnt those bytes; it keys a message at
    // offset 64 with bytes 64..128 and encrypts it with the bytes after.
    let region = region_bytes(&pristine, layout.region_size, 0, 2048);
    let v1_ciphertext: Vec<u8> = m1_text
        .iter()
        .zip(&region[64..])
        .map(|(m, k)| m ^ k)
        .collect();
    let v1_known: Vec<u8> = v1_ciphertext
        .iter()
        .zip(&m1_text)
        .map(|(c, m)| c ^ m)
        .collect();
    let v1_key = &v1_known[..64];
    let v1_stream = &v1_known[64..64 + evil.len()];
    let v1_header = MessageHeader {
        pad_id: layout.pad_id,
        sender: m1.header.sender,
        offset: PadOffset(64),
        length: evil.len() as u32,
    };
    let v1_forgery = forge(v1_header, evil, v1_key, v1_stream);
    // (The same key and tag check the version-1 receiver ran: the forgery is genuine there.)
    let decoded = SealedMessage::decode(&v1_forgery).unwrap();
    let mut k = [0u8; 64];
    k.copy_from_slice(v1_key);
    assert!(OneTimeMacKey::from_pad_bytes(&k).verify_parts(
        &[&decoded.header.encode(), &decoded.ciphertext],
        &tabella_ghostline::mac::Tag(decoded.tag)
    ));
    assert!(matches!(
        bob.open_message(&v1_forgery),
        Err(Error::Misaligned { .. })
    ));

    // Version 2's best try: a chunk boundary inside M1, keyed and encrypted with the bytes the
    // relay knows best — M1's keystream as it now lies (chunk bodies); the key area is unknown.
    let known_body = &keystream[CHUNK_BODY as usize..];
    for guess in [&keystream[..64], &known_body[..64], &[0u8; 64][..]] {
        let header = MessageHeader {
            pad_id: layout.pad_id,
            sender: m1.header.sender,
            offset: PadOffset(CHUNK),
            length: evil.len() as u32,
        };
        let forged = forge(header, evil, guess, &known_body[64..]);
        assert!(matches!(
            bob.open_message(&forged),
            Err(Error::AuthenticationFailed { .. })
        ));
    }
    // The key areas are never keystream: the relay's whole knowledge (M1's keystream) does not
    // contain the key area of any chunk M1 spans.
    for c in 0..m1.header.consumption() / CHUNK {
        let key_area = &region[(c * CHUNK) as usize..(c * CHUNK) as usize + 64];
        assert!(!keystream.windows(64).any(|w| w == key_area));
    }

    // Nothing changed at Bob's: the real M1, delivered late, is accepted in full.
    let got = bob.open_message(&m1.encode()).unwrap();
    assert_eq!(&got.plaintext.0[..], &m1_text[..]);
    assert_eq!(got.gap, 0);
}
