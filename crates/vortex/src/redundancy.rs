//! The addRedundancy and removeRedundancy operations (draft-gwerder-messagevortexmain-10
//! §7.4.4, seed paper §2.2; docs/VORTEX.md §3 and D-2, D-3, D-5, D-6, D-7, D-8, D-10, D-12):
//! pad the message with a checkable length prefix and MRG32k3a padding, cut it into `k`
//! stripes, add `m` Reed–Solomon blocks ([`crate::erasure`]), and encrypt each block with its
//! own key. Any `k` of the `n = k + m` blocks give the message back; a block modified on the
//! way fails its GCM tag and is set aside, and a recovery whose padding does not verify is
//! retried with other blocks.

use crate::erasure::Code;
use crate::error::{Error, Result};
use crate::gf::{Gf256, Gf65536};
use crate::prng::Mrg32k3a;
use crate::sym::{Mode, SymKey, BLOCK};

/// The field the code works in (the draft's gfSize; only 8 and 16 are accepted, D-10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GfSize {
    /// GF(2^8) modulo 0x11D: at most 256 blocks.
    Gf8,
    /// GF(2^16) modulo 0x1002D, 16-bit little-endian symbols.
    Gf16,
}

impl GfSize {
    /// The draft's gfSize value.
    pub fn bits(self) -> u8 {
        match self {
            GfSize::Gf8 => 8,
            GfSize::Gf16 => 16,
        }
    }

    /// From the draft's gfSize value.
    pub fn from_bits(bits: u32) -> Result<Self> {
        match bits {
            8 => Ok(GfSize::Gf8),
            16 => Ok(GfSize::Gf16),
            other => Err(Error::BadParameters(format!(
                "GF(2^{other}) is not supported: only GF(2^8) and GF(2^16)"
            ))),
        }
    }
}

/// The most a length prefix can say.
const MAX_LEN: u64 = u32::MAX as u64;

/// The padded length for a message of `len` bytes and `k` stripes: the smallest multiple of
/// `k · 16` that holds the 4-byte prefix, the message and at least one padding byte (D-6).
pub fn padded_len(len: usize, k: usize) -> Result<usize> {
    let unit = k
        .checked_mul(BLOCK)
        .filter(|&u| u > 0)
        .ok_or_else(|| Error::BadParameters(format!("{k} data stripes")))?;
    let need = len
        .checked_add(5)
        .ok_or_else(|| Error::BadParameters("message too long".into()))?;
    need.div_ceil(unit)
        .checked_mul(unit)
        .ok_or_else(|| Error::BadParameters("message too long".into()))
}

/// `C1`'s range for a message of `i` bytes and `D = L − 4`: `0 ..= ⌊(2^32 − 1 − i) / D⌋`.
fn c1_max(i: u64, d: u64) -> u64 {
    (MAX_LEN - i) / d.max(1)
}

/// Pads `message` for `k` stripes (§7.4.4.1, D-5, D-6, D-7): the 32-bit little-endian
/// `p = i + C1·D` (`i` the message length, `D = L − 4`), the message, then `L − 4 − i` bytes
/// of the MRG32k3a stream seeded from the message's first 64 bytes; `C1` is the stream's
/// first output reduced into its range.
pub fn pad(message: &[u8], k: usize) -> Result<Vec<u8>> {
    let len = padded_len(message.len(), k)?;
    let i = message.len() as u64;
    if i > MAX_LEN {
        return Err(Error::BadParameters(format!(
            "{i} bytes do not fit the 32-bit length prefix"
        )));
    }
    let d = (len - 4) as u64;
    let mut g = Mrg32k3a::for_message(message);
    let c1 = g.below(c1_max(i, d) + 1);
    // p ≤ 2^32 − 1 by the choice of C1's range.
    let p = (i + c1 * d) as u32;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&p.to_le_bytes());
    out.extend_from_slice(message);
    let start = out.len();
    out.resize(len, 0);
    g.fill(&mut out[start..]);
    Ok(out)
}

/// The message back from a padded buffer, with every byte of the prefix and the padding
/// checked against the regenerated stream ([`Error::BadPadding`] otherwise).
pub fn unpad(padded: &[u8], k: usize) -> Result<Vec<u8>> {
    let unit = k.saturating_mul(BLOCK).max(1);
    if padded.len() < 5 || !padded.len().is_multiple_of(unit) {
        return Err(Error::BadPadding);
    }
    let d = (padded.len() - 4) as u64;
    let p = u64::from(u32::from_le_bytes([
        padded[0], padded[1], padded[2], padded[3],
    ]));
    let i = p % d;
    // i < d = L − 4, so the message lies inside the buffer.
    let message = &padded[4..4 + i as usize];
    let mut g = Mrg32k3a::for_message(message);
    let c1 = g.below(c1_max(i, d) + 1);
    if p != i + c1 * d {
        return Err(Error::BadPadding);
    }
    let tail = &padded[4 + i as usize..];
    let mut expect = vec![0u8; tail.len()];
    g.fill(&mut expect);
    if expect != tail {
        return Err(Error::BadPadding);
    }
    Ok(message.to_vec())
}

/// The shape of one redundancy operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// k, the data stripes (1..=254).
    pub data: usize,
    /// m, the redundancy blocks (1..=254).
    pub redundancy: usize,
    /// The field.
    pub gf: GfSize,
}

impl Shape {
    /// A `k`-of-`n` shape in GF(2^8): `n` blocks, any `k` recover the message.
    pub fn gf8(k: usize, n: usize) -> Result<Self> {
        if k == 0 || n <= k || n > 256 {
            return Err(Error::BadParameters(format!(
                "redundancy {k}/{n}: need 0 < k < n ≤ 256"
            )));
        }
        Ok(Shape {
            data: k,
            redundancy: n - k,
            gf: GfSize::Gf8,
        })
    }

    /// n = k + m.
    pub fn blocks(&self) -> usize {
        self.data + self.redundancy
    }

    fn check_keys(&self, keys: &[SymKey]) -> Result<()> {
        if keys.is_empty() {
            return Err(Error::BadParameters("no block keys".into()));
        }
        // Two blocks under one key and nonce would leak their XOR (GCM, CTR).
        for (i, a) in keys.iter().enumerate() {
            if a.mode() != Mode::Cbc && keys[..i].iter().any(|b| b == a) {
                return Err(Error::BadParameters("two block keys are the same".into()));
            }
        }
        // A key reused with a nonce-based mode would reuse its nonce (D-12).
        if keys.len() < self.blocks() && keys.iter().any(|k| k.mode() != Mode::Cbc) {
            return Err(Error::BadParameters(format!(
                "{} keys for {} blocks: a CTR or GCM key must not be reused",
                keys.len(),
                self.blocks()
            )));
        }
        Ok(())
    }
}

/// addRedundancy: the `n` encrypted blocks of `message` (block `r` under `keys[r mod len]`).
pub fn add(message: &[u8], shape: Shape, keys: &[SymKey]) -> Result<Vec<Vec<u8>>> {
    shape.check_keys(keys)?;
    let padded = pad(message, shape.data)?;
    let blocks = match shape.gf {
        GfSize::Gf8 => Code::<Gf256>::new(shape.data, shape.redundancy)?.encode(&padded)?,
        GfSize::Gf16 => Code::<Gf65536>::new(shape.data, shape.redundancy)?.encode(&padded)?,
    };
    blocks
        .iter()
        .enumerate()
        .map(|(r, b)| keys[r % keys.len()].encrypt(b))
        .collect()
}

/// What removeRedundancy recovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The message.
    pub message: Vec<u8>,
    /// Blocks whose decryption failed (modified on the way: a tagged block).
    pub tampered: Vec<usize>,
    /// Blocks that were missing.
    pub missing: Vec<usize>,
}

/// The most k-subsets tried when a recovery does not verify (the draft lets a node retry with
/// other blocks; this bounds the work a malicious sender can cause).
pub const MAX_SUBSETS: usize = 64;

/// removeRedundancy: the message from any `k` of the `n` blocks (`None` for a missing one).
pub fn remove(blocks: &[Option<Vec<u8>>], shape: Shape, keys: &[SymKey]) -> Result<Recovered> {
    shape.check_keys(keys)?;
    let n = shape.blocks();
    if blocks.len() != n {
        return Err(Error::BadParameters(format!(
            "{} block slots for {n} blocks",
            blocks.len()
        )));
    }
    let mut plain: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
    let (mut tampered, mut missing) = (Vec::new(), Vec::new());
    for (r, b) in blocks.iter().enumerate() {
        match b {
            None => {
                missing.push(r);
                plain.push(None);
            }
            Some(c) => match keys[r % keys.len()].decrypt(c) {
                Ok(p) => plain.push(Some(p)),
                Err(_) => {
                    tampered.push(r);
                    plain.push(None);
                }
            },
        }
    }
    let good: Vec<usize> = (0..n).filter(|&r| plain[r].is_some()).collect();
    if good.len() < shape.data {
        return Err(Error::NotEnoughBlocks {
            have: good.len(),
            need: shape.data,
        });
    }
    enum AnyCode {
        Gf8(Code<Gf256>),
        Gf16(Code<Gf65536>),
    }
    let code = match shape.gf {
        GfSize::Gf8 => AnyCode::Gf8(Code::new(shape.data, shape.redundancy)?),
        GfSize::Gf16 => AnyCode::Gf16(Code::new(shape.data, shape.redundancy)?),
    };
    let mut subset: Vec<usize> = (0..shape.data).collect();
    // With authenticated blocks every good block is genuine: if the first k do not verify,
    // no other k will (only a malicious sender made them). Retries are for CBC and CTR.
    let tries = if keys.iter().all(SymKey::is_authenticated) {
        1
    } else {
        MAX_SUBSETS
    };
    for _ in 0..tries {
        let mut pick: Vec<Option<Vec<u8>>> = vec![None; n];
        for &j in &subset {
            pick[good[j]] = plain[good[j]].clone();
        }
        let padded = match &code {
            AnyCode::Gf8(c) => c.decode(&pick),
            AnyCode::Gf16(c) => c.decode(&pick),
        };
        if let Ok(message) = padded.and_then(|p| unpad(&p, shape.data)) {
            return Ok(Recovered {
                message,
                tampered,
                missing,
            });
        }
        if !next_subset(&mut subset, good.len()) {
            break;
        }
    }
    Err(Error::BadPadding)
}

/// The next k-subset of `0..n` in lexicographic order; false after the last.
fn next_subset(s: &mut [usize], n: usize) -> bool {
    let k = s.len();
    for i in (0..k).rev() {
        if s[i] < n - k + i {
            s[i] += 1;
            for j in i + 1..k {
                s[j] = s[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sym::{Cipher, Padding};
    use rand_chacha::rand_core::{RngCore, SeedableRng};

    fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
    }

    fn keys(n: usize, r: &mut rand_chacha::ChaCha20Rng) -> Vec<SymKey> {
        (0..n).map(|_| SymKey::generate(r)).collect()
    }

    fn shape(k: usize, m: usize, gf: GfSize) -> Shape {
        Shape {
            data: k,
            redundancy: m,
            gf,
        }
    }

    #[test]
    fn padding_round_trips_at_the_edge_lengths_and_every_byte_is_checked() {
        for k in [1usize, 2, 4, 7] {
            let unit = 16 * k;
            for len in [0, 1, unit - 5, unit - 4, unit - 1, unit, 3 * unit + 2, 1000] {
                let m: Vec<u8> = (0..len).map(|i| (i * 7 + k) as u8).collect();
                let p = pad(&m, k).unwrap();
                assert_eq!(p.len() % unit, 0);
                assert!(p.len() > len + 4, "at least one padding byte");
                assert_eq!(unpad(&p, k).unwrap(), m, "k {k} len {len}");
                for i in 0..p.len() {
                    let mut t = p.clone();
                    t[i] ^= 0x01;
                    // A changed message byte changes the stream only if it is in the first
                    // 64; elsewhere the message is not covered by the padding (GCM covers it).
                    if (4..4 + len).contains(&i) && i >= 68 {
                        continue;
                    }
                    assert!(unpad(&t, k).is_err(), "k {k} len {len} byte {i}");
                }
            }
        }
    }

    #[test]
    fn every_four_of_eight_blocks_recover_the_message_in_both_fields() {
        let mut r = rng(1);
        let mut m = vec![0u8; 5000];
        r.fill_bytes(&mut m);
        for gf in [GfSize::Gf8, GfSize::Gf16] {
            let s = shape(4, 4, gf);
            let ks = keys(8, &mut r);
            let blocks = add(&m, s, &ks).unwrap();
            assert_eq!(blocks.len(), 8);
            let mut subsets = 0;
            for mask in 0u32..256 {
                if mask.count_ones() != 4 {
                    continue;
                }
                subsets += 1;
                let have: Vec<Option<Vec<u8>>> = (0..8)
                    .map(|i| (mask >> i & 1 == 1).then(|| blocks[i].clone()))
                    .collect();
                let got = remove(&have, s, &ks).unwrap();
                assert_eq!(got.message, m, "{gf:?} mask {mask:08b}");
                assert_eq!(got.missing.len(), 4);
            }
            assert_eq!(subsets, 70);
            let three: Vec<Option<Vec<u8>>> =
                (0..8).map(|i| (i < 3).then(|| blocks[i].clone())).collect();
            assert_eq!(
                remove(&three, s, &ks),
                Err(Error::NotEnoughBlocks { have: 3, need: 4 })
            );
        }
    }

    #[test]
    fn a_tagged_block_is_detected_and_the_others_recover() {
        let mut r = rng(2);
        let m = b"a ballot receipt, redundantly routed".to_vec();
        let s = shape(2, 2, GfSize::Gf8);
        let ks = keys(4, &mut r);
        let mut blocks: Vec<Option<Vec<u8>>> =
            add(&m, s, &ks).unwrap().into_iter().map(Some).collect();
        if let Some(b) = blocks[1].as_mut() {
            b[3] ^= 0x40;
        }
        let got = remove(&blocks, s, &ks).unwrap();
        assert_eq!(got.message, m);
        assert_eq!(got.tampered, vec![1]);
        // Tag two more: too few good blocks left.
        for i in [0, 2] {
            if let Some(b) = blocks[i].as_mut() {
                b[0] ^= 1;
            }
        }
        assert_eq!(
            remove(&blocks, s, &ks),
            Err(Error::NotEnoughBlocks { have: 1, need: 2 })
        );
    }

    /// Without authentication (CBC), a modified block is caught by the padding check, and the
    /// node tries other blocks (§7.4.4: any k that verify).
    #[test]
    fn without_tags_a_modified_block_fails_the_padding_and_another_subset_is_tried() {
        let k = SymKey::new(Cipher::Aes256, Mode::Cbc, Padding::None, &[5; 32], &[6; 16]).unwrap();
        let s = shape(2, 2, GfSize::Gf16);
        let m: Vec<u8> = (0..40).collect();
        let mut blocks: Vec<Option<Vec<u8>>> = add(&m, s, std::slice::from_ref(&k))
            .unwrap()
            .into_iter()
            .map(Some)
            .collect();
        if let Some(b) = blocks[0].as_mut() {
            b[20] ^= 0x80;
        }
        let got = remove(&blocks, s, std::slice::from_ref(&k)).unwrap();
        assert_eq!(got.message, m);
        assert!(got.tampered.is_empty());
    }

    #[test]
    fn parity_before_encryption_is_byte_equal_to_reed_solomon_erasure() {
        use reed_solomon_erasure::galois_8::ReedSolomon;
        let mut r = rng(3);
        let mut m = vec![0u8; 1 << 20];
        r.fill_bytes(&mut m);
        let padded = pad(&m, 4).unwrap();
        let ours = Code::<Gf256>::new(4, 4).unwrap().encode(&padded).unwrap();
        let len = padded.len() / 4;
        let mut theirs: Vec<Vec<u8>> = padded.chunks(len).map(|c| c.to_vec()).collect();
        theirs.resize(8, vec![0u8; len]);
        ReedSolomon::new(4, 4).unwrap().encode(&mut theirs).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn bad_shapes_and_key_reuse_with_nonces_are_refused() {
        let mut r = rng(4);
        let ks = keys(3, &mut r);
        assert!(
            add(b"x", shape(2, 2, GfSize::Gf8), &ks).is_err(),
            "GCM keys reused"
        );
        assert!(add(b"x", shape(200, 100, GfSize::Gf8), &keys(300, &mut r)).is_err());
        assert!(add(b"x", shape(200, 100, GfSize::Gf16), &keys(300, &mut r)).is_ok());
        assert!(add(b"x", shape(0, 2, GfSize::Gf8), &ks).is_err());
        assert!(GfSize::from_bits(4).is_err());
        assert!(remove(&[None, None], shape(2, 2, GfSize::Gf8), &keys(4, &mut r)).is_err());
    }

    #[test]
    fn subsets_are_enumerated_in_order() {
        let mut s = vec![0, 1];
        let mut all = vec![s.clone()];
        while next_subset(&mut s, 4) {
            all.push(s.clone());
        }
        assert_eq!(all.len(), 6);
        assert_eq!(all.last(), Some(&vec![2, 3]));
    }
}
