//! # tabella-election
//!
//! The election protocol of Tabella: seeds 000 (anonymous e-voting on a ledger) and 003 (electoral
//! council, polling tables, jurors) as one deterministic state machine, on the cryptographic core.
//! Pure: no I/O, no clocks; randomness is injected.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod action;
pub mod audit;
pub mod ballot;
pub mod batch;
pub mod choice;
pub mod error;
pub mod ids;
pub mod manifest;
pub mod paillier_ballot;
pub mod record;
pub mod sign;
pub mod simulate;
pub mod state;
pub mod tally;
pub mod trustee;
pub mod verify;
pub mod whitelist;

pub use error::{Error, Result};
