//! Anonymous messaging (seed 004, MessageVortex) (DESIGN.md "Anonymous messaging").
//!
//! **Not implemented yet**: this crate is an empty placeholder in the workspace layout; it
//! provides no functionality and nothing depends on it.
#![forbid(unsafe_code)]
