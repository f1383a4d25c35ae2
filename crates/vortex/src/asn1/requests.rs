//! `MessageVortex-Requests` (draft App. A.3; §7.2; docs/VORTEX.md §2.4): header requests.
//!
//! `HeaderRequestUpgrade` exists as a plain type, but no CHOICE can carry it, so the upgrade
//! request is not implemented (D-26).

use der::asn1::OctetString;
use der::{Choice, Sequence};

use super::helpers::{NodeSpec, UsagePeriod};
use super::{check_range, no_bounds, DecodeError, Validate};

/// `HeaderRequest` (A.3): an administrative request in a header (no upgrade variant, D-26).
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum HeaderRequest {
    /// `identity [0] HeaderRequestIdentity` (§7.2.1).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Identity(HeaderRequestIdentity),
    /// `capabilities [1] HeaderRequestCapability` (§7.2.4).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Capabilities(HeaderRequestCapability),
    /// `messageQuota [2] HeaderRequestIncreaseMessageQuota` (§7.2.5).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    MessageQuota(HeaderRequestIncreaseMessageQuota),
    /// `transferQuota [3] HeaderRequestIncreaseTransferQuota` (§7.2.6).
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    TransferQuota(HeaderRequestIncreaseTransferQuota),
    /// `quotaQuery [4] HeaderRequestQuota` (§7.2.7).
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", constructed = "true")]
    QuotaQuery(HeaderRequestQuota),
    /// `nodeQuery [5] HeaderRequestNodes` (§7.2.8).
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", constructed = "true")]
    NodeQuery(HeaderRequestNodes),
    /// `replace [6] HeaderRequestReplaceIdentity` (§7.2.9).
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", constructed = "true")]
    Replace(HeaderRequestReplaceIdentity),
}

impl Validate for HeaderRequest {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            HeaderRequest::Identity(r) => r.validate(),
            HeaderRequest::Capabilities(r) => r.validate(),
            HeaderRequest::MessageQuota(r) => r.validate(),
            HeaderRequest::TransferQuota(r) => r.validate(),
            HeaderRequest::QuotaQuery(r) => r.validate(),
            HeaderRequest::NodeQuery(r) => r.validate(),
            HeaderRequest::Replace(r) => r.validate(),
        }
    }
}

/// `HeaderRequestIdentity` (A.3): asks for a new ephemeral identity.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestIdentity {
    /// `period UsagePeriod`.
    pub period: UsagePeriod,
}

/// `HeaderRequestCapability` (A.3): asks for the node's capabilities.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestCapability {
    /// `period UsagePeriod`.
    pub period: UsagePeriod,
}

/// `HeaderRequestIncreaseMessageQuota` (A.3): the new absolute message quota.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestIncreaseMessageQuota {
    /// `messages INTEGER (0..4294967295)`.
    pub messages: u32,
}

/// `HeaderRequestIncreaseTransferQuota` (A.3): the new absolute transfer quota.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestIncreaseTransferQuota {
    /// `size INTEGER (0..4294967295)`, bytes.
    pub size: u32,
}

/// `HeaderRequestQuota` (A.3): an empty SEQUENCE asking for the current quota (the prose calls
/// it "HeaderRequestQueryQuota").
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct HeaderRequestQuota {}

/// `HeaderRequestNodes` (A.3): asks for other nodes.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestNodes {
    /// `numberOfNodes INTEGER (0..255)`.
    pub number_of_nodes: u32,
}

impl Validate for HeaderRequestNodes {
    fn validate(&self) -> Result<(), DecodeError> {
        check_range(
            "HeaderRequestNodes.number_of_nodes",
            self.number_of_nodes,
            0,
            255,
        )
    }
}

/// `HeaderRequestReplaceIdentity` (A.3): moves an identity to another node address.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestReplaceIdentity {
    /// `replace SEQUENCE { old NodeSpec, new NodeSpec OPTIONAL }`.
    pub replace: IdentityReplacement,
    /// `identitySignature OCTET STRING`.
    pub identity_signature: OctetString,
}

impl Validate for HeaderRequestReplaceIdentity {
    fn validate(&self) -> Result<(), DecodeError> {
        self.replace.old.validate()?;
        self.replace.new.validate()
    }
}

/// The anonymous `replace` SEQUENCE of [`HeaderRequestReplaceIdentity`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct IdentityReplacement {
    /// `old NodeSpec`.
    pub old: NodeSpec,
    /// `new NodeSpec OPTIONAL`.
    #[asn1(optional = "true")]
    pub new: Option<NodeSpec>,
}

impl Validate for IdentityReplacement {
    fn validate(&self) -> Result<(), DecodeError> {
        self.old.validate()?;
        self.new.validate()
    }
}

/// `HeaderRequestUpgrade` (A.3): defined by the draft but carried by no CHOICE (D-26).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct HeaderRequestUpgrade {
    /// `version OCTET STRING`.
    pub version: OctetString,
    /// `identifier OCTET STRING`.
    pub identifier: OctetString,
}

no_bounds!(
    HeaderRequestIdentity,
    HeaderRequestCapability,
    HeaderRequestIncreaseMessageQuota,
    HeaderRequestIncreaseTransferQuota,
    HeaderRequestQuota,
    HeaderRequestUpgrade,
);
