//! Signed actions: every change to an election is one of these, checked against its signer's role
//! and the election's phase by [`crate::state::ElectionState::apply`].

use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Serialize};

use crate::ballot::Ballot;
use crate::error::{Error, Result};
use crate::ids::{Digest32, ElectionId, IdentityCommitment, TableIndex};
use crate::manifest::Manifest;
use crate::sign::{OfficialKey, OfficialSecret, SignatureHex};
use crate::trustee::{DecryptionMessage, KeyCeremonyMessage};

/// A registration token (seed 000 §4.2.2): a random message blind-signed by the identity
/// validator (RFC 9474), unblinded by the voter, presented once to the registrar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrationToken {
    /// The 32-byte random token message (hex).
    #[schema(value_type = tabella_crypto::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub message: Vec<u8>,
    /// The identity validator's unblinded RSA signature on it.
    pub signature: tabella_crypto::blind::TokenSignature,
}

impl RegistrationToken {
    /// The id under which the token is recorded as spent.
    pub fn id(&self) -> Digest32 {
        Digest32::of("tabella/token/v1", &self.message)
    }
}

/// A stealth voter key published by the registrar (seed 000 §2.2): `R`, `P` and a view tag.
pub type EnabledKey = tabella_crypto::stealth::StealthKey;

/// One anonymous note's registration token with the stealth key the registrar derived for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoteKey {
    /// The token presented in the voter's anonymous note.
    pub token: RegistrationToken,
    /// The derived stealth key.
    pub key: EnabledKey,
}

impl NoteKey {
    /// The key's canonical sort key: the 32-byte encoding of its `P`.
    pub fn order_key(&self) -> [u8; 32] {
        self.key.p.compress().to_bytes()
    }
}

/// Most keys one `enable_voters` action may carry.
pub const MAX_ENABLE_BATCH: usize = 256;

/// Puts a batch of note keys in the canonical order the state machine requires (increasing
/// encoding of `P`). Stealth keys are fresh random points, so this order is independent of the
/// order in which the notes arrived — and of the order in which their voters were validated.
pub fn canonical_batch(mut batch: Vec<NoteKey>) -> Vec<NoteKey> {
    batch.sort_by_key(NoteKey::order_key);
    batch
}

/// What an official does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
// Actions are decoded and applied one at a time; a few hundred bytes of stack per action is fine.
#[allow(clippy::large_enum_variant)]
pub enum OfficialAction {
    /// Council: create the election with this manifest (phase Setup).
    Create {
        /// The manifest.
        manifest: Box<Manifest>,
    },
    /// Council: start the trustees' key ceremony (Setup → KeyCeremony).
    StartKeyCeremony,
    /// Trustee: a key-ceremony message.
    KeyCeremony(Box<KeyCeremonyMessage>),
    /// Council: open the election (KeyCeremony → Open, or Setup → Open for Paillier).
    Open,
    /// Identity validator: this whitelisted voter's identity was checked and a token blind-signed.
    ValidateVoter {
        /// The voter's whitelist commitment.
        commitment: IdentityCommitment,
    },
    /// Registrar: enable a batch of stealth keys, one per unspent registration token, in
    /// canonical order ([`canonical_batch`]) and at least the manifest's `registration_batch`
    /// of them — except the registrar's final batch, which may be smaller and closes
    /// registration (no validation or enablement is accepted after it).
    EnableVoters {
        /// The tokens and keys.
        batch: Vec<NoteKey>,
        /// This is the final batch: it may hold fewer keys than `registration_batch` (even
        /// none) and closes registration.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        closes_registration: bool,
    },
    /// Juror: authorize one in-person voter at a table (consumes one unit of quota).
    AuthorizeInPerson {
        /// The table.
        table: TableIndex,
        /// Random authorization id.
        authorization: Digest32,
        /// The booth key that will sign this voter's ballot.
        #[schema(value_type = tabella_crypto::api_schema::PointHex)]
        #[serde(with = "tabella_crypto::encoding::point_hex")]
        booth_key: RistrettoPoint,
    },
    /// Council: close voting (Open → Closed); the encrypted tallies are fixed.
    Close,
    /// Trustee (ElGamal) or administrator (Paillier): decryption of the tallies with proofs.
    Decrypt(DecryptionMessage),
    /// Council: combine the decryptions into results (Closed → Tallied).
    PublishResults,
}

impl OfficialAction {
    /// Short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            OfficialAction::Create { .. } => "create",
            OfficialAction::StartKeyCeremony => "start key ceremony",
            OfficialAction::KeyCeremony(_) => "key ceremony message",
            OfficialAction::Open => "open",
            OfficialAction::ValidateVoter { .. } => "validate voter",
            OfficialAction::EnableVoters { .. } => "enable voters",
            OfficialAction::AuthorizeInPerson { .. } => "authorize in-person voter",
            OfficialAction::Close => "close",
            OfficialAction::Decrypt(_) => "decrypt",
            OfficialAction::PublishResults => "publish results",
        }
    }
}

/// The signed content of an official's action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionBody {
    /// The election it applies to.
    pub election_id: ElectionId,
    /// The action.
    #[serde(flatten)]
    pub action: OfficialAction,
}

/// Signature domain of officials' actions.
pub const ACTION_SIG_DOMAIN: &str = "tabella/action/v1";

/// An official's action with its signature over the exact payload text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedAction {
    /// JSON text of the [`ActionBody`].
    pub payload: String,
    /// The signer.
    pub signer: OfficialKey,
    /// ed25519 signature over the payload.
    pub signature: SignatureHex,
}

impl SignedAction {
    /// Serializes and signs an action.
    pub fn sign(
        election_id: &ElectionId,
        action: OfficialAction,
        key: &OfficialSecret,
    ) -> Result<Self> {
        let body = ActionBody {
            election_id: election_id.clone(),
            action,
        };
        let payload = serde_json::to_string(&body)
            .map_err(|e| Error::Malformed(format!("action encoding: {e}")))?;
        Ok(SignedAction {
            signature: key.sign(ACTION_SIG_DOMAIN, payload.as_bytes()),
            signer: key.public(),
            payload,
        })
    }

    /// Checks the signature and decodes the body.
    pub fn open(&self) -> Result<ActionBody> {
        self.signer
            .verify(ACTION_SIG_DOMAIN, self.payload.as_bytes(), &self.signature)?;
        serde_json::from_str(&self.payload)
            .map_err(|e| Error::Malformed(format!("action body: {e}")))
    }
}

/// Anything submitted to an election: an official's action or a voter's ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Envelope {
    /// An official's signed action.
    Official(SignedAction),
    /// A voter's ballot (signed by its credential's key).
    Ballot(Ballot),
}

impl Envelope {
    /// Hash identifying this envelope (transaction id on the ledger, receipt for ballots).
    pub fn hash(&self) -> Digest32 {
        match self {
            Envelope::Official(a) => Digest32::of("tabella/action/v1", a.payload.as_bytes()),
            Envelope::Ballot(b) => b.hash(),
        }
    }
}
