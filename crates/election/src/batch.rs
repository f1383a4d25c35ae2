//! The one path by which ballots are verified: alone, or many at once in parallel batches.
//!
//! Every caller that checks ballot proofs — the election state ([`ElectionState::apply`] and
//! [`ElectionState::preverify_ballots`]), the ledger's mempool and block re-execution, the
//! simulation and the independent verifier (`tabella verify`) — goes through this module, so the
//! soundness of batch verification is decided here once.
//!
//! A ballot's signature and all its validity proofs are linear equations checked together in one
//! [`BatchVerifier`]. Its weights are drawn from the operating system for every batch
//! ([`tabella_crypto::batch`]): a voter who could predict them could cancel the residual of
//! invalid proofs (say Enc(1000) for one candidate and Enc(−999) for another) with the commitment
//! of their own signature, and a voter who could predict the weights of a parallel chunk could do
//! it for *another* voter's ballot in the same chunk. With secret weights, the outcome no longer
//! depends on how ballots are grouped: each verdict is the same on every machine, whatever its
//! number of threads (up to the 2^-252 error of the batch test).
//!
//! [`ElectionState::apply`]: crate::state::ElectionState::apply
//! [`ElectionState::preverify_ballots`]: crate::state::ElectionState::preverify_ballots

use curve25519_dalek::ristretto::RistrettoPoint;
use rayon::prelude::*;
use tabella_crypto::batch::BatchVerifier;

use crate::ballot::{Ballot, ElectionKey, ParsedBallot};
use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// A ballot to verify: the ballot, its decoding, and the key that must have signed it (the
/// stealth key, or the booth key of the table authorization; see
/// [`crate::state::ElectionState::credential_signer`]).
pub type BallotToVerify<'a> = (&'a Ballot, ParsedBallot, RistrettoPoint);

/// The most ballots that share one multiscalar multiplication.
const MAX_CHUNK: usize = 64;

/// Decodes ballots in parallel (curve point decompression is about a third of the cost of
/// checking a ballot).
pub fn decode_parallel(ballots: &[&Ballot]) -> Vec<Result<ParsedBallot>> {
    ballots.par_iter().map(|b| b.parse()).collect()
}

/// Verifies one ballot alone: its shape against the manifest, its signature by `signer`, and
/// every validity proof, in one batch with secret weights.
pub fn verify_one(
    ballot: &Ballot,
    parsed: &ParsedBallot,
    manifest: &Manifest,
    key: &ElectionKey,
    signer: &RistrettoPoint,
) -> Result<()> {
    let mut bv = BatchVerifier::new()?;
    parsed.add_to_batch(ballot, manifest, key, signer, &mut bv)?;
    bv.verify().map_err(|_| {
        Error::InvalidProof("ballot signature or validity proofs do not verify".into())
    })
}

/// Verifies many ballots in parallel batches; returns per ballot its verdict, in order. A batch
/// that fails is re-checked ballot by ballot, so each bad ballot is named and no good ballot is
/// rejected for sharing a batch with a bad one.
pub fn verify_parallel(
    manifest: &Manifest,
    key: &ElectionKey,
    ballots: &[BallotToVerify<'_>],
) -> Vec<Result<()>> {
    // Big enough chunks to amortize one multiscalar multiplication, small enough that every
    // core gets work even for a few ballots. The size changes nothing but speed.
    let chunk = (ballots.len() / (4 * rayon::current_num_threads().max(1))).clamp(1, MAX_CHUNK);
    ballots
        .par_chunks(chunk)
        .flat_map_iter(|chunk| verify_chunk(manifest, key, chunk).into_iter())
        .collect()
}

fn verify_chunk(
    manifest: &Manifest,
    key: &ElectionKey,
    chunk: &[BallotToVerify<'_>],
) -> Vec<Result<()>> {
    let batch_ok = BatchVerifier::new().is_ok_and(|mut bv| {
        chunk
            .iter()
            .all(|(b, p, s)| p.add_to_batch(b, manifest, key, s, &mut bv).is_ok())
            && bv.verify().is_ok()
    });
    if batch_ok {
        chunk.iter().map(|_| Ok(())).collect()
    } else {
        chunk
            .iter()
            .map(|(b, p, s)| verify_one(b, p, manifest, key, s))
            .collect()
    }
}

/// **Hazardous, for attack tests only** (feature `test-forgery`): builds the forged ballots of
/// issue 10 (1), which carry invalid content yet make a batch with *known* weights sum to the
/// identity, and an open election to cast them in. Tests in this crate and the ledger use them to
/// show that every verification path rejects them.
#[cfg(any(test, feature = "test-forgery"))]
pub mod forgery {
    use curve25519_dalek::scalar::Scalar;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{CryptoRng, RngCore, SeedableRng};
    use tabella_crypto::batch::known_weights;
    use tabella_crypto::disjunctive::PrecomputedKey;
    use tabella_crypto::elgamal::PublicKey;
    use tabella_crypto::group::{SecretScalar, G};
    use tabella_crypto::schnorr::{signature_challenge, SchnorrProof, SchnorrSignature};

    use super::*;
    use crate::action::{Envelope, OfficialAction, SignedAction};
    use crate::ballot::{cast, BallotBody, BallotKey, Credential, BALLOT_SIG_DOMAIN};
    use crate::ids::{Digest32, TableIndex};
    use crate::simulate::{random_choice, simulate, SimulationConfig};
    use crate::state::ElectionState;

    /// The weights the old single-ballot verifier used: a ChaCha20 stream seeded with the
    /// ballot's payload hash (public, and fixed before the signature).
    pub fn old_single_weights(payload: &str) -> BatchVerifier {
        known_weights::batch_with_seed(Digest32::of("tabella/ballot/v1", payload.as_bytes()).0)
    }

    /// The weights the old parallel verifier used for chunk `index`: public constants.
    pub fn old_chunk_weights(index: u64) -> BatchVerifier {
        known_weights::batch_with_u64(index ^ 0x0074_6162_656c_6c61)
    }

    /// An election in the Open phase with `booths` in-person voters authorized at table 1 and
    /// not yet voted (at most 2: the simulated quotas leave two places).
    pub struct Scenario {
        /// Every envelope so far, in order (replay them to rebuild [`Self::state`]).
        pub log: Vec<Envelope>,
        /// The open election.
        pub state: ElectionState,
        /// Its manifest.
        pub manifest: Manifest,
        /// Its ballot key.
        pub key: ElectionKey,
        /// The joint ElGamal key.
        pub pk: PublicKey,
        /// Each authorized booth: its credential and signing secret.
        pub booths: Vec<(Credential, SecretScalar)>,
        rng: ChaCha20Rng,
    }

    impl Scenario {
        /// Simulates a small election, replays it up to the close and authorizes `booths` voters.
        pub fn open(booths: usize, seed: u64) -> Result<Scenario> {
            let cfg = SimulationConfig {
                voters: 6,
                tables: 1,
                revote_fraction: 0.0,
                absent_trustees: 0,
                seed,
                ..SimulationConfig::default()
            };
            let out = simulate(&cfg, &mut |_, _, _| {})?;
            let mut state = ElectionState::new();
            let mut log = Vec::new();
            for env in &out.record.log {
                if let Envelope::Official(a) = env {
                    if matches!(a.open()?.action, OfficialAction::Close) {
                        break;
                    }
                }
                state.apply(env)?;
                log.push(env.clone());
            }
            let manifest = state
                .manifest()
                .cloned()
                .ok_or_else(|| Error::Malformed("no manifest".into()))?;
            let key = state
                .election_key()
                .cloned()
                .ok_or_else(|| Error::Malformed("no election key".into()))?;
            let pk = *state
                .elgamal_key()
                .ok_or_else(|| Error::Malformed("not an ElGamal election".into()))?;
            let juror = out
                .jurors
                .first()
                .ok_or_else(|| Error::Malformed("no table".into()))?;
            let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0xf0f0);
            let mut out_booths = Vec::new();
            for _ in 0..booths {
                let secret = SecretScalar::random(&mut rng);
                let mut a = [0u8; 32];
                rng.fill_bytes(&mut a);
                let authorization = Digest32(a);
                let env = Envelope::Official(SignedAction::sign(
                    &manifest.election_id,
                    OfficialAction::AuthorizeInPerson {
                        table: TableIndex(0),
                        authorization,
                        booth_key: secret.expose() * G,
                    },
                    juror,
                )?);
                state.apply(&env)?;
                log.push(env);
                out_booths.push((
                    Credential::Table {
                        table: TableIndex(0),
                        authorization,
                    },
                    secret,
                ));
            }
            Ok(Scenario {
                log,
                state,
                manifest,
                key,
                pk,
                booths: out_booths,
                rng,
            })
        }

        /// Booth `i`'s credential and signing secret.
        fn booth(&self, i: usize) -> Result<(Credential, SecretScalar)> {
            self.booths
                .get(i)
                .cloned()
                .ok_or_else(|| Error::Malformed(format!("no booth {i}")))
        }

        /// An honest ballot of booth `i`, with random choices, signed by `signer`.
        pub fn ballot_signed_by(&mut self, i: usize, signer: &SecretScalar) -> Result<Ballot> {
            let (credential, _) = self.booth(i)?;
            let choices: Vec<_> = self
                .manifest
                .contests
                .iter()
                .map(|c| random_choice(c, &mut self.rng))
                .collect();
            cast(
                &self.manifest,
                BallotKey::Elgamal(&PrecomputedKey::new(self.pk)),
                credential,
                &choices,
                signer,
                &mut self.rng,
            )
        }

        /// An honest ballot of booth `i`.
        pub fn honest_ballot(&mut self, i: usize) -> Result<Ballot> {
            let (_, secret) = self.booth(i)?;
            self.ballot_signed_by(i, &secret)
        }

        /// The forged ballot of booth `i` against `weights`, after `preceding` (see [`forge`]).
        pub fn forged_ballot(
            &mut self,
            i: usize,
            preceding: &[BallotToVerify<'_>],
            weights: impl Fn(&str) -> BatchVerifier,
        ) -> Result<Ballot> {
            let honest = self.honest_ballot(i)?;
            let (_, secret) = self.booth(i)?;
            forge(
                &honest,
                &self.manifest,
                &self.key,
                &self.pk,
                &secret,
                preceding,
                weights,
                &mut self.rng,
            )
        }

        /// The key that must sign booth `i`'s ballots.
        pub fn signer(&self, i: usize) -> Result<RistrettoPoint> {
            let (credential, _) = self.booth(i)?;
            Ok(self.state.credential_signer(&credential)?.0)
        }
    }

    /// The attack of issue 10 (1), played by a voter who knows how the verifier draws its
    /// weights: turns the honest ballot `honest` (signed by `signer_secret`) into a forgery whose
    /// first contest's first two entries are Enc(1000) and Enc(−999) (their 0/1 proofs no longer
    /// hold), with the signature's commitment chosen so that a batch with weights `weights(payload)`
    /// — holding `preceding` before this ballot, as in a parallel chunk — sums to the identity:
    /// with `w` the signature equation's weight and `Δ` the weighted residual of every other
    /// equation, `A = k·G + w⁻¹·Δ`, `c = H(payload, A)`, `z = k + c·x`.
    #[allow(clippy::too_many_arguments)]
    pub fn forge<R: RngCore + CryptoRng>(
        honest: &Ballot,
        manifest: &Manifest,
        key: &ElectionKey,
        pk: &PublicKey,
        signer_secret: &SecretScalar,
        preceding: &[BallotToVerify<'_>],
        weights: impl Fn(&str) -> BatchVerifier,
        rng: &mut R,
    ) -> Result<Ballot> {
        let mut body: BallotBody =
            serde_json::from_str(&honest.payload).map_err(|e| Error::Malformed(e.to_string()))?;
        let row = body
            .contests
            .first_mut()
            .and_then(|c| c.rows.first_mut())
            .filter(|r| r.ciphertexts.len() >= 2)
            .ok_or_else(|| Error::Malformed("needs an ElGamal contest of 2+ entries".into()))?;
        row.ciphertexts[0] = pk.encrypt_with(&Scalar::from(1000u64), &SecretScalar::random(rng));
        row.ciphertexts[1] = pk.encrypt_with(&-Scalar::from(999u64), &SecretScalar::random(rng));
        let payload = serde_json::to_string(&body).map_err(|e| Error::Malformed(e.to_string()))?;
        let y = signer_secret.expose() * G;
        let parsed = ParsedBallot {
            body,
            hash: Digest32::of("tabella/ballot/v1", payload.as_bytes()),
        };
        // Replay the verifier with a placeholder signature (A = identity, z = 0), whose equation
        // contributes exactly −w·c₀·Y; remove it to get Δ.
        let placeholder = Ballot {
            payload: payload.clone(),
            signature: SchnorrSignature(SchnorrProof {
                commitment: RistrettoPoint::default(),
                response: Scalar::ZERO,
            }),
        };
        let mut probe = weights(&payload);
        for (b, p, s) in preceding {
            p.add_to_batch(b, manifest, key, s, &mut probe)?;
        }
        let mut w_probe = weights(&payload);
        for (b, p, s) in preceding {
            p.add_to_batch(b, manifest, key, s, &mut w_probe)?;
        }
        w_probe.begin_equation();
        let w = w_probe.weight();
        parsed.add_to_batch(&placeholder, manifest, key, &y, &mut probe)?;
        let c0 = signature_challenge(
            BALLOT_SIG_DOMAIN,
            payload.as_bytes(),
            &y,
            &RistrettoPoint::default(),
        );
        let delta = known_weights::residual(&probe) + w * c0 * y;
        let k = Scalar::random(rng);
        let a = k * G + w.invert() * delta;
        let c = signature_challenge(BALLOT_SIG_DOMAIN, payload.as_bytes(), &y, &a);
        Ok(Ballot {
            payload,
            signature: SchnorrSignature(SchnorrProof {
                commitment: a,
                response: k + c * signer_secret.expose(),
            }),
        })
    }

    /// Whether `ballot` passes the batch `bv` (weights known to the forger), after `preceding`:
    /// what a verifier with predictable weights would have said.
    pub fn passes_with(
        mut bv: BatchVerifier,
        ballot: &Ballot,
        manifest: &Manifest,
        key: &ElectionKey,
        signer: &RistrettoPoint,
        preceding: &[BallotToVerify<'_>],
    ) -> bool {
        let Ok(parsed) = ballot.parse() else {
            return false;
        };
        preceding
            .iter()
            .all(|(b, p, s)| p.add_to_batch(b, manifest, key, s, &mut bv).is_ok())
            && parsed
                .add_to_batch(ballot, manifest, key, signer, &mut bv)
                .is_ok()
            && bv.verify().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use tabella_crypto::group::SecretScalar;

    use super::forgery::{old_chunk_weights, old_single_weights, passes_with, Scenario};
    use super::*;
    use crate::action::Envelope;
    use crate::record::Record;
    use crate::verify::verify_record;

    fn item(b: &Ballot, signer: RistrettoPoint) -> BallotToVerify<'_> {
        (b, b.parse().expect("decodes"), signer)
    }

    /// Issue 10 (1): a voter who knew the old single-ballot weights (from the payload hash)
    /// forges Enc(1000)/Enc(−999); the old weights accept it, every path here rejects it.
    #[test]
    fn forged_ballot_is_rejected_by_every_election_path() {
        let mut sc = Scenario::open(2, 11).expect("scenario");
        let forged = sc
            .forged_ballot(0, &[], old_single_weights)
            .expect("forgery");
        let signer = sc.signer(0).expect("signer");
        let (m, k) = (sc.manifest.clone(), sc.key.clone());
        assert!(
            passes_with(
                old_single_weights(&forged.payload),
                &forged,
                &m,
                &k,
                &signer,
                &[]
            ),
            "the forgery is real: the old verifier's weights accept it"
        );
        let parsed = forged.parse().expect("decodes");
        assert!(verify_one(&forged, &parsed, &m, &k, &signer).is_err());
        assert!(parsed.verify(&forged, &m, &k, &signer).is_err());
        let mut st = sc.state.clone();
        assert!(matches!(
            st.apply(&Envelope::Ballot(forged.clone())),
            Err(Error::InvalidProof(_))
        ));
        assert_eq!(
            st.counts(),
            sc.state.counts(),
            "a rejected ballot changes nothing"
        );

        let honest = sc.honest_ballot(1).expect("honest");
        let pre = sc.state.preverify_ballots(&[&forged, &honest]);
        assert!(pre[0].is_none(), "preverification rejects the forgery");
        assert!(pre[1].is_some(), "and keeps the honest ballot beside it");
        let items = vec![
            item(&honest, sc.signer(1).expect("signer")),
            item(&forged, signer),
        ];
        let verdicts = verify_parallel(&m, &k, &items);
        assert!(verdicts[0].is_ok());
        assert!(verdicts[1].is_err());
        st.apply(&Envelope::Ballot(honest))
            .expect("honest ballot accepted");
    }

    /// Issue 10 (1), the chunk variant: the attacker casts a ballot in a victim's name with a
    /// made-up signature, then fills the chunk with its own ballot whose signature cancels the
    /// residual under the old public chunk weights. The old weights accept both; now neither
    /// passes, whatever the grouping.
    #[test]
    fn chunk_forger_cannot_replace_another_voters_ballot() {
        let mut sc = Scenario::open(2, 12).expect("scenario");
        let made_up = SecretScalar::random(&mut ChaCha20Rng::seed_from_u64(99));
        let victim_ballot = sc.ballot_signed_by(0, &made_up).expect("ballot");
        let victim = item(&victim_ballot, sc.signer(0).expect("signer"));
        let attacker = sc
            .forged_ballot(1, std::slice::from_ref(&victim), |_| old_chunk_weights(0))
            .expect("forgery");
        let attacker_signer = sc.signer(1).expect("signer");
        let (m, k) = (sc.manifest.clone(), sc.key.clone());
        assert!(
            passes_with(
                old_chunk_weights(0),
                &attacker,
                &m,
                &k,
                &attacker_signer,
                std::slice::from_ref(&victim)
            ),
            "the forgery is real: the old chunk weights accept the pair"
        );
        let items = vec![victim.clone(), item(&attacker, attacker_signer)];
        for _ in 0..8 {
            let verdicts = verify_parallel(&m, &k, &items);
            assert!(verdicts.iter().all(Result::is_err), "{verdicts:?}");
        }
        let pre = sc.state.preverify_ballots(&[&victim_ballot, &attacker]);
        assert!(pre.iter().all(Option::is_none));
    }

    /// Issue 10 (1), the auditor's path: a record holding the forged ballot fails the verifier's
    /// ballot check, naming the ballot.
    #[test]
    fn verifier_rejects_a_record_with_a_forged_ballot() {
        let mut sc = Scenario::open(1, 13).expect("scenario");
        let forged = sc
            .forged_ballot(0, &[], old_single_weights)
            .expect("forgery");
        let mut log = sc.log.clone();
        log.push(Envelope::Ballot(forged));
        let record = Record::from_state(log, &sc.state).expect("record");
        let report = verify_record(&record);
        assert!(!report.ok());
        let check = report
            .checks
            .iter()
            .find(|c| c.name == "ballot proofs and signatures")
            .expect("ballot check");
        assert_eq!(check.failures.len(), 1, "{:?}", check.failures);
    }
}
