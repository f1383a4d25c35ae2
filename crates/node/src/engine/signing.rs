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

#[cfg(test)]
mod tests {
    use arc_malachitebft_app_channel::app::types::codec::Codec;
    use arc_malachitebft_app_channel::app::types::core::{Context as _, Vote as _};
    use arc_malachitebft_app_channel::app::types::SignedConsensusMsg;
    use bytes::Bytes;
    use tabella_ledger::roster::Roster;
    use tabella_ledger::types::Height;
    use tabella_ledger::verdict::{ProofKind, ProofSlot, SampleRate, VerdictBitmap};

    use super::*;
    use crate::engine::codec::EngineCodec;
    use crate::engine::context::{Address, EngineHeight};

    fn secret(i: u8) -> ValidatorSecret {
        ValidatorSecret::from_bytes(&[i; 32])
    }

    fn bitmap(s: &ValidatorSecret, height: u64) -> SignedBitmap {
        let slots = [ProofSlot {
            id: tabella_ledger::types::ProofId([7; 32]),
            kind: ProofKind::Always,
            received: true,
        }];
        VerdictBitmap::judge(
            Height(height),
            BlockHash([1; 32]),
            s.public(),
            SampleRate::ALWAYS,
            &slots,
            |_, _| true,
        )
        .sign(s)
        .unwrap()
    }

    #[tokio::test]
    async fn precommits_are_ledger_commit_signatures() {
        let s = secret(3);
        let me = Address(s.public());
        let hash = BlockHash([9; 32]);
        let vote = TabellaContext.new_precommit(
            EngineHeight(Height(5)),
            Round::new(2),
            NilOrVal::Val(hash),
            me,
        );
        let signed = EngineSigner::new(s.clone())
            .sign_vote(vote.clone())
            .await
            .unwrap();
        let ledger = Commit::sign(&s, Height(5), 2, &hash);
        assert_eq!(signed.signature.0, ledger.signature);
        let roster = Roster::new(vec![s.public()]).unwrap();
        roster
            .verify_quorum(
                COMMIT_DOMAIN,
                &Commit::message(Height(5), 2, &hash),
                &[ledger],
            )
            .unwrap();
        let v = EngineVerifier;
        assert!(v
            .verify_signed_vote(&vote, &signed.signature, &s.public())
            .await
            .unwrap()
            .is_valid());
        // A nil precommit or a prevote is not a commit signature.
        let nil =
            TabellaContext.new_precommit(EngineHeight(Height(5)), Round::new(2), NilOrVal::Nil, me);
        let prevote = TabellaContext.new_prevote(
            EngineHeight(Height(5)),
            Round::new(2),
            NilOrVal::Val(hash),
            me,
        );
        for other in [nil, prevote] {
            assert!(v
                .verify_signed_vote(&other, &signed.signature, &s.public())
                .await
                .unwrap()
                .is_invalid());
        }
    }

    #[tokio::test]
    async fn extension_signature_is_the_bitmaps_own() {
        let s = secret(4);
        let b = bitmap(&s, 6);
        let ext = serde_json::to_vec(&b).unwrap();
        let scope = VoteExtensionScope::new(
            EngineHeight(Height(6)),
            Round::new(0),
            BlockHash([2; 32]),
            Address(s.public()),
        );
        let signed = EngineSigner::new(s.clone())
            .sign_vote_extension(scope.clone(), ext.clone())
            .await
            .unwrap();
        assert_eq!(signed.signature.0, b.signature);
        assert_eq!(extension_of(&b).unwrap().signature, signed.signature);
        let v = EngineVerifier;
        assert!(v
            .verify_signed_vote_extension(&scope, &ext, &signed.signature, &s.public())
            .await
            .unwrap()
            .is_valid());
        // Wrong height, wrong key, garbage.
        let mut wrong = scope.clone();
        wrong.height = EngineHeight(Height(7));
        assert!(v
            .verify_signed_vote_extension(&wrong, &ext, &signed.signature, &s.public())
            .await
            .unwrap()
            .is_invalid());
        let other = secret(5);
        assert!(v
            .verify_signed_vote_extension(&scope, &ext, &signed.signature, &other.public())
            .await
            .unwrap()
            .is_invalid());
        assert!(v
            .verify_signed_vote_extension(&scope, &b"junk".to_vec(), &signed.signature, &s.public())
            .await
            .unwrap()
            .is_invalid());
        // Another node's bitmap cannot be signed as one's own.
        assert!(EngineSigner::new(other)
            .sign_vote_extension(scope, ext)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn codec_round_trips_and_rejects_garbage() {
        let s = secret(6);
        let b = bitmap(&s, 3);
        let vote = TabellaContext
            .new_precommit(
                EngineHeight(Height(3)),
                Round::new(1),
                NilOrVal::Val(BlockHash([4; 32])),
                Address(s.public()),
            )
            .extend(extension_of(&b).unwrap());
        let signed = EngineSigner::new(s).sign_vote(vote).await.unwrap();
        let msg = SignedConsensusMsg::Vote(signed);
        let bytes = EngineCodec.encode(&msg).unwrap();
        let back: SignedConsensusMsg<TabellaContext> = EngineCodec.decode(bytes).unwrap();
        assert_eq!(back, msg);
        for junk in [&b""[..], b"{}", b"[1,2]", b"\xff\xfe", b"{\"Vote\":{}}"] {
            let r: Result<SignedConsensusMsg<TabellaContext>, _> =
                EngineCodec.decode(Bytes::from(junk.to_vec()));
            assert!(r.is_err());
        }
    }
}
