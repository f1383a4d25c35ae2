//! The Tabella node: storage, HTTP API and the consensus-engine adapter around `tabella-ledger`
//! (DESIGN.md "Ledger").
//!
//! - [`app`]: the boundary trait between the consensus engine and the application.
//! - [`node_app`]: the application — the ledger's [`tabella_ledger::replica::Replica`] plus
//!   mempool, [`store`] (redb) and [`index`]; [`genesis`]: the chain's founding document.
//! - [`api`]: the HTTP API (axum).
//! - [`wire`]: the HTTP API's JSON bodies; [`client`]: a blocking client of that API.
//! - [`engine`]: the Malachite consensus adapter that drives a [`app::LedgerApp`].
//! - [`home`]: a node's home directory; [`seal`]: secrets sealed under a passphrase (the
//!   validator key here, every role's keys in the `tabella` keystore).
//! - [`error`]: the crate's error type.
//! - [`log`]: an optional stderr logger (`TABELLA_LOG`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod app;
pub mod client;
pub mod durable;
pub mod engine;
pub mod error;
pub mod genesis;
pub mod home;
pub mod index;
pub mod log;
pub mod node_app;
pub mod pages;
pub mod run;
pub mod seal;
pub mod store;
pub mod wire;

pub use error::{Error, Result};
