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

/// A child process killed (and reaped) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// SIGKILL, as `kill -9` would.
    pub fn kill_9(&mut self) {
        let pid = self.0.id().to_string();
        let st = Command::new("kill").args(["-9", &pid]).status().unwrap();
        assert!(st.success());
        let _ = self.0.wait();
    }
}

/// Starts `tabella ARGS` in `dir`, its output in `dir/log`.
pub fn spawn(dir: &Path, args: &[String], log: &str) -> Proc {
    let f = std::fs::File::create(dir.join(log)).unwrap();
    let e = f.try_clone().unwrap();
    Proc(
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env("TABELLA_KDF_FAST", "1")
            .stdout(f)
            .stderr(e)
            .spawn()
            .unwrap(),
    )
}

/// Waits (polling every 200 ms) until `f` holds; panics after `secs`.
pub fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed().as_secs() < secs, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `n` vortex node processes (homes `h1`…, addresses `n1@vortex.test`…) on a `tabella vortex
/// mailserver`, in `dir`; with `gateway = Some((ledger URL, source address))` the last node is a
/// gateway to that ledger.
pub struct VortexNet {
    pub port: String,
    pub nodes: Vec<Proc>,
    gateway: Option<(String, String)>,
    _server: Proc,
}

impl VortexNet {
    pub fn start(dir: &Path, n: usize, gateway: Option<(&str, &str)>) -> Self {
        let port = free_port().to_string();
        let mut args: Vec<String> = [
            "vortex",
            "mailserver",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--root",
            "mail",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend((1..=n).map(|i| format!("n{i}@vortex.test")));
        let server = spawn(dir, &args, "mailserver.log");
        for i in 1..=n {
            let o = tabella(
                dir,
                &[],
                &[
                    "vortex",
                    "node",
                    "init",
                    "--home",
                    &format!("h{i}"),
                    "--address",
                    &format!("n{i}@vortex.test"),
                    "--insecure-plaintext-key",
                ],
            );
            assert!(o.status.success(), "{}", text(&o));
        }
        let mut peers: Vec<String> = vec!["vortex".into(), "peers".into()];
        peers.extend((1..=n).map(|i| format!("h{i}")));
        peers.extend(["--out".to_string(), "peers.json".to_string()]);
        let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
        let o = tabella(dir, &[], &peers);
        assert!(o.status.success(), "{}", text(&o));
        let mut net = VortexNet {
            port,
            nodes: Vec::new(),
            gateway: gateway.map(|(u, b)| (u.to_string(), b.to_string())),
            _server: server,
        };
        for i in 1..=n {
            let p = net.node(dir, i, n);
            net.nodes.push(p);
        }
        let ready = |i: usize| {
            std::fs::read_to_string(dir.join(format!("h{i}/node.log")))
                .is_ok_and(|l| l.contains(&format!("identities ready at {} nodes", n - 1)))
        };
        wait_for("vortex identity set-up", 180, || (1..=n).all(ready));
        net
    }

    /// Starts node `i` (from 1) of `n`.
    pub fn node(&self, dir: &Path, i: usize, n: usize) -> Proc {
        let mut args: Vec<String> = [
            "vortex",
            "node",
            "run",
            "--home",
            &format!("h{i}"),
            "--peers",
            "peers.json",
            "--smtp",
            &format!("127.0.0.1:{}", self.port),
            "--maildir",
            &format!("mail/n{i}@vortex.test"),
            "--puzzle-bits",
            "8",
            "--poll",
            "0.2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let (Some((url, bind)), true) = (&self.gateway, i == n) {
            args.extend([
                "--ledger".into(),
                url.clone(),
                "--ledger-bind".into(),
                bind.clone(),
            ]);
        }
        spawn(dir, &args, &format!("node{i}.out"))
    }
}
