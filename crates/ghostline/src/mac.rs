//! The one-time polynomial MAC over GF(p), p = 2^256 − 189 (Wegman–Carter).
//!
//! This replaces the seed's tag `((a·encode(m) + b) mod p) mod 2^256` (seed 002, §4.3), which is not
//! universal once `encode(m)` exceeds p: messages M and M' with `encode(M') = encode(M) + p` (possible
//! from about 24 bytes of message on) always collide, so a single observed tag lets anyone forge.
//!
//! # Construction
//!
//! The authenticated bytes `d` (message header followed by the ciphertext) are cut into 31-byte blocks
//! `c_1 … c_{n-1}` (the last one possibly shorter), each read as a little-endian integer (< 2^248 < p),
//! followed by one length block `c_n = |d|` (bytes, < 2^64). With a one-time key `r` and a one-time mask
//! `s`, both taken from fresh pad bytes (32 bytes each, reduced mod p):
//!
//! ```text
//! h_r(d) = c_1·r^n + c_2·r^(n-1) + … + c_n·r      (mod p)       — evaluated by Horner's rule
//! tag    = (h_r(d) + s) mod p, written as 32 bytes little-endian
//! ```
//!
//! This is the polynomial-evaluation hash of Wegman & Carter (M. N. Wegman, J. L. Carter, "New hash
//! functions and their use in authentication and set equality", JCSS 22(3), 1981) in the form analysed
//! by Shoup ("On fast and provably secure message authentication based on universal hashing",
//! CRYPTO 1996) and used by Bernstein's Poly1305 ("The Poly1305-AES message-authentication code",
//! FSE 2005), with a one-time mask in place of a cipher output, so the result is information-theoretic.
//!
//! # Forgery bound
//!
//! The encoding is injective: two inputs of different lengths differ in the length block, two of the
//! same length differ in some data block. So for `d ≠ d'` the difference `h_r(d) − h_r(d')` is a
//! non-zero polynomial in `r` of degree at most `L` (the larger block count) and has at most `L` roots.
//! An adversary who saw one authenticated message and submits any other `(d', tag')` succeeds only if
//! `h_r(d') − h_r(d) = tag' − tag (mod p)`, which holds for at most `L` values of `r`. With `r` and `s`
//! uniform in GF(p) (`s` makes the tag independent of `r`), the success probability is **at most
//! `L/p` per attempt** (p ≈ 2^256). Because `r` and `s` are 32 uniform pad bytes reduced mod p, each is
//! within statistical distance 189/2^256 < 2^-248 of uniform, adding at most 2^-247 to the bound.
//! The largest frame (1 MiB) has L < 2^16 blocks, so every attempt succeeds with probability below
//! 2^-239; `q` attempts against the same key succeed with probability at most `q·L/p`.

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{const_monty_params, U256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

const_monty_params!(
    FieldModulus,
    U256,
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff43",
    "The prime p = 2^256 − 189 of the GhostLine MAC field."
);

/// An element of GF(p) (Montgomery arithmetic from `crypto-bigint`).
type Fp = ConstMontyForm<FieldModulus, { U256::LIMBS }>;

/// Bytes per data block: 31 bytes keep every block below p.
pub const BLOCK_BYTES: usize = 31;
/// Size of a tag in bytes.
pub const TAG_LEN: usize = 32;
/// Pad bytes consumed by one MAC key (`r` then `s`, 32 bytes each).
pub const MAC_KEY_LEN: usize = 64;

/// A one-time MAC key `(r, s)` taken from the pad. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct OneTimeMacKey {
    r: [u8; 32],
    s: [u8; 32],
}

impl std::fmt::Debug for OneTimeMacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeMacKey(<secret>)")
    }
}

impl OneTimeMacKey {
    /// Takes a key from 64 pad bytes: `r` = bytes 0..32, `s` = bytes 32..64 (little-endian).
    pub fn from_pad_bytes(bytes: &[u8; MAC_KEY_LEN]) -> Self {
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        OneTimeMacKey { r, s }
    }

    /// Computes the tag of `data` (which must be the whole authenticated string).
    pub fn tag(&self, data: &[u8]) -> Tag {
        self.tag_parts(&[data])
    }

    /// Computes the tag of the concatenation of `parts` (same result as [`Self::tag`] on the
    /// concatenated bytes, without copying them).
    pub fn tag_parts(&self, parts: &[&[u8]]) -> Tag {
        let mut r = U256::from_le_slice(&self.r);
        let mut s = U256::from_le_slice(&self.s);
        let key = Fp::new(&r);
        let hash = poly_hash(&key, parts);
        let mask = Fp::new(&s).retrieve();
        let mut sum = hash + Fp::from_montgomery(mask);
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(sum.as_montgomery().to_le_bytes().as_ref());
        r.zeroize();
        s.zeroize();
        sum.as_montgomery_mut().zeroize();
        Tag(out)
    }

    /// Checks `tag` against the concatenation of `parts` in constant time.
    pub fn verify_parts(&self, parts: &[&[u8]], tag: &Tag) -> bool {
        bool::from(self.tag_parts(parts).ct_eq(tag))
    }
}

/// Horner evaluation of the block polynomial over the concatenation of `parts`.
///
/// Trick: elements are kept in *plain* (not Montgomery) representation and the key in Montgomery
/// representation `rR`; a Montgomery product of a plain `x` with `rR` is the plain `x·r`, so every
/// block costs exactly one multiplication and no conversions. The returned value is the plain hash
/// wrapped as an `Fp` whose raw representation is the hash (only used for addition).
fn poly_hash(key: &Fp, parts: &[&[u8]]) -> Fp {
    let mut acc = Fp::from_montgomery(U256::ZERO);
    let mut absorb = |block: &[u8], buf: &mut [u8; 32]| {
        buf[..block.len()].copy_from_slice(block);
        buf[block.len()..].fill(0);
        let c = Fp::from_montgomery(U256::from_le_slice(buf));
        acc = (acc + c) * key;
    };
    let mut buf = [0u8; 32];
    let mut stage = [0u8; BLOCK_BYTES];
    let mut fill = 0usize;
    let mut total = 0u64;
    for part in parts {
        let mut p: &[u8] = part;
        total += p.len() as u64;
        if fill > 0 {
            let take = (BLOCK_BYTES - fill).min(p.len());
            stage[fill..fill + take].copy_from_slice(&p[..take]);
            fill += take;
            p = &p[take..];
            if fill == BLOCK_BYTES {
                absorb(&stage, &mut buf);
                fill = 0;
            }
        }
        let mut chunks = p.chunks_exact(BLOCK_BYTES);
        for chunk in &mut chunks {
            absorb(chunk, &mut buf);
        }
        let rest = chunks.remainder();
        stage[..rest.len()].copy_from_slice(rest);
        fill += rest.len();
    }
    if fill > 0 {
        absorb(&stage[..fill], &mut buf);
    }
    absorb(&total.to_le_bytes(), &mut buf);
    buf.zeroize();
    stage.zeroize();
    acc
}

/// Number of polynomial blocks `L` for `len` authenticated bytes (data blocks plus the length block).
pub fn block_count(len: usize) -> usize {
    len.div_ceil(BLOCK_BYTES) + 1
}

/// A 32-byte authentication tag. Compared only in constant time.
#[derive(Clone, Copy)]
pub struct Tag(pub [u8; TAG_LEN]);

impl ConstantTimeEq for Tag {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tag({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(r: u64, s: u64) -> OneTimeMacKey {
        let mut bytes = [0u8; 64];
        bytes[..8].copy_from_slice(&r.to_le_bytes());
        bytes[32..40].copy_from_slice(&s.to_le_bytes());
        OneTimeMacKey::from_pad_bytes(&bytes)
    }

    fn as_u128(tag: &Tag) -> u128 {
        assert!(tag.0[16..].iter().all(|&b| b == 0));
        u128::from_le_bytes(tag.0[..16].try_into().unwrap())
    }

    #[test]
    fn small_known_values() {
        // Empty input: blocks [0] -> h = 0·r, tag = s.
        assert_eq!(as_u128(&key(5, 7).tag(b"")), 7);
        // One byte b: blocks [b, 1] -> h = b·r² + r.
        assert_eq!(as_u128(&key(2, 0).tag(&[9])), 9 * 4 + 2);
        assert_eq!(as_u128(&key(3, 10).tag(&[9])), 9 * 9 + 3 + 10);
        // 32 bytes: blocks [c1 (31 bytes), c2 (1 byte), 32].
        let mut d = [0u8; 32];
        d[0] = 1;
        d[31] = 2;
        assert_eq!(as_u128(&key(2, 1).tag(&d)), 8 + 2 * 4 + 32 * 2 + 1);
    }

    #[test]
    fn matches_textbook_montgomery_evaluation() {
        let mut pad = [0u8; 64];
        for (i, b) in pad.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(0xA5);
        }
        let k = OneTimeMacKey::from_pad_bytes(&pad);
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        let r = Fp::new(&U256::from_le_slice(&pad[..32]));
        let s = Fp::new(&U256::from_le_slice(&pad[32..]));
        let mut acc = Fp::new(&U256::ZERO);
        for chunk in data.chunks(BLOCK_BYTES) {
            let mut buf = [0u8; 32];
            buf[..chunk.len()].copy_from_slice(chunk);
            acc = (acc + Fp::new(&U256::from_le_slice(&buf))) * r;
        }
        acc = (acc + Fp::new(&U256::from_u64(data.len() as u64))) * r;
        let expected = (acc + s).retrieve();
        let tag = k.tag(&data);
        assert_eq!(U256::from_le_slice(&tag.0), expected);
    }

    #[test]
    fn parts_equal_concatenation() {
        let k = OneTimeMacKey::from_pad_bytes(&[0x3c; 64]);
        let data: Vec<u8> = (0..300u32).map(|i| (i * 11) as u8).collect();
        for a in [0, 1, 30, 31, 32, 33, 62, 100, 299, 300] {
            for b in [a, (a + 7).min(300), 300] {
                let t = k.tag_parts(&[&data[..a], &data[a..b], &data[b..]]);
                assert_eq!(t.0, k.tag(&data).0, "split {a} {b}");
            }
        }
    }

    #[test]
    fn tags_are_reduced_mod_p() {
        let k = OneTimeMacKey::from_pad_bytes(&[0xFF; 64]);
        let t = k.tag(b"hello");
        assert!(U256::from_le_slice(&t.0) < *Fp::MODULUS.as_ref());
    }

    #[test]
    fn debug_hides_key() {
        let k = OneTimeMacKey::from_pad_bytes(&[0x42; 64]);
        assert_eq!(format!("{k:?}"), "OneTimeMacKey(<secret>)");
    }
}
