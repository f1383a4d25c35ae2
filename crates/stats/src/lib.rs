//! # tabella-stats
//!
//! Private statistics with proofs (seed 001 §3–§5; the Drynx system of Froelicher et al.,
//! IEEE TIFS 2020, and UnLynx, PoPETs 2017), as a pure core: no sockets, files or clocks.
//!
//! A querier asks; **data providers** encrypt their encoded answers under the **computing
//! nodes'** collective key with range proofs ([`submission`]); the nodes aggregate them
//! ([`aggregation`]), each add its own secret, range-proved noise list, which every node
//! shuffles verifiably ([`obfuscation`]), and switch the result to the querier's key ([`switch`]). Every step is a
//! [`proof::SignedProof`] naming the query, the prover and the kind; [`audit::QueryAudit`]
//! checks them in order as a verifying node does. [`session`] runs a whole query in process.
//!
//! - [`statement`]: a querier's question over a schema, and its protocol parameters;
//! - [`params`]: the query's parameters and id; [`party`]: signing keys;
//! - [`error`]: the crate's error type.
//!
//! The plaintext half, on which the protocol builds (`docs/STATS.md`):
//!
//! - [`schema`]: typed rows with declared domains;
//! - [`predicate`]: WHERE clauses a data provider evaluates over its own rows;
//! - [`query`]: the operations (sum, mean, variance, histograms, min/max, booleans, sets,
//!   cosine similarity, linear and logistic regression, R²) and their decoded results;
//! - [`encoding`]: for each operation the fixed-length vector of bounded non-negative integers a
//!   data provider sends, and how the entry-wise totals over all providers decode to the result;
//! - [`noise`]: exact discrete Laplace and Gaussian samplers for the distributed results
//!   obfuscation; [`linalg`]: the exact solver of the regressions.
//!
//! The plaintext flow, without encryption (the protocol encrypts each entry, proves its range and
//! adds the ciphertexts instead of the integers):
//!
//! ```
//! use tabella_stats::{decode, encode, layout, Operation, Predicate, QueryResult, Row, Schema};
//!
//! # fn main() -> tabella_stats::Result<()> {
//! let schema = Schema::new(1000)?
//!     .integer("age", 0, 120)?
//!     .decimal("bmi", 1, "10", "60")?
//!     .text("region")?;
//! let op = Operation::Mean { column: "bmi".into() };
//! let predicate = Predicate::parse("age > 40 AND region = 'N'", &schema)?;
//!
//! // Two data providers, each with its own rows.
//! let dp1 = vec![Row::parse(&schema, &["41", "22.5", "N"])?, Row::parse(&schema, &["30", "30", "N"])?];
//! let dp2 = vec![Row::parse(&schema, &["65", "27.1", "N"])?, Row::parse(&schema, &["70", "19", "S"])?];
//!
//! let l = layout(&op, &schema)?;
//! let mut totals = vec![0i128; l.len];
//! for rows in [&dp1, &dp2] {
//!     let answer = encode(&op, &schema, predicate.filter(rows)?)?;
//!     for (t, v) in totals.iter_mut().zip(answer) {
//!         *t += i128::from(v);
//!     }
//! }
//! let QueryResult::Mean { mean, count } = decode(&op, &schema, &totals)? else { unreachable!() };
//! assert_eq!(count, 2);
//! assert_eq!(mean.to_string(), "124/5"); // (22.5 + 27.1) / 2 = 24.8, exactly
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aggregation;
pub mod audit;
pub mod encoding;
pub mod error;
pub mod linalg;
pub mod noise;
pub mod obfuscation;
pub mod params;
pub mod party;
pub mod predicate;
pub mod proof;
pub mod query;
pub mod schema;
pub mod session;
pub mod statement;
pub mod submission;
pub mod switch;

pub use encoding::{decode, encode, layout, Layout};
pub use error::{Error, Result};
pub use predicate::Predicate;
pub use query::{Operation, QueryResult};
pub use schema::{Column, ColumnType, Decimal, Row, Schema, Value};

/// Exact rational results ([`QueryResult`]) are `num-rational` big rationals.
pub use num_rational::BigRational;
