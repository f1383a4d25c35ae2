//! The application state, mempool and chain rules on real election logs.

mod common;

use tabella_election::ids::ElectionId;
use tabella_election::simulate::{simulate, SimulationConfig, SimulationOutput};
use tabella_ledger::block::{Block, Commit};
use tabella_ledger::mempool::Mempool;
use tabella_ledger::state::LedgerState;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{RosterHash, StateRoot};
use tabella_ledger::Error;

use common::net;

fn election(id: &str, seed: u64) -> SimulationOutput {
    simulate(
        &SimulationConfig {
            election_id: id.into(),
            voters: 6,
            seed,
            ..Default::default()
        },
        &mut |_, _, _| {},
    )
    .expect("simulation succeeds")
}

fn txs(out: &SimulationOutput) -> Vec<Transaction> {
    out.record
        .log
        .iter()
        .map(|e| Transaction::election(e.clone()).unwrap())
        .collect()
}

fn genesis() -> LedgerState {
    LedgerState::genesis(net(4, 4, 1).genesis_roster)
}

#[test]
fn blocks_apply_all_or_nothing_and_roots_depend_only_on_the_log() {
    let out = election("atomic", 5);
    let all = txs(&out);
    let mut s = genesis();
    let r0 = s.state_root();
    // Transaction 1 (start key ceremony) cannot precede the create: the block fails at index 0
    // and nothing changes.
    let err = s
        .apply_block(&[all[1].clone(), all[0].clone()])
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidTxInBlock { index: 0, .. }),
        "{err}"
    );
    assert_eq!(s.state_root(), r0);
    assert!(s.elections().next().is_none());
    // A good first transaction followed by a bad one: still nothing changes.
    let err = s
        .apply_block(&[all[0].clone(), all[0].clone()])
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidTxInBlock { index: 1, .. }),
        "{err}"
    );
    assert_eq!(s.state_root(), r0);

    // One big block or many small ones: the same final root; every step changes the root.
    let mut one = genesis();
    let root_one = one.apply_block(&all).unwrap();
    let mut many = genesis();
    let mut seen = vec![many.state_root()];
    for chunk in all.chunks(5) {
        let r = many.apply_block(chunk).unwrap();
        assert!(!seen.contains(&r));
        seen.push(r);
    }
    assert_eq!(root_one, many.state_root());
    assert_ne!(root_one, r0);
    let id = ElectionId::new("atomic").unwrap();
    assert_eq!(
        one.election(&id).unwrap().state().results(),
        out.state.results()
    );
}

#[test]
fn two_elections_side_by_side() {
    let a = election("alpha", 11);
    let b = election("beta", 12);
    let (ta, tb) = (txs(&a), txs(&b));
    let mut s = genesis();
    // Interleave the two logs.
    let mut mixed = Vec::new();
    for i in 0..ta.len().max(tb.len()) {
        mixed.extend(ta.get(i).cloned());
        mixed.extend(tb.get(i).cloned());
    }
    for chunk in mixed.chunks(7) {
        s.apply_block(chunk).unwrap();
    }
    assert_eq!(s.elections().count(), 2);
    let ra = s.election(&ElectionId::new("alpha").unwrap()).unwrap();
    let rb = s.election(&ElectionId::new("beta").unwrap()).unwrap();
    assert_eq!(ra.state().results(), a.state.results());
    assert_eq!(rb.state().results(), b.state.results());
    assert_ne!(ra.log_digest(), rb.log_digest());
}

#[test]
fn transactions_must_name_their_envelopes_election() {
    let out = election("named", 3);
    let env = out.record.log[0].clone();
    let wrong = Transaction::Election {
        election_id: ElectionId::new("other").unwrap(),
        envelope: env.clone(),
    };
    let s = genesis();
    assert!(matches!(s.check_tx(&wrong), Err(Error::MalformedTx(_))));
    let right = Transaction::election(env).unwrap();
    s.check_tx(&right).unwrap();
    // check_tx changes nothing.
    assert!(s.elections().next().is_none());
    // Canonical bytes round-trip to the same id.
    let back = Transaction::from_bytes(&right.to_bytes().unwrap()).unwrap();
    assert_eq!(back.id().unwrap(), right.id().unwrap());
    assert_ne!(wrong.id().unwrap(), right.id().unwrap());
    assert!(Transaction::from_bytes(b"{\"kind\":\"nope\"}").is_err());
}

#[test]
fn mempool_validates_deduplicates_and_rechecks() {
    let out = election("pool", 8);
    let all = txs(&out);
    let s = genesis();
    // Out of order: the second action needs the first.
    let mut pool = Mempool::new(&s, 3);
    assert!(pool.insert(all[1].clone()).is_err());
    for t in &all[..3] {
        pool.insert(t.clone()).unwrap();
    }
    assert!(matches!(
        pool.insert(all[3].clone()),
        Err(Error::MempoolFull(3))
    ));
    assert_eq!(pool.reap(2), all[..2].to_vec());

    // Another proposer commits the first two transactions: a fresh recheck against the new
    // state keeps the third, and drops nothing.
    let mut committed = s.clone();
    committed.apply_block(&all[..2]).unwrap();
    let ids: Vec<_> = all[..2].iter().map(|t| t.id().unwrap()).collect();
    assert!(pool.recheck(&committed, &ids).is_empty());
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&all[2].id().unwrap()));

    // A pool that still holds transactions the new state already contains (reported without
    // their ids) drops them as invalid.
    let mut stale = Mempool::new(&s, 10);
    for t in &all[..3] {
        stale.insert(t.clone()).unwrap();
    }
    let mut further = s.clone();
    further.apply_block(&all[..3]).unwrap();
    assert_eq!(stale.recheck(&further, &[]).len(), 3);
    assert!(stale.is_empty());
}

#[test]
fn validators_refuse_wrong_roots_and_chains_refuse_bad_commits() {
    let out = election("votes", 9);
    let all = txs(&out);
    let mut n = net(4, 4, 77);
    let good = n.propose(all[..3].to_vec()).unwrap();

    // A header with a wrong state root or a wrong next roster is not signed.
    let mut bad_root = good.clone();
    bad_root.header.state_root = StateRoot([1; 32]);
    assert!(n.collect_votes(&bad_root).is_empty());
    let mut bad_roster = good.clone();
    bad_roster.header.next_roster_hash = RosterHash([7; 32]);
    assert!(n.collect_votes(&bad_roster).is_empty());
    // Transactions that do not match the header's root.
    let swapped = Block {
        header: good.header.clone(),
        txs: all[..2].to_vec(),
    };
    assert!(n.collect_votes(&swapped).is_empty());
    // Wrong back links.
    let mut bad_links = good.clone();
    bad_links.header.back_links[0].0[0] ^= 1;
    assert!(n.collect_votes(&bad_links).is_empty());

    // A commit with two of four signatures does not append.
    let sigs = n.collect_votes(&good);
    assert_eq!(sigs.len(), 4);
    let weak = Commit {
        height: good.header.height,
        round: 0,
        block: good.header.hash(),
        signatures: sigs[..2].to_vec(),
        verdicts: vec![],
    };
    let mut chain = n.chain().clone();
    let roster = chain.next_roster().unwrap().clone();
    assert!(matches!(
        chain.append(good.clone(), weak, roster.clone()),
        Err(Error::NoQuorum { .. })
    ));
    let strong = Commit {
        height: good.header.height,
        round: 0,
        block: good.header.hash(),
        signatures: sigs,
        verdicts: vec![],
    };
    chain.append(good, strong, roster).unwrap();
    assert_eq!(chain.height().0, 1);
}
