//! A 4-validator testnet of real `tabella node run` processes on 127.0.0.1 (Malachite BFT):
//! identical blocks on every node, progress with one node killed (SIGKILL), no progress with
//! two down and progress again when one returns, a restarted node catching up, the light
//! client from genesis, and a forged ballot never committed. Bounded: every wait has a deadline.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tabella_election::action::{Envelope, OfficialAction, SignedAction};
use tabella_election::ids::ElectionId;
use tabella_election::manifest::Manifest;
use tabella_election::sign::OfficialSecret;
use tabella_election::simulate::{simulate_into, SimulationConfig, Sink, Stage};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::Height;
use tabella_node::client::NodeClient;
use tabella_node::wire::TxStatus;

fn tabella(args: &[&str], cwd: &std::path::Path) -> Output {
    support::tabella(cwd, &[], args)
}

/// A base port with `n` free ports after it.
fn free_ports(n: u16) -> u16 {
    for _ in 0..200 {
        let base = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !(10_000..=60_000).contains(&base) {
            continue;
        }
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free ports");
}

struct ToNode(NodeClient);

impl Sink for ToNode {
    fn publish(&mut self, _: Stage, envs: &[Envelope]) -> tabella_election::Result<()> {
        let txs = envs
            .iter()
            .map(|e| Transaction::election(e.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tabella_election::Error::Sink(e.to_string()))?;
        let mut last = None;
        for r in self
            .0
            .submit_batch(&txs)
            .map_err(|e| tabella_election::Error::Sink(e.to_string()))?
        {
            last = Some(r.map_err(tabella_election::Error::Sink)?);
        }
        if let Some(id) = last {
            self.0
                .wait_committed(&id, Duration::from_secs(60))
                .map_err(|e| tabella_election::Error::Sink(e.to_string()))?;
        }
        Ok(())
    }
}

/// An independent transaction: a fresh election's `create`, signed by its own council.
fn create_tx(template: &Manifest, id: &str) -> Transaction {
    let mut m = template.clone();
    m.election_id = ElectionId::new(id.to_string()).unwrap();
    let council = OfficialSecret::generate(&mut rand_core::OsRng);
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
    Transaction::election(env).unwrap()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What node logs record: the engine's and the node's events (see `tabella_node::log`).
const NODE_LOG: &str = "info";

fn start_node(root: &Path, i: usize) -> Child {
    let home = root.join(format!("node-{i}"));
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(home.join("node.log"))
        .unwrap();
    Command::new(support::BIN)
        .args(["node", "run", "--home"])
        .arg(&home)
        .env("TABELLA_LOG", NODE_LOG)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Panics (with the end of its log) if a restarted node process has exited.
fn assert_running(root: &Path, i: usize, child: &mut Child) {
    if let Ok(Some(status)) = child.try_wait() {
        panic!(
            "node {i} exited ({status}) after its restart:\n{}",
            log_tail(root, i, 30)
        );
    }
}

/// The last `n` lines of node `i`'s log.
fn log_tail(root: &Path, i: usize, n: usize) -> String {
    let text = std::fs::read_to_string(root.join(format!("node-{i}")).join("node.log"))
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn kill9(pid: u32) {
    let _ = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

#[test]
fn four_validators_agree_survive_one_failure_and_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("net");
    let api = free_ports(4);
    let p2p = free_ports(4);
    let out = support::tabella(
        dir.path(),
        &[("TABELLA_LOG", NODE_LOG)],
        &[
            "testnet",
            "--nodes",
            "4",
            "--home",
            root.to_str().unwrap(),
            "--api-port",
            &api.to_string(),
            "--p2p-port",
            &p2p.to_string(),
        ],
    );
    assert!(out.status.success(), "{}", support::text(&out));
    let pids: Vec<u32> = std::fs::read_to_string(root.join("pids"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    // Whatever happens below, stop every process at the end.
    struct Cleanup(Vec<u32>, std::path::PathBuf, Vec<Child>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            if std::thread::panicking() {
                for i in 0..4 {
                    eprintln!(
                        "--- end of node {i}'s log ---\n{}",
                        log_tail(&self.1, i, 40)
                    );
                }
            }
            for p in &self.0 {
                kill9(*p);
            }
            for c in &mut self.2 {
                let _ = c.kill();
                let _ = c.wait();
            }
            let _ = Command::new(support::BIN)
                .args(["testnet", "--stop", "--home"])
                .arg(&self.1)
                .output();
        }
    }
    let mut cleanup = Cleanup(pids.clone(), root.clone(), Vec::new());
    let clients: Vec<NodeClient> = (0..4)
        .map(|i| NodeClient::new(&format!("http://127.0.0.1:{}", api + i)))
        .collect();

    // A small election through node 0.
    let cfg = SimulationConfig {
        election_id: "testnet-election".into(),
        voters: 12,
        ..SimulationConfig::default()
    };
    let mut sink = ToNode(clients[0].clone());
    let sim = simulate_into(&cfg, &mut |_, _, _| {}, &mut sink).unwrap();
    let h = clients[0].status().unwrap().height;
    // Every node reaches that height with the same block.
    for c in &clients {
        wait_for("all nodes at the height", 60, || {
            c.status().map(|s| s.height >= h).unwrap_or(false)
        });
    }
    let hashes: Vec<_> = clients
        .iter()
        .map(|c| c.block(h).unwrap().block.header.hash())
        .collect();
    assert!(hashes.iter().all(|x| *x == hashes[0]), "{hashes:?}");
    assert_eq!(
        clients[2].results("testnet-election").unwrap(),
        *sim.state.results().unwrap()
    );

    // A forged ballot is refused and never committed.
    let ballots: Vec<_> = sim
        .record
        .log
        .iter()
        .filter_map(|e| match e {
            Envelope::Ballot(b) => Some(b.clone()),
            _ => None,
        })
        .collect();
    let mut forged = ballots[0].clone();
    forged.signature = ballots[1].signature;
    let ftx = Transaction::election(Envelope::Ballot(forged)).unwrap();
    assert!(clients[1].submit(&ftx).is_err());

    // One node killed: the other three still commit.
    kill9(pids[3]);
    let t1 = create_tx(&sim.record.manifest, "after-one-down");
    let s1 = clients[0]
        .submit_and_wait(&t1, Duration::from_secs(60))
        .unwrap();
    assert!(matches!(s1, TxStatus::Committed { .. }));

    // Two down: no quorum, no progress. Node 2 may have precommitted the block of the height
    // in progress before it died; that one block can still be committed, nothing after it.
    kill9(pids[2]);
    let at_kill = clients[0].status().unwrap().height;
    let t2 = create_tx(&sim.record.manifest, "while-two-down");
    let id2 = clients[0].submit(&t2).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let stuck_height = clients[0].status().unwrap().height;
    assert!(
        stuck_height.0 <= at_kill.0 + 1,
        "{at_kill:?} -> {stuck_height:?}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(clients[0].tx_status(&id2).unwrap(), TxStatus::Pending);
    assert_eq!(clients[0].status().unwrap().height, stuck_height);

    // One returns (replaying its write-ahead log): progress again.
    let returned = Instant::now();
    cleanup.2.push(start_node(&root, 2));
    wait_for("the quorum to commit again", 90, || {
        assert_running(&root, 2, &mut cleanup.2[0]);
        matches!(clients[0].tx_status(&id2), Ok(TxStatus::Committed { .. }))
    });
    let recovered = returned.elapsed();
    // The other restarted node catches up through the engine's sync.
    let returned = Instant::now();
    cleanup.2.push(start_node(&root, 3));
    let target = clients[0].status().unwrap().height;
    wait_for("node 3 to catch up", 90, || {
        assert_running(&root, 3, &mut cleanup.2[1]);
        clients[3]
            .status()
            .map(|s| s.height >= target)
            .unwrap_or(false)
    });
    eprintln!(
        "quorum back {:.1} s after node 2's restart; node 3 caught up to {target} in {:.1} s",
        recovered.as_secs_f64(),
        returned.elapsed().as_secs_f64()
    );
    assert_eq!(
        clients[3].block(target).unwrap().block.header.hash(),
        clients[0].block(target).unwrap().block.header.hash()
    );

    // The light client verifies the tip from the genesis hash, through any node, following
    // forward links (signed by the validators together) rather than every block.
    let genesis = clients[1].status().unwrap().genesis_hash;
    let links = |h: u64| -> Option<u64> {
        let out = tabella(
            &[
                "chain",
                "verify",
                "--genesis",
                &genesis.to_hex(),
                "--node",
                &format!("http://127.0.0.1:{}", api + 1),
                "--height",
                &h.to_string(),
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", support::text(&out));
        let t = support::text(&out);
        t.split(" in ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    let h = Height(16).max(Height(target.0 - target.0 % 16));
    wait_for("node 1 to reach the light-client target", 60, || {
        clients[1].status().map(|s| s.height >= h).unwrap_or(false)
    });
    wait_for("forward links to shorten the light proof", 30, || {
        links(h.0).is_some_and(|n| n < h.0 / 2)
    });
}
