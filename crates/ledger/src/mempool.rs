//! The mempool: transactions waiting for a block, validated and de-duplicated.
//!
//! It keeps a *check state*: the last committed state with every pending transaction applied in
//! arrival order. A new transaction is accepted only if it applies on top of that (full proof
//! checks), so a client may submit dependent transactions back to back (e.g. `open` right after
//! `start key ceremony`) and any prefix of the pending queue is a valid block. After each commit,
//! [`Mempool::recheck`] drops what was committed and re-validates the rest.

use std::collections::{BTreeSet, VecDeque};

use tabella_election::ballot::ParsedBallot;

use crate::error::{Error, Result};
use crate::state::LedgerState;
use crate::tx::Transaction;
use crate::types::TxId;

/// Pending transactions in arrival order.
#[derive(Clone, Debug)]
pub struct Mempool {
    /// Each with the decoding of its ballot, kept from admission (when it was verified).
    pending: VecDeque<(TxId, Transaction, Option<ParsedBallot>)>,
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
        self.insert_batch(vec![tx])
            .pop()
            .unwrap_or_else(|| Err(Error::MalformedTx("nothing to insert".into())))
    }

    /// Validates and queues many transactions at once: ballots are verified in parallel
    /// batches against the check state first ([`LedgerState::preverify`]), then each
    /// transaction is admitted in order exactly as by [`Self::insert`]. One result per
    /// transaction, in order.
    pub fn insert_batch(&mut self, txs: Vec<Transaction>) -> Vec<Result<TxId>> {
        let pre = self.check_state.preverify(&txs);
        self.insert_verified(txs, pre)
    }

    /// The state new transactions are checked against: the committed state plus the queue.
    pub fn check_state(&self) -> &LedgerState {
        &self.check_state
    }

    /// Admits transactions whose ballots were verified beforehand: `verified[i]` is the
    /// decoding of `txs[i]` if it is a ballot whose signature and proofs passed
    /// ([`LedgerState::verification_plan`] and [`crate::state::VerificationPlan::verify`]
    /// against this pool's check state, possibly an earlier version of it — keys never
    /// change); other transactions are applied with full checks.
    pub fn insert_verified(
        &mut self,
        txs: Vec<Transaction>,
        verified: Vec<Option<ParsedBallot>>,
    ) -> Vec<Result<TxId>> {
        let pre = verified;
        txs.into_iter()
            .zip(pre)
            .map(|(tx, parsed)| {
                let id = tx.id()?;
                if self.ids.contains(&id) {
                    return Err(Error::DuplicateTx(format!("{id} is already pending")));
                }
                if self.pending.len() >= self.capacity {
                    return Err(Error::MempoolFull(self.capacity));
                }
                match &parsed {
                    Some(p) => self.check_state.apply_preverified_ballot(&tx, p.clone())?,
                    None => self.check_state.apply_tx(&tx)?,
                };
                self.ids.insert(id);
                self.pending.push_back((id, tx, parsed));
                Ok(id)
            })
            .collect()
    }

    /// The first `max` pending transactions: a valid block's worth on the committed state.
    pub fn reap(&self, max: usize) -> Vec<Transaction> {
        self.pending
            .iter()
            .take(max)
            .map(|(_, t, _)| t.clone())
            .collect()
    }

    /// [`Self::reap`] with each ballot's decoding from admission (for
    /// [`LedgerState::apply_admitted_block`]).
    pub fn reap_admitted(&self, max: usize) -> Vec<(Transaction, Option<ParsedBallot>)> {
        self.pending
            .iter()
            .take(max)
            .map(|(_, t, p)| (t.clone(), p.clone()))
            .collect()
    }

    /// After a block is committed: removes its transactions, rebuilds the check state from the
    /// new committed `state`, and drops pending transactions that no longer apply. Returns the
    /// ids of the dropped ones.
    pub fn recheck(&mut self, state: &LedgerState, committed: &[TxId]) -> Vec<TxId> {
        // Common case: the block was exactly the head of the queue (this node's own proposal).
        // Then the check state — committed state plus the rest of the queue — is unchanged.
        // `committed` must list every transaction of the block for this to hold.
        let is_prefix = !committed.is_empty()
            && committed.len() <= self.pending.len()
            && committed
                .iter()
                .zip(self.pending.iter())
                .all(|(c, (id, _, _))| c == id);
        if is_prefix {
            for _ in 0..committed.len() {
                if let Some((id, _, _)) = self.pending.pop_front() {
                    self.ids.remove(&id);
                }
            }
            return Vec::new();
        }
        let committed: BTreeSet<&TxId> = committed.iter().collect();
        let old = core::mem::take(&mut self.pending);
        self.ids.clear();
        self.check_state = state.clone();
        let mut dropped = Vec::new();
        for (id, tx, parsed) in old {
            if committed.contains(&id) {
                continue;
            }
            // Admitted earlier: its proofs were verified then (keys never change).
            let applied = match &parsed {
                Some(p) => self.check_state.apply_preverified_ballot(&tx, p.clone()),
                None => self.check_state.apply_tx(&tx),
            };
            if applied.is_ok() {
                self.ids.insert(id);
                self.pending.push_back((id, tx, parsed));
            } else {
                dropped.push(id);
            }
        }
        dropped
    }
}
