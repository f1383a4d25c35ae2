//! A complete in-process election with random valid votes: every role, every phase, through the
//! state machine — the engine of `tabella election simulate` and of the end-to-end tests.
//!
//! Pure: randomness comes from the seed, progress is reported through a callback (the CLI times
//! the phases). Expensive per-voter work (blind signatures, ballot encryption) runs in parallel
//! with one RNG per voter derived from the seed; actions are applied in a deterministic order.

use curve25519_dalek::ristretto::RistrettoPoint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use tabella_crypto::blind;
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_crypto::dkg::{KeyShare, Round1, TrusteeIndex};
use tabella_crypto::elgamal::PublicKey;
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::paillier;
use tabella_crypto::stealth::{self, StealthSecret};
use tabella_crypto::threshold::TallyDecryptionShare;

use crate::action::{
    canonical_batch, Envelope, NoteKey, OfficialAction, RegistrationToken, SignedAction,
};
use crate::ballot::{self, BallotKey, Choice, Credential, ElectionKey};
use crate::batch;
use crate::error::{Error, Result};
use crate::ids::{Digest32, ElectionId, TableIndex};
use crate::manifest::{
    Contest, ContestKind, Manifest, Officials, Scheme, DEFAULT_MIN_GROUP_SIZE,
    DEFAULT_REGISTRATION_BATCH,
};
use crate::record::Record;
use crate::sign::OfficialSecret;
use crate::state::{dkg_params, ElectionState, ProofCheck};
use crate::tally::{plan_groups, Group};
use crate::trustee::{
    ceremony_key_message, decryption_context, DecryptionMessage, KeyCeremonyMessage,
};
use crate::whitelist::Whitelist;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimulationConfig {
    /// Election id.
    pub election_id: String,
    /// Number of voters (remote and in person together).
    pub voters: usize,
    /// Trustees `n`.
    pub trustees: u16,
    /// Threshold `t`.
    pub threshold: u16,
    /// Polling tables; about a third of the voters vote in person, spread over them.
    pub tables: u16,
    /// Encryption scheme.
    pub scheme: Scheme,
    /// Fraction of remote voters who vote twice (the last ballot counts).
    pub revote_fraction: f64,
    /// Trustees absent at decryption (at most `n − t`).
    pub absent_trustees: u16,
    /// RSA modulus size of the registration-token key.
    pub token_key_bits: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Paillier scheme: the administrator's key (generated — slowly, safe primes — if absent).
    pub paillier_key: Option<std::sync::Arc<paillier::SecretKey>>,
    /// The contests (default: [`default_contests`], one of each kind).
    pub contests: Option<Vec<Contest>>,
    /// The manifest's minimum tally group size (smaller groups are merged before decryption).
    pub min_group_size: u32,
    /// The manifest's registration batch: the registrar enables keys in batches of this size.
    pub registration_batch: u32,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        SimulationConfig {
            election_id: "simulated-election".into(),
            voters: 100,
            trustees: 3,
            threshold: 2,
            tables: 2,
            scheme: Scheme::Elgamal,
            revote_fraction: 0.05,
            absent_trustees: 1,
            token_key_bits: 2048,
            seed: 1,
            paillier_key: None,
            contests: None,
            min_group_size: DEFAULT_MIN_GROUP_SIZE,
            registration_batch: DEFAULT_REGISTRATION_BATCH,
        }
    }
}

/// A phase of the simulation, reported to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Keys and manifest.
    Setup,
    /// Distributed key generation.
    KeyCeremony,
    /// Identity validation, blind tokens, stealth keys, table authorizations.
    Registration,
    /// Ballot encryption (voters' devices).
    Encrypting,
    /// Ballot verification and acceptance (the ledger's work).
    Casting,
    /// Close, homomorphic tallies.
    Closing,
    /// Trustees' partial decryptions and results.
    Decrypting,
    /// Done.
    Done,
}

/// Progress report: stage, items done, items in the stage.
pub type Progress<'a> = &'a mut dyn FnMut(Stage, usize, usize);

/// The outcome of a simulation.
#[derive(Clone, Debug)]
pub struct SimulationOutput {
    /// The election record.
    pub record: Record,
    /// The final state.
    pub state: ElectionState,
    /// Results computed from the plaintext votes (what the decryption must give), per group in
    /// the order of the tallies (groups below the minimum size merged as the state machine
    /// merges them), each per contest per entry.
    pub expected: Vec<(Group, Vec<Vec<u64>>)>,
    /// Every receipt handed to a voter (including replaced ballots).
    pub receipts: Vec<Digest32>,
    /// The jurors' signing keys, one per table, so a test or a demo can go on with the election
    /// (each table's quota leaves two places unused).
    pub jurors: Vec<OfficialSecret>,
}

/// The contests of the default simulated election: one of each kind.
pub fn default_contests() -> Vec<Contest> {
    vec![
        Contest {
            title: "Rector".into(),
            kind: ContestKind::SingleChoice,
            candidates: vec!["Ada".into(), "Grace".into(), "Alan".into(), "Edsger".into()],
            allow_blank: true,
        },
        Contest {
            title: "Academic council (approve up to 3)".into(),
            kind: ContestKind::Approval { min: 1, max: 3 },
            candidates: ["Noether", "Hopper", "Lovelace", "Turing", "Shannon"]
                .map(String::from)
                .to_vec(),
            allow_blank: false,
        },
        Contest {
            title: "Budget priorities (rank 3)".into(),
            kind: ContestKind::Preferential { ranks: 3 },
            candidates: ["Library", "Labs", "Sports", "Housing", "Transport"]
                .map(String::from)
                .to_vec(),
            allow_blank: false,
        },
    ]
}

fn sub_rng(seed: u64, domain: &str, i: u64) -> ChaCha20Rng {
    let mut data = seed.to_le_bytes().to_vec();
    data.extend_from_slice(&i.to_le_bytes());
    ChaCha20Rng::from_seed(Digest32::of(domain, &data).0)
}

/// A single-choice contest with ten options (the ballot of the performance targets).
pub fn ten_option_contest() -> Contest {
    Contest {
        title: "Ten-option single choice".into(),
        kind: ContestKind::SingleChoice,
        candidates: (1..=10).map(|i| format!("Option {i}")).collect(),
        allow_blank: false,
    }
}

/// A random valid choice for a contest.
pub fn random_choice<R: RngCore>(c: &Contest, rng: &mut R) -> Choice {
    let n = c.candidates.len();
    let pick = |rng: &mut R, k: usize| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + (rng.next_u32() as usize) % (n - i);
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    };
    match c.kind {
        ContestKind::SingleChoice => {
            let r = rng.next_u32() as usize % (n + usize::from(c.allow_blank));
            Choice::Single((r < n).then_some(r))
        }
        ContestKind::Approval { min, max } => {
            let span = (max - min + 1) as usize;
            let k = min as usize + rng.next_u32() as usize % span;
            Choice::Approval(pick(rng, k))
        }
        ContestKind::Preferential { ranks } => Choice::Ranking(pick(rng, ranks as usize)),
    }
}

struct Officers {
    council: OfficialSecret,
    validator: OfficialSecret,
    registrar: OfficialSecret,
    token_secret: blind::IssuerSecretKey,
    jurors: Vec<OfficialSecret>,
    trustee_signing: Vec<OfficialSecret>,
    /// Each trustee's key for this election's ceremony (round 0).
    trustee_dkg: Vec<SecretScalar>,
}

fn sign(id: &ElectionId, action: OfficialAction, key: &OfficialSecret) -> Result<Envelope> {
    Ok(Envelope::Official(SignedAction::sign(id, action, key)?))
}

/// Where a simulated election's envelopes go besides the local state machine — e.g. a ledger
/// node (`tabella demo`). The simulation applies each envelope locally first (so it knows what
/// to do next), then hands the stage's envelopes over in order and waits at the end of every
/// stage, so the remote side sees exactly the local log.
pub trait Sink {
    /// The envelopes accepted locally since the last call, in order; returns once they are
    /// final on the remote side (e.g. committed on the ledger).
    fn publish(&mut self, stage: Stage, envelopes: &[Envelope]) -> Result<()>;
}

/// The sink of a purely local simulation.
struct NoSink;

impl Sink for NoSink {
    fn publish(&mut self, _: Stage, _: &[Envelope]) -> Result<()> {
        Ok(())
    }
}

struct Driver<'s> {
    state: ElectionState,
    log: Vec<Envelope>,
    published: usize,
    sink: &'s mut dyn Sink,
}

impl Driver<'_> {
    fn submit(&mut self, env: Envelope) -> Result<()> {
        self.state.apply(&env)?;
        self.log.push(env);
        Ok(())
    }

    fn publish(&mut self, stage: Stage) -> Result<()> {
        let new = self.log.get(self.published..).unwrap_or_default();
        if !new.is_empty() {
            self.sink.publish(stage, new)?;
        }
        self.published = self.log.len();
        Ok(())
    }
}

/// Runs a complete election. See the module docs.
pub fn simulate(cfg: &SimulationConfig, progress: Progress<'_>) -> Result<SimulationOutput> {
    simulate_into(cfg, progress, &mut NoSink)
}

/// [`simulate`], handing every envelope to `sink` as well, stage by stage.
pub fn simulate_into(
    cfg: &SimulationConfig,
    progress: Progress<'_>,
    sink: &mut dyn Sink,
) -> Result<SimulationOutput> {
    if cfg.voters == 0 {
        return Err(Error::InvalidManifest("simulate at least one voter".into()));
    }
    if cfg.absent_trustees > cfg.trustees.saturating_sub(cfg.threshold) {
        return Err(Error::InvalidManifest(format!(
            "{} absent trustees would leave fewer than the threshold {} of {}",
            cfg.absent_trustees, cfg.threshold, cfg.trustees
        )));
    }
    let mut rng = sub_rng(cfg.seed, "tabella/sim/main", 0);
    let election_id = ElectionId::new(cfg.election_id.clone())?;
    progress(Stage::Setup, 0, 1);

    // --- officials, trustees, voters
    let tables = usize::from(cfg.tables);
    let in_person = if tables == 0 { 0 } else { cfg.voters / 3 };
    let remote = cfg.voters - in_person;
    let (token_secret, token_public) = blind::generate_issuer_key(cfg.token_key_bits, &mut rng)?;
    let off = Officers {
        council: OfficialSecret::generate(&mut rng),
        validator: OfficialSecret::generate(&mut rng),
        registrar: OfficialSecret::generate(&mut rng),
        token_secret,
        jurors: (0..tables)
            .map(|_| OfficialSecret::generate(&mut rng))
            .collect(),
        trustee_signing: (0..cfg.trustees)
            .map(|_| OfficialSecret::generate(&mut rng))
            .collect(),
        trustee_dkg: (0..cfg.trustees)
            .map(|_| SecretScalar::random(&mut rng))
            .collect(),
    };
    let identities: Vec<String> = (0..remote)
        .map(|i| format!("voter-{i}@example.org"))
        .collect();
    let (_, whitelist) = Whitelist::new(&election_id, &identities, &mut rng)?;
    let paillier_sk = match (cfg.scheme, &cfg.paillier_key) {
        (Scheme::Paillier, Some(k)) => Some(k.clone()),
        (Scheme::Paillier, None) => Some(std::sync::Arc::new(paillier::SecretKey::generate(
            2048, &mut rng,
        )?)),
        _ => None,
    };
    let table_of = |v: usize| v % tables.max(1);
    let mut quotas = vec![0u32; tables];
    for v in 0..in_person {
        quotas[table_of(v)] += 1;
    }
    let builder = Manifest::builder(
        election_id.clone(),
        "Simulated university election",
        Officials {
            council: off.council.public(),
            identity_validator: off.validator.public(),
            token_key: token_public.clone(),
            registrar: off.registrar.public(),
        },
    )
    .contests(cfg.contests.clone().unwrap_or_else(default_contests))
    .tables((0..tables).map(|i| (quotas[i] + 2, vec![off.jurors[i].public()])))
    .threshold(cfg.threshold)
    .whitelist(whitelist.clone())
    .min_group_size(cfg.min_group_size)
    .registration_batch(cfg.registration_batch);
    // Paillier: the administrator's key and no trustees; ElGamal: the trustees.
    let manifest = match &paillier_sk {
        Some(k) => builder.paillier(k.public_key().clone()),
        None => builder.trustees((0..usize::from(cfg.trustees)).map(|i| {
            (
                format!("Trustee {}", i + 1),
                off.trustee_signing[i].public(),
            )
        })),
    }
    .build()?;
    let mut d = Driver {
        published: 0,
        sink,
        state: ElectionState::new(),
        log: Vec::new(),
    };
    d.submit(sign(
        &election_id,
        OfficialAction::Create {
            manifest: Box::new(manifest.clone()),
        },
        &off.council,
    )?)?;
    d.publish(Stage::Setup)?;
    progress(Stage::Setup, 1, 1);

    // --- key ceremony (ElGamal) or the administrator's key (Paillier)
    let n = usize::from(cfg.trustees);
    let mut key_shares: Vec<KeyShare> = Vec::new();
    if paillier_sk.is_none() {
        key_shares = key_ceremony(&mut d, &off, &manifest, &election_id, &mut rng, progress)?;
    }
    d.submit(sign(&election_id, OfficialAction::Open, &off.council)?)?;
    d.publish(Stage::KeyCeremony)?;
    let election_key = d
        .state
        .election_key()
        .cloned()
        .ok_or_else(|| Error::Trustees("no election key after opening".into()))?;

    // --- registration: blind tokens and stealth keys (remote), authorizations (in person)
    progress(Stage::Registration, 0, cfg.voters);
    struct Remote {
        token: RegistrationToken,
        key: stealth::StealthKey,
        secret: StealthSecret,
    }
    let remotes: Vec<Result<Remote>> = (0..remote)
        .into_par_iter()
        .map(|v| {
            let mut vr = sub_rng(cfg.seed, "tabella/sim/voter", v as u64);
            let mut message = vec![0u8; 32];
            vr.fill_bytes(&mut message);
            let (req, st) = blind::blind(&token_public, &message, &mut vr)?;
            // The identity validator signs the blinded request (it never sees `message`).
            let bsig = blind::sign_blinded(&off.token_secret, &req, &mut vr)?;
            let signature = blind::finalize(&token_public, &st, &bsig, &message)?;
            let (meta, scan, spend) = stealth::generate_meta_address(&mut vr);
            // The registrar derives the stealth key from the anonymous note.
            let key = meta.derive_stealth_key(&mut vr);
            let secret = StealthSecret::derive(&scan, &spend, &key)?;
            Ok(Remote {
                token: RegistrationToken { message, signature },
                key,
                secret,
            })
        })
        .collect();
    let remotes: Vec<Remote> = remotes.into_iter().collect::<Result<_>>()?;
    // The registrar queues the anonymous notes as they arrive and enables their keys in batches
    // of `registration_batch`, in canonical order.
    let batch_size = usize::try_from(cfg.registration_batch.max(1)).unwrap_or(usize::MAX);
    let mut queue: Vec<NoteKey> = Vec::with_capacity(batch_size);
    for (v, r) in remotes.iter().enumerate() {
        d.submit(sign(
            &election_id,
            OfficialAction::ValidateVoter {
                commitment: whitelist[v],
            },
            &off.validator,
        )?)?;
        queue.push(NoteKey {
            token: r.token.clone(),
            key: r.key,
        });
        // The last notes, fewer than a batch, go in the final batch that closes registration.
        let last = v + 1 == remotes.len();
        if queue.len() >= batch_size || last {
            d.submit(sign(
                &election_id,
                OfficialAction::EnableVoters {
                    closes_registration: queue.len() < batch_size,
                    batch: canonical_batch(std::mem::take(&mut queue)),
                },
                &off.registrar,
            )?)?;
        }
        if v % 64 == 0 {
            progress(Stage::Registration, v, cfg.voters);
        }
    }
    let mut booths: Vec<(TableIndex, Digest32, SecretScalar)> = Vec::with_capacity(in_person);
    for v in 0..in_person {
        let t = TableIndex(table_of(v) as u16);
        let booth = SecretScalar::random(&mut rng);
        let mut a = [0u8; 32];
        rng.fill_bytes(&mut a);
        let authorization = Digest32(a);
        d.submit(sign(
            &election_id,
            OfficialAction::AuthorizeInPerson {
                table: t,
                authorization,
                booth_key: booth.expose() * G,
            },
            &off.jurors[usize::from(t.0)],
        )?)?;
        booths.push((t, authorization, booth));
    }
    d.publish(Stage::Registration)?;
    progress(Stage::Registration, cfg.voters, cfg.voters);

    // --- voting: encrypt in parallel (voters' devices), then verify in parallel and accept in order
    let pre = match &election_key {
        ElectionKey::Elgamal(pk) => Some(PrecomputedKey::new(*pk)),
        ElectionKey::Paillier(_) => None,
    };
    let ballot_key = match (&pre, &election_key) {
        (Some(p), _) => BallotKey::Elgamal(p),
        (None, ElectionKey::Paillier(pk)) => BallotKey::Paillier(pk),
        (None, ElectionKey::Elgamal(_)) => {
            return Err(Error::Trustees("missing key tables".into()))
        }
    };
    let revoters = ((remote as f64) * cfg.revote_fraction.clamp(0.0, 1.0)).round() as usize;
    struct Cast {
        group: Group,
        choices: Vec<Choice>,
        ballot: ballot::Ballot,
        signer: RistrettoPoint,
        counts: bool,
    }
    let total = cfg.voters + revoters;
    progress(Stage::Encrypting, 0, total);
    let jobs: Vec<usize> = (0..total).collect();
    let casts: Vec<Result<Cast>> = jobs
        .par_iter()
        .map(|&j| {
            let mut vr = sub_rng(cfg.seed, "tabella/sim/ballot", j as u64);
            let choices: Vec<Choice> = manifest
                .contests
                .iter()
                .map(|c| random_choice(c, &mut vr))
                .collect();
            // jobs: [0, remote) first ballots of remote voters; [remote, voters) in person;
            // [voters, voters + revoters) second ballots of the first `revoters` remote voters.
            let (cred, secret, group, counts) = if j < remote {
                let r = &remotes[j];
                (
                    Credential::Stealth { key: r.key.p },
                    r.secret.secret().clone(),
                    Group::Remote,
                    j >= revoters,
                )
            } else if j < cfg.voters {
                let (t, a, booth) = &booths[j - remote];
                (
                    Credential::Table {
                        table: *t,
                        authorization: *a,
                    },
                    booth.clone(),
                    Group::Table(*t),
                    true,
                )
            } else {
                let r = &remotes[j - cfg.voters];
                (
                    Credential::Stealth { key: r.key.p },
                    r.secret.secret().clone(),
                    Group::Remote,
                    true,
                )
            };
            let signer = secret.expose() * G;
            let ballot = ballot::cast(&manifest, ballot_key, cred, &choices, &secret, &mut vr)?;
            Ok(Cast {
                group,
                choices,
                ballot,
                signer,
                counts,
            })
        })
        .collect();
    let casts: Vec<Cast> = casts.into_iter().collect::<Result<_>>()?;
    progress(Stage::Encrypting, total, total);

    progress(Stage::Casting, 0, total);
    let parsed: Vec<_> = casts
        .iter()
        .map(|c| c.ballot.parse().map(|p| (&c.ballot, p, c.signer)))
        .collect::<Result<_>>()?;
    for (i, res) in batch::verify_parallel(&manifest, &election_key, &parsed)
        .into_iter()
        .enumerate()
    {
        res.map_err(|e| Error::InvalidProof(format!("simulated ballot {i}: {e}")))?;
    }
    let mut receipts = Vec::with_capacity(total);
    for (i, (ballot, p, _)) in parsed.into_iter().enumerate() {
        receipts.push(p.hash);
        d.state
            .apply_parsed_ballot(ballot, p, ProofCheck::AlreadyVerified)?;
        d.log.push(Envelope::Ballot(ballot.clone()));
        if i % 256 == 0 {
            progress(Stage::Casting, i, total);
        }
    }
    d.publish(Stage::Casting)?;
    progress(Stage::Casting, total, total);

    // expected results from the plaintext, per original group, then merged as planned
    let empty = || -> Vec<Vec<u64>> {
        manifest
            .contests
            .iter()
            .map(|c| vec![0u64; c.result_len()])
            .collect()
    };
    let mut per_group: Vec<(Group, u64, Vec<Vec<u64>>)> = vec![(Group::Remote, 0, empty())];
    per_group.extend((0..tables).map(|i| (Group::Table(TableIndex(i as u16)), 0, empty())));
    for c in casts.iter().filter(|c| c.counts) {
        let slot = per_group
            .iter_mut()
            .find(|(g, _, _)| *g == c.group)
            .ok_or_else(|| Error::Malformed("unknown group".into()))?;
        slot.1 += 1;
        for ((contest, choice), acc) in manifest
            .contests
            .iter()
            .zip(&c.choices)
            .zip(slot.2.iter_mut())
        {
            for (a, p) in acc.iter_mut().zip(ballot::choice_points(contest, choice)?) {
                *a += p;
            }
        }
    }
    let counts: Vec<(Group, u64)> = per_group.iter().map(|(g, n, _)| (*g, *n)).collect();
    let mut expected: Vec<(Group, Vec<Vec<u64>>)> = Vec::new();
    for planned in plan_groups(&counts, u64::from(manifest.min_group_size)) {
        let mut sum = empty();
        for (g, _, v) in &per_group {
            if *g == planned.group || planned.members.contains(g) {
                for (acc, add) in sum.iter_mut().zip(v) {
                    for (a, b) in acc.iter_mut().zip(add) {
                        *a += b;
                    }
                }
            }
        }
        expected.push((planned.group, sum));
    }

    // --- close and decrypt
    progress(Stage::Closing, 0, 1);
    d.submit(sign(&election_id, OfficialAction::Close, &off.council)?)?;
    d.publish(Stage::Closing)?;
    progress(Stage::Closing, 1, 1);
    let tallies = d
        .state
        .tallies()
        .cloned()
        .ok_or_else(|| Error::Trustees("no tallies after close".into()))?;
    if let Some(sk) = &paillier_sk {
        progress(Stage::Decrypting, 0, 1);
        let openings = tallies
            .flat_paillier()
            .iter()
            .map(|c| sk.open(c))
            .collect::<tabella_crypto::Result<Vec<_>>>()?;
        d.submit(sign(
            &election_id,
            OfficialAction::Decrypt(DecryptionMessage::Paillier { openings }),
            &off.council,
        )?)?;
        progress(Stage::Decrypting, 1, 1);
    } else {
        let flat = tallies.flat();
        let present = n - usize::from(cfg.absent_trustees);
        progress(Stage::Decrypting, 0, present);
        let ctx = decryption_context(&election_id);
        // The absent trustees are the last ones.
        for (i, share) in key_shares.iter().enumerate().take(present) {
            let msg = TallyDecryptionShare::create(share, &flat, &ctx, &mut rng);
            d.submit(sign(
                &election_id,
                OfficialAction::Decrypt(DecryptionMessage::Elgamal(msg)),
                &off.trustee_signing[i],
            )?)?;
            progress(Stage::Decrypting, i + 1, present);
        }
    }
    d.submit(sign(
        &election_id,
        OfficialAction::PublishResults,
        &off.council,
    )?)?;
    d.publish(Stage::Decrypting)?;
    progress(Stage::Done, 1, 1);
    let record = Record::from_state(d.log, &d.state)?;
    Ok(SimulationOutput {
        record,
        state: d.state,
        expected,
        receipts,
        jurors: off.jurors,
    })
}

fn key_ceremony(
    d: &mut Driver,
    off: &Officers,
    manifest: &Manifest,
    election_id: &ElectionId,
    rng: &mut ChaCha20Rng,
    progress: Progress<'_>,
) -> Result<Vec<KeyShare>> {
    let n = manifest.trustees.len();
    progress(Stage::KeyCeremony, 0, n);
    d.submit(sign(
        election_id,
        OfficialAction::StartKeyCeremony,
        &off.council,
    )?)?;
    let params = dkg_params(manifest)?;
    let mut publics = Vec::with_capacity(n);
    for (i, secret) in off.trustee_dkg.iter().enumerate().take(n) {
        let me = TrusteeIndex::new(i as u16 + 1)?;
        d.submit(sign(
            election_id,
            OfficialAction::KeyCeremony(Box::new(ceremony_key_message(
                election_id,
                me,
                secret,
                rng,
            ))),
            &off.trustee_signing[i],
        )?)?;
        publics.push(PublicKey(secret.expose() * G));
    }
    let mut round2 = Vec::with_capacity(n);
    let mut dealings = Vec::with_capacity(n);
    for i in 0..n {
        let me = TrusteeIndex::new(i as u16 + 1)?;
        let r1 = Round1::new(
            params.clone(),
            me,
            off.trustee_dkg[i].clone(),
            publics.clone(),
        )?;
        let (r2, dealing) = r1.deal(rng);
        d.submit(sign(
            election_id,
            OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Dealing(Box::new(
                dealing.clone(),
            )))),
            &off.trustee_signing[i],
        )?)?;
        dealings.push(dealing);
        round2.push(r2);
    }
    let mut round3 = Vec::with_capacity(n);
    let mut all_complaints = Vec::new();
    for (i, r2) in round2.into_iter().enumerate() {
        let (r3, complaints) = r2.receive(&dealings, rng)?;
        let me = TrusteeIndex::new(i as u16 + 1)?;
        d.submit(sign(
            election_id,
            OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Complaints {
                complainer: me,
                complaints: complaints.clone(),
            })),
            &off.trustee_signing[i],
        )?)?;
        all_complaints.extend(complaints);
        round3.push(r3);
    }
    let mut key_shares = Vec::with_capacity(n);
    for (i, r3) in round3.into_iter().enumerate() {
        let (share, _) = r3.resolve(&all_complaints)?;
        key_shares.push(share);
        progress(Stage::KeyCeremony, i + 1, n);
    }
    Ok(key_shares)
}
