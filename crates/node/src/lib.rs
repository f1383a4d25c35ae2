//! The Tabella node: storage, HTTP API and the consensus-engine adapter around `tabella-ledger`
//! (DESIGN.md "Ledger").
//!
//! - [`app`]: the boundary trait between the consensus engine and the application.
//! - [`engine`]: the Malachite consensus adapter that drives a [`app::LedgerApp`].
//! - [`error`]: the crate's error type.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod engine;
pub mod error;

pub use error::{Error, Result};
