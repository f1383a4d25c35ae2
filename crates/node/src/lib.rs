//! The Tabella node: HTTP API, storage and the consensus-engine adapter around `tabella-ledger` (DESIGN.md "Ledger").
//!
//! **Not implemented yet**: this crate is an empty placeholder in the workspace layout; it
//! provides no functionality and nothing depends on it.
#![forbid(unsafe_code)]
