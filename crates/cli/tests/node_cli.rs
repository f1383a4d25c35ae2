//! The node commands and the demo through the real `tabella` binary, on 127.0.0.1 only.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tabella(args: &[&str], cwd: &std::path::Path) -> Output {
    support::tabella(cwd, &[], args)
}

/// With the node passphrase in the environment.
fn tabella_pw(args: &[&str], cwd: &std::path::Path) -> Output {
    support::tabella(cwd, &[support::NODE_PW], args)
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_runs_a_whole_election_on_the_embedded_node_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = tabella(&["demo", "--voters", "40", "--quiet"], dir.path());
    let t = support::text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("VERDICT: OK"), "{t}");
    assert!(
        t.contains("Ledger:") && t.contains("blocks committed"),
        "{t}"
    );
    assert!(t.contains("Table 1") && t.contains("remote voters"), "{t}");
    assert!(t.contains("Light client: block"), "{t}");
    assert!(dir
        .path()
        .join("tabella-demo/record/actions.jsonl")
        .exists());
    // The written record verifies again on its own.
    let v = tabella(&["verify", "tabella-demo/record"], dir.path());
    assert!(v.status.success(), "{}", support::text(&v));
}

#[test]
fn node_init_run_status_and_light_client() {
    let dir = tempfile::tempdir().unwrap();
    let api = format!("127.0.0.1:{}", support::free_port());
    let p2p = format!("127.0.0.1:{}", support::free_port());
    let init = tabella_pw(
        &[
            "node", "init", "--dev", "--home", "n", "--api", &api, "--p2p", &p2p,
        ],
        dir.path(),
    );
    assert!(init.status.success(), "{}", support::text(&init));
    let t = support::text(&init);
    assert!(t.contains("(sealed)"), "{t}");
    let genesis = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("genesis hash"))
        .map(|s| s.trim().to_string())
        .expect("init prints the genesis hash");
    // A second init refuses to overwrite.
    let again = tabella_pw(&["node", "init", "--dev", "--home", "n"], dir.path());
    assert!(!again.status.success());
    assert!(
        support::text(&again).contains("already exists"),
        "{}",
        support::text(&again)
    );

    let node = Killed(
        Command::new(support::BIN)
            .args(["node", "run", "--home", "n"])
            .env(support::NODE_PW.0, support::NODE_PW.1)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://{api}");
    let start = Instant::now();
    loop {
        let s = tabella(&["node", "status", "--node", &url], dir.path());
        if s.status.success() {
            assert!(
                support::text(&s).contains(&genesis),
                "{}",
                support::text(&s)
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            support::text(&s)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The light client accepts the node's chain from the genesis hash, and refuses a wrong one.
    let ok = tabella(
        &["chain", "verify", "--genesis", &genesis, "--node", &url],
        dir.path(),
    );
    assert!(ok.status.success(), "{}", support::text(&ok));
    assert!(
        support::text(&ok).contains("OK: block "),
        "{}",
        support::text(&ok)
    );
    let wrong = tabella(
        &[
            "chain",
            "verify",
            "--genesis",
            &"ab".repeat(32),
            "--node",
            &url,
        ],
        dir.path(),
    );
    assert!(!wrong.status.success());
    assert!(
        support::text(&wrong).contains("does NOT verify"),
        "{}",
        support::text(&wrong)
    );
    // A second node on the same home is refused with a clear message.
    let twice = tabella_pw(&["node", "run", "--home", "n"], dir.path());
    assert!(!twice.status.success());
    let t2 = support::text(&twice);
    assert_eq!(t2.trim().lines().count(), 1, "{t2}");
    drop(node);

    // User errors: one clear line, non-zero exit.
    let none = tabella(&["node", "run", "--home", "missing"], dir.path());
    assert!(!none.status.success());
    assert!(
        support::text(&none).contains("tabella node init --dev"),
        "{}",
        support::text(&none)
    );
    let dead = tabella(
        &[
            "node",
            "status",
            "--node",
            &format!("http://127.0.0.1:{}", support::free_port()),
        ],
        dir.path(),
    );
    assert!(!dead.status.success());
    let td = support::text(&dead);
    assert!(td.contains("cannot reach the node"), "{td}");
    assert_eq!(td.trim().lines().count(), 1, "{td}");
}

/// Waits until the node at `url` answers.
fn wait_up(url: &str, dir: &std::path::Path) {
    let start = Instant::now();
    loop {
        let s = tabella(&["node", "status", "--node", url], dir);
        if s.status.success() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            support::text(&s)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_validator_key_is_sealed_and_an_unattended_start_needs_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // No passphrase: init refuses and says what to do.
    support::fails_with(
        &tabella(&["node", "init", "--dev", "--home", "n"], p),
        "no node passphrase to seal the validator key: set TABELLA_NODE_PASSPHRASE or pass --passphrase-file FILE (or, for a throw-away development node, --insecure-plaintext-key)",
    );
    let init = tabella_pw(&["node", "init", "--dev", "--home", "n"], p);
    assert!(init.status.success(), "{}", support::text(&init));
    let sealed = std::fs::read_to_string(p.join("n/validator.key")).unwrap();
    assert!(sealed.contains("argon2id chacha20poly1305"), "{sealed}");
    assert!(!p.join("n/validator.insecure-key").exists());
    // Without the passphrase, or with a wrong one, the node does not start: one clear line.
    support::fails_with(
        &tabella(&["node", "run", "--home", "n"], p),
        "is sealed; give its passphrase with TABELLA_NODE_PASSPHRASE or --passphrase-file FILE",
    );
    support::fails_with(
        &support::tabella(
            p,
            &[("TABELLA_NODE_PASSPHRASE", "guess")],
            &["node", "run", "--home", "n"],
        ),
        "wrong node passphrase for n/validator.key",
    );
    // A passphrase file others can read is refused.
    let pw = p.join("pw");
    std::fs::write(&pw, "node passphrase\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
        support::fails_with(
            &tabella(
                &["node", "run", "--home", "n", "--passphrase-file", "pw"],
                p,
            ),
            "is accessible to other users (mode 644); make it private with `chmod 600 pw`",
        );
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // The right passphrase from a private file: an unattended start.
    let api = format!("127.0.0.1:{}", support::free_port());
    let p2p = format!("127.0.0.1:{}", support::free_port());
    let node = Killed(
        Command::new(support::BIN)
            .args(["node", "run", "--home", "n", "--passphrase-file", "pw"])
            .args(["--api", &api, "--p2p", &p2p])
            .env_remove("TABELLA_NODE_PASSPHRASE")
            .current_dir(p)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_up(&format!("http://{api}"), p);
    drop(node);
}

#[test]
fn insecure_keys_are_explicit_and_old_plaintext_keys_are_sealed_on_first_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let init = tabella(
        &[
            "node",
            "init",
            "--dev",
            "--home",
            "n",
            "--insecure-plaintext-key",
        ],
        p,
    );
    let t = support::text(&init);
    assert!(init.status.success(), "{t}");
    assert!(t.contains("UNENCRYPTED"), "{t}");
    assert!(p.join("n/validator.insecure-key").exists());
    assert!(!p.join("n/validator.key").exists());
    // A home from an older tabella: the bare hex key in validator.key.
    std::fs::rename(
        p.join("n/validator.insecure-key"),
        p.join("n/validator.key"),
    )
    .unwrap();
    support::fails_with(
        &tabella(&["node", "run", "--home", "n"], p),
        "holds the validator key unencrypted (a home from an older tabella); seal it under a passphrase: set TABELLA_NODE_PASSPHRASE",
    );
    let api = format!("127.0.0.1:{}", support::free_port());
    let p2p = format!("127.0.0.1:{}", support::free_port());
    let log = std::fs::File::create(p.join("run.log")).unwrap();
    let node = Killed(
        Command::new(support::BIN)
            .args(["node", "run", "--home", "n", "--api", &api, "--p2p", &p2p])
            .env(support::NODE_PW.0, support::NODE_PW.1)
            .current_dir(p)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    wait_up(&format!("http://{api}"), p);
    drop(node);
    let log = std::fs::read_to_string(p.join("run.log")).unwrap();
    assert!(
        log.contains("sealed the unencrypted validator key n/validator.key"),
        "{log}"
    );
    let sealed = std::fs::read_to_string(p.join("n/validator.key")).unwrap();
    assert!(sealed.contains("argon2id chacha20poly1305"), "{sealed}");
    // From now on it needs the passphrase.
    support::fails_with(
        &tabella(&["node", "run", "--home", "n"], p),
        "is sealed; give its passphrase",
    );
}
