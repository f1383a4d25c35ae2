//! Wire and WAL encoding of the engine's messages: JSON of plain mirror structs. Every
//! decoding failure is a [`CodecError`], never a panic.
//!
//! A signed proposal carries only its block's hash (the block itself is streamed in
//! [`ProposalPart`]s and matched by id); a proposed value written to the WAL carries the whole
//! block, so that a restarted node can replay it.

use std::ops::RangeInclusive;

use arc_malachitebft_app_channel::app::consensus::LivenessMsg;
use arc_malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use arc_malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use arc_malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, Value as _, VoteType,
};
use arc_malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use arc_malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use arc_malachitebft_sync::{ValueRequest, ValueResponse};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tabella_ledger::block::Block;
use tabella_ledger::roster::Signature;
use tabella_ledger::types::BlockHash;

use super::context::{
    Address, BlockValue, EngineHeight, EngineProposal, EngineSignature, EngineVote, ProposalPart,
    TabellaContext,
};

type Ctx = TabellaContext;

/// A message that does not decode (or, rarely, encode).
#[derive(Debug, thiserror::Error)]
#[error("engine codec: {0}")]
pub struct CodecError(pub String);

impl From<serde_json::Error> for CodecError {
    fn from(e: serde_json::Error) -> Self {
        CodecError(e.to_string())
    }
}

/// The codec used for the network, the value sync and the WAL.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineCodec;

fn to_json<T: Serialize>(v: &T) -> Result<Bytes, CodecError> {
    Ok(Bytes::from(serde_json::to_vec(v)?))
}

fn from_json<T: DeserializeOwned>(b: &Bytes) -> Result<T, CodecError> {
    Ok(serde_json::from_slice(b)?)
}

/// Encodes a block for sync responses and the WAL.
pub fn encode_block(block: &Block) -> Result<Bytes, CodecError> {
    to_json(block)
}

/// Decodes a block.
pub fn decode_block(bytes: &[u8]) -> Result<Block, CodecError> {
    Ok(serde_json::from_slice(bytes)?)
}

fn round_from(r: Option<u32>) -> Round {
    Round::from(r)
}

#[derive(Serialize, Deserialize)]
struct RawVote {
    precommit: bool,
    height: EngineHeight,
    round: Option<u32>,
    value: Option<BlockHash>,
    validator: Address,
    extension: Option<(String, Signature)>,
}

impl From<&EngineVote> for RawVote {
    fn from(v: &EngineVote) -> Self {
        RawVote {
            precommit: v.vote_type == VoteType::Precommit,
            height: v.height,
            round: v.round.as_u32(),
            value: match v.value {
                NilOrVal::Nil => None,
                NilOrVal::Val(id) => Some(id),
            },
            validator: v.validator,
            extension: v
                .extension
                .as_ref()
                .map(|e| (hex::encode(&e.message), e.signature.0)),
        }
    }
}

impl TryFrom<RawVote> for EngineVote {
    type Error = CodecError;
    fn try_from(v: RawVote) -> Result<Self, CodecError> {
        let extension = match v.extension {
            None => None,
            Some((h, sig)) => Some(SignedMessage::new(
                hex::decode(h).map_err(|e| CodecError(e.to_string()))?,
                EngineSignature(sig),
            )),
        };
        Ok(EngineVote {
            vote_type: if v.precommit {
                VoteType::Precommit
            } else {
                VoteType::Prevote
            },
            height: v.height,
            round: round_from(v.round),
            value: match v.value {
                None => NilOrVal::Nil,
                Some(id) => NilOrVal::Val(id),
            },
            validator: v.validator,
            extension,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct RawSignedVote {
    vote: RawVote,
    signature: Signature,
}

impl RawSignedVote {
    fn from_signed(v: &SignedMessage<Ctx, EngineVote>) -> Self {
        RawSignedVote {
            vote: RawVote::from(&v.message),
            signature: v.signature.0,
        }
    }
    fn into_signed(self) -> Result<SignedMessage<Ctx, EngineVote>, CodecError> {
        Ok(SignedMessage::new(
            self.vote.try_into()?,
            EngineSignature(self.signature),
        ))
    }
}

#[derive(Serialize, Deserialize)]
struct RawProposal {
    height: EngineHeight,
    round: Option<u32>,
    block: BlockHash,
    pol_round: Option<u32>,
    proposer: Address,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
enum RawConsensusMsg {
    Vote(RawSignedVote),
    Proposal(RawProposal),
}

impl Codec<SignedConsensusMsg<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<Ctx>, CodecError> {
        Ok(match from_json::<RawConsensusMsg>(&bytes)? {
            RawConsensusMsg::Vote(v) => SignedConsensusMsg::Vote(v.into_signed()?),
            RawConsensusMsg::Proposal(p) => SignedConsensusMsg::Proposal(SignedMessage::new(
                EngineProposal {
                    height: p.height,
                    round: round_from(p.round),
                    value: BlockValue::id_only(p.block),
                    pol_round: round_from(p.pol_round),
                    proposer: p.proposer,
                },
                EngineSignature(p.signature),
            )),
        })
    }
    fn encode(&self, msg: &SignedConsensusMsg<Ctx>) -> Result<Bytes, CodecError> {
        let raw = match msg {
            SignedConsensusMsg::Vote(v) => RawConsensusMsg::Vote(RawSignedVote::from_signed(v)),
            SignedConsensusMsg::Proposal(p) => RawConsensusMsg::Proposal(RawProposal {
                height: p.message.height,
                round: p.message.round.as_u32(),
                block: p.message.value.id(),
                pol_round: p.message.pol_round.as_u32(),
                proposer: p.message.proposer,
                signature: p.signature.0,
            }),
        };
        to_json(&raw)
    }
}

impl Codec<ProposalPart> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ProposalPart, CodecError> {
        from_json(&bytes)
    }
    fn encode(&self, msg: &ProposalPart) -> Result<Bytes, CodecError> {
        to_json(msg)
    }
}

#[derive(Serialize, Deserialize)]
struct RawStreamMessage {
    stream_id: String,
    sequence: u64,
    /// `None` is the end of the stream.
    part: Option<ProposalPart>,
}

impl Codec<StreamMessage<ProposalPart>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<StreamMessage<ProposalPart>, CodecError> {
        let raw: RawStreamMessage = from_json(&bytes)?;
        let id = hex::decode(raw.stream_id).map_err(|e| CodecError(e.to_string()))?;
        Ok(StreamMessage::new(
            StreamId::new(Bytes::from(id)),
            raw.sequence,
            match raw.part {
                Some(p) => StreamContent::Data(p),
                None => StreamContent::Fin,
            },
        ))
    }
    fn encode(&self, msg: &StreamMessage<ProposalPart>) -> Result<Bytes, CodecError> {
        to_json(&RawStreamMessage {
            stream_id: hex::encode(msg.stream_id.to_bytes()),
            sequence: msg.sequence,
            part: msg.content.as_data().cloned(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct RawPolka {
    height: EngineHeight,
    round: Option<u32>,
    block: BlockHash,
    signatures: Vec<(Address, Signature)>,
}

impl From<&PolkaCertificate<Ctx>> for RawPolka {
    fn from(c: &PolkaCertificate<Ctx>) -> Self {
        RawPolka {
            height: c.height,
            round: c.round.as_u32(),
            block: c.value_id,
            signatures: c
                .polka_signatures
                .iter()
                .map(|s| (s.address, s.signature.0))
                .collect(),
        }
    }
}

impl From<RawPolka> for PolkaCertificate<Ctx> {
    fn from(c: RawPolka) -> Self {
        PolkaCertificate {
            height: c.height,
            round: round_from(c.round),
            value_id: c.block,
            polka_signatures: c
                .signatures
                .into_iter()
                .map(|(a, s)| PolkaSignature::new(a, EngineSignature(s)))
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RawRoundSignature {
    precommit: bool,
    block: Option<BlockHash>,
    address: Address,
    signature: Signature,
}

#[derive(Serialize, Deserialize)]
struct RawRoundCertificate {
    height: EngineHeight,
    round: Option<u32>,
    precommit_type: bool,
    signatures: Vec<RawRoundSignature>,
}

#[derive(Serialize, Deserialize)]
enum RawLiveness {
    Vote(Box<RawSignedVote>),
    Polka(RawPolka),
    SkipRound(RawRoundCertificate),
}

impl Codec<LivenessMsg<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<LivenessMsg<Ctx>, CodecError> {
        Ok(match from_json::<RawLiveness>(&bytes)? {
            RawLiveness::Vote(v) => LivenessMsg::Vote(v.into_signed()?),
            RawLiveness::Polka(p) => LivenessMsg::PolkaCertificate(p.into()),
            RawLiveness::SkipRound(c) => LivenessMsg::SkipRoundCertificate(RoundCertificate {
                height: c.height,
                round: round_from(c.round),
                cert_type: if c.precommit_type {
                    RoundCertificateType::Precommit
                } else {
                    RoundCertificateType::Skip
                },
                round_signatures: c
                    .signatures
                    .into_iter()
                    .map(|s| {
                        RoundSignature::new(
                            if s.precommit {
                                VoteType::Precommit
                            } else {
                                VoteType::Prevote
                            },
                            match s.block {
                                None => NilOrVal::Nil,
                                Some(b) => NilOrVal::Val(b),
                            },
                            s.address,
                            EngineSignature(s.signature),
                        )
                    })
                    .collect(),
            }),
        })
    }
    fn encode(&self, msg: &LivenessMsg<Ctx>) -> Result<Bytes, CodecError> {
        let raw = match msg {
            LivenessMsg::Vote(v) => RawLiveness::Vote(Box::new(RawSignedVote::from_signed(v))),
            LivenessMsg::PolkaCertificate(p) => RawLiveness::Polka(p.into()),
            LivenessMsg::SkipRoundCertificate(c) => RawLiveness::SkipRound(RawRoundCertificate {
                height: c.height,
                round: c.round.as_u32(),
                precommit_type: matches!(c.cert_type, RoundCertificateType::Precommit),
                signatures: c
                    .round_signatures
                    .iter()
                    .map(|s| RawRoundSignature {
                        precommit: s.vote_type == VoteType::Precommit,
                        block: match s.value_id {
                            NilOrVal::Nil => None,
                            NilOrVal::Val(b) => Some(b),
                        },
                        address: s.address,
                        signature: s.signature.0,
                    })
                    .collect(),
            }),
        };
        to_json(&raw)
    }
}

#[derive(Serialize, Deserialize)]
struct RawValidatorProof {
    public_key: String,
    peer_id: String,
    signature: Signature,
}

impl Codec<ValidatorProof<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<Ctx>, CodecError> {
        let raw: RawValidatorProof = from_json(&bytes)?;
        let hx = |s: String| hex::decode(s).map_err(|e| CodecError(e.to_string()));
        Ok(ValidatorProof::new(
            hx(raw.public_key)?,
            hx(raw.peer_id)?,
            EngineSignature(raw.signature),
        ))
    }
    fn encode(&self, msg: &ValidatorProof<Ctx>) -> Result<Bytes, CodecError> {
        to_json(&RawValidatorProof {
            public_key: hex::encode(&msg.public_key),
            peer_id: hex::encode(&msg.peer_id),
            signature: msg.signature.0,
        })
    }
}

fn peer_from_hex(s: &str) -> Result<PeerId, CodecError> {
    let b = hex::decode(s).map_err(|e| CodecError(e.to_string()))?;
    PeerId::from_bytes(&b).map_err(|e| CodecError(format!("bad peer id: {e}")))
}

#[derive(Serialize, Deserialize)]
struct RawStatus {
    peer_id: String,
    tip_height: EngineHeight,
    history_min_height: EngineHeight,
}

impl Codec<Status<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Status<Ctx>, CodecError> {
        let raw: RawStatus = from_json(&bytes)?;
        Ok(Status {
            peer_id: peer_from_hex(&raw.peer_id)?,
            tip_height: raw.tip_height,
            history_min_height: raw.history_min_height,
        })
    }
    fn encode(&self, msg: &Status<Ctx>) -> Result<Bytes, CodecError> {
        to_json(&RawStatus {
            peer_id: hex::encode(msg.peer_id.to_bytes()),
            tip_height: msg.tip_height,
            history_min_height: msg.history_min_height,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct RawRequest {
    from: EngineHeight,
    to: EngineHeight,
}

impl Codec<Request<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Request<Ctx>, CodecError> {
        let raw: RawRequest = from_json(&bytes)?;
        Ok(Request::ValueRequest(ValueRequest::new(
            RangeInclusive::new(raw.from, raw.to),
        )))
    }
    fn encode(&self, msg: &Request<Ctx>) -> Result<Bytes, CodecError> {
        let Request::ValueRequest(r) = msg;
        to_json(&RawRequest {
            from: *r.range.start(),
            to: *r.range.end(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct RawCommitSignature {
    address: Address,
    signature: Signature,
    extension: Option<(String, Signature)>,
}

#[derive(Serialize, Deserialize)]
struct RawExtendedCertificate {
    height: EngineHeight,
    round: Option<u32>,
    block: BlockHash,
    signatures: Vec<RawCommitSignature>,
}

impl From<&ExtendedCommitCertificate<Ctx>> for RawExtendedCertificate {
    fn from(c: &ExtendedCommitCertificate<Ctx>) -> Self {
        RawExtendedCertificate {
            height: c.height,
            round: c.round.as_u32(),
            block: c.value_id,
            signatures: c
                .commit_signatures
                .iter()
                .map(|s| RawCommitSignature {
                    address: s.address,
                    signature: s.signature.0,
                    extension: s
                        .extension
                        .as_ref()
                        .map(|e| (hex::encode(&e.message), e.signature.0)),
                })
                .collect(),
        }
    }
}

impl TryFrom<RawExtendedCertificate> for ExtendedCommitCertificate<Ctx> {
    type Error = CodecError;
    fn try_from(c: RawExtendedCertificate) -> Result<Self, CodecError> {
        let mut sigs = Vec::with_capacity(c.signatures.len());
        for s in c.signatures {
            let extension = match s.extension {
                None => None,
                Some((h, sig)) => Some(SignedMessage::new(
                    hex::decode(h).map_err(|e| CodecError(e.to_string()))?,
                    EngineSignature(sig),
                )),
            };
            sigs.push(ExtendedCommitSignature::new(
                s.address,
                EngineSignature(s.signature),
                extension,
            ));
        }
        Ok(ExtendedCommitCertificate {
            height: c.height,
            round: round_from(c.round),
            value_id: c.block,
            commit_signatures: sigs,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct RawDecided {
    block: String,
    certificate: RawExtendedCertificate,
}

#[derive(Serialize, Deserialize)]
struct RawResponse {
    start_height: EngineHeight,
    values: Vec<RawDecided>,
}

fn raw_response(msg: &Response<Ctx>) -> RawResponse {
    let Response::ValueResponse(r) = msg;
    RawResponse {
        start_height: r.start_height,
        values: r
            .values
            .iter()
            .map(|v| RawDecided {
                block: hex::encode(&v.value_bytes),
                certificate: (&v.certificate).into(),
            })
            .collect(),
    }
}

impl Codec<Response<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Response<Ctx>, CodecError> {
        let raw: RawResponse = from_json(&bytes)?;
        let mut values = Vec::with_capacity(raw.values.len());
        for v in raw.values {
            values.push(RawDecidedValue::new(
                Bytes::from(hex::decode(v.block).map_err(|e| CodecError(e.to_string()))?),
                v.certificate.try_into()?,
            ));
        }
        Ok(Response::ValueResponse(ValueResponse::new(
            raw.start_height,
            values,
        )))
    }
    fn encode(&self, msg: &Response<Ctx>) -> Result<Bytes, CodecError> {
        to_json(&raw_response(msg))
    }
}

impl HasEncodedLen<Response<Ctx>> for EngineCodec {
    fn encoded_len(&self, msg: &Response<Ctx>) -> Result<usize, CodecError> {
        Ok(serde_json::to_vec(&raw_response(msg))?.len())
    }
}

#[derive(Serialize, Deserialize)]
struct RawProposedValue {
    height: EngineHeight,
    round: Option<u32>,
    valid_round: Option<u32>,
    proposer: Address,
    block_hash: BlockHash,
    block: Option<Block>,
    valid: bool,
}

impl Codec<ProposedValue<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<Ctx>, CodecError> {
        let raw: RawProposedValue = from_json(&bytes)?;
        let value = match raw.block {
            Some(b) => {
                let v = BlockValue::new(b);
                if v.id() != raw.block_hash {
                    return Err(CodecError(
                        "proposed value's block does not match its hash".into(),
                    ));
                }
                v
            }
            None => BlockValue::id_only(raw.block_hash),
        };
        Ok(ProposedValue {
            height: raw.height,
            round: round_from(raw.round),
            valid_round: round_from(raw.valid_round),
            proposer: raw.proposer,
            value,
            validity: Validity::from_bool(raw.valid),
        })
    }
    fn encode(&self, msg: &ProposedValue<Ctx>) -> Result<Bytes, CodecError> {
        to_json(&RawProposedValue {
            height: msg.height,
            round: msg.round.as_u32(),
            valid_round: msg.valid_round.as_u32(),
            proposer: msg.proposer,
            block_hash: msg.value.id(),
            block: msg.value.block().cloned(),
            valid: msg.validity.is_valid(),
        })
    }
}

impl Codec<PolkaCertificate<Ctx>> for EngineCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<PolkaCertificate<Ctx>, CodecError> {
        Ok(from_json::<RawPolka>(&bytes)?.into())
    }
    fn encode(&self, msg: &PolkaCertificate<Ctx>) -> Result<Bytes, CodecError> {
        to_json(&RawPolka::from(msg))
    }
}

/// Blocks read back from the WAL, by hash (shared between the WAL codec and the run loop).
pub type ReplayedBlocks =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<BlockHash, Block>>>;

/// The WAL's codec: [`EngineCodec`], and every block of a valid proposed value it decodes (that
/// is, replays after a restart) is also kept in `replayed`, so that the run loop can commit a block
/// the engine decides from its WAL although the run loop never saw it stream in.
#[derive(Clone, Debug, Default)]
pub struct WalCodec {
    /// Blocks decoded from the WAL.
    pub replayed: ReplayedBlocks,
}

impl Codec<SignedConsensusMsg<Ctx>> for WalCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<Ctx>, CodecError> {
        EngineCodec.decode(bytes)
    }
    fn encode(&self, msg: &SignedConsensusMsg<Ctx>) -> Result<Bytes, CodecError> {
        EngineCodec.encode(msg)
    }
}

impl Codec<PolkaCertificate<Ctx>> for WalCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<PolkaCertificate<Ctx>, CodecError> {
        EngineCodec.decode(bytes)
    }
    fn encode(&self, msg: &PolkaCertificate<Ctx>) -> Result<Bytes, CodecError> {
        EngineCodec.encode(msg)
    }
}

impl Codec<ProposedValue<Ctx>> for WalCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<Ctx>, CodecError> {
        let value: ProposedValue<Ctx> = EngineCodec.decode(bytes)?;
        if let (Some(block), true) = (value.value.block(), value.validity.is_valid()) {
            let mut replayed = self
                .replayed
                .lock()
                .map_err(|_| CodecError("the replay cache lock is poisoned".into()))?;
            replayed.insert(value.value.id(), block.clone());
        }
        Ok(value)
    }
    fn encode(&self, msg: &ProposedValue<Ctx>) -> Result<Bytes, CodecError> {
        EngineCodec.encode(msg)
    }
}
