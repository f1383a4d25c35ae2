//! `MessageVortex-Schema` (draft App. A.1; §4; docs/VORTEX.md §2.1): the blocks of a message.

use der::asn1::OctetString;
use der::{Choice, Sequence};

use super::ciphers::{AsymmetricKey, MacAlgorithmSpec, SymmetricKey};
use super::helpers::{BlendingSpec, UsagePeriod};
use super::operations::{MapBlockOperation, PayloadOperation};
use super::requests::HeaderRequest;
use super::{
    check_range, check_seq, check_size, DecodeError, Validate, MAX_ASSEMBLY_INSTR,
    MAX_DURATION_OF_PROCESSING, MAX_NUM_OF_REPLAYS, MAX_NUM_OF_REQUESTS, MAX_PAYLOAD_BLKS,
    MAX_PUZZLE_IDENTIFIER_LEN, MAX_ROUTING_BLKS,
};

/// `PrefixBlock` (A.1; §4.2): the key of the next layer. Tag `[1]` is unused.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PrefixBlock {
    /// `version [0] INTEGER OPTIONAL`: the protocol version; absent means 1 (§2.11).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub version: Option<i64>,
    /// `key [2] SymmetricKey`.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub key: SymmetricKey,
}

impl Validate for PrefixBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.key.validate()
    }
}

/// `InnerMessageBlock` (A.1; §4.3): the part of a message under the peer key.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct InnerMessageBlock {
    /// `padding OCTET STRING`.
    pub padding: OctetString,
    /// `prefix CHOICE { plain [11011] PrefixBlock, encrypted [11012] OCTET STRING }`.
    pub prefix: InnerPrefix,
    /// `header CHOICE { plain [11021] HeaderBlock, encrypted [11022] OCTET STRING }`.
    pub header: InnerHeader,
    /// `identitySignature OCTET STRING` (may be empty, D-21).
    pub identity_signature: OctetString,
    /// `routing [11001] CHOICE { plain [11031] RoutingBlock, encrypted [11032] OCTET STRING }`.
    #[asn1(context_specific = "11001", tag_mode = "EXPLICIT")]
    pub routing: InnerRouting,
    /// `payload SEQUENCE (SIZE (0..maxPayloadBlks)) OF OCTET STRING`.
    pub payload: Vec<OctetString>,
}

impl Validate for InnerMessageBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.prefix.validate()?;
        self.header.validate()?;
        self.routing.validate()?;
        check_size(
            "InnerMessageBlock.payload",
            self.payload.len(),
            0,
            MAX_PAYLOAD_BLKS,
        )
    }
}

/// The `prefix` CHOICE of [`InnerMessageBlock`] (the CPREFIX).
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum InnerPrefix {
    /// `plain [11011] PrefixBlock`.
    #[asn1(
        context_specific = "11011",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Plain(PrefixBlock),
    /// `encrypted [11012] OCTET STRING`.
    #[asn1(
        context_specific = "11012",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Encrypted(OctetString),
}

/// The `header` CHOICE of [`InnerMessageBlock`] (the ASN.1 spells the second name `encyrpted`).
// The plain variant is the large one and the common one in tests and debug dumps; `der` has
// no `FixedTag` for `Box<T>`, so it is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum InnerHeader {
    /// `plain [11021] HeaderBlock` (debug/internal use).
    #[asn1(
        context_specific = "11021",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Plain(HeaderBlock),
    /// `encyrpted [11022] OCTET STRING`.
    #[asn1(
        context_specific = "11022",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Encrypted(OctetString),
}

/// The `routing` CHOICE of [`InnerMessageBlock`] (inside its `[11001]` wrapper).
// The plain variant is the large one and the common one in tests and debug dumps; `der` has
// no `FixedTag` for `Box<T>`, so it is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum InnerRouting {
    /// `plain [11031] RoutingBlock`.
    #[asn1(
        context_specific = "11031",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Plain(RoutingBlock),
    /// `encyrpted [11032] OCTET STRING`.
    #[asn1(
        context_specific = "11032",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Encrypted(OctetString),
}

impl Validate for InnerPrefix {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            InnerPrefix::Plain(p) => p.validate(),
            InnerPrefix::Encrypted(_) => Ok(()),
        }
    }
}

impl Validate for InnerHeader {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            InnerHeader::Plain(h) => h.validate(),
            InnerHeader::Encrypted(_) => Ok(()),
        }
    }
}

impl Validate for InnerRouting {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            InnerRouting::Plain(r) => r.validate(),
            InnerRouting::Encrypted(_) => Ok(()),
        }
    }
}

/// `HeaderBlock` (A.1; §4.3.2.1): the sender's ephemeral identity, replay data and requests.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderBlock {
    /// `identityKey AsymmetricKey`.
    pub identity_key: AsymmetricKey,
    /// `serial INTEGER (0..maxSerial)`.
    pub serial: u32,
    /// `maxReplays INTEGER (0..maxNumOfReplays)`: total uses = 1 + maxReplays (D-19).
    pub max_replays: u32,
    /// `valid UsagePeriod`.
    pub valid: UsagePeriod,
    /// `signAlgorithm MacAlgorithmSpec`.
    pub sign_algorithm: MacAlgorithmSpec,
    /// `requests SEQUENCE (SIZE (0..maxNumOfRequests)) OF HeaderRequest` (D-23).
    pub requests: Vec<HeaderRequest>,
    /// `requestReplyBlock RoutingCombo OPTIONAL`.
    #[asn1(optional = "true")]
    pub request_reply_block: Option<RoutingCombo>,
    /// `identifier [12201] PuzzleIdentifier OPTIONAL` (OCTET STRING SIZE(0..32); D-17).
    #[asn1(context_specific = "12201", tag_mode = "EXPLICIT", optional = "true")]
    pub identifier: Option<OctetString>,
    /// `proofOfWork [12202] OCTET STRING OPTIONAL`.
    #[asn1(context_specific = "12202", tag_mode = "EXPLICIT", optional = "true")]
    pub proof_of_work: Option<OctetString>,
}

impl HeaderBlock {
    /// The `PuzzleIdentifier` for a requirement's INTEGER identifier: its 4-byte big-endian
    /// encoding (D-17).
    pub fn puzzle_identifier(identifier: u32) -> Result<OctetString, DecodeError> {
        Ok(OctetString::new(identifier.to_be_bytes().to_vec())?)
    }
}

impl Validate for HeaderBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.identity_key.validate()?;
        check_range(
            "HeaderBlock.max_replays",
            self.max_replays,
            0,
            MAX_NUM_OF_REPLAYS.into(),
        )?;
        self.valid.validate()?;
        self.sign_algorithm.validate()?;
        check_seq(
            "HeaderBlock.requests",
            &self.requests,
            0,
            MAX_NUM_OF_REQUESTS,
        )?;
        self.request_reply_block.validate()?;
        if let Some(id) = &self.identifier {
            check_size(
                "HeaderBlock.identifier",
                id.as_bytes().len(),
                0,
                MAX_PUZZLE_IDENTIFIER_LEN,
            )?;
        }
        Ok(())
    }
}

/// `RoutingBlock` (A.1; §4.3.2.2): the combos to run and the mappings into the workspace.
///
/// **D-4**: `mappings` and the optional `replyBlock` both carry tag `[332]`; we keep that on the
/// wire. It decodes by position: `mappings` is mandatory and takes the first `[332]`, a second
/// `[332]` is the reply block.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RoutingBlock {
    /// `routing [331] SEQUENCE (SIZE (0..maxRoutingBlks)) OF RoutingCombo`.
    #[asn1(context_specific = "331", tag_mode = "EXPLICIT")]
    pub routing: Vec<RoutingCombo>,
    /// `mappings [332] SEQUENCE (SIZE (0..maxPayloadBlks)) OF MapBlockOperation`.
    #[asn1(context_specific = "332", tag_mode = "EXPLICIT")]
    pub mappings: Vec<MapBlockOperation>,
    /// `replyBlock [332] SEQUENCE { murb, maxReplay, validity } OPTIONAL` (same tag, D-4).
    #[asn1(context_specific = "332", tag_mode = "EXPLICIT", optional = "true")]
    pub reply_block: Option<ReplyBlock>,
}

impl Validate for RoutingBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        check_seq("RoutingBlock.routing", &self.routing, 0, MAX_ROUTING_BLKS)?;
        check_seq("RoutingBlock.mappings", &self.mappings, 0, MAX_PAYLOAD_BLKS)?;
        self.reply_block.validate()
    }
}

/// The anonymous `replyBlock` SEQUENCE of [`RoutingBlock`]: a (multi-use) reply block for error
/// messages to the quota owner (§2.10).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ReplyBlock {
    /// `murb RoutingCombo`.
    pub murb: RoutingCombo,
    /// `maxReplay INTEGER` (unbounded in the ASN.1).
    pub max_replay: i64,
    /// `validity UsagePeriod`.
    pub validity: UsagePeriod,
}

impl Validate for ReplyBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.murb.validate()?;
        self.validity.validate()
    }
}

/// `RoutingCombo` (A.1; §7.5): when and to whom to send what is assembled how. The i-th use
/// takes `peer_key[i]` and `m_prefix[i]`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RoutingCombo {
    /// `minProcessTime INTEGER (0..maxDurationOfProcessing)`, seconds.
    pub min_process_time: u32,
    /// `maxProcessTime INTEGER (0..maxDurationOfProcessing)`, seconds.
    pub max_process_time: u32,
    /// `peerKey [401] SEQUENCE (1..maxNumOfReplays) OF SymmetricKey OPTIONAL` (the ASN.1 lacks
    /// the `OF`).
    #[asn1(context_specific = "401", tag_mode = "EXPLICIT", optional = "true")]
    pub peer_key: Option<Vec<SymmetricKey>>,
    /// `recipient [402] BlendingSpec`.
    #[asn1(context_specific = "402", tag_mode = "EXPLICIT")]
    pub recipient: BlendingSpec,
    /// `mPrefix [403] SEQUENCE (1..maxNumOfReplays) OF OCTET STRING OPTIONAL` (under the host
    /// key, D-25).
    #[asn1(context_specific = "403", tag_mode = "EXPLICIT", optional = "true")]
    pub m_prefix: Option<Vec<OctetString>>,
    /// `cPrefix [404] OCTET STRING OPTIONAL`.
    #[asn1(context_specific = "404", tag_mode = "EXPLICIT", optional = "true")]
    pub c_prefix: Option<OctetString>,
    /// `header [405] OCTET STRING OPTIONAL`.
    #[asn1(context_specific = "405", tag_mode = "EXPLICIT", optional = "true")]
    pub header: Option<OctetString>,
    /// `routing [406] OCTET STRING OPTIONAL`.
    #[asn1(context_specific = "406", tag_mode = "EXPLICIT", optional = "true")]
    pub routing: Option<OctetString>,
    /// `assembly [407] SEQUENCE (SIZE (0..maxAssemblyInstr)) OF PayloadOperation`.
    #[asn1(context_specific = "407", tag_mode = "EXPLICIT")]
    pub assembly: Vec<PayloadOperation>,
    /// `validity [408] UsagePeriod OPTIONAL`.
    #[asn1(context_specific = "408", tag_mode = "EXPLICIT", optional = "true")]
    pub validity: Option<UsagePeriod>,
}

impl Validate for RoutingCombo {
    fn validate(&self) -> Result<(), DecodeError> {
        let max_time = MAX_DURATION_OF_PROCESSING.into();
        check_range(
            "RoutingCombo.min_process_time",
            self.min_process_time,
            0,
            max_time,
        )?;
        check_range(
            "RoutingCombo.max_process_time",
            self.max_process_time,
            0,
            max_time,
        )?;
        let max_uses = MAX_NUM_OF_REPLAYS as usize;
        if let Some(keys) = &self.peer_key {
            check_seq("RoutingCombo.peer_key", keys, 1, max_uses)?;
        }
        self.recipient.validate()?;
        if let Some(prefixes) = &self.m_prefix {
            check_size("RoutingCombo.m_prefix", prefixes.len(), 1, max_uses)?;
        }
        check_seq(
            "RoutingCombo.assembly",
            &self.assembly,
            0,
            MAX_ASSEMBLY_INSTR,
        )?;
        self.validity.validate()
    }
}
