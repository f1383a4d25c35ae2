//! The role commands' user errors through the real binary: each prints one clear line and exits
//! non-zero, without a panic; and a registration + vote walked through by hand.

mod support;

use support::{fails_with, manifest_e1, official_keys, start_node, tabella, text, VortexNet, PW};

/// The identity validator was called `validator` (key role, subcommand, manifest option) before it
/// was told apart from the ledger's validators: the old names still work.
#[test]
fn identity_validator_answers_to_its_old_names() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let run = |args: &[&str]| {
        let o = tabella(p, &[PW], args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    for args in official_keys("validator") {
        let out = run(&args);
        if args[5] == "v" {
            assert!(out.contains("created identity-validator key 'v'"), "{out}");
        }
    }
    // A keystore entry written before the rename.
    let entry = p.join("tabella-keys/v.key.json");
    let new = std::fs::read_to_string(&entry).unwrap();
    assert!(new.contains("\"identity_validator\""), "{new}");
    std::fs::write(
        &entry,
        new.replace("\"identity_validator\"", "\"validator\""),
    )
    .unwrap();
    run(&manifest_e1("--validator", &[]));
    // The wrong role is named with the new name.
    let o = tabella(
        p,
        &[PW],
        &[
            "identity-validator",
            "issue",
            "--election",
            "e1",
            "--as",
            "r",
            "--identity",
            "x",
            "--request",
            "q.json",
            "--out",
            "o.json",
        ],
    );
    fails_with(
        &o,
        "key 'r' in ./tabella-keys is a registrar key, not an identity-validator key",
    );
    let help = run(&["--help"]);
    assert!(help.contains("[alias: validator]"), "{help}");
    run(&["validator", "--help"]);
}

#[test]
fn keystore_mistakes_without_a_node() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let ok = tabella(
        p,
        &[PW],
        &["keys", "new", "--role", "trustee", "--name", "t1"],
    );
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(p.join("tabella-keys/t1.key.sealed").exists());
    let list = tabella(p, &[], &["keys", "list"]);
    assert!(text(&list).contains("t1") && text(&list).contains("trustee"));

    // Missing key.
    let o = tabella(
        p,
        &[PW],
        &["trustee", "dkg", "--election", "e1", "--as", "nobody"],
    );
    fails_with(
        &o,
        "no key 'nobody' in ./tabella-keys; create it with `tabella keys new",
    );
    // Wrong passphrase.
    let o = tabella(
        p,
        &[("TABELLA_PASSPHRASE", "wrong")],
        &["trustee", "dkg", "--election", "e1", "--as", "t1"],
    );
    fails_with(
        &o,
        "wrong passphrase for key 't1' in ./tabella-keys (or the file is corrupted)",
    );
    // No passphrase at all.
    let o = tabella(
        p,
        &[],
        &["trustee", "dkg", "--election", "e1", "--as", "t1"],
    );
    fails_with(&o, "set TABELLA_PASSPHRASE or pass --passphrase-file");
    // The key of another role.
    let o = tabella(
        p,
        &[PW],
        &["election", "close", "--election", "e1", "--as", "t1"],
    );
    fails_with(&o, "is a trustee key, not a council key");
    // Duplicate name.
    let o = tabella(
        p,
        &[PW],
        &["keys", "new", "--role", "council", "--name", "t1"],
    );
    fails_with(&o, "already exists");
    // Malformed file.
    std::fs::write(p.join("bad.json"), "{not json").unwrap();
    let c = tabella(
        p,
        &[PW],
        &["keys", "new", "--role", "council", "--name", "c"],
    );
    assert!(c.status.success());
    let o = tabella(
        p,
        &[PW],
        &["election", "create", "--manifest", "bad.json", "--as", "c"],
    );
    fails_with(&o, "bad.json is not a valid manifest file");
    // Node unreachable.
    let o = tabella(
        p,
        &[],
        &[
            "election",
            "status",
            "--election",
            "e1",
            "--node",
            "http://127.0.0.1:1",
        ],
    );
    fails_with(&o, "cannot reach the node at http://127.0.0.1:1");
    // Bad election id.
    let o = tabella(p, &[], &["election", "status", "--election", "Bad Id"]);
    fails_with(&o, "--election");
}

#[test]
fn node_errors_and_a_voter_registered_by_hand() {
    let node = start_node();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let env = [PW, ("TABELLA_NODE", node.url.as_str())];
    let run = |args: &[&str]| {
        let o = tabella(p, &env, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        text(&o)
    };
    let fail = |args: &[&str], needle: &str| fails_with(&tabella(p, &env, args), needle);

    // Unknown election.
    fail(
        &["election", "status", "--election", "nope"],
        "unknown election 'nope'",
    );

    for args in official_keys("identity-validator") {
        run(&args);
    }
    run(&manifest_e1(
        "--identity-validator",
        &["--voter", "ann@example.org"],
    ));
    // The manifest names no identity in clear.
    let m = std::fs::read_to_string(p.join("manifest.json")).unwrap();
    assert!(!m.contains("ann@example.org"));
    run(&[
        "election",
        "create",
        "--manifest",
        "manifest.json",
        "--as",
        "c",
    ]);
    // Wrong phase: the node's rejection.
    fail(
        &["election", "close", "--election", "e1", "--as", "c"],
        "close refused: wrong phase: close is not allowed while the election is in setup",
    );
    fail(
        &["trustee", "dkg", "--election", "e1", "--as", "t1"],
        "has not started",
    );
    // Registration can start in the setup phase; a non-whitelisted identity is refused.
    run(&[
        "voter",
        "register",
        "--election",
        "e1",
        "--wallet",
        "w",
        "--identity",
        "ann@example.org",
    ]);
    // (`validator` is the identity validator's old command name, still accepted.)
    fail(
        &[
            "validator",
            "issue",
            "--election",
            "e1",
            "--as",
            "v",
            "--identity",
            "bob",
            "--request",
            "request.json",
            "--out",
            "resp.json",
        ],
        "the request names \"ann@example.org\" but --identity is \"bob\"",
    );
    fail(
        &[
            "validator",
            "issue",
            "--election",
            "e1",
            "--as",
            "v",
            "--identity",
            "ann@example.org",
            "--request",
            "manifest.json",
            "--out",
            "resp.json",
        ],
        "is not a valid registration request file",
    );
    run(&[
        "identity-validator",
        "issue",
        "--election",
        "e1",
        "--as",
        "v",
        "--identity",
        "ann@example.org",
        "--request",
        "request.json",
        "--out",
        "resp.json",
    ]);
    // A second validation of the same identity is refused by the node.
    run(&[
        "voter",
        "register",
        "--election",
        "e1",
        "--wallet",
        "w2",
        "--identity",
        "ann@example.org",
    ]);
    fail(
        &[
            "validator",
            "issue",
            "--election",
            "e1",
            "--as",
            "v",
            "--identity",
            "ann@example.org",
            "--request",
            "request.json",
            "--out",
            "resp2.json",
        ],
        "validate voter refused: registration",
    );
    run(&[
        "voter",
        "register",
        "--election",
        "e1",
        "--wallet",
        "w",
        "--response",
        "resp.json",
    ]);
    let note = std::fs::read_to_string(p.join("note.json")).unwrap();
    assert!(
        !note.contains("ann@example.org"),
        "the note must not carry the identity"
    );
    // The registrar queues the note: one key alone would be enabled right after its
    // validation, linking the two on the chain.
    assert!(run(&[
        "registrar",
        "enable",
        "--election",
        "e1",
        "--as",
        "r",
        "--note",
        "note.json",
    ])
    .contains("note queued for 'e1' (1 of the 5 a batch needs)"));
    fail(
        &[
            "registrar",
            "enable",
            "--election",
            "e1",
            "--as",
            "r",
            "--note",
            "note.json",
        ],
        "this note is already queued",
    );
    fail(
        &["registrar", "flush", "--election", "e1", "--as", "r"],
        "1 notes queued, fewer than the 5 of a batch",
    );
    assert!(run(&[
        "registrar",
        "flush",
        "--election",
        "e1",
        "--as",
        "r",
        "--close-registration",
    ])
    .contains("registration is closed"));
    // The same token cannot be spent twice.
    fail(
        &[
            "registrar",
            "enable",
            "--election",
            "e1",
            "--as",
            "r",
            "--note",
            "note.json",
        ],
        "this registration token was already used",
    );
    // Voting before the election is open.
    fail(
        &[
            "voter",
            "vote",
            "--election",
            "e1",
            "--wallet",
            "w",
            "--choice",
            "1=Ada",
        ],
        "voting is not open",
    );
    run(&["election", "open", "--election", "e1", "--as", "c"]);
    fail(
        &["election", "open", "--election", "e1", "--as", "c"],
        "not finished",
    );
    // Round 0: a key for this ceremony only, sealed until the key share is.
    let ceremony_key = p.join("tabella-keys/t1_e1.ceremony.sealed");
    assert!(run(&["trustee", "dkg", "--election", "e1", "--as", "t1"]).contains("round 0 posted"));
    assert!(ceremony_key.exists());
    // Without the ceremony key's secret the trustee cannot go on, and says why.
    std::fs::rename(&ceremony_key, p.join("ceremony.sealed.bak")).unwrap();
    fail(
        &["trustee", "dkg", "--election", "e1", "--as", "t1"],
        "the secret of t1's ceremony key for 'e1' is not in",
    );
    std::fs::rename(p.join("ceremony.sealed.bak"), &ceremony_key).unwrap();
    assert!(run(&["trustee", "dkg", "--election", "e1", "--as", "t1"]).contains("round 1 posted"));
    assert!(run(&["trustee", "dkg", "--election", "e1", "--as", "t1"]).contains("round 2 posted"));
    assert!(run(&["trustee", "dkg", "--election", "e1", "--as", "t1"]).contains("complete"));
    // Forward secrecy: once the key share is sealed, the ceremony key is gone from the keystore.
    assert!(!ceremony_key.exists());
    assert!(!p.join("tabella-keys/t1_e1.ceremony.json").exists());
    assert!(p.join("tabella-keys/t1_e1.share.sealed").exists());
    run(&["election", "open", "--election", "e1", "--as", "c"]);
    fail(
        &[
            "voter",
            "vote",
            "--election",
            "e1",
            "--wallet",
            "w",
            "--choice",
            "1=Ada",
        ],
        "no choice for contest 2",
    );
    // Cast or audit: the voter audits a first encryption (spoiled: nothing is signed or sent)
    // and checks it against the node, then casts a fresh one.
    let audit = run(&[
        "voter",
        "vote",
        "--election",
        "e1",
        "--wallet",
        "w",
        "--choice",
        "1=Ada",
        "--choice",
        "2=Turing",
        "--choice",
        "3=Labs,Library,Sports",
        "--audit-out",
        "audit.json",
    ]);
    assert!(audit.contains("NOT cast: spoiled for audit"), "{audit}");
    let tracker = audit
        .lines()
        .find_map(|l| l.strip_prefix("ballot encrypted with tracker "))
        .and_then(|l| l.split(',').next())
        .unwrap()
        .to_string();
    let checked = run(&[
        "verify-ballot",
        "audit.json",
        "--node",
        node.url.as_str(),
        "--tracker",
        &tracker,
    ]);
    assert!(
        checked.contains("this ballot encrypts exactly these choices")
            && checked.contains(": Ada")
            && checked.contains("1. Labs, 2. Library, 3. Sports"),
        "{checked}"
    );
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.join("audit.json")).unwrap()).unwrap();
    v["choices"][0]["single"] = serde_json::json!(1);
    std::fs::write(p.join("flipped.json"), v.to_string()).unwrap();
    let bad = tabella(
        p,
        &env,
        &["verify-ballot", "flipped.json", "--node", node.url.as_str()],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("AUDIT FAILED"), "{}", text(&bad));
    // The spoiled ballot never reached the chain.
    fail(
        &[
            "voter",
            "receipt",
            "--election",
            "e1",
            "--receipt",
            &tracker,
        ],
        "is not on the chain",
    );
    let out = run(&[
        "voter",
        "vote",
        "--election",
        "e1",
        "--wallet",
        "w",
        "--choice",
        "1=Ada",
        "--choice",
        "2=Turing",
        "--choice",
        "3=Labs,Library,Sports",
    ]);
    let receipt = out
        .lines()
        .find_map(|l| l.strip_prefix("ballot accepted; receipt "))
        .unwrap()
        .to_string();
    assert!(run(&[
        "voter",
        "receipt",
        "--election",
        "e1",
        "--receipt",
        &receipt
    ])
    .contains("counted"));
    // The voter votes again, through vortex this time: three hops over mail to a gateway that
    // submits the ballot to the node (connecting from 127.0.0.2) and sends the receipt back
    // through a reply block. The last ballot counts.
    let vortex = VortexNet::start(p, 4, Some((node.url.as_str(), "127.0.0.2")));
    let out = run(&[
        "voter",
        "vote",
        "--election",
        "e1",
        "--wallet",
        "w",
        "--choice",
        "1=Grace",
        "--choice",
        "2=Hopper",
        "--choice",
        "3=Library,Labs,Sports",
        "--via-vortex",
        "h1",
        "--gateway",
        "n4@vortex.test",
        "--vortex-delay",
        "0-2",
        "--vortex-timeout",
        "240",
    ]);
    assert!(
        out.contains("the gateway n4@vortex.test reports the ballot committed"),
        "{out}"
    );
    let receipt2 = out
        .lines()
        .find_map(|l| l.strip_prefix("ballot accepted; receipt "))
        .unwrap()
        .to_string();
    assert!(run(&[
        "voter",
        "receipt",
        "--election",
        "e1",
        "--receipt",
        &receipt2
    ])
    .contains("on the chain and counted"));
    assert!(run(&[
        "voter",
        "receipt",
        "--election",
        "e1",
        "--receipt",
        &receipt
    ])
    .contains("replaced by a later ballot"));
    let gateway_log = std::fs::read_to_string(p.join("h4/node.log")).unwrap();
    assert!(
        gateway_log.contains("carries a ledger transaction"),
        "{gateway_log}"
    );
    drop(vortex);
    fail(
        &[
            "voter",
            "receipt",
            "--election",
            "e1",
            "--receipt",
            &"0".repeat(64),
        ],
        "is not on the chain",
    );
    fail(
        &[
            "table",
            "authorize",
            "--election",
            "e1",
            "--as",
            "j",
            "--table",
            "2",
            "--out",
            "b.json",
        ],
        "has no table 2",
    );
    fail(
        &["trustee", "decrypt", "--election", "e1", "--as", "t1"],
        "decryption happens after",
    );
    fail(
        &["election", "results", "--election", "e1"],
        "no results yet",
    );
}
