//! `tabella verify-ballot` against a record: an audit file of a spoiled ballot verifies (exit 0,
//! the choices in words), a tampered one exits 1 and says what failed. (The same against a node,
//! with the file written by `tabella voter vote --audit-out`, is in roles.rs.)

mod support;

use std::path::Path;

use curve25519_dalek::ristretto::RistrettoPoint;
use rand_core::OsRng;
use support::{tabella, text};
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_election::audit::AuditedBallot;
use tabella_election::ballot::{encrypt_ballot, BallotKey, Choice, Credential};
use tabella_election::record::Record;
use tabella_election::state::{ElectionState, ProofCheck};

/// Writes the audit file of a ballot for the simulated election in `rec`: Ada; Hopper and
/// Turing; Labs, Library, Housing.
fn audit_file(rec: &Path, out: &Path) -> AuditedBallot {
    let record = Record::from_files(|name| std::fs::read(rec.join(name)).ok()).unwrap();
    let mut state = ElectionState::new();
    for env in &record.log {
        state.apply_with(env, ProofCheck::AlreadyVerified).unwrap();
    }
    let pre = PrecomputedKey::new(*state.elgamal_key().unwrap());
    let choices = vec![
        Choice::Single(Some(0)),
        Choice::Approval(vec![1, 3]),
        Choice::Ranking(vec![1, 0, 3]),
    ];
    let (payload, secrets) = encrypt_ballot(
        state.manifest().unwrap(),
        BallotKey::Elgamal(&pre),
        Credential::Stealth {
            key: RistrettoPoint::random(&mut OsRng),
        },
        &choices,
        &mut OsRng,
    )
    .unwrap();
    let a = AuditedBallot::new(payload, &secrets, choices).unwrap();
    std::fs::write(out, serde_json::to_vec_pretty(&a).unwrap()).unwrap();
    a
}

#[test]
fn an_audit_file_verifies_against_a_record_and_a_tampered_one_fails() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let sim = tabella(
        p,
        &[],
        &[
            "election", "simulate", "--voters", "3", "--quiet", "--out", "rec",
        ],
    );
    assert!(sim.status.success(), "{}", text(&sim));
    let a = audit_file(&p.join("rec"), &p.join("audit.json"));
    let tracker = a.tracker.to_hex();

    let ok = tabella(
        p,
        &[],
        &[
            "verify-ballot",
            "audit.json",
            "--record",
            "rec",
            "--tracker",
            &tracker,
        ],
    );
    let t = text(&ok);
    assert!(ok.status.success(), "{t}");
    assert!(t.contains(&format!("ballot tracker {tracker}")), "{t}");
    assert!(t.contains("1. Rector: Ada"), "{t}");
    assert!(t.contains("Hopper, Turing"), "{t}");
    assert!(t.contains("1. Labs, 2. Library, 3. Housing"), "{t}");
    assert!(
        t.contains("this ballot encrypts exactly these choices"),
        "{t}"
    );
    assert!(t.contains("AUDIT PASSED"), "{t}");
    let json = tabella(
        p,
        &[],
        &["verify-ballot", "audit.json", "--record", "rec", "--json"],
    );
    assert!(json.status.success(), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["tracker"], tracker);

    // Flip a choice: Grace claimed for a ballot that encrypts Ada.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("audit.json")).unwrap()).unwrap();
    v["choices"][0]["single"] = serde_json::json!(1);
    std::fs::write(p.join("flipped.json"), v.to_string()).unwrap();
    let bad = tabella(
        p,
        &[],
        &["verify-ballot", "flipped.json", "--record", "rec"],
    );
    let t = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{t}");
    assert!(t.contains("AUDIT FAILED"), "{t}");
    assert!(
        t.contains("contest 1 (\"Rector\") row 1 entry 1 (Ada)")
            && t.contains("does NOT encrypt the choices claimed"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");

    // The tracker the device showed is another ballot's.
    let other = "ab".repeat(32);
    let bad = tabella(
        p,
        &[],
        &[
            "verify-ballot",
            "audit.json",
            "--record",
            "rec",
            "--tracker",
            &other,
        ],
    );
    let t = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("your device showed tracker {other}")),
        "{t}"
    );

    // A signature slipped into the file is refused: an audit file is never a ballot.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("audit.json")).unwrap()).unwrap();
    v["signature"] = serde_json::json!("00");
    std::fs::write(p.join("signed.json"), v.to_string()).unwrap();
    let bad = tabella(p, &[], &["verify-ballot", "signed.json", "--record", "rec"]);
    support::fails_with(&bad, "is not a valid ballot audit file");

    // Neither --node nor --record: a usage error naming them.
    let bad = tabella(p, &[], &["verify-ballot", "audit.json"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("--node"), "{}", text(&bad));
    let help = tabella(p, &[], &["verify-ballot", "--help"]);
    assert!(text(&help).contains("Benaloh"), "{}", text(&help));
}
