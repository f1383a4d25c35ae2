//! Validator identities (ed25519, RFC 8032), rosters and quorum signatures.
//!
//! A roster is the ordered set of verifying nodes (seed 001 §5) in charge of a stretch of the
//! skipchain. All validators have equal voting power; a quorum is strictly more than 2/3 of the
//! roster by count, the usual BFT bound for `n ≥ 3f + 1`.

use core::fmt;
use std::collections::BTreeSet;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::ed25519;

use crate::error::{Error, Result};
use crate::types::{hash_parts, RosterHash};

/// A validator's public key, written as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidatorKey(pub VerifyingKey);

impl ValidatorKey {
    /// The 32 key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies `sig` over `domain || 0x00 || message` (strict RFC 8032 verification).
    pub fn verify(&self, domain: &str, message: &[u8], sig: &Signature) -> Result<()> {
        if ed25519::verify(&self.0, domain, message, sig) {
            Ok(())
        } else {
            Err(Error::BadSignature(format!(
                "signature does not verify under validator {}",
                hex::encode(self.to_bytes())
            )))
        }
    }
}

impl PartialOrd for ValidatorKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ValidatorKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

impl fmt::Debug for ValidatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidatorKey({})", hex::encode(self.to_bytes()))
    }
}

tabella_crypto::schema_via!(ValidatorKey, tabella_crypto::api_schema::Ed25519KeyHex);

impl Serialize for ValidatorKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for ValidatorKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ed25519::verifying_key_from_hex(&s, "validator key")
            .map(ValidatorKey)
            .map_err(serde::de::Error::custom)
    }
}

/// A validator's signing key. `ed25519-dalek` zeroizes it on drop; never printed.
#[derive(Clone)]
pub struct ValidatorSecret(SigningKey);

impl fmt::Debug for ValidatorSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidatorSecret(public {:?}, <redacted>)", self.public())
    }
}

impl ValidatorSecret {
    /// Generates a key from the injected RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        ValidatorSecret(SigningKey::generate(rng))
    }
    /// Restores a key from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        ValidatorSecret(SigningKey::from_bytes(bytes))
    }
    /// The public key.
    pub fn public(&self) -> ValidatorKey {
        ValidatorKey(self.0.verifying_key())
    }
    /// The 32 secret bytes, to store the key (the caller zeroizes its copy).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// Signs `domain || 0x00 || message`.
    pub fn sign(&self, domain: &str, message: &[u8]) -> Signature {
        ed25519::sign(&self.0, domain, message)
    }
    /// Signs and tags the signature with this validator's key.
    pub fn sign_as_validator(&self, domain: &str, message: &[u8]) -> ValidatorSignature {
        ValidatorSignature {
            validator: self.public(),
            signature: self.sign(domain, message),
        }
    }
}

/// An ed25519 signature, written as 128 hex characters (domain-separated: [`ed25519`]).
pub use tabella_crypto::ed25519::Signature;

/// A signature tagged with the validator that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidatorSignature {
    /// Who signed.
    pub validator: ValidatorKey,
    /// The signature.
    pub signature: Signature,
}

/// An ordered, duplicate-free, non-empty set of validators with equal voting power.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ValidatorKey>", into = "Vec<ValidatorKey>")]
pub struct Roster {
    validators: Vec<ValidatorKey>,
}

impl utoipa::PartialSchema for Roster {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("ValidatorKey"))
            .min_items(Some(1))
            .unique_items(true)
            .description(Some(
                "The validators in proposer order: distinct, at least one, equal voting power.",
            ))
            .into()
    }
}
impl utoipa::ToSchema for Roster {
    fn schemas(
        out: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema as _;
        out.push(("ValidatorKey".into(), ValidatorKey::schema()));
    }
}

impl TryFrom<Vec<ValidatorKey>> for Roster {
    type Error = Error;
    fn try_from(v: Vec<ValidatorKey>) -> Result<Self> {
        Roster::new(v)
    }
}
impl From<Roster> for Vec<ValidatorKey> {
    fn from(r: Roster) -> Self {
        r.validators
    }
}

impl Roster {
    /// Builds a roster; the order given is kept (it is the proposer rotation order).
    pub fn new(validators: Vec<ValidatorKey>) -> Result<Self> {
        if validators.is_empty() {
            return Err(Error::BadRoster(
                "a roster needs at least one validator".into(),
            ));
        }
        let distinct: BTreeSet<_> = validators.iter().collect();
        if distinct.len() != validators.len() {
            return Err(Error::BadRoster("a validator appears twice".into()));
        }
        Ok(Roster { validators })
    }

    /// The validators, in order.
    pub fn validators(&self) -> &[ValidatorKey] {
        &self.validators
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false: rosters are non-empty by construction.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: &ValidatorKey) -> bool {
        self.validators.contains(key)
    }

    /// Signatures needed: the least count strictly greater than 2/3 of the roster.
    pub fn quorum(&self) -> usize {
        2 * self.validators.len() / 3 + 1
    }

    /// `SHA-256("tabella/ledger/roster/v1" || 0 || n as u32 LE || key_0 || key_1 || ...)`.
    pub fn hash(&self) -> RosterHash {
        let n = (self.validators.len() as u32).to_le_bytes();
        let keys: Vec<[u8; 32]> = self.validators.iter().map(|k| k.to_bytes()).collect();
        let mut parts: Vec<&[u8]> = vec![&n];
        parts.extend(keys.iter().map(|k| k.as_slice()));
        RosterHash(hash_parts("tabella/ledger/roster/v1", &parts))
    }

    /// Checks that strictly more than 2/3 of this roster signed `domain || 0 || message`:
    /// every signature must be by a member and verify; a member counts once. Returns the
    /// number of valid distinct signers.
    pub fn verify_quorum(
        &self,
        domain: &str,
        message: &[u8],
        signatures: &[ValidatorSignature],
    ) -> Result<usize> {
        let mut seen = BTreeSet::new();
        for s in signatures {
            if !self.contains(&s.validator) {
                return Err(Error::BadSignature(format!(
                    "{:?} is not in the roster",
                    s.validator
                )));
            }
            if !seen.insert(s.validator) {
                return Err(Error::BadSignature(format!(
                    "{:?} signed twice",
                    s.validator
                )));
            }
            s.validator.verify(domain, message, &s.signature)?;
        }
        let need = self.quorum();
        if seen.len() < need {
            return Err(Error::NoQuorum {
                got: seen.len(),
                roster: self.len(),
                need,
            });
        }
        Ok(seen.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn keys(n: usize) -> Vec<ValidatorSecret> {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        (0..n)
            .map(|_| ValidatorSecret::generate(&mut rng))
            .collect()
    }

    fn roster(s: &[ValidatorSecret]) -> Roster {
        Roster::new(s.iter().map(|k| k.public()).collect()).unwrap()
    }

    #[test]
    fn quorum_is_more_than_two_thirds() {
        let s = keys(10);
        let q: Vec<usize> = (1..=10).map(|n| roster(&s[..n]).quorum()).collect();
        assert_eq!(q, vec![1, 2, 3, 3, 4, 5, 5, 6, 7, 7]);
        for (n, q) in (1..=10).zip(&q) {
            assert!(3 * q > 2 * n && 3 * (q - 1) <= 2 * n);
        }
    }

    #[test]
    fn rosters_reject_empty_and_duplicates_even_from_json() {
        let s = keys(2);
        assert!(Roster::new(vec![]).is_err());
        assert!(Roster::new(vec![s[0].public(), s[0].public()]).is_err());
        let dup = format!("[\"{0}\",\"{0}\"]", hex::encode(s[0].public().to_bytes()));
        assert!(serde_json::from_str::<Roster>(&dup).is_err());
        let r = roster(&s);
        let back: Roster = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.hash(), r.hash());
        // Order matters (it is the proposer rotation).
        assert_ne!(roster(&[s[1].clone(), s[0].clone()]).hash(), r.hash());
    }

    #[test]
    fn quorum_checks_membership_duplicates_and_signatures() {
        let s = keys(5);
        let r = roster(&s[..4]);
        let sig = |k: &ValidatorSecret, m: &[u8]| k.sign_as_validator("d", m);
        let good: Vec<_> = s[..3].iter().map(|k| sig(k, b"m")).collect();
        assert_eq!(r.verify_quorum("d", b"m", &good).unwrap(), 3);
        assert!(r.verify_quorum("other-domain", b"m", &good).is_err());
        assert!(r.verify_quorum("d", b"m2", &good).is_err());
        let outsider = vec![sig(&s[0], b"m"), sig(&s[1], b"m"), sig(&s[4], b"m")];
        assert!(matches!(
            r.verify_quorum("d", b"m", &outsider),
            Err(Error::BadSignature(_))
        ));
        let twice = vec![sig(&s[0], b"m"), sig(&s[1], b"m"), sig(&s[1], b"m")];
        assert!(r.verify_quorum("d", b"m", &twice).is_err());
        assert!(matches!(
            r.verify_quorum("d", b"m", &good[..2]),
            Err(Error::NoQuorum {
                got: 2,
                need: 3,
                ..
            })
        ));
        assert!(!format!("{:?}", s[0]).contains(&hex::encode(s[0].0.to_bytes())));
    }
}
