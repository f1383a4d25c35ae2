//! Private statistics (seed 001 / Drynx): data providers, verifiable aggregation, noise and key switching (DESIGN.md "Private statistics").
//!
//! **Not implemented yet**: this crate is an empty placeholder in the workspace layout; it
//! provides no functionality and nothing depends on it.
#![forbid(unsafe_code)]
