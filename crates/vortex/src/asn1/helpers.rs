//! `MessageVortex-Helpers` (draft App. A.6; docs/VORTEX.md §2.4): usage periods, blending and
//! node specifications.

use der::asn1::{GeneralizedTime, Ia5String};
use der::{Choice, Enumerated, Sequence};

use super::ciphers::{AsymmetricKey, SecretOctets, SymmetricKey};
use super::{check_seq, no_bounds, DecodeError, Validate, MAX_NUMBER_OF_PARAMETER};

/// `UsagePeriod` (A.6): when a block may be used.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum UsagePeriod {
    /// `absolute [2] AbsoluteUsagePeriod`.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    Absolute(AbsoluteUsagePeriod),
    /// `relative [3] RelativeUsagePeriod`.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    Relative(RelativeUsagePeriod),
}

/// `AbsoluteUsagePeriod` (A.6): wall-clock bounds.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AbsoluteUsagePeriod {
    /// `notBefore [0] GeneralizedTime OPTIONAL`.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub not_before: Option<GeneralizedTime>,
    /// `notAfter [1] GeneralizedTime OPTIONAL`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub not_after: Option<GeneralizedTime>,
}

/// `RelativeUsagePeriod` (A.6): seconds from the arrival of the message's last byte (D-15).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RelativeUsagePeriod {
    /// `notBefore [0] INTEGER OPTIONAL`, seconds.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub not_before: Option<i64>,
    /// `notAfter [1] INTEGER OPTIONAL`, seconds.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub not_after: Option<i64>,
}

/// `BlendingSpec` (A.6): the next hop and how to blend the message for it.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct BlendingSpec {
    /// `target [1] NodeSpec`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    pub target: NodeSpec,
    /// `blendingType [2] IA5String` (e.g. `plain`, `F5`).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub blending_type: Ia5String,
    /// `parameter [3] SEQUENCE (SIZE (0..maxNumberOfParameter)) OF BlendingParameter`.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    pub parameter: Vec<BlendingParameter>,
}

impl Validate for BlendingSpec {
    fn validate(&self) -> Result<(), DecodeError> {
        self.target.validate()?;
        check_seq(
            "BlendingSpec.parameter",
            &self.parameter,
            0,
            MAX_NUMBER_OF_PARAMETER,
        )
    }
}

/// `BlendingParameter` (A.6).
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum BlendingParameter {
    /// `offset [1] INTEGER`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Offset(i64),
    /// `symmetricKey [2] SymmetricKey`.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    SymmetricKey(SymmetricKey),
    /// `asymmetricKey [3] AsymmetricKey`.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    AsymmetricKey(AsymmetricKey),
    /// `passphrase [4] OCTET STRING` (secret: wiped on drop).
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", constructed = "true")]
    Passphrase(SecretOctets),
}

impl Validate for BlendingParameter {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            BlendingParameter::SymmetricKey(key) => key.validate(),
            BlendingParameter::AsymmetricKey(key) => key.validate(),
            BlendingParameter::Offset(_) | BlendingParameter::Passphrase(_) => Ok(()),
        }
    }
}

/// `NodeSpec` (A.6; §2.1.2): a node's transport address and key.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct NodeSpec {
    /// `transportProtocol [1] Protocol`.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    pub transport_protocol: Protocol,
    /// `recipientAddress [2] IA5String`.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub recipient_address: Ia5String,
    /// `recipientKey [3] AsymmetricKey OPTIONAL`.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub recipient_key: Option<AsymmetricKey>,
}

impl Validate for NodeSpec {
    fn validate(&self) -> Result<(), DecodeError> {
        self.recipient_key.validate()
    }
}

/// `Protocol` (A.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum Protocol {
    /// `smtp` (100).
    Smtp = 100,
    /// `xmmp` (110) — the draft's spelling of XMPP.
    Xmmp = 110,
}

no_bounds!(
    UsagePeriod,
    AbsoluteUsagePeriod,
    RelativeUsagePeriod,
    Protocol
);
