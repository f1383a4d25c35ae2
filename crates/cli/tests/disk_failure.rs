//! A node whose disk stops taking writes after it started (issue 17): it stops with one line
//! naming the file and the system's error (non-zero exit), and loses nothing committed: once
//! the disk is writable again, the restarted node holds every block it had committed, and goes
//! on committing. Twice: the ledger database alone made read-only (the node's own write of a
//! decided block fails), then the whole data directory (the consensus engine's write-ahead log
//! fails first).
//!
//! The fault is real: `chattr +i` makes files immutable, so that even root's writes through
//! descriptors opened before fail with EPERM (ext4 and others enforce it on open files). Where
//! `chattr +i` is not available (not root, or a filesystem without the flag) the test says so
//! and skips: `chmod a-w` would not stop writes through descriptors the node already holds.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{create_tx, text, wait_for, ToNode, BIN, NODE_PW};
use tabella_election::simulate::{simulate_into, SimulationConfig};
use tabella_ledger::types::{BlockHash, Height};
use tabella_node::client::NodeClient;

/// `chattr FLAG -R path`; false if the flag cannot be set here.
fn chattr(flag: &str, path: &Path) -> bool {
    Command::new("chattr")
        .args(["-R", flag])
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `file` refuses to be written now, as the node's open descriptors would.
fn write_refused(file: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(file).is_err()
}

fn run_node(dir: &Path, run: usize) -> Child {
    let out = std::fs::File::create(dir.join(format!("run-{run}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("run-{run}.err"))).unwrap();
    Command::new(BIN)
        .args(["node", "run", "--home"])
        .arg(dir.join("n"))
        .env(NODE_PW.0, NODE_PW.1)
        .env_remove("TABELLA_LOG")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

/// The hash of every block from 1 to the node's tip.
fn chain(c: &NodeClient) -> Vec<BlockHash> {
    let tip = c.status().unwrap().height;
    (1..=tip.0)
        .map(|h| c.block(Height(h)).unwrap().block.header.hash())
        .collect()
}

/// Makes `target` read-only while the node runs; returns its stderr once it exits (it must,
/// with an error), after checking it names one of `named` (the first one is checked to refuse
/// writes) and the system's error; `None` if `chattr` cannot do it here.
fn fail_and_stop(
    dir: &Path,
    node: &mut Child,
    run: usize,
    target: &Path,
    named: &[&Path],
) -> Option<(String, Duration)> {
    if !chattr("+i", target) || !write_refused(named[0]) {
        chattr("-i", target);
        return None;
    }
    let failed = Instant::now();
    let status = loop {
        if let Some(s) = node.try_wait().unwrap() {
            break s;
        }
        if failed.elapsed() > Duration::from_secs(30) {
            let _ = node.kill();
            chattr("-i", target);
            panic!("the node still runs 30 s after its disk failed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stopped = failed.elapsed();
    let err = std::fs::read_to_string(dir.join(format!("run-{run}.err"))).unwrap();
    chattr("-i", target);
    assert!(!status.success(), "exit {status}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(
        named
            .iter()
            .any(|p| err.starts_with(&format!("error: cannot write {}: ", p.display()))),
        "{err}"
    );
    assert!(err.contains("(os error 1)"), "{err}");
    Some((err.trim().to_string(), stopped))
}

#[test]
fn a_node_whose_disk_fails_stops_with_the_error_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let api = format!("127.0.0.1:{}", support::free_port());
    let p2p = format!("127.0.0.1:{}", support::free_port());
    let init = support::tabella(
        dir.path(),
        &[NODE_PW],
        &[
            "node", "init", "--dev", "--home", "n", "--api", &api, "--p2p", &p2p,
        ],
    );
    assert!(init.status.success(), "{}", text(&init));
    let data = dir.path().join("n").join("data");
    let db = data.join("ledger.redb");
    let wal = data.join("engine").join("wal").join("consensus.wal");
    let client = NodeClient::new(&format!("http://{api}"));
    let up = |c: &NodeClient| wait_for("the node to answer", 60, || c.status().is_ok());

    // A small election, committed.
    let mut node = support::Proc(run_node(dir.path(), 1));
    up(&client);
    let cfg = SimulationConfig {
        election_id: "before-the-failure".into(),
        voters: 6,
        ..SimulationConfig::default()
    };
    let sim = simulate_into(&cfg, &mut |_, _, _| {}, &mut ToNode(client.clone())).unwrap();
    let results = client.results("before-the-failure").unwrap();
    assert_eq!(results, *sim.state.results().unwrap());

    // 1. The ledger database alone refuses writes: the next decided block cannot be stored.
    let before = chain(&client);
    let Some((err, stopped)) = fail_and_stop(dir.path(), &mut node.0, 1, &db, &[&db]) else {
        eprintln!(
            "skipped: `chattr +i` cannot make {} read-only here (not root, or no such flag on this filesystem)",
            db.display()
        );
        return;
    };
    eprintln!(
        "ledger database read-only ({} blocks committed before): stopped {:.2} s later: {err}",
        before.len(),
        stopped.as_secs_f64()
    );
    let mut node = support::Proc(run_node(dir.path(), 2));
    up(&client);
    assert_kept(&before, &chain(&client));
    assert_eq!(client.results("before-the-failure").unwrap(), results);
    let tx = create_tx(&sim.record.manifest, "after-the-first-failure");
    client
        .submit_and_wait(&tx, Duration::from_secs(60))
        .unwrap();

    // 2. The whole data directory refuses writes: the write-ahead log usually fails first
    // (or the database, if a block was being decided at that moment).
    let before = chain(&client);
    let (err, stopped) = fail_and_stop(dir.path(), &mut node.0, 2, &data, &[&wal, &db])
        .expect("chattr worked a moment ago");
    eprintln!(
        "data directory read-only: stopped {:.2} s later: {err}",
        stopped.as_secs_f64()
    );
    let _node = support::Proc(run_node(dir.path(), 3));
    up(&client);
    assert_kept(&before, &chain(&client));
    let tx = create_tx(&sim.record.manifest, "after-the-second-failure");
    client
        .submit_and_wait(&tx, Duration::from_secs(60))
        .unwrap();
    assert_eq!(client.elections().unwrap().len(), 3);
}

/// Every block committed `before` the failure is still there, unchanged, at the start of `after`.
fn assert_kept<T: PartialEq + std::fmt::Debug>(before: &[T], after: &[T]) {
    assert!(
        after.len() >= before.len(),
        "{} < {}",
        after.len(),
        before.len()
    );
    assert_eq!(
        after[..before.len()],
        before[..],
        "a committed block changed"
    );
}
