//! A 4-validator testnet of real `tabella node run` processes on 127.0.0.1 (Malachite BFT):
//! identical blocks on every node, progress with one node killed (SIGKILL), no progress with
//! two down and progress again when one returns, a restarted node catching up, the light
//! client from genesis, and a forged ballot never committed. Bounded: every wait has a deadline.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use support::{create_tx, wait_for, Testnet};

use tabella_election::action::Envelope;
use tabella_election::simulate::{simulate_into, SimulationConfig};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::Height;
use tabella_node::client::NodeClient;
use tabella_node::wire::TxStatus;

fn tabella(args: &[&str], cwd: &std::path::Path) -> Output {
    support::tabella(cwd, &[], args)
}

#[test]
fn four_validators_agree_survive_one_failure_and_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Testnet::start(dir.path(), 4);
    let api = net.api;
    let clients: Vec<NodeClient> = (0..4).map(|i| net.client(i)).collect();

    // A small election through node 0.
    let cfg = SimulationConfig {
        election_id: "testnet-election".into(),
        voters: 12,
        ..SimulationConfig::default()
    };
    let mut sink = support::ToNode(clients[0].clone());
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
    net.kill9(3);
    let t1 = create_tx(&sim.record.manifest, "after-one-down");
    let s1 = clients[0]
        .submit_and_wait(&t1, Duration::from_secs(60))
        .unwrap();
    assert!(matches!(s1, TxStatus::Committed { .. }));

    // Two down: no quorum, no progress. Node 2 may have precommitted the block of the height
    // in progress before it died; that one block can still be committed, nothing after it.
    net.kill9(2);
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
    net.restart(2);
    wait_for("the quorum to commit again", 90, || {
        net.assert_running(2);
        matches!(clients[0].tx_status(&id2), Ok(TxStatus::Committed { .. }))
    });
    let recovered = returned.elapsed();
    // The other restarted node catches up through the engine's sync.
    let returned = Instant::now();
    net.restart(3);
    let target = clients[0].status().unwrap().height;
    wait_for("node 3 to catch up", 90, || {
        net.assert_running(3);
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
