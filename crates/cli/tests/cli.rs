//! End-to-end tests through the real `tabella` binary.

use std::path::Path;
use std::process::{Command, Output};

fn tabella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tabella"))
        .args(args)
        .output()
        .expect("the tabella binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn simulate(dir: &Path, voters: &str) {
    let out = tabella(&[
        "election",
        "simulate",
        "--voters",
        voters,
        "--tables",
        "2",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("Results of"), "{t}");
    assert!(t.contains("Table 1") && t.contains("remote voters"), "{t}");
}

#[test]
fn simulate_then_verify_then_tamper() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("record");
    simulate(&rec, "12");
    let ok = tabella(&["verify", rec.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("VERDICT: OK"));

    // JSON report
    let js = tabella(&["verify", "--json", rec.to_str().unwrap()]);
    assert!(js.status.success());
    let v: serde_json::Value = serde_json::from_slice(&js.stdout).unwrap();
    assert!(v["checks"].as_array().unwrap().len() >= 10);

    // Tamper with the results: verification fails, names the file, exits non-zero.
    let results = rec.join("results.json");
    let s = std::fs::read_to_string(&results).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&s).unwrap();
    let x = v["overall"]["contests"][0][0].as_u64().unwrap();
    v["overall"]["contests"][0][0] = serde_json::json!(x + 1);
    std::fs::write(&results, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let bad = tabella(&["verify", rec.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let t = text(&bad);
    assert!(t.contains("FAIL") && t.contains("results.json"), "{t}");
    assert!(t.contains("VERDICT: FAILED"));

    // Truncated log: a clear one-line error, non-zero exit, no panic.
    std::fs::write(&results, s).unwrap();
    let actions = rec.join("actions.jsonl");
    let log = std::fs::read_to_string(&actions).unwrap();
    std::fs::write(&actions, &log[..log.len() / 2]).unwrap();
    let bad = tabella(&["verify", rec.to_str().unwrap()]);
    assert!(!bad.status.success());
    let t = text(&bad);
    assert!(
        t.starts_with("error:") && t.contains("actions.jsonl"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");
}

/// Issue 10 (1), the auditor's path through the binary: a record holding a ballot forged by a
/// voter who knew the old batch weights (Enc(1000)/Enc(−999), signature cancelling the residual)
/// fails `tabella verify`, which names that ballot.
#[test]
fn verify_rejects_a_forged_ballot() {
    use tabella_election::action::Envelope;
    use tabella_election::batch::forgery::{old_single_weights, Scenario};
    use tabella_election::record::Record;

    let mut sc = Scenario::open(1, 31).unwrap();
    let forged = sc.forged_ballot(0, &[], old_single_weights).unwrap();
    let receipt = forged.hash().to_string();
    let mut log = sc.log.clone();
    log.push(Envelope::Ballot(forged));
    let record = Record::from_state(log, &sc.state).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in record.to_files().unwrap() {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let out = tabella(&["verify", "--json", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ballot proofs and signatures")
        .unwrap()
        .clone();
    let failures = check["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{check}");
    assert!(
        failures[0].as_str().unwrap().contains(&receipt[..16]),
        "the failure names the ballot: {check}"
    );
}

#[test]
fn user_errors_are_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    for (args, needle) in [
        (vec!["verify", missing.to_str().unwrap()], "not a directory"),
        (
            vec!["election", "simulate", "--voters", "0", "--quiet"],
            "--voters",
        ),
        (
            vec![
                "election",
                "simulate",
                "--trustees",
                "2",
                "--threshold",
                "3",
                "--quiet",
            ],
            "--threshold",
        ),
        (vec!["verify", tmp.path().to_str().unwrap()], "record.json"),
        (
            vec!["verify", "--receipt", "zz", tmp.path().to_str().unwrap()],
            "record.json",
        ),
    ] {
        let o = tabella(&args);
        assert!(!o.status.success(), "{args:?} should fail");
        let t = text(&o);
        assert!(t.contains(needle), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
        assert_eq!(
            t.trim().lines().count(),
            1,
            "{args:?} should print one line: {t}"
        );
    }
}

#[test]
fn receipt_check() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("record");
    simulate(&rec, "6");
    let log = std::fs::read_to_string(rec.join("actions.jsonl")).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("\"type\":\"ballot\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let payload = v["payload"].as_str().unwrap();
    // The receipt is SHA-256("tabella/ballot/v1" || 0 || payload).
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"tabella/ballot/v1");
    h.update([0u8]);
    h.update(payload.as_bytes());
    let receipt = hex::encode(h.finalize());
    let o = tabella(&["verify", "--receipt", &receipt, rec.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("receipt {receipt}: Counted")),
        "{}",
        text(&o)
    );
    let o = tabella(&[
        "verify",
        "--receipt",
        &"00".repeat(32),
        rec.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("Missing"));
}

#[test]
fn bench_crypto_json_reports_every_figure() {
    let o = tabella(&["bench", "crypto", "--json", "--scale", "0.02"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for needed in [
        "elgamal_encrypt",
        "bit_proof_prove",
        "bit_proof_verify",
        "bit_proof_batch_verify",
        "ballot10_encrypt_prove",
        "ballot10_verify",
        "ballot10_batch_verify",
        "partial_decrypt_prove",
        "paillier2048_encrypt",
        "paillier2048_decrypt",
        "paillier_membership10_prove",
        "paillier_membership10_verify",
        "bulletproof32_prove",
        "bulletproof32_verify",
    ] {
        assert!(names.contains(&needed), "missing {needed} in {names:?}");
    }
    for f in v["figures"].as_array().unwrap() {
        assert!(f["micros_per_op"].as_f64().unwrap() > 0.0);
    }
}
