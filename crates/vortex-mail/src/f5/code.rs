//! F5 proper, on a flat coefficient array ([`super::jpeg::Coefficients::values`]): the F4 bit
//! rule, permutative straddling, matrix encoding `(1, 2^k − 1, k)` and shrinkage.

use super::prng;
use crate::{Error, Result};

/// Largest matrix-code parameter: groups of 2^7 − 1 = 127 coefficients carry 7 bits.
pub const MAX_K: u8 = 7;

/// Longest message the status word can describe: 2^24 − 1 bytes.
pub const MAX_MESSAGE: usize = (1 << 24) - 1;

/// Bits of the status word, always embedded with k = 1.
pub const STATUS_BITS: usize = 32;

/// Bits 27..=31 of the status word (format version 1).
const STATUS_MAGIC: u32 = 0b10110;

/// Counters of one embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Coefficients decremented (including those that became 0).
    pub changes: usize,
    /// Changes that turned a ±1 into 0 and forced a re-embedding (shrinkage).
    pub shrinkage: usize,
    /// Positions of the permutation walked.
    pub walked: usize,
}

/// The F4 bit of a non-zero coefficient: the LSB for `c > 0`, the inverted LSB of `|c|` for
/// `c < 0` (odd negative = 0, even negative = 1).
#[inline]
pub fn bit(c: i16) -> u32 {
    u32::from((c & 1) as u16 ^ u16::from(c < 0))
}

#[inline]
fn usable(values: &[i16], idx: usize) -> bool {
    !idx.is_multiple_of(64) && values.get(idx).is_some_and(|&c| c != 0)
}

/// The status word: bits 0..=23 the message length in bytes, 24..=26 the code parameter k,
/// 27..=31 the constant 0b10110. `len` and `k` are masked to their fields; callers check them.
pub fn status_word(len: usize, k: u8) -> u32 {
    (len as u32 & 0x00FF_FFFF) | (u32::from(k & 7) << 24) | (STATUS_MAGIC << 27)
}

/// Parse a status word: `(length, k)`, or `None` if it cannot be one of ours.
pub fn parse_status(word: u32) -> Option<(usize, u8)> {
    let k = ((word >> 24) & 7) as u8;
    if word >> 27 != STATUS_MAGIC || k == 0 {
        return None;
    }
    Some(((word & 0x00FF_FFFF) as usize, k))
}

/// The bits to embed, in order: the 4 status bytes, then the message, each XORed with the
/// keystream and taken least significant bit first.
fn whitened(seed: [u8; 32], message: &[u8], status: u32) -> Vec<u8> {
    let ks = prng::keystream(seed, 4 + message.len());
    status
        .to_le_bytes()
        .iter()
        .chain(message)
        .zip(&ks)
        .map(|(m, k)| m ^ k)
        .collect()
}

fn bit_of(bytes: &[u8], i: usize) -> u32 {
    bytes
        .get(i / 8)
        .map_or(0, |b| u32::from((b >> (i % 8)) & 1))
}

/// A walk along the permutation, collecting groups of usable coefficients.
struct Walk<'a> {
    perm: &'a [u32],
    pos: usize,
    group: [usize; 127],
}

impl<'a> Walk<'a> {
    fn new(perm: &'a [u32]) -> Self {
        Walk {
            perm,
            pos: 0,
            group: [0; 127],
        }
    }

    /// Collect the next `n` usable coefficients from the current position into `group`;
    /// returns the position after the last one, or `None` if the permutation runs out.
    fn collect(&mut self, values: &[i16], n: usize) -> Option<usize> {
        let mut p = self.pos;
        let mut got = 0;
        while got < n {
            let idx = *self.perm.get(p)? as usize;
            p += 1;
            if usable(values, idx) {
                *self.group.get_mut(got)? = idx;
                got += 1;
            }
        }
        Some(p)
    }

    /// The matrix-code hash of the current group: the XOR of the 1-based positions of its
    /// coefficients whose bit is 1.
    fn hash(&self, values: &[i16], n: usize) -> u32 {
        let mut h = 0u32;
        for (i, &idx) in self.group.iter().take(n).enumerate() {
            if values.get(idx).is_some_and(|&c| bit(c) == 1) {
                h ^= i as u32 + 1;
            }
        }
        h
    }

    /// Embed the k-bit value `m` into the next group (k = 1 is plain F4 on one coefficient).
    /// Returns `false` if the carrier ran out.
    fn embed(&mut self, values: &mut [i16], k: u8, m: u32, c: &mut Counters) -> bool {
        let n = (1usize << k) - 1;
        loop {
            let Some(end) = self.collect(values, n) else {
                return false;
            };
            let s = self.hash(values, n) ^ m;
            if s == 0 {
                self.pos = end;
                return true;
            }
            let target = self.group.get(s as usize - 1).copied();
            let Some(v) = target.and_then(|t| values.get_mut(t)) else {
                return false;
            };
            *v -= v.signum();
            c.changes += 1;
            if *v != 0 {
                self.pos = end;
                return true;
            }
            // Shrinkage: the coefficient became 0 and drops out; rebuild the group from the
            // same start and embed the same bits again.
            c.shrinkage += 1;
        }
    }

    /// Read the k-bit value of the next group, or `None` if the carrier ran out.
    fn extract(&mut self, values: &[i16], k: u8) -> Option<u32> {
        let n = (1usize << k) - 1;
        let end = self.collect(values, n)?;
        self.pos = end;
        Some(self.hash(values, n))
    }
}

/// Embed `message` with code parameter `k` into `values`, walking `perm`. On `None` the carrier
/// was too small and `values` is partly modified.
pub fn embed_k(
    values: &mut [i16],
    perm: &[u32],
    seed: [u8; 32],
    message: &[u8],
    k: u8,
) -> Option<Counters> {
    if !(1..=MAX_K).contains(&k) || message.len() > MAX_MESSAGE {
        return None;
    }
    let bits = whitened(seed, message, status_word(message.len(), k));
    let mut c = Counters::default();
    let mut walk = Walk::new(perm);
    for i in 0..STATUS_BITS {
        if !walk.embed(values, 1, bit_of(&bits, i), &mut c) {
            return None;
        }
    }
    let total = bits.len() * 8;
    let mut i = STATUS_BITS;
    while i < total {
        let mut m = 0u32;
        for j in 0..usize::from(k) {
            m |= bit_of(&bits, i + j) << j;
        }
        if !walk.embed(values, k, m, &mut c) {
            return None;
        }
        i += usize::from(k);
    }
    c.walked = walk.pos;
    Some(c)
}

/// Extract a message from `values`, walking `perm`.
pub fn extract(values: &[i16], perm: &[u32], seed: [u8; 32]) -> Result<Vec<u8>> {
    let none = || Error::malformed("F5 carrier", "no message for this passphrase");
    let mut walk = Walk::new(perm);
    let mut word = 0u32;
    for i in 0..STATUS_BITS {
        word |= walk.extract(values, 1).ok_or_else(none)? << i;
    }
    let ks0 = prng::keystream(seed, 4);
    let mut ks_word = [0u8; 4];
    ks_word.copy_from_slice(ks0.get(..4).ok_or_else(none)?);
    let (len, k) = parse_status(word ^ u32::from_le_bytes(ks_word)).ok_or_else(none)?;
    // Cheap plausibility check before any allocation of `len`: enough usable coefficients?
    let n = (1usize << k) - 1;
    let groups = (len * 8).div_ceil(usize::from(k));
    let left = perm
        .get(walk.pos..)
        .unwrap_or(&[])
        .iter()
        .filter(|&&i| usable(values, i as usize))
        .count();
    if groups.saturating_mul(n) > left {
        return Err(none());
    }
    let mut out = vec![0u8; len];
    let total = len * 8;
    let mut i = 0usize;
    while i < total {
        let m = walk.extract(values, k).ok_or_else(none)?;
        for j in 0..usize::from(k) {
            let b = i + j;
            if b < total {
                if let Some(byte) = out.get_mut(b / 8) {
                    *byte |= (((m >> j) & 1) as u8) << (b % 8);
                }
            }
        }
        i += usize::from(k);
    }
    let ks = prng::keystream(seed, 4 + len);
    for (o, k) in out.iter_mut().zip(ks.iter().skip(4)) {
        *o ^= k;
    }
    Ok(out)
}

/// Usable-coefficient statistics of a carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Census {
    /// Non-zero AC coefficients.
    pub nonzero: usize,
    /// AC coefficients equal to ±1.
    pub ones: usize,
}

impl Census {
    /// Count the non-zero and ±1 AC coefficients.
    pub fn of(values: &[i16]) -> Self {
        let mut c = Census::default();
        for (i, &v) in values.iter().enumerate() {
            if !i.is_multiple_of(64) && v != 0 {
                c.nonzero += 1;
                c.ones += usize::from(v.unsigned_abs() == 1);
            }
        }
        c
    }

    /// Bytes that fit for every passphrase, with k = 1: every coefficient with |c| ≥ 2 ends the
    /// embedding of one bit (it either already carries it or keeps a non-zero value after the
    /// decrement), so `32 + 8·len ≤ #{|c| ≥ 2}` bits always fit, however the ±1s fall.
    pub fn guaranteed(&self) -> usize {
        let large = self.nonzero - self.ones;
        (large.saturating_sub(STATUS_BITS) / 8).min(MAX_MESSAGE)
    }

    /// Expected bytes with code parameter `k`, slightly pessimistic: a group of n = 2^k − 1
    /// usable coefficients is changed with probability n/(n+1); a change hits a ±1 (and costs
    /// one more coefficient) with probability p₁ = ones/nonzero, so a group costs on average
    /// n + q/(1−q) coefficients with q = p₁·n/(n+1).
    pub fn expected(&self, k: u8) -> usize {
        if self.nonzero == 0 || !(1..=MAX_K).contains(&k) {
            return 0;
        }
        let p1 = self.ones as f64 / self.nonzero as f64;
        let cost = |k: u8| {
            let n = f64::from((1u32 << k) - 1);
            let q = (p1 * n / (n + 1.0)).min(0.99);
            n + q / (1.0 - q)
        };
        let budget = self.nonzero as f64 * 0.97 - 64.0 - STATUS_BITS as f64 * cost(1);
        if budget <= 0.0 {
            return 0;
        }
        let groups = (budget / cost(k)).floor();
        let bytes = (groups * f64::from(k) / 8.0).floor();
        (bytes as usize).min(MAX_MESSAGE)
    }

    /// The largest k whose [`Census::expected`] capacity holds `len` bytes (1 if none does).
    pub fn choose_k(&self, len: usize) -> u8 {
        (1..=MAX_K)
            .rev()
            .find(|&k| self.expected(k) >= len)
            .unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f4_bit_rule() {
        assert_eq!(bit(1), 1);
        assert_eq!(bit(2), 0);
        assert_eq!(bit(3), 1);
        assert_eq!(bit(-1), 0);
        assert_eq!(bit(-2), 1);
        assert_eq!(bit(-3), 0);
        assert_eq!(bit(-1024), 1);
    }

    #[test]
    fn status_word_round_trip() {
        for (len, k) in [(0, 1), (1, 7), (MAX_MESSAGE, 3), (65536, 4)] {
            assert_eq!(parse_status(status_word(len, k)), Some((len, k)));
        }
        assert_eq!(parse_status(0), None);
        assert_eq!(parse_status(STATUS_MAGIC << 27), None); // k = 0
    }

    /// A synthetic carrier: many ±1 (to force shrinkage) and larger values, random signs.
    fn synthetic(blocks: usize, seed: u64) -> Vec<i16> {
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..blocks * 64)
            .map(|_| {
                let x = r.next_u32();
                let mag = match x % 10 {
                    0..=3 => 0,
                    4..=6 => 1,
                    7 | 8 => 2 + (x >> 8) as i16 % 3,
                    _ => 5 + (x >> 8) as i16 % 40,
                };
                if x & 0x8000_0000 != 0 {
                    -mag
                } else {
                    mag
                }
            })
            .collect()
    }

    #[test]
    fn every_k_round_trips_with_shrinkage() {
        let cover = synthetic(2000, 1);
        let n = u32::try_from(cover.len()).unwrap();
        for k in 1..=MAX_K {
            for pass in [&b""[..], b"pw"] {
                let seed = prng::seed(pass);
                let perm = prng::permutation(seed, n);
                let census = Census::of(&cover);
                let len = census.expected(k).min(3000);
                let msg: Vec<u8> = (0..len).map(|i| (i * 7 + usize::from(k)) as u8).collect();
                let mut stego = cover.clone();
                let c = embed_k(&mut stego, &perm, seed, &msg, k).unwrap();
                assert!(c.shrinkage > 0, "k={k}: no shrinkage");
                assert!(c.changes >= c.shrinkage);
                assert_eq!(extract(&stego, &perm, seed).unwrap(), msg, "k={k}");
                // Only decrements of |c|, never a sign change or an increase.
                for (a, b) in cover.iter().zip(&stego) {
                    assert!(b.unsigned_abs() <= a.unsigned_abs());
                    assert!(a.unsigned_abs() - b.unsigned_abs() <= 1);
                    assert!(*b == 0 || a.signum() == b.signum());
                }
                // DC untouched.
                for (a, b) in cover.iter().zip(&stego).step_by(64) {
                    assert_eq!(a, b);
                }
            }
        }
    }

    #[test]
    fn guaranteed_capacity_fits_for_any_passphrase() {
        let cover = synthetic(300, 2);
        let census = Census::of(&cover);
        let len = census.guaranteed();
        assert!(len > 100);
        let msg = vec![0xA5u8; len];
        for p in 0..20u8 {
            let seed = prng::seed(&[p]);
            let perm = prng::permutation(seed, u32::try_from(cover.len()).unwrap());
            let mut stego = cover.clone();
            embed_k(&mut stego, &perm, seed, &msg, 1).unwrap();
            assert_eq!(extract(&stego, &perm, seed).unwrap(), msg);
        }
    }

    #[test]
    fn too_small_is_none_and_empty_carrier_extracts_nothing() {
        let cover = synthetic(10, 3);
        let seed = prng::seed(b"x");
        let perm = prng::permutation(seed, u32::try_from(cover.len()).unwrap());
        let mut stego = cover.clone();
        assert!(embed_k(&mut stego, &perm, seed, &[0u8; 1000], 1).is_none());
        let _ = extract(&cover, &perm, seed); // anything but a panic
        let zeros = vec![0i16; 640];
        let perm = prng::permutation(seed, 640);
        assert!(extract(&zeros, &perm, seed).is_err());
    }
}
