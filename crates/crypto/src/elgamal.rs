//! Exponential ElGamal over Ristretto255.
//!
//! `Enc(m; r) = (r·G, m·G + r·Y)` for public key `Y = x·G`. Ciphertexts add homomorphically
//! (`Enc(a) + Enc(b) = Enc(a + b)`), so tallies are sums of ballots. Decryption yields the point
//! `m·G`; the small integer `m` is recovered by baby-step giant-step ([`DlogTable`]) up to a
//! configurable bound (Shanks 1971; tallies up to 10^8 need a 10^4-entry table).
//!
//! This is the scheme of DESIGN.md "Cryptography"; it replaces seed 000's single-authority Paillier
//! as the default so that no single party can decrypt a ballot (the joint key comes from [`crate::dkg`]).

use core::fmt;
use core::ops::{Add, Sub};
use std::collections::HashMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::group::{SecretScalar, G};

/// An ElGamal public key `Y = x·G` (for elections: the trustees' joint key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = crate::api_schema::PointHex)]
pub struct PublicKey(#[serde(with = "crate::encoding::point_hex")] pub RistrettoPoint);

/// An ElGamal secret key `x`. Zeroized on drop; `Debug` prints nothing secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey(SecretScalar);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("elgamal::SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// Generates a fresh key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        SecretKey(SecretScalar::random(rng))
    }
    /// Wraps an existing secret scalar (e.g. a DKG share).
    pub fn from_secret(s: SecretScalar) -> Self {
        SecretKey(s)
    }
    /// The secret scalar.
    pub fn secret(&self) -> &SecretScalar {
        &self.0
    }
    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.expose() * G)
    }
    /// Decrypts to the point `m·G`.
    pub fn decrypt_point(&self, c: &Ciphertext) -> RistrettoPoint {
        c.b - self.0.expose() * c.a
    }
    /// Decrypts and recovers `m` with `table`. Variable time in `m` (baby-step giant-step):
    /// for plaintexts that are public once decrypted (tallies, test checks), not for secrets.
    pub fn decrypt_vartime(&self, c: &Ciphertext, table: &DlogTable) -> Result<u64> {
        table.solve_vartime(&self.decrypt_point(c))
    }
}

/// An ElGamal ciphertext `(a, b) = (r·G, m·G + r·Y)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ciphertext {
    /// `r·G`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub a: RistrettoPoint,
    /// `m·G + r·Y`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub b: RistrettoPoint,
}

impl Ciphertext {
    /// The encryption of zero with randomness zero (the identity for homomorphic addition).
    pub fn zero() -> Self {
        Ciphertext {
            a: RistrettoPoint::identity(),
            b: RistrettoPoint::identity(),
        }
    }
    /// Homomorphic multiplication of the plaintext by a public scalar `k`.
    pub fn scale(&self, k: &Scalar) -> Self {
        Ciphertext {
            a: k * self.a,
            b: k * self.b,
        }
    }
    /// Homomorphic multiplication of the plaintext by a small public integer `k`, by double
    /// and add (a few point additions instead of two full scalar multiplications: the tally
    /// weights of preferential ballots are small). Equal to `self.scale(&Scalar::from(k))`.
    pub fn scale_small(&self, k: u64) -> Self {
        let mut acc = Ciphertext::zero();
        let mut base = *self;
        let mut k = k;
        while k > 0 {
            if k & 1 == 1 {
                acc = acc + base;
            }
            k >>= 1;
            if k > 0 {
                base = base + base;
            }
        }
        acc
    }
    /// Re-randomizes: adds an encryption of zero with fresh randomness; returns the new ciphertext
    /// and the randomness used (callers proving the re-encryption need it).
    pub fn rerandomize<R: RngCore + CryptoRng>(
        &self,
        pk: &PublicKey,
        rng: &mut R,
    ) -> (Self, SecretScalar) {
        let s = SecretScalar::random(rng);
        let c = Ciphertext {
            a: self.a + s.expose() * G,
            b: self.b + s.expose() * pk.0,
        };
        (c, s)
    }
    /// Sums an iterator of ciphertexts.
    pub fn sum<'a>(iter: impl IntoIterator<Item = &'a Ciphertext>) -> Ciphertext {
        iter.into_iter().fold(Ciphertext::zero(), |acc, c| acc + *c)
    }
    /// 64-byte canonical encoding `a || b`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(self.a.compress().as_bytes());
        out[32..].copy_from_slice(self.b.compress().as_bytes());
        out
    }
    /// Decodes a 64-byte canonical encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 64 {
            return Err(Error::malformed(
                "ciphertext",
                format!("expected 64 bytes, got {}", bytes.len()),
            ));
        }
        Ok(Ciphertext {
            a: crate::encoding::point_from_bytes(&bytes[..32])?,
            b: crate::encoding::point_from_bytes(&bytes[32..])?,
        })
    }
}

impl Add for Ciphertext {
    type Output = Ciphertext;
    fn add(self, o: Ciphertext) -> Ciphertext {
        Ciphertext {
            a: self.a + o.a,
            b: self.b + o.b,
        }
    }
}

impl Sub for Ciphertext {
    type Output = Ciphertext;
    fn sub(self, o: Ciphertext) -> Ciphertext {
        Ciphertext {
            a: self.a - o.a,
            b: self.b - o.b,
        }
    }
}

impl PublicKey {
    /// Encrypts `m` with fresh randomness; returns the ciphertext and the randomness
    /// (needed by validity proofs; zeroized when dropped).
    pub fn encrypt<R: RngCore + CryptoRng>(
        &self,
        m: u64,
        rng: &mut R,
    ) -> (Ciphertext, SecretScalar) {
        let r = SecretScalar::random(rng);
        (self.encrypt_with(&Scalar::from(m), &r), r)
    }
    /// Encrypts the scalar `m` with the given randomness `r`.
    pub fn encrypt_with(&self, m: &Scalar, r: &SecretScalar) -> Ciphertext {
        Ciphertext {
            a: r.expose() * G,
            b: m * G + r.expose() * self.0,
        }
    }
}

/// A baby-step giant-step table for discrete logs in `[0, bound)`.
///
/// Build once (cost ≈ √bound point additions) and reuse for every decryption of an election.
pub struct DlogTable {
    baby: HashMap<[u8; 32], u64>,
    step: u64,
    giant: RistrettoPoint,
    bound: u64,
}

impl fmt::Debug for DlogTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DlogTable")
            .field("bound", &self.bound)
            .field("step", &self.step)
            .finish()
    }
}

/// Largest bound accepted by [`DlogTable::new`] (2^40: a 2^20-entry table, ~50 MiB).
pub const MAX_DLOG_BOUND: u64 = 1 << 40;

impl DlogTable {
    /// Builds a table that solves `m·G` for `0 <= m < bound`.
    pub fn new(bound: u64) -> Result<Self> {
        if bound == 0 || bound > MAX_DLOG_BOUND {
            return Err(Error::InvalidParameter(format!(
                "discrete-log bound must be in 1..={MAX_DLOG_BOUND}, got {bound}"
            )));
        }
        let step = bound.isqrt() + u64::from(bound.isqrt() * bound.isqrt() < bound);
        let mut baby = HashMap::with_capacity(step as usize);
        let mut p = RistrettoPoint::identity();
        for j in 0..step {
            baby.insert(p.compress().to_bytes(), j);
            p += G;
        }
        // p == step·G here.
        Ok(DlogTable {
            baby,
            step,
            giant: -p,
            bound,
        })
    }

    /// The exclusive upper bound this table solves.
    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// Finds `m` in `[0, bound)` with `target = m·G`. Variable time: the running time
    /// depends on `m`, so use it only where `m` is public once found.
    pub fn solve_vartime(&self, target: &RistrettoPoint) -> Result<u64> {
        let mut q = *target;
        let mut i = 0u64;
        while i * self.step < self.bound {
            if let Some(j) = self.baby.get(q.compress().as_bytes()) {
                let m = i * self.step + j;
                if m < self.bound {
                    return Ok(m);
                }
                break;
            }
            q += self.giant;
            i += 1;
        }
        Err(Error::DlogNotFound { bound: self.bound })
    }
}

/// Constant-time equality of two ciphertexts (used where a match may reveal a secret choice).
pub fn ciphertexts_ct_eq(x: &Ciphertext, y: &Ciphertext) -> bool {
    (x.a.compress().ct_eq(&y.a.compress()) & x.b.compress().ct_eq(&y.b.compress())).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn encrypt_decrypt_and_add() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let sk = SecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let table = DlogTable::new(1000).unwrap();
        let (c1, _) = pk.encrypt(17, &mut rng);
        let (c2, _) = pk.encrypt(25, &mut rng);
        assert_eq!(sk.decrypt_vartime(&c1, &table).unwrap(), 17);
        assert_eq!(sk.decrypt_vartime(&(c1 + c2), &table).unwrap(), 42);
        assert_eq!(
            sk.decrypt_vartime(&c1.scale(&Scalar::from(3u64)), &table)
                .unwrap(),
            51
        );
        let (c3, _) = c1.rerandomize(&pk, &mut rng);
        assert_ne!(c3, c1);
        assert_eq!(sk.decrypt_vartime(&c3, &table).unwrap(), 17);
    }

    #[test]
    fn dlog_edges() {
        for bound in [1u64, 2, 3, 10, 99, 100, 101, 1_000_003] {
            let t = DlogTable::new(bound).unwrap();
            for m in [0, bound / 2, bound - 1] {
                assert_eq!(
                    t.solve_vartime(&(Scalar::from(m) * G)).unwrap(),
                    m,
                    "bound {bound} m {m}"
                );
            }
            assert!(t.solve_vartime(&(Scalar::from(bound) * G)).is_err());
        }
        assert!(DlogTable::new(0).is_err());
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let sk = SecretKey::generate(&mut rng);
        assert!(!format!("{sk:?}").contains(&hex::encode(sk.secret().to_bytes())));
        assert!(format!("{sk:?}").contains("redacted"));
    }

    #[test]
    fn ciphertext_bytes_roundtrip_and_reject() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let pk = SecretKey::generate(&mut rng).public_key();
        let (c, _) = pk.encrypt(5, &mut rng);
        assert_eq!(Ciphertext::from_bytes(&c.to_bytes()).unwrap(), c);
        let mut bad = c.to_bytes();
        bad[0] ^= 0xff;
        bad[31] = 0xff;
        assert!(Ciphertext::from_bytes(&bad).is_err());
        assert!(Ciphertext::from_bytes(&bad[..10]).is_err());
    }
}
