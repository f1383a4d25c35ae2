//! The node crate's error type: one variant per kind of failure, with the facts a caller can
//! act on (paths, heights, HTTP status, the field of a key file) as typed fields.

use std::path::PathBuf;

use tabella_ledger::types::Height;

/// Everything that can go wrong in the node or its client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node's HTTP API could not be reached.
    #[error("cannot reach the node at {url} ({reason}); is `tabella node run` running there?")]
    Unreachable {
        /// The node's base URL.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// The node answered with an error status, or with a reply that does not decode.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// A transaction was not committed in time.
    #[error("transaction {tx} was not committed within {waited:?}; is the node's consensus making progress?")]
    NotCommitted {
        /// The transaction id (hex).
        tx: String,
        /// How long the client waited.
        waited: std::time::Duration,
    },
    /// Encoding to JSON failed.
    #[error("encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// The ledger database (redb) failed.
    #[error("storage: {0}")]
    Storage(Box<redb::Error>),
    /// The ledger database could not be opened.
    #[error("cannot open the ledger database {}: {source} (is another node running on this home?)", path.display())]
    DatabaseOpen {
        /// The database file.
        path: PathBuf,
        /// redb's reason.
        source: Box<redb::DatabaseError>,
    },
    /// The node could not write its data (disk full or failing, read-only filesystem or file,
    /// permissions): it stops rather than run ahead of what its disk holds.
    #[error("cannot write {}: {reason}; the node stopped so that it never runs ahead of its disk. Fix the disk (space, permissions, read-only mount or file) and restart the node: it keeps every block it stored and fetches the others from its peers", path.display())]
    DiskWrite {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The system's reason (e.g. `Operation not permitted (os error 1)`).
        reason: String,
    },
    /// A different block is already stored at this height.
    #[error("storage: a different block {0} is already stored")]
    StoredConflict(Height),
    /// Something stored in the database does not decode.
    #[error("storage: stored {what} does not decode: {source}")]
    StoredCorrupt {
        /// What was read (e.g. "block 12").
        what: String,
        /// The decoder's reason.
        source: serde_json::Error,
    },
    /// A file of the node's home could not be read, written or created.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// The file or directory.
        path: PathBuf,
        /// What was attempted ("read", "write", "create").
        action: &'static str,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A configuration file does not decode.
    #[error("{} is malformed: {source}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The decoder's reason.
        source: serde_json::Error,
    },
    /// No node was initialized in this home.
    #[error("no node in {} (missing node.json); create one with `tabella node init --dev --home {}`", home.display(), home.display())]
    NotInitialized {
        /// The home directory.
        home: PathBuf,
    },
    /// A node already exists in this home.
    #[error("a node already exists in {}; use another --home or delete it first", home.display())]
    AlreadyInitialized {
        /// The home directory.
        home: PathBuf,
    },
    /// An address the node should listen on or dial is unusable.
    #[error("cannot use the address {addr}: {reason}")]
    Address {
        /// The address.
        addr: String,
        /// Why (e.g. already in use).
        reason: String,
    },
    /// A setting is out of its range.
    #[error("invalid setting {setting}: {reason}")]
    Setting {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The ledger rejected something.
    #[error(transparent)]
    Ledger(#[from] tabella_ledger::Error),
    /// The consensus engine (Malachite) failed or stopped.
    #[error("consensus engine: {0}")]
    Engine(String),
    /// A lock was poisoned: a thread panicked while holding it.
    #[error("the {0} lock is poisoned (a thread panicked while holding it)")]
    Poisoned(&'static str),
    /// A background task or thread failed or panicked.
    #[error("{task} failed: {reason}")]
    Task {
        /// Which task.
        task: &'static str,
        /// Its failure.
        reason: String,
    },
    /// I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A sealed secret could not be written or opened.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl Error {
    /// Whether the node must stop on this error: its data could not be written, so going on
    /// would serve blocks its disk does not hold.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Error::DiskWrite { .. })
    }
}

/// A sealed secret could not be written or opened: no or wrong passphrase, an altered,
/// downgraded or unencrypted key file, an unsafe passphrase file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An empty passphrase was given.
    #[error("the passphrase is empty; choose a non-empty one")]
    EmptyPassphrase,
    /// The passphrase file cannot be read.
    #[error("cannot read the passphrase file {}: {source}", path.display())]
    PassphraseFile {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The passphrase file is readable or writable by other users.
    #[error("the passphrase file {} is accessible to other users (mode {mode:o}); make it private with `chmod 600 {}`", path.display(), path.display())]
    SharedPassphraseFile {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key-derivation parameter of a sealed file is below this build's minimum.
    #[error("{file}: field kdf.{field} = {value} is below the minimum {min}; a weakened key derivation makes guessing the passphrase cheap, so the file is refused (was it altered, or sealed by a test build?)")]
    KdfTooWeak {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The minimum.
        min: u64,
    },
    /// A key-derivation parameter of a sealed file is above the maximum.
    #[error("{file}: field kdf.{field} = {value} exceeds the maximum {max}; the file is refused before any key derivation (was it altered?)")]
    KdfTooCostly {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The maximum.
        max: u64,
    },
    /// The key derivation itself failed (parameters it refuses).
    #[error("key derivation: {0}")]
    Kdf(String),
    /// The authenticated encryption failed.
    #[error("encryption failed")]
    Encrypt,
    /// A field of a sealed file has the wrong shape.
    #[error("{file}: field {field} {problem}")]
    BadField {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
        /// What is wrong (e.g. "is 1 bytes, expected 12").
        problem: String,
    },
    /// The file is not a sealed secret at all.
    #[error("{file} is not a sealed secret file: {reason}")]
    NotSealed {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A key file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The sealed secret needs a passphrase and none was given.
    #[error("the validator key {} is sealed; give its passphrase with {env} or --passphrase-file FILE", path.display())]
    NeedPassphrase {
        /// The key file.
        path: PathBuf,
        /// The environment variable that carries the passphrase.
        env: &'static str,
    },
    /// The passphrase does not open the file (or the file was altered).
    #[error("wrong node passphrase for {} (or the file was altered)", path.display())]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// A key file holds a key of the wrong shape.
    #[error("{} {problem}", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong (e.g. "does not hold a 32-byte key").
        problem: &'static str,
    },
    /// A key file is too large to be a sealed secret.
    #[error("{} is larger than {max} bytes; not a sealed secret file", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The largest accepted size.
        max: u64,
    },
    /// The home holds both a sealed and an unencrypted validator key.
    #[error("both {} and {} exist; keep only the one holding this validator's key", sealed.display(), insecure.display())]
    TwoKeys {
        /// The sealed key file.
        sealed: PathBuf,
        /// The unencrypted development key file.
        insecure: PathBuf,
    },
    /// The home holds no validator key.
    #[error("no validator key in {} (validator.key is missing)", home.display())]
    NoKey {
        /// The home directory.
        home: PathBuf,
    },
    /// The validator key is stored unencrypted by an older tabella.
    #[error("{} holds the validator key unencrypted (a home from an older tabella); seal it under a passphrase: set {env} (or pass --passphrase-file FILE) and run `tabella node run --home {}` again, which seals it first", path.display(), home.display())]
    Unsealed {
        /// The key file.
        path: PathBuf,
        /// The home directory.
        home: PathBuf,
        /// The environment variable that carries the passphrase.
        env: &'static str,
    },
    /// Sealing a legacy key was asked of a key that is not one.
    #[error("{} is not an unencrypted legacy key", path.display())]
    NotLegacy {
        /// The key file.
        path: PathBuf,
    },
}

/// `Result` with the node's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Error::Storage(Box::new(e))
    }
}
