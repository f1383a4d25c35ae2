//! The group: Ristretto255 (RFC 9496) from `curve25519-dalek` 4.1, and the secret-scalar wrapper
//! every secret in this crate is kept in.

use core::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

pub use curve25519_dalek::ristretto::RistrettoPoint as Point;
pub use curve25519_dalek::scalar::Scalar as GroupScalar;

/// The standard generator `G` of Ristretto255.
pub const G: RistrettoPoint = RISTRETTO_BASEPOINT_POINT;

/// A second generator `H` with unknown discrete log relative to `G`, derived by hashing to the
/// group (RFC 9496 §4.3.4 one-way map over SHA-512 of a fixed label). Used for Pedersen commitments.
pub fn generator_h() -> RistrettoPoint {
    RistrettoPoint::hash_from_bytes::<Sha512>(b"tabella/generator/H/v1")
}

/// Draws a uniformly random scalar from a cryptographic RNG.
pub fn random_scalar<R: RngCore + CryptoRng>(rng: &mut R) -> Scalar {
    Scalar::random(rng)
}

/// Hashes domain-separated input to a scalar (SHA-512, reduced mod ℓ).
pub fn hash_to_scalar(domain: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    h.update((domain.len() as u64).to_le_bytes());
    h.update(domain);
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let out: [u8; 64] = h.finalize().into();
    Scalar::from_bytes_mod_order_wide(&out)
}

/// A secret scalar: zeroized on drop, never printed, compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretScalar(Scalar);

impl SecretScalar {
    /// Wraps a scalar that must stay secret.
    pub fn new(s: Scalar) -> Self {
        SecretScalar(s)
    }
    /// Draws a fresh random secret.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        SecretScalar(Scalar::random(rng))
    }
    /// Exposes the scalar for arithmetic. Callers must not store or print it.
    pub fn expose(&self) -> &Scalar {
        &self.0
    }
    /// Canonical little-endian bytes (for sealed storage only).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// Decodes a canonical secret scalar.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        crate::encoding::scalar_from_bytes(bytes).map(SecretScalar)
    }
}

impl fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretScalar(<redacted>)")
    }
}

impl ConstantTimeEq for SecretScalar {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for SecretScalar {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}
impl Eq for SecretScalar {}
