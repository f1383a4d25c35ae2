//! `scripts/quickstart.sh` run verbatim with bash against a dev node: it must end with the
//! verifier's OK.

mod support;

use std::process::Command;

#[test]
fn quickstart_script_runs_a_whole_election_and_verifies() {
    let node = support::start_node();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/quickstart.sh"))
        .current_dir(&root)
        .env("TABELLA", support::BIN)
        .env("TABELLA_NODE", &node.url)
        .env("TABELLA_KDF_FAST", "1")
        .env_remove("TABELLA_KEYSTORE")
        .output()
        .unwrap();
    let t = support::text(&out);
    assert!(out.status.success(), "{t}");
    // The verdict ends standard output (standard error carries the TABELLA_KDF_FAST warnings).
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.trim_end().lines().last().unwrap_or_default();
    assert!(t.contains("VERDICT: OK"), "{t}");
    assert!(
        stdout.trim_end().ends_with("the record verifies") || last.contains("OK"),
        "{t}"
    );
    assert!(t.contains("warning: TABELLA_KDF_FAST=1: sealing secrets with a WEAK key derivation"));
    // Bob voted twice: 5 ballots accepted, 4 counted; his first receipt is replaced.
    assert!(t.contains("on the chain and counted"), "{t}");
    assert!(t.contains("(4 ballots counted)"), "{t}");
    // The registrar's notes were queued, then enabled in one final batch.
    assert!(t.contains("note queued for"), "{t}");
    assert!(
        t.contains("final batch of 3 voter keys enabled") && t.contains("registration is closed"),
        "{t}"
    );
    // The lone booth voter at table 1 (and the 3 remote voters) are below the minimum group
    // size of 5: merged, published overall only, never as a Table 1 column.
    assert!(
        t.contains("remote voters + Table 1 counted together as \"other (merged)\" (4 ballots)"),
        "{t}"
    );
    let header = t
        .lines()
        .find(|l| l.trim_start().starts_with("overall"))
        .expect("a results header");
    assert!(!header.contains("Table 1"), "{header}");
}

#[test]
fn readme_shows_the_quickstart_script_verbatim() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = std::fs::read_to_string(root.join("scripts/quickstart.sh")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let body = &script[script.find("step \"keys").expect("script body")..];
    let marker = "<!-- quickstart:begin -->\n```sh\n";
    let start = readme.find(marker).expect("README marker") + marker.len();
    let end = readme
        .find("```\n<!-- quickstart:end -->")
        .expect("README end marker");
    assert_eq!(
        readme[start..end].trim_end(),
        body.trim_end(),
        "README quickstart drifted from scripts/quickstart.sh"
    );
}
