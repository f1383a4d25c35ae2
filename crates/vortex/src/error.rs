//! The crate's one error type.

use std::fmt;

/// Why an operation of the MessageVortex core failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// An operation's parameters are out of their range (the draft's `badParameters`).
    BadParameters(String),
    /// Too few blocks to recover a message: `have` of the `need` required.
    NotEnoughBlocks {
        /// Blocks present.
        have: usize,
        /// Blocks needed.
        need: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadParameters(why) => write!(f, "bad parameters: {why}"),
            Error::NotEnoughBlocks { have, need } => {
                write!(
                    f,
                    "{have} blocks present, {need} needed to recover the message"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
