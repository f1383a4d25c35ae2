//! The node commands and the demo through the real `tabella` binary, on 127.0.0.1 only.

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tabella(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tabella"))
        .args(args)
        .current_dir(cwd)
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    let t = text(&out);
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
    assert!(v.status.success(), "{}", text(&v));
}

#[test]
fn node_init_run_status_and_light_client() {
    let dir = tempfile::tempdir().unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let p2p = format!("127.0.0.1:{}", free_port());
    let init = tabella(
        &[
            "node", "init", "--dev", "--home", "n", "--api", &api, "--p2p", &p2p,
        ],
        dir.path(),
    );
    assert!(init.status.success(), "{}", text(&init));
    let t = text(&init);
    let genesis = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("genesis hash"))
        .map(|s| s.trim().to_string())
        .expect("init prints the genesis hash");
    // A second init refuses to overwrite.
    let again = tabella(&["node", "init", "--dev", "--home", "n"], dir.path());
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    let node = Killed(
        Command::new(env!("CARGO_BIN_EXE_tabella"))
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
            assert!(text(&s).contains(&genesis), "{}", text(&s));
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{}", text(&s));
        std::thread::sleep(Duration::from_millis(100));
    }
    // The light client accepts the node's chain from the genesis hash, and refuses a wrong one.
    let ok = tabella(
        &["chain", "verify", "--genesis", &genesis, "--node", &url],
        dir.path(),
    );
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("OK: block "), "{}", text(&ok));
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
    assert!(text(&wrong).contains("does NOT verify"), "{}", text(&wrong));
    // A second node on the same home is refused with a clear message.
    let twice = tabella(&["node", "run", "--home", "n"], dir.path());
    assert!(!twice.status.success());
    let t2 = text(&twice);
    assert_eq!(t2.trim().lines().count(), 1, "{t2}");
    drop(node);

    // User errors: one clear line, non-zero exit.
    let none = tabella(&["node", "run", "--home", "missing"], dir.path());
    assert!(!none.status.success());
    assert!(
        text(&none).contains("tabella node init --dev"),
        "{}",
        text(&none)
    );
    let dead = tabella(
        &[
            "node",
            "status",
            "--node",
            &format!("http://127.0.0.1:{}", free_port()),
        ],
        dir.path(),
    );
    assert!(!dead.status.success());
    let td = text(&dead);
    assert!(td.contains("cannot reach the node"), "{td}");
    assert_eq!(td.trim().lines().count(), 1, "{td}");
}
