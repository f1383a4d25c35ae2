//! F5 in JPEG: round trips, matrix-code parameters, shrinkage, capacity, independent decoding,
//! hostile input.

use proptest::prelude::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use tabella_vortex_mail::f5::{self, jpeg};
use tabella_vortex_mail::Error;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn message(len: usize, seed: u64) -> Vec<u8> {
    let mut m = vec![0u8; len];
    rng(seed).fill_bytes(&mut m);
    m
}

/// One 640×480 carrier shared by several tests.
fn vga() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| f5::carrier(640, 480, &mut rng(1)).unwrap())
}

/// A stego image of the VGA carrier with 1 KiB under "pw".
fn vga_stego() -> &'static (Vec<u8>, Vec<u8>) {
    static S: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    S.get_or_init(|| {
        let msg = message(1024, 5);
        (f5::embed(vga(), &msg, b"pw").unwrap(), msg)
    })
}

fn decode(jpeg: &[u8]) -> (Vec<u8>, u16, u16) {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let pixels = d.decode().unwrap();
    let info = d.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (pixels, info.width, info.height)
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

#[test]
fn round_trips_for_many_sizes_and_passphrases() {
    for (i, len) in [0usize, 1, 100, 1024, 16 * 1024, 64 * 1024]
        .into_iter()
        .enumerate()
    {
        let cover = f5::carrier_for(len, &mut rng(100 + i as u64)).unwrap();
        assert!(f5::capacity(&cover).unwrap() >= len);
        for pass in [&b""[..], b"pw", "päss wörd, with \\ and ,".as_bytes()] {
            let msg = message(len, len as u64);
            let (stego, stats) = f5::embed_with_stats(&cover, &msg, pass).unwrap();
            assert_eq!(f5::extract(&stego, pass).unwrap(), msg, "len {len}");
            assert!(stats.changes <= stats.bits);
        }
    }
}

#[test]
fn carrier_for_is_bounded() {
    assert!(matches!(
        f5::carrier_for(f5::MAX_CARRIER_MESSAGE + 1, &mut rng(0)),
        Err(Error::TooLarge { .. })
    ));
    let small = f5::carrier_for(0, &mut rng(0)).unwrap();
    assert_eq!(decode(&small).1, 320);
}

#[test]
fn every_k_is_chosen_somewhere() {
    let cover = vga();
    let cap = f5::capacity(cover).unwrap();
    let expected = f5::capacity_expected(cover).unwrap();
    assert!(expected > cap * 3 / 2, "{expected} vs {cap}");
    let mut seen = BTreeSet::new();
    let mut len = expected as f64;
    while len >= 1.0 {
        let msg = message(len as usize, 7);
        match f5::embed_with_stats(cover, &msg, b"k") {
            Ok((stego, stats)) => {
                assert_eq!(f5::extract(&stego, b"k").unwrap(), msg);
                seen.insert(stats.k);
            }
            // Above the guaranteed capacity an expected fit may fail.
            Err(Error::TooLarge { .. }) if msg.len() > cap => {}
            Err(e) => panic!("{e}"),
        }
        len *= 0.85;
    }
    assert_eq!(seen, (1..=7).collect::<BTreeSet<u8>>());
    // The estimate picks a large k for a large carrier: efficiency above 2 bits per change.
    let (_, small) = f5::embed_with_stats(cover, &message(64, 1), b"k").unwrap();
    assert_eq!(small.k, 7);
    assert!(small.efficiency() > 2.0, "{small:?}");
}

#[test]
fn shrinkage_happens_and_round_trip_holds() {
    let cover = vga();
    let msg = message(f5::capacity(cover).unwrap(), 9);
    let (stego, stats) = f5::embed_with_stats(cover, &msg, b"shrink").unwrap();
    assert!(stats.shrinkage > 100, "{stats:?}");
    assert!(stats.k <= 2, "{stats:?}");
    assert_eq!(f5::extract(&stego, b"shrink").unwrap(), msg);
    // Shrinkage also at k = 1, beyond the guaranteed capacity.
    let msg = message(f5::capacity_expected(cover).unwrap() * 19 / 20, 9);
    let (stego, stats) = f5::embed_with_stats(cover, &msg, b"shrink").unwrap();
    assert_eq!(stats.k, 1);
    assert!(stats.shrinkage > 100, "{stats:?}");
    assert_eq!(f5::extract(&stego, b"shrink").unwrap(), msg);
}

#[test]
fn wrong_passphrase_does_not_return_the_message() {
    let (stego, msg) = vga_stego();
    assert_eq!(&f5::extract(stego, b"pw").unwrap(), msg);
    for wrong in [&b"pW"[..], b"", b"pw "] {
        match f5::extract(stego, wrong) {
            Err(Error::Malformed { .. }) => {}
            Ok(other) => assert_ne!(&other, msg),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    // A carrier with nothing embedded.
    assert!(f5::extract(vga(), b"pw").is_err());
}

#[test]
fn stego_decodes_independently_and_looks_like_the_cover() {
    let (stego, _) = vga_stego();
    let (cover_px, w, h) = decode(vga());
    assert_eq!((w, h), (640, 480));
    let (stego_px, w2, h2) = decode(stego);
    assert_eq!((w2, h2), (640, 480));
    let p = psnr(&cover_px, &stego_px);
    assert!(p > 30.0, "PSNR {p}");
    // A full carrier too.
    let full = message(f5::capacity(vga()).unwrap(), 3);
    let stego = f5::embed(vga(), &full, b"full").unwrap();
    let (px, _, _) = decode(&stego);
    let p = psnr(&cover_px, &px);
    assert!(p > 30.0, "PSNR at capacity {p}");
}

#[test]
fn capacity_is_exact_enough() {
    let cover = vga();
    let cap = f5::capacity(cover).unwrap();
    assert!(cap > 1000, "capacity {cap}");
    // Exactly `capacity` bytes fit, whatever the passphrase.
    for pass in [&b"a"[..], b"b", b"c"] {
        let msg = message(cap, 11);
        let stego = f5::embed(cover, &msg, pass).unwrap();
        assert_eq!(f5::extract(&stego, pass).unwrap(), msg);
    }
    // Far more does not.
    match f5::embed(cover, &message(cap * 3, 1), b"a") {
        Err(Error::TooLarge { capacity, needed }) => {
            assert_eq!((capacity, needed), (cap, cap * 3));
        }
        other => panic!("{other:?}"),
    }
    match f5::embed(cover, &vec![0; f5::MAX_MESSAGE + 1], b"a") {
        Err(Error::TooLarge { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn coefficient_layer_round_trips() {
    let c = jpeg::read(vga()).unwrap();
    assert_eq!((c.width, c.height), (640, 480));
    assert_eq!(c.components.len(), 3);
    assert_eq!(c.values.len(), (80 * 60 + 2 * 40 * 30) * 64);
    let again = jpeg::write(vga(), &c).unwrap();
    assert_eq!(jpeg::read(&again).unwrap(), c);
    // The writer reproduces the encoder's own entropy coding.
    assert_eq!(again, vga());
    // A layout that does not match is refused.
    let mut wrong = c.clone();
    wrong.values.pop();
    assert!(jpeg::write(vga(), &wrong).is_err());
}

#[test]
fn odd_sizes_work() {
    // Sides that are not multiples of the 16-pixel MCU: padded blocks carry bits too.
    let cover = f5::carrier(333, 201, &mut rng(4)).unwrap();
    let msg = message(500, 2);
    let stego = f5::embed(&cover, &msg, b"odd").unwrap();
    assert_eq!(f5::extract(&stego, b"odd").unwrap(), msg);
    let (_, w, h) = decode(&stego);
    assert_eq!((w, h), (333, 201));
    assert!(f5::carrier(8, 100, &mut rng(0)).is_err());
    assert!(f5::carrier(5000, 100, &mut rng(0)).is_err());
}

#[test]
fn non_jpeg_inputs_are_errors() {
    for bad in [
        &b""[..],
        b"\xFF",
        b"\xFF\xD8",
        b"GIF89a",
        b"\xFF\xD8\xFF\xD9",
    ] {
        assert!(f5::extract(bad, b"pw").is_err());
        assert!(f5::capacity(bad).is_err());
        assert!(f5::embed(bad, b"x", b"pw").is_err());
    }
}

proptest! {
    // 64 cases unless PROPTEST_CASES says otherwise (for longer fuzzing runs).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        .. ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = f5::extract(&bytes, b"pw");
        let mut with_soi = vec![0xFF, 0xD8];
        with_soi.extend_from_slice(&bytes);
        let _ = f5::extract(&with_soi, b"pw");
        let _ = f5::capacity(&with_soi);
    }

    #[test]
    fn mutated_stego_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (stego, _) = vga_stego();
        let mut m = stego.clone();
        for (at, byte) in edits {
            let i = at.index(m.len());
            m[i] = byte;
        }
        if truncate {
            m.truncate(cut.index(m.len()));
        }
        let _ = f5::extract(&m, b"pw");
        let _ = f5::embed(&m, b"hello", b"pw");
    }

    #[test]
    fn mutated_headers_never_panic(
        edits in proptest::collection::vec((0usize..700, any::<u8>()), 1..6),
    ) {
        // Edits inside the marker segments (quantization, Huffman and frame headers).
        let (stego, _) = vga_stego();
        let mut m = stego.clone();
        for (at, byte) in edits {
            if let Some(b) = m.get_mut(at) {
                *b = byte;
            }
        }
        let _ = f5::extract(&m, b"pw");
        let _ = f5::capacity(&m);
    }
}

/// Figures for docs/VORTEX-F5.md: `cargo test -p tabella-vortex-mail --test f5 -- --ignored
/// --nocapture report`.
#[test]
#[ignore]
fn report() {
    for (w, h) in [(320u16, 240u16), (640, 480), (1024, 768), (1600, 1200)] {
        let t = std::time::Instant::now();
        let cover = f5::carrier(w, h, &mut rng(u64::from(w))).unwrap();
        let gen = t.elapsed();
        let c = jpeg::read(&cover).unwrap();
        let nonzero = c
            .values
            .iter()
            .enumerate()
            .filter(|(i, v)| !i.is_multiple_of(64) && **v != 0)
            .count();
        let ones = c
            .values
            .iter()
            .enumerate()
            .filter(|(i, v)| !i.is_multiple_of(64) && v.unsigned_abs() == 1)
            .count();
        let cap = f5::capacity(&cover).unwrap();
        let expected = f5::capacity_expected(&cover).unwrap();
        println!(
            "  expected at k=1: {expected} B ({:.1}% of file)",
            100.0 * expected as f64 / cover.len() as f64
        );
        println!(
            "{w}x{h}: {} bytes, gen {gen:?}, coeffs {}, nonzero AC {nonzero} ({:.1}%), ones {ones}, \
             capacity {cap} B ({:.1}% of file, {:.3} B/px)",
            cover.len(),
            c.values.len(),
            100.0 * nonzero as f64 / c.values.len() as f64,
            100.0 * cap as f64 / cover.len() as f64,
            cap as f64 / (f64::from(w) * f64::from(h)),
        );
        for frac in [1.0, 0.5, 0.25, 0.1, 0.02] {
            let len = (cap as f64 * frac) as usize;
            let t = std::time::Instant::now();
            let (stego, s) = f5::embed_with_stats(&cover, &message(len, 1), b"r").unwrap();
            let e = t.elapsed();
            let t = std::time::Instant::now();
            f5::extract(&stego, b"r").unwrap();
            let x = t.elapsed();
            println!(
                "  len {len}: k {} changes {} shrink {} eff {:.2} embed {e:?} extract {x:?} \
                 stego {} bytes",
                s.k,
                s.changes,
                s.shrinkage,
                s.efficiency(),
                stego.len()
            );
        }
    }
}
