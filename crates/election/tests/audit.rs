//! Benaloh's cast-or-audit, tested as the attacker: an honest audit passes and names the choices
//! in words; every lie of a voting device (another choice claimed for the same ciphertexts, other
//! randomness, a changed ciphertext, a tracker of another ballot, another election, another key,
//! a device that encrypts one choice and claims another) fails with the error that says so.

mod common;

use std::sync::OnceLock;

use curve25519_dalek::ristretto::RistrettoPoint;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_crypto::elgamal::{PublicKey, SecretKey};
use tabella_crypto::group::SecretScalar;
use tabella_election::audit::{check_audited, AuditedBallot};
use tabella_election::ballot::{
    cast, encrypt_ballot, sign_ballot, tracker, BallotBody, BallotKey, BallotSecrets, Choice,
    Credential, ElectionKey,
};
use tabella_election::ids::{Digest32, ElectionId};
use tabella_election::manifest::{Manifest, Scheme};
use tabella_election::simulate::{random_choice, simulate, SimulationConfig};
use tabella_election::Error;

/// A small simulated election (default contests: single choice with blank, approval, ranked),
/// run once: its manifest and ElGamal key.
fn election() -> &'static (Manifest, PublicKey) {
    static E: OnceLock<(Manifest, PublicKey)> = OnceLock::new();
    E.get_or_init(|| {
        let out = simulate(
            &SimulationConfig {
                voters: 2,
                trustees: 1,
                threshold: 1,
                absent_trustees: 0,
                tables: 0,
                ..SimulationConfig::default()
            },
            &mut |_, _, _| {},
        )
        .expect("simulation");
        let m = out.state.manifest().expect("manifest").clone();
        let pk = *out.state.elgamal_key().expect("ElGamal key");
        (m, pk)
    })
}

fn key() -> ElectionKey {
    ElectionKey::Elgamal(election().1)
}

fn credential(rng: &mut ChaCha20Rng) -> Credential {
    Credential::Stealth {
        key: RistrettoPoint::random(rng),
    }
}

/// Ada; Hopper and Turing; Labs, Library, Housing.
fn choices_a() -> Vec<Choice> {
    vec![
        Choice::Single(Some(0)),
        Choice::Approval(vec![1, 3]),
        Choice::Ranking(vec![1, 0, 3]),
    ]
}

/// Grace; Noether; Sports, Labs, Library.
fn choices_b() -> Vec<Choice> {
    vec![
        Choice::Single(Some(1)),
        Choice::Approval(vec![0]),
        Choice::Ranking(vec![2, 1, 0]),
    ]
}

fn encrypt_under(
    m: &Manifest,
    pk: PublicKey,
    choices: &[Choice],
    seed: u64,
) -> (String, BallotSecrets) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let pre = PrecomputedKey::new(pk);
    let cred = credential(&mut rng);
    encrypt_ballot(m, BallotKey::Elgamal(&pre), cred, choices, &mut rng).expect("encrypts")
}

fn audited(choices: &[Choice], seed: u64) -> AuditedBallot {
    let (m, pk) = election();
    let (payload, secrets) = encrypt_under(m, *pk, choices, seed);
    AuditedBallot::new(payload, &secrets, choices.to_vec()).expect("audit file")
}

fn check(a: &AuditedBallot) -> Result<tabella_election::audit::AuditReport, Error> {
    check_audited(&election().0, &key(), a)
}

fn mismatch_at(r: Result<impl std::fmt::Debug, Error>) -> (usize, usize, usize) {
    match r {
        Err(Error::AuditMismatch {
            contest,
            row,
            entry,
            ..
        }) => (contest, row, entry),
        other => panic!("expected AuditMismatch, got {other:?}"),
    }
}

fn random_hex_scalar(rng: &mut ChaCha20Rng) -> String {
    hex::encode(SecretScalar::random(rng).to_bytes())
}

#[test]
fn honest_audit_passes_and_names_the_choices() {
    let a = audited(&choices_a(), 1);
    let report = check(&a).expect("an honest audit passes");
    assert_eq!(report.tracker, a.tracker);
    assert_eq!(report.election_id, election().0.election_id);
    let words: Vec<String> = report.contests.iter().map(|c| c.in_words()).collect();
    assert_eq!(
        words,
        ["Ada", "Hopper, Turing", "1. Labs, 2. Library, 3. Housing"]
    );
    let text = report.to_string();
    assert!(text.contains("Rector: Ada"), "{text}");
    assert!(text.contains("this ballot encrypts exactly these choices"));
    // A blank vote reads as such.
    let blank = vec![
        Choice::Single(None),
        Choice::Approval(vec![4]),
        Choice::Ranking(vec![4, 3, 2]),
    ];
    let report = check(&audited(&blank, 2)).expect("passes");
    assert_eq!(report.contests[0].in_words(), "(blank)");
    // The audit file goes through JSON unchanged and is named after its tracker.
    let json = serde_json::to_string(&a).unwrap();
    let back: AuditedBallot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    assert!(a.file_name().starts_with("audit-") && a.file_name().ends_with(".json"));
    assert!(a.file_name().contains(&a.tracker.to_hex()[..8]));
}

#[test]
fn the_audit_file_carries_no_signature_and_refuses_one() {
    let a = audited(&choices_a(), 3);
    let mut v = serde_json::to_value(&a).unwrap();
    assert!(v.get("signature").is_none());
    v["signature"] = serde_json::json!({ "e": "00", "s": "00" });
    assert!(serde_json::from_value::<AuditedBallot>(v).is_err());
}

#[test]
fn tracker_is_the_receipt_and_cast_is_unchanged() {
    let (m, pk) = election();
    let pre = PrecomputedKey::new(*pk);
    for seed in 0..3 {
        let signer = SecretScalar::random(&mut ChaCha20Rng::seed_from_u64(100 + seed));
        let cred = Credential::Stealth {
            key: RistrettoPoint::random(&mut ChaCha20Rng::seed_from_u64(200 + seed)),
        };
        // The same RNG stream through cast and through encrypt + sign: the same ballot.
        let mut r1 = ChaCha20Rng::seed_from_u64(seed);
        let whole = cast(
            m,
            BallotKey::Elgamal(&pre),
            cred.clone(),
            &choices_a(),
            &signer,
            &mut r1,
        )
        .unwrap();
        let mut r2 = ChaCha20Rng::seed_from_u64(seed);
        let (payload, secrets) =
            encrypt_ballot(m, BallotKey::Elgamal(&pre), cred, &choices_a(), &mut r2).unwrap();
        let t = tracker(&payload);
        let split = sign_ballot(payload, &signer, &mut r2);
        assert_eq!(whole, split);
        assert_eq!(
            t,
            whole.hash(),
            "the tracker shown before signing is the receipt"
        );
        // The secrets never print.
        let dbg = format!("{secrets:?}");
        assert!(
            dbg.contains("redacted")
                && !dbg.contains(&hex::encode(secrets.expose()[0][0][0].to_bytes()))
        );
    }
}

#[test]
fn another_choice_claimed_for_the_same_ciphertexts_fails() {
    let mut a = audited(&choices_a(), 4);
    a.choices[0] = Choice::Single(Some(1));
    assert_eq!(mismatch_at(check(&a)), (1, 1, 1));
    let mut a = audited(&choices_a(), 4);
    a.choices[2] = Choice::Ranking(vec![1, 3, 0]);
    assert_eq!(mismatch_at(check(&a)), (3, 2, 1));
    // A blank claimed for a vote for Ada.
    let mut a = audited(&choices_a(), 4);
    a.choices[0] = Choice::Single(None);
    let e = check(&a).unwrap_err();
    assert!(
        e.to_string()
            .contains("does NOT encrypt the choices claimed"),
        "{e}"
    );
    // A claimed choice the contest does not allow is refused before any comparison.
    let mut a = audited(&choices_a(), 4);
    a.choices[1] = Choice::Approval(vec![0, 1, 2, 3]);
    assert!(matches!(check(&a), Err(Error::Malformed(m)) if m.contains("claimed choice")));
}

#[test]
fn changed_randomness_fails_at_that_entry() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let base = audited(&choices_a(), 5);
    for (c, r, e) in [(0, 0, 0), (0, 0, 4), (1, 0, 2), (2, 1, 3), (2, 2, 0)] {
        let mut a = base.clone();
        a.randomness[c][r][e] = random_hex_scalar(&mut rng);
        assert_eq!(mismatch_at(check(&a)), (c + 1, r + 1, e + 1));
    }
    // Two entries' randomness swapped.
    let mut a = base.clone();
    a.randomness[0][0].swap(0, 1);
    assert_eq!(mismatch_at(check(&a)), (1, 1, 1));
    // Not a scalar, or missing.
    let mut a = base.clone();
    a.randomness[1][0][1] = "zz".into();
    assert!(matches!(check(&a), Err(Error::Malformed(m)) if m.contains("row 1 entry 2")));
    let mut a = base.clone();
    a.randomness[2].pop();
    assert!(matches!(check(&a), Err(Error::Malformed(_))));
    let mut a = base;
    a.randomness[0][0].pop();
    assert!(matches!(check(&a), Err(Error::Malformed(_))));
}

/// Re-encodes a payload after `f` changes its body, with the tracker recomputed (the attacker
/// controls the whole file).
fn rewrite(a: &AuditedBallot, f: impl FnOnce(&mut BallotBody)) -> AuditedBallot {
    let mut body: BallotBody = serde_json::from_str(&a.payload).unwrap();
    f(&mut body);
    let mut b = a.clone();
    b.payload = serde_json::to_string(&body).unwrap();
    b.tracker = tracker(&b.payload);
    b
}

#[test]
fn a_tampered_ciphertext_fails_its_proof() {
    let a = audited(&choices_a(), 6);
    let b = rewrite(&a, |body| {
        let row = &mut body.contests[0].rows[0];
        row.ciphertexts[0] = row.ciphertexts[0] + row.ciphertexts[1];
    });
    match check(&b) {
        Err(Error::InvalidProof(m)) => {
            assert!(m.contains("contest 1") && m.contains("row 1"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // Two ranked rows swapped: their proofs are bound to the row.
    let b = rewrite(&a, |body| body.contests[2].rows.swap(0, 1));
    assert!(matches!(check(&b), Err(Error::InvalidProof(m)) if m.contains("contest 3")));
    // A row dropped: the shape check.
    let b = rewrite(&a, |body| {
        body.contests[2].rows.pop();
    });
    assert!(matches!(check(&b), Err(Error::Malformed(_))));
    // The credential changed: every proof is bound to it.
    let b = rewrite(&a, |body| {
        body.credential = credential(&mut ChaCha20Rng::seed_from_u64(66))
    });
    assert!(matches!(check(&b), Err(Error::InvalidProof(_))));
}

#[test]
fn a_tracker_of_another_ballot_fails() {
    let a = audited(&choices_a(), 7);
    let other = audited(&choices_a(), 8);
    // The device showed the tracker of one encryption and opened another.
    let mut b = other.clone();
    b.tracker = a.tracker;
    assert!(matches!(check(&b), Err(Error::TrackerMismatch { .. })));
    let mut b = a.clone();
    b.payload = other.payload.clone();
    let e = check(&b).unwrap_err();
    assert!(matches!(e, Error::TrackerMismatch { .. }));
    assert!(e.to_string().contains(&a.tracker.to_hex()), "{e}");
    // A payload changed by one byte of whitespace is another ballot.
    let mut b = a.clone();
    b.payload.push(' ');
    assert!(matches!(check(&b), Err(Error::TrackerMismatch { .. })));
    // A zero tracker.
    let mut b = a;
    b.tracker = Digest32([0; 32]);
    assert!(matches!(check(&b), Err(Error::TrackerMismatch { .. })));
}

#[test]
fn another_election_fails() {
    let (m, pk) = election();
    // The file claims another election.
    let mut a = audited(&choices_a(), 9);
    a.election_id = ElectionId::new("other-election").unwrap();
    assert!(matches!(check(&a), Err(Error::WrongElection { got, .. }) if got == "other-election"));
    // A ballot of another election (same key, same contests), its file consistent with itself.
    let mut other = m.clone();
    other.election_id = ElectionId::new("other-election").unwrap();
    let (payload, secrets) = encrypt_under(&other, *pk, &choices_a(), 9);
    let a = AuditedBallot::new(payload, &secrets, choices_a()).unwrap();
    assert_eq!(a.election_id.as_str(), "other-election");
    assert!(matches!(check(&a), Err(Error::WrongElection { .. })));
    // The body alone claims another election.
    let b = rewrite(&audited(&choices_a(), 9), |body| {
        body.election_id = ElectionId::new("other-election").unwrap()
    });
    assert!(matches!(check(&b), Err(Error::WrongElection { .. })));
}

#[test]
fn a_ballot_under_another_key_fails_its_proofs() {
    let (m, _) = election();
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let rogue = SecretKey::generate(&mut rng).public_key();
    let (payload, secrets) = encrypt_under(m, rogue, &choices_a(), 10);
    let a = AuditedBallot::new(payload, &secrets, choices_a()).unwrap();
    // Consistent with itself under the rogue key (a device that knows the rogue secret could
    // read every ballot) — but not under the election's key.
    assert!(check_audited(m, &ElectionKey::Elgamal(rogue), &a).is_ok());
    match check(&a) {
        Err(Error::InvalidProof(msg)) => assert!(msg.contains("contest 1"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

/// The device encrypts choice A, commits to its tracker, and when challenged claims the voter's
/// choice B with randomness of its choosing. ElGamal is perfectly binding: no randomness opens
/// an encryption of A as B, so each attempt is caught.
#[test]
fn a_cheating_device_is_caught() {
    let (m, pk) = election();
    for seed in 20..26 {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (payload, secrets) = encrypt_under(m, *pk, &choices_b(), seed);
        let honest = AuditedBallot::new(payload.clone(), &secrets, choices_b()).unwrap();
        assert!(check(&honest).is_ok());
        // 1. The true randomness, choices A claimed.
        let mut lie = honest.clone();
        lie.choices = choices_a();
        assert!(matches!(check(&lie), Err(Error::AuditMismatch { .. })));
        // 2. The randomness of the entries moved to follow the claimed choices (Grace → Ada:
        // entries 1 and 2 swapped, as if the 1 had been encrypted in entry 1).
        let mut lie = honest.clone();
        lie.choices[0] = Choice::Single(Some(0));
        lie.randomness[0][0].swap(0, 1);
        assert_eq!(mismatch_at(check(&lie)), (1, 1, 1));
        // 3. Fresh randomness everywhere.
        let mut lie = honest.clone();
        lie.choices = choices_a();
        for rows in &mut lie.randomness {
            for entries in rows {
                for r in entries {
                    *r = random_hex_scalar(&mut rng);
                }
            }
        }
        assert!(matches!(check(&lie), Err(Error::AuditMismatch { .. })));
        // 4. Randomness solved so the first component matches (r' = r) but not the second:
        // only the true plaintext gives b = m·G + r·Y.
        let mut lie = honest;
        lie.choices[1] = Choice::Approval(vec![0, 4]);
        assert_eq!(mismatch_at(check(&lie)), (2, 1, 5));
    }
}

#[test]
fn paillier_elections_are_refused() {
    let (m, _) = election();
    let a = audited(&choices_a(), 11);
    let pk = common::paillier_test_key().public_key().clone();
    let mut pm = m.clone();
    pm.scheme = Scheme::Paillier;
    pm.paillier_key = Some(pk.clone());
    let e = check_audited(&pm, &ElectionKey::Paillier(pk), &a).unwrap_err();
    assert!(matches!(e, Error::AuditUnsupported(_)));
    assert!(e.to_string().contains("Paillier"), "{e}");
    // A Paillier manifest with an ElGamal key is refused too.
    assert!(matches!(
        check_audited(&pm, &key(), &a),
        Err(Error::AuditUnsupported(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any valid choices audit honestly; any single changed randomness, or any other valid
    /// choice claimed, fails.
    #[test]
    fn random_ballots_audit_and_any_lie_fails(seed in any::<u64>(), pick in any::<u64>(), other_seed in any::<u64>()) {
        let (m, _) = election();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let choices: Vec<Choice> = m.contests.iter().map(|c| random_choice(c, &mut rng)).collect();
        let a = audited(&choices, seed);
        let report = check(&a).expect("honest audit");
        prop_assert_eq!(report.contests.iter().map(|c| c.choice.clone()).collect::<Vec<_>>(), choices.clone());

        // One randomness changed.
        let entries: Vec<(usize, usize, usize)> = a.randomness.iter().enumerate().flat_map(|(c, rows)| {
            rows.iter().enumerate().flat_map(move |(r, es)| (0..es.len()).map(move |e| (c, r, e)))
        }).collect();
        let (c, r, e) = entries[(pick as usize) % entries.len()];
        let mut b = a.clone();
        b.randomness[c][r][e] = random_hex_scalar(&mut rng);
        prop_assert_eq!(mismatch_at(check(&b)), (c + 1, r + 1, e + 1));

        // Other valid choices claimed for the same ballot.
        let mut orng = ChaCha20Rng::seed_from_u64(other_seed);
        let other: Vec<Choice> = m.contests.iter().map(|c| random_choice(c, &mut orng)).collect();
        let mut b = a;
        b.choices = other.clone();
        if other == choices {
            prop_assert!(check(&b).is_ok());
        } else {
            let is_mismatch = matches!(check(&b), Err(Error::AuditMismatch { .. }));
            prop_assert!(is_mismatch);
        }
    }
}
