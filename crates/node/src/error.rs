//! The node crate's error type.

/// Everything that can go wrong in the node or its client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node's HTTP API could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The node answered with an error status.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// Waiting for something took too long.
    #[error("{0}")]
    Timeout(String),
    /// Encoding or decoding failed.
    #[error("encoding: {0}")]
    Encoding(String),
    /// Storage (redb, files) failed.
    #[error("storage: {0}")]
    Storage(String),
    /// Configuration is missing or invalid.
    #[error("{0}")]
    Config(String),
    /// The ledger rejected something.
    #[error(transparent)]
    Ledger(#[from] tabella_ledger::Error),
    /// The consensus engine failed.
    #[error("consensus engine: {0}")]
    Engine(String),
    /// The application refused or failed an operation.
    #[error("application: {0}")]
    App(String),
    /// I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A sealed secret could not be written or opened: no or wrong passphrase, an altered,
    /// downgraded or unencrypted key file, an unsafe passphrase file.
    #[error("{0}")]
    Key(String),
}

/// `Result` with the node's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
