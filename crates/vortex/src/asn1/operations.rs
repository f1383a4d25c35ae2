//! `MessageVortex-Operations` (draft App. A.1, the Operations module; §7.4; docs/VORTEX.md §2.2):
//! the payload operations of a routing combo's assembly.
//!
//! Workspace IDs that are read are `INTEGER (0..maxWorkspaceID)`, IDs that are written are
//! `INTEGER (1..maxWorkspaceID)`.

use der::{Choice, Sequence};

use super::ciphers::SymmetricKey;
use super::{
    check_range, check_seq, check_source_id, check_target_id, DecodeError, Validate,
    MAX_CHUNK_SIZE, MAX_GF_SIZE,
};

/// `PayloadOperation` (A.1): one step of a combo's assembly.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum PayloadOperation {
    /// `splitPayload [150] SplitPayloadOperation` (§7.4.2).
    #[asn1(context_specific = "150", tag_mode = "EXPLICIT", constructed = "true")]
    Split(SplitPayloadOperation),
    /// `mergePayload [160] MergePayloadOperation` (§7.4.2).
    #[asn1(context_specific = "160", tag_mode = "EXPLICIT", constructed = "true")]
    Merge(MergePayloadOperation),
    /// `encryptPayload [300] EncryptPayloadOperation` (§7.4.3).
    #[asn1(context_specific = "300", tag_mode = "EXPLICIT", constructed = "true")]
    Encrypt(EncryptPayloadOperation),
    /// `decryptPayload [310] DecryptPayloadOperation` (§7.4.3).
    #[asn1(context_specific = "310", tag_mode = "EXPLICIT", constructed = "true")]
    Decrypt(DecryptPayloadOperation),
    /// `addRedundancy [400] AddRedundancyOperation` (§7.4.4).
    #[asn1(context_specific = "400", tag_mode = "EXPLICIT", constructed = "true")]
    AddRedundancy(AddRedundancyOperation),
    /// `removeRedundancy [410] RemoveRedundancyOperation` (§7.4.4).
    #[asn1(context_specific = "410", tag_mode = "EXPLICIT", constructed = "true")]
    RemoveRedundancy(RemoveRedundancyOperation),
    /// `map [1001] MapBlockOperation` (§7.4.1).
    #[asn1(context_specific = "1001", tag_mode = "EXPLICIT", constructed = "true")]
    Map(MapBlockOperation),
}

impl Validate for PayloadOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            PayloadOperation::Split(op) => op.validate(),
            PayloadOperation::Merge(op) => op.validate(),
            PayloadOperation::Encrypt(op) => op.validate(),
            PayloadOperation::Decrypt(op) => op.validate(),
            PayloadOperation::AddRedundancy(op) => op.validate(),
            PayloadOperation::RemoveRedundancy(op) => op.validate(),
            PayloadOperation::Map(op) => op.validate(),
        }
    }
}

/// `SplitPayloadOperation` (A.1; §7.4.2): cuts one payload in two.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SplitPayloadOperation {
    /// `originalId INTEGER (0..maxWorkspaceID)`.
    pub original_id: u32,
    /// `firstSize SizeBlock`: the size of the first piece.
    pub first_size: SizeBlock,
    /// `newFirstId INTEGER (1..maxWorkspaceID)`.
    pub new_first_id: u32,
    /// `newSecondId INTEGER (1..maxWorkspaceID)`.
    pub new_second_id: u32,
}

impl Validate for SplitPayloadOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_source_id("SplitPayloadOperation.original_id", self.original_id)?;
        self.first_size.validate()?;
        check_target_id("SplitPayloadOperation.new_first_id", self.new_first_id)?;
        check_target_id("SplitPayloadOperation.new_second_id", self.new_second_id)
    }
}

/// `MergePayloadOperation` (A.1; §7.4.2): concatenates two payloads.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MergePayloadOperation {
    /// `originalFirstId INTEGER (0..maxWorkspaceID)`.
    pub original_first_id: u32,
    /// `originalSecondId INTEGER (0..maxWorkspaceID)`.
    pub original_second_id: u32,
    /// `newId INTEGER (1..maxWorkspaceID)`.
    pub new_id: u32,
}

impl Validate for MergePayloadOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_source_id(
            "MergePayloadOperation.original_first_id",
            self.original_first_id,
        )?;
        check_source_id(
            "MergePayloadOperation.original_second_id",
            self.original_second_id,
        )?;
        check_target_id("MergePayloadOperation.new_id", self.new_id)
    }
}

/// `EncryptPayloadOperation` (A.1; §7.4.3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncryptPayloadOperation {
    /// `originalId INTEGER (0..maxWorkspaceID)`.
    pub original_id: u32,
    /// `key SymmetricKey`.
    pub key: SymmetricKey,
    /// `newId INTEGER (1..maxWorkspaceID)`.
    pub new_id: u32,
}

impl Validate for EncryptPayloadOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_source_id("EncryptPayloadOperation.original_id", self.original_id)?;
        self.key.validate()?;
        check_target_id("EncryptPayloadOperation.new_id", self.new_id)
    }
}

/// `DecryptPayloadOperation` (A.1; §7.4.3).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct DecryptPayloadOperation {
    /// `originalId INTEGER (0..maxWorkspaceID)`.
    pub original_id: u32,
    /// `key SymmetricKey`.
    pub key: SymmetricKey,
    /// `newId INTEGER (1..maxWorkspaceID)`.
    pub new_id: u32,
}

impl Validate for DecryptPayloadOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_source_id("DecryptPayloadOperation.original_id", self.original_id)?;
        self.key.validate()?;
        check_target_id("DecryptPayloadOperation.new_id", self.new_id)
    }
}

/// `AddRedundancyOperation` (A.1; §7.4.4): Reed–Solomon encoding into `data_stripes +
/// redundancy` blocks, each encrypted with its key; IDs are consecutive from `input_id` /
/// `output_id`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AddRedundancyOperation {
    /// `inputId [16000] INTEGER (0..maxWorkspaceID)`.
    #[asn1(context_specific = "16000", tag_mode = "EXPLICIT")]
    pub input_id: u32,
    /// `dataStripes [16001] INTEGER (1..254)`.
    #[asn1(context_specific = "16001", tag_mode = "EXPLICIT")]
    pub data_stripes: u32,
    /// `redundancy [16002] INTEGER (1..254)`.
    #[asn1(context_specific = "16002", tag_mode = "EXPLICIT")]
    pub redundancy: u32,
    /// `keys [16003] SEQUENCE (SIZE (2..512)) OF SymmetricKey`.
    #[asn1(context_specific = "16003", tag_mode = "EXPLICIT")]
    pub keys: Vec<SymmetricKey>,
    /// `outputId [16004] INTEGER (1..maxWorkspaceID)`.
    #[asn1(context_specific = "16004", tag_mode = "EXPLICIT")]
    pub output_id: u32,
    /// `gfSize [16005] INTEGER (2..maxGFSize)`: ω of GF(2^ω).
    #[asn1(context_specific = "16005", tag_mode = "EXPLICIT")]
    pub gf_size: u32,
}

/// `RemoveRedundancyOperation` (A.1; §7.4.4): identical in shape to [`AddRedundancyOperation`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RemoveRedundancyOperation {
    /// `inputId [16000] INTEGER (0..maxWorkspaceID)`.
    #[asn1(context_specific = "16000", tag_mode = "EXPLICIT")]
    pub input_id: u32,
    /// `dataStripes [16001] INTEGER (1..254)`.
    #[asn1(context_specific = "16001", tag_mode = "EXPLICIT")]
    pub data_stripes: u32,
    /// `redundancy [16002] INTEGER (1..254)`.
    #[asn1(context_specific = "16002", tag_mode = "EXPLICIT")]
    pub redundancy: u32,
    /// `keys [16003] SEQUENCE (SIZE (2..512)) OF SymmetricKey`.
    #[asn1(context_specific = "16003", tag_mode = "EXPLICIT")]
    pub keys: Vec<SymmetricKey>,
    /// `outputId [16004] INTEGER (1..maxWorkspaceID)`.
    #[asn1(context_specific = "16004", tag_mode = "EXPLICIT")]
    pub output_id: u32,
    /// `gfSize [16005] INTEGER (2..maxGFSize)`: ω of GF(2^ω).
    #[asn1(context_specific = "16005", tag_mode = "EXPLICIT")]
    pub gf_size: u32,
}

/// The bounds shared by the two redundancy operations.
fn check_redundancy(
    name: [&'static str; 6],
    input_id: u32,
    data_stripes: u32,
    redundancy: u32,
    keys: &[SymmetricKey],
    output_id: u32,
    gf_size: u32,
) -> Result<(), DecodeError> {
    let [input, stripes, red, key, output, gf] = name;
    check_source_id(input, input_id)?;
    check_range(stripes, data_stripes, 1, 254)?;
    check_range(red, redundancy, 1, 254)?;
    check_seq(key, keys, 2, 512)?;
    check_target_id(output, output_id)?;
    check_range(gf, gf_size, 2, MAX_GF_SIZE.into())
}

impl Validate for AddRedundancyOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_redundancy(
            [
                "AddRedundancyOperation.input_id",
                "AddRedundancyOperation.data_stripes",
                "AddRedundancyOperation.redundancy",
                "AddRedundancyOperation.keys",
                "AddRedundancyOperation.output_id",
                "AddRedundancyOperation.gf_size",
            ],
            self.input_id,
            self.data_stripes,
            self.redundancy,
            &self.keys,
            self.output_id,
            self.gf_size,
        )
    }
}

impl Validate for RemoveRedundancyOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_redundancy(
            [
                "RemoveRedundancyOperation.input_id",
                "RemoveRedundancyOperation.data_stripes",
                "RemoveRedundancyOperation.redundancy",
                "RemoveRedundancyOperation.keys",
                "RemoveRedundancyOperation.output_id",
                "RemoveRedundancyOperation.gf_size",
            ],
            self.input_id,
            self.data_stripes,
            self.redundancy,
            &self.keys,
            self.output_id,
            self.gf_size,
        )
    }
}

/// `MapBlockOperation` (A.1; §7.4.1): copies a payload to another ID.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MapBlockOperation {
    /// `originalId INTEGER (0..maxWorkspaceID)`.
    pub original_id: u32,
    /// `newId INTEGER (1..maxWorkspaceID)`.
    pub new_id: u32,
}

impl Validate for MapBlockOperation {
    fn validate(&self) -> Result<(), DecodeError> {
        check_source_id("MapBlockOperation.original_id", self.original_id)?;
        check_target_id("MapBlockOperation.new_id", self.new_id)
    }
}

/// `SizeBlock` (A.1): `SEQUENCE { size CHOICE { ... } }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SizeBlock {
    /// `size CHOICE { percent [15001], absolute [15101] }`.
    pub size: Size,
}

impl Validate for SizeBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.size.validate()
    }
}

impl Validate for Size {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Size::Percent(p) => p.validate(),
            Size::Absolute(a) => a.validate(),
        }
    }
}

/// The CHOICE inside [`SizeBlock`].
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum Size {
    /// `percent [15001] PercentSizeBlock`.
    #[asn1(
        context_specific = "15001",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Percent(PercentSizeBlock),
    /// `absolute [15101] AbsoluteSizeBlock`.
    #[asn1(
        context_specific = "15101",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Absolute(AbsoluteSizeBlock),
}

/// `PercentSizeBlock` (A.1): the piece [from, to) in percent of the payload (D-11).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PercentSizeBlock {
    /// `fromPercent INTEGER (0..100)`.
    pub from_percent: u32,
    /// `toPercent INTEGER (0..100)`.
    pub to_percent: u32,
}

impl Validate for PercentSizeBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        check_range("PercentSizeBlock.from_percent", self.from_percent, 0, 100)?;
        check_range("PercentSizeBlock.to_percent", self.to_percent, 0, 100)
    }
}

/// `AbsoluteSizeBlock` (A.1): the piece in bytes; a negative `to_absolute` counts from the end.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AbsoluteSizeBlock {
    /// `fromAbsolute INTEGER (0..maxChunkSize)`.
    pub from_absolute: u32,
    /// `toAbsolute INTEGER (minChunkSize..maxChunkSize)`, i.e. ±(2^32−1).
    pub to_absolute: i64,
}

impl Validate for AbsoluteSizeBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        check_range(
            "AbsoluteSizeBlock.to_absolute",
            self.to_absolute,
            -i128::from(MAX_CHUNK_SIZE),
            MAX_CHUNK_SIZE.into(),
        )
    }
}
