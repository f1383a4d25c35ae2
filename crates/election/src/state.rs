//! The election state machine: `apply(state, signed action)`, deterministic and pure.
//!
//! Phases (DESIGN.md "Elections"): `Setup → KeyCeremony → Open → Closed → Tallied`; registration
//! stays open while voting (seed 000 §5.8 "vote-and-go"). Every action is checked against its
//! signer's role and the phase; a rejected action leaves the state unchanged (all checks run
//! before anything is written).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Serialize};

use tabella_crypto::dkg::{Complaint, Dealing, DkgOutcome, DkgParams, DkgTranscript, TrusteeIndex};
use tabella_crypto::elgamal::PublicKey;

use crate::action::{
    EnabledKey, Envelope, NoteKey, OfficialAction, RegistrationToken, SignedAction,
    MAX_ENABLE_BATCH,
};
use crate::ballot::{Ballot, Contribution, Credential, ElectionKey, ParsedBallot};
use crate::batch;
use crate::error::{Error, Result};
use crate::ids::{Digest32, ElectionId, IdentityCommitment, TableIndex};
use crate::manifest::{Manifest, RevotePolicy, Scheme};
use crate::sign::OfficialKey;
use crate::tally::{plan_groups, Group, Results, Tallies};
use crate::trustee::{self, DecryptionMessage, KeyCeremonyMessage};

/// Where an election is in its life.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Created; officials prepare; registration may start.
    Setup,
    /// Trustees run the distributed key generation.
    KeyCeremony,
    /// Voting (and registration) open.
    Open,
    /// Voting closed; the encrypted tallies are fixed; trustees decrypt.
    Closed,
    /// Results published.
    Tallied,
}

impl Phase {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Setup => "in setup",
            Phase::KeyCeremony => "in its key ceremony",
            Phase::Open => "open",
            Phase::Closed => "closed",
            Phase::Tallied => "tallied",
        }
    }
}

/// Whether [`ElectionState::apply_with`] verifies ballot proofs itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofCheck {
    /// Verify every proof and signature (the default; [`ElectionState::apply`]).
    Verify,
    /// The caller has already verified this ballot's signature and proofs against the same
    /// election key and the credential's signer key (e.g. in a parallel batch). Every other check
    /// still runs.
    AlreadyVerified,
}

/// What an accepted envelope did (for logs and receipts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An official's action was applied.
    Official {
        /// Action name.
        action: String,
    },
    /// A ballot was accepted.
    BallotAccepted {
        /// Receipt.
        hash: Digest32,
        /// Hash of the ballot it replaced (re-vote), if any.
        replaced: Option<Digest32>,
    },
}

#[derive(Clone, Debug)]
struct AuthorizationState {
    table: TableIndex,
    booth_key: RistrettoPoint,
    used: bool,
}

#[derive(Clone, Debug)]
struct CountedBallot {
    hash: Digest32,
    group: Group,
    contribution: Contribution,
}

/// The complete state of one election.
#[derive(Clone, Debug, Default)]
pub struct ElectionState {
    manifest: Option<Manifest>,
    phase: Option<Phase>,
    whitelist: HashSet<IdentityCommitment>,
    /// Round 0: each trustee's key for this ceremony (by trustee number).
    ceremony_keys: BTreeMap<u16, RistrettoPoint>,
    dealings: Vec<Dealing>,
    complaints: Vec<Complaint>,
    /// Per trustee who posted round 2: how many dealings were on the chain at its latest
    /// round-2 message (it could complain about those only).
    round2: BTreeMap<u16, usize>,
    dkg: Option<DkgOutcome>,
    election_key: Option<ElectionKey>,
    validated: BTreeSet<IdentityCommitment>,
    registration_closed: bool,
    spent_tokens: BTreeSet<Digest32>,
    voter_keys: HashMap<[u8; 32], EnabledKey>,
    authorizations: HashMap<Digest32, AuthorizationState>,
    authorized: Vec<u32>,
    ballots_accepted: u64,
    seen_ballots: HashSet<Digest32>,
    counted: BTreeMap<Vec<u8>, CountedBallot>,
    tallies: Option<Tallies>,
    decryptions: BTreeMap<u16, DecryptionMessage>,
    results: Option<Results>,
}

/// Counts anyone can check (seed 000 §4.2.5, seed 003 per-table invariants).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    /// Whitelisted identities.
    pub whitelisted: u64,
    /// Identities validated by the identity validator.
    pub validated: u64,
    /// Stealth keys enabled by the registrar (never more than `validated`).
    pub enabled_keys: u64,
    /// Per table: (quota, authorized, unused) with authorized + unused = quota.
    pub tables: Vec<(u32, u32, u32)>,
    /// Ballots accepted (including replaced ones).
    pub ballots_accepted: u64,
    /// Ballots counted (one per credential).
    pub ballots_counted: u64,
}

impl ElectionState {
    /// An empty state, waiting for the council's `create` action.
    pub fn new() -> Self {
        Self::default()
    }

    /// The manifest, once created.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }
    /// The phase, once created.
    pub fn phase(&self) -> Option<Phase> {
        self.phase
    }
    /// The key ballots are encrypted under, once the election is open.
    pub fn election_key(&self) -> Option<&ElectionKey> {
        self.election_key.as_ref()
    }
    /// The trustees' joint ElGamal key (ElGamal scheme), once the ceremony is done.
    pub fn elgamal_key(&self) -> Option<&PublicKey> {
        match &self.election_key {
            Some(ElectionKey::Elgamal(pk)) => Some(pk),
            _ => None,
        }
    }
    /// The key ceremony's public outcome.
    pub fn key_ceremony(&self) -> Option<&DkgOutcome> {
        self.dkg.as_ref()
    }
    /// The trustees' ceremony keys posted so far (round 0), by trustee number.
    pub fn ceremony_keys(&self) -> &BTreeMap<u16, RistrettoPoint> {
        &self.ceremony_keys
    }
    /// The key ceremony's messages so far, and what each trustee has still to post.
    pub fn ceremony_progress(&self) -> trustee::CeremonyProgress {
        let trustees = self.manifest.as_ref().map_or(0, |m| m.trustees.len());
        trustee::CeremonyProgress {
            trustees,
            keys: self
                .ceremony_keys
                .iter()
                .filter_map(|(j, k)| Some((TrusteeIndex::new(*j).ok()?, *k)))
                .collect(),
            dealings: self.dealings.clone(),
            complained: self
                .round2
                .iter()
                .filter(|(_, seen)| **seen >= self.dealings.len())
                .filter_map(|(j, _)| TrusteeIndex::new(*j).ok())
                .collect(),
            stale: self
                .round2
                .iter()
                .filter(|(_, seen)| **seen < self.dealings.len())
                .filter_map(|(j, _)| TrusteeIndex::new(*j).ok())
                .collect(),
            complaints: self.complaints.clone(),
        }
    }
    /// The key-ceremony record (parameters, the trustees' ceremony keys, dealings, complaints),
    /// once every trustee has posted its ceremony key.
    pub fn key_ceremony_transcript(&self) -> Option<DkgTranscript> {
        let m = self.manifest.as_ref()?;
        let n = m.trustees.len() as u16;
        let publics = (1..=n)
            .map(|j| self.ceremony_keys.get(&j).map(|k| PublicKey(*k)))
            .collect::<Option<Vec<_>>>()?;
        Some(DkgTranscript {
            params: dkg_params(m).ok()?,
            longterm_publics: publics,
            dealings: self.dealings.clone(),
            complaints: self.complaints.clone(),
        })
    }
    /// The encrypted tallies, once closed.
    pub fn tallies(&self) -> Option<&Tallies> {
        self.tallies.as_ref()
    }
    /// The decryption messages received so far.
    pub fn decryptions(&self) -> impl Iterator<Item = &DecryptionMessage> {
        self.decryptions.values()
    }
    /// The trustee numbers (1-based) whose decryption is posted.
    pub fn decrypted_by(&self) -> impl Iterator<Item = u16> + '_ {
        self.decryptions.keys().copied()
    }
    /// The results, once tallied.
    pub fn results(&self) -> Option<&Results> {
        self.results.as_ref()
    }
    /// Enabled stealth keys (for voters to scan).
    pub fn enabled_keys(&self) -> impl Iterator<Item = &EnabledKey> {
        self.voter_keys.values()
    }
    /// Whether this registration token was already spent (its key enabled).
    pub fn token_spent(&self, token: &RegistrationToken) -> bool {
        self.spent_tokens.contains(&token.id())
    }
    /// Whether the registrar's final batch closed registration.
    pub fn registration_closed(&self) -> bool {
        self.registration_closed
    }
    /// Hashes of the ballots currently counted.
    pub fn counted_ballots(&self) -> impl Iterator<Item = Digest32> + '_ {
        self.counted.values().map(|c| c.hash)
    }

    /// Public counts and invariants.
    pub fn counts(&self) -> Counts {
        let tables = self
            .manifest
            .as_ref()
            .map(|m| {
                m.tables
                    .iter()
                    .zip(&self.authorized)
                    .map(|(t, a)| (t.quota, *a, t.quota.saturating_sub(*a)))
                    .collect()
            })
            .unwrap_or_default();
        Counts {
            whitelisted: self.whitelist.len() as u64,
            validated: self.validated.len() as u64,
            enabled_keys: self.voter_keys.len() as u64,
            tables,
            ballots_accepted: self.ballots_accepted,
            ballots_counted: self.counted.len() as u64,
        }
    }

    /// Applies one envelope, verifying everything. On error the state is unchanged.
    pub fn apply(&mut self, env: &Envelope) -> Result<Event> {
        self.apply_with(env, ProofCheck::Verify)
    }

    /// Applies one envelope; see [`ProofCheck`]. On error the state is unchanged.
    pub fn apply_with(&mut self, env: &Envelope, check: ProofCheck) -> Result<Event> {
        match env {
            Envelope::Official(a) => self.apply_official(a),
            Envelope::Ballot(b) => {
                let checked = self.check_ballot(b, check)?;
                Ok(self.accept_ballot(checked))
            }
        }
    }

    fn manifest_or_err(&self) -> Result<(&Manifest, Phase)> {
        match (&self.manifest, self.phase) {
            (Some(m), Some(p)) => Ok((m, p)),
            _ => Err(Error::WrongPhase {
                action: "anything but create",
                phase: "not created yet",
            }),
        }
    }

    fn require_phase(&self, action: &'static str, allowed: &[Phase]) -> Result<()> {
        let (_, phase) = self.manifest_or_err()?;
        if allowed.contains(&phase) {
            Ok(())
        } else {
            Err(Error::WrongPhase {
                action,
                phase: phase.name(),
            })
        }
    }

    fn require_signer(signer: &OfficialKey, expected: &OfficialKey, role: &str) -> Result<()> {
        if signer == expected {
            Ok(())
        } else {
            Err(Error::Unauthorized(format!("only the {role} may do this")))
        }
    }

    fn apply_official(&mut self, signed: &SignedAction) -> Result<Event> {
        let body = signed.open()?;
        let name = body.action.name();
        if let OfficialAction::Create { manifest } = &body.action {
            if self.manifest.is_some() {
                return Err(Error::WrongPhase {
                    action: "create",
                    phase: "already created",
                });
            }
            if manifest.election_id != body.election_id {
                return Err(Error::WrongElection {
                    expected: manifest.election_id.to_string(),
                    got: body.election_id.to_string(),
                });
            }
            manifest.validate()?;
            Self::require_signer(
                &signed.signer,
                &manifest.officials.council,
                "electoral council",
            )?;
            self.whitelist = manifest.whitelist.iter().copied().collect();
            self.authorized = vec![0; manifest.tables.len()];
            self.manifest = Some((**manifest).clone());
            self.phase = Some(Phase::Setup);
            return Ok(Event::Official {
                action: name.into(),
            });
        }
        let (m, _) = self.manifest_or_err()?;
        if body.election_id != m.election_id {
            return Err(Error::WrongElection {
                expected: m.election_id.to_string(),
                got: body.election_id.to_string(),
            });
        }
        let signer = &signed.signer;
        match body.action {
            OfficialAction::Create { .. } => {
                return Err(Error::WrongPhase {
                    action: "create",
                    phase: "already created",
                })
            }
            OfficialAction::StartKeyCeremony => {
                Self::require_signer(signer, &m.officials.council, "electoral council")?;
                self.require_phase(name, &[Phase::Setup])?;
                if m.scheme != Scheme::Elgamal {
                    return Err(Error::WrongPhase {
                        action: name,
                        phase: "using the Paillier scheme (no key ceremony)",
                    });
                }
                self.phase = Some(Phase::KeyCeremony);
            }
            OfficialAction::KeyCeremony(msg) => {
                self.require_phase(name, &[Phase::KeyCeremony])?;
                let sender = msg.sender();
                let spec = m
                    .trustees
                    .get(usize::from(sender.get()).wrapping_sub(1))
                    .ok_or_else(|| {
                        Error::Unauthorized(format!("{sender} is not a trustee of this election"))
                    })?;
                Self::require_signer(signer, &spec.signing_key, "trustee named in the message")?;
                match *msg {
                    KeyCeremonyMessage::CeremonyKey(k) => {
                        let trustee::CeremonyKey {
                            trustee,
                            key,
                            proof,
                        } = *k;
                        if self.ceremony_keys.contains_key(&trustee.get()) {
                            return Err(Error::Trustees(format!(
                                "{trustee} already posted its ceremony key"
                            )));
                        }
                        trustee::check_ceremony_key(&m.election_id, trustee, &key, &proof)?;
                        if self.ceremony_keys.values().any(|k| *k == key) {
                            return Err(Error::Trustees(format!(
                                "{trustee}'s ceremony key is another trustee's"
                            )));
                        }
                        self.ceremony_keys.insert(trustee.get(), key);
                    }
                    KeyCeremonyMessage::Dealing(d) => {
                        let n = m.trustees.len() as u16;
                        let missing: Vec<String> = (1..=n)
                            .filter(|j| !self.ceremony_keys.contains_key(j))
                            .map(|j| format!("trustee {j}"))
                            .collect();
                        if !missing.is_empty() {
                            return Err(Error::Trustees(format!(
                                "a dealing needs every trustee's ceremony key (round 0); missing: {}",
                                missing.join(", ")
                            )));
                        }
                        if self.dealings.iter().any(|x| x.dealer == d.dealer) {
                            return Err(Error::Trustees(format!(
                                "{} already posted its dealing",
                                d.dealer
                            )));
                        }
                        self.dealings.push(*d);
                    }
                    KeyCeremonyMessage::Complaints { complaints, .. } => {
                        if complaints.iter().any(|c| c.complainer != sender) {
                            return Err(Error::Trustees(
                                "a complaint names another complainer".into(),
                            ));
                        }
                        self.complaints.extend(complaints);
                        self.round2.insert(sender.get(), self.dealings.len());
                    }
                }
            }
            OfficialAction::Open => {
                Self::require_signer(signer, &m.officials.council, "electoral council")?;
                match m.scheme {
                    Scheme::Elgamal => {
                        self.require_phase(name, &[Phase::KeyCeremony])?;
                        self.ceremony_progress().require_can_open()?;
                        let transcript = self
                            .key_ceremony_transcript()
                            .ok_or_else(|| Error::Trustees("no key ceremony".into()))?;
                        let outcome = transcript.recompute()?;
                        self.election_key =
                            Some(ElectionKey::Elgamal(outcome.joint_key.public_key));
                        self.dkg = Some(outcome);
                    }
                    Scheme::Paillier => {
                        self.require_phase(name, &[Phase::Setup])?;
                        let pk = m.paillier_key.clone().ok_or_else(|| {
                            Error::InvalidManifest(
                                "the Paillier scheme needs the administrator's key".into(),
                            )
                        })?;
                        self.election_key = Some(ElectionKey::Paillier(pk));
                    }
                }
                self.phase = Some(Phase::Open);
            }
            OfficialAction::ValidateVoter { commitment } => {
                Self::require_signer(
                    signer,
                    &m.officials.identity_validator,
                    "identity validator",
                )?;
                self.require_phase(name, &[Phase::Setup, Phase::KeyCeremony, Phase::Open])?;
                self.require_registration_open()?;
                if !self.whitelist.contains(&commitment) {
                    return Err(Error::Registration(format!(
                        "{commitment} is not on the whitelist"
                    )));
                }
                if !self.validated.insert(commitment) {
                    return Err(Error::Registration(format!(
                        "{commitment} was already validated"
                    )));
                }
            }
            OfficialAction::EnableVoters {
                batch,
                closes_registration,
            } => {
                Self::require_signer(signer, &m.officials.registrar, "registrar")?;
                self.require_phase(name, &[Phase::Setup, Phase::KeyCeremony, Phase::Open])?;
                self.require_registration_open()?;
                self.check_enable_batch(m, &batch, closes_registration)?;
                for NoteKey { token, key } in batch {
                    self.spent_tokens.insert(token.id());
                    self.voter_keys.insert(key.p.compress().to_bytes(), key);
                }
                self.registration_closed |= closes_registration;
            }
            OfficialAction::AuthorizeInPerson {
                table,
                authorization,
                booth_key,
            } => {
                self.require_phase(name, &[Phase::Open])?;
                let spec = m.tables.get(usize::from(table.0)).ok_or_else(|| {
                    Error::Malformed(format!("table {} does not exist", u32::from(table.0) + 1))
                })?;
                if !spec.jurors.contains(signer) {
                    return Err(Error::Unauthorized(format!(
                        "only a juror of table {} may authorize here",
                        u32::from(table.0) + 1
                    )));
                }
                let used = self.authorized[usize::from(table.0)];
                if used >= spec.quota {
                    return Err(Error::OverQuota {
                        table: table.0,
                        quota: spec.quota,
                    });
                }
                if self.authorizations.contains_key(&authorization) {
                    return Err(Error::DoubleVote(format!(
                        "authorization {authorization} already issued"
                    )));
                }
                self.authorized[usize::from(table.0)] += 1;
                self.authorizations.insert(
                    authorization,
                    AuthorizationState {
                        table,
                        booth_key,
                        used: false,
                    },
                );
            }
            OfficialAction::Close => {
                Self::require_signer(signer, &m.officials.council, "electoral council")?;
                self.require_phase(name, &[Phase::Open])?;
                let tallies = self.compute_tallies()?;
                self.tallies = Some(tallies);
                self.phase = Some(Phase::Closed);
            }
            OfficialAction::Decrypt(msg) => {
                self.require_phase(name, &[Phase::Closed])?;
                let tallies = self
                    .tallies
                    .as_ref()
                    .ok_or_else(|| Error::Trustees("no tallies".into()))?;
                let slot = trustee::check_decryption(m, self.dkg.as_ref(), tallies, signer, &msg)?;
                if self.decryptions.contains_key(&slot) {
                    return Err(Error::Trustees(
                        "this trustee already posted its decryption".into(),
                    ));
                }
                self.decryptions.insert(slot, msg);
            }
            OfficialAction::PublishResults => {
                Self::require_signer(signer, &m.officials.council, "electoral council")?;
                self.require_phase(name, &[Phase::Closed])?;
                let tallies = self
                    .tallies
                    .as_ref()
                    .ok_or_else(|| Error::Trustees("no tallies".into()))?;
                let msgs: Vec<&DecryptionMessage> = self.decryptions.values().collect();
                let results = trustee::combine(m, self.dkg.as_ref(), tallies, &msgs)?;
                self.results = Some(results);
                self.phase = Some(Phase::Tallied);
            }
        }
        Ok(Event::Official {
            action: name.into(),
        })
    }

    fn require_registration_open(&self) -> Result<()> {
        if self.registration_closed {
            return Err(Error::Registration(
                "registration is closed: the registrar's final batch (closes_registration) ended it"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Every check of an `enable_voters` batch, before anything is written.
    ///
    /// The registrar enables keys in batches of at least `registration_batch`, in canonical
    /// order, so the chain's order of enablements says nothing about the order in which voters
    /// were validated (their identities): an observer can link a key only to the set of voters
    /// validated before its batch. The one smaller batch allowed is the final one, which closes
    /// registration, so a registrar cannot enable keys one by one right after each validation.
    fn check_enable_batch(&self, m: &Manifest, batch: &[NoteKey], last: bool) -> Result<()> {
        if batch.len() > MAX_ENABLE_BATCH || (batch.is_empty() && !last) {
            return Err(Error::Registration(format!(
                "an enable_voters action carries 1..={MAX_ENABLE_BATCH} keys (none only in the \
                 final batch), this one {}",
                batch.len()
            )));
        }
        if batch
            .windows(2)
            .any(|w| w[0].order_key() >= w[1].order_key())
        {
            return Err(Error::Registration(
                "the keys of an enable_voters batch must be in strictly increasing order of their \
                 encoded P (canonical order, which hides the order in which the notes arrived); \
                 sort them"
                    .into(),
            ));
        }
        let waiting = self.validated.len().saturating_sub(self.voter_keys.len());
        if batch.len() > waiting {
            return Err(Error::Registration(format!(
                "enabling {} keys would exceed the {} validated voters ({} keys already enabled)",
                batch.len(),
                self.validated.len(),
                self.voter_keys.len()
            )));
        }
        let min = usize::try_from(m.registration_batch).unwrap_or(usize::MAX);
        if batch.len() < min && !last {
            return Err(Error::Registration(format!(
                "a batch of {} keys is below the manifest's registration_batch of {min}: keys \
                 enabled in small batches right after their validation link each voter's \
                 identity to its key; queue more notes, or post the final batch \
                 (closes_registration) at the end of registration",
                batch.len()
            )));
        }
        let mut tokens = BTreeSet::new();
        for NoteKey { token, key } in batch {
            self.check_token(m, token)?;
            if !tokens.insert(token.id()) {
                return Err(Error::DoubleVote(
                    "a registration token appears twice in the batch".into(),
                ));
            }
            if self.voter_keys.contains_key(&key.p.compress().to_bytes()) {
                return Err(Error::Registration(
                    "this stealth key is already enabled".into(),
                ));
            }
        }
        Ok(())
    }

    fn check_token(&self, m: &Manifest, token: &RegistrationToken) -> Result<()> {
        if token.message.len() != 32 {
            return Err(Error::Registration(
                "a registration token message is 32 bytes".into(),
            ));
        }
        if self.spent_tokens.contains(&token.id()) {
            return Err(Error::DoubleVote(
                "this registration token was already used".into(),
            ));
        }
        tabella_crypto::blind::verify(&m.officials.token_key, &token.message, &token.signature)
            .map_err(|e| Error::Registration(format!("registration token signature: {e}")))
    }

    /// The key that must sign a ballot with this credential, and the tally group it counts in.
    pub fn credential_signer(&self, credential: &Credential) -> Result<(RistrettoPoint, Group)> {
        match credential {
            Credential::Stealth { key } => {
                let k = self
                    .voter_keys
                    .get(&key.compress().to_bytes())
                    .ok_or_else(|| {
                        Error::UnknownVoterKey("no enabled stealth key matches this ballot".into())
                    })?;
                Ok((k.p, Group::Remote))
            }
            Credential::Table {
                table,
                authorization,
            } => {
                let a = self.authorizations.get(authorization).ok_or_else(|| {
                    Error::UnknownVoterKey(format!("no authorization {authorization} was issued"))
                })?;
                if a.table != *table {
                    return Err(Error::UnknownVoterKey(format!(
                        "authorization {authorization} belongs to table {}, not {}",
                        a.table.0, table.0
                    )));
                }
                Ok((a.booth_key, Group::Table(*table)))
            }
        }
    }

    /// Runs every check of a ballot without changing the state.
    pub fn check_ballot(&self, ballot: &Ballot, check: ProofCheck) -> Result<CheckedBallot> {
        self.manifest_or_err()?;
        self.require_phase("cast a ballot", &[Phase::Open])?;
        self.check_parsed_ballot(ballot, ballot.parse()?, check)
    }

    /// Decodes `ballots` and verifies their signatures and proofs in parallel batches against
    /// this state's election key and each ballot's credential signer — everything that does not
    /// depend on the order of application. Returns, per ballot, its decoding if all of that
    /// passed, else `None` (the caller then applies it with [`ProofCheck::Verify`], which names
    /// the fault). A `Some` may be applied with [`Self::apply_parsed_ballot`] and
    /// [`ProofCheck::AlreadyVerified`] to this state or any later one: election keys and signer
    /// keys never change once set.
    pub fn preverify_ballots(&self, ballots: &[&Ballot]) -> Vec<Option<ParsedBallot>> {
        let mut out: Vec<Option<ParsedBallot>> = vec![None; ballots.len()];
        let (Some(m), Some(pk)) = (self.manifest.as_ref(), self.election_key.as_ref()) else {
            return out;
        };
        let mut idx = Vec::with_capacity(ballots.len());
        let mut work = Vec::with_capacity(ballots.len());
        for (i, (b, d)) in ballots
            .iter()
            .zip(batch::decode_parallel(ballots))
            .enumerate()
        {
            let with_signer = d.and_then(|p| {
                self.credential_signer(&p.body.credential)
                    .map(|(s, _)| (p, s))
            });
            if let Ok((p, s)) = with_signer {
                idx.push(i);
                work.push((*b, p, s));
            }
        }
        let results = batch::verify_parallel(m, pk, &work);
        for ((i, (_, parsed, _)), r) in idx.into_iter().zip(work).zip(results) {
            if r.is_ok() {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(parsed);
                }
            }
        }
        out
    }

    /// Applies a ballot its caller has already decoded with [`Ballot::parse`] (e.g. to look up
    /// its signer for parallel verification), sparing a second decoding. Same checks and the same
    /// guarantee as [`Self::apply_with`]: on error the state is unchanged.
    pub fn apply_parsed_ballot(
        &mut self,
        ballot: &Ballot,
        parsed: ParsedBallot,
        check: ProofCheck,
    ) -> Result<Event> {
        let checked = self.check_parsed_ballot(ballot, parsed, check)?;
        Ok(self.accept_ballot(checked))
    }

    fn check_parsed_ballot(
        &self,
        ballot: &Ballot,
        parsed: ParsedBallot,
        check: ProofCheck,
    ) -> Result<CheckedBallot> {
        let (m, _) = self.manifest_or_err()?;
        self.require_phase("cast a ballot", &[Phase::Open])?;
        if parsed.body.election_id != m.election_id {
            return Err(Error::WrongElection {
                expected: m.election_id.to_string(),
                got: parsed.body.election_id.to_string(),
            });
        }
        let (signer, group) = self.credential_signer(&parsed.body.credential)?;
        let cred_id = parsed.body.credential.id_bytes();
        match &parsed.body.credential {
            Credential::Table { authorization, .. } => {
                if self
                    .authorizations
                    .get(authorization)
                    .is_some_and(|a| a.used)
                {
                    return Err(Error::DoubleVote(format!(
                        "authorization {authorization} was already used"
                    )));
                }
            }
            Credential::Stealth { .. } => {
                if m.revote == RevotePolicy::Forbidden && self.counted.contains_key(&cred_id) {
                    return Err(Error::DoubleVote(
                        "this voter key has already voted and re-voting is off".into(),
                    ));
                }
            }
        }
        // Any ballot seen before is a replay — also an older one of a voter who re-voted since,
        // which would otherwise become the counted ballot again.
        if self.seen_ballots.contains(&parsed.hash) {
            return Err(Error::DoubleVote(
                "this exact ballot was already accepted (replay)".into(),
            ));
        }
        let key = self.ballot_key()?;
        if check == ProofCheck::Verify {
            parsed.verify(ballot, m, key, &signer)?;
        } else {
            parsed.check_shape(m)?;
        }
        let contribution = parsed.tally_contribution(m, key)?;
        Ok(CheckedBallot {
            hash: parsed.hash,
            group,
            cred_id,
            credential: parsed.body.credential,
            contribution,
        })
    }

    /// The key ballots are verified against.
    fn ballot_key(&self) -> Result<&ElectionKey> {
        self.election_key.as_ref().ok_or(Error::WrongPhase {
            action: "cast a ballot",
            phase: "without an election key",
        })
    }

    fn accept_ballot(&mut self, c: CheckedBallot) -> Event {
        if let Credential::Table { authorization, .. } = &c.credential {
            if let Some(a) = self.authorizations.get_mut(authorization) {
                a.used = true;
            }
        }
        self.ballots_accepted += 1;
        self.seen_ballots.insert(c.hash);
        let replaced = self
            .counted
            .insert(
                c.cred_id,
                CountedBallot {
                    hash: c.hash,
                    group: c.group,
                    contribution: c.contribution,
                },
            )
            .map(|old| old.hash);
        Event::BallotAccepted {
            hash: c.hash,
            replaced,
        }
    }

    /// Counted ballots per original group (remote voters, then each table by index), from the
    /// ballots accepted so far.
    pub fn group_counts(&self) -> Vec<(Group, u64)> {
        let tables = self.manifest.as_ref().map_or(0, |m| m.tables.len());
        let mut counts: Vec<(Group, u64)> = vec![(Group::Remote, 0)];
        counts.extend((0..tables).map(|i| (Group::Table(TableIndex(i as u16)), 0)));
        for c in self.counted.values() {
            if let Some(slot) = counts.iter_mut().find(|(g, _)| *g == c.group) {
                slot.1 += 1;
            }
        }
        counts
    }

    fn compute_tallies(&self) -> Result<Tallies> {
        let (m, _) = self.manifest_or_err()?;
        // Groups below the minimum size are merged before anything is decrypted.
        let groups = plan_groups(&self.group_counts(), u64::from(m.min_group_size));
        let key = self.ballot_key()?;
        let mut t = Tallies::empty(m, key, &groups);
        for c in self.counted.values() {
            t.add(c.group, &c.contribution, key)?;
        }
        Ok(t)
    }
}

/// A ballot that passed every check, ready to be accepted.
#[derive(Clone, Debug)]
pub struct CheckedBallot {
    /// Receipt.
    pub hash: Digest32,
    /// Tally group.
    pub group: Group,
    cred_id: Vec<u8>,
    credential: Credential,
    contribution: Contribution,
}

/// The DKG parameters of an election: context is the election id.
pub fn dkg_params(m: &Manifest) -> Result<DkgParams> {
    Ok(DkgParams::new(
        m.trustees.len() as u16,
        m.threshold,
        dkg_context(&m.election_id).as_slice(),
    )?)
}

/// The DKG context bytes of an election.
pub fn dkg_context(id: &ElectionId) -> Vec<u8> {
    let mut c = b"tabella/election-dkg/v1/".to_vec();
    c.extend_from_slice(id.as_str().as_bytes());
    c
}
