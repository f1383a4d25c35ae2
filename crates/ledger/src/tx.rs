//! Transactions: what a client submits to the ledger.
//!
//! An election transaction wraps a signed [`Envelope`] of `tabella-election` (an official's signed
//! action or a voter's signed ballot) with the election it targets; a governance transaction
//! changes the roster and is signed by more than 2/3 of the current roster (Chainiac handover,
//! Nikitin et al., USENIX Security 2017, §4).

use serde::{Deserialize, Serialize};
use tabella_election::action::{ActionBody, Envelope};
use tabella_election::ids::ElectionId;

use crate::error::{Error, Result};
use crate::roster::{Roster, ValidatorSecret, ValidatorSignature};
use crate::stats::StatsTx;
use crate::types::{hash_parts, Height, RosterHash, TxId};
use crate::verdict::SignedBitmap;

/// Signature domain of roster changes.
pub const ROSTER_CHANGE_DOMAIN: &str = "tabella/ledger/roster-change/v1";

/// A change of the verifying nodes' roster: the `epoch`-th change (counting from 0) replaces the
/// roster whose hash is `from` by `to`. The epoch makes it single-use even if the roster later
/// returns to `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RosterChange {
    /// Number of roster changes applied before this one.
    pub epoch: u64,
    /// Hash of the roster being replaced (must be the current one).
    pub from: RosterHash,
    /// The new roster (takes over from the block after the one that includes this change).
    pub to: Roster,
    /// Signatures of the current roster over [`RosterChange::signed_message`].
    pub signatures: Vec<ValidatorSignature>,
}

impl RosterChange {
    /// The bytes the current roster signs: `epoch u64 LE || from || hash(to)`.
    pub fn signed_message(epoch: u64, from: &RosterHash, to: &Roster) -> Vec<u8> {
        let mut m = epoch.to_le_bytes().to_vec();
        m.extend_from_slice(&from.0);
        m.extend_from_slice(&to.hash().0);
        m
    }

    /// Builds the `epoch`-th change, signed by the given current validators.
    pub fn signed(current: &Roster, epoch: u64, to: Roster, signers: &[&ValidatorSecret]) -> Self {
        let from = current.hash();
        let msg = Self::signed_message(epoch, &from, &to);
        let signatures = signers
            .iter()
            .map(|s| s.sign_as_validator(ROSTER_CHANGE_DOMAIN, &msg))
            .collect();
        RosterChange {
            epoch,
            from,
            to,
            signatures,
        }
    }

    /// Checks that it is the `epoch`-th change, replaces `current`, and that more than 2/3 of
    /// `current` signed it.
    pub fn verify(&self, current: &Roster, epoch: u64) -> Result<()> {
        if self.epoch != epoch {
            return Err(Error::BadRoster(format!(
                "the change is roster change number {} but the next one is number {epoch}",
                self.epoch
            )));
        }
        if self.from != current.hash() {
            return Err(Error::BadRoster(format!(
                "the change replaces roster {} but the current roster is {}",
                self.from,
                current.hash()
            )));
        }
        current.verify_quorum(
            ROSTER_CHANGE_DOMAIN,
            &Self::signed_message(self.epoch, &self.from, &self.to),
            &self.signatures,
        )?;
        Ok(())
    }
}

/// A ledger transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Transactions are handled one at a time; the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Transaction {
    /// An election envelope (official action or ballot), already signed by its author.
    Election {
        /// The election it targets; must equal the election id inside the envelope.
        election_id: ElectionId,
        /// The signed envelope.
        envelope: Envelope,
    },
    /// A roster change.
    Governance(RosterChange),
    /// The verdict bitmaps (seed 001 §5.1) that the validators attached to their precommits
    /// for the block at `judged` (consensus vote extensions), committed on the chain by the
    /// proposer of a later block. They change no election state; they are checked (signature,
    /// packing, sampling draw, signer in the roster) and recorded.
    Verdicts {
        /// The height of the judged block.
        judged: Height,
        /// One signed bitmap per validator that sent one, at most one per validator.
        bitmaps: Vec<SignedBitmap>,
    },
    /// A message of the private-statistics protocol ([`crate::stats`]), signed by its sender.
    Stats(Box<StatsTx>),
}

impl Transaction {
    /// Wraps an envelope, reading the election id from its signed payload.
    pub fn election(envelope: Envelope) -> Result<Self> {
        let election_id = envelope_election_id(&envelope)?;
        Ok(Transaction::Election {
            election_id,
            envelope,
        })
    }

    /// Canonical bytes: the JSON encoding of the transaction. It is deterministic because every
    /// signed part is carried as the exact text that was signed and all other fields are
    /// fixed-order structs.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Encoding(format!("transaction: {e}")))
    }

    /// Decodes a transaction from its canonical bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::MalformedTx(format!("transaction does not decode: {e}")))
    }

    /// `SHA-256("tabella/ledger/tx/v1" || 0 || canonical bytes)`. Covers the signatures too, so
    /// the id names exactly one byte string.
    pub fn id(&self) -> Result<TxId> {
        Ok(TxId(hash_parts(
            "tabella/ledger/tx/v1",
            &[&self.to_bytes()?],
        )))
    }

    /// Checks that an election transaction's declared election id matches its envelope.
    pub fn check_shape(&self) -> Result<()> {
        if let Transaction::Election {
            election_id,
            envelope,
        } = self
        {
            let inner = envelope_election_id(envelope)?;
            if &inner != election_id {
                return Err(Error::MalformedTx(format!(
                    "transaction targets election {election_id} but its envelope is for {inner}"
                )));
            }
        }
        Ok(())
    }
}

/// The election id written inside an envelope's signed payload (not yet signature-checked:
/// the election state machine checks the signature when it applies the envelope).
pub fn envelope_election_id(envelope: &Envelope) -> Result<ElectionId> {
    match envelope {
        Envelope::Official(a) => serde_json::from_str::<ActionBody>(&a.payload)
            .map(|b| b.election_id)
            .map_err(|e| Error::MalformedTx(format!("action payload does not decode: {e}"))),
        // Only the id is read here (no curve points decoded): the state machine decodes and
        // checks the whole body when it applies the ballot.
        Envelope::Ballot(b) => {
            #[derive(Deserialize)]
            struct IdOnly {
                election_id: ElectionId,
            }
            serde_json::from_str::<IdOnly>(&b.payload)
                .map(|p| p.election_id)
                .map_err(|e| Error::MalformedTx(format!("ballot payload does not decode: {e}")))
        }
    }
}
