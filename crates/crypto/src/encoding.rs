//! Canonical encodings of group elements and scalars, and serde helpers that write them as
//! lowercase hex strings (the election record is JSON meant to be read by other verifiers).
//!
//! Decoding is strict: a point must be a canonical Ristretto255 encoding (RFC 9496 §4.3.1) and a
//! scalar must be canonical (< ℓ). Anything else is rejected with [`Error::Malformed`].

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use crate::error::{Error, Result};

/// Decodes a canonical 32-byte Ristretto255 encoding.
pub fn point_from_bytes(bytes: &[u8]) -> Result<RistrettoPoint> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| {
        Error::malformed(
            "Ristretto point",
            format!("expected 32 bytes, got {}", bytes.len()),
        )
    })?;
    CompressedRistretto(arr)
        .decompress()
        .ok_or_else(|| Error::malformed("Ristretto point", "not a canonical Ristretto255 encoding"))
}

/// Decodes a canonical 32-byte little-endian scalar.
pub fn scalar_from_bytes(bytes: &[u8]) -> Result<Scalar> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| {
        Error::malformed("scalar", format!("expected 32 bytes, got {}", bytes.len()))
    })?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(arr))
        .ok_or_else(|| Error::malformed("scalar", "not a canonical scalar (must be < group order)"))
}

/// Decodes a hex string into bytes, naming `what` in the error.
pub fn hex_decode(what: &'static str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s).map_err(|e| Error::malformed(what, format!("bad hex: {e}")))
}

/// Serde helper: a [`RistrettoPoint`] as 64 hex characters.
pub mod point_hex {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes a point as hex of its compressed encoding.
    pub fn serialize<S: Serializer>(
        p: &RistrettoPoint,
        s: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(p.compress().as_bytes()))
    }

    /// Deserializes a point, rejecting non-canonical encodings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> core::result::Result<RistrettoPoint, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex_decode("Ristretto point", &s).map_err(serde::de::Error::custom)?;
        point_from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Serde helper: a [`Scalar`] as 64 hex characters (little-endian canonical bytes).
pub mod scalar_hex {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes a scalar as hex.
    pub fn serialize<S: Serializer>(x: &Scalar, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(x.as_bytes()))
    }

    /// Deserializes a scalar, rejecting non-canonical encodings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> core::result::Result<Scalar, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = hex_decode("scalar", &s).map_err(serde::de::Error::custom)?;
        scalar_from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// Serde helper: a `Vec<Scalar>` as a list of hex strings.
pub mod scalar_vec_hex {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes scalars as hex strings.
    pub fn serialize<S: Serializer>(xs: &[Scalar], s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_seq(xs.iter().map(|x| hex::encode(x.as_bytes())))
    }

    /// Deserializes scalars, rejecting non-canonical encodings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> core::result::Result<Vec<Scalar>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| {
                let bytes = hex_decode("scalar", s)?;
                scalar_from_bytes(&bytes)
            })
            .collect::<Result<Vec<_>>>()
            .map_err(serde::de::Error::custom)
    }
}

/// Serde helper: a `Vec<RistrettoPoint>` as a list of hex strings.
pub mod point_vec_hex {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes points as hex strings.
    pub fn serialize<S: Serializer>(
        ps: &[RistrettoPoint],
        s: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        s.collect_seq(ps.iter().map(|p| hex::encode(p.compress().as_bytes())))
    }

    /// Deserializes points, rejecting non-canonical encodings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> core::result::Result<Vec<RistrettoPoint>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| {
                let bytes = hex_decode("Ristretto point", s)?;
                point_from_bytes(&bytes)
            })
            .collect::<Result<Vec<_>>>()
            .map_err(serde::de::Error::custom)
    }
}

/// A group element together with its canonical encoding.
///
/// Proof commitments are hashed into Fiat–Shamir transcripts by their encoding and used as points
/// in the verification equations. Keeping both (computed once when proving, or when decoding from
/// the wire) spares the verifier a compression per commitment — about half of batch-verification
/// time for ballot proofs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WirePoint {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl WirePoint {
    /// Wraps a point, computing its encoding.
    pub fn new(point: RistrettoPoint) -> Self {
        WirePoint {
            compressed: point.compress(),
            point,
        }
    }
    /// The point.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }
    /// The canonical encoding.
    pub fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }
    /// Decodes a canonical encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let point = point_from_bytes(bytes)?;
        let mut arr = [0u8; 32];
        arr.copy_from_slice(bytes);
        Ok(WirePoint {
            point,
            compressed: CompressedRistretto(arr),
        })
    }
}

impl From<RistrettoPoint> for WirePoint {
    fn from(p: RistrettoPoint) -> Self {
        WirePoint::new(p)
    }
}

crate::schema_via!(WirePoint, crate::api_schema::PointHex);

impl serde::Serialize for WirePoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.compressed.as_bytes()))
    }
}

impl<'de> serde::Deserialize<'de> for WirePoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        let bytes = hex_decode("Ristretto point", &s).map_err(serde::de::Error::custom)?;
        WirePoint::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}
