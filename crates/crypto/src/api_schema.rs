//! OpenAPI (JSON Schema) descriptions of the crate's hex encodings, for the node's generated API
//! document (`utoipa`). Each is a named string schema whose `pattern` is exactly what the
//! decoder accepts as text; what text alone cannot say (a point must decompress, a scalar must be
//! below the group order) is in its description, and the node answers such input with a 4xx.
//!
//! Fields serialized with [`crate::encoding`] helpers refer to these types with
//! `#[schema(value_type = ...)]`.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A string schema with a pattern and a description.
pub fn hex_string(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// Declares a unit type standing for a string value (hex, ids) in the API document.
#[macro_export]
macro_rules! string_schema {
    ($(#[$m:meta])* $name:ident, $pattern:expr, $description:expr) => {
        $(#[$m])*
        pub struct $name;
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::api_schema::hex_string($pattern, $description)
            }
        }
        impl ::utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// 64 hex digits (either case): 32 bytes.
pub const HEX32: &str = "^[0-9a-fA-F]{64}$";

string_schema!(
    /// A Ristretto255 group element: its canonical 32-byte encoding (RFC 9496 §4.3.1) in hex.
    PointHex,
    HEX32,
    "A Ristretto255 point: its canonical 32-byte encoding (RFC 9496) as 64 hex digits. \
     A non-canonical encoding is refused."
);
string_schema!(
    /// A scalar modulo the Ristretto255 group order, 32 little-endian bytes in hex.
    ScalarHex,
    HEX32,
    "A scalar mod the Ristretto255 group order: 32 little-endian bytes as 64 hex digits; \
     must be canonical (below the order)."
);
string_schema!(
    /// Bytes of any length, in hex.
    HexBytes,
    "^([0-9a-fA-F]{2})*$",
    "Bytes as hex (two digits per byte)."
);
string_schema!(
    /// An Ed25519 signature (RFC 8032), 64 bytes in hex.
    SignatureHex,
    "^[0-9a-fA-F]{128}$",
    "An Ed25519 signature (RFC 8032): 64 bytes as 128 hex digits."
);
string_schema!(
    /// An Ed25519 public key (RFC 8032), 32 bytes in hex.
    Ed25519KeyHex,
    HEX32,
    "An Ed25519 public key (RFC 8032): 32 bytes as 64 hex digits; must be a valid curve point."
);
string_schema!(
    /// A non-negative integer (Paillier modulus, plaintext, ciphertext) as big-endian hex.
    BigUintHex,
    "^([0-9a-fA-F]{2})+$",
    "A non-negative integer as big-endian hex, even length, at most 1024 bytes."
);
string_schema!(
    /// An RSA public key (blind signatures, RFC 9474): its PKCS#1 DER encoding in hex.
    RsaKeyHex,
    "^([0-9a-fA-F]{2})+$",
    "An RSA public key (RFC 9474 blind signatures): PKCS#1 DER in hex."
);

/// Gives `$name` the API schema of `$repr` (the type it is serialized as): for types with a
/// hand-written or `try_from`/`into` serde encoding.
#[macro_export]
macro_rules! schema_via {
    ($name:ident, $repr:ty) => {
        $crate::schema_via!($name as $name, $repr);
    };
    ($name:ident as $shown:ident, $repr:ty) => {
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                <$repr as ::utoipa::PartialSchema>::schema()
            }
        }
        impl ::utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($shown))
            }
            fn schemas(
                out: &mut Vec<(
                    String,
                    ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$repr as ::utoipa::ToSchema>::schemas(out)
            }
        }
    };
}
string_schema!(
    /// A 32-byte hash in hex.
    Hash32Hex,
    HEX32,
    "A SHA-256 hash: 64 hex digits."
);
