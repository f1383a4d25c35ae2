//! The Tabella node: storage, HTTP API and the consensus-engine adapter around `tabella-ledger`
//! (DESIGN.md "Ledger").
//!
//! - [`app`]: the boundary trait between the consensus engine and the application.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
