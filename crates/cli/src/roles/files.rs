//! The files that voters and officials hand each other, outside the chain: the steps of remote
//! registration and the in-person booth file.
//!
//! Remote registration keeps the identity and the voting key unlinkable (seed 000 §4.2.2): the
//! voter's wallet blinds a random token (`voter register`, step 1, writes a [`RequestFile`]); the
//! identity validator checks the identity against its private whitelist, blind-signs the request
//! and posts `ValidateVoter` (`identity-validator issue`, writes a
//! [`ResponseFile`]); the wallet unblinds
//! the signature and writes an anonymous note with the token and a fresh stealth meta-address
//! (`voter register --response`, writes a [`NoteFile`]); the registrar, who never sees the
//! identity, checks the token and queues the note (`registrar enable`). Keys are enabled in
//! batches of the manifest's `registration_batch`, in canonical order, so the chain's order of
//! enablements does not follow the order of validations (which would link each identity to its
//! key); the final batch, possibly smaller, closes registration (`registrar flush
//! --close-registration`). The wallet finds its key on the chain by scanning and signs its ballots
//! with it (`voter vote`). In person, a table juror writes a [`BoothFile`] (`table authorize`)
//! that the booth votes with once.

use serde::{Deserialize, Serialize};
use tabella_crypto::blind::{BlindSignature, BlindedRequest};
use tabella_crypto::stealth::MetaAddress;
use tabella_election::action::RegistrationToken;
use tabella_election::ids::ElectionId;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A voter's blinded registration request.
#[derive(Debug, Serialize, Deserialize)]
pub struct RequestFile {
    /// The election.
    pub election_id: ElectionId,
    /// The identity the voter claims (the identity validator checks it independently).
    #[serde(default)]
    pub identity: Option<String>,
    /// The blinded token.
    pub request: BlindedRequest,
}

/// The identity validator's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResponseFile {
    /// The election.
    pub election_id: ElectionId,
    /// The blind signature.
    pub signature: BlindSignature,
}

/// The anonymous note for the registrar: no identity, only the token and a meta-address.
#[derive(Debug, Serialize, Deserialize)]
pub struct NoteFile {
    /// The election.
    pub election_id: ElectionId,
    /// The unblinded token.
    pub token: RegistrationToken,
    /// The voter's stealth meta-address.
    pub meta: MetaAddress,
}

/// An in-person voter's booth file.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct BoothFile {
    /// The election.
    pub election_id: String,
    /// Table number (from 1).
    pub table: u16,
    /// The authorization id (hex).
    pub authorization: String,
    /// The booth's one-time signing key (hex).
    pub booth_secret: String,
}
