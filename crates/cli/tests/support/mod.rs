//! Helpers shared by the role and quickstart tests: run the real binary, start a dev node.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tabella");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `tabella` in `cwd` with a fast keystore KDF and the given environment.
pub fn tabella(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(cwd)
        .env_remove("TABELLA_PASSPHRASE")
        .env_remove("TABELLA_NODE_PASSPHRASE")
        .env_remove("TABELLA_NODE")
        .env_remove("TABELLA_KEYSTORE")
        .env("TABELLA_KDF_FAST", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the tabella binary runs")
}

/// A dev node running in a temporary home; killed on drop.
pub struct Node {
    pub url: String,
    child: Child,
    _home: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The node passphrase of the test nodes.
pub const NODE_PW: (&str, &str) = ("TABELLA_NODE_PASSPHRASE", "node passphrase");

/// A dev node whose validator key is sealed under [`NODE_PW`], as the README starts one.
pub fn start_node() -> Node {
    let home = tempfile::tempdir().unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let p2p = format!("127.0.0.1:{}", free_port());
    let init = tabella(
        home.path(),
        &[NODE_PW],
        &[
            "node", "init", "--dev", "--home", "n", "--api", &api, "--p2p", &p2p,
        ],
    );
    assert!(init.status.success(), "{}", text(&init));
    let child = Command::new(BIN)
        .args(["node", "run", "--home", "n"])
        .env(NODE_PW.0, NODE_PW.1)
        .current_dir(home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://{api}");
    let node = Node {
        url: url.clone(),
        child,
        _home: home,
    };
    let start = Instant::now();
    loop {
        let s = tabella(Path::new("."), &[], &["node", "status", "--node", &url]);
        if s.status.success() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the node did not start: {}",
            text(&s)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    node
}

/// Asserts a failed command printed exactly one line, containing `needle`, and no panic.
pub fn fails_with(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "expected a failure: {}", text(o));
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}
