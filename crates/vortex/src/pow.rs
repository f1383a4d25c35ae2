//! Proof of work for identity creation and quota increases (draft-gwerder-messagevortexmain-10
//! §7.3.2.1, App. A.5 RequirementPuzzleRequired; docs/VORTEX.md §4.3 and D-17, D-18): the node
//! sends a random bit string `challenge` of length `d`; the client fills the puzzle's
//! identifier and an 8-byte counter (`proofOfWork`, the last field of its HeaderBlock) and
//! searches for a counter such that the first `d` bits of `H(DER(HeaderBlock))` equal the
//! challenge. Solving costs about `2^d` hashes, checking costs one.
//!
//! The encoded header ends with the counter (it is the last field, of fixed width), so the
//! solver hashes the common prefix once and only the last 8 bytes per attempt.

use rand_core::{CryptoRng, RngCore};

use crate::error::{Error, Result};
use crate::hash::HashAlg;

/// The width of the `proofOfWork` counter in bytes.
pub const COUNTER: usize = 8;

/// The largest difficulty a node issues or a client accepts (2^40 hashes is days of work).
pub const MAX_BITS: u32 = 40;

/// A puzzle: the first `bits` bits of `challenge` (most significant bit first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    bits: u32,
    prefix: Vec<u8>,
}

impl Challenge {
    /// A random challenge of `bits` bits.
    pub fn random<R: RngCore + CryptoRng>(bits: u32, rng: &mut R) -> Result<Self> {
        let mut prefix = vec![0u8; bits.div_ceil(8) as usize];
        rng.fill_bytes(&mut prefix);
        Challenge::new(bits, prefix)
    }

    /// A challenge from its bits (`prefix` holds exactly `⌈bits/8⌉` bytes; bits past `bits` are
    /// cleared).
    pub fn new(bits: u32, mut prefix: Vec<u8>) -> Result<Self> {
        if bits > MAX_BITS || prefix.len() != bits.div_ceil(8) as usize {
            return Err(Error::BadParameters(format!(
                "a puzzle of {bits} bits (at most {MAX_BITS}) in {} bytes",
                prefix.len()
            )));
        }
        if !bits.is_multiple_of(8) {
            if let Some(last) = prefix.last_mut() {
                *last &= 0xFFu8 << (8 - bits % 8);
            }
        }
        Ok(Challenge { bits, prefix })
    }

    /// The difficulty d.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The bit string, padded with zero bits to whole bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.prefix
    }

    /// True if `digest` starts with the challenge's bits.
    pub fn matches(&self, digest: &[u8]) -> bool {
        let whole = (self.bits / 8) as usize;
        if digest.len() < self.prefix.len() || digest[..whole] != self.prefix[..whole] {
            return false;
        }
        let rest = self.bits % 8;
        if rest == 0 {
            return true;
        }
        let mask = 0xFFu8 << (8 - rest);
        (digest[whole] & mask) == self.prefix[whole]
    }

    /// True if `header` (the DER HeaderBlock with identifier and counter filled in) solves the
    /// puzzle under `hash`.
    pub fn verify(&self, hash: HashAlg, header: &[u8]) -> bool {
        self.matches(&hash.digest(header))
    }

    /// Searches counters from `start` for one that solves the puzzle when written (big-endian)
    /// into the last 8 bytes of `template`, trying at most `limit` counters. Returns the
    /// counter and the number of hashes spent, or `None` if the limit is reached.
    pub fn solve(
        &self,
        hash: HashAlg,
        template: &[u8],
        start: u64,
        limit: u64,
    ) -> Option<(u64, u64)> {
        let head = template.len().checked_sub(COUNTER)?;
        let mut prefix = hash.hasher();
        prefix.update(&template[..head]);
        for tries in 0..limit {
            let counter = start.wrapping_add(tries);
            let mut h = prefix.clone();
            h.update(&counter.to_be_bytes());
            if self.matches(&h.finish()) {
                return Some((counter, tries + 1));
            }
        }
        None
    }
}

/// The difficulty a node asks for (docs/VORTEX.md §4.3): `base` bits plus ⌈log2⌉ of the
/// identity's lifetime in hours, or of the ratio between the requested and the current quota.
pub fn difficulty(base: u32, factor: u64) -> u32 {
    let extra = 64 - factor.max(1).saturating_sub(1).leading_zeros();
    base.saturating_add(extra).min(MAX_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn a_solution_verifies_and_any_other_counter_mostly_does_not() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for bits in [0u32, 1, 7, 8, 12, 13] {
            let c = Challenge::random(bits, &mut rng).unwrap();
            let mut header = b"DER header bytes ...".to_vec();
            header.extend_from_slice(&[0u8; COUNTER]);
            let (counter, tries) = c.solve(HashAlg::Sha3_256, &header, 0, 1 << 20).unwrap();
            assert!(tries >= 1);
            let at = header.len() - COUNTER;
            header[at..].copy_from_slice(&counter.to_be_bytes());
            assert!(c.verify(HashAlg::Sha3_256, &header), "{bits}");
            if bits >= 12 {
                // A cheater who sends the template or a neighbour counter fails (almost surely).
                header[at..].copy_from_slice(&(counter ^ 1).to_be_bytes());
                assert!(!c.verify(HashAlg::Sha3_256, &header));
            }
        }
    }

    #[test]
    fn the_solution_covers_the_whole_header() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let c = Challenge::random(16, &mut rng).unwrap();
        let mut header = vec![7u8; 100];
        let (counter, _) = c.solve(HashAlg::Ripemd160, &header, 0, 1 << 24).unwrap();
        header[92..].copy_from_slice(&counter.to_be_bytes());
        assert!(c.verify(HashAlg::Ripemd160, &header));
        // The same counter on a header with another serial does not solve it: work cannot be
        // moved to another header.
        header[10] ^= 1;
        assert!(!c.verify(HashAlg::Ripemd160, &header));
    }

    #[test]
    fn bounds_and_difficulty_policy() {
        assert!(Challenge::new(41, vec![0; 6]).is_err());
        assert!(Challenge::new(12, vec![0; 1]).is_err());
        assert_eq!(Challenge::new(4, vec![0xFF]).unwrap().bytes(), &[0xF0]);
        assert_eq!(difficulty(16, 1), 16);
        assert_eq!(difficulty(16, 2), 17);
        assert_eq!(difficulty(16, 24), 21);
        assert_eq!(difficulty(16, u64::MAX), MAX_BITS);
        let c = Challenge::new(20, vec![0xAB, 0xCD, 0xE0]).unwrap();
        assert!(
            c.solve(HashAlg::Sha3_256, &[0; 4], 0, 10).is_none(),
            "template too short"
        );
        assert!(
            c.solve(HashAlg::Sha3_256, &[0; 40], 0, 10).is_none(),
            "limit"
        );
    }
}
