//! `MessageVortex-Replies` (draft App. A.4; §7.3; docs/VORTEX.md §2.4): special blocks sent back to
//! a requester.
//!
//! `ReplyUpgrade` exists as a plain type, but no CHOICE can carry it (D-26).

use der::asn1::OctetString;
use der::{Choice, Enumerated, Sequence};

use super::ciphers::{CipherSpec, MacAlgorithm, PrngType};
use super::helpers::{BlendingSpec, NodeSpec};
use super::requirements::RequirementBlock;
use super::{
    check_range, check_seq, check_size, no_bounds, DecodeError, Validate, MAX_GF_SIZE,
    MAX_NUM_OF_REPLAYS,
};

/// `SpecialBlock` (A.4; §7.3): the content of a `\special` payload. Tag `[3]` is unused.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum SpecialBlock {
    /// `capabilities [1] ReplyCapability`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Capabilities(ReplyCapability),
    /// `requirement [2] SEQUENCE (SIZE (1..127)) OF RequirementBlock`.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    Requirement(Vec<RequirementBlock>),
    /// `quota [4] ReplyCurrentQuota`.
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", constructed = "true")]
    Quota(ReplyCurrentQuota),
    /// `nodes [5] ReplyNodes`.
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", constructed = "true")]
    Nodes(ReplyNodes),
    /// `status [99] StatusBlock`.
    #[asn1(context_specific = "99", tag_mode = "EXPLICIT", constructed = "true")]
    Status(StatusBlock),
}

impl Validate for SpecialBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            SpecialBlock::Capabilities(c) => c.validate(),
            SpecialBlock::Requirement(r) => check_seq("SpecialBlock.requirement", r, 1, 127),
            SpecialBlock::Quota(q) => q.validate(),
            SpecialBlock::Nodes(n) => n.validate(),
            SpecialBlock::Status(s) => s.validate(),
        }
    }
}

/// `StatusBlock` (A.4; §7.3.1): an error or status code (no serial or text, D-26).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct StatusBlock {
    /// `code StatusCode`.
    pub code: StatusCode,
}

/// `StatusCode` (A.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum StatusCode {
    /// `ok` (2000).
    Ok = 2000,
    /// `quotaStatus` (2101).
    QuotaStatus = 2101,
    /// `puzzleRequired` (2201).
    PuzzleRequired = 2201,
    /// `transferQuotaExceeded` (3001).
    TransferQuotaExceeded = 3001,
    /// `messageQuotaExceeded` (3002).
    MessageQuotaExceeded = 3002,
    /// `requestedQuotaOutOfBand` (3003).
    RequestedQuotaOutOfBand = 3003,
    /// `identityUnknown` (3101).
    IdentityUnknown = 3101,
    /// `messageChunkMissing` (3201).
    MessageChunkMissing = 3201,
    /// `messageLifeExpired` (3202).
    MessageLifeExpired = 3202,
    /// `puzzleUnknown` (3301).
    PuzzleUnknown = 3301,
    /// `macAlgorithmUnknown` (3801).
    MacAlgorithmUnknown = 3801,
    /// `symmetricAlgorithmUnknown` (3802).
    SymmetricAlgorithmUnknown = 3802,
    /// `asymmetricAlgorithmUnknown` (3803).
    AsymmetricAlgorithmUnknown = 3803,
    /// `prngAlgorithmUnknown` (3804).
    PrngAlgorithmUnknown = 3804,
    /// `missingParameters` (3820).
    MissingParameters = 3820,
    /// `badParameters` (3821).
    BadParameters = 3821,
    /// `hostError` (5001).
    HostError = 5001,
}

/// `ReplyCapability` (A.4; §7.2.4): what a node supports. All fields are untagged.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ReplyCapability {
    /// `cipher SEQUENCE (SIZE (2..256)) OF CipherSpec`.
    pub cipher: Vec<CipherSpec>,
    /// `mac SEQUENCE (SIZE (2..256)) OF MacAlgorithm`.
    pub mac: Vec<MacAlgorithm>,
    /// `prng SEQUENCE (SIZE (2..256)) OF PRNGType`.
    pub prng: Vec<PrngType>,
    /// `maxTransferQuota INTEGER (0..4294967295)`.
    pub max_transfer_quota: u32,
    /// `maxMessageQuota INTEGER (0..4294967295)`.
    pub max_message_quota: u32,
    /// `maxHeaderSerials INTEGER (0..4294967295)`.
    pub max_header_serials: u32,
    /// `maxBuildOps INTEGER (0..4294967295)`.
    pub max_build_ops: u32,
    /// `maxPayloadSize INTEGER (0..4294967295)`.
    pub max_payload_size: u32,
    /// `maxActivePayloads INTEGER (0..4294967295)`.
    pub max_active_payloads: u32,
    /// `maxHeaderLive INTEGER (0..4294967295)`, seconds.
    pub max_header_live: u32,
    /// `maxReplay INTEGER (0..maxNumberOfReplays)`: the undefined name is read as
    /// `maxNumOfReplays` = 127.
    pub max_replay: u32,
    /// `supportedBlendingIn SEQUENCE OF BlendingSpec`.
    pub supported_blending_in: Vec<BlendingSpec>,
    /// `supportedBlendingOut SEQUENCE OF BlendingSpec`.
    pub supported_blending_out: Vec<BlendingSpec>,
    /// `supportedGFSize SEQUENCE OF INTEGER (1..maxGF)`: the undefined `maxGF` is read as
    /// `maxGFSize` = 16.
    pub supported_gf_size: Vec<u32>,
}

impl Validate for ReplyCapability {
    fn validate(&self) -> Result<(), DecodeError> {
        check_seq("ReplyCapability.cipher", &self.cipher, 2, 256)?;
        check_size("ReplyCapability.mac", self.mac.len(), 2, 256)?;
        check_size("ReplyCapability.prng", self.prng.len(), 2, 256)?;
        check_range(
            "ReplyCapability.max_replay",
            self.max_replay,
            0,
            MAX_NUM_OF_REPLAYS.into(),
        )?;
        check_seq(
            "ReplyCapability.supported_blending_in",
            &self.supported_blending_in,
            0,
            usize::MAX,
        )?;
        check_seq(
            "ReplyCapability.supported_blending_out",
            &self.supported_blending_out,
            0,
            usize::MAX,
        )?;
        self.supported_gf_size.iter().try_for_each(|&size| {
            check_range(
                "ReplyCapability.supported_gf_size",
                size,
                1,
                MAX_GF_SIZE.into(),
            )
        })
    }
}

/// `ReplyCurrentQuota` (A.4; §7.2.7).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ReplyCurrentQuota {
    /// `messages INTEGER (0..4294967295)`.
    pub messages: u32,
    /// `size INTEGER (0..4294967295)`, bytes.
    pub size: u32,
}

/// `ReplyNodes` (A.4; §7.2.8).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ReplyNodes {
    /// `node SEQUENCE (SIZE (1..5)) OF NodeSpec`.
    pub node: Vec<NodeSpec>,
}

impl Validate for ReplyNodes {
    fn validate(&self) -> Result<(), DecodeError> {
        check_seq("ReplyNodes.node", &self.node, 1, 5)
    }
}

/// `ReplyUpgrade` (A.4): defined by the draft but carried by no CHOICE (D-26).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ReplyUpgrade {
    /// `version [0] OCTET STRING`.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub version: OctetString,
    /// `identifier [1] OCTET STRING`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    pub identifier: OctetString,
    /// `blob [2] OCTET STRING OPTIONAL`: the software archive.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub blob: Option<OctetString>,
}

no_bounds!(StatusBlock, StatusCode, ReplyCurrentQuota, ReplyUpgrade);
