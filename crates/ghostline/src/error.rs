//! The one error type of `tabella-ghostline`.
//!
//! Every variant says what was wrong and, where there is one, what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong in GhostLine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The sender's pad region cannot hold another message of this size.
    #[error(
        "pad exhausted: this message needs {needed} pad bytes but only {remaining} remain in sender \
         {sender}'s region; make a new pad set with `tabella ghostline pad new`"
    )]
    PadExhausted {
        /// Sender whose region is exhausted.
        sender: u16,
        /// Pad bytes the message would consume.
        needed: u64,
        /// Pad bytes left in the region.
        remaining: u64,
    },
    /// A message is larger than the format allows.
    #[error("message of {len} bytes is too long (at most {max} bytes)")]
    MessageTooLong {
        /// Length of the rejected message.
        len: usize,
        /// Largest accepted length.
        max: usize,
    },
    /// Bytes that should be a GhostLine structure are malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A message was made with another pad set.
    #[error("message belongs to pad {found}, but this pad is {expected}")]
    WrongPad {
        /// Pad id of this pad file.
        expected: String,
        /// Pad id carried by the message.
        found: String,
    },
    /// The message names a sender index that the pad does not have.
    #[error("unknown sender {sender}: the pad has {participants} participants")]
    UnknownSender {
        /// The sender index in the message.
        sender: u16,
        /// Number of participants of the pad.
        participants: u16,
    },
    /// The message claims pad bytes outside the sender's region.
    #[error("message claims pad bytes {offset}..{end} outside sender {sender}'s region of {region} bytes")]
    OutOfRegion {
        /// Sender index.
        sender: u16,
        /// Claimed start offset in the region.
        offset: u64,
        /// Claimed end offset in the region.
        end: u64,
        /// Size of the region.
        region: u64,
    },
    /// A message from ourselves came back (e.g. an echo or a reflected replay).
    #[error("message claims to be from this participant ({sender}); ignored")]
    OwnMessage {
        /// Our own index.
        sender: u16,
    },
    /// The message is at or below the sender's high-water mark: a replay or a reordered message.
    #[error(
        "replayed or reordered message from sender {sender}: offset {offset} is below the \
         high-water mark {high_water}; rejected"
    )]
    Replay {
        /// Sender index.
        sender: u16,
        /// Offset claimed by the message.
        offset: u64,
        /// Everything below this offset was already received or skipped.
        high_water: u64,
    },
    /// The message does not start at a chunk boundary: no honest sender makes such a message.
    #[error("message from sender {sender} starts at offset {offset}, not at a chunk boundary: forged or corrupted; rejected")]
    Misaligned {
        /// Claimed sender index.
        sender: u16,
        /// Claimed offset.
        offset: u64,
    },
    /// The authentication tag does not match: the message is forged or corrupted.
    #[error("authentication failed for a message claiming sender {sender} offset {offset}: forged or corrupted; rejected")]
    AuthenticationFailed {
        /// Claimed sender index.
        sender: u16,
        /// Claimed offset.
        offset: u64,
    },
    /// A pad file or state file is inconsistent.
    #[error("pad store {path}: {reason}")]
    Store {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An I/O operation failed.
    #[error("{context}: {cause}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error (shown in the message, so not also chained as a source).
        cause: std::io::Error,
    },
    /// The relay refused or dropped us.
    #[error("relay: {0}")]
    Relay(String),
    /// An invalid argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            cause: source,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            reason: reason.into(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
