//! Election policies that protect the secret ballot and the trustees, each played by the attacker
//! (issue 10, items 5–7):
//!
//! * a trustee (or whoever writes the record) tries to publish the result of a polling table
//!   with a single voter — i.e. that voter's vote — although the manifest's `min_group_size`
//!   requires merging it: refused by the state machine and by the verifier;
//! * a chain observer who knows the order in which voters were validated (their identities)
//!   tries to link each identity to its stealth key from the order of enablements;
//! * a council (colluding with a dealer who sent a bad share) opens voting before the victim
//!   trustee has posted its complaint, locking it out of the key.

use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tabella_crypto::blind::{self, IssuerPublicKey, IssuerSecretKey};
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_crypto::dkg::{Complaint, Dealing, KeyShare, Round1, Round3, TrusteeIndex};
use tabella_crypto::elgamal::PublicKey;
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::stealth::{self, StealthSecret};
use tabella_crypto::threshold::TallyDecryptionShare;
use tabella_election::action::{
    canonical_batch, ActionBody, Envelope, NoteKey, OfficialAction, SignedAction,
};
use tabella_election::ballot::{self, BallotKey, Choice, Credential};
use tabella_election::ids::{commit_identity, Digest32, ElectionId, TableIndex};
use tabella_election::manifest::{Manifest, Officials, RevotePolicy, TableSpec, TrusteeSpec};
use tabella_election::record::Record;
use tabella_election::sign::OfficialSecret;
use tabella_election::simulate::{default_contests, random_choice};
use tabella_election::state::{dkg_params, ElectionState, Phase};
use tabella_election::tally::{plan_groups, Group, Results, Tallies};
use tabella_election::trustee::{
    ceremony_key_message, decryption_context, CeremonyKey, DecryptionMessage, KeyCeremonyMessage,
};
use tabella_election::verify::verify_record;
use tabella_election::Error;

/// One RSA token key for every test (generating it is the slow part of a fixture).
fn token_key() -> &'static (IssuerSecretKey, IssuerPublicKey) {
    static K: OnceLock<(IssuerSecretKey, IssuerPublicKey)> = OnceLock::new();
    K.get_or_init(|| blind::generate_issuer_key(2048, &mut ChaCha20Rng::seed_from_u64(77)).unwrap())
}

#[derive(Clone, Copy)]
enum Who {
    Council,
    Validator,
    Registrar,
    Juror(usize),
    Trustee(usize),
}

/// A hand-driven election: every official's key is here, every accepted envelope is logged.
struct Election {
    id: ElectionId,
    m: Manifest,
    st: ElectionState,
    log: Vec<Envelope>,
    council: OfficialSecret,
    validator: OfficialSecret,
    registrar: OfficialSecret,
    jurors: Vec<OfficialSecret>,
    trustees: Vec<OfficialSecret>,
    dkg: Vec<SecretScalar>,
    rng: ChaCha20Rng,
}

/// A remote voter after registration: the note's token and key, and the key's secret.
struct Voter {
    note: NoteKey,
    secret: StealthSecret,
}

impl Election {
    fn new(
        seed: u64,
        trustees: u16,
        threshold: u16,
        remote: usize,
        quotas: &[u32],
        min_group_size: u32,
        registration_batch: u32,
    ) -> Election {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let id = ElectionId::new(format!("policy-{seed}")).unwrap();
        let council = OfficialSecret::generate(&mut rng);
        let validator = OfficialSecret::generate(&mut rng);
        let registrar = OfficialSecret::generate(&mut rng);
        let jurors: Vec<OfficialSecret> = quotas
            .iter()
            .map(|_| OfficialSecret::generate(&mut rng))
            .collect();
        let signing: Vec<OfficialSecret> = (0..trustees)
            .map(|_| OfficialSecret::generate(&mut rng))
            .collect();
        let dkg: Vec<SecretScalar> = (0..trustees)
            .map(|_| SecretScalar::random(&mut rng))
            .collect();
        let whitelist = (0..remote)
            .map(|v| commit_identity(&[v as u8; 32], &format!("voter-{v}")))
            .collect();
        let m = Manifest {
            election_id: id.clone(),
            title: "Policy".into(),
            contests: default_contests(),
            tables: quotas
                .iter()
                .zip(&jurors)
                .enumerate()
                .map(|(i, (q, j))| TableSpec {
                    name: format!("Table {}", i + 1),
                    quota: *q,
                    jurors: vec![j.public()],
                })
                .collect(),
            trustees: signing
                .iter()
                .enumerate()
                .map(|(i, s)| TrusteeSpec {
                    name: format!("T{}", i + 1),
                    signing_key: s.public(),
                })
                .collect(),
            threshold,
            scheme: Default::default(),
            paillier_key: None,
            revote: RevotePolicy::LastCounts,
            officials: Officials {
                council: council.public(),
                identity_validator: validator.public(),
                token_key: token_key().1.clone(),
                registrar: registrar.public(),
            },
            whitelist,
            min_group_size,
            registration_batch,
        };
        let mut e = Election {
            id,
            m: m.clone(),
            st: ElectionState::new(),
            log: Vec::new(),
            council,
            validator,
            registrar,
            jurors,
            trustees: signing,
            dkg,
            rng,
        };
        e.act(
            Who::Council,
            OfficialAction::Create {
                manifest: Box::new(m),
            },
        )
        .unwrap();
        e
    }

    fn key(&self, who: Who) -> &OfficialSecret {
        match who {
            Who::Council => &self.council,
            Who::Validator => &self.validator,
            Who::Registrar => &self.registrar,
            Who::Juror(i) => &self.jurors[i],
            Who::Trustee(i) => &self.trustees[i],
        }
    }

    fn envelope(&self, who: Who, a: OfficialAction) -> Envelope {
        Envelope::Official(SignedAction::sign(&self.id, a, self.key(who)).unwrap())
    }

    /// Applies an action; logs it if accepted.
    fn act(&mut self, who: Who, a: OfficialAction) -> Result<(), Error> {
        let env = self.envelope(who, a);
        self.submit(env)
    }

    fn submit(&mut self, env: Envelope) -> Result<(), Error> {
        self.st.apply(&env)?;
        self.log.push(env);
        Ok(())
    }

    /// Trustee `j`'s (from 1) round 3 state and complaints, rebuilt from `dealings` (dealing
    /// again only rebuilds the participant's state, as `tabella trustee dkg` does).
    fn round3(&mut self, j: usize, dealings: &[Dealing]) -> (Round3, Vec<Complaint>) {
        let publics = self.publics();
        let me = TrusteeIndex::new(j as u16).unwrap();
        let (r2, _) = Round1::new(
            dkg_params(&self.m).unwrap(),
            me,
            self.dkg[j - 1].clone(),
            publics,
        )
        .unwrap()
        .deal(&mut self.rng);
        r2.receive(dealings, &mut self.rng).unwrap()
    }

    fn dealing_of(&mut self, j: usize) -> Dealing {
        let publics = self.publics();
        self.dealing_to(j, publics)
    }

    /// Trustee `j`'s dealing, its shares encrypted to `publics` (a cheater may pass a wrong key).
    fn dealing_to(&mut self, j: usize, publics: Vec<PublicKey>) -> Dealing {
        let me = TrusteeIndex::new(j as u16).unwrap();
        Round1::new(
            dkg_params(&self.m).unwrap(),
            me,
            self.dkg[j - 1].clone(),
            publics,
        )
        .unwrap()
        .deal(&mut self.rng)
        .1
    }

    /// The trustees' ceremony keys (round 0).
    fn publics(&self) -> Vec<PublicKey> {
        self.dkg.iter().map(|d| PublicKey(d.expose() * G)).collect()
    }

    /// Trustee `j`'s (from 1) round-0 message: its ceremony key with a proof of possession.
    fn ceremony_key(&mut self, j: usize) -> KeyCeremonyMessage {
        let me = TrusteeIndex::new(j as u16).unwrap();
        ceremony_key_message(&self.id, me, &self.dkg[j - 1].clone(), &mut self.rng)
    }

    /// The council starts the ceremony and every trustee posts its ceremony key.
    fn start_ceremony(&mut self) {
        self.act(Who::Council, OfficialAction::StartKeyCeremony)
            .unwrap();
        for j in 1..=self.m.trustees.len() {
            let msg = self.ceremony_key(j);
            self.act(
                Who::Trustee(j - 1),
                OfficialAction::KeyCeremony(Box::new(msg)),
            )
            .unwrap();
        }
    }

    fn post_dealing(&mut self, j: usize, d: Dealing) {
        self.act(
            Who::Trustee(j - 1),
            OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Dealing(Box::new(d)))),
        )
        .unwrap();
    }

    fn post_complaints(&mut self, j: usize, complaints: Vec<Complaint>) {
        self.act(
            Who::Trustee(j - 1),
            OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Complaints {
                complainer: TrusteeIndex::new(j as u16).unwrap(),
                complaints,
            })),
        )
        .unwrap();
    }

    /// An honest key ceremony, then open; returns every trustee's key share.
    fn honest_ceremony_and_open(&mut self) -> Vec<KeyShare> {
        self.start_ceremony();
        let n = self.m.trustees.len();
        let dealings: Vec<Dealing> = (1..=n).map(|j| self.dealing_of(j)).collect();
        for (j, d) in (1..=n).zip(dealings.clone()) {
            self.post_dealing(j, d);
        }
        let mut r3s = Vec::new();
        for j in 1..=n {
            let (r3, complaints) = self.round3(j, &dealings);
            assert!(complaints.is_empty());
            self.post_complaints(j, complaints);
            r3s.push(r3);
        }
        self.act(Who::Council, OfficialAction::Open).unwrap();
        r3s.into_iter()
            .map(|r3| r3.resolve(&[]).unwrap().0)
            .collect()
    }

    /// The identity validator validates remote voter `v` and signs its blinded token; the
    /// voter's wallet finishes its anonymous note.
    fn register(&mut self, v: usize) -> Voter {
        let commitment = self.m.whitelist[v];
        self.act(Who::Validator, OfficialAction::ValidateVoter { commitment })
            .unwrap();
        let (sk, pk) = token_key();
        let mut message = vec![0u8; 32];
        self.rng.fill_bytes(&mut message);
        let (req, state) = blind::blind(pk, &message, &mut self.rng).unwrap();
        let bsig = blind::sign_blinded(sk, &req, &mut self.rng).unwrap();
        let signature = blind::finalize(pk, &state, &bsig, &message).unwrap();
        let (meta, scan, spend) = stealth::generate_meta_address(&mut self.rng);
        let key = meta.derive_stealth_key(&mut self.rng);
        Voter {
            secret: StealthSecret::derive(&scan, &spend, &key).unwrap(),
            note: NoteKey {
                token: tabella_election::action::RegistrationToken { message, signature },
                key,
            },
        }
    }

    fn enable(&mut self, batch: Vec<NoteKey>, closes_registration: bool) -> Result<(), Error> {
        self.act(
            Who::Registrar,
            OfficialAction::EnableVoters {
                batch,
                closes_registration,
            },
        )
    }

    fn vote_remote(&mut self, v: &Voter, choices: &[Choice]) {
        let pk = PrecomputedKey::new(*self.st.elgamal_key().unwrap());
        let b = ballot::cast(
            &self.m,
            BallotKey::Elgamal(&pk),
            Credential::Stealth { key: v.note.key.p },
            choices,
            v.secret.secret(),
            &mut self.rng,
        )
        .unwrap();
        self.submit(Envelope::Ballot(b)).unwrap();
    }

    fn vote_in_person(&mut self, table: usize, choices: &[Choice]) {
        let booth = SecretScalar::random(&mut self.rng);
        let mut a = [0u8; 32];
        self.rng.fill_bytes(&mut a);
        let authorization = Digest32(a);
        self.act(
            Who::Juror(table),
            OfficialAction::AuthorizeInPerson {
                table: TableIndex(table as u16),
                authorization,
                booth_key: booth.expose() * G,
            },
        )
        .unwrap();
        let pk = PrecomputedKey::new(*self.st.elgamal_key().unwrap());
        let b = ballot::cast(
            &self.m,
            BallotKey::Elgamal(&pk),
            Credential::Table {
                table: TableIndex(table as u16),
                authorization,
            },
            choices,
            &booth,
            &mut self.rng,
        )
        .unwrap();
        self.submit(Envelope::Ballot(b)).unwrap();
    }

    fn random_choices(&mut self) -> Vec<Choice> {
        let contests = self.m.contests.clone();
        contests
            .iter()
            .map(|c| random_choice(c, &mut self.rng))
            .collect()
    }
}

/// The lone in-person voter's choices (Alan; Turing; Sports > Labs > Library).
fn lone_choices() -> Vec<Choice> {
    vec![
        Choice::Single(Some(2)),
        Choice::Approval(vec![3]),
        Choice::Ranking(vec![2, 1, 0]),
    ]
}

fn points(m: &Manifest, choices: &[Choice]) -> Vec<Vec<u64>> {
    m.contests
        .iter()
        .zip(choices)
        .map(|(c, ch)| ballot::choice_points(c, ch).unwrap())
        .collect()
}

/// 6 remote voters, 5 voters at table 1 and a single voter at table 2; runs to the close.
/// Returns the election and the trustees' key shares.
fn tiny_table_election(seed: u64, min_group_size: u32) -> (Election, Vec<KeyShare>) {
    let mut e = Election::new(seed, 3, 2, 6, &[5, 1], min_group_size, 5);
    let shares = e.honest_ceremony_and_open();
    let voters: Vec<Voter> = (0..6).map(|v| e.register(v)).collect();
    let batch = canonical_batch(voters.iter().map(|v| v.note.clone()).collect());
    e.enable(batch, false).unwrap();
    for v in &voters {
        let c = e.random_choices();
        e.vote_remote(v, &c);
    }
    for _ in 0..5 {
        let c = e.random_choices();
        e.vote_in_person(0, &c);
    }
    e.vote_in_person(1, &lone_choices());
    e.act(Who::Council, OfficialAction::Close).unwrap();
    (e, shares)
}

/// What an attacker computes from the public ballots: the tallies without merging, i.e. one
/// group per table as the old state machine tallied them.
fn unmerged_tallies(e: &Election) -> Tallies {
    let key = e.st.election_key().unwrap();
    let groups = plan_groups(&e.st.group_counts(), 1);
    let mut t = Tallies::empty(&e.m, key, &groups);
    let counted: Vec<Digest32> = e.st.counted_ballots().collect();
    for env in &e.log {
        let Envelope::Ballot(b) = env else { continue };
        let p = b.parse().unwrap();
        if !counted.contains(&p.hash) {
            continue;
        }
        let (_, group) = e.st.credential_signer(&p.body.credential).unwrap();
        let c = p.tally_contribution(&e.m, key).unwrap();
        t.add(group, &c, key).unwrap();
    }
    t
}

#[test]
fn a_single_voter_table_is_merged_before_decryption() {
    // The old behaviour (every table on its own, here with min_group_size 1): the results
    // publish table 2's one ballot, which is exactly its voter's choices.
    let (mut old, shares) = tiny_table_election(501, 1);
    let ctx = decryption_context(&old.id);
    let flat = old.st.tallies().unwrap().flat();
    for (j, share) in shares.iter().enumerate().take(2) {
        let msg = TallyDecryptionShare::create(share, &flat, &ctx, &mut old.rng);
        old.act(
            Who::Trustee(j),
            OfficialAction::Decrypt(DecryptionMessage::Elgamal(msg)),
        )
        .unwrap();
    }
    old.act(Who::Council, OfficialAction::PublishResults)
        .unwrap();
    let revealed = old
        .st
        .results()
        .unwrap()
        .groups
        .iter()
        .find(|g| g.group == Group::Table(TableIndex(1)))
        .cloned()
        .expect("table 2 published on its own");
    assert_eq!(revealed.ballots, 1);
    assert_eq!(revealed.contests, points(&old.m, &lone_choices()));

    // With the default minimum of 5: table 2 (1 ballot) is merged with the smallest other
    // group (table 1, 5 ballots) into "other"; the remote voters (6) stay on their own.
    let (mut e, shares) = tiny_table_election(502, 5);
    let tallies = e.st.tallies().unwrap().clone();
    let layout: Vec<(Group, Vec<Group>, u64)> = tallies
        .groups
        .iter()
        .map(|g| (g.group, g.members.clone(), g.ballots))
        .collect();
    assert_eq!(
        layout,
        vec![
            (Group::Remote, vec![], 6),
            (
                Group::Other,
                vec![Group::Table(TableIndex(0)), Group::Table(TableIndex(1))],
                6
            ),
        ]
    );

    // Attacker: two trustees compute table 2's tally from the public ballots and post
    // well-formed decryption shares of the unmerged tallies (the proofs are valid for those
    // ciphertexts, so they would have passed when the state machine tallied every table).
    let unmerged = unmerged_tallies(&e);
    assert_eq!(unmerged.groups.len(), 3);
    assert_eq!(unmerged.groups[2].group, Group::Table(TableIndex(1)));
    assert_eq!(unmerged.groups[2].ballots, 1);
    let joint = e.st.key_ceremony().unwrap().joint_key.clone();
    let ctx = decryption_context(&e.id);
    let mut forged = Vec::new();
    for (j, share) in shares.iter().enumerate().take(2) {
        let msg = TallyDecryptionShare::create(share, &unmerged.flat(), &ctx, &mut e.rng);
        msg.verify(&joint, &unmerged.flat(), &ctx)
            .expect("a well-formed decryption of the unmerged tallies");
        let env = e.envelope(
            Who::Trustee(j),
            OfficialAction::Decrypt(DecryptionMessage::Elgamal(msg)),
        );
        assert!(
            matches!(e.st.apply(&env), Err(Error::InvalidProof(_))),
            "the state machine must refuse a decryption of the unmerged tallies"
        );
        forged.push(env);
    }
    assert_eq!(e.st.decryptions().count(), 0);

    // The honest trustees decrypt the merged tallies; no group of fewer than 5 is published.
    let honest_log_at_close = e.log.clone();
    let flat = tallies.flat();
    for (j, share) in shares.iter().enumerate().take(2) {
        let msg = TallyDecryptionShare::create(share, &flat, &ctx, &mut e.rng);
        e.act(
            Who::Trustee(j),
            OfficialAction::Decrypt(DecryptionMessage::Elgamal(msg)),
        )
        .unwrap();
    }
    e.act(Who::Council, OfficialAction::PublishResults).unwrap();
    let results = e.st.results().unwrap().clone();
    assert_eq!(results.overall.ballots, 12);
    assert!(results.groups.iter().all(|g| g.ballots >= 5));
    assert!(results
        .groups
        .iter()
        .all(|g| g.group != Group::Table(TableIndex(1))));
    let record = Record::from_state(e.log.clone(), &e.st).unwrap();
    let report = verify_record(&record);
    assert!(report.ok(), "{report}");

    // Attacker: a record writer (council with the two trustees) publishes a record whose log
    // carries the decryptions of the unmerged tallies and whose tallies.json / results.json
    // show table 2 on its own with its one vote. The verifier refuses it and names the group.
    let mut log = honest_log_at_close;
    log.extend(forged);
    log.push(e.envelope(Who::Council, OfficialAction::PublishResults));
    // The plaintext per unmerged group, as the colluding trustees decrypt it off the chain.
    let values: Vec<u64> = unmerged
        .groups
        .iter()
        .flat_map(|g| plaintext_of(&e, g.group).into_iter().flatten())
        .collect();
    let forged_results = Results::from_flat(&unmerged, &values).unwrap();
    assert_eq!(
        forged_results.groups[2].contests,
        points(&e.m, &lone_choices()),
        "the forged results reveal the lone voter"
    );
    let forged_record = Record {
        log,
        tallies: Some(unmerged),
        results: Some(forged_results),
        ..record
    };
    let report = verify_record(&forged_record);
    assert!(!report.ok());
    let groups = report
        .checks
        .iter()
        .find(|c| c.name == "tally groups (minimum group size)")
        .unwrap();
    assert!(
        groups
            .failures
            .iter()
            .any(|f| f.contains("table 2 with 1 ballots, below the minimum group size 5")),
        "{report}"
    );
    let proofs = report
        .checks
        .iter()
        .find(|c| c.name == "decryption proofs")
        .unwrap();
    assert_eq!(proofs.failures.len(), 2, "{report}");
}

/// The plaintext sum of original group `g` of [`tiny_table_election`] (what trustees who
/// decrypt the unmerged tallies learn), from the published results and the known lone vote.
fn plaintext_of(e: &Election, g: Group) -> Vec<Vec<u64>> {
    let r = e.st.results().unwrap();
    let published = |g: Group| {
        r.groups
            .iter()
            .find(|x| x.group == g)
            .unwrap()
            .contests
            .clone()
    };
    let lone = points(&e.m, &lone_choices());
    match g {
        Group::Remote => published(Group::Remote),
        // "other" = table 1 + table 2, and table 2 is the lone vote.
        Group::Table(TableIndex(0)) => published(Group::Other)
            .iter()
            .zip(&lone)
            .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p - q).collect())
            .collect(),
        Group::Table(TableIndex(1)) => lone,
        other => panic!("unexpected group {other:?}"),
    }
}

#[test]
fn opening_before_every_trustee_has_complained_is_refused() {
    let mut e = Election::new(701, 3, 2, 0, &[], 5, 5);
    e.start_ceremony();
    // Trustee 1 is malicious: it encrypts trustee 3's share to a key that is not trustee 3's.
    // The dealing is well-formed (nobody but trustee 3 can tell), trustee 3's share is garbage.
    let mut publics = e.publics();
    publics[2] = PublicKey(SecretScalar::random(&mut e.rng).expose() * G);
    let bad = e.dealing_to(1, publics);
    let dealings = vec![bad, e.dealing_of(2), e.dealing_of(3)];
    // The council opening right after round 1: refused, round 2 is missing from everyone.
    for (j, d) in (1..=3).zip(dealings.clone()) {
        e.post_dealing(j, d);
    }
    let open = e.envelope(Who::Council, OfficialAction::Open);
    match e.st.apply(&open) {
        Err(Error::Trustees(msg)) => assert!(
            msg.contains("round 2") && msg.contains("trustee 1, trustee 2, trustee 3"),
            "{msg}"
        ),
        other => panic!("opening after round 1 must be refused, got {other:?}"),
    }
    // Trustees 1 and 2 post round 2 (no complaints); trustee 3 has found the bad share but has
    // not posted yet.
    let (_, c1) = e.round3(1, &dealings);
    let (_, c2) = e.round3(2, &dealings);
    let (_, c3) = e.round3(3, &dealings);
    assert!(c1.is_empty() && c2.is_empty());
    assert_eq!(c3.len(), 1);
    e.post_complaints(1, c1);
    e.post_complaints(2, c2);

    // What the old `open` did: fix the key from the transcript so far. It would succeed with
    // the cheating dealer qualified, and trustee 3 could then never derive its share.
    let early =
        e.st.key_ceremony_transcript()
            .unwrap()
            .recompute()
            .expect("the old open would have fixed this key");
    assert!(early
        .joint_key
        .qualified
        .contains(&TrusteeIndex::new(1).unwrap()));
    let (r3, _) = e.round3(3, &dealings);
    assert!(
        r3.resolve(&[]).is_err(),
        "trustee 3 is locked out of the early key"
    );

    // The council opens right after (a partial) round 2: refused, naming trustee 3.
    let before = e.st.phase();
    match e.st.apply(&open) {
        Err(Error::Trustees(msg)) => assert!(
            msg.contains("round 2") && msg.contains("missing from trustee 3"),
            "{msg}"
        ),
        other => panic!("opening before trustee 3's round 2 must be refused, got {other:?}"),
    }
    assert_eq!(e.st.phase(), before);
    assert_eq!(before, Some(Phase::KeyCeremony));

    // Once trustee 3 has complained, the council opens; the cheater is disqualified and
    // trustee 3's share matches the fixed key.
    e.post_complaints(3, c3.clone());
    e.act(Who::Council, OfficialAction::Open).unwrap();
    let outcome = e.st.key_ceremony().unwrap().clone();
    assert!(outcome
        .disqualified
        .iter()
        .any(|d| d.dealer == TrusteeIndex::new(1).unwrap()));
    let (r3, _) = e.round3(3, &dealings);
    let (share, mine) = r3.resolve(&c3).expect("trustee 3 derives its share");
    assert_eq!(mine.joint_key, outcome.joint_key);
    assert_eq!(
        outcome
            .joint_key
            .verification_share(TrusteeIndex::new(3).unwrap())
            .unwrap(),
        share.verification_share()
    );
}

#[test]
fn a_late_dealing_needs_round_2_again() {
    let mut e = Election::new(702, 3, 2, 0, &[], 5, 5);
    e.start_ceremony();
    let d1 = e.dealing_of(1);
    let d2 = e.dealing_of(2);
    e.post_dealing(1, d1.clone());
    e.post_dealing(2, d2.clone());
    for j in 1..=3 {
        let (_, c) = e.round3(j, &[d1.clone(), d2.clone()]);
        e.post_complaints(j, c);
    }
    // Trustee 3 deals after everyone's round 2: nobody could complain about it yet.
    let d3 = e.dealing_of(3);
    e.post_dealing(3, d3.clone());
    let open = e.envelope(Who::Council, OfficialAction::Open);
    match e.st.apply(&open) {
        Err(Error::Trustees(msg)) => assert!(msg.contains("before the last dealing"), "{msg}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let all = [d1, d2, d3];
    for j in 1..=3 {
        let (_, c) = e.round3(j, &all);
        e.post_complaints(j, c);
    }
    e.act(Who::Council, OfficialAction::Open).unwrap();
}

/// The observer's best guess from the order of validations: "the i-th validated voter owns
/// the i-th key enabled". Returns how many of the `batch` guesses are right.
fn observer_hits(validated_keys: &[[u8; 32]], enabled_keys: &[[u8; 32]]) -> usize {
    validated_keys
        .iter()
        .zip(enabled_keys)
        .filter(|(a, b)| a == b)
        .count()
}

#[test]
fn enablement_order_does_not_follow_validation_order() {
    // On the chain: 7 voters validated in a known order (the observer knows who each is).
    let mut e = Election::new(601, 1, 1, 7, &[], 5, 5);
    e.honest_ceremony_and_open();
    let first = e.register(0);
    // The old flow: the registrar enables the key right after its validation. Refused now.
    let err = e.enable(vec![first.note.clone()], false).unwrap_err();
    assert!(
        matches!(&err, Error::Registration(m) if m.contains("below the manifest's registration_batch of 5")),
        "{err}"
    );
    let mut voters = vec![first];
    voters.extend((1..5).map(|v| e.register(v)));
    let arrival: Vec<NoteKey> = voters.iter().map(|v| v.note.clone()).collect();
    // A batch in an order that is not canonical (e.g. the arrival order) is refused.
    let mut not_canonical = canonical_batch(arrival.clone());
    not_canonical.reverse();
    let err = e.enable(not_canonical, false).unwrap_err();
    assert!(
        matches!(&err, Error::Registration(m) if m.contains("strictly increasing")),
        "{err}"
    );
    e.enable(canonical_batch(arrival.clone()), false).unwrap();

    // What the observer reads on the chain: the batch's keys, in canonical (sorted) order.
    let Some(Envelope::Official(a)) = e.log.last() else {
        panic!("the enable action is logged")
    };
    let body: ActionBody = a.open().unwrap();
    let OfficialAction::EnableVoters { batch, .. } = body.action else {
        panic!("not an enable action")
    };
    let on_chain: Vec<[u8; 32]> = batch.iter().map(NoteKey::order_key).collect();
    let mut sorted = on_chain.clone();
    sorted.sort();
    assert_eq!(on_chain, sorted);

    // The end of registration: 2 more voters; a small batch is refused unless it is the final
    // one, which closes registration (no trickling one key per validation afterwards).
    let late: Vec<Voter> = (5..7).map(|v| e.register(v)).collect();
    let late_batch = canonical_batch(late.iter().map(|v| v.note.clone()).collect());
    assert!(e.enable(late_batch.clone(), false).is_err());
    e.enable(late_batch, true).unwrap();
    assert_eq!(e.st.counts().enabled_keys, 7);
    let again = e
        .act(
            Who::Validator,
            OfficialAction::ValidateVoter {
                commitment: e.m.whitelist[0],
            },
        )
        .unwrap_err();
    assert!(
        matches!(&again, Error::Registration(m) if m.contains("registration is closed")),
        "{again}"
    );
    assert!(e.enable(Vec::new(), true).is_err());

    // Over many registrations of B = 5 voters (arriving in validation order, the worst case
    // for the registrar), the observer's position guess is right as often as for a random
    // permutation (1 of 5 on average) — and the whole mapping only about 1 time in 120. With
    // the old one-key-per-validation order it was right every time.
    let mut rng = ChaCha20Rng::seed_from_u64(602);
    let runs = 2000;
    let (mut hits, mut identity, mut old_hits) = (0usize, 0usize, 0usize);
    for _ in 0..runs {
        let arrival: Vec<NoteKey> = (0..5)
            .map(|_| {
                let (meta, _, _) = stealth::generate_meta_address(&mut rng);
                NoteKey {
                    token: voters[0].note.token.clone(),
                    key: meta.derive_stealth_key(&mut rng),
                }
            })
            .collect();
        let validated: Vec<[u8; 32]> = arrival.iter().map(NoteKey::order_key).collect();
        let enabled: Vec<[u8; 32]> = canonical_batch(arrival)
            .iter()
            .map(NoteKey::order_key)
            .collect();
        let h = observer_hits(&validated, &enabled);
        hits += h;
        identity += usize::from(h == 5);
        old_hits += observer_hits(&validated, &validated);
    }
    let mean = hits as f64 / runs as f64;
    assert!((0.85..=1.15).contains(&mean), "mean hits {mean}");
    assert!(
        identity < runs * 3 / 100,
        "identity mapping {identity} times"
    );
    assert_eq!(old_hits, 5 * runs);
}

// Round 0: per-election ceremony keys (forward secrecy of the shares, SECURITY.md finding 2).

#[test]
fn a_dealing_before_every_ceremony_key_is_refused() {
    let mut e = Election::new(703, 3, 2, 0, &[], 5, 5);
    e.act(Who::Council, OfficialAction::StartKeyCeremony)
        .unwrap();
    let k1 = e.ceremony_key(1);
    e.act(Who::Trustee(0), OfficialAction::KeyCeremony(Box::new(k1)))
        .unwrap();
    let d1 = e.dealing_of(1);
    let dealing = OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Dealing(Box::new(d1))));
    match e.act(Who::Trustee(0), dealing) {
        Err(Error::Trustees(msg)) => assert!(
            msg.contains("round 0") && msg.contains("trustee 2, trustee 3"),
            "{msg}"
        ),
        other => panic!("a dealing before the ceremony keys was not refused: {other:?}"),
    }
}

#[test]
fn ceremony_keys_need_their_secret_and_are_bound_to_election_and_trustee() {
    let mut e = Election::new(704, 3, 2, 0, &[], 5, 5);
    e.act(Who::Council, OfficialAction::StartKeyCeremony)
        .unwrap();
    let k1 = e.ceremony_key(1);
    e.act(
        Who::Trustee(0),
        OfficialAction::KeyCeremony(Box::new(k1.clone())),
    )
    .unwrap();
    let refused = |e: &mut Election, who: usize, msg: KeyCeremonyMessage| {
        let r = e.act(
            Who::Trustee(who),
            OfficialAction::KeyCeremony(Box::new(msg)),
        );
        assert!(
            matches!(r, Err(Error::InvalidProof(_)) | Err(Error::Trustees(_))),
            "{r:?}"
        );
    };
    // Trustee 1 again: one key per trustee.
    let again = e.ceremony_key(1);
    refused(&mut e, 0, again);
    let KeyCeremonyMessage::CeremonyKey(k1) = k1 else {
        unreachable!()
    };
    let (k1_key, k1_proof) = (k1.key, k1.proof);
    let t2 = TrusteeIndex::new(2).unwrap();
    // Trustee 2 copies trustee 1's key and proof under its own number (it would then receive
    // shares only trustee 1 can read, or bias the ceremony): the proof is bound to trustee 1.
    refused(
        &mut e,
        1,
        KeyCeremonyMessage::CeremonyKey(Box::new(CeremonyKey {
            trustee: t2,
            key: k1_key,
            proof: k1_proof,
        })),
    );
    // A rogue key K' = K1 + x·G with a proof made by the cheating prover who knows x but not
    // trustee 1's secret: it proves knowledge of x for x·G, not of the discrete log of K'.
    let x = SecretScalar::random(&mut e.rng);
    let rogue = k1_key + x.expose() * G;
    let ctx = tabella_election::trustee::ceremony_key_context(&e.id, t2);
    let proof_for_x = tabella_crypto::schnorr::SchnorrProof::prove(&ctx, &G, &x, &mut e.rng);
    refused(
        &mut e,
        1,
        KeyCeremonyMessage::CeremonyKey(Box::new(CeremonyKey {
            trustee: t2,
            key: rogue,
            proof: proof_for_x,
        })),
    );
    // A valid proof for trustee 2 from another election (a replayed round-0 message).
    let other = ElectionId::new("another-election").unwrap();
    let replayed = ceremony_key_message(&other, t2, &e.dkg[1].clone(), &mut e.rng);
    refused(&mut e, 1, replayed);
    // The identity as a key (anyone "knows" its discrete log 0).
    let zero = SecretScalar::from_bytes(&[0u8; 32]).unwrap();
    let m = ceremony_key_message(&e.id.clone(), t2, &zero, &mut e.rng);
    refused(&mut e, 1, m);
    // Trustee 1 may not post trustee 2's key (only the named trustee signs its message).
    let k2 = e.ceremony_key(2);
    let r = e.act(
        Who::Trustee(0),
        OfficialAction::KeyCeremony(Box::new(k2.clone())),
    );
    assert!(matches!(r, Err(Error::Unauthorized(_))), "{r:?}");
    // The honest message is accepted.
    e.act(Who::Trustee(1), OfficialAction::KeyCeremony(Box::new(k2)))
        .unwrap();
    assert_eq!(e.st.ceremony_keys().len(), 2);
}

#[test]
fn the_transcript_encrypts_to_the_ceremony_keys() {
    // The recipient keys every check of the ceremony uses are the keys posted in round 0 (a
    // dealing to any other key is a bad share its recipient complains about:
    // `opening_before_every_trustee_has_complained_is_refused`).
    let mut e = Election::new(705, 3, 2, 0, &[], 5, 5);
    e.start_ceremony();
    let t =
        e.st.key_ceremony_transcript()
            .expect("all ceremony keys posted");
    assert_eq!(t.longterm_publics, e.publics());
}

#[test]
fn ceremony_progress_tells_each_trustee_its_next_step() {
    use tabella_election::trustee::CeremonyStep;
    let mut e = Election::new(706, 3, 2, 0, &[], 5, 5);
    e.act(Who::Council, OfficialAction::StartKeyCeremony)
        .unwrap();
    let t = |j: u16| TrusteeIndex::new(j).unwrap();
    let step = |e: &Election, j: u16| e.st.ceremony_progress().next_step(t(j));
    assert_eq!(step(&e, 2), CeremonyStep::PostKey);
    for j in 1..=3 {
        let k = e.ceremony_key(j);
        e.act(
            Who::Trustee(j - 1),
            OfficialAction::KeyCeremony(Box::new(k)),
        )
        .unwrap();
        if j == 2 {
            assert_eq!(step(&e, 2), CeremonyStep::WaitKeys(2, 3));
        }
    }
    assert_eq!(step(&e, 2), CeremonyStep::Deal);
    let d1 = e.dealing_of(1);
    let d2 = e.dealing_of(2);
    e.post_dealing(1, d1.clone());
    e.post_dealing(2, d2.clone());
    assert_eq!(step(&e, 2), CeremonyStep::WaitDealings(2, 3));
    // Trustee 2 complains early (before trustee 3's dealing) ...
    let (_, c) = e.round3(2, &[d1.clone(), d2.clone()]);
    e.post_complaints(2, c);
    let d3 = e.dealing_of(3);
    e.post_dealing(3, d3.clone());
    // ... so its round 2 no longer covers every dealing: it must complain again.
    assert_eq!(step(&e, 2), CeremonyStep::Complain);
    let all = [d1, d2, d3];
    for j in 1..=3 {
        let (_, c) = e.round3(j, &all);
        e.post_complaints(j, c);
        if j == 2 {
            assert_eq!(step(&e, 2), CeremonyStep::WaitComplaints(2, 3));
        }
    }
    let p = e.st.ceremony_progress();
    assert!(p.settled(), "{}", p.summary());
    assert_eq!(p.next_step(t(2)), CeremonyStep::Finish);
    assert_eq!(
        p.summary(),
        "3 of 3 trustees posted round 0 (ceremony keys), 3 round 1 (dealings), 3 round 2 (complaints)"
    );
    e.act(Who::Council, OfficialAction::Open).unwrap();
}
