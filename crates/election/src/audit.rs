//! Benaloh's cast-or-audit challenge: the voter's device encrypts the ballot and commits to it
//! (shows its [`tracker`]) before the voter decides to **cast** it (sign and submit that very
//! encryption) or to **audit** it (the device reveals the choices and the encryption randomness;
//! the ballot is spoiled, never cast). Since the device cannot know which way the voter will go,
//! a device that encrypts anything but the voter's choices is caught, with probability growing
//! with every audit. The check, [`check_audited`], is meant to run on another machine than the
//! one that encrypted (`tabella verify-ballot`).
//!
//! J. Benaloh, "Simple Verifiable Elections", Proc. USENIX/ACCURATE Electronic Voting Technology
//! Workshop (EVT '06), 2006. The same challenge in a web voting system: B. Adida, "Helios:
//! Web-based Open-Audit Voting", USENIX Security 2008.
//!
//! An [`AuditedBallot`] carries **no signature**: a spoiled ballot can never be submitted (with
//! [`crate::manifest::RevotePolicy::LastCounts`] a signed spoiled ballot posted later would replace
//! the real vote). It reveals the choices of the spoiled ballot only, and proves nothing about the
//! ballot eventually cast, which is a fresh encryption.

use core::fmt;

use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};
use tabella_crypto::elgamal::{ciphertexts_ct_eq, Ciphertext, PublicKey};
use tabella_crypto::group::SecretScalar;
use zeroize::Zeroizing;

use crate::ballot::{
    column_context, encode_choice, proof_context, tracker, BallotBody, BallotSecrets, Choice,
    ElectionKey, ParsedBallot,
};
use crate::error::{Error, Result};
use crate::ids::{Digest32, ElectionId};
use crate::manifest::{Contest, Manifest, Scheme};

/// A spoiled ballot opened for audit: the unsigned ballot, the choices it claims to encrypt and
/// the randomness of every ciphertext (contest → row → entry, 64 hex digits each). Written as
/// `audit-<tracker's first 8 hex digits>.json`. Unknown fields (a signature) are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditedBallot {
    /// The election.
    pub election_id: ElectionId,
    /// The tracker the device showed before the voter chose to audit: [`tracker`] of `payload`.
    pub tracker: Digest32,
    /// The exact JSON of the unsigned [`BallotBody`].
    pub payload: String,
    /// The choices the device claims the ballot encrypts, one per contest.
    pub choices: Vec<Choice>,
    /// The encryption randomness, contest → row → entry, hex.
    pub randomness: Vec<Vec<Vec<String>>>,
}

impl AuditedBallot {
    /// Opens an unsigned ballot from [`crate::ballot::encrypt_ballot`] for audit. The caller must
    /// then forget `payload` for casting: a fresh encryption is cast instead.
    pub fn new(payload: String, secrets: &BallotSecrets, choices: Vec<Choice>) -> Result<Self> {
        let body = parse_body(&payload)?;
        if secrets
            .expose()
            .iter()
            .zip(&body.contests)
            .any(|(s, c)| s.is_empty() && c.paillier.is_some())
        {
            return Err(paillier_refused());
        }
        let randomness = secrets
            .expose()
            .iter()
            .map(|rows| {
                rows.iter()
                    .map(|entries| entries.iter().map(|r| hex::encode(r.to_bytes())).collect())
                    .collect()
            })
            .collect();
        Ok(AuditedBallot {
            election_id: body.election_id,
            tracker: tracker(&payload),
            payload,
            choices,
            randomness,
        })
    }

    /// The file name to write it under: `audit-<first 8 hex digits of the tracker>.json`.
    pub fn file_name(&self) -> String {
        let t = self.tracker.to_hex();
        format!("audit-{}.json", &t[..8.min(t.len())])
    }
}

/// One contest of a passed audit: the choice in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditedContest {
    /// The contest's title.
    pub title: String,
    /// The choice as indices.
    pub choice: Choice,
    /// The chosen options' labels, in order (preference order for a ranked contest); empty for a
    /// blank vote.
    pub options: Vec<String>,
}

impl AuditedContest {
    /// The choice in words: `Ada`, `Labs, Library`, `1. Ada, 2. Turing` or `(blank)`.
    pub fn in_words(&self) -> String {
        if self.options.is_empty() {
            return "(blank)".into();
        }
        match self.choice {
            Choice::Ranking(_) => self
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| format!("{}. {o}", i + 1))
                .collect::<Vec<_>>()
                .join(", "),
            _ => self.options.join(", "),
        }
    }
}

/// What a passed audit shows: the ballot with this tracker encrypts exactly these choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditReport {
    /// The election.
    pub election_id: ElectionId,
    /// The spoiled ballot's tracker.
    pub tracker: Digest32,
    /// One entry per contest, in manifest order.
    pub contests: Vec<AuditedContest>,
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "election {}, ballot tracker {}",
            self.election_id, self.tracker
        )?;
        for (i, c) in self.contests.iter().enumerate() {
            writeln!(f, "  {}. {}: {}", i + 1, c.title, c.in_words())?;
        }
        write!(
            f,
            "this ballot encrypts exactly these choices (it was spoiled by the audit and is never cast)"
        )
    }
}

fn paillier_refused() -> Error {
    Error::AuditUnsupported(
        "the election uses the Paillier scheme, whose ballots keep no randomness to reveal; \
         only ElGamal ballots can be audited"
            .into(),
    )
}

fn parse_body(payload: &str) -> Result<BallotBody> {
    serde_json::from_str(payload).map_err(|e| Error::Malformed(format!("audited ballot body: {e}")))
}

/// Checks an audited ballot against the election (Benaloh's audit, see the module docs):
///
/// 1. the tracker is the hash of the payload, and the file, the payload and the manifest name
///    the same election;
/// 2. the ballot has the manifest's shape, and every row proof and column proof verifies under
///    the election key (so it is a ballot the ledger would accept, signature aside);
/// 3. each claimed choice is valid for its contest ([`encode_choice`]);
/// 4. re-encrypting each plaintext entry with the revealed randomness gives exactly the
///    ballot's ciphertext.
///
/// On success the report gives the tracker and the choices in words. Paillier-scheme elections
/// are refused ([`Error::AuditUnsupported`]).
pub fn check_audited(
    manifest: &Manifest,
    key: &ElectionKey,
    audited: &AuditedBallot,
) -> Result<AuditReport> {
    let pk = match (key, manifest.scheme) {
        (ElectionKey::Elgamal(pk), Scheme::Elgamal) => pk,
        _ => return Err(paillier_refused()),
    };
    let computed = tracker(&audited.payload);
    if computed != audited.tracker {
        return Err(Error::TrackerMismatch {
            claimed: audited.tracker.to_hex(),
            computed: computed.to_hex(),
        });
    }
    if audited.election_id != manifest.election_id {
        return Err(Error::WrongElection {
            expected: manifest.election_id.to_string(),
            got: audited.election_id.to_string(),
        });
    }
    let parsed = ParsedBallot {
        body: parse_body(&audited.payload)?,
        hash: computed,
    };
    let body = &parsed.body;
    if body.election_id != manifest.election_id {
        return Err(Error::WrongElection {
            expected: manifest.election_id.to_string(),
            got: body.election_id.to_string(),
        });
    }
    parsed.check_shape(manifest)?;
    if audited.choices.len() != manifest.contests.len() {
        return Err(Error::Malformed(format!(
            "the audit file claims {} choices for {} contests",
            audited.choices.len(),
            manifest.contests.len()
        )));
    }
    if audited.randomness.len() != manifest.contests.len() {
        return Err(Error::Malformed(format!(
            "the audit file reveals randomness for {} contests, the ballot has {}",
            audited.randomness.len(),
            manifest.contests.len()
        )));
    }
    let mut contests = Vec::with_capacity(manifest.contests.len());
    for (ci, contest) in manifest.contests.iter().enumerate() {
        let (enc, choice, randomness) = (
            &body.contests[ci],
            &audited.choices[ci],
            &audited.randomness[ci],
        );
        let named = |m: &str| format!("contest {} ({:?}){m}", ci + 1, contest.title);
        // 2. The proofs, one row at a time so a failure says where.
        let rule = contest.row_rule();
        for (ri, row) in enc.rows.iter().enumerate() {
            let ctx = proof_context(&body.election_id, &body.credential, ci, ri as u64);
            row.verify(&ctx, pk, &rule)
                .map_err(|e| Error::InvalidProof(format!("{} row {}: {e}", named(""), ri + 1)))?;
        }
        for (j, p) in enc.column_proofs.iter().enumerate() {
            let label = contest.candidates.get(j).map(String::as_str).unwrap_or("?");
            let at = || format!("{} column {} ({label:?})", named(""), j + 1);
            if p.min != 0 || p.max != 1 {
                return Err(Error::InvalidProof(format!("{}: wrong range", at())));
            }
            let cts: Vec<Ciphertext> = enc.rows.iter().map(|r| r.ciphertexts[j]).collect();
            let ctx = column_context(&body.election_id, &body.credential, ci, j);
            p.verify(&ctx, pk, &cts)
                .map_err(|e| Error::InvalidProof(format!("{}: {e}", at())))?;
        }
        // 3. The claimed choice, as plaintext rows.
        let plain = encode_choice(contest, choice)
            .map_err(|e| Error::Malformed(format!("{}: the claimed choice: {e}", named(""))))?;
        // 4. Re-encrypt and compare.
        if randomness.len() != enc.rows.len() {
            return Err(Error::Malformed(format!(
                "{}: randomness for {} rows, the ballot has {}",
                named(""),
                randomness.len(),
                enc.rows.len()
            )));
        }
        for (ri, ((row, values), rs)) in enc.rows.iter().zip(&plain).zip(randomness).enumerate() {
            if rs.len() != row.ciphertexts.len() || values.len() != row.ciphertexts.len() {
                return Err(Error::Malformed(format!(
                    "{} row {}: randomness for {} entries, the ballot has {}",
                    named(""),
                    ri + 1,
                    rs.len(),
                    row.ciphertexts.len()
                )));
            }
            for (ei, ((ct, v), r)) in row.ciphertexts.iter().zip(values).zip(rs).enumerate() {
                let r = decode_randomness(r).map_err(|why| {
                    Error::Malformed(format!(
                        "{} row {} entry {}: the randomness {why}",
                        named(""),
                        ri + 1,
                        ei + 1
                    ))
                })?;
                if !ciphertexts_ct_eq(&reencrypt(pk, *v, &r), ct) {
                    return Err(Error::AuditMismatch {
                        contest: ci + 1,
                        title: contest.title.clone(),
                        row: ri + 1,
                        entry: ei + 1,
                        option: contest.result_labels().get(ei).cloned().unwrap_or_default(),
                    });
                }
            }
        }
        contests.push(AuditedContest {
            title: contest.title.clone(),
            choice: choice.clone(),
            options: option_labels(contest, choice),
        });
    }
    Ok(AuditReport {
        election_id: manifest.election_id.clone(),
        tracker: computed,
        contests,
    })
}

fn reencrypt(pk: &PublicKey, v: u64, r: &SecretScalar) -> Ciphertext {
    pk.encrypt_with(&Scalar::from(v), r)
}

fn decode_randomness(h: &str) -> core::result::Result<SecretScalar, &'static str> {
    let bytes = Zeroizing::new(hex::decode(h).map_err(|_| "is not hex")?);
    SecretScalar::from_bytes(&bytes).map_err(|_| "is not a canonical 32-byte scalar")
}

/// The labels of the chosen options (already checked by [`encode_choice`]).
fn option_labels(contest: &Contest, choice: &Choice) -> Vec<String> {
    let label = |i: &usize| contest.candidates.get(*i).cloned().unwrap_or_default();
    match choice {
        Choice::Single(Some(i)) => vec![label(i)],
        Choice::Single(None) => Vec::new(),
        Choice::Approval(sel) | Choice::Ranking(sel) => sel.iter().map(label).collect(),
    }
}
