//! The one error type of `tabella-crypto`.
//!
//! Every variant says what was wrong; the `Display` text is meant to be shown to a person
//! (an auditor reading `tabella verify` output, an operator reading a log).

/// Errors returned by the cryptographic core.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bytes or text could not be decoded into the named object.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded (e.g. "Ristretto point").
        what: &'static str,
        /// Why decoding failed.
        detail: String,
    },
    /// A proof did not verify. The string names the proof kind and, where useful, the failed equation.
    #[error("invalid proof: {0}")]
    InvalidProof(&'static str),
    /// A batch of proofs did not verify; at least one proof in it is invalid.
    #[error("batch verification failed: at least one of {count} proofs is invalid")]
    BatchInvalid {
        /// Number of proofs in the batch.
        count: usize,
    },
    /// A signature did not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(&'static str),
    /// A caller-supplied parameter is outside what the operation accepts.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Baby-step giant-step found no exponent within the configured bound.
    #[error("discrete logarithm not found in [0, {bound}): the plaintext is larger than the bound, or the decryption is wrong")]
    DlogNotFound {
        /// Exclusive upper bound that was searched.
        bound: u64,
    },
    /// A protocol (DKG, threshold decryption) was fed inconsistent or insufficient inputs.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Paillier arithmetic or key errors.
    #[error("paillier: {0}")]
    Paillier(String),
    /// Range proof (bulletproofs) errors.
    #[error("range proof: {0}")]
    RangeProof(String),
    /// The operating system's random number generator failed (batch verification needs it).
    #[error("no randomness from the operating system: {0}")]
    Randomness(String),
    /// Blind RSA signature errors (RFC 9474).
    #[error("blind signature: {0}")]
    BlindSignature(String),
}

/// Result alias for this crate.
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }
}
