//! The boundary between the consensus engine and the application (DESIGN.md "Ledger").
//!
//! The engine adapter ([`crate::engine`]) drives a [`LedgerApp`]: it asks for proposals,
//! hands received proposals over for re-execution before voting, collects each validator's
//! verdict bitmap as a precommit vote extension, and delivers decided blocks with their commit
//! certificates. The application never runs consensus; the engine never looks inside blocks.
//!
//! Every method is synchronous and may take a while (re-executing a block verifies every
//! proof in it): the engine calls them from a blocking task, never on an async worker.

use tabella_ledger::block::{Block, Commit};
use tabella_ledger::roster::Roster;
use tabella_ledger::types::{BlockHash, Height};
use tabella_ledger::verdict::SignedBitmap;

/// An application error as the engine sees it: a message (the engine logs it and, for a
/// proposal, votes nil).
pub type AppError = String;

/// Why a decided block was not committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// It does not apply to this node's state: the engine logs it and starts the height again.
    #[error("{0}")]
    Rejected(AppError),
    /// It could not be stored durably (see [`crate::Error::is_fatal`]): the engine stops, and
    /// the node with it, rather than run ahead of its disk. Nothing committed is lost: the
    /// block is in the engine's write-ahead log or with the other validators.
    #[error(transparent)]
    Halt(crate::Error),
}

/// What the consensus engine needs from the application.
pub trait LedgerApp: Send + 'static {
    /// The genesis block's hash: the chain's identity.
    fn genesis_hash(&self) -> BlockHash;
    /// Height of the last committed block (`Height(0)` when only genesis exists).
    fn tip_height(&self) -> Height;
    /// The roster that commits the next block (`tip_height + 1`).
    fn next_roster(&self) -> Roster;
    /// Builds the block at `height` (= tip + 1) from the mempool. `verdicts` are the vote
    /// extensions that came with the previous block's commit certificate; the proposer includes
    /// them so that they are committed on the chain.
    fn propose(&mut self, height: Height, verdicts: Vec<SignedBitmap>) -> Result<Block, AppError>;
    /// Re-executes a received proposal on a copy of the state, verifying every proof in it.
    /// `Ok` means this validator votes for it.
    fn validate(&mut self, block: &Block) -> Result<(), AppError>;
    /// This validator's signed verdict bitmap for a block it validated (its precommit vote
    /// extension), or `None` if it has not validated that block.
    fn verdicts_for(&mut self, block: &BlockHash) -> Option<SignedBitmap>;
    /// Checks a vote extension received from a validator of `roster`.
    fn check_verdicts(&self, bitmap: &SignedBitmap) -> Result<(), AppError>;
    /// Stores and applies a decided block with its certificate (durably, before returning).
    fn commit(&mut self, block: Block, commit: Commit) -> Result<(), CommitError>;
    /// A committed block and its certificate, for the engine's sync of lagging peers.
    fn decided(&self, height: Height) -> Option<(Block, Commit)>;
}
