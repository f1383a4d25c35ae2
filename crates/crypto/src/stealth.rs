//! Stealth keys: the dual-key stealth address scheme of CryptoNote (van Saberhagen, "CryptoNote
//! v2.0", 2013, §4.3) adapted to Ristretto255, for seed 000's "stealth voter wallet" (§2.2) and its
//! registration phase (§4.2.2).
//!
//! * The voter holds a scan secret `a` and a spend secret `b` and publishes the meta-address
//!   `(A, B) = (a·G, b·G)` ([`MetaAddress`]), in the seed's words the "encrypted note with a pubscan
//!   key" sent to the registrar.
//! * The registrar picks a fresh `r` and publishes the stealth key ([`StealthKey`])
//!   `R = r·G`, `P = H(r·A, R)·G + B`, where `H` is [`hash_to_scalar`] with domain
//!   `tabella/stealth/v1`. Nobody but the voter (and the registrar, who made it) can tell that `P`
//!   belongs to `(A, B)`; two stealth keys for the same voter are unlinkable.
//! * The voter scans the published list with its scan secret ([`ScanSecret::scan`]): `a·R = r·A`, so
//!   `H(a·R, R)·G + B == P` exactly for its own keys. Only the scan secret is needed to scan, so a
//!   scanning device never holds the spend secret.
//! * The voter derives the one-time secret `p = H(a·R, R) + b` ([`StealthSecret`]), with `p·G = P`,
//!   and signs ballots with it ([`StealthSecret::sign`]: a Schnorr signature from [`crate::schnorr`]
//!   in the domain `tabella/stealth-sig/v1`).
//!
//! Each stealth key also carries a one-byte *view tag* (as in Monero since 2022): the first byte of a
//! separate domain-separated hash of `(a·R, R)`. Scanning compares the tag before computing
//! `H(·)·G + B`, which skips that fixed-base multiplication for 255/256 of the keys that are not the
//! voter's; it leaks 8 bits about the shared secret to nobody who lacks `a`. Because the tag is
//! supplied by the registrar, [`ScanSecret::owns`] checks a single key without trusting it.

use core::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::group::{hash_to_scalar, SecretScalar};
use crate::schnorr::SchnorrSignature;

/// Domain of the hash `H(r·A, R)` that derives stealth keys.
pub const STEALTH_DOMAIN: &[u8] = b"tabella/stealth/v1";
/// Domain of the view-tag hash.
pub const VIEW_TAG_DOMAIN: &[u8] = b"tabella/stealth/view-tag/v1";
/// Signing domain of signatures by a stealth key.
pub const STEALTH_SIG_DOMAIN: &[u8] = b"tabella/stealth-sig/v1";

/// A voter's public meta-address: scan key `A = a·G` and spend key `B = b·G`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetaAddress {
    /// Scan key `A = a·G`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub scan: RistrettoPoint,
    /// Spend key `B = b·G`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub spend: RistrettoPoint,
}

/// The voter's scan secret `a`. Enough to recognise the voter's stealth keys, not to sign.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct ScanSecret(SecretScalar);

/// The voter's spend secret `b`. Needed (with the scan secret) to sign with a stealth key.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SpendSecret(SecretScalar);

impl fmt::Debug for ScanSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScanSecret(<redacted>)")
    }
}

impl fmt::Debug for SpendSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpendSecret(<redacted>)")
    }
}

/// A stealth key published by the registrar: `R = r·G`, `P = H(r·A, R)·G + B`, and a view tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StealthKey {
    /// The registrar's ephemeral public key `R = r·G`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(rename = "R", with = "crate::encoding::point_hex")]
    pub r: RistrettoPoint,
    /// The one-time public key `P`, the voter's signing key.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(rename = "P", with = "crate::encoding::point_hex")]
    pub p: RistrettoPoint,
    /// One byte of a hash of the shared secret, to speed up scanning.
    pub view_tag: u8,
}

/// The one-time secret `p = H(a·R, R) + b` of a stealth key, with `p·G = P`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StealthSecret {
    secret: SecretScalar,
    #[zeroize(skip)]
    public: RistrettoPoint,
}

impl fmt::Debug for StealthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StealthSecret")
            .field("public", &hex::encode(self.public.compress().as_bytes()))
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn shared_scalar(shared: &CompressedRistretto, r: &CompressedRistretto) -> Scalar {
    hash_to_scalar(STEALTH_DOMAIN, &[shared.as_bytes(), r.as_bytes()])
}

fn view_tag(shared: &CompressedRistretto, r: &CompressedRistretto) -> u8 {
    let mut h = Sha512::new();
    h.update((VIEW_TAG_DOMAIN.len() as u64).to_le_bytes());
    h.update(VIEW_TAG_DOMAIN);
    h.update(shared.as_bytes());
    h.update(r.as_bytes());
    h.finalize()[0]
}

/// Generates a voter's meta-address and its two secrets.
pub fn generate_meta_address<R: RngCore + CryptoRng>(
    rng: &mut R,
) -> (MetaAddress, ScanSecret, SpendSecret) {
    let scan = ScanSecret(SecretScalar::random(rng));
    let spend = SpendSecret(SecretScalar::random(rng));
    let meta = MetaAddress {
        scan: scan.public(),
        spend: spend.public(),
    };
    (meta, scan, spend)
}

impl ScanSecret {
    /// Wraps an existing secret scalar.
    pub fn from_secret(s: SecretScalar) -> Self {
        ScanSecret(s)
    }
    /// The secret scalar (for sealed storage).
    pub fn secret(&self) -> &SecretScalar {
        &self.0
    }
    /// The public scan key `A = a·G`.
    pub fn public(&self) -> RistrettoPoint {
        self.0.expose() * RISTRETTO_BASEPOINT_TABLE
    }

    /// The shared point `a·R`, compressed, and `R` compressed.
    fn shared(&self, key: &StealthKey) -> (CompressedRistretto, CompressedRistretto) {
        ((self.0.expose() * key.r).compress(), key.r.compress())
    }

    fn matches(&self, spend_public: &RistrettoPoint, key: &StealthKey, use_tag: bool) -> bool {
        let (shared, r) = self.shared(key);
        if use_tag && view_tag(&shared, &r) != key.view_tag {
            return false;
        }
        let expected = &shared_scalar(&shared, &r) * RISTRETTO_BASEPOINT_TABLE + spend_public;
        expected.compress().ct_eq(&key.p.compress()).into()
    }

    /// Whether `key` belongs to the meta-address with this scan secret and spend key `spend_public`.
    /// Ignores the view tag.
    pub fn owns(&self, spend_public: &RistrettoPoint, key: &StealthKey) -> bool {
        self.matches(spend_public, key, false)
    }

    /// Returns the indices of the keys in `keys` that belong to this voter, using view tags to skip
    /// most others. Cost per key: one variable-base scalar multiplication and one hash.
    pub fn scan(&self, spend_public: &RistrettoPoint, keys: &[StealthKey]) -> Vec<usize> {
        keys.iter()
            .enumerate()
            .filter(|(_, k)| self.matches(spend_public, k, true))
            .map(|(i, _)| i)
            .collect()
    }
}

impl SpendSecret {
    /// Wraps an existing secret scalar.
    pub fn from_secret(s: SecretScalar) -> Self {
        SpendSecret(s)
    }
    /// The secret scalar (for sealed storage).
    pub fn secret(&self) -> &SecretScalar {
        &self.0
    }
    /// The public spend key `B = b·G`.
    pub fn public(&self) -> RistrettoPoint {
        self.0.expose() * RISTRETTO_BASEPOINT_TABLE
    }
}

impl MetaAddress {
    /// Registrar side: derives a fresh stealth key for this meta-address.
    pub fn derive_stealth_key<R: RngCore + CryptoRng>(&self, rng: &mut R) -> StealthKey {
        let r = SecretScalar::random(rng);
        self.derive_stealth_key_with(&r)
    }

    /// Registrar side: derives the stealth key for the ephemeral secret `r` (which must be fresh and
    /// uniformly random; reuse links the two keys).
    pub fn derive_stealth_key_with(&self, r: &SecretScalar) -> StealthKey {
        let r_point = r.expose() * RISTRETTO_BASEPOINT_TABLE;
        let shared = (r.expose() * self.scan).compress();
        let rc = r_point.compress();
        let p = &shared_scalar(&shared, &rc) * RISTRETTO_BASEPOINT_TABLE + self.spend;
        StealthKey {
            r: r_point,
            p,
            view_tag: view_tag(&shared, &rc),
        }
    }
}

impl StealthKey {
    /// Verifies a signature on `message` by this stealth key.
    pub fn verify(&self, message: &[u8], sig: &SchnorrSignature) -> Result<()> {
        sig.verify(STEALTH_SIG_DOMAIN, message, &self.p)
    }
}

impl StealthSecret {
    /// Derives the one-time secret for `key`; errors if `key` is not this voter's.
    pub fn derive(scan: &ScanSecret, spend: &SpendSecret, key: &StealthKey) -> Result<Self> {
        let (shared, r) = scan.shared(key);
        let p = SecretScalar::new(shared_scalar(&shared, &r) + spend.0.expose());
        let public = p.expose() * RISTRETTO_BASEPOINT_TABLE;
        if !bool::from(public.compress().ct_eq(&key.p.compress())) {
            return Err(Error::InvalidParameter(
                "stealth key does not belong to this voter".into(),
            ));
        }
        Ok(StealthSecret { secret: p, public })
    }

    /// The one-time public key `P = p·G`.
    pub fn public(&self) -> RistrettoPoint {
        self.public
    }

    /// The secret scalar `p`.
    pub fn secret(&self) -> &SecretScalar {
        &self.secret
    }

    /// Signs `message` with the one-time key (Schnorr, domain `tabella/stealth-sig/v1`).
    pub fn sign<R: RngCore + CryptoRng>(&self, message: &[u8], rng: &mut R) -> SchnorrSignature {
        SchnorrSignature::sign(STEALTH_SIG_DOMAIN, message, &self.secret, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::G;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn round_trip_among_many() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let (meta, scan, spend) = generate_meta_address(&mut rng);
        let others: Vec<_> = (0..20).map(|_| generate_meta_address(&mut rng)).collect();
        let mut keys = Vec::new();
        let mut mine = Vec::new();
        for i in 0..100 {
            if i % 37 == 5 {
                mine.push(keys.len());
                keys.push(meta.derive_stealth_key(&mut rng));
            } else {
                keys.push(others[i % others.len()].0.derive_stealth_key(&mut rng));
            }
        }
        assert_eq!(scan.scan(&meta.spend, &keys), mine);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(scan.owns(&meta.spend, k), mine.contains(&i));
        }
        for &i in &mine {
            let s = StealthSecret::derive(&scan, &spend, &keys[i]).unwrap();
            assert_eq!(s.secret().expose() * G, keys[i].p);
            let sig = s.sign(b"ballot", &mut rng);
            keys[i].verify(b"ballot", &sig).unwrap();
            assert!(keys[i].verify(b"ballots", &sig).is_err());
            // a signature under the plain Schnorr domain is not a stealth signature
            let plain = SchnorrSignature::sign(b"other", b"ballot", s.secret(), &mut rng);
            assert!(keys[i].verify(b"ballot", &plain).is_err());
        }
        // another voter finds none of ours and cannot derive our secrets
        let (om, os, osp) = &others[0];
        for &i in &mine {
            assert!(!os.owns(&om.spend, &keys[i]));
            assert!(StealthSecret::derive(os, osp, &keys[i]).is_err());
            // signing with anything the other voter has does not produce a valid signature
            for x in [osp.secret(), os.secret()] {
                let forged = SchnorrSignature::sign(STEALTH_SIG_DOMAIN, b"ballot", x, &mut rng);
                assert!(keys[i].verify(b"ballot", &forged).is_err());
            }
        }
        // stealth keys for the same voter are distinct
        assert_ne!(keys[mine[0]].p, keys[mine[1]].p);
        assert!(StealthSecret::derive(&scan, &spend, &keys[0]).is_err());
    }

    #[test]
    fn wrong_view_tag_hides_key_from_scan_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let (meta, scan, _) = generate_meta_address(&mut rng);
        let mut k = meta.derive_stealth_key(&mut rng);
        k.view_tag = k.view_tag.wrapping_add(1);
        assert!(scan.scan(&meta.spend, &[k]).is_empty());
        assert!(scan.owns(&meta.spend, &k));
    }

    #[test]
    fn secrets_redacted_and_serde() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let (meta, scan, spend) = generate_meta_address(&mut rng);
        for d in [format!("{scan:?}"), format!("{spend:?}")] {
            assert!(d.contains("redacted"));
            assert!(!d.contains(&hex::encode(scan.secret().to_bytes())));
            assert!(!d.contains(&hex::encode(spend.secret().to_bytes())));
        }
        let k = meta.derive_stealth_key(&mut rng);
        let s = StealthSecret::derive(&scan, &spend, &k).unwrap();
        assert!(!format!("{s:?}").contains(&hex::encode(s.secret().to_bytes())));
        let js = serde_json::to_string(&k).unwrap();
        assert!(js.contains("\"R\"") && js.contains("\"P\""));
        assert_eq!(serde_json::from_str::<StealthKey>(&js).unwrap(), k);
        let js = serde_json::to_string(&meta).unwrap();
        assert_eq!(serde_json::from_str::<MetaAddress>(&js).unwrap(), meta);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn prop_derive_matches(seed in any::<u64>()) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let (meta, scan, spend) = generate_meta_address(&mut rng);
            let k = meta.derive_stealth_key(&mut rng);
            prop_assert!(scan.owns(&meta.spend, &k));
            prop_assert_eq!(scan.scan(&meta.spend, &[k]), vec![0]);
            let s = StealthSecret::derive(&scan, &spend, &k).unwrap();
            prop_assert_eq!(s.public(), k.p);
        }
    }
}
