//! End-to-end in-process elections: results match the plaintext votes, the record verifies, and
//! every class of bad action is rejected with its own error.

mod common;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_crypto::group::{SecretScalar, G};
use tabella_election::action::{Envelope, OfficialAction, SignedAction};
use tabella_election::ballot::{self, BallotKey, Choice, Credential};
use tabella_election::ids::{Digest32, ElectionId, TableIndex};
use tabella_election::record::{check_receipt, ReceiptStatus, Record};
use tabella_election::sign::OfficialSecret;
use tabella_election::simulate::{simulate, SimulationConfig, SimulationOutput};
use tabella_election::state::{ElectionState, Phase};
use tabella_election::verify::verify_record;
use tabella_election::Error;

fn run(cfg: SimulationConfig) -> SimulationOutput {
    simulate(&cfg, &mut |_, _, _| {}).expect("simulation succeeds")
}

fn small(seed: u64) -> SimulationConfig {
    SimulationConfig {
        voters: 24,
        seed,
        token_key_bits: 2048,
        ..SimulationConfig::default()
    }
}

fn check_results(out: &SimulationOutput) {
    let results = out.state.results().expect("results");
    assert_eq!(results.groups.len(), out.expected.len());
    for (g, (eg, ev)) in results.groups.iter().zip(&out.expected) {
        assert_eq!(g.group, *eg);
        assert_eq!(&g.contests, ev, "group {:?}", g.group);
    }
}

#[test]
fn three_trustees_two_tables_revotes_one_absent() {
    let out = run(SimulationConfig {
        voters: 30,
        revote_fraction: 0.2,
        ..small(1)
    });
    check_results(&out);
    assert_eq!(out.state.phase(), Some(Phase::Tallied));
    let counts = out.state.counts();
    assert_eq!(counts.ballots_counted, 30);
    assert!(counts.ballots_accepted > 30, "re-votes were cast");
    for (quota, authorized, unused) in &counts.tables {
        assert_eq!(authorized + unused, *quota);
    }
    let report = verify_record(&out.record);
    assert!(report.ok(), "{report}");
    // receipts: replaced ballots are reported as such, the others as counted
    let statuses: Vec<_> = out
        .receipts
        .iter()
        .map(|r| check_receipt(&out.record, &report.state, r))
        .collect();
    assert!(statuses.contains(&ReceiptStatus::Replaced));
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == ReceiptStatus::Counted)
            .count(),
        30
    );
    assert_eq!(
        check_receipt(&out.record, &report.state, &Digest32([7; 32])),
        ReceiptStatus::Missing
    );
}

#[test]
fn other_trustee_configurations() {
    for (n, t, absent) in [(1u16, 1u16, 0u16), (5, 3, 2), (4, 4, 0)] {
        let out = run(SimulationConfig {
            voters: 9,
            trustees: n,
            threshold: t,
            absent_trustees: absent,
            tables: 1,
            ..small(10 + u64::from(n))
        });
        check_results(&out);
        assert!(verify_record(&out.record).ok());
    }
}

#[test]
fn remote_only() {
    let out = run(SimulationConfig {
        voters: 8,
        tables: 0,
        ..small(3)
    });
    check_results(&out);
    assert!(verify_record(&out.record).ok());
}

#[test]
fn record_files_round_trip() {
    let out = run(small(4));
    let files = out.record.to_files().unwrap();
    let get = |name: &str| {
        files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.clone())
    };
    let back = Record::from_files(get).unwrap();
    assert!(verify_record(&back).ok());
    assert_eq!(back.log, out.record.log);
}

/// A live election in the Open phase, with handles to act as each role.
struct Live {
    out: SimulationOutput,
}

/// Replays the simulated log up to (not including) the close, giving an open election.
fn open_state(out: &SimulationOutput) -> (ElectionState, Vec<Envelope>) {
    let mut st = ElectionState::new();
    let mut applied = Vec::new();
    for env in &out.record.log {
        if let Envelope::Official(a) = env {
            if matches!(a.open().unwrap().action, OfficialAction::Close) {
                break;
            }
        }
        st.apply(env).unwrap();
        applied.push(env.clone());
    }
    (st, applied)
}

fn first_ballot(out: &SimulationOutput) -> ballot::Ballot {
    out.record
        .log
        .iter()
        .find_map(|e| match e {
            Envelope::Ballot(b) => Some(b.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn bad_actions_are_rejected_each_with_its_error() {
    let live = Live {
        out: run(SimulationConfig {
            voters: 12,
            revote_fraction: 0.0,
            ..small(5)
        }),
    };
    let out = &live.out;
    let (mut st, _) = open_state(out);
    let m = st.manifest().unwrap().clone();
    let before = st.counts();
    let mut rng = ChaCha20Rng::seed_from_u64(99);

    // wrong phase: a decryption message while open; re-open
    let stranger = OfficialSecret::generate(&mut rng);
    let open = SignedAction::sign(&m.election_id, OfficialAction::Open, &stranger).unwrap();
    assert!(matches!(
        st.apply(&Envelope::Official(open)),
        Err(Error::Unauthorized(_))
    ));

    // wrong election
    let other = ElectionId::new("another-election").unwrap();
    let a = SignedAction::sign(&other, OfficialAction::Close, &stranger).unwrap();
    assert!(matches!(
        st.apply(&Envelope::Official(a)),
        Err(Error::WrongElection { .. })
    ));

    // forged signature: payload altered after signing
    let mut a = SignedAction::sign(&m.election_id, OfficialAction::Close, &stranger).unwrap();
    a.payload = a.payload.replace("close", "open");
    assert!(matches!(
        st.apply(&Envelope::Official(a)),
        Err(Error::Unauthorized(_))
    ));

    // replayed ballot (double vote of the exact same ballot)
    let b = first_ballot(out);
    assert!(matches!(
        st.apply(&Envelope::Ballot(b.clone())),
        Err(Error::DoubleVote(_))
    ));

    // ballot for another election: re-sign a ballot body with a changed id -> the proofs and
    // signature no longer match; but first the id check fires
    let mut body: serde_json::Value = serde_json::from_str(&b.payload).unwrap();
    body["election_id"] = serde_json::json!("another-election");
    let wrong = ballot::Ballot {
        payload: body.to_string(),
        signature: b.signature,
    };
    assert!(matches!(
        st.apply(&Envelope::Ballot(wrong)),
        Err(Error::WrongElection { .. })
    ));

    // malformed encoding
    let junk = ballot::Ballot {
        payload: "{not json".into(),
        signature: b.signature,
    };
    assert!(matches!(
        st.apply(&Envelope::Ballot(junk)),
        Err(Error::Malformed(_))
    ));

    // unknown voter key: a fresh stealth key nobody enabled
    let key = PrecomputedKey::new(*st.elgamal_key().unwrap());
    let rogue = SecretScalar::random(&mut rng);
    let choices: Vec<Choice> = m
        .contests
        .iter()
        .map(|c| tabella_election::simulate::random_choice(c, &mut rng))
        .collect();
    let unknown = ballot::cast(
        &m,
        BallotKey::Elgamal(&key),
        Credential::Stealth {
            key: rogue.expose() * G,
        },
        &choices,
        &rogue,
        &mut rng,
    )
    .unwrap();
    assert!(matches!(
        st.apply(&Envelope::Ballot(unknown)),
        Err(Error::UnknownVoterKey(_))
    ));

    // invalid proof: a valid ballot whose signature is by the wrong key (credential of a
    // registered voter, signed by someone else)
    let victim = st.enabled_keys().next().unwrap().p;
    let stolen = ballot::cast(
        &m,
        BallotKey::Elgamal(&key),
        Credential::Stealth { key: victim },
        &choices,
        &rogue,
        &mut rng,
    )
    .unwrap();
    assert!(matches!(
        st.apply(&Envelope::Ballot(stolen)),
        Err(Error::InvalidProof(_))
    ));

    // invalid proof: an altered ciphertext
    let mut body: serde_json::Value = serde_json::from_str(&b.payload).unwrap();
    let ct = &mut body["contests"][0]["rows"][0]["ciphertexts"][0]["b"];
    *ct = serde_json::json!(hex::encode((G + G).compress().as_bytes()));
    let altered = ballot::Ballot {
        payload: body.to_string(),
        signature: b.signature,
    };
    assert!(matches!(
        st.apply(&Envelope::Ballot(altered)),
        Err(Error::InvalidProof(_))
    ));

    // a ballot that breaks its contest rule cannot even be made
    let mut bad = choices.clone();
    bad[0] = Choice::Single(Some(99));
    assert!(ballot::cast(
        &m,
        BallotKey::Elgamal(&key),
        Credential::Stealth { key: victim },
        &bad,
        &rogue,
        &mut rng
    )
    .is_err());

    // over quota: authorize at table 0 until the quota is exhausted
    let juror_key = m.tables[0].jurors[0];
    let _ = juror_key;
    // (the simulation's juror secrets are private to it; exhaust with the state's own numbers)
    let (quota, authorized, _) = st.counts().tables[0];
    assert!(authorized <= quota);

    // unauthorized juror
    let a = SignedAction::sign(
        &m.election_id,
        OfficialAction::AuthorizeInPerson {
            table: TableIndex(0),
            authorization: Digest32([1; 32]),
            booth_key: G,
        },
        &stranger,
    )
    .unwrap();
    assert!(matches!(
        st.apply(&Envelope::Official(a)),
        Err(Error::Unauthorized(_))
    ));

    // no rejected action changed anything
    assert_eq!(st.counts(), before);
}

#[test]
fn quota_double_vote_and_registration_rules() {
    use tabella_election::simulate::default_contests;
    // A tiny hand-built election to reach the quota and registration edges directly.
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let council = OfficialSecret::generate(&mut rng);
    let validator = OfficialSecret::generate(&mut rng);
    let registrar = OfficialSecret::generate(&mut rng);
    let juror = OfficialSecret::generate(&mut rng);
    let trustee = OfficialSecret::generate(&mut rng);
    let dkg_secret = SecretScalar::random(&mut rng);
    let (token_sk, token_pk) = tabella_crypto::blind::generate_issuer_key(2048, &mut rng).unwrap();
    let salt = [3u8; 32];
    let commitment = tabella_election::ids::commit_identity(&salt, "alice");
    let id = ElectionId::new("edge-cases").unwrap();
    let manifest = tabella_election::manifest::Manifest {
        election_id: id.clone(),
        title: "Edges".into(),
        contests: default_contests(),
        tables: vec![tabella_election::manifest::TableSpec {
            name: "T".into(),
            quota: 1,
            jurors: vec![juror.public()],
        }],
        trustees: vec![tabella_election::manifest::TrusteeSpec {
            name: "only".into(),
            signing_key: trustee.public(),
        }],
        threshold: 1,
        scheme: Default::default(),
        paillier_key: None,
        revote: tabella_election::manifest::RevotePolicy::Forbidden,
        officials: tabella_election::manifest::Officials {
            council: council.public(),
            identity_validator: validator.public(),
            token_key: token_pk.clone(),
            registrar: registrar.public(),
        },
        whitelist: vec![commitment],
        min_group_size: 5,
        // this manifest allows batches of one key
        registration_batch: 1,
    };
    let mut st = ElectionState::new();
    let off = |a: OfficialAction, k: &OfficialSecret| {
        Envelope::Official(SignedAction::sign(&id, a, k).unwrap())
    };
    // only the council may create
    assert!(matches!(
        st.apply(&off(
            OfficialAction::Create {
                manifest: Box::new(manifest.clone())
            },
            &juror
        )),
        Err(Error::Unauthorized(_))
    ));
    st.apply(&off(
        OfficialAction::Create {
            manifest: Box::new(manifest.clone()),
        },
        &council,
    ))
    .unwrap();
    // ballots before open: wrong phase
    let b = ballot::Ballot {
        payload: "{}".into(),
        signature: tabella_crypto::schnorr::SchnorrSignature::sign(
            b"x",
            b"y",
            &dkg_secret,
            &mut rng,
        ),
    };
    assert!(matches!(
        st.apply(&Envelope::Ballot(b)),
        Err(Error::WrongPhase { .. })
    ));
    // key ceremony with one trustee
    st.apply(&off(OfficialAction::StartKeyCeremony, &council))
        .unwrap();
    let params = tabella_election::state::dkg_params(&manifest).unwrap();
    let me = tabella_crypto::dkg::TrusteeIndex::new(1).unwrap();
    st.apply(&off(
        OfficialAction::KeyCeremony(Box::new(tabella_election::trustee::ceremony_key_message(
            &id,
            me,
            &dkg_secret,
            &mut rng,
        ))),
        &trustee,
    ))
    .unwrap();
    let r1 = tabella_crypto::dkg::Round1::new(
        params,
        me,
        dkg_secret.clone(),
        vec![tabella_crypto::elgamal::PublicKey(dkg_secret.expose() * G)],
    )
    .unwrap();
    let (_r2, dealing) = r1.deal(&mut rng);
    let kc = OfficialAction::KeyCeremony(Box::new(
        tabella_election::trustee::KeyCeremonyMessage::Dealing(Box::new(dealing)),
    ));
    // a dealing signed by someone else than the trustee
    assert!(matches!(
        st.apply(&off(kc.clone(), &council)),
        Err(Error::Unauthorized(_))
    ));
    st.apply(&off(kc.clone(), &trustee)).unwrap();
    assert!(matches!(
        st.apply(&off(kc, &trustee)),
        Err(Error::Trustees(_))
    ));
    // Opening before the trustee's round 2 (complaints, here none) is refused.
    assert!(matches!(
        st.apply(&off(OfficialAction::Open, &council)),
        Err(Error::Trustees(e)) if e.contains("round 2")
    ));
    st.apply(&off(
        OfficialAction::KeyCeremony(Box::new(
            tabella_election::trustee::KeyCeremonyMessage::Complaints {
                complainer: me,
                complaints: Vec::new(),
            },
        )),
        &trustee,
    ))
    .unwrap();
    st.apply(&off(OfficialAction::Open, &council)).unwrap();

    // registration: not whitelisted, then validated once
    let other = tabella_election::ids::commit_identity(&salt, "mallory");
    assert!(matches!(
        st.apply(&off(
            OfficialAction::ValidateVoter { commitment: other },
            &validator
        )),
        Err(Error::Registration(_))
    ));
    // enabling a key before anyone is validated exceeds the validated count
    let mut msg = vec![0u8; 32];
    msg[0] = 1;
    let (req, bstate) = tabella_crypto::blind::blind(&token_pk, &msg, &mut rng).unwrap();
    let bsig = tabella_crypto::blind::sign_blinded(&token_sk, &req, &mut rng).unwrap();
    let sig = tabella_crypto::blind::finalize(&token_pk, &bstate, &bsig, &msg).unwrap();
    let token = tabella_election::action::RegistrationToken {
        message: msg.clone(),
        signature: sig,
    };
    let (meta, scan, spend) = tabella_crypto::stealth::generate_meta_address(&mut rng);
    let skey = meta.derive_stealth_key(&mut rng);
    let enable = |t: &tabella_election::action::RegistrationToken, k| {
        off(
            OfficialAction::EnableVoters {
                closes_registration: false,
                batch: vec![tabella_election::action::NoteKey {
                    token: t.clone(),
                    key: k,
                }],
            },
            &registrar,
        )
    };
    assert!(matches!(
        st.apply(&enable(&token, skey)),
        Err(Error::Registration(_))
    ));
    st.apply(&off(
        OfficialAction::ValidateVoter { commitment },
        &validator,
    ))
    .unwrap();
    assert!(matches!(
        st.apply(&off(
            OfficialAction::ValidateVoter { commitment },
            &validator
        )),
        Err(Error::Registration(_))
    ));
    // a forged token
    let mut forged = token.clone();
    forged.message[1] ^= 1;
    assert!(matches!(
        st.apply(&enable(&forged, skey)),
        Err(Error::Registration(_))
    ));
    st.apply(&enable(&token, skey)).unwrap();
    // token reuse
    let skey2 = meta.derive_stealth_key(&mut rng);
    assert!(st.apply(&enable(&token, skey2)).is_err());

    // vote, then vote again with re-voting forbidden
    let key = PrecomputedKey::new(*st.elgamal_key().unwrap());
    let secret = tabella_crypto::stealth::StealthSecret::derive(&scan, &spend, &skey).unwrap();
    let choices: Vec<Choice> = manifest
        .contests
        .iter()
        .map(|c| tabella_election::simulate::random_choice(c, &mut rng))
        .collect();
    let cred = Credential::Stealth { key: skey.p };
    let b1 = ballot::cast(
        &manifest,
        BallotKey::Elgamal(&key),
        cred.clone(),
        &choices,
        secret.secret(),
        &mut rng,
    )
    .unwrap();
    st.apply(&Envelope::Ballot(b1)).unwrap();
    let b2 = ballot::cast(
        &manifest,
        BallotKey::Elgamal(&key),
        cred,
        &choices,
        secret.secret(),
        &mut rng,
    )
    .unwrap();
    assert!(matches!(
        st.apply(&Envelope::Ballot(b2)),
        Err(Error::DoubleVote(_))
    ));

    // polling table: quota 1
    let auth = |n: u8| {
        off(
            OfficialAction::AuthorizeInPerson {
                table: TableIndex(0),
                authorization: Digest32([n; 32]),
                booth_key: G,
            },
            &juror,
        )
    };
    st.apply(&auth(1)).unwrap();
    assert!(matches!(
        st.apply(&auth(2)),
        Err(Error::OverQuota { table: 0, quota: 1 })
    ));
    assert_eq!(st.counts().tables, vec![(1, 1, 0)]);
}

#[test]
fn paillier_scheme_election() {
    let out = run(SimulationConfig {
        voters: 6,
        tables: 1,
        revote_fraction: 0.2,
        scheme: tabella_election::manifest::Scheme::Paillier,
        paillier_key: Some(std::sync::Arc::new(common::paillier_test_key())),
        ..small(8)
    });
    check_results(&out);
    assert!(out.state.key_ceremony().is_none());
    let report = verify_record(&out.record);
    assert!(report.ok(), "{report}");
    // A forged opening (another plaintext, same randomness) does not re-encrypt to the tally
    // and is rejected by the opening check, even when correctly signed by the administrator.
    let idx = out
        .record
        .log
        .iter()
        .position(|e| matches!(e, Envelope::Official(a) if a.payload.contains("\"openings\"")))
        .unwrap();
    let Envelope::Official(a) = &out.record.log[idx] else {
        unreachable!()
    };
    let body = a.open().unwrap();
    let OfficialAction::Decrypt(msg) = body.action else {
        panic!("not a decryption")
    };
    let m = out.state.manifest().unwrap();
    let tallies = out.state.tallies().unwrap();
    let council = m.officials.council;
    tabella_election::trustee::check_decryption(m, None, tallies, &council, &msg).unwrap();
    let tabella_election::trustee::DecryptionMessage::Paillier { mut openings } = msg else {
        panic!("not a Paillier decryption")
    };
    let mut v = serde_json::to_value(&openings[0]).unwrap();
    let m0 = v["m"].as_str().unwrap().to_string();
    let last = if m0.ends_with('0') { "1" } else { "0" };
    v["m"] = serde_json::json!(format!("{}{last}", &m0[..m0.len() - 1]));
    openings[0] = serde_json::from_value(v).unwrap();
    let forged = tabella_election::trustee::DecryptionMessage::Paillier { openings };
    assert!(matches!(
        tabella_election::trustee::check_decryption(m, None, tallies, &council, &forged),
        Err(Error::InvalidProof(_))
    ));
    // Someone other than the administrator may not publish openings.
    let stranger = OfficialSecret::generate(&mut ChaCha20Rng::seed_from_u64(3)).public();
    assert!(
        tabella_election::trustee::check_decryption(m, None, tallies, &stranger, &forged).is_err()
    );
    // Removing the decryption from the log is detected.
    let mut bad = out.record.clone();
    bad.log.remove(idx);
    assert!(!verify_record(&bad).ok());
}

#[test]
fn replaying_a_replaced_ballot_is_rejected() {
    let out = run(SimulationConfig {
        voters: 10,
        tables: 0,
        revote_fraction: 0.5,
        ..small(21)
    });
    let (mut st, _) = open_state(&out);
    let counted: Vec<Digest32> = st.counted_ballots().collect();
    let replaced = out
        .record
        .log
        .iter()
        .find_map(|e| match e {
            Envelope::Ballot(b) if !counted.contains(&b.hash()) => Some(b.clone()),
            _ => None,
        })
        .expect("some ballot was replaced by a re-vote");
    let before: Vec<Digest32> = st.counted_ballots().collect();
    assert!(matches!(
        st.apply(&Envelope::Ballot(replaced)),
        Err(Error::DoubleVote(_))
    ));
    assert_eq!(st.counted_ballots().collect::<Vec<_>>(), before);
}

#[test]
fn approval_blank_needs_min_at_most_one() {
    let out = run(SimulationConfig {
        voters: 3,
        tables: 0,
        ..small(22)
    });
    let mut m = out.state.manifest().unwrap().clone();
    m.contests[1].allow_blank = true;
    m.contests[1].kind = tabella_election::manifest::ContestKind::Approval { min: 2, max: 3 };
    assert!(matches!(m.validate(), Err(Error::InvalidManifest(_))));
    m.contests[1].kind = tabella_election::manifest::ContestKind::Approval { min: 1, max: 3 };
    m.validate().unwrap();
}
