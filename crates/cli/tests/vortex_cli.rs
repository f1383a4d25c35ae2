//! `tabella vortex sim` and `tabella bench vortex` through the real binary: a small network
//! delivers everything and rejects every replay; bad arguments get clear errors.

mod support;

fn run(args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = support::tabella(dir.path(), &[], args);
    (o.status.success(), support::text(&o))
}

#[test]
fn a_small_simulated_network_delivers_and_rejects_every_replay() {
    let (ok, t) = run(&[
        "vortex",
        "sim",
        "--nodes",
        "5",
        "--messages",
        "8",
        "--redundancy",
        "2/3",
        "--droppers",
        "0",
        "--seed",
        "3",
        "--json",
    ]);
    assert!(ok, "{t}");
    let start = t.find('{').unwrap();
    let v: serde_json::Value = serde_json::from_str(&t[start..]).unwrap();
    assert_eq!(v["delivered"], 8, "{t}");
    assert_eq!(v["identities"], 20, "{t}");
    assert_eq!(v["replays_accepted"], 0, "{t}");
    assert!(v["replays"].as_u64().unwrap() > 20, "{t}");

    let (ok, t) = run(&[
        "vortex",
        "sim",
        "--nodes",
        "4",
        "--messages",
        "3",
        "--redundancy",
        "1/1",
        "--droppers",
        "0",
    ]);
    assert!(ok, "{t}");
    assert!(t.contains("delivered    3 of 3"), "{t}");
    // Without redundancy, a path through a dropping node loses its message: reported, not hidden.
    let (ok, t) = run(&[
        "vortex",
        "sim",
        "--nodes",
        "4",
        "--messages",
        "3",
        "--redundancy",
        "1/1",
    ]);
    assert!(ok, "{t}");
    assert!(t.contains("lost 3"), "{t}");
}

#[test]
fn bad_simulation_arguments_are_refused_with_reasons() {
    for (args, says) in [
        (vec!["--redundancy", "4/2"], "need 1 ≤ k ≤ n ≤ 64"),
        (vec!["--redundancy", "two"], "must look like k/n"),
        (vec!["--redundancy", "3/3"], "n must exceed k"),
        (
            vec!["--nodes", "3", "--droppers", "2"],
            "fewer than two honest nodes",
        ),
        (vec!["--hops", "0"], "--hops must be in 1..=8"),
        (vec!["--puzzle-bits", "30"], "minutes per identity"),
    ] {
        let mut all = vec!["vortex", "sim"];
        all.extend(args.iter());
        let (ok, t) = run(&all);
        assert!(!ok, "{args:?} was accepted: {t}");
        assert!(t.contains(says), "{args:?}: {t}");
    }
    let (ok, t) = run(&["bench", "vortex", "--scale", "0"]);
    assert!(!ok && t.contains("--scale must be in (0, 100]"), "{t}");
}

/// `tabella vortex demo`: five nodes on the embedded transport, a message and its answer, and a
/// ballot cast through vortex into a one-node ledger election whose record verifies. The
/// ledger's log shows the ballot arriving from the gateway's address (127.0.0.2), and from no
/// other.
#[test]
fn the_demo_casts_a_ballot_through_vortex() {
    let dir = tempfile::tempdir().unwrap();
    let o = support::tabella(
        dir.path(),
        &[("TABELLA_LOG", "tabella_node::access=debug")],
        &["vortex", "demo", "--dir", "d", "--timeout", "240"],
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{out}\n{err}");
    for needle in [
        "received: \"Meet at the library",
        "received the answer",
        "the receipt came back through the reply block",
        "the record verifies: 24 ballots accepted and counted",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
    let tx = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("ballot transaction "))
        .expect("the demo names the ballot's transaction")
        .trim()
        .to_string();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(&tx)).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("from=127.0.0.2"), "{}", lines[0]);
    // Every mail the nodes exchanged is an ordinary MIME mail.
    let mail = dir.path().join("d/vortex/mail");
    let mut count = 0;
    for node in std::fs::read_dir(&mail).unwrap() {
        let md = tabella_vortex_mail::maildir::Maildir::open(node.unwrap().path()).unwrap();
        for f in md.all_files().unwrap() {
            let parts = tabella_vortex_mail::carrier::parts(&std::fs::read(f).unwrap()).unwrap();
            assert_eq!(parts.len(), 2);
            count += 1;
        }
    }
    assert!(count > 30, "{count}");
}

/// Four `tabella vortex node run` processes on `tabella vortex mailserver`: identities, messages
/// with redundancy 2/4 over 3 hops; one node is killed with SIGKILL while messages are on
/// their way and restarted: everything arrives, once.
#[test]
fn node_processes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut net = support::VortexNet::start(d, 4, None);
    // Refused: a second init in the same home; a bad blending.
    let o = support::tabella(
        d,
        &[],
        &[
            "vortex",
            "node",
            "init",
            "--home",
            "h1",
            "--address",
            "x@y",
            "--insecure-plaintext-key",
        ],
    );
    support::fails_with(&o, "already holds a node");
    let o = support::tabella(
        d,
        &[],
        &[
            "vortex",
            "node",
            "init",
            "--home",
            "z",
            "--address",
            "x@y",
            "--blending",
            "rot13",
            "--insecure-plaintext-key",
        ],
    );
    support::fails_with(&o, "expected plain:OFFSET or f5:PASSPHRASE");
    // A remote mail server is refused (no TLS yet).
    let o = support::tabella(
        d,
        &[],
        &[
            "vortex",
            "node",
            "run",
            "--home",
            "h1",
            "--peers",
            "peers.json",
            "--smtp",
            "192.0.2.1:25",
            "--maildir",
            "m",
        ],
    );
    support::fails_with(&o, "only a mail server on this machine");
    let texts: Vec<String> = (0..6).map(|m| format!("letter {m} from n1")).collect();
    for t in &texts {
        std::fs::write(d.join("m.txt"), t).unwrap();
        let o = support::tabella(
            d,
            &[],
            &[
                "vortex",
                "send",
                "--home",
                "h1",
                "--to",
                "n3@vortex.test",
                "--delay",
                "1-3",
                "--with-reply",
                "m.txt",
            ],
        );
        assert!(o.status.success(), "{}", support::text(&o));
    }
    // n2 relays some of these: kill it hard while they are in flight, then bring it back.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    net.nodes[1].kill_9();
    std::thread::sleep(std::time::Duration::from_secs(2));
    net.nodes[1] = net.node(d, 2, 4);
    let inbox = || {
        let o = support::tabella(d, &[], &["vortex", "inbox", "--home", "h3", "--json"]);
        assert!(o.status.success(), "{}", support::text(&o));
        serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout).unwrap()
    };
    support::wait_for("all letters", 120, || {
        let got = inbox();
        texts.iter().all(|t| got.iter().any(|l| l["text"] == *t))
    });
    let got = inbox();
    assert_eq!(got.len(), texts.len(), "each letter once: {got:?}");
    let log2 = std::fs::read_to_string(d.join("h2/node.log")).unwrap();
    assert_eq!(log2.matches("started: ").count(), 2, "{log2}");
    // n3 answers the first letter through its reply block.
    let reply = got[0]["reply_block"]
        .as_str()
        .expect("a reply block")
        .to_string();
    std::fs::write(d.join("a.txt"), "answer").unwrap();
    let o = support::tabella(
        d,
        &[],
        &[
            "vortex",
            "send",
            "--home",
            "h3",
            "--reply-block",
            &reply,
            "a.txt",
        ],
    );
    assert!(o.status.success(), "{}", support::text(&o));
    support::wait_for("the answer", 60, || {
        let o = support::tabella(d, &[], &["vortex", "inbox", "--home", "h1", "--json"]);
        String::from_utf8_lossy(&o.stdout).contains("\"answer\"")
    });
    // Bad input: an unknown recipient, a corrupt reply block, a home that is not a node.
    let o = support::tabella(
        d,
        &[],
        &[
            "vortex",
            "send",
            "--home",
            "h1",
            "--reply-block",
            "m.txt",
            "a.txt",
        ],
    );
    support::fails_with(&o, "is not a reply block");
    let o = support::tabella(d, &[], &["vortex", "inbox", "--home", "nowhere"]);
    support::fails_with(&o, "nowhere is not a vortex node home");
}
