//! # tabella-stats
//!
//! Private statistics with proofs (seed 001 §3–§5; the Drynx system of Froelicher et al.,
//! IEEE TIFS 2020, and UnLynx, PoPETs 2017), as a pure core: no sockets, files or clocks.
//!
//! A querier asks; **data providers** encrypt their encoded answers under the **computing
//! nodes'** collective key with range proofs ([`submission`]); the nodes aggregate them
//! ([`aggregation`]), add noise from a public list each of them shuffles verifiably
//! ([`obfuscation`]), and switch the result to the querier's key ([`switch`]). Every step is a
//! [`proof::SignedProof`] naming the query, the prover and the kind; [`audit::QueryAudit`]
//! checks them in order as a verifying node does. [`session`] runs a whole query in process.
//!
//! - [`params`]: the query's parameters and id; [`party`]: signing keys;
//! - [`error`]: the crate's error type.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aggregation;
pub mod audit;
pub mod error;
pub mod obfuscation;
pub mod params;
pub mod party;
pub mod proof;
pub mod session;
pub mod submission;
pub mod switch;

pub use error::{Error, Result};
