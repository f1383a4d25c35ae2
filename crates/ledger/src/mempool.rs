//! The mempool: transactions waiting for a block, validated and de-duplicated.
//!
//! It keeps a *check state*: the last committed state with every pending transaction applied in
//! arrival order. A new transaction is accepted only if it applies on top of that (full proof
//! checks), so a client may submit dependent transactions back to back (e.g. `open` right after
//! `start key ceremony`) and any prefix of the pending queue is a valid block. After each commit,
//! [`Mempool::recheck`] drops what was committed and re-validates the rest.

use std::collections::{BTreeSet, VecDeque};

use crate::error::{Error, Result};
use crate::state::LedgerState;
use crate::tx::Transaction;
use crate::types::TxId;

/// Pending transactions in arrival order.
#[derive(Clone, Debug)]
pub struct Mempool {
    pending: VecDeque<(TxId, Transaction)>,
    ids: BTreeSet<TxId>,
    check_state: LedgerState,
    capacity: usize,
}

impl Mempool {
    /// An empty mempool over the committed `state`, holding at most `capacity` transactions.
    pub fn new(state: &LedgerState, capacity: usize) -> Self {
        Mempool {
            pending: VecDeque::new(),
            ids: BTreeSet::new(),
            check_state: state.clone(),
            capacity,
        }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Whether `id` is pending.
    pub fn contains(&self, id: &TxId) -> bool {
        self.ids.contains(id)
    }

    /// Validates and queues a transaction; returns its id. Rejects duplicates, a full pool, and
    /// anything that does not apply on top of the committed state plus the pending queue.
    pub fn insert(&mut self, tx: Transaction) -> Result<TxId> {
        let id = tx.id()?;
        if self.ids.contains(&id) {
            return Err(Error::DuplicateTx(format!("{id} is already pending")));
        }
        if self.pending.len() >= self.capacity {
            return Err(Error::MempoolFull(self.capacity));
        }
        self.check_state.apply_tx(&tx)?;
        self.ids.insert(id);
        self.pending.push_back((id, tx));
        Ok(id)
    }

    /// The first `max` pending transactions: a valid block's worth on the committed state.
    pub fn reap(&self, max: usize) -> Vec<Transaction> {
        self.pending
            .iter()
            .take(max)
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// After a block is committed: removes its transactions, rebuilds the check state from the
    /// new committed `state`, and drops pending transactions that no longer apply. Returns the
    /// ids of the dropped ones.
    pub fn recheck(&mut self, state: &LedgerState, committed: &[TxId]) -> Vec<TxId> {
        let committed: BTreeSet<&TxId> = committed.iter().collect();
        let old = core::mem::take(&mut self.pending);
        self.ids.clear();
        self.check_state = state.clone();
        let mut dropped = Vec::new();
        for (id, tx) in old {
            if committed.contains(&id) {
                continue;
            }
            if self.check_state.apply_tx(&tx).is_ok() {
                self.ids.insert(id);
                self.pending.push_back((id, tx));
            } else {
                dropped.push(id);
            }
        }
        dropped
    }
}
