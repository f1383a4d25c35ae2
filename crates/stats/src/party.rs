//! The parties of a query and their signing keys: computing nodes, data providers and the
//! querier sign every message they send with ed25519 (RFC 8032), domain-separated per purpose
//! ([`tabella_crypto::ed25519`]).

use core::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

/// A party's public signing key (a valid ed25519 point, checked when made), written as 64 hex
/// characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartyKey([u8; 32]);

impl PartyKey {
    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The key from its 32 bytes, if they encode a valid point.
    pub fn from_bytes(bytes: [u8; 32]) -> Option<Self> {
        VerifyingKey::from_bytes(&bytes)
            .ok()
            .map(|_| PartyKey(bytes))
    }

    /// The ed25519 key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0).ok()
    }

    /// Whether `sig` is this party's signature on `domain || 0 || message`.
    pub fn verify(
        &self,
        domain: &str,
        message: &[u8],
        sig: &tabella_crypto::ed25519::Signature,
    ) -> bool {
        self.verifying_key()
            .is_some_and(|k| tabella_crypto::ed25519::verify(&k, domain, message, sig))
    }
}

impl PartialOrd for PartyKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PartyKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl fmt::Display for PartyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.0);
        write!(f, "{}…", &h[..16])
    }
}
impl fmt::Debug for PartyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartyKey({})", hex::encode(self.0))
    }
}

tabella_crypto::schema_via!(PartyKey, tabella_crypto::api_schema::Ed25519KeyHex);

impl Serialize for PartyKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}
impl<'de> Deserialize<'de> for PartyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        tabella_crypto::ed25519::verifying_key_from_hex(&s, "party key")
            .map(|k| PartyKey(k.to_bytes()))
            .map_err(serde::de::Error::custom)
    }
}

/// A party's secret signing key (zeroized on drop by `ed25519-dalek`).
#[derive(Clone)]
pub struct PartySecret(SigningKey);

impl fmt::Debug for PartySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartySecret(<redacted> of {})", self.public())
    }
}

impl PartySecret {
    /// A fresh key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        PartySecret(SigningKey::generate(rng))
    }
    /// From the 32 secret bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        PartySecret(SigningKey::from_bytes(bytes))
    }
    /// The 32 secret bytes (to store in a keystore), wiped when dropped.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }
    /// The public key.
    pub fn public(&self) -> PartyKey {
        PartyKey(self.0.verifying_key().to_bytes())
    }
    /// Signs `domain || 0 || message`.
    pub fn sign(&self, domain: &str, message: &[u8]) -> tabella_crypto::ed25519::Signature {
        tabella_crypto::ed25519::sign(&self.0, domain, message)
    }
}
