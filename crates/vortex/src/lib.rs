//! Anonymous messaging (seed 004, MessageVortex) (DESIGN.md "Anonymous messaging"), after
//! draft-gwerder-messagevortexmain-10; the decisions where the draft, its Java code and the seed
//! disagree are in docs/VORTEX.md.
//!
//! **Work in progress (issue 14)**: so far the finite fields and the systematic Reed–Solomon
//! erasure code under the redundancy operations; messages, keys, the other operations,
//! accounting, node processing, the builder and the simulation are still to come.
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
