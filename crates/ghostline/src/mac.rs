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

//!
//! # Arithmetic
//!
//! `p = 2^256 − 189` is a pseudo-Mersenne prime, so `2^256 ≡ 189 (mod p)`: a 512-bit product
//! `hi·2^256 + lo` reduces to `hi·189 + lo` and then once more to below `2^256` (the technique of
//! Crandall's primes and of Curve25519's field; Bernstein, "Curve25519: new Diffie-Hellman speed
//! records", PKC 2006, §4). [`Fe`] implements exactly that, constant time (no branch or index
//! depends on a value), and is checked against `crypto-bigint`'s generic Montgomery arithmetic in
//! the tests; it is about twice as fast, and the MAC is most of a message's sealing cost.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `2^256 mod p`.
const FOLD: u64 = 189;

/// An integer below `2^256` standing for its residue mod `p` (not necessarily reduced), as four
/// little-endian 64-bit limbs.
#[derive(Clone, Copy, Default, Zeroize)]
struct Fe([u64; 4]);

impl Fe {
    fn from_le_bytes(b: &[u8; 32]) -> Fe {
        let mut l = [0u64; 4];
        for (i, limb) in l.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[8 * i..8 * i + 8]);
            *limb = u64::from_le_bytes(w);
        }
        Fe(l)
    }

    fn to_le_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// Adds `k · 189` where the caller knows the sum stays below `2^256`.
    fn add_small(mut self, k: u64) -> Fe {
        let mut carry = u128::from(k) * u128::from(FOLD);
        for limb in self.0.iter_mut() {
            let x = u128::from(*limb) + carry;
            *limb = x as u64;
            carry = x >> 64;
        }
        self
    }

    /// `self + other` (mod p), below `2^256`. Needs `other < 2^256 − 189` (true of a block, below
    /// `2^248`, and of a reduced value), so that the wrapped sum plus 189 cannot overflow again.
    fn add(self, other: Fe) -> Fe {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(other.0.iter())) {
            let x = u128::from(*a) + u128::from(*b) + carry;
            *o = x as u64;
            carry = x >> 64;
        }
        // 2^256 ≡ 189.
        Fe(out).add_small(carry as u64)
    }

    /// `self · other` (mod p), below `2^256`.
    fn mul(self, other: Fe) -> Fe {
        // Schoolbook 4×4 limbs into 8.
        let mut t = [0u64; 8];
        for (i, a) in self.0.iter().enumerate() {
            let mut carry = 0u128;
            for (j, b) in other.0.iter().enumerate() {
                let x = u128::from(*a) * u128::from(*b) + u128::from(t[i + j]) + carry;
                t[i + j] = x as u64;
                carry = x >> 64;
            }
            t[i + 4] = carry as u64;
        }
        // lo + hi·189: at most 2^256 + 189·2^256, i.e. four limbs and a top below 191.
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let x = u128::from(t[i]) + u128::from(t[i + 4]) * u128::from(FOLD) + carry;
            out[i] = x as u64;
            carry = x >> 64;
        }
        // top·2^256 ≡ top·189; a wrap of that sum leaves less than 2^16, so a second fold of one
        // carry cannot overflow.
        let mut r = [0u64; 4];
        let mut c = u128::from(carry as u64) * u128::from(FOLD);
        for (o, limb) in r.iter_mut().zip(out.iter()) {
            let x = u128::from(*limb) + c;
            *o = x as u64;
            c = x >> 64;
        }
        t.zeroize();
        out.zeroize();
        Fe(r).add_small(c as u64)
    }

    /// The canonical representative, below `p`: `x ≥ p` exactly when `x + 189` overflows, and
    /// then the wrapped sum is `x − p`. Selected with a mask, not a branch.
    fn reduce(self) -> Fe {
        let mut y = [0u64; 4];
        let mut carry = u128::from(FOLD);
        for (o, limb) in y.iter_mut().zip(self.0.iter()) {
            let x = u128::from(*limb) + carry;
            *o = x as u64;
            carry = x >> 64;
        }
        let mask = (carry as u64).wrapping_neg(); // all ones when x ≥ p
        let mut out = [0u64; 4];
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(y.iter())) {
            *o = (a & !mask) | (b & mask);
        }
        Fe(out)
    }
}

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
        let mut r = Fe::from_le_bytes(&self.r).reduce();
        let mut s = Fe::from_le_bytes(&self.s).reduce();
        let mut hash = poly_hash(r, parts).reduce();
        let mut sum = hash.add(s).reduce();
        let out = sum.to_le_bytes();
        r.zeroize();
        s.zeroize();
        hash.zeroize();
        sum.zeroize();
        Tag(out)
    }

    /// Checks `tag` against the concatenation of `parts` in constant time.
    pub fn verify_parts(&self, parts: &[&[u8]], tag: &Tag) -> bool {
        bool::from(self.tag_parts(parts).ct_eq(tag))
    }
}

/// Horner evaluation of the block polynomial over the concatenation of `parts`: one addition
/// and one multiplication per block.
fn poly_hash(key: Fe, parts: &[&[u8]]) -> Fe {
    let mut acc = Fe::default();
    let mut absorb = |block: &[u8], buf: &mut [u8; 32]| {
        buf[..block.len()].copy_from_slice(block);
        buf[block.len()..].fill(0);
        acc = acc.add(Fe::from_le_bytes(buf)).mul(key);
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
    use crypto_bigint::modular::ConstMontyForm;
    use crypto_bigint::{const_monty_params, U256};
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    const_monty_params!(
        FieldModulus,
        U256,
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff43",
        "p = 2^256 − 189, for the reference arithmetic."
    );
    /// Reference arithmetic: `crypto-bigint`'s generic Montgomery form.
    type Fp = ConstMontyForm<FieldModulus, { U256::LIMBS }>;

    fn fp(b: &[u8; 32]) -> Fp {
        Fp::new(&U256::from_le_slice(b))
    }

    fn canon(x: Fe) -> U256 {
        U256::from_le_slice(&x.reduce().to_le_bytes())
    }

    /// Values at the edges: 0, 1, p − 1, p, p + 1, 2^255, 2^256 − 190 … 2^256 − 1.
    fn edge_values() -> Vec<[u8; 32]> {
        let mut v = Vec::new();
        let from_u256 = |x: U256| {
            let mut b = [0u8; 32];
            b.copy_from_slice(x.to_le_bytes().as_ref());
            b
        };
        let p = *Fp::MODULUS.as_ref();
        for x in [
            U256::ZERO,
            U256::ONE,
            p.wrapping_sub(&U256::ONE),
            p,
            p.wrapping_add(&U256::ONE),
            U256::ONE.shl_vartime(255),
            U256::MAX.wrapping_sub(&U256::from_u64(189)),
            U256::MAX.wrapping_sub(&U256::ONE),
            U256::MAX,
        ] {
            v.push(from_u256(x));
        }
        v
    }

    #[test]
    fn field_arithmetic_matches_the_montgomery_reference() {
        let mut rng = ChaCha20Rng::seed_from_u64(0x6f73);
        let mut values = edge_values();
        for _ in 0..2000 {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            values.push(b);
        }
        for (i, a) in values.iter().enumerate() {
            let b = &values[(i * 7 + 3) % values.len()];
            let (fa, fb) = (Fe::from_le_bytes(a), Fe::from_le_bytes(b));
            assert_eq!(canon(fa.mul(fb)), (fp(a) * fp(b)).retrieve(), "mul {i}");
            assert_eq!(canon(fa), fp(a).retrieve(), "reduce {i}");
            // `add` needs its second operand below 2^256 − 189: a reduced value.
            let rb = fb.reduce();
            assert_eq!(canon(fa.add(rb)), (fp(a) + fp(b)).retrieve(), "add {i}");
            // Results stay below 2^256 and keep working as inputs (long Horner chains).
            let chain = fa.mul(fb).mul(fa.mul(fb));
            assert_eq!(
                canon(chain),
                (fp(a) * fp(b) * fp(a) * fp(b)).retrieve(),
                "chain {i}"
            );
        }
        for a in edge_values() {
            for b in edge_values() {
                let (fa, fb) = (Fe::from_le_bytes(&a), Fe::from_le_bytes(&b));
                assert_eq!(canon(fa.mul(fb)), (fp(&a) * fp(&b)).retrieve());
                assert_eq!(canon(fa.add(fb.reduce())), (fp(&a) + fp(&b)).retrieve());
            }
        }
    }

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
