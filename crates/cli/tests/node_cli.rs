//! The node commands and the demo through the real `tabella` binary, on 127.0.0.1 only.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tabella(args: &[&str], cwd: &std::path::Path) -> Output {
    support::tabella(cwd, &[], args)
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
    let init = tabella(
        &[
            "node", "init", "--dev", "--home", "n", "--api", &api, "--p2p", &p2p,
        ],
        dir.path(),
    );
    assert!(init.status.success(), "{}", support::text(&init));
    let t = support::text(&init);
    let genesis = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("genesis hash"))
        .map(|s| s.trim().to_string())
        .expect("init prints the genesis hash");
    // A second init refuses to overwrite.
    let again = tabella(&["node", "init", "--dev", "--home", "n"], dir.path());
    assert!(!again.status.success());
    assert!(
        support::text(&again).contains("already exists"),
        "{}",
        support::text(&again)
    );

    let node = Killed(
        Command::new(support::BIN)
            .args(["node", "run", "--home", "n"])
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
    let twice = tabella(&["node", "run", "--home", "n"], dir.path());
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
