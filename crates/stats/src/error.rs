//! The crate's one error type.

use crate::party::PartyKey;
use crate::proof::ProofKind;

/// Everything that can go wrong in the statistics core. Each variant says what was wrong and,
/// for a rejected proof, who made it and which proof it was; the variants after `Encoding` are
/// those of the plaintext half (schemas, rows, predicates, encodings, decodings, noise
/// parameters).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A proof was rejected: bad signature, wrong shape, or a check that failed.
    #[error("{kind} proof by {prover} rejected: {reason}")]
    ProofRejected {
        /// The prover named in the proof.
        prover: PartyKey,
        /// The kind of proof.
        kind: ProofKind,
        /// What failed.
        reason: String,
    },
    /// A party is not in the roster of the query for the role it claims.
    #[error("{party} is not a {role} of this query")]
    NotInRoster {
        /// The party.
        party: PartyKey,
        /// The role it claimed ("computing node", "data provider").
        role: &'static str,
    },
    /// A query parameter is unusable.
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    /// A step came out of order or twice.
    #[error("protocol step out of order: {0}")]
    OutOfOrder(String),
    /// A value does not fit the declared layout.
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// The cryptographic core failed.
    #[error(transparent)]
    Crypto(#[from] tabella_crypto::Error),
    /// Encoding failed.
    #[error("encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// A column name that the schema does not have.
    #[error("unknown column `{name}` (known columns: {})", known.join(", "))]
    UnknownColumn {
        /// The name that was asked for.
        name: String,
        /// Every column the schema has, in order.
        known: Vec<String>,
    },
    /// A schema declares the same column twice.
    #[error("column `{name}` is declared twice")]
    DuplicateColumn {
        /// The repeated name.
        name: String,
    },
    /// A column name that is not an identifier (`[A-Za-z_][A-Za-z0-9_]*`) or is a keyword.
    #[error("`{name}` is not a valid column name")]
    InvalidColumnName {
        /// The rejected name.
        name: String,
    },
    /// A numeric column's declared domain or scale is unusable.
    #[error("column `{column}`: invalid domain: {reason}")]
    InvalidDomain {
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
    /// A value or operand of the wrong type.
    #[error("type mismatch on `{column}`: expected {expected}, found {found}")]
    TypeMismatch {
        /// The column (or, in a predicate, the left operand) concerned.
        column: String,
        /// The type that was required.
        expected: String,
        /// The type that was given.
        found: String,
    },
    /// A value outside its column's declared domain `[min, max]`.
    #[error("value {value} of `{column}` is outside its declared domain [{min}, {max}]")]
    OutOfDomain {
        /// The column.
        column: String,
        /// The value, as written.
        value: String,
        /// The domain's lower end, as written.
        min: String,
        /// The domain's upper end, as written.
        max: String,
    },
    /// A number that cannot be read, or has more fractional digits than its column's scale.
    #[error("invalid number `{text}`: {reason}")]
    InvalidNumber {
        /// The text.
        text: String,
        /// Why.
        reason: String,
    },
    /// A row with the wrong number of values for its schema.
    #[error("a row of this schema has {expected} values, not {found}")]
    RowArity {
        /// Columns in the schema.
        expected: usize,
        /// Values in the row.
        found: usize,
    },
    /// A WHERE clause that does not parse.
    #[error("syntax error at byte {position}: {message}")]
    Syntax {
        /// Byte offset in the predicate text where the problem was found.
        position: usize,
        /// What was expected or found there.
        message: String,
    },
    /// An operation that cannot be applied to the given columns (wrong column type, a boolean
    /// operation on a column whose domain is not within `[0, 1]`, no features, ...).
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// A data provider holds more matching rows than the schema's declared maximum, so its answer
    /// would not fit the layout's bit size.
    #[error("{rows} rows exceed the declared maximum of {max} rows per data provider")]
    TooManyRows {
        /// Rows given.
        rows: usize,
        /// The schema's `max_rows`.
        max: u64,
    },
    /// An operation's answer would need more entries, or larger entries, than the protocol
    /// accepts.
    #[error("layout too large: {0}")]
    LayoutTooLarge(String),
    /// The totals handed to `decode` do not have the layout's length.
    #[error("expected {expected} totals, found {found}")]
    TotalsLength {
        /// The layout's length.
        expected: usize,
        /// What was given.
        found: usize,
    },
    /// A result that does not exist for the totals given: a mean or variance of no rows, a
    /// cosine with a zero vector, an R² with no variance in the target.
    #[error("undefined result: {0}")]
    Undefined(String),
    /// The normal equations of a regression are singular (collinear features, too few rows).
    #[error(
        "singular system: the {dimension}×{dimension} normal equations have no unique solution"
    )]
    Singular {
        /// The system's dimension.
        dimension: usize,
    },
    /// A noise specification that cannot be used.
    #[error("invalid noise specification: {0}")]
    InvalidNoise(String),
    /// An intermediate value does not fit its integer type.
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
