//! `tabella bench ledger`: ballots committed per second through a node (or a testnet of
//! `--nodes` validators in this process, each re-executing every block) (HTTP submission,
//! mempool admission with full proof checks, block execution with every proof verified again,
//! redb commit), and submit-to-commit latency.
//!
//! A small election is set up on the node (key ceremony, registration) by the simulation; its
//! pre-encrypted ballots are then submitted in batches as fast as the node admits them while a
//! watcher follows the committed blocks and timestamps each ballot's commit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;
use tabella_election::action::Envelope;
use tabella_election::simulate::{simulate_into, SimulationConfig, Sink, Stage};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{Height, TxId};
use tabella_node::client::NodeClient;
use tabella_node::home::{self, Home, KeyProtection};
use tabella_node::run::{self, RunOptions};

use crate::roles::election_txs;

/// Result of `tabella bench ledger`.
#[derive(Debug, Serialize)]
pub struct LedgerReport {
    /// Validators.
    pub nodes: usize,
    /// Ballots submitted and committed.
    pub ballots: usize,
    /// Seconds from the first submission to the last commit.
    pub seconds: f64,
    /// Ballots committed per second.
    pub ballots_per_second: f64,
    /// Submit-to-commit latency, median (ms).
    pub latency_p50_ms: f64,
    /// Submit-to-commit latency, 99th percentile (ms).
    pub latency_p99_ms: f64,
    /// Blocks that carried the ballots.
    pub blocks: u64,
}

struct Measure {
    client: NodeClient,
    report: Option<LedgerReport>,
    nodes: usize,
}

impl Measure {
    fn submit_all(&self, txs: &[Transaction]) -> anyhow::Result<Vec<TxId>> {
        let mut ids = Vec::with_capacity(txs.len());
        for chunk in txs.chunks(200) {
            for r in self.client.submit_batch(chunk)? {
                ids.push(r.map_err(|e| anyhow::anyhow!("rejected: {e}"))?);
            }
        }
        Ok(ids)
    }

    fn measure(&mut self, envs: &[Envelope]) -> anyhow::Result<()> {
        let txs = election_txs(envs)?;
        let start_height = self.client.status()?.height;
        let submitted: Arc<Mutex<HashMap<TxId, Instant>>> = Arc::default();
        let committed: Arc<Mutex<HashMap<TxId, Instant>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        // Watcher: follows new blocks and timestamps their transactions.
        let watcher = {
            let client = self.client.clone();
            let committed = committed.clone();
            let done = done.clone();
            std::thread::spawn(move || -> anyhow::Result<Height> {
                let mut next = Height(start_height.0 + 1);
                loop {
                    match client.block(next) {
                        Ok(b) => {
                            let now = Instant::now();
                            let mut c = committed.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                            for id in b.block.tx_ids()? {
                                c.insert(id, now);
                            }
                            next = Height(next.0 + 1);
                        }
                        Err(_) => {
                            if done.load(Ordering::SeqCst) {
                                return Ok(Height(next.0 - 1));
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
            })
        };
        let t0 = Instant::now();
        for chunk in txs.chunks(200) {
            let now = Instant::now();
            {
                let mut s = submitted.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                for tx in chunk {
                    s.insert(tx.id()?, now);
                }
            }
            self.submit_all(chunk)?;
        }
        // Wait until every ballot is committed.
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let n = committed.lock().map_err(|_| anyhow::anyhow!("lock"))?.len();
            let all = {
                let s = submitted.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                let c = committed.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                s.keys().all(|k| c.contains_key(k))
            };
            if all {
                break;
            }
            if Instant::now() > deadline {
                bail!("only {n} of {} ballots committed in time", txs.len());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = t0.elapsed().as_secs_f64();
        done.store(true, Ordering::SeqCst);
        let end_height = watcher
            .join()
            .map_err(|_| anyhow::anyhow!("watcher panicked"))??;
        let s = submitted.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let c = committed.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let mut lat: Vec<f64> = s
            .iter()
            .filter_map(|(id, t)| {
                c.get(id)
                    .map(|ct| ct.duration_since(*t).as_secs_f64() * 1e3)
            })
            .collect();
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        self.report = Some(LedgerReport {
            nodes: self.nodes,
            ballots: txs.len(),
            seconds: elapsed,
            ballots_per_second: txs.len() as f64 / elapsed,
            latency_p50_ms: pct(0.5),
            latency_p99_ms: pct(0.99),
            blocks: end_height.0 - start_height.0,
        });
        Ok(())
    }

    fn publish_plain(&self, envs: &[Envelope]) -> anyhow::Result<()> {
        let ids = self.submit_all(&election_txs(envs)?)?;
        if let Some(last) = ids.last() {
            self.client.wait_committed(last, Duration::from_secs(300))?;
        }
        Ok(())
    }
}

impl Sink for Measure {
    fn publish(&mut self, stage: Stage, envs: &[Envelope]) -> tabella_election::Result<()> {
        let r = if stage == Stage::Casting {
            self.measure(envs)
        } else {
            self.publish_plain(envs)
        };
        r.map_err(|e| tabella_election::Error::Sink(format!("{e:#}")))
    }
}

/// Runs the benchmark on a fresh one-validator node in a temporary directory.
pub fn ledger(nodes: usize, ballots: usize) -> anyhow::Result<LedgerReport> {
    if !(1..=16).contains(&nodes) {
        bail!("--nodes must be between 1 and 16");
    }
    if ballots == 0 {
        bail!("--ballots must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let running = if nodes == 1 {
        let home = Home::new(dir.path().join("node"));
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        home::init_dev(&home, any, any, &KeyProtection::InsecurePlaintext)?;
        vec![run::start(&home, RunOptions::default())?]
    } else {
        let api = free_port_range(nodes)?;
        let p2p = free_port_range(nodes)?;
        let homes = home::init_testnet(
            &dir.path().join("net"),
            nodes,
            api,
            p2p,
            &KeyProtection::InsecurePlaintext,
        )?;
        homes
            .iter()
            .map(|h| run::start(h, RunOptions::default()))
            .collect::<Result<Vec<_>, _>>()?
    };
    let node = &running[0];
    let cfg = SimulationConfig {
        election_id: "bench-ledger".into(),
        voters: ballots,
        tables: 0,
        revote_fraction: 0.0,
        contests: Some(vec![tabella_election::simulate::ten_option_contest()]),
        token_key_bits: 2048,
        ..SimulationConfig::default()
    };
    let mut m = Measure {
        client: NodeClient::new(&node.url()),
        report: None,
        nodes,
    };
    eprintln!("setting up an election with {ballots} registered voters on a fresh node…");
    simulate_into(&cfg, &mut |_, _, _| {}, &mut m)?;
    for n in running {
        n.stop()?;
    }
    m.report
        .ok_or_else(|| anyhow::anyhow!("the election cast no ballots"))
}

/// A base port with `n` free consecutive ports on 127.0.0.1.
pub fn free_port_range(n: usize) -> anyhow::Result<u16> {
    let n = u16::try_from(n)?;
    for _ in 0..200 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        if !(10_000..=60_000).contains(&base) {
            continue;
        }
        if (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no {n} free consecutive ports on 127.0.0.1")
}
