//! The Malachite adapter end to end: engines in this process, on 127.0.0.1, driving in-memory
//! validator replicas ([`MemoryApp`]).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tabella_election::action::Envelope;
use tabella_election::simulate::{simulate, SimulationConfig};
use tabella_ledger::block::SkipchainParams;
use tabella_ledger::chain::Chain;
use tabella_ledger::roster::{Roster, ValidatorSecret};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height};
use tabella_node::engine::testing::MemoryApp;
use tabella_node::engine::{run, EngineConfig, EngineHandle, Timeouts};

/// The engines of different tests would compete for two cores: one test at a time.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn secrets(n: usize) -> Vec<ValidatorSecret> {
    (0..n)
        .map(|i| ValidatorSecret::from_bytes(&[i as u8 + 1; 32]))
        .collect()
}

/// An election's log, in order (simulated once).
fn election_log() -> &'static Vec<Envelope> {
    static LOG: OnceLock<Vec<Envelope>> = OnceLock::new();
    LOG.get_or_init(|| {
        simulate(
            &SimulationConfig {
                voters: 4,
                ..Default::default()
            },
            &mut |_, _, _| {},
        )
        .unwrap()
        .record
        .log
    })
}

/// The election's transactions, in order.
fn election_txs() -> Vec<Transaction> {
    election_log()
        .iter()
        .map(|e| Transaction::election(e.clone()).unwrap())
        .collect()
}

/// A ballot alone: it never applies while its election does not exist.
fn invalid_tx() -> Transaction {
    let ballot = election_log()
        .iter()
        .find(|e| matches!(e, Envelope::Ballot(_)))
        .unwrap();
    Transaction::election(ballot.clone()).unwrap()
}

struct Net {
    part_size: usize,
    timeouts: Timeouts,
    secrets: Vec<ValidatorSecret>,
    addrs: Vec<SocketAddr>,
    apps: Vec<Arc<Mutex<MemoryApp>>>,
    handles: Vec<Option<EngineHandle>>,
    _dir: tempfile::TempDir,
}

fn fast_timeouts() -> Timeouts {
    Timeouts {
        propose: Duration::from_millis(1500),
        prevote: Duration::from_millis(500),
        precommit: Duration::from_millis(500),
        delta: Duration::from_millis(250),
    }
}

impl Net {
    fn new(n: usize) -> Net {
        let secrets = secrets(n);
        let roster = Roster::new(secrets.iter().map(|s| s.public()).collect()).unwrap();
        let genesis = Chain::genesis(SkipchainParams::default(), roster).unwrap();
        let apps = secrets
            .iter()
            .map(|s| {
                Arc::new(Mutex::new(
                    MemoryApp::new(s.clone(), genesis.clone()).unwrap(),
                ))
            })
            .collect();
        Net {
            // Small parts, so that every block is streamed in several.
            part_size: 1024,
            timeouts: fast_timeouts(),
            addrs: (0..n)
                .map(|_| SocketAddr::from(([127, 0, 0, 1], free_port())))
                .collect(),
            secrets,
            apps,
            handles: (0..n).map(|_| None).collect(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self, i: usize) -> std::path::PathBuf {
        self._dir.path().join(format!("node{i}"))
    }

    async fn start(&mut self, i: usize) {
        let peers = self
            .addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| *a)
            .collect();
        let mut config =
            EngineConfig::new(self.secrets[i].clone(), self.addrs[i], peers, self.home(i));
        config.timeouts = self.timeouts;
        config.min_block_interval = Duration::from_millis(100);
        config.sync_status_interval = Duration::from_millis(500);
        config.part_size = self.part_size;
        assert!(Path::new(self._dir.path()).exists());
        let h = run(config, Arc::clone(&self.apps[i])).await.unwrap();
        self.handles[i] = Some(h);
    }

    async fn stop(&mut self, i: usize) {
        if let Some(h) = self.handles[i].take() {
            h.stop().await.unwrap();
        }
    }

    async fn start_all(&mut self) {
        for i in 0..self.apps.len() {
            self.start(i).await;
        }
    }

    async fn stop_all(&mut self) {
        for i in 0..self.handles.len() {
            self.stop(i).await;
        }
    }

    fn height(&self, i: usize) -> u64 {
        self.apps[i].lock().unwrap().chain().height().0
    }

    fn hash_at(&self, i: usize, h: u64) -> BlockHash {
        self.apps[i]
            .lock()
            .unwrap()
            .chain()
            .block(Height(h))
            .unwrap()
            .header
            .hash()
    }

    /// Waits until every node in `nodes` reaches `height`; panics after `limit`.
    async fn wait_height(&self, nodes: &[usize], height: u64, limit: Duration) {
        let start = Instant::now();
        loop {
            if nodes.iter().all(|&i| self.height(i) >= height) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "nodes {nodes:?} did not reach height {height} within {limit:?}: heights {:?}",
                nodes.iter().map(|&i| self.height(i)).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn assert_agree(&self, nodes: &[usize], upto: u64) {
        for h in 1..=upto {
            let first = self.hash_at(nodes[0], h);
            for &i in &nodes[1..] {
                assert_eq!(self.hash_at(i, h), first, "node {i} differs at height {h}");
            }
        }
    }
}

/// Client transactions committed (the verdict transactions proposers add are not counted).
fn committed_txs(app: &MemoryApp) -> usize {
    committed_where(app, |t| !matches!(t, Transaction::Verdicts { .. }))
}

fn committed_where(app: &MemoryApp, keep: impl Fn(&Transaction) -> bool) -> usize {
    let chain = app.chain();
    (1..=chain.height().0)
        .map(|h| {
            let block = chain.block(Height(h)).unwrap();
            block.txs.iter().filter(|t| keep(t)).count()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_validator_commits_submitted_transactions() {
    let _g = serial().await;
    let txs = election_txs();
    let mut net = Net::new(1);
    for tx in &txs {
        net.apps[0].lock().unwrap().submit(tx.clone()).unwrap();
    }
    net.start(0).await;
    let start = Instant::now();
    loop {
        let (done, h) = {
            let app = net.apps[0].lock().unwrap();
            (
                app.pending() == 0 && committed_txs(&app) == txs.len(),
                app.chain().height().0,
            )
        };
        if done && h >= 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not committed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every block's certificate is the engine's: it verifies under the roster.
    {
        let app = net.apps[0].lock().unwrap();
        let chain = app.chain();
        for h in 1..=chain.height().0 {
            let c = chain.commit(Height(h)).unwrap();
            assert_eq!(c.signatures.len(), 1);
            assert_eq!(
                c.verdicts.len(),
                1,
                "the verdict bitmap rides on the precommit"
            );
            c.verify(
                &chain.block(Height(h)).unwrap().header,
                chain
                    .roster(&chain.block(Height(h)).unwrap().header.roster_hash)
                    .unwrap(),
            )
            .unwrap();
        }
    }
    // An idle chain is paced by the minimum block interval.
    let h0 = net.height(0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let grown = net.height(0) - h0;
    assert!(grown <= 11, "{grown} empty blocks in one second");
    net.stop_all().await;
}

/// A decided block that cannot be stored stops the engine with the disk's error (the node
/// would otherwise serve blocks its disk does not hold), and the engine signs nothing after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disk_that_fails_stops_the_engine_with_its_error() {
    let _g = serial().await;
    let mut net = Net::new(1);
    let fail = Arc::new(AtomicBool::new(false));
    let db = net.home(0).join("ledger.redb");
    let roster = Roster::new(vec![net.secrets[0].public()]).unwrap();
    let genesis = Chain::genesis(SkipchainParams::default(), roster).unwrap();
    net.apps[0] = Arc::new(Mutex::new(
        MemoryApp::with_failing_disk(net.secrets[0].clone(), genesis, fail.clone(), &db).unwrap(),
    ));
    net.start(0).await;
    net.wait_height(&[0], 3, Duration::from_secs(30)).await;
    fail.store(true, Ordering::SeqCst);
    let failed_at = net.height(0);
    let start = Instant::now();
    while !net.handles[0].as_ref().unwrap().is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the engine still runs on a failed disk (height {})",
            net.height(0)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // At most the block being stored when the disk failed is in memory (not on disk).
    let stopped_at = net.height(0);
    assert!(stopped_at <= failed_at + 1, "{failed_at} -> {stopped_at}");
    let e = net.handles[0].take().unwrap().stop().await.unwrap_err();
    assert!(e.is_fatal(), "{e}");
    assert!(
        matches!(&e, tabella_node::Error::DiskWrite { path, reason } if *path == db && reason.contains("os error 28")),
        "{e}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(net.height(0), stopped_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_agree() {
    let _g = serial().await;
    let txs = election_txs();
    let mut net = Net::new(4);
    for app in &net.apps {
        for tx in &txs {
            app.lock().unwrap().submit(tx.clone()).unwrap();
        }
    }
    net.start_all().await;
    net.wait_height(&[0, 1, 2, 3], 4, Duration::from_secs(90))
        .await;
    let start = Instant::now();
    while net
        .apps
        .iter()
        .any(|a| committed_txs(&a.lock().unwrap()) < txs.len())
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "transactions not committed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let top = (0..4).map(|i| net.height(i)).min().unwrap();
    net.assert_agree(&[0, 1, 2, 3], top);
    // Proposers after the first block were handed the previous block's verdicts.
    let handed: usize = net
        .apps
        .iter()
        .flat_map(|a| a.lock().unwrap().verdicts_seen.clone())
        .filter(|(h, _)| h.0 > 1)
        .map(|(_, n)| n)
        .min()
        .unwrap();
    assert!(handed >= 3, "a proposer got only {handed} verdict bitmaps");
    // ... and committed them on the chain (the production application does).
    let verdict_txs = committed_where(&net.apps[0].lock().unwrap(), |t| {
        matches!(t, Transaction::Verdicts { .. })
    });
    assert!(verdict_txs >= 1, "no verdict bitmaps were committed");
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_of_four_progress_two_do_not_and_restarted_nodes_catch_up() {
    let _g = serial().await;
    let mut net = Net::new(4);
    net.start_all().await;
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(90))
        .await;

    // One of four down: the other three go on.
    net.stop(3).await;
    let h = (0..3).map(|i| net.height(i)).max().unwrap();
    net.wait_height(&[0, 1, 2], h + 3, Duration::from_secs(60))
        .await;

    // Two of four down: no quorum, no progress.
    net.stop(2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let frozen: Vec<u64> = (0..2).map(|i| net.height(i)).collect();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after: Vec<u64> = (0..2).map(|i| net.height(i)).collect();
    assert_eq!(frozen, after, "two of four validators made progress");

    // Both come back with the same homes: the chain resumes and they catch up.
    net.start(2).await;
    net.start(3).await;
    let top = after.iter().copied().max().unwrap();
    net.wait_height(&[0, 1, 2, 3], top + 2, Duration::from_secs(90))
        .await;
    let common = (0..4).map(|i| net.height(i)).min().unwrap();
    net.assert_agree(&[0, 1, 2, 3], common);
    net.stop_all().await;
}

/// A validator whose process dies once its WAL holds a polka for a block but before it signs its
/// precommit comes back. Replaying its WAL, the engine precommits that block again and needs
/// this validator's verdicts on it (a precommit's extension is required), which the restarted
/// application never computed: it has the block only from the WAL. The engine used to stop
/// for good there ("safety-critical failure"); with another validator down, the chain then
/// never moved again (what the 4-process testnet test saw as "node 3 never catches up").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_validator_that_died_before_its_precommit_restarts_from_its_wal() {
    let _g = serial().await;
    let mut net = Net::new(4);
    net.start_all().await;
    net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(90))
        .await;
    // Node 3 down: nodes 0, 1 and 2 are exactly a quorum, nothing commits without node 2.
    net.stop(3).await;
    let crashed = Arc::new(AtomicBool::new(false));
    net.apps[2]
        .lock()
        .unwrap()
        .crash_at_next_precommit(Arc::clone(&crashed));
    let start = Instant::now();
    while !crashed.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "node 2 never got to precommit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    net.stop(2).await;
    let stuck = (0..2).map(|i| net.height(i)).max().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        (0..2).map(|i| net.height(i)).max().unwrap(),
        stuck,
        "two of four validators made progress"
    );
    let polka_height = net.height(2) + 1;
    assert_eq!(polka_height, stuck + 1, "node 2 died at the stuck height");

    // The same home (WAL), and the application as a new process finds it.
    let restarted = net.apps[2].lock().unwrap().restarted().unwrap();
    assert_eq!(restarted.chain().height().0, polka_height - 1);
    net.apps[2] = Arc::new(Mutex::new(restarted));
    net.start(2).await;
    let start = Instant::now();
    while net.height(2) < polka_height + 1 {
        assert!(
            !net.handles[2].as_ref().unwrap().is_finished(),
            "node 2's engine stopped while replaying its WAL"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "node 2 did not get past height {polka_height} after its restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    net.wait_height(&[0, 1, 2], polka_height + 1, Duration::from_secs(60))
        .await;
    let common = (0..3).map(|i| net.height(i)).min().unwrap();
    net.assert_agree(&[0, 1, 2], common);
    // Node 2's precommit (necessarily in the certificate: node 3 is down) carried its verdicts.
    {
        let app = net.apps[0].lock().unwrap();
        let commit = app.chain().commit(Height(polka_height)).unwrap();
        let me = net.secrets[2].public();
        assert!(commit.signatures.iter().any(|s| s.validator == me));
        assert!(commit.verdicts.iter().any(|b| b.bitmap.node == me));
    }
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_network_restarts_and_resumes() {
    let _g = serial().await;
    let mut net = Net::new(4);
    net.start_all().await;
    net.wait_height(&[0, 1, 2, 3], 3, Duration::from_secs(90))
        .await;
    net.stop_all().await;
    let top = (0..4).map(|i| net.height(i)).max().unwrap();
    // Same homes (WALs) and the same committed state: the engines start at tip + 1.
    net.start_all().await;
    net.wait_height(&[0, 1, 2, 3], top + 3, Duration::from_secs(90))
        .await;
    let common = (0..4).map(|i| net.height(i)).min().unwrap();
    net.assert_agree(&[0, 1, 2, 3], common);
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_blocks_stream_and_sync() {
    let _g = serial().await;
    let t0 = Instant::now();
    let txs: Vec<Transaction> = simulate(
        &SimulationConfig {
            voters: 150,
            seed: 7,
            ..Default::default()
        },
        &mut |_, _, _| {},
    )
    .unwrap()
    .record
    .log
    .iter()
    .map(|e| Transaction::election(e.clone()).unwrap())
    .collect();
    eprintln!("simulated {} transactions in {:?}", txs.len(), t0.elapsed());
    let mut net = Net::new(4);
    net.part_size = 256 * 1024;
    net.timeouts.propose = Duration::from_secs(3);
    for app in &net.apps[..3] {
        for tx in &txs {
            app.lock().unwrap().submit(tx.clone()).unwrap();
        }
    }
    eprintln!("submitted after {:?}", t0.elapsed());
    for i in 0..3 {
        net.start(i).await;
    }
    let start = Instant::now();
    while net.apps[..3]
        .iter()
        .any(|a| committed_txs(&a.lock().unwrap()) < txs.len())
    {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "transactions not committed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let biggest = {
        let app = net.apps[0].lock().unwrap();
        let chain = app.chain();
        (1..=chain.height().0)
            .map(|h| {
                serde_json::to_vec(chain.block(Height(h)).unwrap())
                    .unwrap()
                    .len()
            })
            .max()
            .unwrap()
    };
    eprintln!(
        "committed after {:?}; largest block {biggest} bytes",
        t0.elapsed()
    );
    assert!(
        biggest > 512 * 1024,
        "blocks were too small to test streaming: {biggest}"
    );
    // The fourth node catches up through the value sync, large blocks included.
    let top = net.height(0);
    net.start(3).await;
    net.wait_height(&[0, 1, 2, 3], top + 1, Duration::from_secs(120))
        .await;
    net.assert_agree(&[0, 1, 2, 3], top);
    eprintln!("synced after {:?}", t0.elapsed());
    net.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malicious_proposers_invalid_block_is_never_committed() {
    let _g = serial().await;
    let bad = invalid_tx();
    let bad_id = bad.id().unwrap();
    let mut net = Net::new(4);
    net.apps[0].lock().unwrap().set_malicious(bad);
    net.start_all().await;
    // Node 0 proposes first at height 4 (round-robin on height + round): get past two of its
    // turns.
    net.wait_height(&[1, 2, 3], 9, Duration::from_secs(120))
        .await;
    let proposed = net.apps[0]
        .lock()
        .unwrap()
        .verdicts_seen
        .iter()
        .filter(|(h, _)| h.0 == 4 || h.0 == 8)
        .count();
    assert!(proposed >= 1, "the malicious node never got to propose");
    let top = (1..4).map(|i| net.height(i)).min().unwrap();
    net.assert_agree(&[1, 2, 3], top);
    // Node 0's round-0 turns ended without a decision: those heights were decided later.
    for h in [4u64, 8] {
        let app = net.apps[1].lock().unwrap();
        let round = app.chain().commit(Height(h)).unwrap().round;
        assert!(round >= 1, "height {h} decided in round {round}");
    }
    for i in 0..4 {
        let app = net.apps[i].lock().unwrap();
        let chain = app.chain();
        for h in 1..=chain.height().0 {
            let block = chain.block(Height(h)).unwrap();
            assert!(
                block.tx_ids().unwrap().iter().all(|id| *id != bad_id),
                "node {i} committed the invalid transaction at height {h}"
            );
        }
    }
    net.stop_all().await;
}
