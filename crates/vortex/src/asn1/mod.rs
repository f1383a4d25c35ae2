//! The ASN.1 module of draft-gwerder-messagevortexmain-10 (Appendix A.1–A.7) as DER types.
//!
//! The specification followed here is docs/VORTEX.md §2 (tables 2.1–2.4), which transcribes the
//! draft's modules; where in doubt the draft's ASN.1 is normative. Every module is
//! `DEFINITIONS EXPLICIT TAGS`, so every `[n]` is an **explicit context-specific** tag: the encoder
//! writes a constructed wrapper around the complete inner TLV, and tagged CHOICE alternatives are
//! explicit too.
//!
//! Use [`decode`] and [`encode`] rather than `der`'s own `from_der`/`to_der`: they add the
//! canonical check (re-encode and compare bytes), reject trailing bytes and run [`Validate`],
//! which enforces every `SIZE` and value bound of the ASN.1.
//!
//! Representation choices:
//! - `INTEGER` with a bound inside `0..=2^32−1` → `u32` (the bound itself is checked by
//!   [`Validate`]); signed or unbounded `INTEGER` → `i64` (values outside `i64` cannot be
//!   decoded and are reported as [`DecodeErrorKind::Der`]).
//! - `ENUMERATED` → a `#[repr(u32)]` Rust enum; unknown values are decoding errors.
//! - Key material (`SymmetricKey.key`, `AsymmetricKey.privateKey`, passphrases) →
//!   [`SecretOctets`], wiped on drop, redacted in `Debug`, compared in constant time.
//! - `REAL` (only in `RequirementPaymentRequired.ammount`) → [`Real`], the raw DER content octets,
//!   because `der`'s `REAL` support is behind a feature this crate does not enable.

use core::fmt;

use der::{Decode, Encode, Reader, SliceReader};
use zeroize::Zeroizing;

pub mod ciphers;
pub mod helpers;
pub mod nonprotocol;
pub mod operations;
pub mod replies;
pub mod requests;
pub mod requirements;
pub mod schema;

pub use ciphers::{
    AlgParameters, AsymAlgSpec, AsymmetricAlgorithm, AsymmetricKey, CipherMode, CipherPadding,
    CipherSpec, CipherUsage, EcCurveType, MacAlgorithm, MacAlgorithmSpec, PrngAlgorithmSpec,
    PrngType, SecretOctets, SymAlgSpec, SymmetricAlgorithm, SymmetricKey,
};
pub use helpers::{
    AbsoluteUsagePeriod, BlendingParameter, BlendingSpec, NodeSpec, Protocol, RelativeUsagePeriod,
    UsagePeriod,
};
pub use nonprotocol::{
    IdentityReplayBlock, IdentityReplayStore, IdentityStore, IdentityStoreBlock,
    MemoryPayloadChunk, MessageInner, MessagePrefix, VortexMessage,
};
pub use operations::{
    AbsoluteSizeBlock, AddRedundancyOperation, DecryptPayloadOperation, EncryptPayloadOperation,
    MapBlockOperation, MergePayloadOperation, PayloadOperation, PercentSizeBlock,
    RemoveRedundancyOperation, Size, SizeBlock, SplitPayloadOperation,
};
pub use replies::{
    ReplyCapability, ReplyCurrentQuota, ReplyNodes, ReplyUpgrade, SpecialBlock, StatusBlock,
    StatusCode,
};
pub use requests::{
    HeaderRequest, HeaderRequestCapability, HeaderRequestIdentity,
    HeaderRequestIncreaseMessageQuota, HeaderRequestIncreaseTransferQuota, HeaderRequestNodes,
    HeaderRequestQuota, HeaderRequestReplaceIdentity, HeaderRequestUpgrade, IdentityReplacement,
};
pub use requirements::{
    Currency, Real, RequirementBlock, RequirementPaymentRequired, RequirementPuzzleRequired,
};
pub use schema::{
    HeaderBlock, InnerHeader, InnerMessageBlock, InnerPrefix, InnerRouting, PrefixBlock,
    ReplyBlock, RoutingBlock, RoutingCombo,
};

/// `maxSerial` (A.1): the largest header serial, 2^32−1.
pub const MAX_SERIAL: u32 = u32::MAX;
/// `maxNumOfRequests` (A.1): requests per header.
pub const MAX_NUM_OF_REQUESTS: usize = 8;
/// `maxDurationOfProcessing` (A.1): seconds a combo may wait, 86400.
pub const MAX_DURATION_OF_PROCESSING: u32 = 86_400;
/// `minWorkspaceID` (A.1): first ID of the shared workspace.
pub const MIN_WORKSPACE_ID: u32 = 32_768;
/// `maxWorkspaceId` (A.1): the largest workspace ID.
pub const MAX_WORKSPACE_ID: u32 = 65_535;
/// `maxRoutingBlks` (A.1): routing combos per routing block.
pub const MAX_ROUTING_BLKS: usize = 127;
/// `maxNumOfReplays` (A.1): the largest `maxReplays`, and peer keys / mPrefixes per combo.
pub const MAX_NUM_OF_REPLAYS: u32 = 127;
/// `maxPayloadBlks` (A.1): payload chunks per message and mappings per routing block.
pub const MAX_PAYLOAD_BLKS: usize = 127;
/// `maxTimeCachedProof` (A.1), seconds (defined by the draft, used by no type).
pub const MAX_TIME_CACHED_PROOF: u32 = 86_400;
/// `maxAssemblyInstr` (A.1): payload operations per combo.
pub const MAX_ASSEMBLY_INSTR: usize = 255;
/// `maxGFSize` (A.1 Operations): the largest Galois field exponent ω.
pub const MAX_GF_SIZE: u32 = 16;
/// `maxChunkSize` (A.1 Operations): ±(2^32−1) bounds absolute chunk sizes.
pub const MAX_CHUNK_SIZE: i64 = 4_294_967_295;
/// `maxNumberOfParameter` (A.6 Helpers): blending parameters per BlendingSpec.
pub const MAX_NUMBER_OF_PARAMETER: usize = 127;
/// `PuzzleIdentifier` (A.1) is an OCTET STRING of at most this many bytes.
pub const MAX_PUZZLE_IDENTIFIER_LEN: usize = 32;

/// Why bytes are not a valid DER encoding of a MessageVortex type, or why a value may not be
/// encoded (docs/VORTEX.md §2 "Codec rules").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The `der` crate rejected the bytes (wrong tag, bad length, truncated, unknown ENUMERATED
    /// value, integer overflow, ...); the text is its message with the byte position.
    Der(String),
    /// A complete value was decoded but bytes follow it.
    TrailingBytes {
        /// Bytes the value took.
        consumed: usize,
        /// Bytes given.
        total: usize,
    },
    /// The bytes decode, but re-encoding the value gives different bytes: not DER.
    NotCanonical,
    /// An INTEGER is outside the range the ASN.1 allows.
    OutOfRange {
        /// `Type.field` of the offending value.
        field: &'static str,
        /// The value found.
        value: i128,
        /// The smallest allowed value.
        min: i128,
        /// The largest allowed value.
        max: i128,
    },
    /// A `SIZE` constraint (OCTET STRING length, number of SEQUENCE OF elements) is violated.
    BadSize {
        /// `Type.field` of the offending value.
        field: &'static str,
        /// The length found.
        len: usize,
        /// The smallest allowed length.
        min: usize,
        /// The largest allowed length.
        max: usize,
    },
    /// A value is malformed in a way the other kinds do not describe (e.g. a `REAL` that is not
    /// in DER form).
    Invalid {
        /// `Type.field` of the offending value.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl DecodeError {
    /// An error of the given kind.
    pub fn new(kind: DecodeErrorKind) -> Self {
        DecodeError { kind }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DecodeErrorKind::Der(why) => write!(f, "DER error: {why}"),
            DecodeErrorKind::TrailingBytes { consumed, total } => write!(
                f,
                "trailing bytes: the value ends after {consumed} of {total} bytes"
            ),
            DecodeErrorKind::NotCanonical => write!(f, "not a canonical DER encoding"),
            DecodeErrorKind::OutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} = {value} is outside {min}..={max}"),
            DecodeErrorKind::BadSize {
                field,
                len,
                min,
                max,
            } => write!(f, "{field} has size {len}, outside SIZE({min}..{max})"),
            DecodeErrorKind::Invalid { field, reason } => write!(f, "{field}: {reason}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<der::Error> for DecodeError {
    fn from(e: der::Error) -> Self {
        DecodeError::new(DecodeErrorKind::Der(e.to_string()))
    }
}

/// The SIZE and value bounds of the ASN.1 that DER itself does not enforce.
pub trait Validate {
    /// `Ok` when every bound of this value and of everything inside it holds.
    fn validate(&self) -> Result<(), DecodeError>;
}

impl<T: Validate> Validate for Option<T> {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Some(v) => v.validate(),
            None => Ok(()),
        }
    }
}

/// Decodes a DER value of type `T`: no trailing bytes, canonical (re-encoding gives the same
/// bytes) and every bound of the ASN.1 respected. Never panics.
pub fn decode<T>(bytes: &[u8]) -> Result<T, DecodeError>
where
    T: for<'a> Decode<'a, Error = der::Error> + Encode + Validate,
{
    let mut reader = SliceReader::new(bytes)?;
    let value = T::decode(&mut reader)?;
    if !reader.is_finished() {
        let consumed = usize::try_from(reader.position()).unwrap_or(0);
        return Err(DecodeError::new(DecodeErrorKind::TrailingBytes {
            consumed,
            total: bytes.len(),
        }));
    }
    // The re-encoding may hold key material: wipe it afterwards.
    let again = Zeroizing::new(value.to_der()?);
    if again.as_slice() != bytes {
        return Err(DecodeError::new(DecodeErrorKind::NotCanonical));
    }
    value.validate()?;
    Ok(value)
}

/// Validates `value` and encodes it as DER.
pub fn encode<T>(value: &T) -> Result<Vec<u8>, DecodeError>
where
    T: Encode + Validate,
{
    value.validate()?;
    Ok(value.to_der()?)
}

/// Checks `min <= value <= max` for the INTEGER `field`.
pub(crate) fn check_range<V>(
    field: &'static str,
    value: V,
    min: i128,
    max: i128,
) -> Result<(), DecodeError>
where
    V: Into<i128>,
{
    let value = value.into();
    if value < min || value > max {
        return Err(DecodeError::new(DecodeErrorKind::OutOfRange {
            field,
            value,
            min,
            max,
        }));
    }
    Ok(())
}

/// Checks `min <= len <= max` for the SIZE constraint of `field`.
pub(crate) fn check_size(
    field: &'static str,
    len: usize,
    min: usize,
    max: usize,
) -> Result<(), DecodeError> {
    if len < min || len > max {
        return Err(DecodeError::new(DecodeErrorKind::BadSize {
            field,
            len,
            min,
            max,
        }));
    }
    Ok(())
}

/// Checks the SIZE of the SEQUENCE OF `field` and validates each element.
pub(crate) fn check_seq<T: Validate>(
    field: &'static str,
    items: &[T],
    min: usize,
    max: usize,
) -> Result<(), DecodeError> {
    check_size(field, items.len(), min, max)?;
    items.iter().try_for_each(Validate::validate)
}

/// Checks a workspace ID that is read (`INTEGER (0..maxWorkspaceID)`).
pub(crate) fn check_source_id(field: &'static str, id: u32) -> Result<(), DecodeError> {
    check_range(field, id, 0, MAX_WORKSPACE_ID.into())
}

/// Checks a workspace ID that is written. The ASN.1 says `INTEGER (1..maxWorkspaceID)`, but
/// §7.1.2 and §2.9 deliver a message to the user by writing ID 0, which nothing could do under
/// that bound; we allow 0 (docs/VORTEX.md D-28).
pub(crate) fn check_target_id(field: &'static str, id: u32) -> Result<(), DecodeError> {
    check_range(field, id, 0, MAX_WORKSPACE_ID.into())
}

/// Implements [`Validate`] as "nothing to check" for types without bounds.
macro_rules! no_bounds {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::asn1::Validate for $t {
            fn validate(&self) -> Result<(), $crate::asn1::DecodeError> {
                Ok(())
            }
        })*
    };
}
pub(crate) use no_bounds;
