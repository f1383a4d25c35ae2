//! Pad files, reservation, erasure, exhaustion, replay / reorder / forgery handling through
//! [`PadStore`].

use std::path::{Path, PathBuf};

use tabella_ghostline::pad::{consumption, PadLevel, SenderIndex, PAD_FILE_HEADER_LEN};
use tabella_ghostline::store::{create_pad_set, state_path, PadStore};
use tabella_ghostline::Error;

fn pads(dir: &Path, n: u16, size: u64) -> Vec<PathBuf> {
    create_pad_set(dir, n, size).unwrap()
}

fn pad_bytes(path: &Path, sender: u16, region: u64, from: u64, len: u64) -> Vec<u8> {
    let all = std::fs::read(path).unwrap();
    let start = PAD_FILE_HEADER_LEN as u64 + u64::from(sender) * region + from;
    all[start as usize..(start + len) as usize].to_vec()
}

#[test]
fn round_trip_and_used_pad_is_erased_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 3, 30_000);
    let mut alice = PadStore::open(&p[0]).unwrap();
    let mut bob = PadStore::open(&p[1]).unwrap();
    let region = alice.layout().region_size;
    assert_eq!(region, 10_000);
    let before = pad_bytes(&p[1], 0, region, 0, consumption(5));
    assert!(before.iter().any(|&b| b != 0));
    let sent = alice.seal(b"hello").unwrap();
    assert_eq!(sent.remaining, region - consumption(5));
    // Sender's copy erased as soon as the message is sealed.
    assert!(pad_bytes(&p[0], 0, region, 0, consumption(5))
        .iter()
        .all(|&b| b == 0));
    let got = bob.open_message(&sent.message.encode()).unwrap();
    assert_eq!(&got.plaintext.0[..], b"hello");
    assert_eq!(got.sender, SenderIndex(0));
    assert_eq!(got.gap, 0);
    assert!(pad_bytes(&p[1], 0, region, 0, consumption(5))
        .iter()
        .all(|&b| b == 0));
    // The state survives a reopen.
    drop(alice);
    let alice = PadStore::open(&p[0]).unwrap();
    assert_eq!(alice.state().send_next.0, consumption(5));
}

#[test]
fn bytes_left_unerased_by_a_crash_are_scrubbed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 2, 20_000);
    let mut a = PadStore::open(&p[0]).unwrap();
    a.seal(b"first").unwrap();
    a.seal(b"second").unwrap();
    let used = consumption(5) + consumption(6);
    drop(a);
    // Simulate a crash after the reservation of "second" but before its bytes were zeroed.
    let mut all = std::fs::read(&p[0]).unwrap();
    let start = PAD_FILE_HEADER_LEN + consumption(5) as usize;
    for b in &mut all[start..PAD_FILE_HEADER_LEN + used as usize] {
        *b = 0xAA;
    }
    std::fs::write(&p[0], &all).unwrap();
    let a = PadStore::open(&p[0]).unwrap();
    assert!(pad_bytes(&p[0], 0, 10_000, 0, used).iter().all(|&b| b == 0));
    // Unused bytes are untouched.
    assert!(pad_bytes(&p[0], 0, 10_000, used, 64)
        .iter()
        .any(|&b| b != 0));
    drop(a);
}

#[test]
fn concurrent_senders_use_disjoint_regions() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 3, 3_000);
    let mut a = PadStore::open(&p[0]).unwrap();
    let mut c = PadStore::open(&p[2]).unwrap();
    let mut b = PadStore::open(&p[1]).unwrap();
    // Both send "at the same instant" (neither has seen the other): offsets both 0, regions differ.
    let ma = a.seal(b"from a").unwrap().message;
    let mc = c.seal(b"from c").unwrap().message;
    assert_eq!(ma.header.offset, mc.header.offset);
    assert_ne!(ma.header.sender, mc.header.sender);
    assert_eq!(
        &b.open_message(&mc.encode()).unwrap().plaintext.0[..],
        b"from c"
    );
    assert_eq!(
        &b.open_message(&ma.encode()).unwrap().plaintext.0[..],
        b"from a"
    );
}

#[test]
fn replay_reorder_and_gap_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 2, 20_000);
    let mut a = PadStore::open(&p[0]).unwrap();
    let mut b = PadStore::open(&p[1]).unwrap();
    let m1 = a.seal(b"one").unwrap().message.encode();
    let m2 = a.seal(b"two").unwrap().message.encode();
    let m3 = a.seal(b"three").unwrap().message.encode();
    assert_eq!(b.open_message(&m1).unwrap().gap, 0);
    assert!(matches!(b.open_message(&m1), Err(Error::Replay { .. })));
    let r3 = b.open_message(&m3).unwrap();
    assert_eq!(r3.gap, consumption(3));
    assert!(matches!(b.open_message(&m2), Err(Error::Replay { .. })));
    assert!(matches!(b.open_message(&m3), Err(Error::Replay { .. })));
    // Our own message reflected back is refused.
    assert!(matches!(
        a.open_message(&m1),
        Err(Error::OwnMessage { .. }) | Err(Error::Replay { .. })
    ));
}

#[test]
fn failed_authentication_changes_no_state() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 2, 20_000);
    let mut a = PadStore::open(&p[0]).unwrap();
    let mut b = PadStore::open(&p[1]).unwrap();
    let good = a.seal(b"genuine message").unwrap().message.encode();
    let state_before = std::fs::read(state_path(&p[1])).unwrap();
    let pad_before = std::fs::read(&p[1]).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x80;
        assert!(b.open_message(&bad).is_err(), "tampered byte {i} accepted");
    }
    // A forged message far ahead would also have moved the high-water mark had it been accepted.
    let mut ahead = good.clone();
    ahead[21..29].copy_from_slice(&(20 * tabella_ghostline::pad::CHUNK).to_be_bytes());
    assert!(matches!(
        b.open_message(&ahead),
        Err(Error::AuthenticationFailed { .. })
    ));
    assert_eq!(std::fs::read(state_path(&p[1])).unwrap(), state_before);
    assert_eq!(std::fs::read(&p[1]).unwrap(), pad_before);
    assert_eq!(b.state().high_water[0].0, 0);
    // The genuine message is still accepted afterwards.
    assert_eq!(
        &b.open_message(&good).unwrap().plaintext.0[..],
        b"genuine message"
    );
}

#[test]
fn exhaustion_is_refused_with_warnings_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 2, 2 * 100 * tabella_ghostline::pad::CHUNK);
    let mut a = PadStore::open(&p[0]).unwrap();
    let mut warnings = vec![];
    let mut sent = 0;
    loop {
        match a.seal(&[b'x'; 36]) {
            Ok(s) => {
                sent += 1;
                warnings.extend(s.warning);
            }
            Err(Error::PadExhausted {
                needed, remaining, ..
            }) => {
                assert_eq!(needed, tabella_ghostline::pad::CHUNK);
                assert_eq!(remaining, 0);
                break;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(sent <= 100);
    }
    assert_eq!(sent, 100);
    assert_eq!(warnings, vec![PadLevel::Low, PadLevel::Critical]);
    let msg = a.seal(b"").unwrap_err().to_string();
    assert!(msg.contains("pad exhausted"), "{msg}");
}

#[test]
fn refuses_to_overwrite_pads_or_run_without_state() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 2, 2_000);
    assert!(create_pad_set(dir.path(), 2, 2_000).is_err());
    std::fs::remove_file(state_path(&p[0])).unwrap();
    let err = PadStore::open(&p[0]).unwrap_err().to_string();
    assert!(err.contains("state file"), "{err}");
}

#[test]
fn a_pad_file_is_used_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let p = pads(dir.path(), 2, 2_000);
    let first = PadStore::open(&p[0]).unwrap();
    let err = PadStore::open(&p[0]).unwrap_err().to_string();
    assert!(err.contains("in use"), "{err}");
    drop(first);
    assert!(PadStore::open(&p[0]).is_ok());
}

#[test]
fn wrong_pad_is_rejected() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let p1 = pads(d1.path(), 2, 2_000);
    let p2 = pads(d2.path(), 2, 2_000);
    let mut a = PadStore::open(&p1[0]).unwrap();
    let mut other = PadStore::open(&p2[1]).unwrap();
    let m = a.seal(b"hi").unwrap().message.encode();
    assert!(matches!(
        other.open_message(&m),
        Err(Error::WrongPad { .. })
    ));
}
