//! What the engine signs, and how: ed25519 with the validator's ledger key, every message
//! under its own domain.
//!
//! A precommit for a block signs exactly the ledger's commit message
//! ([`tabella_ledger::block::Commit::message`] under [`COMMIT_DOMAIN`]), so the engine's commit
//! certificate is the ledger's. A vote extension (a serialized verdict bitmap) is signed as the
//! bitmap itself is ([`VERDICT_DOMAIN`] over its signed bytes): ed25519 is deterministic, so
//! the extension's signature is the bitmap's own and a stored bitmap rebuilds the engine's
//! signed extension.

use arc_malachitebft_app_channel::app::types::core::SigningScheme as _;
use arc_malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use arc_malachitebft_app_channel::{Signer, Verifier};
use arc_malachitebft_signing::{Error as SigningError, VerificationResult};
use async_trait::async_trait;
use tabella_ledger::block::{Commit, COMMIT_DOMAIN};
use tabella_ledger::roster::{Signature, ValidatorKey, ValidatorSecret};
use tabella_ledger::types::BlockHash;
use tabella_ledger::verdict::{SignedBitmap, VERDICT_DOMAIN};

use super::context::{Ed25519Scheme, EngineProposal, EngineSignature, EngineVote, TabellaContext};

/// Domain of prevotes and nil precommits.
pub const VOTE_DOMAIN: &str = "tabella/engine/vote/v1";
/// Domain of proposals.
pub const PROPOSAL_DOMAIN: &str = "tabella/engine/proposal/v1";
/// Domain of the proposer's signature closing a stream of proposal parts.
pub const PARTS_DOMAIN: &str = "tabella/engine/proposal-parts/v1";
/// Domain of the proof binding a validator key to a network peer id.
pub const VALIDATOR_PROOF_DOMAIN: &str = "tabella/engine/validator-proof/v1";

fn round_bytes(r: Round) -> [u8; 8] {
    r.as_i64().to_le_bytes()
}

/// The domain and bytes a vote signs.
pub fn vote_signed_bytes(vote: &EngineVote) -> Result<(&'static str, Vec<u8>), String> {
    match (&vote.vote_type, &vote.value) {
        (VoteType::Precommit, NilOrVal::Val(id)) => {
            let round = vote
                .round
                .as_u32()
                .ok_or_else(|| "a precommit for a block has a defined round".to_string())?;
            Ok((COMMIT_DOMAIN, Commit::message(vote.height.0, round, id)))
        }
        (t, v) => {
            let mut m = vec![match t {
                VoteType::Prevote => 0u8,
                VoteType::Precommit => 1u8,
            }];
            m.extend_from_slice(&vote.height.0 .0.to_le_bytes());
            m.extend_from_slice(&round_bytes(vote.round));
            match v {
                NilOrVal::Nil => m.push(0),
                NilOrVal::Val(id) => {
                    m.push(1);
                    m.extend_from_slice(&id.0);
                }
            }
            m.extend_from_slice(&vote.validator.0.to_bytes());
            Ok((VOTE_DOMAIN, m))
        }
    }
}

/// The bytes a proposal signs (under [`PROPOSAL_DOMAIN`]).
pub fn proposal_signed_bytes(p: &EngineProposal) -> Vec<u8> {
    use arc_malachitebft_app_channel::app::types::core::Value as _;
    let mut m = p.height.0 .0.to_le_bytes().to_vec();
    m.extend_from_slice(&round_bytes(p.round));
    m.extend_from_slice(&round_bytes(p.pol_round));
    m.extend_from_slice(&p.value.id().0);
    m.extend_from_slice(&p.proposer.0.to_bytes());
    m
}

/// The bytes closing a stream of parts (under [`PARTS_DOMAIN`]).
pub fn parts_signed_bytes(height: u64, round: u32, block: &BlockHash) -> Vec<u8> {
    let mut m = height.to_le_bytes().to_vec();
    m.extend_from_slice(&round.to_le_bytes());
    m.extend_from_slice(&block.0);
    m
}

fn err(msg: impl Into<String>) -> SigningError {
    let s: String = msg.into();
    SigningError::from_source(s)
}

fn decode_bitmap(ext: &[u8]) -> Result<SignedBitmap, String> {
    serde_json::from_slice(ext).map_err(|e| format!("vote extension is not a verdict bitmap: {e}"))
}

/// Signs everything the engine asks for with one validator key.
#[derive(Clone, Debug)]
pub struct EngineSigner {
    secret: ValidatorSecret,
}

impl EngineSigner {
    /// A signer with `secret`.
    pub fn new(secret: ValidatorSecret) -> Self {
        EngineSigner { secret }
    }
}

#[async_trait]
impl Signer<TabellaContext> for EngineSigner {
    async fn sign_vote(
        &self,
        vote: EngineVote,
    ) -> Result<SignedMessage<TabellaContext, EngineVote>, SigningError> {
        let (domain, bytes) = vote_signed_bytes(&vote).map_err(err)?;
        let signature = EngineSignature(self.secret.sign(domain, &bytes));
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: EngineProposal,
    ) -> Result<SignedMessage<TabellaContext, EngineProposal>, SigningError> {
        let signature = EngineSignature(
            self.secret
                .sign(PROPOSAL_DOMAIN, &proposal_signed_bytes(&proposal)),
        );
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<TabellaContext>,
        extension: Vec<u8>,
    ) -> Result<SignedMessage<TabellaContext, Vec<u8>>, SigningError> {
        let bitmap = decode_bitmap(&extension).map_err(err)?;
        if bitmap.bitmap.node != self.secret.public() {
            return Err(err("a node extends its vote only with its own bitmap"));
        }
        let signature = EngineSignature(
            self.secret
                .sign(VERDICT_DOMAIN, &bitmap.bitmap.signed_bytes()),
        );
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<TabellaContext>, SigningError> {
        let bytes = ValidatorProof::<TabellaContext>::signing_bytes(&public_key, &peer_id);
        let signature = EngineSignature(self.secret.sign(VALIDATOR_PROOF_DOMAIN, &bytes));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// Verifies the signatures [`EngineSigner`] makes.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineVerifier;

fn check(
    key: &ValidatorKey,
    domain: &str,
    bytes: &[u8],
    sig: &EngineSignature,
) -> VerificationResult {
    VerificationResult::from_bool(key.verify(domain, bytes, &sig.0).is_ok())
}

#[async_trait]
impl Verifier<TabellaContext> for EngineVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &EngineVote,
        signature: &EngineSignature,
        public_key: &ValidatorKey,
    ) -> Result<VerificationResult, SigningError> {
        let (domain, bytes) = vote_signed_bytes(vote).map_err(err)?;
        Ok(check(public_key, domain, &bytes, signature))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &EngineProposal,
        signature: &EngineSignature,
        public_key: &ValidatorKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(check(
            public_key,
            PROPOSAL_DOMAIN,
            &proposal_signed_bytes(proposal),
            signature,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<TabellaContext>,
        extension: &Vec<u8>,
        signature: &EngineSignature,
        public_key: &ValidatorKey,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(bitmap) = decode_bitmap(extension) else {
            return Ok(VerificationResult::Invalid);
        };
        let b = &bitmap.bitmap;
        if &b.node != public_key
            || scope.validator_address.0 != *public_key
            || b.height != scope.height.0
            || bitmap.signature != signature.0
        {
            return Ok(VerificationResult::Invalid);
        }
        Ok(check(
            public_key,
            VERDICT_DOMAIN,
            &b.signed_bytes(),
            signature,
        ))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<TabellaContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(key) = Ed25519Scheme::decode_public_key(&proof.public_key) else {
            return Ok(VerificationResult::Invalid);
        };
        Ok(check(
            &key,
            VALIDATOR_PROOF_DOMAIN,
            &proof.preimage(),
            &proof.signature,
        ))
    }
}

/// The engine's signed extension for a stored verdict bitmap (see the module doc).
pub fn extension_of(
    bitmap: &SignedBitmap,
) -> Result<SignedMessage<TabellaContext, Vec<u8>>, String> {
    let bytes = serde_json::to_vec(bitmap).map_err(|e| e.to_string())?;
    Ok(SignedMessage::new(bytes, EngineSignature(bitmap.signature)))
}

/// Decodes a vote extension as a verdict bitmap.
pub fn bitmap_of(extension: &[u8]) -> Result<SignedBitmap, String> {
    decode_bitmap(extension)
}

/// The proposer's signature closing a stream of parts.
pub fn sign_parts(
    secret: &ValidatorSecret,
    height: u64,
    round: u32,
    block: &BlockHash,
) -> Signature {
    secret.sign(PARTS_DOMAIN, &parts_signed_bytes(height, round, block))
}
