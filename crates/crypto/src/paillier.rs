//! Paillier encryption, proof-of-result by opening, and the 1-out-of-k membership proof.
//!
//! This is seed 000's scheme (Annex A), kept as a selectable, clearly single-authority election
//! scheme (DESIGN.md, "Cryptography"): whoever holds the [`SecretKey`] can decrypt every ballot.
//!
//! * **Encryption** (Paillier, "Public-key cryptosystems based on composite degree residuosity
//!   classes", EUROCRYPT 1999) with `g = n + 1`: `Enc(m; r) = g^m · r^n mod n²` for `m ∈ Z_n`,
//!   `r ∈ Z_n^*`. Because `g = n + 1`, `g^m = 1 + m·n mod n²`, so encryption costs one
//!   exponentiation `r^n mod n²` in Montgomery form. `n` has at least [`MIN_MODULUS_BITS`] bits;
//!   [`SecretKey::generate`] uses safe primes `p`, `q` of equal length with their two top bits set.
//! * **Homomorphism**: `Enc(a)·Enc(b) = Enc(a + b)` ([`PublicKey::add`]) and
//!   `Enc(a)^k = Enc(k·a)` ([`PublicKey::mul_plain`]).
//! * **Decryption** by the Chinese remainder theorem (`m_p = L_p(c^{p−1} mod p²)·h_p mod p`, the
//!   same mod `q`, then Garner's recombination), ≈ 4× faster than the textbook
//!   `L(c^λ mod n²)·μ mod n` that [`SecretKey::decrypt_textbook`] keeps as a reference.
//! * **Proof-of-result** (seed 000, Annex A, "Decryption of ZKPoR"): the key holder recovers the
//!   randomness `r = (c·g^{−m})^{n^{−1} mod φ(n)} mod n` ([`SecretKey::open`]); anyone re-encrypts
//!   `(m, r)` and compares ([`verify_opening`]). Since `c·g^{−m} ≡ r^n (mod n)` and `g ≡ 1 (mod n)`,
//!   this is `(c mod n)^{n^{−1} mod φ(n)} mod n`, computed mod `p` and mod `q`.
//! * **Membership proof** ([`MembershipProof`]): a non-interactive proof that a ciphertext encrypts
//!   one value of a public set `S = {m_1 … m_k}`, from Baudron, Fouque, Pointcheval and Stern,
//!   "Practical multi-candidate election system", PODC 2001 (the proof that an encrypted message
//!   lies in a given set of messages), made non-interactive with Fiat–Shamir on a `merlin`
//!   transcript labelled `tabella/paillier-membership/v1` and bound to a caller context.
//!
//! Integers are [`crypto_bigint::BoxedUint`]s. Exponentiations with secret exponents (decryption,
//! randomness recovery, the prover's commitments) are constant-time over the exponent's full bit
//! precision; only `r^n` exploits the public bit pattern of `n` (a sliding window). Comparisons of ciphertexts, openings and keys are
//! constant-time (`subtle`). In JSON, big integers are minimal big-endian lowercase hex strings;
//! decoding rejects anything else, and every operation checks that a ciphertext is `< n²` and
//! coprime to `n` ([`PublicKey::validate_ciphertext`]).
//!
//! Arithmetic: `r^n mod n²` (encryption, opening checks, the membership proof) and the CRT
//! exponentiations of decryption and randomness recovery run on a small product-scanning
//! Montgomery core with a dedicated squaring (`monty`, private); the rest uses `crypto-bigint`.
//!
//! Zeroization: the secret key's integers (`p`, `q`, `λ`, `μ`, CRT parameters, Montgomery moduli)
//! and the scratch buffers of secret exponentiations are wiped on drop. Not wiped: temporaries
//! inside `crypto-bigint` operations (e.g. `rem`, `mul_mod`) used while building the key, and
//! [`SecretKey::decrypt_textbook`], which runs on `crypto-bigint`'s exponentiation.

use core::fmt;

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::rand_core as rand_core_010;
use crypto_bigint::{
    BoxedUint, Choice as BChoice, ConcatenatingMul, CtAssign, CtLt, Gcd, NonZero, Odd, RandomBits,
    RandomMod, Resize,
};
use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
use crypto_primes::{is_prime, sieve_and_find, Flavor};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::transcript::new_transcript;

/// Smallest accepted modulus size in bits.
pub const MIN_MODULUS_BITS: u32 = 2048;
/// Largest accepted modulus size in bits (bounds decoding work).
pub const MAX_MODULUS_BITS: u32 = 8192;
/// Bit length of the membership proof's challenges (must stay below the smallest prime factor
/// of `n`, which has at least `MIN_MODULUS_BITS / 2` bits).
pub const CHALLENGE_BITS: u32 = 256;
/// Largest set a [`MembershipProof`] accepts (proof size and cost grow linearly).
pub const MAX_SET_SIZE: usize = 1024;

const MEMBERSHIP_LABEL: &[u8] = b"tabella/paillier-membership/v1";
const SECRET_KEY_MAGIC: &[u8; 8] = b"TBPAISK1";
/// Attempts at drawing a unit mod `n` before giving up (a failure means a broken RNG or key).
const MAX_SAMPLING_ATTEMPTS: usize = 64;

// ---------------------------------------------------------------------------------------------
// RNG bridge: our API takes rand_core 0.6 RNGs; crypto-bigint / crypto-primes 0.7 use 0.10.

/// Adapts a `rand_core` 0.6 CSPRNG to the `rand_core` 0.10 traits, drawing from it directly.
struct RngBridge<'a, R: ?Sized>(&'a mut R);

impl<R: RngCore + CryptoRng + ?Sized> rand_core_010::TryRng for RngBridge<'_, R> {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: RngCore + CryptoRng + ?Sized> rand_core_010::TryCryptoRng for RngBridge<'_, R> {}

// ---------------------------------------------------------------------------------------------
// Integer helpers.

fn perr(msg: impl Into<String>) -> Error {
    Error::Paillier(msg.into())
}

/// `x` at exactly the precision used for `bits`-bit values, or an error if it does not fit.
fn fit(x: &BoxedUint, bits: u32, what: &'static str) -> Result<BoxedUint> {
    x.try_resize(bits)
        .ok_or_else(|| Error::malformed(what, format!("value does not fit in {bits} bits")))
}

/// Resizes a value known to fit (internal invariant); reports a `Paillier` error otherwise.
fn resize(x: &BoxedUint, bits: u32) -> Result<BoxedUint> {
    x.try_resize(bits)
        .ok_or_else(|| perr("internal error: integer does not fit its precision"))
}

fn nz(x: &BoxedUint) -> Result<NonZero<BoxedUint>> {
    Option::from(x.to_nz()).ok_or_else(|| perr("zero modulus"))
}

fn odd(x: &BoxedUint) -> Result<Odd<BoxedUint>> {
    Option::from(x.to_odd()).ok_or_else(|| perr("even modulus"))
}

fn one(bits: u32) -> BoxedUint {
    BoxedUint::one_with_precision(bits)
}

/// Big-endian bytes of `x`, left-padded to exactly `len` bytes (`x` must fit).
fn be_bytes_fixed(x: &BoxedUint, len: usize) -> Result<Vec<u8>> {
    let trimmed = x.to_be_bytes_trimmed_vartime();
    if trimmed.len() > len {
        return Err(perr("internal error: integer longer than its encoding"));
    }
    let mut out = vec![0u8; len - trimmed.len()];
    out.extend_from_slice(&trimmed);
    Ok(out)
}

/// Constant-time equality of two integers (at a common precision).
fn ct_eq_uint(a: &BoxedUint, b: &BoxedUint) -> Choice {
    let bits = a.bits_precision().max(b.bits_precision());
    let a = Zeroizing::new(Zeroizing::new(a.resize_unchecked(bits)).to_be_bytes());
    let b = Zeroizing::new(Zeroizing::new(b.resize_unchecked(bits)).to_be_bytes());
    a.as_ref().ct_eq(b.as_ref())
}

/// `x^e mod m` with `e` treated as a full `e.bits_precision()`-bit exponent (constant-time in `e`).
fn pow_ct(x: &BoxedUint, e: &BoxedUint, params: &BoxedMontyParams) -> BoxedUint {
    BoxedMontyForm::new(x.clone(), params)
        .pow_bounded_exp(e, e.bits_precision())
        .retrieve()
}

/// Little-endian 64-bit limbs of `x`, exactly `len` of them (`x` must fit).
fn to_limbs(x: &BoxedUint, len: usize) -> Zeroizing<Vec<u64>> {
    let bytes = Zeroizing::new(x.to_le_bytes());
    let mut out = Zeroizing::new(vec![0u64; len]);
    for (o, chunk) in out.iter_mut().zip(bytes.chunks(8)) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        *o = u64::from_le_bytes(w);
    }
    out
}

/// `m` (odd, at a precision that is a multiple of 64 bits) prepared for [`monty`]: computes
/// `R² mod m` for `R = 2^precision` with constant-time `crypto-bigint` operations.
fn monty_modulus(m: &BoxedUint) -> Result<monty::Modulus> {
    let prec = m.bits_precision();
    let limbs = prec.div_ceil(64) as usize;
    let m_nz = nz(m)?;
    // R mod m = ((R − 1) mod m) + 1, which is < m for odd m > 1.
    let r_mod = Zeroizing::new(BoxedUint::max(prec).rem(&m_nz).wrapping_add(one(prec)));
    let r2 = Zeroizing::new(r_mod.mul_mod(&r_mod, &m_nz));
    monty::Modulus::new(to_limbs(m, limbs).to_vec(), to_limbs(&r2, limbs).to_vec())
        .ok_or_else(|| perr("Montgomery modulus must be odd"))
}

/// `x^e mod m` for a secret exponent (all of `e`'s precision is processed) and `x < m`.
fn pow_secret(
    m: &monty::Modulus,
    x: &BoxedUint,
    e: &BoxedUint,
    out_bits: u32,
) -> Result<BoxedUint> {
    let x = to_limbs(x, m.limbs());
    let xm = Zeroizing::new(m.enter_mont(&x));
    let e = to_limbs(e, e.bits_precision().div_ceil(64) as usize);
    let y = Zeroizing::new(monty::pow_secret_exponent(m, &xm, &e));
    let y = Zeroizing::new(m.leave_mont(&y));
    from_limbs(&y, out_bits)
}

/// The integer with little-endian 64-bit limbs `limbs`, at precision `bits`.
fn from_limbs(limbs: &[u64], bits: u32) -> Result<BoxedUint> {
    let bytes: Zeroizing<Vec<u8>> =
        Zeroizing::new(limbs.iter().flat_map(|w| w.to_le_bytes()).collect());
    BoxedUint::from_le_slice(&bytes, bits)
        .map_err(|e| perr(format!("internal error: limb conversion: {e:?}")))
}

/// Garner's recombination: the `x mod pq` with `x ≡ xp (mod p)`, `x ≡ xq (mod q)`.
fn crt(
    xp: &BoxedUint,
    xq: &BoxedUint,
    p: &BoxedUint,
    q: &BoxedUint,
    q_inv_p: &BoxedUint,
    n_bits: u32,
) -> Result<BoxedUint> {
    let p_nz = nz(p)?;
    let xq_mod_p = xq
        .resize_unchecked(xq.bits_precision().max(p.bits_precision()))
        .rem(&p_nz);
    let xp = resize(xp, p.bits_precision())?;
    let h = xp.sub_mod(&xq_mod_p, &p_nz).mul_mod(q_inv_p, &p_nz);
    let qh = resize(&q.concatenating_mul(&h), n_bits)?;
    Ok(qh.wrapping_add(&resize(xq, n_bits)?))
}

/// Serde helpers: big integers as minimal big-endian lowercase hex (zero is `"00"`).
mod monty;

mod hexint {
    use super::*;
    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};

    /// Largest encoded integer: a value mod `n²` for the largest accepted `n`.
    const MAX_BYTES: usize = (2 * MAX_MODULUS_BITS / 8) as usize;

    pub(super) fn encode(x: &BoxedUint) -> String {
        let b = x.to_be_bytes_trimmed_vartime();
        if b.is_empty() {
            "00".to_owned()
        } else {
            hex::encode(b)
        }
    }

    pub(super) fn decode(s: &str) -> Result<BoxedUint> {
        let what = "Paillier integer";
        if s.is_empty() || !s.len().is_multiple_of(2) {
            return Err(Error::malformed(
                what,
                "hex must be non-empty with an even length",
            ));
        }
        if s.len() > 2 * MAX_BYTES {
            return Err(Error::malformed(
                what,
                format!("longer than {MAX_BYTES} bytes"),
            ));
        }
        if !s
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return Err(Error::malformed(what, "not lowercase hex"));
        }
        if s.len() > 2 && s.starts_with("00") {
            return Err(Error::malformed(what, "leading zero byte (not minimal)"));
        }
        let bytes = hex::decode(s).map_err(|e| Error::malformed(what, e.to_string()))?;
        let bits = u32::try_from(bytes.len() * 8)
            .map_err(|_| Error::malformed(what, "too long"))?
            .max(64);
        BoxedUint::from_be_slice(&bytes, bits.div_ceil(64) * 64)
            .map_err(|e| Error::malformed(what, format!("{e:?}")))
    }

    pub(super) fn serialize<S: Serializer>(
        x: &BoxedUint,
        s: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&encode(x))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> core::result::Result<BoxedUint, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s).map_err(D::Error::custom)
    }

    pub(super) mod vec {
        use super::*;

        pub(in super::super) fn serialize<S: Serializer>(
            xs: &[BoxedUint],
            s: S,
        ) -> core::result::Result<S::Ok, S::Error> {
            s.collect_seq(xs.iter().map(encode))
        }

        pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> core::result::Result<Vec<BoxedUint>, D::Error> {
            let v = Vec::<String>::deserialize(d)?;
            if v.len() > MAX_SET_SIZE {
                return Err(D::Error::custom(format!(
                    "more than {MAX_SET_SIZE} integers"
                )));
            }
            v.iter()
                .map(|s| decode(s).map_err(D::Error::custom))
                .collect()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plaintexts, ciphertexts, randomness, openings.

/// A Paillier plaintext, an integer in `[0, n)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = crate::api_schema::BigUintHex)]
pub struct Plaintext(#[serde(with = "hexint")] BoxedUint);

impl Plaintext {
    /// Wraps an integer (range-checked against `n` when used).
    pub fn new(m: BoxedUint) -> Self {
        Plaintext(m)
    }
    /// The integer.
    pub fn as_uint(&self) -> &BoxedUint {
        &self.0
    }
    /// The value as a `u64`, if it fits.
    pub fn to_u64(&self) -> Option<u64> {
        let bytes = self.0.to_be_bytes_trimmed_vartime();
        if bytes.len() > 8 {
            return None;
        }
        Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

impl From<u64> for Plaintext {
    fn from(m: u64) -> Self {
        Plaintext(BoxedUint::from(m))
    }
}

/// A Paillier ciphertext `c ∈ Z_{n²}^*`.
///
/// Deserialization checks only the encoding; every operation that takes a public key checks
/// `c < n²` and `gcd(c, n) = 1` ([`PublicKey::validate_ciphertext`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PaillierCiphertext)]
#[schema(value_type = crate::api_schema::BigUintHex)]
pub struct Ciphertext(#[serde(with = "hexint")] BoxedUint);

impl Ciphertext {
    /// The integer `c`.
    pub fn as_uint(&self) -> &BoxedUint {
        &self.0
    }
}

/// The encryption randomness `r ∈ Z_n^*`. Zeroized on drop; `Debug` prints nothing secret.
///
/// It stays secret while the vote is secret (with `c` it reveals `m`); the proof-of-result
/// ([`Opening`]) publishes it on purpose.
#[derive(Clone, Zeroize, ZeroizeOnDrop, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = crate::api_schema::BigUintHex)]
pub struct Randomness(#[serde(with = "hexint")] BoxedUint);

impl fmt::Debug for Randomness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("paillier::Randomness(<redacted>)")
    }
}

impl ConstantTimeEq for Randomness {
    fn ct_eq(&self, other: &Self) -> Choice {
        ct_eq_uint(&self.0, &other.0)
    }
}

impl PartialEq for Randomness {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Randomness {}

impl Randomness {
    /// Wraps an integer (checked to be a unit mod `n` when used).
    pub fn new(r: BoxedUint) -> Self {
        Randomness(r)
    }
    /// The integer `r`.
    pub fn expose(&self) -> &BoxedUint {
        &self.0
    }
}

/// A proof-of-result: the plaintext and the randomness of a ciphertext, so that anyone can
/// re-encrypt and compare ([`verify_opening`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Opening {
    /// The plaintext `m`.
    pub m: Plaintext,
    /// The randomness `r` with `c = g^m · r^n mod n²`.
    pub r: Randomness,
}

impl Opening {
    /// Checks `c = Enc(m; r)` (see [`verify_opening`]).
    pub fn verify(&self, pk: &PublicKey, c: &Ciphertext) -> Result<()> {
        verify_opening(pk, c, &self.m, &self.r)
    }
}

/// Verifies a proof-of-result: re-encrypts `(m, r)` under `pk` and compares with `c` in constant
/// time. Fails with [`Error::InvalidProof`] on mismatch and [`Error::Malformed`] /
/// [`Error::Paillier`] on out-of-range inputs.
pub fn verify_opening(pk: &PublicKey, c: &Ciphertext, m: &Plaintext, r: &Randomness) -> Result<()> {
    let c = pk.validate_ciphertext(c)?;
    let expected = pk.encrypt_with(m, r)?;
    if bool::from(ct_eq_uint(&c, &expected.0)) {
        Ok(())
    } else {
        Err(Error::InvalidProof(
            "paillier opening: re-encryption of (m, r) does not match the ciphertext",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Public key.

/// A Paillier public key: the modulus `n` (with `g = n + 1`) and precomputed Montgomery
/// parameters for `n²`.
#[derive(Clone)]
pub struct PublicKey {
    n: BoxedUint,
    n_squared: BoxedUint,
    n2_params: BoxedMontyParams,
    /// `n²` for the dedicated Montgomery squaring of [`monty`], and `R mod n²` (one).
    n2_limbs: std::sync::Arc<monty::Modulus>,
    n2_one: std::sync::Arc<Vec<u64>>,
    bits: u32,
    n_prec: u32,
    n2_prec: u32,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("paillier::PublicKey")
            .field("bits", &self.bits)
            .field("n", &hexint::encode(&self.n))
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n
    }
}

impl Eq for PublicKey {}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct PublicKeyRepr {
    #[schema(value_type = crate::api_schema::BigUintHex)]
    #[serde(with = "hexint")]
    n: BoxedUint,
}

crate::schema_via!(PublicKey as PaillierPublicKey, PublicKeyRepr);

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        PublicKeyRepr { n: self.n.clone() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let repr = PublicKeyRepr::deserialize(d)?;
        PublicKey::from_modulus(&repr.n).map_err(serde::de::Error::custom)
    }
}

impl PublicKey {
    /// Builds a key from the modulus `n`. Rejects `n` shorter than [`MIN_MODULUS_BITS`], longer
    /// than [`MAX_MODULUS_BITS`], or even. (Whether `n` is a product of two large primes cannot be
    /// checked without its factors.)
    pub fn from_modulus(n: &BoxedUint) -> Result<Self> {
        let bits = n.bits_vartime();
        if bits < MIN_MODULUS_BITS {
            return Err(perr(format!(
                "modulus has {bits} bits; at least {MIN_MODULUS_BITS} are required"
            )));
        }
        if bits > MAX_MODULUS_BITS {
            return Err(perr(format!(
                "modulus has {bits} bits; at most {MAX_MODULUS_BITS} are accepted"
            )));
        }
        let n_prec = bits.div_ceil(64) * 64;
        let n2_prec = 2 * n_prec;
        let n = resize(n, n_prec)?;
        odd(&n).map_err(|_| perr("modulus must be odd"))?;
        let n_squared = resize(&n.concatenating_mul(&n), n2_prec)?;
        let n2_params = BoxedMontyParams::new_vartime(odd(&n_squared)?);
        let n2_limbs = monty_modulus(&n_squared)?;
        let n2_one = to_limbs(
            BoxedMontyForm::one(&n2_params).as_montgomery(),
            n2_limbs.limbs(),
        )
        .to_vec();
        Ok(PublicKey {
            n,
            n_squared,
            n2_params,
            n2_limbs: std::sync::Arc::new(n2_limbs),
            n2_one: std::sync::Arc::new(n2_one),
            bits,
            n_prec,
            n2_prec,
        })
    }

    /// Decodes `n` from big-endian bytes (no leading zero byte).
    pub fn from_modulus_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.first() == Some(&0) {
            return Err(Error::malformed("Paillier modulus", "leading zero byte"));
        }
        if bytes.len() * 8 > MAX_MODULUS_BITS as usize {
            return Err(Error::malformed("Paillier modulus", "too long"));
        }
        let prec = u32::try_from(bytes.len() * 8)
            .map_err(|_| Error::malformed("Paillier modulus", "too long"))?
            .div_ceil(64)
            .max(1)
            * 64;
        let n = BoxedUint::from_be_slice(bytes, prec)
            .map_err(|e| Error::malformed("Paillier modulus", format!("{e:?}")))?;
        Self::from_modulus(&n)
    }

    /// The modulus `n`.
    pub fn modulus(&self) -> &BoxedUint {
        &self.n
    }

    /// `n` as minimal big-endian bytes.
    pub fn modulus_bytes(&self) -> Vec<u8> {
        self.n.to_be_bytes_trimmed_vartime().into_vec()
    }

    /// Bit length of `n`.
    pub fn modulus_bits(&self) -> u32 {
        self.bits
    }

    /// Byte length of `n` (values mod `n` encode in this many bytes, values mod `n²` in twice it).
    pub fn modulus_len(&self) -> usize {
        self.bits.div_ceil(8) as usize
    }

    /// Checks that `c` is a valid ciphertext for this key (`0 < c < n²`, `gcd(c, n) = 1`) and
    /// returns it at the working precision.
    pub fn validate_ciphertext(&self, c: &Ciphertext) -> Result<BoxedUint> {
        let what = "Paillier ciphertext";
        let x = fit(&c.0, self.n2_prec, what)?;
        if x >= self.n_squared {
            return Err(Error::malformed(what, "not below n²"));
        }
        if !self.is_unit_mod_n(&x)? {
            return Err(Error::malformed(what, "not coprime to n"));
        }
        Ok(x)
    }

    /// Decodes a ciphertext from exactly `2 · modulus_len()` big-endian bytes and validates it.
    pub fn ciphertext_from_bytes(&self, bytes: &[u8]) -> Result<Ciphertext> {
        let len = 2 * self.modulus_len();
        if bytes.len() != len {
            return Err(Error::malformed(
                "Paillier ciphertext",
                format!("expected {len} bytes, got {}", bytes.len()),
            ));
        }
        let x = BoxedUint::from_be_slice(bytes, (bytes.len() as u32 * 8).div_ceil(64) * 64)
            .map_err(|e| Error::malformed("Paillier ciphertext", format!("{e:?}")))?;
        let c = Ciphertext(x);
        let x = self.validate_ciphertext(&c)?;
        Ok(Ciphertext(x))
    }

    /// Encodes a ciphertext as exactly `2 · modulus_len()` big-endian bytes.
    pub fn ciphertext_to_bytes(&self, c: &Ciphertext) -> Result<Vec<u8>> {
        let x = self.validate_ciphertext(c)?;
        be_bytes_fixed(&x, 2 * self.modulus_len())
    }

    /// `gcd(x, n) = 1` for a public `x` (variable time).
    fn is_unit_mod_n(&self, x: &BoxedUint) -> Result<bool> {
        let n_nz = nz(&self.n)?;
        let x_mod_n = x.rem_vartime(&n_nz);
        let g = x_mod_n.gcd_vartime(&self.n);
        Ok(bool::from(g.is_one()))
    }

    fn check_plaintext(&self, m: &Plaintext) -> Result<BoxedUint> {
        let x = fit(&m.0, self.n_prec, "Paillier plaintext")?;
        if x >= self.n {
            return Err(perr("plaintext is not below n"));
        }
        Ok(x)
    }

    fn check_randomness(&self, r: &Randomness) -> Result<BoxedUint> {
        let what = "Paillier randomness";
        let x = fit(&r.0, self.n_prec, what)?;
        // r is secret until opened: range and coprimality are checked in constant time.
        let in_range = CtLt::ct_lt(&x, &self.n).and(x.is_nonzero());
        let unit = x.gcd(&self.n).is_one();
        if !in_range.to_bool() {
            return Err(Error::malformed(what, "not in [1, n)"));
        }
        if !unit.to_bool() {
            return Err(Error::malformed(what, "not coprime to n"));
        }
        Ok(x)
    }

    /// A uniformly random unit `r ∈ Z_n^*`.
    pub fn random_nonce<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<Randomness> {
        let n_nz = nz(&self.n)?;
        let mut bridge = RngBridge(rng);
        for _ in 0..MAX_SAMPLING_ATTEMPTS {
            // Rejection sampling: the number of draws leaks nothing about the accepted value.
            let r = BoxedUint::random_mod_vartime(&mut bridge, &n_nz);
            if r.gcd(&self.n).is_one().to_bool() {
                return Ok(Randomness(r));
            }
        }
        Err(perr("could not sample a unit mod n (broken RNG?)"))
    }

    /// `r^n mod n²`, by [`monty::pow_public_exponent`]: dedicated Montgomery squaring and a
    /// sliding window over the bits of `n`. The exponent is public, so the sequence of squarings,
    /// multiplications and table reads depends only on `n`, never on `r`.
    fn rn(&self, r: &BoxedUint) -> Result<BoxedMontyForm> {
        let r = resize(r, self.n2_prec)?;
        let x = BoxedMontyForm::new(r, &self.n2_params);
        let x = to_limbs(x.as_montgomery(), self.n2_limbs.limbs());
        let y = Zeroizing::new(monty::pow_public_exponent(
            &self.n2_limbs,
            &x,
            &self.n2_one,
            |i| self.n.bit_vartime(i),
            self.bits,
        ));
        Ok(BoxedMontyForm::from_montgomery(
            from_limbs(&y, self.n2_prec)?,
            &self.n2_params,
        ))
    }

    /// `g^m = 1 + m·n mod n²` for `m < n` (exact: `m·n + 1 < n²`).
    fn g_pow(&self, m: &BoxedUint) -> Result<BoxedUint> {
        let mn = resize(&m.concatenating_mul(&self.n), self.n2_prec)?;
        Ok(mn.wrapping_add(one(self.n2_prec)))
    }

    /// Encrypts `m ∈ [0, n)` with fresh randomness, returning the ciphertext and the randomness.
    pub fn encrypt<R: RngCore + CryptoRng>(
        &self,
        m: &Plaintext,
        rng: &mut R,
    ) -> Result<(Ciphertext, Randomness)> {
        let r = self.random_nonce(rng)?;
        let c = self.encrypt_with(m, &r)?;
        Ok((c, r))
    }

    /// Encrypts `m` with the given randomness: `c = (1 + m·n) · r^n mod n²`.
    pub fn encrypt_with(&self, m: &Plaintext, r: &Randomness) -> Result<Ciphertext> {
        let m = self.check_plaintext(m)?;
        let r = Zeroizing::new(self.check_randomness(r)?);
        let rn = self.rn(&r)?;
        let gm = BoxedMontyForm::new(self.g_pow(&m)?, &self.n2_params);
        Ok(Ciphertext((rn * gm).retrieve()))
    }

    /// The encryption of 0 with randomness 1 (the ciphertext `1`): the neutral element of
    /// homomorphic addition, used to start a tally. It hides nothing and is meant to be public.
    pub fn trivial_zero(&self) -> Ciphertext {
        Ciphertext(one(self.n2_prec))
    }

    /// Homomorphic addition: `Enc(a)·Enc(b) mod n² = Enc(a + b mod n)`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let a = BoxedMontyForm::new(self.validate_ciphertext(a)?, &self.n2_params);
        let b = BoxedMontyForm::new(self.validate_ciphertext(b)?, &self.n2_params);
        Ok(Ciphertext((a * b).retrieve()))
    }

    /// Homomorphic sum of any number of ciphertexts (the empty sum is `Enc(0; 1) = 1`).
    pub fn sum<'a, I: IntoIterator<Item = &'a Ciphertext>>(&self, cs: I) -> Result<Ciphertext> {
        let mut acc = BoxedMontyForm::one(&self.n2_params);
        for c in cs {
            acc *= BoxedMontyForm::new(self.validate_ciphertext(c)?, &self.n2_params);
        }
        Ok(Ciphertext(acc.retrieve()))
    }

    /// Multiplies the plaintext by a public constant `k ∈ [0, n)`: `Enc(m)^k = Enc(k·m mod n)`.
    pub fn mul_plain(&self, c: &Ciphertext, k: &Plaintext) -> Result<Ciphertext> {
        let c = BoxedMontyForm::new(self.validate_ciphertext(c)?, &self.n2_params);
        let k = self.check_plaintext(k)?;
        Ok(Ciphertext(
            c.pow_bounded_exp(&k, k.bits_vartime()).retrieve(),
        ))
    }

    /// The randomness of a homomorphic sum: `Enc(a; r₁)·Enc(b; r₂) = Enc(a + b; r₁·r₂ mod n)`
    /// (lets a voter or tallier open a sum without the secret key).
    pub fn add_randomness(&self, r1: &Randomness, r2: &Randomness) -> Result<Randomness> {
        let a = Zeroizing::new(self.check_randomness(r1)?);
        let b = Zeroizing::new(self.check_randomness(r2)?);
        Ok(Randomness(a.mul_mod(&b, &nz(&self.n)?)))
    }
}

// ---------------------------------------------------------------------------------------------
// Secret key.

/// A Paillier secret key: the primes `p`, `q` and derived values. Zeroized on drop, never printed
/// by `Debug`, compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    #[zeroize(skip)]
    pk: PublicKey,
    p: BoxedUint,
    q: BoxedUint,
    /// `p²`, `q²`.
    p_squared: BoxedUint,
    q_squared: BoxedUint,
    /// Montgomery moduli `p`, `q`, `p²`, `q²` for [`monty`] (zeroized on drop).
    p_mod: monty::Modulus,
    q_mod: monty::Modulus,
    p2_mod: monty::Modulus,
    q2_mod: monty::Modulus,
    /// `p − 1`, `q − 1` (decryption exponents).
    p_minus_1: BoxedUint,
    q_minus_1: BoxedUint,
    /// `λ = lcm(p − 1, q − 1)`.
    lambda: BoxedUint,
    /// `μ = L(g^λ mod n²)^{−1} = λ^{−1} mod n` (for `g = n + 1`).
    mu: BoxedUint,
    /// `h_p = L_p(g^{p−1} mod p²)^{−1} mod p`, likewise `h_q`.
    hp: BoxedUint,
    hq: BoxedUint,
    /// `q^{−1} mod p` (Garner).
    q_inv_p: BoxedUint,
    /// `n^{−1} mod (p − 1)` and `n^{−1} mod (q − 1)` (randomness recovery).
    dp: BoxedUint,
    dq: BoxedUint,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("paillier::SecretKey")
            .field("pk", &self.pk)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl ConstantTimeEq for SecretKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        ct_eq_uint(&self.p, &other.p) & ct_eq_uint(&self.q, &other.q)
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretKey {}

/// A random safe prime of exactly `bits` bits with its two top bits set.
fn safe_prime<R: RngCore + CryptoRng>(bits: u32, rng: &mut R) -> Result<BoxedUint> {
    let factory = SmallFactorsSieveFactory::<BoxedUint>::new(Flavor::Safe, bits, SetBits::TwoMsb)
        .map_err(|e| perr(format!("prime sieve: {e}")))?;
    let mut bridge = RngBridge(rng);
    sieve_and_find(&mut bridge, factory, |_, c| is_prime(Flavor::Safe, c))
        .map_err(|e| perr(format!("prime generation: {e}")))?
        .ok_or_else(|| perr("prime generation: sieve exhausted"))
}

/// `L_p`-part of CRT decryption: `m mod p = L_p(c^{p−1} mod p²) · h_p mod p`.
fn decrypt_part(
    c: &BoxedUint,
    p: &BoxedUint,
    p_squared: &BoxedUint,
    p2_mod: &monty::Modulus,
    p_minus_1: &BoxedUint,
    hp: &BoxedUint,
) -> Result<BoxedUint> {
    let cp = Zeroizing::new(c.rem(&nz(p_squared)?));
    let x = Zeroizing::new(pow_secret(
        p2_mod,
        &cp,
        p_minus_1,
        p_squared.bits_precision(),
    )?);
    let l = Zeroizing::new(
        x.wrapping_sub(one(x.bits_precision()))
            .wrapping_div(&nz(p)?),
    );
    let l = Zeroizing::new(resize(&l, p.bits_precision())?);
    Ok(l.mul_mod(hp, &nz(p)?))
}

/// `r mod p = (c mod p)^{d_p} mod p`.
fn recover_part(
    c: &BoxedUint,
    p: &BoxedUint,
    p_mod: &monty::Modulus,
    dp: &BoxedUint,
) -> Result<BoxedUint> {
    let cp = Zeroizing::new(c.rem(&nz(p)?));
    pow_secret(p_mod, &cp, dp, p.bits_precision())
}

impl SecretKey {
    /// Generates a key with an `n` of exactly `modulus_bits` bits (even, at least
    /// [`MIN_MODULUS_BITS`]) from two distinct safe primes of `modulus_bits / 2` bits.
    ///
    /// Safe-prime generation dominates: about 1–2 s of CPU for 2048 bits in a release build, with
    /// high variance.
    pub fn generate<R: RngCore + CryptoRng>(modulus_bits: u32, rng: &mut R) -> Result<Self> {
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&modulus_bits)
            || !modulus_bits.is_multiple_of(2)
        {
            return Err(perr(format!(
                "modulus size must be even and in [{MIN_MODULUS_BITS}, {MAX_MODULUS_BITS}] bits, got {modulus_bits}"
            )));
        }
        let half = modulus_bits / 2;
        for _ in 0..MAX_SAMPLING_ATTEMPTS {
            let p = Zeroizing::new(safe_prime(half, rng)?);
            let q = Zeroizing::new(safe_prime(half, rng)?);
            if *p != *q {
                return Self::from_primes(&p, &q);
            }
        }
        Err(perr("could not generate two distinct primes (broken RNG?)"))
    }

    /// Builds a key from two distinct primes of equal bit length (checked with a Baillie–PSW
    /// test) whose product has at least [`MIN_MODULUS_BITS`] bits.
    pub fn from_primes(p: &BoxedUint, q: &BoxedUint) -> Result<Self> {
        let pbits = p.bits_vartime();
        if pbits != q.bits_vartime() {
            return Err(perr("p and q must have the same bit length"));
        }
        if pbits <= CHALLENGE_BITS {
            return Err(perr("primes too small"));
        }
        let pp = pbits.div_ceil(64) * 64;
        let p = Zeroizing::new(resize(p, pp)?);
        let q = Zeroizing::new(resize(q, pp)?);
        if bool::from(ct_eq_uint(&p, &q)) {
            return Err(perr("p and q must be distinct"));
        }
        if !is_prime(Flavor::Any, &*p) || !is_prime(Flavor::Any, &*q) {
            return Err(perr("p or q is not prime"));
        }
        let n = p.concatenating_mul(&*q);
        let pk = PublicKey::from_modulus(&n)?;
        let np = pk.n_prec;

        let p_nz = nz(&p)?;
        let q_nz = nz(&q)?;
        let p_odd = odd(&p)?;
        let q_odd = odd(&q)?;
        let p_squared = p.concatenating_mul(&*p);
        let q_squared = q.concatenating_mul(&*q);
        let p_mod = monty_modulus(&p)?;
        let q_mod = monty_modulus(&q)?;
        let p2_mod = monty_modulus(&p_squared)?;
        let q2_mod = monty_modulus(&q_squared)?;
        let p_minus_1 = p.wrapping_sub(one(pp));
        let q_minus_1 = q.wrapping_sub(one(pp));

        // λ = lcm(p−1, q−1) = (p−1)(q−1) / gcd(p−1, q−1); μ = λ^{−1} mod n.
        let g = Zeroizing::new(p_minus_1.gcd(&q_minus_1));
        let phi = Zeroizing::new(p_minus_1.concatenating_mul(&q_minus_1));
        let lambda = resize(
            &phi.wrapping_div(&nz(&resize(&g, phi.bits_precision())?)?),
            np,
        )?;
        let mu: Option<BoxedUint> = Option::from(lambda.invert_odd_mod(&odd(&pk.n)?));
        let mu = mu.ok_or_else(|| perr("gcd(λ, n) ≠ 1: invalid primes"))?;

        // h_p = (−q)^{−1} mod p, since L_p((1+n)^{p−1} mod p²) = (p−1)·q ≡ −q (mod p).
        let neg_q_mod_p = Zeroizing::new(q.rem(&p_nz).neg_mod(&p_nz));
        let hp: Option<BoxedUint> = Option::from(neg_q_mod_p.invert_odd_mod(&p_odd));
        let hp = hp.ok_or_else(|| perr("q not invertible mod p"))?;
        let neg_p_mod_q = Zeroizing::new(p.rem(&q_nz).neg_mod(&q_nz));
        let hq: Option<BoxedUint> = Option::from(neg_p_mod_q.invert_odd_mod(&q_odd));
        let hq = hq.ok_or_else(|| perr("p not invertible mod q"))?;
        let q_inv_p: Option<BoxedUint> = Option::from(q.rem(&p_nz).invert_odd_mod(&p_odd));
        let q_inv_p = q_inv_p.ok_or_else(|| perr("q not invertible mod p"))?;

        // d_p = n^{−1} mod (p−1) = q^{−1} mod (p−1), since n ≡ q (mod p−1).
        let pm1_nz = nz(&p_minus_1)?;
        let qm1_nz = nz(&q_minus_1)?;
        let dp: Option<BoxedUint> = Option::from(q.rem(&pm1_nz).invert_mod(&pm1_nz));
        let dp = dp.ok_or_else(|| perr("gcd(n, φ(n)) ≠ 1: invalid primes"))?;
        let dq: Option<BoxedUint> = Option::from(p.rem(&qm1_nz).invert_mod(&qm1_nz));
        let dq = dq.ok_or_else(|| perr("gcd(n, φ(n)) ≠ 1: invalid primes"))?;

        Ok(SecretKey {
            pk,
            p: (*p).clone(),
            q: (*q).clone(),
            p_squared,
            q_squared,
            p_mod,
            q_mod,
            p2_mod,
            q2_mod,
            p_minus_1,
            q_minus_1,
            lambda,
            mu,
            hp,
            hq,
            q_inv_p,
            dp,
            dq,
        })
    }

    /// The matching public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    /// The secret primes `(p, q)`: anyone holding them can decrypt. For storage use
    /// [`SecretKey::to_bytes`] and seal the result.
    pub fn primes(&self) -> (&BoxedUint, &BoxedUint) {
        (&self.p, &self.q)
    }

    /// Decrypts with the Chinese remainder theorem.
    pub fn decrypt(&self, c: &Ciphertext) -> Result<Plaintext> {
        let c = self.pk.validate_ciphertext(c)?;
        let mp = Zeroizing::new(decrypt_part(
            &c,
            &self.p,
            &self.p_squared,
            &self.p2_mod,
            &self.p_minus_1,
            &self.hp,
        )?);
        let mq = Zeroizing::new(decrypt_part(
            &c,
            &self.q,
            &self.q_squared,
            &self.q2_mod,
            &self.q_minus_1,
            &self.hq,
        )?);
        let m = crt(&mp, &mq, &self.p, &self.q, &self.q_inv_p, self.pk.n_prec)?;
        Ok(Plaintext(m))
    }

    /// Decrypts with the textbook formula of seed 000 (Annex A), `m = L(c^λ mod n²) · μ mod n`.
    /// About four times slower than [`SecretKey::decrypt`]; kept as a reference.
    pub fn decrypt_textbook(&self, c: &Ciphertext) -> Result<Plaintext> {
        let c = self.pk.validate_ciphertext(c)?;
        let x = Zeroizing::new(pow_ct(&c, &self.lambda, &self.pk.n2_params));
        let l = x
            .wrapping_sub(one(self.pk.n2_prec))
            .wrapping_div(&nz(&resize(&self.pk.n, self.pk.n2_prec)?)?);
        let l = Zeroizing::new(resize(&l, self.pk.n_prec)?);
        Ok(Plaintext(l.mul_mod(&self.mu, &nz(&self.pk.n)?)))
    }

    /// Recovers the randomness `r` of `c`: `r = (c·g^{−m})^{n^{−1} mod φ(n)} mod n`, computed as
    /// `(c mod p)^{n^{−1} mod (p−1)}` and the same mod `q`, recombined by CRT.
    pub fn recover_randomness(&self, c: &Ciphertext) -> Result<Randomness> {
        let c = self.pk.validate_ciphertext(c)?;
        let rp = Zeroizing::new(recover_part(&c, &self.p, &self.p_mod, &self.dp)?);
        let rq = Zeroizing::new(recover_part(&c, &self.q, &self.q_mod, &self.dq)?);
        Ok(Randomness(crt(
            &rp,
            &rq,
            &self.p,
            &self.q,
            &self.q_inv_p,
            self.pk.n_prec,
        )?))
    }

    /// The proof-of-result for `c`: its plaintext and randomness (seed 000, Annex A,
    /// `(δ, r) := ZKPoR(C, sk)`). Anyone checks it with [`verify_opening`].
    pub fn open(&self, c: &Ciphertext) -> Result<Opening> {
        Ok(Opening {
            m: self.decrypt(c)?,
            r: self.recover_randomness(c)?,
        })
    }

    /// Serializes `p` and `q` for sealed storage:
    /// `"TBPAISK1" ‖ u16be(len p) ‖ p ‖ u16be(len q) ‖ q` (minimal big-endian).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let p = Zeroizing::new(self.p.to_be_bytes_trimmed_vartime().into_vec());
        let q = Zeroizing::new(self.q.to_be_bytes_trimmed_vartime().into_vec());
        let mut out = Zeroizing::new(Vec::with_capacity(12 + p.len() + q.len()));
        out.extend_from_slice(SECRET_KEY_MAGIC);
        for x in [&p, &q] {
            // Lengths are at most MAX_MODULUS_BITS / 8 bytes, so they fit a u16.
            out.extend_from_slice(&(x.len() as u16).to_be_bytes());
            out.extend_from_slice(x);
        }
        out
    }

    /// Parses [`SecretKey::to_bytes`] output and rebuilds the key (re-checking the primes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let what = "Paillier secret key";
        let rest = bytes
            .strip_prefix(SECRET_KEY_MAGIC)
            .ok_or_else(|| Error::malformed(what, "bad magic"))?;
        let mut rest = rest;
        let mut take = || -> Result<Zeroizing<BoxedUint>> {
            if rest.len() < 2 {
                return Err(Error::malformed(what, "truncated"));
            }
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            if len == 0 || len > (MAX_MODULUS_BITS / 16) as usize || rest.len() < 2 + len {
                return Err(Error::malformed(what, "bad prime length"));
            }
            let b = &rest[2..2 + len];
            if b[0] == 0 {
                return Err(Error::malformed(what, "leading zero byte"));
            }
            rest = &rest[2 + len..];
            let prec = (len as u32 * 8).div_ceil(64) * 64;
            BoxedUint::from_be_slice(b, prec)
                .map(Zeroizing::new)
                .map_err(|e| Error::malformed(what, format!("{e:?}")))
        };
        let p = take()?;
        let q = take()?;
        if !rest.is_empty() {
            return Err(Error::malformed(what, "trailing bytes"));
        }
        Self::from_primes(&p, &q)
    }
}

// ---------------------------------------------------------------------------------------------
// Membership proof (Baudron–Fouque–Pointcheval–Stern, PODC 2001).

/// Non-interactive proof that a Paillier ciphertext encrypts one value of a public set
/// `S = {m_1 … m_k}` (Baudron, Fouque, Pointcheval, Stern, "Practical multi-candidate election
/// system", PODC 2001).
///
/// Statement: `c = g^{m_i} · r^n mod n²` for some `i`, with the prover knowing `r`.
/// For each `j ≠ i` the prover simulates: random `e_j ∈ [0, 2^256)`, `v_j ∈ Z_n^*`,
/// `u_j = v_j^n · (g^{m_j}/c)^{e_j} mod n²`; for `i` it commits `u_i = ρ^n mod n²`. The challenge
/// `e ∈ [0, 2^256)` comes from the transcript (`tabella/paillier-membership/v1`, context, `n`, `c`,
/// `S`, all `u_j`); then `e_i = e − Σ_{j≠i} e_j mod 2^256` and `v_i = ρ · r^{e_i} mod n`. The
/// verifier recomputes `u_j = v_j^n · (g^{m_j}/c)^{e_j} mod n²` for all `j`, the challenge, and
/// checks `Σ e_j ≡ e (mod 2^256)`. Special soundness holds because any two accepting challenges
/// differ by less than `2^256`, which is below the smallest prime factor of `n`, so the difference
/// is invertible mod `n` and an `n`-th root of `c/g^{m_j}` can be extracted. (Keys from
/// [`SecretKey::generate`] / [`SecretKey::from_primes`] have two primes of equal length, ≥ 1024
/// bits; a [`PublicKey`] built from a bare modulus cannot be checked for this, so soundness against
/// the key holder additionally assumes an honestly generated key.)
///
/// All branches are computed the same way (the real branch is a simulated one with `e_i = 0`,
/// selected in constant time), so proving time does not depend on `i`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MembershipProof {
    /// `e_1 … e_k`, each below `2^256`.
    #[schema(value_type = Vec<crate::api_schema::BigUintHex>)]
    #[serde(with = "hexint::vec")]
    pub challenges: Vec<BoxedUint>,
    /// `v_1 … v_k`, each in `Z_n^*`.
    #[schema(value_type = Vec<crate::api_schema::BigUintHex>)]
    #[serde(with = "hexint::vec")]
    pub responses: Vec<BoxedUint>,
}

fn check_set(pk: &PublicKey, set: &[Plaintext]) -> Result<Vec<BoxedUint>> {
    if set.is_empty() || set.len() > MAX_SET_SIZE {
        return Err(Error::InvalidParameter(format!(
            "a membership proof needs 1..={MAX_SET_SIZE} values, got {}",
            set.len()
        )));
    }
    set.iter().map(|m| pk.check_plaintext(m)).collect()
}

fn membership_transcript(
    context: &[u8],
    pk: &PublicKey,
    c: &BoxedUint,
    set: &[BoxedUint],
) -> Result<Transcript> {
    let len = pk.modulus_len();
    let mut t = new_transcript(MEMBERSHIP_LABEL, context);
    t.append_message(b"n", &be_bytes_fixed(&pk.n, len)?);
    t.append_message(b"c", &be_bytes_fixed(c, 2 * len)?);
    t.append_u64(b"k", set.len() as u64);
    for m in set {
        t.append_message(b"m", &be_bytes_fixed(m, len)?);
    }
    Ok(t)
}

fn membership_challenge(t: &mut Transcript, pk: &PublicKey, us: &[BoxedUint]) -> Result<BoxedUint> {
    let len = 2 * pk.modulus_len();
    for u in us {
        t.append_message(b"u", &be_bytes_fixed(u, len)?);
    }
    let mut buf = [0u8; (CHALLENGE_BITS / 8) as usize];
    t.challenge_bytes(b"e", &mut buf);
    BoxedUint::from_be_slice(&buf, CHALLENGE_BITS).map_err(|e| perr(format!("{e:?}")))
}

/// `u = v^n · (g^m · c^{−1})^e mod n²` for a branch, in one pass of shared squarings
/// (`e` has [`CHALLENGE_BITS`] bits and is treated as secret: the prover's real branch has `e = 0`).
fn branch_commitment(
    pk: &PublicKey,
    v: &BoxedUint,
    m: &BoxedUint,
    c_inv: &BoxedMontyForm,
    e: &BoxedUint,
) -> Result<BoxedUint> {
    let base = (BoxedMontyForm::new(pk.g_pow(m)?, &pk.n2_params) * c_inv).retrieve();
    let md = &pk.n2_limbs;
    let v = to_limbs(&resize(v, pk.n2_prec)?, md.limbs());
    let vm = Zeroizing::new(md.enter_mont(&v));
    let bm = md.enter_mont(&to_limbs(&base, md.limbs()));
    let e = to_limbs(e, (CHALLENGE_BITS / 64) as usize);
    let u = Zeroizing::new(monty::pow2(
        md,
        &vm,
        |i| pk.n.bit_vartime(i),
        pk.bits,
        &bm,
        &e,
    ));
    from_limbs(&md.leave_mont(&u), pk.n2_prec)
}

impl MembershipProof {
    /// Proves that `c = Enc(set[index]; r)`.
    ///
    /// Errors if `index` is out of range or an input is malformed. A wrong witness yields a proof
    /// that fails verification.
    #[allow(clippy::too_many_arguments)]
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        pk: &PublicKey,
        c: &Ciphertext,
        set: &[Plaintext],
        index: usize,
        r: &Randomness,
        rng: &mut R,
    ) -> Result<MembershipProof> {
        let values = check_set(pk, set)?;
        if index >= values.len() {
            return Err(Error::InvalidParameter(format!(
                "witness index {index} out of range for {} values",
                values.len()
            )));
        }
        let cx = pk.validate_ciphertext(c)?;
        let r = Zeroizing::new(pk.check_randomness(r)?);
        let c_inv: Option<BoxedMontyForm> =
            Option::from(BoxedMontyForm::new(cx.clone(), &pk.n2_params).invert());
        let c_inv = c_inv.ok_or_else(|| perr("ciphertext not invertible mod n²"))?;

        let k = values.len();
        let mut es = Vec::with_capacity(k);
        let mut vs = Vec::with_capacity(k);
        let mut us = Vec::with_capacity(k);
        let zero_e = BoxedUint::zero_with_precision(CHALLENGE_BITS);
        let mut rho = Zeroizing::new(BoxedUint::zero_with_precision(pk.n_prec));
        for (j, m) in values.iter().enumerate() {
            let is_real = BChoice::from_u64_eq(j as u64, index as u64);
            let mut e = {
                let mut bridge = RngBridge(&mut *rng);
                BoxedUint::random_bits_with_precision(&mut bridge, CHALLENGE_BITS, CHALLENGE_BITS)
            };
            e.ct_assign(&zero_e, is_real);
            let v = pk.random_nonce(rng)?;
            let v = resize(v.expose(), pk.n_prec)?;
            rho.ct_assign(&v, is_real);
            // u_j = v_j^n · (g^{m_j}/c)^{e_j}; for the real branch e_j = 0 so u_i = ρ^n.
            us.push(branch_commitment(pk, &v, m, &c_inv, &e)?);
            es.push(e);
            vs.push(v);
        }
        let mut t = membership_transcript(context, pk, &cx, &values)?;
        let e = membership_challenge(&mut t, pk, &us)?;
        let e_real = es.iter().fold(e, |acc, ej| acc.wrapping_sub(ej));
        // v_i = ρ · r^{e_i} mod n (e_i has CHALLENGE_BITS bits, constant-time exponentiation).
        let n_params = BoxedMontyParams::new_vartime(odd(&pk.n)?);
        let v_real = (BoxedMontyForm::new((*rho).clone(), &n_params)
            * BoxedMontyForm::new((*r).clone(), &n_params)
                .pow_bounded_exp(&e_real, CHALLENGE_BITS))
        .retrieve();
        for j in 0..k {
            let is_real = BChoice::from_u64_eq(j as u64, index as u64);
            es[j].ct_assign(&e_real, is_real);
            vs[j].ct_assign(&v_real, is_real);
        }
        Ok(MembershipProof {
            challenges: es,
            responses: vs,
        })
    }

    /// Verifies that `c` encrypts one value of `set` under `pk`, for `context`.
    pub fn verify(
        &self,
        context: &[u8],
        pk: &PublicKey,
        c: &Ciphertext,
        set: &[Plaintext],
    ) -> Result<()> {
        let values = check_set(pk, set)?;
        let k = values.len();
        if self.challenges.len() != k || self.responses.len() != k {
            return Err(Error::InvalidProof(
                "paillier membership proof: wrong number of branches",
            ));
        }
        let cx = pk.validate_ciphertext(c)?;
        let c_inv: Option<BoxedMontyForm> =
            Option::from(BoxedMontyForm::new(cx.clone(), &pk.n2_params).invert());
        let c_inv = c_inv.ok_or_else(|| perr("ciphertext not invertible mod n²"))?;
        let mut us = Vec::with_capacity(k);
        let mut sum = BoxedUint::zero_with_precision(CHALLENGE_BITS);
        for ((m, e), v) in values.iter().zip(&self.challenges).zip(&self.responses) {
            let e = e.try_resize(CHALLENGE_BITS).ok_or(Error::InvalidProof(
                "paillier membership proof: challenge out of range",
            ))?;
            let v = pk.check_randomness(&Randomness(v.clone())).map_err(|_| {
                Error::InvalidProof("paillier membership proof: response not in Z_n^*")
            })?;
            us.push(branch_commitment(pk, &v, m, &c_inv, &e)?);
            sum = sum.wrapping_add(&e);
        }
        let mut t = membership_transcript(context, pk, &cx, &values)?;
        let e = membership_challenge(&mut t, pk, &us)?;
        if bool::from(ct_eq_uint(&e, &sum)) {
            Ok(())
        } else {
            Err(Error::InvalidProof(
                "paillier membership proof: challenges do not sum to the Fiat-Shamir challenge",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use std::sync::OnceLock;

    /// One 2048-bit key per test binary (safe primes from a seeded RNG, ≈ 1–3 s).
    fn key() -> &'static SecretKey {
        static KEY: OnceLock<SecretKey> = OnceLock::new();
        KEY.get_or_init(|| SecretKey::generate(2048, &mut rng(0x7ab3_11a0)).unwrap())
    }

    fn pk() -> &'static PublicKey {
        key().public_key()
    }

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    fn pt(m: u64) -> Plaintext {
        Plaintext::from(m)
    }

    fn set(values: &[u64]) -> Vec<Plaintext> {
        values.iter().map(|v| pt(*v)).collect()
    }

    #[test]
    fn key_shape() {
        assert_eq!(pk().modulus_bits(), 2048);
        let (p, q) = key().primes();
        assert!(is_prime(Flavor::Safe, p) && is_prime(Flavor::Safe, q));
        assert_eq!((p.bits_vartime(), q.bits_vartime()), (1024, 1024));
        assert_eq!(pk().modulus_len(), 256);
        assert_eq!(
            &p.concatenating_mul(q).resize_unchecked(2048),
            pk().modulus()
        );
    }

    #[test]
    fn rejects_small_or_bad_moduli() {
        let small = BoxedUint::one_with_precision(2048)
            .shl_vartime(2046)
            .unwrap()
            .wrapping_add(one(2048));
        assert!(matches!(
            PublicKey::from_modulus(&small),
            Err(Error::Paillier(_))
        ));
        let even = pk().modulus().wrapping_add(one(2048));
        assert!(PublicKey::from_modulus(&even).is_err());
        assert!(SecretKey::generate(1024, &mut rng(1)).is_err());
        assert!(SecretKey::generate(2047, &mut rng(1)).is_err());
        let (p, q) = key().primes();
        assert!(SecretKey::from_primes(p, p).is_err());
        let not_prime = p.wrapping_add(BoxedUint::from(2u64).resize_unchecked(1024));
        assert!(SecretKey::from_primes(&not_prime, q).is_err());
    }

    #[test]
    fn encrypt_decrypt_and_textbook_agree() {
        let mut rng = rng(2);
        let n_minus_1 = Plaintext::new(pk().modulus().wrapping_sub(one(2048)));
        for m in [pt(0), pt(1), pt(2), pt(u64::MAX), n_minus_1] {
            let (c, r) = pk().encrypt(&m, &mut rng).unwrap();
            assert_eq!(key().decrypt(&c).unwrap(), m);
            assert_eq!(key().decrypt_textbook(&c).unwrap(), m);
            assert_eq!(pk().encrypt_with(&m, &r).unwrap(), c);
            assert_eq!(key().recover_randomness(&c).unwrap(), r);
            verify_opening(pk(), &c, &m, &r).unwrap();
        }
        let too_big = Plaintext::new(pk().modulus().clone());
        assert!(pk().encrypt(&too_big, &mut rng).is_err());
    }

    #[test]
    fn opening_rejects_wrong_values() {
        let mut rng = rng(3);
        let (c, r) = pk().encrypt(&pt(5), &mut rng).unwrap();
        let opening = key().open(&c).unwrap();
        assert_eq!(opening.m, pt(5));
        opening.verify(pk(), &c).unwrap();
        assert!(matches!(
            verify_opening(pk(), &c, &pt(6), &r),
            Err(Error::InvalidProof(_))
        ));
        let r2 = pk().random_nonce(&mut rng).unwrap();
        assert!(matches!(
            verify_opening(pk(), &c, &pt(5), &r2),
            Err(Error::InvalidProof(_))
        ));
        let zero_r = Randomness::new(BoxedUint::zero());
        assert!(verify_opening(pk(), &c, &pt(5), &zero_r).is_err());
    }

    #[test]
    fn homomorphic_ops() {
        let mut rng = rng(4);
        let (a, ra) = pk().encrypt(&pt(7), &mut rng).unwrap();
        let (b, rb) = pk().encrypt(&pt(35), &mut rng).unwrap();
        let s = pk().add(&a, &b).unwrap();
        assert_eq!(key().decrypt(&s).unwrap(), pt(42));
        let rs = pk().add_randomness(&ra, &rb).unwrap();
        verify_opening(pk(), &s, &pt(42), &rs).unwrap();
        assert_eq!(key().recover_randomness(&s).unwrap(), rs);
        assert_eq!(pk().sum([&a, &b, &a]).unwrap(), pk().add(&s, &a).unwrap());
        assert_eq!(key().decrypt(&pk().sum([]).unwrap()).unwrap(), pt(0));
        let k = pk().mul_plain(&a, &pt(6)).unwrap();
        assert_eq!(key().decrypt(&k).unwrap(), pt(42));
        // n − 1 acts as −1.
        let minus_one = Plaintext::new(pk().modulus().wrapping_sub(one(2048)));
        let neg = pk().mul_plain(&a, &minus_one).unwrap();
        assert_eq!(key().decrypt(&pk().add(&neg, &b).unwrap()).unwrap(), pt(28));
    }

    #[test]
    fn ciphertext_validation() {
        let n = pk().modulus();
        let n2 = n.concatenating_mul(n);
        let bad = [
            BoxedUint::zero(),
            n.clone(),
            key().primes().0.clone(),
            n2.clone(),
            n2.wrapping_add(one(4096)),
        ];
        for x in bad {
            let c = Ciphertext(x);
            assert!(matches!(
                pk().validate_ciphertext(&c),
                Err(Error::Malformed { .. })
            ));
            assert!(key().decrypt(&c).is_err());
            assert!(pk().add(&c, &c).is_err());
        }
        let (c, _) = pk().encrypt(&pt(1), &mut rng(5)).unwrap();
        let bytes = pk().ciphertext_to_bytes(&c).unwrap();
        assert_eq!(bytes.len(), 512);
        assert_eq!(pk().ciphertext_from_bytes(&bytes).unwrap(), c);
        assert!(pk().ciphertext_from_bytes(&bytes[1..]).is_err());
        let mut long = vec![0u8];
        long.extend_from_slice(&bytes);
        assert!(pk().ciphertext_from_bytes(&long).is_err());
        assert!(pk().ciphertext_from_bytes(&[0xff; 512]).is_err());
    }

    #[test]
    fn hex_decoding_is_strict() {
        for bad in ["", "0", "0x01", "AB", "00ab", "zz", "abc"] {
            let json = format!("\"{bad}\"");
            assert!(serde_json::from_str::<Ciphertext>(&json).is_err(), "{bad}");
        }
        let c: Ciphertext = serde_json::from_str("\"00\"").unwrap();
        assert!(pk().validate_ciphertext(&c).is_err());
        assert_eq!(serde_json::to_string(&pt(0)).unwrap(), "\"00\"");
        assert_eq!(serde_json::to_string(&pt(256)).unwrap(), "\"0100\"");
        // A public key below 2048 bits is rejected at decoding.
        assert!(serde_json::from_str::<PublicKey>(r#"{"n":"0f"}"#).is_err());
        let json = serde_json::to_string(pk()).unwrap();
        assert_eq!(&serde_json::from_str::<PublicKey>(&json).unwrap(), pk());
    }

    #[test]
    fn secret_key_bytes_debug_eq() {
        let sk = key();
        let bytes = sk.to_bytes();
        let back = SecretKey::from_bytes(&bytes).unwrap();
        assert_eq!(&back, sk);
        assert!(bool::from(back.ct_eq(sk)));
        let dbg = format!("{sk:?}");
        assert!(dbg.contains("redacted"));
        let p_hex = hexint::encode(sk.primes().0);
        assert!(!dbg.contains(&p_hex[..32]));
        assert!(!format!("{:?}", Randomness::new(BoxedUint::from(77u64))).contains("77"));
        assert!(SecretKey::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert!(SecretKey::from_bytes(&trailing).is_err());
        let mut bad_magic = bytes.to_vec();
        bad_magic[0] ^= 1;
        assert!(SecretKey::from_bytes(&bad_magic).is_err());
        let mut flipped = bytes.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 2; // q + 2 or q − 2: not prime (or a different key)
        assert!(SecretKey::from_bytes(&flipped)
            .map(|k| &k != sk)
            .unwrap_or(true));
    }

    #[test]
    fn membership_bits_and_ten_values() {
        let mut rng = rng(6);
        let bits = set(&[0, 1]);
        for (i, m) in [0u64, 1].iter().enumerate() {
            let (c, r) = pk().encrypt(&pt(*m), &mut rng).unwrap();
            let p = MembershipProof::prove(b"ctx", pk(), &c, &bits, i, &r, &mut rng).unwrap();
            p.verify(b"ctx", pk(), &c, &bits).unwrap();
            assert!(p.verify(b"other", pk(), &c, &bits).is_err());
            assert!(p.verify(b"ctx", pk(), &c, &set(&[1, 0])).is_err());
        }
        let ten = set(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let (c, r) = pk().encrypt(&pt(7), &mut rng).unwrap();
        let p = MembershipProof::prove(b"ctx", pk(), &c, &ten, 7, &r, &mut rng).unwrap();
        p.verify(b"ctx", pk(), &c, &ten).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: MembershipProof = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        back.verify(b"ctx", pk(), &c, &ten).unwrap();
        assert!(MembershipProof::prove(b"ctx", pk(), &c, &ten, 10, &r, &mut rng).is_err());
        assert!(MembershipProof::prove(b"ctx", pk(), &c, &[], 0, &r, &mut rng).is_err());
        assert!(p.verify(b"ctx", pk(), &c, &ten[..9]).is_err());
    }

    #[test]
    fn membership_rejects_false_statement() {
        let mut rng = rng(7);
        let (c, r) = pk().encrypt(&pt(2), &mut rng).unwrap();
        let bits = set(&[0, 1]);
        for idx in 0..2 {
            let p = MembershipProof::prove(b"x", pk(), &c, &bits, idx, &r, &mut rng).unwrap();
            assert!(matches!(
                p.verify(b"x", pk(), &c, &bits),
                Err(Error::InvalidProof(_))
            ));
        }
    }

    fn tampered(p: &MembershipProof) -> Vec<MembershipProof> {
        let mut out = Vec::new();
        for j in 0..p.challenges.len() {
            let mut t = p.clone();
            t.challenges[j] = t.challenges[j].wrapping_add(one(CHALLENGE_BITS));
            out.push(t);
            let mut t = p.clone();
            t.responses[j] = t.responses[j].wrapping_add(one(t.responses[j].bits_precision()));
            out.push(t);
        }
        let mut t = p.clone();
        t.challenges.swap(0, 1);
        out.push(t);
        let mut t = p.clone();
        t.responses.pop();
        out.push(t);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn prop_homomorphism(a in any::<u64>(), b in any::<u64>(), seed in any::<u64>()) {
            let mut rng = rng(seed);
            let (ca, _) = pk().encrypt(&pt(a), &mut rng).unwrap();
            let (cb, _) = pk().encrypt(&pt(b), &mut rng).unwrap();
            let sum = key().decrypt(&pk().add(&ca, &cb).unwrap()).unwrap();
            let expected = BoxedUint::from(a).concatenating_add(BoxedUint::from(b));
            prop_assert_eq!(sum.as_uint(), &expected);
        }

        #[test]
        fn prop_serde_round_trips(m in any::<u64>(), seed in any::<u64>()) {
            let mut rng = rng(seed);
            let (c, _) = pk().encrypt(&pt(m), &mut rng).unwrap();
            let back: Ciphertext = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
            prop_assert_eq!(&back, &c);
            let opening = key().open(&c).unwrap();
            let back: Opening = serde_json::from_str(&serde_json::to_string(&opening).unwrap()).unwrap();
            prop_assert_eq!(&back, &opening);
            back.verify(pk(), &c).unwrap();
            let pk_back: PublicKey = serde_json::from_str(&serde_json::to_string(pk()).unwrap()).unwrap();
            prop_assert_eq!(&pk_back, pk());
        }

        #[test]
        fn prop_proof_json_round_trip(m in 0u64..3, seed in any::<u64>()) {
            let mut rng = rng(seed);
            let s = set(&[0, 1, 2]);
            let (c, r) = pk().encrypt(&pt(m), &mut rng).unwrap();
            let p = MembershipProof::prove(b"json", pk(), &c, &s, m as usize, &r, &mut rng).unwrap();
            let json = serde_json::to_string(&p).unwrap();
            let back: MembershipProof = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &p);
            prop_assert!(back.verify(b"json", pk(), &c, &s).is_ok());
            let c_back: Ciphertext = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
            prop_assert!(back.verify(b"json", pk(), &c_back, &s).is_ok());
        }

        #[test]
        fn prop_randomness_recovery(m in any::<u64>(), seed in any::<u64>()) {
            let mut rng = rng(seed);
            let (c, r) = pk().encrypt(&pt(m), &mut rng).unwrap();
            let opening = key().open(&c).unwrap();
            prop_assert_eq!(&opening.r, &r);
            prop_assert_eq!(opening.m.to_u64(), Some(m));
        }

        #[test]
        fn prop_membership_complete_and_sound(
            values in proptest::collection::btree_set(0u64..1000, 2..5),
            pick in any::<prop::sample::Index>(),
            outside in 1000u64..2000,
            seed in any::<u64>(),
        ) {
            let mut rng = rng(seed);
            let values: Vec<u64> = values.into_iter().collect();
            let s = set(&values);
            let i = pick.index(values.len());
            let (c, r) = pk().encrypt(&pt(values[i]), &mut rng).unwrap();
            let p = MembershipProof::prove(b"ctx", pk(), &c, &s, i, &r, &mut rng).unwrap();
            prop_assert!(p.verify(b"ctx", pk(), &c, &s).is_ok());
            prop_assert!(p.verify(b"ctx2", pk(), &c, &s).is_err());
            for t in tampered(&p) {
                prop_assert!(t.verify(b"ctx", pk(), &c, &s).is_err());
            }
            // A ciphertext of a value outside the set: no index gives a valid proof.
            let (c_out, r_out) = pk().encrypt(&pt(outside), &mut rng).unwrap();
            let p_out = MembershipProof::prove(b"ctx", pk(), &c_out, &s, i, &r_out, &mut rng).unwrap();
            prop_assert!(p_out.verify(b"ctx", pk(), &c_out, &s).is_err());
            // The valid proof does not transfer to another ciphertext.
            prop_assert!(p.verify(b"ctx", pk(), &c_out, &s).is_err());
        }
    }
}
