//! Soak under faults (issue 17): a 4-validator testnet of real `tabella node run` processes on
//! 127.0.0.1 takes ballots at a steady rate while validator A is SIGKILLed and restarted
//! every 20 s and validator B is paused (SIGSTOP) for 10 s of every 30 s. The client behaves as
//! a voter's device would: it sends each batch to the next node round-robin, moves on to another
//! node when one does not answer within 2 s (and leaves that one alone for 3 s), and sends a
//! ballot again when no receipt came for it within 60 s and a node does not know it. Afterwards, on every node: every
//! ballot that got a receipt is in exactly one committed block, the blocks are the same at
//! every height, sampled receipts verify against their blocks; the election is then closed and
//! decrypted, and its record, exported from each node, is the same everywhere and verifies.
//!
//! Bounded: every wait has a deadline. The figures are printed at the end, with a progress
//! line every 10 s (run with `--nocapture` to see them). `TABELLA_SOAK_BALLOTS` and
//! `TABELLA_SOAK_RATE` (ballots/s) set the load: the default is 1,500 ballots at 50/s (about
//! 100 s on a 2-core machine); the 5,000 do not finish within the limit there, for
//! the reasons in docs/BENCHMARKS.md "Soak under faults".

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{signal, wait_for, Testnet, ToNode};
use tabella_election::action::Envelope;
use tabella_election::simulate::{
    simulate_into, ten_option_contest, SimulationConfig, Sink, Stage,
};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};
use tabella_node::client::NodeClient;
use tabella_node::wire::TxStatus;

/// The validator killed and restarted every [`KILL_EVERY`].
const A: usize = 3;
/// The validator paused for [`PAUSE_FOR`] of every [`PAUSE_EVERY`], from [`PAUSE_AT`] on.
const B: usize = 2;
const KILL_EVERY: Duration = Duration::from_secs(20);
/// How long A stays down before its restart.
const DOWN_FOR: Duration = Duration::from_secs(1);
const PAUSE_EVERY: Duration = Duration::from_secs(30);
const PAUSE_AT: Duration = Duration::from_secs(5);
const PAUSE_FOR: Duration = Duration::from_secs(10);
/// One batch of ballots every tick.
const TICK: Duration = Duration::from_millis(100);
/// Threads sending batches (a batch waits for a free one).
const SENDERS: usize = 4;
/// A request to a node that takes longer fails, and the client tries another node.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// A node that failed a request is left alone this long.
const SUSPECT_FOR: Duration = Duration::from_secs(3);
/// A ballot admitted without a receipt after this long is looked up on a node, and sent again
/// if that node does not know it.
const RESUBMIT_AFTER: Duration = Duration::from_secs(60);
/// At most this many such look-ups a second.
const LOOKUPS_PER_SECOND: usize = 50;
/// The soak must be over (every ballot with a receipt) within this.
const SOAK_LIMIT: Duration = Duration::from_secs(420);

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Everything the client threads learn, by ballot index.
#[derive(Default)]
struct Ledger {
    index: HashMap<TxId, usize>,
    /// When the ballot was last admitted by a node (a `tx_id` came back), if not committed.
    admitted: Vec<Option<Instant>>,
    /// The height of the block whose receipt the client saw, and when.
    committed: Vec<Option<(Height, Instant)>>,
    /// Ballots seen in a second block (must stay empty).
    duplicates: Vec<(usize, Height, Height)>,
    /// Blocks as the watcher saw them.
    hashes: HashMap<Height, BlockHash>,
}

impl Ledger {
    fn all_committed(&self) -> bool {
        self.committed.iter().all(Option::is_some)
    }
}

#[derive(Default)]
struct Counters {
    batches: AtomicUsize,
    /// Requests that failed (node down, paused, or refusing) and went to another node.
    failovers: AtomicUsize,
    /// Batches no node took (they went out again with a later tick).
    unsent: AtomicUsize,
    resubmitted: AtomicUsize,
    /// Refusals because the node already had the ballot (pending or committed).
    duplicate_refusals: AtomicUsize,
    /// Other refusals (the ballot is sent again later), with the last message.
    other_refusals: AtomicUsize,
    last_refusal: Mutex<String>,
}

struct Figures {
    ballots: usize,
    rate: usize,
    setup: Duration,
    submit: Duration,
    drain: Duration,
    converge: Duration,
    kills: usize,
    restarts: usize,
    pauses: usize,
    max_height: Height,
    blocks_with_ballots: usize,
    max_ballots_in_a_block: usize,
    counters: Arc<Counters>,
    latency_p50: Duration,
    latency_p99: Duration,
}

/// The simulation's sink: the election's setup, close and decryption go to node 0; the
/// casting stage is the soak.
struct Soak<'a> {
    net: &'a mut Testnet,
    setup_started: Instant,
    figures: Option<Figures>,
    rate: usize,
}

impl Sink for Soak<'_> {
    fn publish(&mut self, stage: Stage, envs: &[Envelope]) -> tabella_election::Result<()> {
        if stage == Stage::Casting {
            let setup = self.setup_started.elapsed();
            self.figures = Some(soak(self.net, envs, self.rate, setup));
            Ok(())
        } else {
            ToNode(self.net.client(0)).publish(stage, envs)
        }
    }
}

/// Submits `envs` under faults; returns once every ballot has a receipt, every node runs
/// again and all have converged, after checking every node's blocks.
fn soak(net: &mut Testnet, envs: &[Envelope], rate: usize, setup: Duration) -> Figures {
    let txs: Vec<Transaction> = envs
        .iter()
        .map(|e| Transaction::election(e.clone()).unwrap())
        .collect();
    let ids: Arc<Vec<TxId>> = Arc::new(txs.iter().map(|t| t.id().unwrap()).collect());
    let n = txs.len();
    let per_tick = (rate / 10).max(1);
    let ledger = Arc::new(Mutex::new(Ledger {
        index: ids.iter().enumerate().map(|(i, id)| (*id, i)).collect(),
        admitted: vec![None; n],
        committed: vec![None; n],
        ..Ledger::default()
    }));
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let submitted_all = Arc::new(AtomicBool::new(false));
    let clients: Vec<NodeClient> = (0..net.n)
        .map(|i| NodeClient::with_timeout(&net.url(i), CLIENT_TIMEOUT))
        .collect();
    let start_height = net.client(0).status().unwrap().height;
    let first_sent: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; n]));

    // The watcher: follows the committed blocks through whichever node answers; a ballot in a
    // block is a receipt issued.
    let watcher = {
        let (ledger, clients, stop) = (ledger.clone(), clients.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut next = start_height.next().unwrap();
            let mut node = 0;
            while !stop.load(Ordering::SeqCst) {
                match clients[node].block(next) {
                    Ok(b) => {
                        let now = Instant::now();
                        let mut l = ledger.lock().unwrap();
                        l.hashes.insert(next, b.block.header.hash());
                        for id in b.block.tx_ids().unwrap() {
                            let Some(&i) = l.index.get(&id) else { continue };
                            match l.committed[i] {
                                Some((h, _)) => l.duplicates.push((i, h, next)),
                                None => {
                                    l.committed[i] = Some((next, now));
                                    l.admitted[i] = None;
                                }
                            }
                        }
                        next = next.next().unwrap();
                    }
                    Err(_) => {
                        node = (node + 1) % clients.len();
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        })
    };

    // The client: a batch every tick, handed to one of a few senders so that a slow or
    // paused node does not slow the offered rate; each batch goes to the next node
    // round-robin, and to the one after if that one fails.
    let txs = Arc::new(txs);
    let again: Arc<Mutex<Vec<usize>>> = Arc::default();
    let (to_senders, batches) = std::sync::mpsc::channel::<Vec<usize>>();
    let batches = Arc::new(Mutex::new(batches));
    let rr = Arc::new(AtomicUsize::new(0));
    let suspect_until = Arc::new(Mutex::new(vec![Instant::now(); clients.len()]));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (batches, clients, txs, ledger, counters, again, rr, suspect_until) = (
                batches.clone(),
                clients.clone(),
                txs.clone(),
                ledger.clone(),
                counters.clone(),
                again.clone(),
                rr.clone(),
                suspect_until.clone(),
            );
            std::thread::spawn(move || loop {
                let next = batches.lock().unwrap().recv();
                let Ok(batch) = next else { return };
                let body: Vec<Transaction> = batch.iter().map(|&i| txs[i].clone()).collect();
                let mut sent = false;
                for _ in 0..clients.len() {
                    let node = rr.fetch_add(1, Ordering::SeqCst) % clients.len();
                    if suspect_until.lock().unwrap()[node] > Instant::now() {
                        continue;
                    }
                    match clients[node].submit_batch(&body) {
                        Ok(results) => {
                            counters.batches.fetch_add(1, Ordering::SeqCst);
                            let now = Instant::now();
                            let mut l = ledger.lock().unwrap();
                            for (&i, r) in batch.iter().zip(results) {
                                match r {
                                    Ok(_) => {
                                        if l.committed[i].is_none() {
                                            l.admitted[i] = Some(now);
                                        }
                                    }
                                    Err(e) if e.contains("duplicate transaction") => {
                                        // Some node has it already (a request that timed out
                                        // on a paused node, or a relay): wait for its receipt,
                                        // and send it again if none comes.
                                        counters.duplicate_refusals.fetch_add(1, Ordering::SeqCst);
                                        if l.committed[i].is_none() {
                                            l.admitted[i] = Some(now);
                                        }
                                    }
                                    Err(e) => {
                                        counters.other_refusals.fetch_add(1, Ordering::SeqCst);
                                        *counters.last_refusal.lock().unwrap() = e;
                                        if l.committed[i].is_none() {
                                            again.lock().unwrap().push(i);
                                        }
                                    }
                                }
                            }
                            sent = true;
                            break;
                        }
                        Err(_) => {
                            counters.failovers.fetch_add(1, Ordering::SeqCst);
                            suspect_until.lock().unwrap()[node] = Instant::now() + SUSPECT_FOR;
                        }
                    }
                }
                if !sent {
                    counters.unsent.fetch_add(1, Ordering::SeqCst);
                    again.lock().unwrap().extend(batch);
                }
            })
        })
        .collect();
    let ticker = {
        let (stop, submitted_all, first_sent, again) = (
            stop.clone(),
            submitted_all.clone(),
            first_sent.clone(),
            again.clone(),
        );
        std::thread::spawn(move || {
            let mut tick = Instant::now();
            let mut fresh = 0usize;
            while !stop.load(Ordering::SeqCst) {
                tick += TICK;
                if let Some(wait) = tick.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let now = Instant::now();
                let mut batch: Vec<usize> = std::mem::take(&mut *again.lock().unwrap());
                let upto = (fresh + per_tick).min(n);
                {
                    let mut f = first_sent.lock().unwrap();
                    for slot in &mut f[fresh..upto] {
                        *slot = Some(now);
                    }
                }
                batch.extend(fresh..upto);
                fresh = upto;
                if fresh == n {
                    submitted_all.store(true, Ordering::SeqCst);
                }
                if !batch.is_empty() {
                    let _ = to_senders.send(batch);
                }
            }
            // Dropping `to_senders` ends the senders.
        })
    };

    // A ballot admitted without a receipt for a while is looked up on a node; unknown there
    // (lost with a killed node's mempool), it is sent again.
    let resender = {
        let (ledger, counters, stop, again, clients, ids) = (
            ledger.clone(),
            counters.clone(),
            stop.clone(),
            again.clone(),
            clients.clone(),
            ids.clone(),
        );
        std::thread::spawn(move || {
            let mut node = 0;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs(1));
                let now = Instant::now();
                let due: Vec<usize> = {
                    let l = ledger.lock().unwrap();
                    (0..n)
                        .filter(|&i| {
                            l.committed[i].is_none()
                                && l.admitted[i]
                                    .is_some_and(|at| now.duration_since(at) > RESUBMIT_AFTER)
                        })
                        .take(LOOKUPS_PER_SECOND)
                        .collect()
                };
                for i in due {
                    node = (node + 1) % clients.len();
                    let status = clients[node].tx_status(&ids[i]);
                    let mut l = ledger.lock().unwrap();
                    if l.committed[i].is_some() {
                        continue;
                    }
                    match status {
                        Err(tabella_node::Error::Api { status: 404, .. }) => {
                            l.admitted[i] = None;
                            again.lock().unwrap().push(i);
                            counters.resubmitted.fetch_add(1, Ordering::SeqCst);
                        }
                        // Pending there, or the node did not answer: wait again.
                        _ => l.admitted[i] = Some(Instant::now()),
                    }
                }
            }
        })
    };

    // The faults, on an explicit schedule from the first submission: A killed at 20 s, 40 s,
    // … and restarted 1 s later; B paused from 5 s to 15 s, 35 s to 45 s, … Faults stop once
    // every ballot was sent once.
    let soak_start = Instant::now();
    let (mut kills, mut restarts, mut pauses) = (0, 0, 0);
    let mut next_kill = KILL_EVERY;
    let mut killed_at: Option<Instant> = None;
    let mut paused = false;
    let done = |ledger: &Mutex<Ledger>| ledger.lock().unwrap().all_committed();
    // Every 10 s, where the soak stands (so that a slow run shows where the time goes).
    let mut next_report = Duration::from_secs(10);
    let mut report = |ledger: &Mutex<Ledger>, paused: bool, a_down: bool| {
        let t = soak_start.elapsed();
        if t < next_report {
            return;
        }
        next_report += Duration::from_secs(10);
        let l = ledger.lock().unwrap();
        let sent = first_sent
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.is_some())
            .count();
        let receipts = l.committed.iter().filter(|c| c.is_some()).count();
        let waiting = l.admitted.iter().filter(|a| a.is_some()).count();
        let height = l.hashes.keys().max().copied().unwrap_or_default();
        println!(
            "  t={:>4.0} s  sent {sent:>5}  admitted without receipt {waiting:>5}  receipts {receipts:>5}  watched height {height:>4}  failovers {}  resent {}{}{}",
            t.as_secs_f64(),
            counters.failovers.load(Ordering::SeqCst),
            counters.resubmitted.load(Ordering::SeqCst),
            if a_down { "  (A down)" } else { "" },
            if paused { "  (B paused)" } else { "" },
        );
    };
    while !submitted_all.load(Ordering::SeqCst) {
        let t = soak_start.elapsed();
        assert!(t < SOAK_LIMIT, "the soak did not end in {SOAK_LIMIT:?}");
        if t >= next_kill && killed_at.is_none() {
            net.kill9(A);
            kills += 1;
            killed_at = Some(Instant::now());
            next_kill += KILL_EVERY;
        }
        if killed_at.is_some_and(|k| k.elapsed() >= DOWN_FOR) {
            net.restart(A);
            restarts += 1;
            killed_at = None;
        }
        let phase = Duration::from_nanos((t.as_nanos() % PAUSE_EVERY.as_nanos()) as u64);
        let in_pause = phase >= PAUSE_AT && phase < PAUSE_AT + PAUSE_FOR;
        if in_pause && !paused {
            signal(net.pid(B), "STOP");
            pauses += 1;
            paused = true;
        } else if !in_pause && paused {
            signal(net.pid(B), "CONT");
            paused = false;
        }
        if killed_at.is_none() && restarts > 0 {
            net.assert_running(A);
        }
        report(&ledger, paused, killed_at.is_some());
        std::thread::sleep(Duration::from_millis(20));
    }
    let submit = soak_start.elapsed();
    if paused {
        signal(net.pid(B), "CONT");
    }
    if killed_at.is_some() {
        net.restart(A);
        restarts += 1;
    }
    let faults_over = Instant::now();
    // Every ballot gets its receipt (some are sent again by the client).
    while !done(&ledger) {
        if soak_start.elapsed() > SOAK_LIMIT {
            let missing = ledger
                .lock()
                .unwrap()
                .committed
                .iter()
                .filter(|c| c.is_none())
                .count();
            stop.store(true, Ordering::SeqCst);
            panic!(
                "{missing} of {n} ballots without a receipt after {SOAK_LIMIT:?} (last refusal: {:?})",
                counters.last_refusal.lock().unwrap()
            );
        }
        net.assert_running(A);
        report(&ledger, false, false);
        std::thread::sleep(Duration::from_millis(100));
    }
    let drain = faults_over.elapsed();
    stop.store(true, Ordering::SeqCst);
    ticker.join().unwrap();
    resender.join().unwrap();
    for s in senders {
        s.join().unwrap();
    }
    watcher.join().unwrap();

    // Every node catches up with the highest tip seen when the last receipt came.
    let clients: Vec<NodeClient> = (0..net.n).map(|i| net.client(i)).collect();
    let target = clients
        .iter()
        .filter_map(|c| c.status().ok().map(|s| s.height))
        .max()
        .unwrap();
    for (i, c) in clients.iter().enumerate() {
        wait_for(&format!("node {i} to reach height {target}"), 120, || {
            c.status().is_ok_and(|s| s.height >= target)
        });
    }
    let converge = faults_over.elapsed();

    // On every node: the same block at every height, each ballot in exactly one of them, at
    // the height of the receipt the client saw.
    let l = ledger.lock().unwrap();
    assert!(
        l.duplicates.is_empty(),
        "ballots in two blocks: {:?}",
        l.duplicates
    );
    let mut hashes: Vec<BlockHash> = Vec::new();
    let mut per_block: HashMap<Height, usize> = HashMap::new();
    for (i, c) in clients.iter().enumerate() {
        let mut seen: Vec<Option<Height>> = vec![None; n];
        for h in start_height.0 + 1..=target.0 {
            let b = c.block(Height(h)).unwrap();
            let hash = b.block.header.hash();
            if i == 0 {
                hashes.push(hash);
            } else {
                assert_eq!(
                    hash,
                    hashes[(h - start_height.0 - 1) as usize],
                    "node {i} differs at height {h}"
                );
            }
            if let Some(watched) = l.hashes.get(&Height(h)) {
                assert_eq!(*watched, hash, "node {i}: block {h} is not the one watched");
            }
            for id in b.block.tx_ids().unwrap() {
                if let Some(&k) = l.index.get(&id) {
                    assert!(
                        seen[k].is_none(),
                        "node {i}: ballot {k} in blocks {:?} and {h}",
                        seen[k]
                    );
                    seen[k] = Some(Height(h));
                    if i == 0 {
                        *per_block.entry(Height(h)).or_default() += 1;
                    }
                }
            }
        }
        for (k, s) in seen.iter().enumerate() {
            let receipt = l.committed[k].map(|(h, _)| h);
            assert_eq!(*s, receipt, "node {i}: ballot {k} (receipt {receipt:?})");
        }
        // Sampled receipts, from this node, verify against its blocks.
        for k in (i..n).step_by(97) {
            match c.tx_status(&ids[k]).unwrap() {
                TxStatus::Committed { receipt } => {
                    assert_eq!(Some(receipt.height), *seen.get(k).unwrap());
                    let b = c.block(receipt.height).unwrap();
                    receipt.verify(&b.block.header.tx_root).unwrap();
                }
                other => panic!("node {i}: ballot {k} is {other:?}"),
            }
        }
    }
    let first = first_sent.lock().unwrap();
    let mut latency: Vec<Duration> = (0..n)
        .filter_map(|k| Some(l.committed[k]?.1.duration_since(first[k]?)))
        .collect();
    latency.sort();
    let pct = |p: f64| latency[((latency.len() - 1) as f64 * p).round() as usize];
    Figures {
        ballots: n,
        rate,
        setup,
        submit,
        drain,
        converge,
        kills,
        restarts,
        pauses,
        max_height: target,
        blocks_with_ballots: per_block.len(),
        max_ballots_in_a_block: per_block.values().copied().max().unwrap_or(0),
        counters: counters.clone(),
        latency_p50: pct(0.5),
        latency_p99: pct(0.99),
    }
}

#[test]
fn ballots_survive_a_killed_and_a_paused_validator() {
    let started = Instant::now();
    let ballots = env_or("TABELLA_SOAK_BALLOTS", 1_500);
    let rate = env_or("TABELLA_SOAK_RATE", 50);
    let dir = tempfile::tempdir().unwrap();
    let mut net = Testnet::start(dir.path(), 4);
    let cfg = SimulationConfig {
        election_id: "soak".into(),
        voters: ballots,
        tables: 0,
        revote_fraction: 0.0,
        contests: Some(vec![ten_option_contest()]),
        seed: 17,
        ..SimulationConfig::default()
    };
    let mut sink = Soak {
        net: &mut net,
        setup_started: Instant::now(),
        figures: None,
        rate,
    };
    // When each stage of the election started (where the time goes).
    let mut stages: Vec<(Stage, Instant)> = Vec::new();
    let mut progress = |stage: Stage, _: usize, _: usize| {
        if stages.last().is_none_or(|(s, _)| *s != stage) {
            stages.push((stage, Instant::now()));
        }
    };
    let sim = simulate_into(&cfg, &mut progress, &mut sink).unwrap();
    stages.push((Stage::Done, Instant::now()));
    let f = sink.figures.take().expect("the election cast ballots");
    let closed = started.elapsed();

    // The election as every node holds it: the same results, the same record, which verifies.
    let mut record_files: Option<Vec<(String, Vec<u8>)>> = None;
    for i in 0..net.n {
        assert_eq!(
            net.client(i).results("soak").unwrap(),
            *sim.state.results().unwrap(),
            "node {i}"
        );
        let out = dir.path().join(format!("record-{i}"));
        let o = support::tabella(
            dir.path(),
            &[],
            &[
                "election",
                "record",
                "--election",
                "soak",
                "--out",
                out.to_str().unwrap(),
                "--node",
                &net.url(i),
            ],
        );
        assert!(o.status.success(), "{}", support::text(&o));
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        match &record_files {
            None => record_files = Some(files),
            Some(first) => assert!(*first == files, "node {i}'s record differs from node 0's"),
        }
    }
    assert_eq!(
        net.client(0).envelopes("soak").unwrap().len(),
        sim.record.log.len()
    );
    let verify_started = Instant::now();
    let record = dir.path().join("record-0");
    let o = support::tabella(dir.path(), &[], &["verify", record.to_str().unwrap()]);
    assert!(o.status.success(), "{}", support::text(&o));
    let verify = verify_started.elapsed();

    let c = &f.counters;
    println!(
        "soak under faults: {} ballots at {}/s on 4 validators (A = node {A} SIGKILLed every {}s and restarted {}s later; B = node {B} paused {}s of every {}s)",
        f.ballots,
        f.rate,
        KILL_EVERY.as_secs(),
        DOWN_FOR.as_secs(),
        PAUSE_FOR.as_secs(),
        PAUSE_EVERY.as_secs()
    );
    println!(
        "  election set-up        {:.1} s ({} registrations, ballots encrypted)",
        f.setup.as_secs_f64(),
        f.ballots
    );
    let took: Vec<String> = stages
        .windows(2)
        .map(|w| format!("{:?} {:.1} s", w[0].0, (w[1].1 - w[0].1).as_secs_f64()))
        .collect();
    println!("  election stages        {}", took.join(", "));
    println!(
        "  submission             {:.1} s ({:.0} ballots/s), {} batches, {} failovers, {} batches no node took",
        f.submit.as_secs_f64(),
        f.ballots as f64 / f.submit.as_secs_f64(),
        c.batches.load(Ordering::SeqCst),
        c.failovers.load(Ordering::SeqCst),
        c.unsent.load(Ordering::SeqCst)
    );
    println!(
        "  faults                 {} kills, {} restarts, {} pauses",
        f.kills, f.restarts, f.pauses
    );
    println!(
        "  receipts               {} of {} ballots; {} sent again (no receipt in {} s, unknown to a node), {} refused as duplicates, {} refused otherwise",
        f.ballots,
        f.ballots,
        c.resubmitted.load(Ordering::SeqCst),
        RESUBMIT_AFTER.as_secs(),
        c.duplicate_refusals.load(Ordering::SeqCst),
        c.other_refusals.load(Ordering::SeqCst)
    );
    println!(
        "  submit-to-receipt      p50 {:.2} s, p99 {:.2} s",
        f.latency_p50.as_secs_f64(),
        f.latency_p99.as_secs_f64()
    );
    println!(
        "  after the faults       last receipt in {:.1} s, all 4 nodes at height {} in {:.1} s",
        f.drain.as_secs_f64(),
        f.max_height,
        f.converge.as_secs_f64()
    );
    println!(
        "  blocks                 {} with ballots (at most {} in one); every ballot in exactly one block on every node, hashes agree",
        f.blocks_with_ballots, f.max_ballots_in_a_block
    );
    println!(
        "  record                 identical from the 4 nodes, verified in {:.1} s",
        verify.as_secs_f64()
    );
    println!(
        "  total                  {:.1} s (election closed and decrypted after {:.1} s)",
        started.elapsed().as_secs_f64(),
        closed.as_secs_f64()
    );
}
