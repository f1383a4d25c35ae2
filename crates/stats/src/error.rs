//! The crate's one error type.

use crate::party::PartyKey;
use crate::proof::ProofKind;

/// Everything that can go wrong in the statistics core. Each variant says what was wrong and,
/// for a rejected proof, who made it and which proof it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A proof was rejected: bad signature, wrong shape, or a check that failed.
    #[error("{kind} proof by {prover} rejected: {reason}")]
    ProofRejected {
        /// The prover named in the proof.
        prover: PartyKey,
        /// The kind of proof.
        kind: ProofKind,
        /// What failed.
        reason: String,
    },
    /// A party is not in the roster of the query for the role it claims.
    #[error("{party} is not a {role} of this query")]
    NotInRoster {
        /// The party.
        party: PartyKey,
        /// The role it claimed ("computing node", "data provider").
        role: &'static str,
    },
    /// A query parameter is unusable.
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    /// A step came out of order or twice.
    #[error("protocol step out of order: {0}")]
    OutOfOrder(String),
    /// A value does not fit the declared layout.
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// The cryptographic core failed.
    #[error(transparent)]
    Crypto(#[from] tabella_crypto::Error),
    /// Encoding failed.
    #[error("encoding: {0}")]
    Encoding(#[from] serde_json::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
