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
    /// An algorithm, mode or padding we do not implement (the draft's
    /// `symmetricAlgorithmUnknown`, `asymmetricAlgorithmUnknown`, `macAlgorithmUnknown`,
    /// `prngAlgorithmUnknown`).
    Unsupported(String),
    /// Authenticated decryption failed: the data was modified, or the key is not the one it was
    /// sealed with.
    Tampered,
    /// A padding, prefix or length does not check out after decryption or recovery.
    BadPadding,
    /// A workspace slot an operation reads is empty.
    MissingChunk(u16),
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
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Tampered => write!(
                f,
                "authenticated decryption failed (tampered data or wrong key)"
            ),
            Error::BadPadding => write!(f, "the padding or length prefix does not verify"),
            Error::MissingChunk(id) => write!(f, "workspace slot {id} is empty"),
        }
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
