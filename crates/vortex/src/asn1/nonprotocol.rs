//! `MessageVortex-NonProtocolBlocks` (draft App. A.7; docs/VORTEX.md §2.1): blocks for debugging
//! and local storage, never sent as protocol blocks (the wire framing is D-1).

use der::asn1::OctetString;
use der::{Choice, Sequence};

use super::ciphers::AsymmetricKey;
use super::helpers::{NodeSpec, UsagePeriod};
use super::requirements::RequirementBlock;
use super::schema::{InnerMessageBlock, PrefixBlock, RoutingBlock};
use super::{check_seq, check_source_id, DecodeError, Validate};

/// `VortexMessage` (A.7): "internal only"; kept for debug dumps and test vectors (D-1).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct VortexMessage {
    /// `prefix CHOICE { plain [10011] PrefixBlock, encrypted [10012] OCTET STRING }`.
    pub prefix: MessagePrefix,
    /// `innerMessage CHOICE { plain [10021] InnerMessageBlock, encrypted [10022] OCTET STRING }`.
    pub inner_message: MessageInner,
}

impl Validate for VortexMessage {
    fn validate(&self) -> Result<(), DecodeError> {
        self.prefix.validate()?;
        self.inner_message.validate()
    }
}

impl Validate for MessagePrefix {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            MessagePrefix::Plain(p) => p.validate(),
            MessagePrefix::Encrypted(_) => Ok(()),
        }
    }
}

impl Validate for MessageInner {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            MessageInner::Plain(i) => i.validate(),
            MessageInner::Encrypted(_) => Ok(()),
        }
    }
}

/// The `prefix` CHOICE of [`VortexMessage`] (the MPREFIX).
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum MessagePrefix {
    /// `plain [10011] PrefixBlock`.
    #[asn1(
        context_specific = "10011",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Plain(PrefixBlock),
    /// `encrypted [10012] OCTET STRING`: under the receiver's host key.
    #[asn1(
        context_specific = "10012",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Encrypted(OctetString),
}

/// The `innerMessage` CHOICE of [`VortexMessage`].
// The plain variant is the large one and the common one in tests and debug dumps; `der` has
// no `FixedTag` for `Box<T>`, so it is not boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum MessageInner {
    /// `plain [10021] InnerMessageBlock`.
    #[asn1(
        context_specific = "10021",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Plain(InnerMessageBlock),
    /// `encrypted [10022] OCTET STRING`: under the key of the prefix.
    #[asn1(
        context_specific = "10022",
        tag_mode = "EXPLICIT",
        constructed = "true"
    )]
    Encrypted(OctetString),
}

/// `MemoryPayloadChunk` (A.7): a stored workspace payload.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MemoryPayloadChunk {
    /// `id INTEGER (0..maxWorkspaceID)`.
    pub id: u32,
    /// `payload [100] OCTET STRING`.
    #[asn1(context_specific = "100", tag_mode = "EXPLICIT")]
    pub payload: OctetString,
    /// `validity UsagePeriod`.
    pub validity: UsagePeriod,
}

impl Validate for MemoryPayloadChunk {
    fn validate(&self) -> Result<(), DecodeError> {
        check_source_id("MemoryPayloadChunk.id", self.id)?;
        self.validity.validate()
    }
}

/// `IdentityStore` (A.7): the stored identities.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct IdentityStore {
    /// `identities SEQUENCE (SIZE (0..4294967295)) OF IdentityStoreBlock`.
    pub identities: Vec<IdentityStoreBlock>,
}

impl Validate for IdentityStore {
    fn validate(&self) -> Result<(), DecodeError> {
        check_seq(
            "IdentityStore.identities",
            &self.identities,
            0,
            u32::MAX as usize,
        )
    }
}

/// `IdentityStoreBlock` (A.7; §2.8, §8): one identity with its quotas and state.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct IdentityStoreBlock {
    /// `valid UsagePeriod`.
    pub valid: UsagePeriod,
    /// `messageQuota INTEGER (0..maxMessageQuota)`.
    pub message_quota: u32,
    /// `transferQuota INTEGER (0..maxTransferQuota)`, bytes.
    pub transfer_quota: u32,
    /// `identity [1001] AsymmetricKey OPTIONAL` (absent: a node identity).
    #[asn1(context_specific = "1001", tag_mode = "EXPLICIT", optional = "true")]
    pub identity: Option<AsymmetricKey>,
    /// `nodeAddress [1002] NodeSpec OPTIONAL` (absent: our own).
    #[asn1(context_specific = "1002", tag_mode = "EXPLICIT", optional = "true")]
    pub node_address: Option<NodeSpec>,
    /// `nodeKey [1003] SEQUENCE OF AsymmetricKey OPTIONAL`.
    #[asn1(context_specific = "1003", tag_mode = "EXPLICIT", optional = "true")]
    pub node_key: Option<Vec<AsymmetricKey>>,
    /// `routingBlocks [1004] SEQUENCE OF RoutingBlock OPTIONAL`.
    #[asn1(context_specific = "1004", tag_mode = "EXPLICIT", optional = "true")]
    pub routing_blocks: Option<Vec<RoutingBlock>>,
    /// `replayStore [1005] IdentityReplayStore`.
    #[asn1(context_specific = "1005", tag_mode = "EXPLICIT")]
    pub replay_store: IdentityReplayStore,
    /// `requirement [1006] RequirementBlock OPTIONAL`.
    #[asn1(context_specific = "1006", tag_mode = "EXPLICIT", optional = "true")]
    pub requirement: Option<RequirementBlock>,
}

impl Validate for IdentityStoreBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.valid.validate()?;
        self.identity.validate()?;
        self.node_address.validate()?;
        if let Some(keys) = &self.node_key {
            check_seq("IdentityStoreBlock.node_key", keys, 0, usize::MAX)?;
        }
        if let Some(blocks) = &self.routing_blocks {
            check_seq("IdentityStoreBlock.routing_blocks", blocks, 0, usize::MAX)?;
        }
        self.replay_store.validate()?;
        self.requirement.validate()
    }
}

/// `IdentityReplayStore` (A.7): replay counters per header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct IdentityReplayStore {
    /// `replays SEQUENCE (SIZE (0..4294967295)) OF IdentityReplayBlock`.
    pub replays: Vec<IdentityReplayBlock>,
}

impl Validate for IdentityReplayStore {
    fn validate(&self) -> Result<(), DecodeError> {
        check_seq(
            "IdentityReplayStore.replays",
            &self.replays,
            0,
            u32::MAX as usize,
        )
    }
}

/// `IdentityReplayBlock` (A.7).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct IdentityReplayBlock {
    /// `identity AsymmetricKey`.
    pub identity: AsymmetricKey,
    /// `valid UsagePeriod`.
    pub valid: UsagePeriod,
    /// `replaysRemaining INTEGER (0..4294967295)`.
    pub replays_remaining: u32,
}

impl Validate for IdentityReplayBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        self.identity.validate()?;
        self.valid.validate()
    }
}
