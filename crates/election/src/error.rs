//! The one error type of `tabella-election`. Each rejection of an action has its own variant so
//! callers (the ledger, the CLI) can tell a voter exactly what went wrong.

/// Errors of the election protocol.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The manifest is inconsistent.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    /// The action names another election.
    #[error("wrong election: action is for {got:?}, this election is {expected:?}")]
    WrongElection {
        /// This election's id.
        expected: String,
        /// The id the action carries.
        got: String,
    },
    /// The action is not allowed in the current phase.
    #[error("wrong phase: {action} is not allowed while the election is {phase}")]
    WrongPhase {
        /// The action attempted.
        action: &'static str,
        /// The current phase.
        phase: &'static str,
    },
    /// The signer is not the official the action requires, or the signature is invalid.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The ballot's credential (stealth key or table authorization) is unknown.
    #[error("unknown voter key: {0}")]
    UnknownVoterKey(String),
    /// A proof in the action did not verify.
    #[error("invalid proof: {0}")]
    InvalidProof(String),
    /// Bytes or JSON could not be decoded, or have the wrong shape.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A polling table has no quota left.
    #[error(
        "over quota: table {} has authorized all {quota} of its voters",
        u32::from(*table) + 1
    )]
    OverQuota {
        /// The table index (from 0; messages number tables from 1, as the manifest does).
        table: u16,
        /// Its quota.
        quota: u32,
    },
    /// A credential already voted and re-voting is off, or a token/authorization was reused.
    #[error("double vote: {0}")]
    DoubleVote(String),
    /// A registration step was refused (not whitelisted, already validated, token reused...).
    #[error("registration refused: {0}")]
    Registration(String),
    /// The trustees' key ceremony or decryption failed.
    #[error("trustees: {0}")]
    Trustees(String),
    /// An error from the cryptographic core.
    #[error(transparent)]
    Crypto(#[from] tabella_crypto::Error),
    /// A voter's choice, written `CONTEST=OPTION[,OPTION...]`, does not fit the contests
    /// ([`crate::choice::parse_choices`]).
    #[error(transparent)]
    Choice(#[from] crate::choice::ChoiceError),
    /// A polling table, written `JUROR=QUOTA`, is malformed ([`crate::manifest::parse_table`]).
    #[error(transparent)]
    TableArgument(#[from] crate::manifest::TableArgError),
    /// A Benaloh audit ([`crate::audit::check_audited`]): the tracker the device showed is not
    /// the hash of the ballot it revealed.
    #[error("the audit file's tracker {claimed} is not the hash of its ballot ({computed}): the device showed one ballot and opened another")]
    TrackerMismatch {
        /// The tracker written in the audit file (shown to the voter).
        claimed: String,
        /// The hash of the revealed ballot.
        computed: String,
    },
    /// A Benaloh audit: the claimed choice and the revealed randomness do not give the ballot's
    /// ciphertext, so the ballot does not encrypt the choices the device claims.
    #[error("contest {contest} ({title:?}) row {row} entry {entry} ({option}): the claimed choice and the revealed randomness do not give the ballot's ciphertext; this ballot does NOT encrypt the choices claimed")]
    AuditMismatch {
        /// The contest, from 1.
        contest: usize,
        /// Its title.
        title: String,
        /// The row, from 1 (the rank in a ranked contest).
        row: usize,
        /// The entry, from 1.
        entry: usize,
        /// The entry's option label.
        option: String,
    },
    /// A Benaloh audit cannot be done for this election.
    #[error("cannot audit: {0}")]
    AuditUnsupported(String),
    /// Handing envelopes to an outside system (e.g. a ledger node) failed.
    #[error("{0}")]
    Sink(String),
}

/// Result alias for this crate.
pub type Result<T> = core::result::Result<T, Error>;
