//! A whole simulated election run through four in-process validators: mempool, round-robin
//! proposer, re-execution and votes, > 2/3 commits. No network.

mod common;

use tabella_election::action::{Envelope, OfficialAction};
use tabella_election::simulate::{simulate, SimulationConfig, SimulationOutput};
use tabella_ledger::block::Block;
use tabella_ledger::mempool::Mempool;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{Height, TxId};
use tabella_ledger::verdict::Verdict;

use common::{net, Net};

fn election() -> SimulationOutput {
    simulate(
        &SimulationConfig {
            voters: 6,
            ..Default::default()
        },
        &mut |_, _, _| {},
    )
    .expect("simulation succeeds")
}

/// The same ballot with its first ciphertext's two components swapped: still well-formed JSON
/// with valid points, but its proofs (and signature) no longer hold.
fn flip_ciphertext(env: &Envelope) -> Envelope {
    let Envelope::Ballot(b) = env else {
        panic!("not a ballot")
    };
    let mut body: serde_json::Value = serde_json::from_str(&b.payload).unwrap();
    let ct = &mut body["contests"][0]["rows"][0]["ciphertexts"][0];
    let a = ct["a"].clone();
    ct["a"] = ct["b"].clone();
    ct["b"] = a;
    let mut bad = b.clone();
    bad.payload = serde_json::to_string(&body).unwrap();
    assert_ne!(bad.payload, b.payload);
    Envelope::Ballot(bad)
}

fn assert_replicas_agree(n: &Net) {
    let tip = n.chain().height();
    for v in &n.vals {
        assert_eq!(v.chain().height(), tip);
        assert_eq!(v.state().state_root(), n.vals[0].state().state_root());
        assert_eq!(v.state().state_root(), v.chain().tip().header.state_root);
        for k in 0..=tip.0 {
            assert_eq!(
                v.chain().block(Height(k)).unwrap().header.hash(),
                n.chain().block(Height(k)).unwrap().header.hash()
            );
        }
    }
}

#[test]
fn simulated_election_runs_through_four_validators() {
    let out = election();
    let election_id = out.record.manifest.election_id.clone();
    let mut n = net(4, 4, 2026);
    let mut pool = Mempool::new(n.vals[0].state(), 10_000);

    // The whole log is submitted at once: the mempool checks each against the pending ones.
    let mut ids = Vec::new();
    for env in &out.record.log {
        let tx = Transaction::election(env.clone()).unwrap();
        ids.push(pool.insert(tx.clone()).unwrap());
        // De-duplication by id.
        assert!(pool.insert(tx).is_err());
    }
    let first_ballot = out
        .record
        .log
        .iter()
        .find(|e| matches!(e, Envelope::Ballot(_)))
        .unwrap();
    let tampered = Transaction::election(flip_ciphertext(first_ballot)).unwrap();
    assert!(pool.insert(tampered.clone()).is_err(), "mempool rejects it");

    let mut refused_bad_block = false;
    while !pool.is_empty() {
        let txs = pool.reap(8);
        // A Byzantine proposer slips the tampered ballot into the first block with ballots,
        // claiming the state root the honest block would have.
        if !refused_bad_block
            && txs.iter().any(|t| {
                matches!(
                    t,
                    Transaction::Election {
                        envelope: Envelope::Ballot(_),
                        ..
                    }
                )
            })
        {
            let honest = n.propose(txs.clone()).unwrap();
            let mut bad_txs = txs.clone();
            let i = bad_txs
                .iter()
                .position(|t| {
                    matches!(
                        t,
                        Transaction::Election {
                            envelope: Envelope::Ballot(_),
                            ..
                        }
                    )
                })
                .unwrap();
            bad_txs[i] = tampered.clone();
            let header = n
                .chain()
                .next_header(
                    &bad_txs,
                    honest.header.state_root,
                    honest.header.next_roster_hash,
                )
                .unwrap();
            let bad = Block {
                header,
                txs: bad_txs,
            };
            // A decryption later in the same block was computed over the honest tallies, which
            // the replaced ballot changes: it fails with it.
            let depends = |t: &Transaction| {
                matches!(t, Transaction::Election { envelope: Envelope::Official(a), .. }
                if a.open().is_ok_and(|b| matches!(
                    b.action,
                    OfficialAction::Decrypt(_) | OfficialAction::PublishResults
                )))
            };
            // Every node's signed verdicts: the tampered ballot (and what depends on it) 0, the
            // rest 1.
            for v in &n.vals {
                let sb = v.judge(&bad, &[]).unwrap();
                sb.verify().unwrap();
                for k in 0..bad.txs.len() {
                    let want = if k == i || (k > i && depends(&bad.txs[k])) {
                        Verdict::Invalid
                    } else {
                        Verdict::Valid
                    };
                    assert_eq!(sb.bitmap.verdict(k), Some(want), "tx {k}");
                }
                // A transaction withheld past the deadline is marked 3, not left pending.
                let withheld = bad.txs[0].id().unwrap();
                let sb = v.judge(&bad, &[withheld]).unwrap();
                assert_eq!(sb.bitmap.verdict(0), Some(Verdict::NotReceived));
            }
            assert!(
                n.collect_votes(&bad).is_empty(),
                "no honest validator signs it"
            );
            assert!(n.decide(bad).is_none());
            // Appending the tampered ballot instead of replacing one is refused as well.
            let mut extra = txs.clone();
            extra.push(tampered.clone());
            assert!(n.propose(extra).is_err());
            refused_bad_block = true;
        }
        let block = n.step(txs);
        let committed: Vec<TxId> = block.tx_ids().unwrap();
        assert!(pool.recheck(n.vals[0].state(), &committed).is_empty());
        assert_replicas_agree(&n);
    }
    assert!(refused_bad_block);
    assert!(n.chain().height().0 >= 3);

    // Every transaction has a receipt that verifies against its block's header.
    for id in &ids {
        let r = n.chain().receipt(id).unwrap();
        let header = &n.chain().block(r.height).unwrap().header;
        r.verify(&header.tx_root).unwrap();
    }
    assert!(n.chain().receipt(&tampered.id().unwrap()).is_err());

    // The election on the ledger ends where the simulation ended.
    for v in &n.vals {
        let entry = v.state().election(&election_id).unwrap();
        assert_eq!(entry.accepted(), out.record.log.len() as u64);
        let results = entry.state().results().expect("tallied on the ledger");
        assert_eq!(Some(results), out.state.results());
        for (g, (eg, ev)) in results.groups.iter().zip(&out.expected) {
            assert_eq!(g.group, *eg);
            assert_eq!(&g.contests, ev);
        }
    }

    // Replaying a committed envelope is refused by state and mempool alike.
    let replay = Transaction::election(out.record.log[0].clone()).unwrap();
    assert!(n.vals[0].state().check_tx(&replay).is_err());
    assert!(pool.insert(replay).is_err());
}
