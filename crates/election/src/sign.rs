//! Officials' signatures (ed25519, RFC 8032) over signed payloads.
//!
//! A signed action carries the exact JSON text it signs (`payload`), so a verifier in any language
//! checks the signature over those bytes and only then parses them; nothing depends on
//! re-serializing JSON identically.

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::ed25519;
use zeroize::ZeroizeOnDrop;

use crate::error::{Error, Result};

/// An official's public key (ed25519), written as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfficialKey(pub VerifyingKey);

impl fmt::Debug for OfficialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OfficialKey({})", hex::encode(self.0.as_bytes()))
    }
}

tabella_crypto::schema_via!(OfficialKey, tabella_crypto::api_schema::Ed25519KeyHex);

impl Serialize for OfficialKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.as_bytes()))
    }
}

impl<'de> Deserialize<'de> for OfficialKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OfficialKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

impl OfficialKey {
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self> {
        ed25519::verifying_key_from_hex(s, "official key")
            .map(OfficialKey)
            .map_err(Error::Malformed)
    }

    /// Verifies `sig` over `domain || 0x00 || payload` (strict RFC 8032 verification).
    pub fn verify(&self, domain: &str, payload: &[u8], sig: &SignatureHex) -> Result<()> {
        if ed25519::verify(&self.0, domain, payload, sig) {
            Ok(())
        } else {
            Err(Error::Unauthorized(
                "signature does not verify under the claimed key".into(),
            ))
        }
    }
}

/// An official's secret signing key. Zeroized on drop, never printed.
#[derive(Clone, ZeroizeOnDrop)]
pub struct OfficialSecret(SigningKey);

impl fmt::Debug for OfficialSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OfficialSecret(public {:?}, secret <redacted>)",
            self.public()
        )
    }
}

impl OfficialSecret {
    /// Generates a fresh key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        OfficialSecret(SigningKey::generate(rng))
    }
    /// Restores a key from its 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        OfficialSecret(SigningKey::from_bytes(bytes))
    }
    /// The 32 secret bytes (for sealed storage only).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// The public key.
    pub fn public(&self) -> OfficialKey {
        OfficialKey(self.0.verifying_key())
    }
    /// Signs `domain || 0x00 || payload`.
    pub fn sign(&self, domain: &str, payload: &[u8]) -> SignatureHex {
        ed25519::sign(&self.0, domain, payload)
    }
}

/// An ed25519 signature, written as 128 hex characters (domain-separated: [`ed25519`]).
pub use tabella_crypto::ed25519::Signature as SignatureHex;
