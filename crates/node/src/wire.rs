//! The JSON bodies of the node's HTTP API (`/v1/...`), shared by the server ([`crate::api`])
//! and the client ([`crate::client`]). The OpenAPI document served at `/v1/openapi.json`
//! describes the same shapes.

use serde::{Deserialize, Serialize};
use tabella_election::action::Envelope;
use tabella_election::state::Counts;
use tabella_ledger::block::{Block, Commit};
use tabella_ledger::merkle::Receipt;
use tabella_ledger::roster::{Roster, ValidatorKey};
use tabella_ledger::types::{BlockHash, Height, TxId};
use tabella_ledger::verdict::SignedBitmap;

/// Every error response: status 4xx/5xx with this body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiError {
    /// What is wrong, in one sentence.
    pub error: String,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeStatus {
    /// The chain's identity: its genesis block hash.
    pub genesis_hash: BlockHash,
    /// Height of the last committed block.
    pub height: Height,
    /// Hash of the last committed block.
    pub tip_hash: BlockHash,
    /// This node's validator key.
    pub validator: ValidatorKey,
    /// The roster that commits the next block.
    pub roster: Roster,
    /// Transactions waiting in the mempool.
    pub mempool: usize,
}

/// `POST /v1/tx` reply (status 202): the transaction was validated and queued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submitted {
    /// Its id (poll `GET /v1/tx/{id}`).
    pub tx_id: TxId,
}

/// `GET /v1/tx/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// In the mempool, not yet committed.
    Pending,
    /// Committed: its receipt (height, index, inclusion proof).
    Committed {
        /// The receipt.
        receipt: Receipt,
    },
}

/// `GET /v1/elections/{id}/ballots/{hash}`: a committed ballot found by its receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BallotLookup {
    /// Its election.
    pub election_id: String,
    /// The receipt the voter holds (the ballot hash), hex.
    pub ballot: String,
    /// Its ledger transaction id.
    pub tx_id: TxId,
    /// The block that carried it.
    pub height: Height,
    /// Its Merkle inclusion receipt (RFC 6962) against that block's `tx_root`.
    pub receipt: Receipt,
    /// Counted in the tally (false: a later ballot of the same voter replaced it).
    pub counted: bool,
}

/// A committed block with its commit certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlockWithCommit {
    /// The block.
    pub block: Block,
    /// Its commit certificate (absent for genesis).
    pub commit: Option<Commit>,
}

/// `GET /v1/elections` items and `GET /v1/elections/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ElectionSummary {
    /// The election id.
    pub election_id: String,
    /// Its title (from the manifest).
    pub title: Option<String>,
    /// Its phase (`setup`, `key_ceremony`, `open`, `closed`, `tallied`).
    pub phase: Option<String>,
    /// Accepted envelopes (actions and ballots).
    pub accepted: u64,
    /// Registration, table and ballot counts.
    pub counts: Counts,
    /// Height of the last block that changed it.
    pub last_height: Height,
}

/// One verdict bitmap as committed on the chain (`GET /v1/elections/{id}/verdicts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommittedVerdicts {
    /// The height of the block the bitmap judges.
    pub judged_height: Height,
    /// The height of the block that committed the bitmap.
    pub committed_at: Height,
    /// The signed bitmap.
    pub bitmap: SignedBitmap,
}

/// `GET /v1/elections/{id}/envelopes`: every accepted envelope in order — all the election's
/// proofs, the raw material of its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ElectionEnvelopes {
    /// The election id.
    pub election_id: String,
    /// The envelopes.
    pub envelopes: Vec<Envelope>,
}
