//! The crate's one error type.

/// Why blending, unblending or a transport failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Parameters out of range (sizes, offsets, counts).
    #[error("bad parameters: {0}")]
    BadParameters(String),
    /// A carrier is too small for the message.
    #[error("the carrier holds {capacity} bytes, the message needs {needed}")]
    TooLarge {
        /// Bytes the carrier can take.
        capacity: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Input that does not parse (a mail, an image, a chunk chain).
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        why: String,
    },
    /// An error of the vortex core.
    #[error("vortex: {0}")]
    Vortex(#[from] tabella_vortex::Error),
    /// A transport failed for a passing reason (SMTP, IMAP, the file system): try again later.
    #[error("{0}")]
    Transport(String),
    /// The server refused for good (an SMTP 5xx): trying again will not help.
    #[error("{0}")]
    Rejected(String),
    /// The node's journal cannot be read or written: the node must stop.
    #[error("journal: {0}")]
    Journal(String),
    /// An I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A [`Error::Malformed`].
    pub fn malformed(what: &'static str, why: impl std::fmt::Display) -> Self {
        Error::Malformed {
            what,
            why: why.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
