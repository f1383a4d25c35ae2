//! Typed identifiers: heights, 32-byte hashes (block, transaction, state, roster), and the
//! domain-separated SHA-256 used for all of them.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A block height (index in the skipchain; genesis is 0).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Height(pub u64);

impl utoipa::PartialSchema for Height {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::UInt64,
            )))
            .minimum(Some(0u64 as usize))
            .maximum(Some(u64::MAX as usize))
            .description(Some("A block height (genesis is 0)."))
            .into()
    }
}
impl utoipa::ToSchema for Height {}

impl Height {
    /// The next height, or `None` on overflow.
    pub fn next(self) -> Option<Height> {
        self.0.checked_add(1).map(Height)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// SHA-256 over `domain || 0x00 || part_0 || part_1 || ...`. Every hash in the ledger goes
/// through here with its own domain label, so no two kinds of object can collide.
pub fn hash_parts(domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0u8]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

macro_rules! hash_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Hex text (64 characters).
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// Parses 64 hex characters.
            pub fn from_hex(s: &str) -> crate::Result<Self> {
                let v = hex::decode(s)
                    .map_err(|e| crate::Error::Encoding(format!("{s:?} is not hex: {e}")))?;
                let a: [u8; 32] = v.try_into().map_err(|_| {
                    crate::Error::Encoding(format!("{s:?} must be 32 bytes (64 hex characters)"))
                })?;
                Ok($name(a))
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                tabella_crypto::api_schema::hex_string(
                    tabella_crypto::api_schema::HEX32,
                    "A SHA-256 hash: 64 hex digits.",
                )
            }
        }
        impl utoipa::ToSchema for $name {}
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_newtype!(
    /// Hash of a block header (the block's identity on the skipchain).
    BlockHash
);
hash_newtype!(
    /// A transaction id: hash of the transaction's canonical bytes.
    TxId
);
hash_newtype!(
    /// Root of a block's transactions Merkle tree (RFC 6962 style).
    TxRoot
);
hash_newtype!(
    /// The application state root after a block (see [`crate::state::LedgerState::state_root`]).
    StateRoot
);
hash_newtype!(
    /// Hash of a validator roster.
    RosterHash
);
hash_newtype!(
    /// Identifies one proof a verifying node judges (e.g. a ballot's transaction id, or the hash
    /// of a statistics proof).
    ProofId
);
hash_newtype!(
    /// A statistics consortium: hash of the transaction that created it
    /// ([`crate::stats::ConsortiumSpec`]).
    ConsortiumId
);
