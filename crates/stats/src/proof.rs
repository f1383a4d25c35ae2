//! Proofs as the verifying nodes receive them (seed 001 §5.1): typed, serializable, signed by
//! their prover, naming the query and the kind, so a failure names who cheated and where.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tabella_crypto::ed25519::Signature;

use crate::aggregation::Aggregation;
use crate::error::{Error, Result};
use crate::obfuscation::ShuffleStep;
use crate::params::{proof_context, QueryId};
use crate::party::{PartyKey, PartySecret};
use crate::submission::Submission;
use crate::switch::KeySwitchStep;

/// Signature domain of every statistics proof.
pub const PROOF_DOMAIN: &str = "tabella/stats/proof/v1";

/// The kinds of proof of seed 001 §5.3.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = StatsProofKind)]
pub enum ProofKind {
    /// A data provider's encrypted answer with range proofs.
    Range,
    /// A computing node's aggregation.
    Aggregation,
    /// A computing node's secret noise list, encrypted with range proofs.
    Noise,
    /// A computing node's shuffle of a noise list.
    Shuffle,
    /// A computing node's key-switch contributions.
    KeySwitch,
}

impl ProofKind {
    /// The label bound into the proof's Fiat–Shamir context.
    pub fn label(self) -> &'static str {
        match self {
            ProofKind::Range => "tabella/stats/range/v1",
            ProofKind::Aggregation => "tabella/stats/aggregation/v1",
            ProofKind::Noise => "tabella/stats/noise/v1",
            ProofKind::Shuffle => "tabella/stats/shuffle/v1",
            ProofKind::KeySwitch => "tabella/stats/key-switch/v1",
        }
    }
}

impl fmt::Display for ProofKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProofKind::Range => "range",
            ProofKind::Aggregation => "aggregation",
            ProofKind::Noise => "noise",
            ProofKind::Shuffle => "shuffle",
            ProofKind::KeySwitch => "key-switch",
        })
    }
}

/// What a proof proves.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum ProofBody {
    /// A data provider's answer.
    Range(Submission),
    /// An aggregation.
    Aggregation(Aggregation),
    /// A computing node's encrypted noise list.
    Noise(Submission),
    /// A shuffle of a noise list.
    Shuffle(Box<ShuffleStep>),
    /// Key-switch contributions.
    KeySwitch(KeySwitchStep),
}

impl ProofBody {
    /// The body's kind.
    pub fn kind(&self) -> ProofKind {
        match self {
            ProofBody::Range(_) => ProofKind::Range,
            ProofBody::Aggregation(_) => ProofKind::Aggregation,
            ProofBody::Noise(_) => ProofKind::Noise,
            ProofBody::Shuffle(_) => ProofKind::Shuffle,
            ProofBody::KeySwitch(_) => ProofKind::KeySwitch,
        }
    }
}

/// A proof signed by its prover.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedProof {
    /// The query it belongs to.
    pub query: QueryId,
    /// Who made it.
    pub prover: PartyKey,
    /// The proof.
    pub body: ProofBody,
    /// `prover`'s signature over [`SignedProof::digest`].
    pub signature: Signature,
}

impl SignedProof {
    /// `SHA-256(JSON(query, prover, body))`: what the signature covers.
    pub fn digest(query: &QueryId, prover: &PartyKey, body: &ProofBody) -> Result<[u8; 32]> {
        let json = serde_json::to_vec(&(query, prover, body))?;
        Ok(Sha256::digest(&json).into())
    }

    /// Signs `body` for `query` as `secret`.
    pub fn sign(query: QueryId, secret: &PartySecret, body: ProofBody) -> Result<SignedProof> {
        let prover = secret.public();
        let digest = Self::digest(&query, &prover, &body)?;
        Ok(SignedProof {
            query,
            prover,
            signature: secret.sign(PROOF_DOMAIN, &digest),
            body,
        })
    }

    /// The proof's kind.
    pub fn kind(&self) -> ProofKind {
        self.body.kind()
    }

    /// The Fiat–Shamir context of the proof: its kind, query and prover.
    pub fn context(&self) -> Vec<u8> {
        proof_context(self.kind().label(), &self.query, &self.prover)
    }

    /// The error rejecting this proof for `reason`.
    pub fn rejected(&self, reason: impl Into<String>) -> Error {
        Error::ProofRejected {
            prover: self.prover,
            kind: self.kind(),
            reason: reason.into(),
        }
    }

    /// Checks the prover's signature.
    pub fn check_signature(&self) -> Result<()> {
        let digest = Self::digest(&self.query, &self.prover, &self.body)?;
        if self.prover.verify(PROOF_DOMAIN, &digest, &self.signature) {
            Ok(())
        } else {
            Err(self.rejected("bad signature"))
        }
    }
}
