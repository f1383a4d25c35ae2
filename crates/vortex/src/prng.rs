//! MRG32k3a, the combined multiple recursive generator of P. L'Ecuyer, "Good parameters and
//! implementations for combined multiple recursive random number generators", Operations
//! Research 47(1), 1999 — the PRNG the seed paper (§2.2) and the draft (§7.4.4.1, PRNGType
//! `mrg32k3a`) use for the padding of addRedundancy. Here it makes the padding deterministic, so
//! the receiving side can check it (docs/VORTEX.md D-7). It is not a cryptographic generator
//! and is used for nothing secret.

use sha3::{Digest, Sha3_256};

const M1: u64 = 4_294_967_087;
const M2: u64 = 4_294_944_443;
const A12: u64 = 1_403_580;
const A13N: u64 = 810_728;
const A21: u64 = 527_612;
const A23N: u64 = 1_370_589;

/// The generator's state: three values below `m1` and three below `m2`, neither triple all
/// zero.
#[derive(Clone, Debug)]
pub struct Mrg32k3a {
    s1: [u64; 3],
    s2: [u64; 3],
}

impl Mrg32k3a {
    /// The generator from six seed words, reduced into range; an all-zero triple becomes
    /// (1, 0, 0) (L'Ecuyer requires each triple to be non-zero).
    pub fn from_words(w: [u32; 6]) -> Self {
        let mut s1 = [
            u64::from(w[0]) % M1,
            u64::from(w[1]) % M1,
            u64::from(w[2]) % M1,
        ];
        let mut s2 = [
            u64::from(w[3]) % M2,
            u64::from(w[4]) % M2,
            u64::from(w[5]) % M2,
        ];
        if s1 == [0; 3] {
            s1[0] = 1;
        }
        if s2 == [0; 3] {
            s2[0] = 1;
        }
        Mrg32k3a { s1, s2 }
    }

    /// The generator the padding of a message uses: seeded from its first 64 bytes (zero
    /// bytes appended when shorter; seed paper §2.2), by SHA3-256 of them, whose first six
    /// 32-bit big-endian words are the seed (docs/VORTEX.md D-7).
    pub fn for_message(message: &[u8]) -> Self {
        let mut head = [0u8; 64];
        let n = message.len().min(64);
        head[..n].copy_from_slice(&message[..n]);
        let h = Sha3_256::digest(head);
        let mut w = [0u32; 6];
        for (i, word) in w.iter_mut().enumerate() {
            *word = u32::from_be_bytes([h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]]);
        }
        Mrg32k3a::from_words(w)
    }

    /// The next output, an integer in `1..=m1` (L'Ecuyer's `z`, with 0 mapped to m1).
    pub fn next_raw(&mut self) -> u64 {
        // In u128: `(m1 − a13n)·s` alone comes close to 2^64.
        let wide = |a: u64, x: u64, b: u64, y: u64, m: u64| -> u64 {
            // The result is below m < 2^32.
            ((u128::from(a) * u128::from(x) + u128::from(b) * u128::from(y)) % u128::from(m)) as u64
        };
        let p1 = wide(A12, self.s1[1], M1 - A13N, self.s1[0], M1);
        self.s1 = [self.s1[1], self.s1[2], p1];
        let p2 = wide(A21, self.s2[2], M2 - A23N, self.s2[0], M2);
        self.s2 = [self.s2[1], self.s2[2], p2];
        let z = (p1 + M1 - p2) % M1;
        if z == 0 {
            M1
        } else {
            z
        }
    }

    /// The next output as a number in (0, 1), as in L'Ecuyer's reference code.
    pub fn next_f64(&mut self) -> f64 {
        self.next_raw() as f64 / (M1 + 1) as f64
    }

    /// The next output reduced into `0..bound` (`bound ≥ 1`; the small bias of the reduction
    /// does not matter for padding).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_raw() % bound.max(1)
    }

    /// Fills `out` with bytes: the low byte of each output (the outputs are nearly uniform
    /// below 2^32, so the low byte is too).
    pub fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            *b = (self.next_raw() & 0xFF) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L'Ecuyer's reference implementation with every seed word 12345: its first outputs.
    #[test]
    fn matches_lecuyers_reference_outputs() {
        let mut g = Mrg32k3a::from_words([12345; 6]);
        let first = g.next_f64();
        assert!((first - 0.127_011_2).abs() < 1e-6, "{first}");
    }

    #[test]
    fn the_padding_stream_depends_only_on_the_first_64_bytes() {
        let a: Vec<u8> = (0..100u8).collect();
        let mut b = a.clone();
        b[80] ^= 1;
        let (mut x, mut y) = (Mrg32k3a::for_message(&a), Mrg32k3a::for_message(&b));
        let (mut p, mut q) = ([0u8; 32], [0u8; 32]);
        x.fill(&mut p);
        y.fill(&mut q);
        assert_eq!(p, q);
        b[3] ^= 1;
        let mut z = Mrg32k3a::for_message(&b);
        z.fill(&mut q);
        assert_ne!(p, q);
        // A short message is its zero-extended head.
        let short = [1u8, 2, 3];
        let mut long = [0u8; 64];
        long[..3].copy_from_slice(&short);
        assert_eq!(
            Mrg32k3a::for_message(&short).next_raw(),
            Mrg32k3a::for_message(&long).next_raw()
        );
    }
}
