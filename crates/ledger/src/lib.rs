//! # tabella-ledger
//!
//! The pure application core of Tabella's ledger (DESIGN.md "Ledger"; seed 001 §3.3, §5–6):
//! what the verifying nodes agree on, with no consensus engine, network, storage or clock.
//!
//! - [`types`]: heights and 32-byte hashes; [`roster`]: validator keys (ed25519), rosters and
//!   > 2/3 quorum signatures.
//! - [`tx`]: transactions — election envelopes of `tabella-election` and roster changes.
//! - [`merkle`]: RFC 6962 transaction trees, inclusion proofs and receipts.
//! - [`state`]: [`state::LedgerState`], many elections applied with full proof checks, and the
//!   state root; [`mempool`]: validated, de-duplicated pending transactions.
//! - [`block`], [`chain`]: Chainiac skipchain blocks (back links, commit certificates, forward
//!   links, roster hand-over); [`light`]: the light client.
//! - [`stats`]: private statistics on the chain — consortia, their key ceremony, queries with
//!   a privacy budget, proofs with deadlines and disputes, verdicts keyed per query.
//! - [`stats_party`]: what a computing node or data provider does next, given the chain.
//! - [`verdict`]: seed 001 §5.1 verdict bitmaps with beacon-seeded sampling.
//! - [`replica`]: a verifying node's replica as a pure role (propose, re-execute and vote,
//!   judge, commit, forward links); the node's application is a shell over it.
//!
//! The Malachite consensus adapter lives in `tabella-node` (`engine`); its precommit
//! signatures are this crate's [`block::Commit`] signatures. Storage, the HTTP API and the
//! node itself are in `tabella-node` too; verdict bitmaps are committed by
//! [`tx::Transaction::Verdicts`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod block;
pub mod chain;
pub mod error;
pub mod light;
pub mod mempool;
pub mod merkle;
pub mod replica;
pub mod roster;
pub mod state;
pub mod stats;
pub mod stats_party;
pub mod tx;
pub mod types;
pub mod verdict;

pub use error::{Error, Result};
