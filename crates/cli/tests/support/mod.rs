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

/// The keystore passphrase of the role tests.
pub const PW: (&str, &str) = ("TABELLA_PASSPHRASE", "correct horse");

/// `keys new` for each official of election e1: council c, trustee t1, identity validator v (its
/// role written `validator_role`), registrar r, juror j.
pub fn official_keys(validator_role: &str) -> Vec<[&str; 8]> {
    [
        ("council", "c"),
        ("trustee", "t1"),
        (validator_role, "v"),
        ("registrar", "r"),
        ("juror", "j"),
    ]
    .map(|(role, name)| {
        [
            "keys",
            "new",
            "--role",
            role,
            "--name",
            name,
            "--token-bits",
            "2048",
        ]
    })
    .to_vec()
}

/// `election manifest` of e1 with the keys of [`official_keys`] (the identity validator's option
/// written `validator_option`), then `extra`.
pub fn manifest_e1<'a>(validator_option: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "election",
        "manifest",
        "--id",
        "e1",
        "--title",
        "T",
        "--council",
        "c",
        "--trustee",
        "t1",
        "--threshold",
        "1",
        validator_option,
        "v",
        "--registrar",
        "r",
        "--table",
        "j=2",
    ];
    args.extend_from_slice(extra);
    args
}

/// A browser's HTTP exchange, written by hand so a test controls every header (`Host`,
/// `Origin`, `Cookie`) and sees redirects and `Set-Cookie` as they are.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request to 127.0.0.1:`port` and reads the whole answer.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let rest = raw.get(split + 4..).unwrap_or(&[]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..eol]).to_string();
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let rest = &s[eol + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        s = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// `application/x-www-form-urlencoded` of the pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A `tabella booth` or `tabella console` process and the session cookie its printed link
/// gives (the guards before the session are checked on the way).
pub struct Local {
    pub port: u16,
    pub cookie: String,
    _proc: Proc,
}

impl Local {
    pub fn start(dir: &Path, node: &str, args: &[&str], log: &str) -> Local {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.extend(["--node", node, "--listen", &listen].map(String::from));
        let proc = spawn(dir, &args, log);
        let mut link = String::new();
        wait_for("the booth's link", 60, || {
            let out = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
            if let Some(l) = out.split_whitespace().find(|w| w.contains("/start?token=")) {
                link = l.to_string();
            }
            !link.is_empty()
        });
        let path = link.split_once(&format!("{port}")).unwrap().1.to_string();
        // The guards, before the session exists.
        let r = http(port, "GET", "/", &[], "");
        assert_eq!(r.status, 403);
        assert!(
            r.body.contains("Open the link that tabella printed"),
            "{}",
            r.body
        );
        let r = http(port, "GET", "/start?token=00", &[], "");
        assert_eq!(r.status, 403);
        assert!(r.header("set-cookie").is_none());
        let r = http(port, "GET", &path, &[], "");
        assert_eq!(r.status, 303);
        let cookie = r.header("set-cookie").unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        let cookie = cookie.split(';').next().unwrap().to_string();
        Local {
            port,
            cookie,
            _proc: proc,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        http(self.port, "GET", path, &[("Cookie", &self.cookie)], "")
    }

    pub fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let origin = format!("http://127.0.0.1:{}", self.port);
        http(
            self.port,
            "POST",
            path,
            &[("Cookie", &self.cookie), ("Origin", &origin)],
            &form(pairs),
        )
    }

    /// The anti-forgery token of the page at `path`.
    pub fn csrf(&self, path: &str) -> String {
        let body = self.get(path).body;
        let i = body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        body[i..i + 64].to_string()
    }
}

/// Runs `tabella ARGS` in `dir` with the role tests' passphrase against `node`; panics on failure
/// and returns what it printed.
pub fn run_ok(dir: &Path, node: &str, args: &[&str]) -> String {
    let o = tabella(dir, &[PW, ("TABELLA_NODE", node)], args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

/// The officials' keys of [`official_keys`] and the manifest of election e1 with one whitelisted
/// remote voter, ann@example.org, then `extra` manifest options.
pub fn officials_and_manifest(dir: &Path, node: &str, extra: &[&str]) {
    for args in official_keys("identity-validator") {
        run_ok(dir, node, &args);
    }
    let mut opts = vec!["--voter", "ann@example.org"];
    opts.extend_from_slice(extra);
    run_ok(dir, node, &manifest_e1("--identity-validator", &opts));
}

// ----- a testnet of `tabella node run` processes (testnet and soak tests) -----

/// A base port with `n` free ports after it.
pub fn free_ports(n: u16) -> u16 {
    for _ in 0..200 {
        let base = free_port();
        if !(10_000..=60_000).contains(&base) {
            continue;
        }
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

/// What testnet node logs record: the engine's and the node's events (see `tabella_node::log`).
pub const NODE_LOG: &str = "info";

/// SIGKILL (or another signal: `STOP`, `CONT`) to a process, ignoring a process that is gone.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// `n` validators started by `tabella testnet` in `root` (`root/node-i`, API on
/// `127.0.0.1:api+i`), each restartable as a `tabella node run` process of this test. Every
/// process is killed on drop; after a panic, the end of each node's log is printed first.
pub struct Testnet {
    pub root: std::path::PathBuf,
    pub api: u16,
    pub n: usize,
    /// The process running each node now.
    pids: Vec<u32>,
    /// The processes this test started (restarts), to reap.
    children: Vec<Option<Child>>,
}

impl Testnet {
    /// Writes and starts the testnet (in the background, as `tabella testnet` does).
    pub fn start(dir: &Path, n: usize) -> Testnet {
        let root = dir.join("net");
        let api = free_ports(n as u16);
        let p2p = free_ports(n as u16);
        let out = tabella(
            dir,
            &[("TABELLA_LOG", NODE_LOG)],
            &[
                "testnet",
                "--nodes",
                &n.to_string(),
                "--home",
                root.to_str().unwrap(),
                "--api-port",
                &api.to_string(),
                "--p2p-port",
                &p2p.to_string(),
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        let pids: Vec<u32> = std::fs::read_to_string(root.join("pids"))
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        assert_eq!(pids.len(), n);
        Testnet {
            root,
            api,
            n,
            pids,
            children: (0..n).map(|_| None).collect(),
        }
    }

    /// Node `i`'s API URL.
    pub fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.api + i as u16)
    }

    /// A client of node `i` (requests time out after two minutes).
    pub fn client(&self, i: usize) -> tabella_node::client::NodeClient {
        tabella_node::client::NodeClient::new(&self.url(i))
    }

    /// Node `i`'s home.
    pub fn home(&self, i: usize) -> std::path::PathBuf {
        self.root.join(format!("node-{i}"))
    }

    /// The process running node `i`.
    pub fn pid(&self, i: usize) -> u32 {
        self.pids[i]
    }

    /// SIGKILL to node `i` (reaped if this test started it).
    pub fn kill9(&mut self, i: usize) {
        signal(self.pids[i], "9");
        if let Some(mut c) = self.children[i].take() {
            let _ = c.wait();
        }
    }

    /// Starts node `i` again from its home (same data), its output appended to its log.
    pub fn restart(&mut self, i: usize) {
        let home = self.home(i);
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(home.join("node.log"))
            .unwrap();
        let child = Command::new(BIN)
            .args(["node", "run", "--home"])
            .arg(&home)
            .env("TABELLA_LOG", NODE_LOG)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.pids[i] = child.id();
        self.children[i] = Some(child);
    }

    /// Panics (with the end of its log) if node `i`, restarted by this test, has exited.
    pub fn assert_running(&mut self, i: usize) {
        if let Some(c) = self.children[i].as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!(
                    "node {i} exited ({status}) after its restart:\n{}",
                    self.log_tail(i, 30)
                );
            }
        }
    }

    /// The last `n` lines of node `i`'s log.
    pub fn log_tail(&self, i: usize, n: usize) -> String {
        let text = std::fs::read_to_string(self.home(i).join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for i in 0..self.n {
                eprintln!("--- end of node {i}'s log ---\n{}", self.log_tail(i, 40));
            }
        }
        for i in 0..self.n {
            self.kill9(i);
        }
        let _ = Command::new(BIN)
            .args(["testnet", "--stop", "--home"])
            .arg(&self.root)
            .output();
    }
}

/// A simulation sink that submits each stage's envelopes to a node and waits until the last
/// one is committed.
pub struct ToNode(pub tabella_node::client::NodeClient);

impl tabella_election::simulate::Sink for ToNode {
    fn publish(
        &mut self,
        _: tabella_election::simulate::Stage,
        envs: &[tabella_election::action::Envelope],
    ) -> tabella_election::Result<()> {
        let sink = |e: String| tabella_election::Error::Sink(e);
        let txs = envs
            .iter()
            .map(|e| tabella_ledger::tx::Transaction::election(e.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sink(e.to_string()))?;
        let mut last = None;
        // At most a few thousand transactions a request (the API's body limit).
        for chunk in txs.chunks(500) {
            for r in self
                .0
                .submit_batch(chunk)
                .map_err(|e| sink(e.to_string()))?
            {
                last = Some(r.map_err(sink)?);
            }
        }
        if let Some(id) = last {
            self.0
                .wait_committed(&id, Duration::from_secs(300))
                .map_err(|e| sink(e.to_string()))?;
        }
        Ok(())
    }
}

/// An independent transaction: a fresh election's `create` (id `id`, otherwise as `template`),
/// signed by its own council.
pub fn create_tx(
    template: &tabella_election::manifest::Manifest,
    id: &str,
) -> tabella_ledger::tx::Transaction {
    use tabella_election::action::{Envelope, OfficialAction, SignedAction};
    let mut m = template.clone();
    m.election_id = tabella_election::ids::ElectionId::new(id.to_string()).unwrap();
    let council = tabella_election::sign::OfficialSecret::generate(&mut rand_core::OsRng);
    m.officials.council = council.public();
    let env = Envelope::Official(
        SignedAction::sign(
            &m.election_id,
            OfficialAction::Create {
                manifest: Box::new(m.clone()),
            },
            &council,
        )
        .unwrap(),
    );
    tabella_ledger::tx::Transaction::election(env).unwrap()
}
