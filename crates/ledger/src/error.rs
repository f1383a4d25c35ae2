//! The crate's one error type.

use crate::types::Height;

/// Everything that can go wrong in the ledger core. Each variant says what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An election transaction was rejected by the election state machine.
    #[error("election {election} rejected the transaction: {source}")]
    Election {
        /// The election the transaction targets.
        election: String,
        /// The election engine's reason.
        #[source]
        source: tabella_election::Error,
    },
    /// A statistics transaction breaks a rule of the ledger's statistics protocol (budget,
    /// deadline, roster, order).
    #[error("statistics: {0}")]
    Stats(String),
    /// The statistics core refused a proof or a query.
    #[error("statistics: {0}")]
    StatsCore(#[from] tabella_stats::Error),
    /// The transaction is badly formed (e.g. its election id does not match its envelope).
    #[error("malformed transaction: {0}")]
    MalformedTx(String),
    /// A block contains an invalid transaction; the block is rejected as a whole.
    #[error("transaction {index} of the block is invalid: {source}")]
    InvalidTxInBlock {
        /// Position of the first invalid transaction.
        index: usize,
        /// Why it is invalid.
        #[source]
        source: Box<Error>,
    },
    /// The mempool is full; retry after the next block.
    #[error("the mempool is full ({0} transactions); retry after the next block")]
    MempoolFull(usize),
    /// The transaction is already in the mempool or was already committed.
    #[error("duplicate transaction {0}")]
    DuplicateTx(String),
    /// A signature does not verify, is by a key outside the roster, or is repeated.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Fewer than the required > 2/3 of the roster signed.
    #[error("no quorum: {got} valid signatures of a roster of {roster}, need {need}")]
    NoQuorum {
        /// Valid distinct signatures.
        got: usize,
        /// Roster size.
        roster: usize,
        /// Signatures needed.
        need: usize,
    },
    /// A roster is empty, has duplicate members, or is not the one expected.
    #[error("bad roster: {0}")]
    BadRoster(String),
    /// A block does not extend the chain correctly (height, links, roots, rosters).
    #[error("bad block at height {height}: {reason}")]
    BadBlock {
        /// The block's height.
        height: Height,
        /// What was wrong.
        reason: String,
    },
    /// A skipchain link (commit certificate or forward link) is missing or broken.
    #[error("bad link: {0}")]
    BadLink(String),
    /// Invalid skipchain parameters.
    #[error("bad skipchain parameters: {0}")]
    BadParams(String),
    /// A Merkle inclusion proof does not verify.
    #[error("bad inclusion proof: {0}")]
    BadProof(String),
    /// A requested item does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Encoding to canonical bytes failed.
    #[error("encoding: {0}")]
    Encoding(String),
}

/// Result with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
