//! Ledger transactions (`Transaction::from_bytes`), as the node's mempool receives them: every
//! kind (election envelope, roster change, verdict bitmaps, statistics messages). A decoded
//! transaction must round-trip through its canonical bytes with a stable id, and it is checked
//! against a ledger that hosts an open election: whenever `check_tx` accepts it, `apply_tx` on
//! the same state must accept it too (the mempool's admission agrees with execution).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_ledger::tx::Transaction;

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("ledger_tx"), |data: &[u8]| {
    let Ok(tx) = Transaction::from_bytes(data) else {
        return;
    };
    let bytes = tx.to_bytes().unwrap();
    let back = Transaction::from_bytes(&bytes).unwrap();
    assert_eq!(back, tx);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    assert_eq!(back.id().unwrap(), tx.id().unwrap());
    let state = tabella_fuzz::ledger_state();
    if state.check_tx(&tx).is_ok() {
        let mut after = state.clone();
        if let Err(e) = after.apply_tx(&tx) {
            panic!("check_tx accepted a transaction that apply_tx refuses: {e}");
        }
    }
});
