//! Tabella's Malachite [`Context`]: the ledger's heights, validator keys, rosters and blocks
//! seen as the engine's heights, addresses, validator sets and values.

use core::fmt;
use std::sync::Arc;

use arc_malachitebft_app_channel::app::types::core::{
    self as mc, Context, LinearTimeouts, NilOrVal, Round, SignedExtension, VoteType, VotingPower,
};
use serde::{Deserialize, Serialize};
use tabella_ledger::block::Block;
use tabella_ledger::roster::{Roster, Signature, ValidatorKey, ValidatorSecret};
use tabella_ledger::types::{BlockHash, Height};

/// A consensus height: the ledger height of the block being decided.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EngineHeight(pub Height);

impl fmt::Display for EngineHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mc::Height for EngineHeight {
    const ZERO: Self = EngineHeight(Height(0));
    // Height 0 is the genesis block, never decided by the engine.
    const INITIAL: Self = EngineHeight(Height(1));

    fn increment_by(&self, n: u64) -> Self {
        EngineHeight(Height(self.0 .0.saturating_add(n)))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0 .0.checked_sub(n).map(|h| EngineHeight(Height(h)))
    }

    fn as_u64(&self) -> u64 {
        self.0 .0
    }
}

/// A validator's address: its ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(pub ValidatorKey);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.to_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl mc::Address for Address {}

/// One roster member with voting power 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineValidator {
    address: Address,
    key: ValidatorKey,
}

impl EngineValidator {
    /// The member with key `key`.
    pub fn new(key: ValidatorKey) -> Self {
        EngineValidator {
            address: Address(key),
            key,
        }
    }
}

impl mc::Validator<TabellaContext> for EngineValidator {
    fn address(&self) -> &Address {
        &self.address
    }
    fn public_key(&self) -> &ValidatorKey {
        &self.key
    }
    fn voting_power(&self) -> VotingPower {
        1
    }
}

/// A roster as the engine's validator set, in roster order (the proposer rotation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineValidatorSet {
    // Rosters are never empty; `first` makes that visible to the type system so proposer
    // selection never needs to fail.
    first: EngineValidator,
    validators: Vec<EngineValidator>,
}

impl EngineValidatorSet {
    /// The validator set of `roster`, equal voting power.
    pub fn from_roster(roster: &Roster) -> Option<Self> {
        let validators: Vec<EngineValidator> = roster
            .validators()
            .iter()
            .map(|k| EngineValidator::new(*k))
            .collect();
        let first = validators.first()?.clone();
        Some(EngineValidatorSet { first, validators })
    }

    /// The member keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &ValidatorKey> {
        self.validators.iter().map(|v| &v.key)
    }

    /// Whether `key` is a member.
    pub fn contains(&self, key: &ValidatorKey) -> bool {
        self.validators.iter().any(|v| &v.key == key)
    }
}

impl mc::ValidatorSet<TabellaContext> for EngineValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> VotingPower {
        self.validators.len() as VotingPower
    }
    fn get_by_address(&self, address: &Address) -> Option<&EngineValidator> {
        self.validators.iter().find(|v| &v.address == address)
    }
    fn get_by_index(&self, index: usize) -> Option<&EngineValidator> {
        self.validators.get(index)
    }
}

/// A consensus value: a block, identified by its header hash. The block itself travels in
/// proposal parts and sync responses; a value decoded from a signed proposal message carries
/// only the hash (the engine matches it against the streamed block by id). Equality and order
/// are by hash.
#[derive(Clone, Debug)]
pub struct BlockValue {
    id: BlockHash,
    block: Option<Arc<Block>>,
}

impl BlockValue {
    /// A value carrying the block.
    pub fn new(block: Block) -> Self {
        BlockValue {
            id: block.header.hash(),
            block: Some(Arc::new(block)),
        }
    }

    /// A value known only by its block hash.
    pub fn id_only(id: BlockHash) -> Self {
        BlockValue { id, block: None }
    }

    /// The block, if this value carries it.
    pub fn block(&self) -> Option<&Block> {
        self.block.as_deref()
    }
}

impl PartialEq for BlockValue {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for BlockValue {}
impl PartialOrd for BlockValue {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for BlockValue {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl mc::Value for BlockValue {
    type Id = BlockHash;
    fn id(&self) -> BlockHash {
        self.id
    }
}

/// A proposal: the proposer's signed claim that `value` is its block for `(height, round)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineProposal {
    /// Height.
    pub height: EngineHeight,
    /// Round.
    pub round: Round,
    /// The proposed block (by hash once decoded from the network).
    pub value: BlockValue,
    /// Proof-of-lock round.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: Address,
}

impl mc::Proposal<TabellaContext> for EngineProposal {
    fn height(&self) -> EngineHeight {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &BlockValue {
        &self.value
    }
    fn take_value(self) -> BlockValue {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// One part of a streamed block: a header, chunks of the block's encoding, and the proposer's
/// signature over the whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalPart {
    /// First part: which height and round, and who proposes.
    Init {
        /// Height.
        height: EngineHeight,
        /// Round (never nil).
        round: u32,
        /// Proof-of-lock round (`None` for nil).
        pol_round: Option<u32>,
        /// The proposer.
        proposer: Address,
    },
    /// A chunk of the block's encoding, hex.
    Data {
        /// The chunk, hex encoded.
        chunk: String,
    },
    /// Last part: the proposer's signature over `height || round || block hash`.
    Fin {
        /// The signature.
        signature: Signature,
    },
}

impl mc::ProposalPart<TabellaContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init { .. })
    }
    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin { .. })
    }
}

/// A prevote or precommit, with its vote extension (precommits only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineVote {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// Height.
    pub height: EngineHeight,
    /// Round.
    pub round: Round,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockHash>,
    /// The voter.
    pub validator: Address,
    /// The signed vote extension (a serialized verdict bitmap).
    pub extension: Option<SignedExtension<TabellaContext>>,
}

impl mc::Vote<TabellaContext> for EngineVote {
    fn height(&self) -> EngineHeight {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.vote_type
    }
    fn validator_address(&self) -> &Address {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<TabellaContext>> {
        self.extension.as_ref()
    }
    fn take_extension(&mut self) -> Option<SignedExtension<TabellaContext>> {
        self.extension.take()
    }
    fn extend(self, extension: SignedExtension<TabellaContext>) -> Self {
        EngineVote {
            extension: Some(extension),
            ..self
        }
    }
}

/// An ed25519 signature with the total order the engine needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineSignature(pub Signature);

impl PartialOrd for EngineSignature {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for EngineSignature {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0 .0.to_bytes().cmp(&other.0 .0.to_bytes())
    }
}

/// Ed25519 (RFC 8032) with the ledger's validator keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ed25519Scheme;

impl mc::SigningScheme for Ed25519Scheme {
    type DecodingError = String;
    type Signature = EngineSignature;
    type PublicKey = ValidatorKey;
    type PrivateKey = ValidatorSecret;

    fn decode_signature(bytes: &[u8]) -> Result<EngineSignature, String> {
        let a: [u8; 64] = bytes
            .try_into()
            .map_err(|_| format!("a signature is 64 bytes, not {}", bytes.len()))?;
        Ok(EngineSignature(Signature(
            ed25519_dalek::Signature::from_bytes(&a),
        )))
    }

    fn encode_signature(signature: &EngineSignature) -> Vec<u8> {
        signature.0 .0.to_bytes().to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<ValidatorKey, String> {
        let a: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("a public key is 32 bytes, not {}", bytes.len()))?;
        ed25519_dalek::VerifyingKey::from_bytes(&a)
            .map(ValidatorKey)
            .map_err(|_| "not a valid ed25519 public key".to_string())
    }

    fn encode_public_key(public_key: &ValidatorKey) -> Vec<u8> {
        public_key.to_bytes().to_vec()
    }
}

/// The context type: a marker tying the types above together.
#[derive(Clone, Copy, Debug, Default)]
pub struct TabellaContext;

impl Context for TabellaContext {
    type Address = Address;
    type Height = EngineHeight;
    type ProposalPart = ProposalPart;
    type Proposal = EngineProposal;
    type Validator = EngineValidator;
    type ValidatorSet = EngineValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockValue;
    type Vote = EngineVote;
    type Extension = Vec<u8>;
    type SigningScheme = Ed25519Scheme;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a EngineValidatorSet,
        height: EngineHeight,
        round: Round,
    ) -> &'a EngineValidator {
        let n = validator_set.validators.len().max(1) as u64;
        let r = u64::from(round.as_u32().unwrap_or(0));
        let i = usize::try_from(height.0 .0.wrapping_add(r) % n).unwrap_or(0);
        validator_set
            .validators
            .get(i)
            .unwrap_or(&validator_set.first)
    }

    fn new_proposal(
        &self,
        height: EngineHeight,
        round: Round,
        value: BlockValue,
        pol_round: Round,
        address: Address,
    ) -> EngineProposal {
        EngineProposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: EngineHeight,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> EngineVote {
        EngineVote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: EngineHeight,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> EngineVote {
        EngineVote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}
