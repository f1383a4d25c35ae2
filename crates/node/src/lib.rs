//! The Tabella node: storage, HTTP API and the consensus-engine adapter around `tabella-ledger`
//! (DESIGN.md "Ledger").
//!
//! - [`app`]: the boundary trait between the consensus engine and the application.
//! - [`wire`]: the HTTP API's JSON bodies; [`client`]: a blocking client of that API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod client;
pub mod error;
pub mod wire;

pub use error::Error;
