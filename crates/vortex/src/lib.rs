//! Anonymous messaging (seed 004, MessageVortex) (DESIGN.md "Anonymous messaging"), after
//! draft-gwerder-messagevortexmain-10; the decisions where the draft, its Java code and the seed
//! disagree are in docs/VORTEX.md.
//!
//! This crate is the pure core: DER messages, keys, routing operations, accounting, node
//! processing, the sender's builder and an in-process network. Blending into e-mail and the
//! transports are in `tabella-vortex-mail`.
#![forbid(unsafe_code)]

pub mod asn1;
pub mod erasure;
pub mod error;
pub mod gf;

pub use error::{Error, Result};
pub mod accounting;
pub mod asym;
pub mod builder;
pub mod hash;
pub mod node;
pub mod ops;
pub mod pow;
pub mod prng;
pub mod redundancy;
pub mod sim;
pub mod special;
pub mod sym;
pub mod wire;
