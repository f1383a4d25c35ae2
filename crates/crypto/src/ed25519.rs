//! Domain-separated ed25519 signatures (RFC 8032), shared by the officials' signatures
//! (`tabella-election`) and the validators' (`tabella-ledger`).
//!
//! Every signature covers `domain || 0x00 || message`, so a signature made for one purpose (a
//! ballot-box action, a block vote, a verdict bitmap) never verifies for another; verification is
//! strict (`verify_strict`: canonical encodings, no small-order keys). Keys and signatures are
//! written as lowercase hex in JSON.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The bytes a signature covers: `domain || 0x00 || message`.
pub fn signed_bytes(domain: &str, message: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + message.len());
    m.extend_from_slice(domain.as_bytes());
    m.push(0);
    m.extend_from_slice(message);
    m
}

/// Signs `domain || 0x00 || message`.
pub fn sign(key: &SigningKey, domain: &str, message: &[u8]) -> Signature {
    Signature(key.sign(&signed_bytes(domain, message)))
}

/// Whether `sig` is a valid signature by `key` over `domain || 0x00 || message` (strict RFC 8032
/// verification).
pub fn verify(key: &VerifyingKey, domain: &str, message: &[u8], sig: &Signature) -> bool {
    key.verify_strict(&signed_bytes(domain, message), &sig.0)
        .is_ok()
}

/// Parses a public key from 64 hex characters; the error says what is wrong, naming `what`.
pub fn verifying_key_from_hex(s: &str, what: &str) -> Result<VerifyingKey, String> {
    let v = hex::decode(s).map_err(|e| format!("{what}: {e}"))?;
    let arr: [u8; 32] = v
        .try_into()
        .map_err(|_| format!("{what} must be 32 bytes"))?;
    VerifyingKey::from_bytes(&arr).map_err(|_| format!("{what} is not a valid ed25519 point"))
}

/// An ed25519 signature, written as 128 hex characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub ed25519_dalek::Signature);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0.to_bytes()))
    }
}

crate::schema_via!(Signature, crate::api_schema::SignatureHex);

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(serde::de::Error::custom)?;
        let arr: [u8; 64] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom("signature must be 64 bytes"))?;
        Ok(Signature(ed25519_dalek::Signature::from_bytes(&arr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn signatures_are_bound_to_their_domain_and_message() {
        let key = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let vk = key.verifying_key();
        let sig = sign(&key, "tabella/a", b"m");
        assert!(verify(&vk, "tabella/a", b"m", &sig));
        assert!(!verify(&vk, "tabella/b", b"m", &sig));
        assert!(!verify(&vk, "tabella/a", b"n", &sig));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        let sig = sign(&key, "ab", b"c");
        assert!(!verify(&vk, "a", b"bc", &sig));
        let other = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(2)).verifying_key();
        assert!(!verify(&other, "ab", b"c", &sig));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let key = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(3));
        let sig = sign(&key, "d", b"m");
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
        assert!(serde_json::from_str::<Signature>("\"abcd\"").is_err());
        let hexkey = hex::encode(key.verifying_key().as_bytes());
        assert_eq!(
            verifying_key_from_hex(&hexkey, "key").unwrap(),
            key.verifying_key()
        );
        assert_eq!(
            verifying_key_from_hex("00", "key").unwrap_err(),
            "key must be 32 bytes"
        );
        assert!(verifying_key_from_hex("zz", "key").is_err());
    }
}
