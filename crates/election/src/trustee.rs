//! Trustees' messages: the key ceremony (t-of-n DKG) and the decryption of the tallies, with the
//! checks the state machine and the verifier run on them.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::IsIdentity;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::dkg::{Complaint, Dealing, DkgOutcome, TrusteeIndex};
use tabella_crypto::elgamal::DlogTable;
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::paillier::Opening;
use tabella_crypto::schnorr::SchnorrProof;
use tabella_crypto::threshold::TallyDecryptionShare;

use crate::error::{Error, Result};
use crate::ids::ElectionId;
use crate::manifest::Manifest;
use crate::sign::OfficialKey;
use crate::tally::{Results, Tallies};

/// Round 0 of the key ceremony: a trustee's key for this election's ceremony only, with a proof
/// of possession bound to the election and the trustee ([`ceremony_key_context`]). Shares are
/// encrypted to these keys; each trustee deletes its secret once its key share is sealed, so a
/// later theft of its keystore opens no past ceremony's shares (forward secrecy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CeremonyKey {
    /// The trustee.
    pub trustee: TrusteeIndex,
    /// `K = k·G`, fresh for this election.
    #[schema(value_type = tabella_crypto::api_schema::PointHex)]
    #[serde(with = "tabella_crypto::encoding::point_hex")]
    pub key: RistrettoPoint,
    /// Schnorr proof of knowledge of `k`.
    pub proof: SchnorrProof,
}

/// A trustee's key-ceremony message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "message", rename_all = "snake_case")]
pub enum KeyCeremonyMessage {
    /// Round 0: the trustee's key for this ceremony only ([`CeremonyKey`]).
    CeremonyKey(Box<CeremonyKey>),
    /// Round 1: Feldman commitments, proof of the secret, encrypted shares.
    Dealing(Box<Dealing>),
    /// Round 2: complaints against dealers whose share failed the Feldman check.
    Complaints {
        /// The complaining trustee.
        complainer: TrusteeIndex,
        /// Its complaints (may be empty: "no complaints").
        complaints: Vec<Complaint>,
    },
}

impl KeyCeremonyMessage {
    /// The trustee who sends this message.
    pub fn sender(&self) -> TrusteeIndex {
        match self {
            KeyCeremonyMessage::CeremonyKey(k) => k.trustee,
            KeyCeremonyMessage::Dealing(d) => d.dealer,
            KeyCeremonyMessage::Complaints { complainer, .. } => *complainer,
        }
    }
}

/// Context of trustee `trustee`'s ceremony-key proof in election `id`: a proof made for one
/// election or one trustee slot is refused in any other (so nobody can post a key it copied).
pub fn ceremony_key_context(id: &ElectionId, trustee: TrusteeIndex) -> Vec<u8> {
    let mut c = b"tabella/election-dkg/ceremony-key/v1/".to_vec();
    c.extend_from_slice(&trustee.get().to_be_bytes());
    c.extend_from_slice(id.as_str().as_bytes());
    c
}

/// A fresh ceremony key for `trustee` in election `id`: the secret (for the trustee to keep
/// until its key share is sealed) and the round-0 message that publishes the key.
pub fn new_ceremony_key<R: RngCore + CryptoRng>(
    id: &ElectionId,
    trustee: TrusteeIndex,
    rng: &mut R,
) -> (SecretScalar, KeyCeremonyMessage) {
    let secret = SecretScalar::random(rng);
    let msg = ceremony_key_message(id, trustee, &secret, rng);
    (secret, msg)
}

/// The round-0 message publishing the key of `secret` (e.g. after a crash between sealing the
/// secret and posting the message).
pub fn ceremony_key_message<R: RngCore + CryptoRng>(
    id: &ElectionId,
    trustee: TrusteeIndex,
    secret: &SecretScalar,
    rng: &mut R,
) -> KeyCeremonyMessage {
    KeyCeremonyMessage::CeremonyKey(Box::new(CeremonyKey {
        trustee,
        key: secret.expose() * G,
        proof: SchnorrProof::prove(&ceremony_key_context(id, trustee), &G, secret, rng),
    }))
}

/// Checks a ceremony key: not the identity, and its proof of possession holds for this election
/// and this trustee.
pub fn check_ceremony_key(
    id: &ElectionId,
    trustee: TrusteeIndex,
    key: &RistrettoPoint,
    proof: &SchnorrProof,
) -> Result<()> {
    if key.is_identity() {
        return Err(Error::InvalidProof(format!(
            "{trustee}'s ceremony key is the identity"
        )));
    }
    proof
        .verify(&ceremony_key_context(id, trustee), &G, key)
        .map_err(|e| {
            Error::InvalidProof(format!(
                "{trustee}'s ceremony key has no valid proof of possession: {e}"
            ))
        })
}

/// What a trustee must do next in the key ceremony, from the chain alone.
#[derive(Debug, PartialEq, Eq)]
pub enum CeremonyStep {
    /// Make, seal and post this election's ceremony key (round 0).
    PostKey,
    /// Wait for the other ceremony keys (have, of).
    WaitKeys(usize, usize),
    /// Post the dealing (round 1).
    Deal,
    /// Wait for the other dealings (have, of).
    WaitDealings(usize, usize),
    /// Post complaints (round 2), again if a dealing arrived after this trustee's last round 2.
    Complain,
    /// Wait for the other trustees' complaints (have, of).
    WaitComplaints(usize, usize),
    /// Compute and seal the key share.
    Finish,
}

/// The key ceremony's public messages so far ([`crate::state::ElectionState::ceremony_progress`]).
#[derive(Clone, Debug, Default)]
pub struct CeremonyProgress {
    /// Trustees in the ceremony (`n`).
    pub trustees: usize,
    /// Ceremony keys (round 0), by trustee number.
    pub keys: Vec<(TrusteeIndex, RistrettoPoint)>,
    /// Dealings (round 1) in chain order.
    pub dealings: Vec<Dealing>,
    /// Trustees whose round 2 came after the last dealing (it covers every dealing).
    pub complained: Vec<TrusteeIndex>,
    /// Trustees whose last round 2 came before the last dealing (they must post it again).
    pub stale: Vec<TrusteeIndex>,
    /// Every complaint.
    pub complaints: Vec<Complaint>,
}

impl CeremonyProgress {
    /// "k of n trustees posted round 0, d round 1, c round 2".
    pub fn summary(&self) -> String {
        format!(
            "{} of {} trustees posted round 0 (ceremony keys), {} round 1 (dealings), {} round 2 (complaints)",
            self.keys.len(),
            self.trustees,
            self.dealings.len(),
            self.complained.len()
        )
    }

    /// Whether every trustee has dealt and posted round 2 after the last dealing: the whole
    /// ceremony is done. `tabella election open` waits for this; the election itself accepts
    /// the opening earlier, under [`Self::require_can_open`].
    pub fn settled(&self) -> bool {
        self.dealings.len() >= self.trustees && self.complained.len() >= self.trustees
    }

    /// The rule the election enforces when the council opens voting: at least one dealing, and
    /// every trustee's round 2 (its complaints, possibly none) posted after the last dealing,
    /// so the complaints are settled and the joint key is fixed by the record. Opening earlier
    /// would fix a key in which a trustee that received a bad share (and has not complained
    /// yet) cannot derive its own share.
    pub fn require_can_open(&self) -> Result<()> {
        if self.dealings.is_empty() {
            return Err(Error::Trustees(
                "cannot open yet: round 1 of the key ceremony (dealings) is missing; the trustees \
                 deal first, then post their complaints (round 2)"
                    .into(),
            ));
        }
        let names = |v: Vec<TrusteeIndex>| {
            v.iter()
                .map(|j| format!("trustee {}", j.get()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let n = u16::try_from(self.trustees).unwrap_or(u16::MAX);
        let missing: Vec<TrusteeIndex> = (1..=n)
            .filter_map(|j| TrusteeIndex::new(j).ok())
            .filter(|j| !self.complained.contains(j) && !self.stale.contains(j))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Trustees(format!(
                "cannot open yet: round 2 of the key ceremony (complaints) is missing from {}; \
                 every trustee posts its complaints (an empty list if it has none) after all \
                 dealings, so that a bad share is settled before the joint key is fixed",
                names(missing)
            )));
        }
        if !self.stale.is_empty() {
            return Err(Error::Trustees(format!(
                "cannot open yet: {} posted round 2 of the key ceremony before the last dealing \
                 arrived and could not complain about it; they must post round 2 again",
                names(self.stale.clone())
            )));
        }
        Ok(())
    }

    /// Trustee `me`'s ceremony key, if posted.
    pub fn key_of(&self, me: TrusteeIndex) -> Option<RistrettoPoint> {
        self.keys.iter().find(|(t, _)| *t == me).map(|(_, k)| *k)
    }

    /// The next step of trustee `me`.
    pub fn next_step(&self, me: TrusteeIndex) -> CeremonyStep {
        let n = self.trustees;
        if self.key_of(me).is_none() {
            CeremonyStep::PostKey
        } else if self.keys.len() < n {
            CeremonyStep::WaitKeys(self.keys.len(), n)
        } else if !self.dealings.iter().any(|d| d.dealer == me) {
            CeremonyStep::Deal
        } else if self.dealings.len() < n {
            CeremonyStep::WaitDealings(self.dealings.len(), n)
        } else if !self.complained.contains(&me) {
            CeremonyStep::Complain
        } else if self.complained.len() < n {
            CeremonyStep::WaitComplaints(self.complained.len(), n)
        } else {
            CeremonyStep::Finish
        }
    }
}

/// A decryption of the election's tallies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum DecryptionMessage {
    /// ElGamal: one trustee's partial decryptions of every tally ciphertext, each with a
    /// Chaum–Pedersen proof against its verification share.
    Elgamal(TallyDecryptionShare),
    /// Paillier (seed 000 §4.2.4): the administrator's opening `(m, r)` of every tally ciphertext,
    /// the proof-of-result anyone checks by re-encrypting.
    Paillier {
        /// One opening per tally ciphertext, in the tallies' flat order.
        openings: Vec<Opening>,
    },
}

/// Context bound into every decryption-share proof of an election.
pub fn decryption_context(id: &ElectionId) -> Vec<u8> {
    let mut c = b"tabella/election-tally/v1/".to_vec();
    c.extend_from_slice(id.as_str().as_bytes());
    c
}

/// Checks a decryption message: signer, completeness and every proof. Returns the trustee slot.
pub fn check_decryption(
    m: &Manifest,
    dkg: Option<&DkgOutcome>,
    tallies: &Tallies,
    signer: &OfficialKey,
    msg: &DecryptionMessage,
) -> Result<u16> {
    match msg {
        DecryptionMessage::Elgamal(share) => {
            let dkg = dkg.ok_or_else(|| Error::Trustees("no key ceremony outcome".into()))?;
            let j = share.trustee;
            let spec = m
                .trustees
                .get(usize::from(j.get()).wrapping_sub(1))
                .ok_or_else(|| {
                    Error::Unauthorized(format!("{j} is not a trustee of this election"))
                })?;
            if &spec.signing_key != signer {
                return Err(Error::Unauthorized(format!(
                    "only {j} may post {j}'s decryption"
                )));
            }
            // Every trustee holds a share x_j (the sum of the qualified dealers' shares for j),
            // including a trustee whose own dealing was disqualified; its verification share X_j
            // is in the joint key, and the proof below is checked against it.
            let cts = tallies.flat();
            share
                .verify(&dkg.joint_key, &cts, &decryption_context(&m.election_id))
                .map_err(|e| Error::InvalidProof(format!("decryption by {j}: {e}")))?;
            Ok(j.get())
        }
        DecryptionMessage::Paillier { openings } => {
            if signer != &m.officials.council {
                return Err(Error::Unauthorized(
                    "only the voting administrator (the council) may publish the Paillier openings"
                        .into(),
                ));
            }
            let pk = m.paillier_key.as_ref().ok_or_else(|| {
                Error::Trustees("Paillier openings in an ElGamal election".into())
            })?;
            let cts = tallies.flat_paillier();
            if openings.len() != cts.len() {
                return Err(Error::Trustees(format!(
                    "{} openings for {} tally ciphertexts",
                    openings.len(),
                    cts.len()
                )));
            }
            for (i, (o, c)) in openings.iter().zip(&cts).enumerate() {
                o.verify(pk, c).map_err(|e| {
                    Error::InvalidProof(format!(
                        "opening {i} does not re-encrypt to the tally: {e}"
                    ))
                })?;
            }
            Ok(0)
        }
    }
}

/// Combines the (already checked) decryption messages into results. Needs at least `t` trustees.
pub fn combine(
    m: &Manifest,
    dkg: Option<&DkgOutcome>,
    tallies: &Tallies,
    msgs: &[&DecryptionMessage],
) -> Result<Results> {
    if let Some(DecryptionMessage::Paillier { openings }) = msgs.first() {
        let values = openings
            .iter()
            .map(|o| {
                o.m.to_u64().filter(|v| *v < m.max_tally()).ok_or_else(|| {
                    Error::Trustees("an opened tally exceeds the number of possible votes".into())
                })
            })
            .collect::<Result<Vec<u64>>>()?;
        return Results::from_flat(tallies, &values);
    }
    let dkg = dkg.ok_or_else(|| Error::Trustees("no key ceremony outcome".into()))?;
    let shares: Vec<TallyDecryptionShare> = msgs
        .iter()
        .filter_map(|msg| match msg {
            DecryptionMessage::Elgamal(s) => Some(s.clone()),
            DecryptionMessage::Paillier { .. } => None,
        })
        .collect();
    if shares.len() < usize::from(m.threshold) {
        return Err(Error::Trustees(format!(
            "{} of the {} trustees needed have decrypted",
            shares.len(),
            m.threshold
        )));
    }
    let table = DlogTable::new(m.max_tally())?;
    // Every share was verified when it was accepted; `decrypt_tally` checks them again in one
    // batch (cheap) with secret weights, so the result is the same on every machine.
    let values = tabella_crypto::threshold::decrypt_tally(
        &dkg.joint_key,
        &tallies.flat(),
        &shares,
        &decryption_context(&m.election_id),
        &table,
    )?;
    Results::from_flat(tallies, &values)
}
