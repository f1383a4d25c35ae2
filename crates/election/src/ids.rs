//! Typed identifiers and digests used across the election protocol.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// An election identifier: 1–64 characters of `[a-z0-9-]`, chosen by the council.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ElectionId(String);

tabella_crypto::string_schema!(
    /// The API schema of an [`ElectionId`].
    ElectionIdText,
    "^[a-z0-9-]{1,64}$",
    "An election id: 1-64 characters of a-z, 0-9 and '-'."
);
tabella_crypto::schema_via!(ElectionId, ElectionIdText);

impl ElectionId {
    /// Validates and wraps an election id.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(ElectionId(s))
        } else {
            Err(Error::InvalidManifest(format!(
                "election id {s:?} must be 1-64 characters of a-z, 0-9 and '-'"
            )))
        }
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ElectionId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        ElectionId::new(s)
    }
}
impl From<ElectionId> for String {
    fn from(id: ElectionId) -> String {
        id.0
    }
}
impl fmt::Display for ElectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Index of a polling table in the manifest (0-based).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct TableIndex(pub u16);

/// Index of a contest in the manifest (0-based).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct ContestIndex(pub u16);

/// A 32-byte SHA-256 digest, written as hex (ballot hashes, receipts, commitments).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest32(pub [u8; 32]);

impl Digest32 {
    /// SHA-256 of `domain || 0x00 || data`.
    pub fn of(domain: &str, data: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(domain.as_bytes());
        h.update([0u8]);
        h.update(data);
        Digest32(h.finalize().into())
    }
    /// Hex text.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self> {
        let v = hex::decode(s).map_err(|e| Error::Malformed(format!("digest {s:?}: {e}")))?;
        let arr: [u8; 32] = v
            .try_into()
            .map_err(|_| Error::Malformed(format!("digest {s:?} must be 32 bytes")))?;
        Ok(Digest32(arr))
    }
}

impl fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest32({})", self.to_hex())
    }
}
impl fmt::Display for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
tabella_crypto::string_schema!(
    /// The API schema of a [`Digest32`].
    Digest32Hex,
    tabella_crypto::api_schema::HEX32,
    "A SHA-256 digest (ballot hash, receipt, commitment): 64 hex digits."
);
tabella_crypto::schema_via!(Digest32, Digest32Hex);

impl Serialize for Digest32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> Deserialize<'de> for Digest32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest32::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A hiding commitment to a voter's identity in the whitelist:
/// `SHA-256("tabella/identity/v1" || 0 || salt || identity)`. The whitelist never holds names.
pub type IdentityCommitment = Digest32;

/// Computes an identity commitment from a 32-byte salt and the identity text.
pub fn commit_identity(salt: &[u8; 32], identity: &str) -> IdentityCommitment {
    let mut data = Vec::with_capacity(32 + identity.len());
    data.extend_from_slice(salt);
    data.extend_from_slice(identity.as_bytes());
    Digest32::of("tabella/identity/v1", &data)
}
