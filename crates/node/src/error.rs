//! The node crate's error type.

/// Everything that can go wrong in the node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The consensus engine could not start, failed or stopped unexpectedly.
    #[error("consensus engine: {0}")]
    Engine(String),
    /// The application refused or failed an operation.
    #[error("application: {0}")]
    App(String),
    /// An invalid configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A file-system error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with the node's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
