//! Issue 10 (1) on the ledger: a forged ballot built by a voter who knew the old batch weights
//! (Enc(1000) and Enc(−999) with a signature that cancels the residual) is refused at mempool
//! admission, alone or batched with honest ballots, and a block carrying it is refused at
//! re-execution, leaving the state unchanged.

mod common;

use tabella_election::action::Envelope;
use tabella_election::batch::forgery::{old_single_weights, passes_with, Scenario};
use tabella_ledger::mempool::Mempool;
use tabella_ledger::state::LedgerState;
use tabella_ledger::tx::Transaction;

fn ledger_with(sc: &Scenario) -> LedgerState {
    let mut s = LedgerState::genesis(common::net(4, 4, 1).genesis_roster);
    let txs: Vec<Transaction> = sc
        .log
        .iter()
        .map(|e| Transaction::election(e.clone()).expect("tx"))
        .collect();
    s.apply_block(&txs).expect("the open election applies");
    s
}

#[test]
fn forged_ballot_is_refused_by_mempool_and_block_reexecution() {
    let mut sc = Scenario::open(2, 21).expect("scenario");
    let forged = sc
        .forged_ballot(0, &[], old_single_weights)
        .expect("forgery");
    assert!(
        passes_with(
            old_single_weights(&forged.payload),
            &forged,
            &sc.manifest,
            &sc.key,
            &sc.signer(0).expect("signer"),
            &[]
        ),
        "the forgery is real against known weights"
    );
    let honest = sc.honest_ballot(1).expect("honest");
    let forged_tx = Transaction::election(Envelope::Ballot(forged)).expect("tx");
    let honest_tx = Transaction::election(Envelope::Ballot(honest)).expect("tx");
    let state = ledger_with(&sc);

    // Mempool: alone, and in one parallel batch with an honest ballot.
    let mut pool = Mempool::new(&state, 16);
    assert!(pool.insert(forged_tx.clone()).is_err());
    let results = pool.insert_batch(vec![honest_tx.clone(), forged_tx.clone()]);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        results[1].is_err(),
        "the forgery is refused beside an honest ballot"
    );
    assert_eq!(pool.len(), 1);

    // Block re-execution: a proposer that includes it gets the whole block refused.
    let mut s = state.clone();
    let root = s.state_root();
    assert!(s
        .apply_block(&[honest_tx.clone(), forged_tx.clone()])
        .is_err());
    assert_eq!(s.state_root(), root, "a refused block changes nothing");
    assert!(s.preverify(&[forged_tx])[0].is_none());
    s.apply_block(&[honest_tx])
        .expect("the honest ballot alone is fine");
}
