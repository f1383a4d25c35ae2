//! Ballots: plaintext choices, their encoding (seed 000 Annex B), encryption with validity proofs,
//! and verification.
//!
//! Encoding per contest:
//! * single choice — one row, one entry per candidate (+ "blank" if allowed), each 0/1, sum 1;
//! * approval — one row, each entry 0/1, sum in `[min, max]` (`[0, max]` if blank is allowed);
//! * preferential with `m` ranks — `m` one-hot rows (row `r` marks the candidate ranked `r+1`)
//!   and, per candidate, a proof that its column sums to 0 or 1 (no candidate ranked twice). The
//!   tally weights row `r` by `m − r`, which yields seed 000's points `m, m−1, …, 1` without ever
//!   decrypting a ballot, and the proofs make a ballot like `[3, 3, 0]` impossible.
//!
//! Every proof's context binds the election id, the ballot's credential, the contest and the row,
//! so a ballot's ciphertexts cannot be copied into another voter's ballot (the Helios ballot-copy
//! attack of Cortier and Smyth, "Attacking and fixing Helios", CSF 2011).

use curve25519_dalek::ristretto::RistrettoPoint;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::batch::BatchVerifier;
use tabella_crypto::disjunctive::{PrecomputedKey, SumProof};
use tabella_crypto::elgamal::{Ciphertext, PublicKey};
use tabella_crypto::group::SecretScalar;
use tabella_crypto::schnorr::SchnorrSignature;
use tabella_crypto::vector::EncryptedVector;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::ids::{Digest32, ElectionId, TableIndex};
use crate::manifest::{Contest, ContestKind, Manifest, Scheme};
use crate::paillier_ballot::{self, PaillierContest};

/// A voter's plaintext choice in one contest (indices into the contest's candidates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Single choice: `Some(candidate)` or `None` for blank.
    Single(Option<usize>),
    /// Approval: the approved candidates (empty = blank, if allowed).
    Approval(Vec<usize>),
    /// Preferential: candidates from most to least preferred, exactly `ranks` of them.
    Ranking(Vec<usize>),
}

/// How the ballot is authorized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// Remote voter: an enabled stealth key `P` (seed 000 §2.2); the ballot is signed by its secret.
    Stealth {
        /// The one-time public key `P`.
        #[schema(value_type = tabella_crypto::api_schema::PointHex)]
        #[serde(with = "tabella_crypto::encoding::point_hex")]
        key: RistrettoPoint,
    },
    /// In-person voter: a juror's authorization at a table (seed 003); the ballot is signed by the
    /// booth key named in the authorization.
    Table {
        /// The table.
        table: TableIndex,
        /// The authorization's id.
        authorization: Digest32,
    },
}

impl Credential {
    /// Stable bytes identifying the credential (bound into every proof of the ballot).
    pub fn id_bytes(&self) -> Vec<u8> {
        match self {
            Credential::Stealth { key } => {
                let mut v = b"stealth:".to_vec();
                v.extend_from_slice(key.compress().as_bytes());
                v
            }
            Credential::Table {
                table,
                authorization,
            } => {
                let mut v = b"table:".to_vec();
                v.extend_from_slice(&table.0.to_le_bytes());
                v.extend_from_slice(&authorization.0);
                v
            }
        }
    }
}

/// One encrypted contest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EncryptedContest {
    /// ElGamal scheme: encrypted rows with their entry and sum proofs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<EncryptedVector>,
    /// ElGamal scheme, preferential contests: per candidate, proof that its column sums to 0 or 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub column_proofs: Vec<SumProof>,
    /// Paillier scheme: the contest's rows and proofs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paillier: Option<PaillierContest>,
}

/// The key a ballot is encrypted under, as seen by voters (with precomputation).
#[derive(Clone, Copy, Debug)]
pub enum BallotKey<'a> {
    /// The trustees' joint ElGamal key.
    Elgamal(&'a PrecomputedKey),
    /// The administrator's Paillier key (seed 000).
    Paillier(&'a tabella_crypto::paillier::PublicKey),
}

/// The key ballots are verified against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionKey {
    /// The trustees' joint ElGamal key.
    Elgamal(PublicKey),
    /// The administrator's Paillier key (seed 000).
    Paillier(tabella_crypto::paillier::PublicKey),
}

/// What one ballot adds to its group's tally, per contest per result entry.
#[derive(Clone, Debug)]
pub enum Contribution {
    /// ElGamal ciphertexts.
    Elgamal(Vec<Vec<Ciphertext>>),
    /// Paillier ciphertexts.
    Paillier(Vec<Vec<tabella_crypto::paillier::Ciphertext>>),
}

/// The signed content of a ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BallotBody {
    /// The election.
    pub election_id: ElectionId,
    /// Who may cast it.
    pub credential: Credential,
    /// One entry per manifest contest, in order.
    pub contests: Vec<EncryptedContest>,
}

/// A cast ballot: the exact JSON text of its body and a Schnorr signature over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ballot {
    /// JSON of [`BallotBody`].
    pub payload: String,
    /// Signature by the credential's key over the payload.
    pub signature: SchnorrSignature,
}

/// Signature domain for ballots.
pub const BALLOT_SIG_DOMAIN: &[u8] = b"tabella/ballot-signature/v1";

/// A ballot decoded and ready to check.
#[derive(Clone, Debug)]
pub struct ParsedBallot {
    /// The decoded body.
    pub body: BallotBody,
    /// The receipt: hash of the payload.
    pub hash: Digest32,
}

impl Ballot {
    /// The ballot hash the voter keeps as a receipt.
    pub fn hash(&self) -> Digest32 {
        tracker(&self.payload)
    }

    /// Decodes the body.
    pub fn parse(&self) -> Result<ParsedBallot> {
        let body: BallotBody = serde_json::from_str(&self.payload)
            .map_err(|e| Error::Malformed(format!("ballot body: {e}")))?;
        Ok(ParsedBallot {
            body,
            hash: self.hash(),
        })
    }
}

pub(crate) fn proof_context(
    election: &ElectionId,
    credential: &Credential,
    contest: usize,
    row: u64,
) -> Vec<u8> {
    let mut c = Vec::with_capacity(96);
    c.extend_from_slice(b"tabella/ballot/v1/");
    c.extend_from_slice(election.as_str().as_bytes());
    c.push(0);
    c.extend_from_slice(&credential.id_bytes());
    c.extend_from_slice(&(contest as u64).to_le_bytes());
    c.extend_from_slice(&row.to_le_bytes());
    c
}

pub(crate) fn column_context(
    election: &ElectionId,
    credential: &Credential,
    contest: usize,
    column: usize,
) -> Vec<u8> {
    let mut c = proof_context(election, credential, contest, u64::MAX);
    c.extend_from_slice(b"column");
    c.extend_from_slice(&(column as u64).to_le_bytes());
    c
}

/// Turns a contest choice into its plaintext rows; errors if the choice breaks the contest's rule.
pub fn encode_choice(contest: &Contest, choice: &Choice) -> Result<Vec<Vec<u64>>> {
    let n = contest.candidates.len();
    let bad = |m: String| {
        Err(Error::Malformed(format!(
            "choice for {:?}: {m}",
            contest.title
        )))
    };
    let check_idx = |i: usize| {
        if i < n {
            Ok(())
        } else {
            Err(Error::Malformed(format!(
                "candidate {i} does not exist in {:?} ({n} candidates)",
                contest.title
            )))
        }
    };
    match (&contest.kind, choice) {
        (ContestKind::SingleChoice, Choice::Single(c)) => {
            let mut row = vec![0u64; contest.result_len()];
            match c {
                Some(i) => {
                    check_idx(*i)?;
                    row[*i] = 1;
                }
                None if contest.allow_blank => row[n] = 1,
                None => return bad("blank votes are not allowed".into()),
            }
            Ok(vec![row])
        }
        (ContestKind::Approval { min, max }, Choice::Approval(sel)) => {
            let mut row = vec![0u64; n];
            for i in sel {
                check_idx(*i)?;
                if row[*i] == 1 {
                    return bad(format!("candidate {i} approved twice"));
                }
                row[*i] = 1;
            }
            let k = sel.len() as u32;
            let blank_ok = k == 0 && contest.allow_blank;
            if !blank_ok && (k < *min || k > *max) {
                return bad(format!(
                    "approve between {min} and {max} candidates, got {k}"
                ));
            }
            Ok(vec![row])
        }
        (ContestKind::Preferential { ranks }, Choice::Ranking(order)) => {
            if order.len() != *ranks as usize {
                return bad(format!(
                    "rank exactly {ranks} candidates, got {}",
                    order.len()
                ));
            }
            let mut rows = Vec::with_capacity(order.len());
            let mut seen = vec![false; n];
            for i in order {
                check_idx(*i)?;
                if seen[*i] {
                    return bad(format!("candidate {i} ranked twice"));
                }
                seen[*i] = true;
                let mut row = vec![0u64; n];
                row[*i] = 1;
                rows.push(row);
            }
            Ok(rows)
        }
        _ => bad("the choice does not match the contest kind".into()),
    }
}

/// The points a decoded plaintext ballot gives each result entry (used by tests and simulations
/// to compute expected results).
pub fn choice_points(contest: &Contest, choice: &Choice) -> Result<Vec<u64>> {
    let rows = encode_choice(contest, choice)?;
    let m = rows.len() as u64;
    let mut pts = vec![0u64; contest.result_len()];
    for (r, row) in rows.iter().enumerate() {
        let w = if matches!(contest.kind, ContestKind::Preferential { .. }) {
            m - r as u64
        } else {
            1
        };
        for (p, v) in pts.iter_mut().zip(row) {
            *p += w * v;
        }
    }
    Ok(pts)
}

/// Encrypts `choices` (one per contest) into a signed ballot for `credential`, signed by
/// `signer` (the stealth secret or the booth key): [`encrypt_ballot`] then [`sign_ballot`].
pub fn cast<R: RngCore + CryptoRng>(
    manifest: &Manifest,
    key: BallotKey<'_>,
    credential: Credential,
    choices: &[Choice],
    signer: &SecretScalar,
    rng: &mut R,
) -> Result<Ballot> {
    let (payload, _secrets) = encrypt_ballot(manifest, key, credential, choices, rng)?;
    Ok(sign_ballot(payload, signer, rng))
}

/// The encryption randomness of an unsigned ballot, contest → row → entry (ElGamal scheme; the
/// contests of a Paillier ballot are empty). Revealing it opens the ballot: it is kept only to
/// audit a ballot that will never be cast ([`crate::audit`]). Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BallotSecrets {
    contests: Vec<Vec<Vec<SecretScalar>>>,
}

impl BallotSecrets {
    /// Contest → row → entry randomness. Whoever holds it can read the ballot's choices.
    pub fn expose(&self) -> &[Vec<Vec<SecretScalar>>] {
        &self.contests
    }
}

impl core::fmt::Debug for BallotSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "BallotSecrets(<redacted>, {} contests)",
            self.contests.len()
        )
    }
}

/// The tracker of a ballot payload: the hash a voter sees before deciding to cast or audit it,
/// equal to [`Ballot::hash`] of the ballot once signed (the receipt).
pub fn tracker(payload: &str) -> Digest32 {
    Digest32::of("tabella/ballot/v1", payload.as_bytes())
}

/// Encrypts `choices` (one per contest) for `credential` into the exact JSON of a [`BallotBody`]
/// (unsigned), and returns the encryption randomness beside it. The booth shows
/// [`tracker`]`(&payload)`, then either signs this very payload ([`sign_ballot`]) or spoils it and
/// reveals the randomness ([`crate::audit::AuditedBallot`]) — Benaloh's cast-or-audit.
pub fn encrypt_ballot<R: RngCore + CryptoRng>(
    manifest: &Manifest,
    key: BallotKey<'_>,
    credential: Credential,
    choices: &[Choice],
    rng: &mut R,
) -> Result<(String, BallotSecrets)> {
    if choices.len() != manifest.contests.len() {
        return Err(Error::Malformed(format!(
            "{} choices given for {} contests",
            choices.len(),
            manifest.contests.len()
        )));
    }
    let mut contests = Vec::with_capacity(choices.len());
    let mut secrets = BallotSecrets {
        contests: Vec::with_capacity(choices.len()),
    };
    for (ci, (contest, choice)) in manifest.contests.iter().zip(choices).enumerate() {
        let rows_plain = encode_choice(contest, choice)?;
        let key = match key {
            BallotKey::Elgamal(k) => k,
            BallotKey::Paillier(pk) => {
                let enc = paillier_ballot::encrypt_contest(
                    pk,
                    contest,
                    &rows_plain,
                    &|r| proof_context(&manifest.election_id, &credential, ci, r as u64),
                    &|j| column_context(&manifest.election_id, &credential, ci, j),
                    rng,
                )?;
                contests.push(EncryptedContest {
                    rows: Vec::new(),
                    column_proofs: Vec::new(),
                    paillier: Some(enc),
                });
                secrets.contests.push(Vec::new());
                continue;
            }
        };
        let rule = contest.row_rule();
        let mut rows = Vec::with_capacity(rows_plain.len());
        let mut randomness = Vec::with_capacity(rows_plain.len());
        for (ri, row) in rows_plain.iter().enumerate() {
            let ctx = proof_context(&manifest.election_id, &credential, ci, ri as u64);
            let (v, rs) = EncryptedVector::encrypt_keeping_randomness(&ctx, key, &rule, row, rng)?;
            rows.push(v);
            randomness.push(rs);
        }
        let mut column_proofs = Vec::new();
        if let ContestKind::Preferential { .. } = contest.kind {
            for j in 0..contest.candidates.len() {
                let cts: Vec<Ciphertext> = rows.iter().map(|r| r.ciphertexts[j]).collect();
                let rs: Vec<SecretScalar> = randomness.iter().map(|r| r[j].clone()).collect();
                let sum: u64 = rows_plain.iter().map(|r| r[j]).sum();
                let ctx = column_context(&manifest.election_id, &credential, ci, j);
                column_proofs.push(SumProof::prove(&ctx, key, &cts, &rs, sum, 0, 1, rng)?);
            }
        }
        contests.push(EncryptedContest {
            rows,
            column_proofs,
            paillier: None,
        });
        secrets.contests.push(randomness);
    }
    let body = BallotBody {
        election_id: manifest.election_id.clone(),
        credential,
        contests,
    };
    let payload = serde_json::to_string(&body)
        .map_err(|e| Error::Malformed(format!("ballot encoding: {e}")))?;
    Ok((payload, secrets))
}

/// Signs an unsigned ballot payload from [`encrypt_ballot`] with the credential's key (the
/// stealth secret or the booth key). Sign only a payload that was not audited.
pub fn sign_ballot<R: RngCore + CryptoRng>(
    payload: String,
    signer: &SecretScalar,
    rng: &mut R,
) -> Ballot {
    let signature = SchnorrSignature::sign(BALLOT_SIG_DOMAIN, payload.as_bytes(), signer, rng);
    Ballot { payload, signature }
}

/// The public key that must have signed a ballot with this credential (looked up by the caller:
/// the stealth key itself, or the booth key of the table authorization).
pub type SignerKey = RistrettoPoint;

impl ParsedBallot {
    /// Checks the ballot's shape against the manifest and adds its signature and every proof to
    /// `bv`. The caller checks the election id, the credential's validity and the batch result.
    pub fn add_to_batch(
        &self,
        ballot: &Ballot,
        manifest: &Manifest,
        key: &ElectionKey,
        signer: &SignerKey,
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        self.check_shape(manifest)?;
        let body = &self.body;
        ballot
            .signature
            .add_to_batch(BALLOT_SIG_DOMAIN, ballot.payload.as_bytes(), signer, bv);
        let pk = match key {
            ElectionKey::Elgamal(pk) => pk,
            ElectionKey::Paillier(ppk) => {
                // Paillier proofs are not batchable: verified here, one by one.
                for (ci, (contest, enc)) in manifest.contests.iter().zip(&body.contests).enumerate()
                {
                    let p = enc.paillier.as_ref().ok_or_else(|| {
                        Error::Malformed(format!("contest {ci} is not a Paillier contest"))
                    })?;
                    paillier_ballot::verify_contest(
                        ppk,
                        contest,
                        p,
                        &|r| proof_context(&body.election_id, &body.credential, ci, r as u64),
                        &|j| column_context(&body.election_id, &body.credential, ci, j),
                    )
                    .map_err(|e| Error::InvalidProof(format!("contest {ci}: {e}")))?;
                }
                return Ok(());
            }
        };
        for (ci, (contest, enc)) in manifest.contests.iter().zip(&body.contests).enumerate() {
            let rule = contest.row_rule();
            for (ri, row) in enc.rows.iter().enumerate() {
                let ctx = proof_context(&body.election_id, &body.credential, ci, ri as u64);
                row.add_to_batch(&ctx, pk, &rule, bv)
                    .map_err(|e| Error::InvalidProof(format!("contest {ci} row {ri}: {e}")))?;
            }
            for (j, p) in enc.column_proofs.iter().enumerate() {
                if p.min != 0 || p.max != 1 {
                    return Err(Error::InvalidProof(format!(
                        "contest {ci} column {j}: wrong range"
                    )));
                }
                let cts: Vec<Ciphertext> = enc.rows.iter().map(|r| r.ciphertexts[j]).collect();
                let ctx = column_context(&body.election_id, &body.credential, ci, j);
                p.add_to_batch(&ctx, pk, &cts, bv)
                    .map_err(|e| Error::InvalidProof(format!("contest {ci} column {j}: {e}")))?;
            }
        }
        Ok(())
    }

    /// Checks that the ballot has exactly the contests, rows, entries and proofs the manifest
    /// requires (no cryptography).
    pub fn check_shape(&self, manifest: &Manifest) -> Result<()> {
        let body = &self.body;
        if body.contests.len() != manifest.contests.len() {
            return Err(Error::Malformed(format!(
                "ballot has {} contests, the manifest {}",
                body.contests.len(),
                manifest.contests.len()
            )));
        }
        for (ci, (contest, enc)) in manifest.contests.iter().zip(&body.contests).enumerate() {
            if manifest.scheme == Scheme::Paillier {
                check_paillier_shape(ci, contest, enc)?;
                continue;
            }
            if enc.paillier.is_some() {
                return Err(Error::Malformed(format!(
                    "contest {ci} carries Paillier data in an ElGamal election"
                )));
            }
            check_contest_shape(
                ci,
                contest,
                enc.rows
                    .iter()
                    .map(|r| (r.ciphertexts.len(), r.entry_proofs.len())),
                enc.column_proofs.len(),
            )?;
        }
        Ok(())
    }

    /// Verifies the ballot alone: shape, signature by `signer`, and every proof.
    pub fn verify(
        &self,
        ballot: &Ballot,
        manifest: &Manifest,
        pk: &ElectionKey,
        signer: &SignerKey,
    ) -> Result<()> {
        crate::batch::verify_one(ballot, self, manifest, pk, signer)
    }

    /// Per contest, the ciphertexts this ballot adds to the tally (preferential rows weighted).
    /// Call after [`Self::check_shape`].
    pub fn tally_contribution(
        &self,
        manifest: &Manifest,
        key: &ElectionKey,
    ) -> Result<Contribution> {
        if let ElectionKey::Paillier(pk) = key {
            let mut out = Vec::with_capacity(manifest.contests.len());
            for (contest, enc) in manifest.contests.iter().zip(&self.body.contests) {
                let p = enc
                    .paillier
                    .as_ref()
                    .ok_or_else(|| Error::Malformed("not a Paillier contest".into()))?;
                out.push(paillier_ballot::contribution(pk, contest, p)?);
            }
            return Ok(Contribution::Paillier(out));
        }
        Ok(Contribution::Elgamal(
            manifest
                .contests
                .iter()
                .zip(&self.body.contests)
                .map(|(contest, enc)| {
                    let m = enc.rows.len() as u64;
                    let mut acc = vec![Ciphertext::zero(); contest.result_len()];
                    for (r, row) in enc.rows.iter().enumerate() {
                        let w = m - r as u64;
                        for (a, c) in acc.iter_mut().zip(&row.ciphertexts) {
                            *a = if w == 1 {
                                *a + *c
                            } else {
                                *a + c.scale_small(w)
                            };
                        }
                    }
                    acc
                })
                .collect(),
        ))
    }
}

fn check_paillier_shape(ci: usize, contest: &Contest, enc: &EncryptedContest) -> Result<()> {
    let p = enc
        .paillier
        .as_ref()
        .ok_or_else(|| Error::Malformed(format!("contest {ci} lacks its Paillier ciphertexts")))?;
    if !enc.rows.is_empty() || !enc.column_proofs.is_empty() {
        return Err(Error::Malformed(format!(
            "contest {ci} carries ElGamal data in a Paillier election"
        )));
    }
    check_contest_shape(
        ci,
        contest,
        p.rows
            .iter()
            .map(|r| (r.ciphertexts.len(), r.entry_proofs.len())),
        p.column_proofs.len(),
    )
}

/// Checks a contest's rows (each as (ciphertexts, entry proofs)) and column proofs against the
/// manifest, whatever the scheme.
fn check_contest_shape(
    ci: usize,
    contest: &Contest,
    rows: impl ExactSizeIterator<Item = (usize, usize)>,
    columns: usize,
) -> Result<()> {
    if rows.len() != contest.rows() {
        return Err(Error::Malformed(format!(
            "contest {ci} has {} rows, expected {}",
            rows.len(),
            contest.rows()
        )));
    }
    let width = contest.row_rule().len;
    for (ri, (cts, proofs)) in rows.enumerate() {
        if cts != width || proofs != width {
            return Err(Error::Malformed(format!(
                "contest {ci} row {ri} has {cts} entries and {proofs} proofs, expected {width}"
            )));
        }
    }
    let expected = if matches!(contest.kind, ContestKind::Preferential { .. }) {
        contest.candidates.len()
    } else {
        0
    };
    if columns != expected {
        return Err(Error::Malformed(format!(
            "contest {ci} has {columns} column proofs, expected {expected}"
        )));
    }
    Ok(())
}
