//! Officials' signatures (ed25519, RFC 8032) over signed payloads.
//!
//! A signed action carries the exact JSON text it signs (`payload`), so a verifier in any language
//! checks the signature over those bytes and only then parses them; nothing depends on
//! re-serializing JSON identically.

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
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
        let v = hex::decode(s).map_err(|e| Error::Malformed(format!("official key: {e}")))?;
        let arr: [u8; 32] = v
            .try_into()
            .map_err(|_| Error::Malformed("official key must be 32 bytes".into()))?;
        VerifyingKey::from_bytes(&arr)
            .map(OfficialKey)
            .map_err(|_| Error::Malformed("official key is not a valid ed25519 point".into()))
    }

    /// Verifies `sig` over `domain || payload` (strict RFC 8032 verification).
    pub fn verify(&self, domain: &str, payload: &[u8], sig: &SignatureHex) -> Result<()> {
        let msg = signed_bytes(domain, payload);
        self.0.verify_strict(&msg, &sig.0).map_err(|_| {
            Error::Unauthorized("signature does not verify under the claimed key".into())
        })
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
    /// Signs `domain || payload`.
    pub fn sign(&self, domain: &str, payload: &[u8]) -> SignatureHex {
        SignatureHex(self.0.sign(&signed_bytes(domain, payload)))
    }
}

fn signed_bytes(domain: &str, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + payload.len());
    m.extend_from_slice(domain.as_bytes());
    m.push(0);
    m.extend_from_slice(payload);
    m
}

/// An ed25519 signature, written as 128 hex characters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureHex(pub ed25519_dalek::Signature);

impl fmt::Debug for SignatureHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0.to_bytes()))
    }
}

impl Serialize for SignatureHex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for SignatureHex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(serde::de::Error::custom)?;
        let arr: [u8; 64] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom("signature must be 64 bytes"))?;
        Ok(SignatureHex(ed25519_dalek::Signature::from_bytes(&arr)))
    }
}
