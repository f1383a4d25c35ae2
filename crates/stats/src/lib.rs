//! Private statistics (seed 001 / Drynx): data providers, verifiable aggregation, noise and key
//! switching (DESIGN.md "Private statistics").
//!
//! This crate is sans-IO: no files, sockets or clocks; randomness is passed in.
//!
//! The plaintext half, on which the cryptographic protocol builds:
//!
//! - [`schema`]: typed rows with declared domains;
//! - [`predicate`]: WHERE clauses a data provider evaluates over its own rows;
//! - [`query`]: the operations (sum, mean, variance, histograms, min/max, booleans, sets,
//!   cosine similarity, linear and logistic regression, R²) and their decoded results;
//! - [`encoding`]: for each operation the fixed-length vector of bounded non-negative integers a
//!   data provider sends, and how the entry-wise totals over all providers decode to the result
//!   (`docs/STATS.md`);
//! - [`noise`]: exact discrete Laplace and Gaussian samplers for the distributed results
//!   obfuscation.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod encoding;
pub mod error;
pub mod linalg;
pub mod noise;
pub mod predicate;
pub mod query;
pub mod schema;

pub use encoding::{decode, encode, layout, Layout};
pub use error::{Error, Result};
pub use predicate::Predicate;
pub use query::{Operation, QueryResult};
pub use schema::{Column, ColumnType, Decimal, Row, Schema, Value};
