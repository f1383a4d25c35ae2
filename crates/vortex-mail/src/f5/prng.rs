//! The passphrase-keyed randomness of F5: the permutation of coefficient positions
//! ("permutative straddling") and the keystream the embedded bits are XORed with.
//!
//! Both come from ChaCha20 (`rand_chacha` 0.3, the original 20-round ChaCha with a 64-bit block
//! counter and a 64-bit stream id) keyed with `SHA-256(DOMAIN ‖ passphrase)`:
//! - stream 1 feeds the permutation: a Fisher–Yates shuffle of `0..n` driven by our own unbiased
//!   bounded sampler on 32-bit words ([`Keyed::below`]), never `rand`'s `gen_range`, so the wire
//!   format cannot drift with a `rand` release;
//! - stream 2 is the keystream: its bytes, in order, are XORed onto the status word and then
//!   onto the message.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// Domain tag hashed in front of the passphrase (format version 1).
pub const DOMAIN: &[u8] = b"tabella/vortex/f5/v1";

const PERMUTATION_STREAM: u64 = 1;
const KEYSTREAM_STREAM: u64 = 2;

/// The ChaCha20 key for a passphrase.
pub fn seed(passphrase: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(passphrase);
    h.finalize().into()
}

/// A ChaCha20 generator on one stream of the passphrase's key.
pub struct Keyed(ChaCha20Rng);

impl Keyed {
    fn new(seed: [u8; 32], stream: u64) -> Self {
        let mut rng = ChaCha20Rng::from_seed(seed);
        rng.set_stream(stream);
        Keyed(rng)
    }

    /// A uniform value in `0..n` (`n ≥ 1`) by rejection sampling on 32-bit words: a word `x`
    /// is accepted when `x < n·⌊2^32/n⌋` and then reduced mod `n`.
    pub fn below(&mut self, n: u32) -> u32 {
        let n64 = u64::from(n.max(1));
        let zone = ((1u64 << 32) / n64) * n64;
        loop {
            let x = u64::from(self.0.next_u32());
            if x < zone {
                // x % n64 < n ≤ u32::MAX
                return u32::try_from(x % n64).unwrap_or(0);
            }
        }
    }
}

/// The passphrase's permutation of `0..n` (`n ≤ u32::MAX`): Fisher–Yates from the top,
/// swapping position `i` with a uniform `j` in `0..=i`.
pub fn permutation(seed: [u8; 32], n: u32) -> Vec<u32> {
    let mut rng = Keyed::new(seed, PERMUTATION_STREAM);
    let mut p: Vec<u32> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        p.swap(i as usize, j as usize);
    }
    p
}

/// The first `len` keystream bytes of the passphrase.
pub fn keystream(seed: [u8; 32], len: usize) -> Vec<u8> {
    let mut rng = Keyed::new(seed, KEYSTREAM_STREAM);
    let mut out = vec![0u8; len];
    rng.0.fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_keyed() {
        let a = permutation(seed(b"pw"), 1000);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, permutation(seed(b"pw2"), 1000));
        assert_eq!(a, permutation(seed(b"pw"), 1000));
        assert!(permutation(seed(b"pw"), 0).is_empty());
        assert_eq!(permutation(seed(b"pw"), 1), vec![0]);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut r = Keyed::new(seed(b"x"), 9);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[r.below(3) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        for n in [1u32, 2, 7, u32::MAX] {
            for _ in 0..100 {
                assert!(r.below(n) < n);
            }
        }
    }

    /// Pins the wire format: seed, permutation and keystream must never change silently.
    #[test]
    fn wire_format_vectors() {
        let s = seed(b"correct horse");
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let p = permutation(s, 16);
        let k = keystream(s, 8);
        let got = format!("{} {:?} {}", hex(&s), p, hex(&k));
        assert_eq!(
            got,
            "a3b3f1dcda134e6dff8514123c76259458c75071785be9b0a4d5f83b2762bb09 \
             [12, 10, 5, 13, 0, 9, 14, 1, 4, 11, 3, 6, 7, 8, 15, 2] ef81f58fbfd040d0"
        );
    }
}
