//! The node's application: a [`Replica`] of the ledger (the one implementation of proposing,
//! re-executing, judging and committing blocks), plus what a process adds around it — the
//! mempool, the durable store, and the indexes the HTTP API serves. It implements
//! [`LedgerApp`] for the consensus engine.
//!
//! Proof checking (seed 001 §5.1): a transaction enters the mempool only after every signature
//! and proof in it verified against the state it will apply to; a validator votes for a
//! proposal only after re-executing it — every ballot's proofs verified again, in parallel
//! batches — and obtaining the same state root and next roster. A block's own proposer has
//! verified each of its transactions at admission and does not verify them a second time.

use std::path::Path;

use tabella_election::action::Envelope;
use tabella_election::ballot::ParsedBallot;
use tabella_election::ids::Digest32;
use tabella_election::ids::ElectionId;
use tabella_election::tally::Results;
use tabella_ledger::block::{Block, Commit};
use tabella_ledger::chain::Chain;
use tabella_ledger::light::LightProof;
use tabella_ledger::mempool::Mempool;
use tabella_ledger::replica::{Committed, Replica};
use tabella_ledger::roster::{Roster, ValidatorKey, ValidatorSecret, ValidatorSignature};
use tabella_ledger::state::{decode_ballots, LedgerState, VerificationPlan};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};
use tabella_ledger::verdict::SignedBitmap;

use crate::app::{AppError, CommitError, LedgerApp};
use crate::error::Error;
use crate::genesis::Genesis;
use crate::index::Indexes;
use crate::store::Store;
use crate::wire::{
    BallotLookup, BlockWithCommit, CommittedVerdicts, ElectionSummary, NodeStatus, TxStatus,
};

/// Tunables of the application.
#[derive(Clone, Debug)]
pub struct AppLimits {
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// Most pending transactions.
    pub mempool_capacity: usize,
}

impl Default for AppLimits {
    fn default() -> Self {
        AppLimits {
            max_block_txs: 1_000,
            mempool_capacity: 100_000,
        }
    }
}

/// The node's application.
pub struct NodeApp {
    replica: Replica,
    mempool: Mempool,
    store: Store,
    limits: AppLimits,
    index: Indexes,
    /// The committed height, for clients waiting for the next block ([`NodeApp::watch_height`]).
    height: tokio::sync::watch::Sender<Height>,
    /// Where client transactions admitted here go to be relayed to the other validators.
    relay: Option<tokio::sync::mpsc::UnboundedSender<Vec<Transaction>>>,
}

fn app_err(e: impl std::fmt::Display) -> AppError {
    e.to_string()
}

impl NodeApp {
    /// Opens the node's application: the chain defined by `genesis`, the blocks stored in the
    /// database at `db_path` replayed on top (every proof re-verified), this validator's key.
    pub fn open(
        genesis: &Genesis,
        secret: ValidatorSecret,
        db_path: &Path,
        limits: AppLimits,
    ) -> Result<Self, Error> {
        Self::with_store(genesis.chain()?, secret, Store::open(db_path)?, limits)
    }

    /// The application over the genesis-only chain `genesis` and an opened `store` (on disk, or
    /// [`Store::in_memory`] for in-process networks), the blocks the store holds replayed.
    pub fn with_store(
        genesis: Chain,
        secret: ValidatorSecret,
        store: Store,
        limits: AppLimits,
    ) -> Result<Self, Error> {
        let index = Indexes::new(genesis.genesis_hash());
        let replica = Replica::new(secret, genesis)?;
        let mut app = NodeApp {
            mempool: Mempool::new(replica.state(), limits.mempool_capacity),
            replica,
            store,
            limits,
            index,
            height: tokio::sync::watch::Sender::new(Height(0)),
            relay: None,
        };
        for (block, commit) in app.store.blocks()? {
            app.apply_committed(block, commit, false)?;
        }
        for link in app.store.forward_links()? {
            // A link whose target block was not stored (crash between the two writes) is
            // simply signed again later.
            let _ = app.replica.add_forward_link(link);
        }
        Ok(app)
    }

    /// This node's validator key.
    pub fn key(&self) -> ValidatorKey {
        self.replica.key()
    }

    /// The committed chain.
    pub fn chain(&self) -> &Chain {
        self.replica.chain()
    }

    /// The committed state.
    pub fn state(&self) -> &LedgerState {
        self.replica.state()
    }

    /// The ledger replica this application wraps.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Validates and queues a client transaction.
    pub fn submit(&mut self, tx: Transaction) -> Result<TxId, Error> {
        Self::client_may_submit(&tx)?;
        Ok(self.mempool.insert(tx)?)
    }

    /// Validates and queues many client transactions (ballots verified in parallel).
    pub fn submit_batch(&mut self, txs: Vec<Transaction>) -> Vec<Result<TxId, Error>> {
        let plan = self.verification_plan(&txs, decode_ballots(&txs));
        let verified = plan.verify(&txs);
        self.submit_verified(txs, verified)
    }

    /// Step 2 of a batch submission that keeps the expensive work outside the node's lock
    /// (the API does: decode without the lock, plan with it, verify without it, then
    /// [`Self::submit_verified`] with it): what each ballot must be verified against.
    ///
    /// A ballot already in the mempool is left out: admission refuses it as a duplicate
    /// anyway, and checking its proofs again would let retries (a client resending after a
    /// timeout, the same ballot relayed by several validators) cost a full verification each.
    pub fn verification_plan(
        &self,
        txs: &[Transaction],
        mut decoded: Vec<Option<ParsedBallot>>,
    ) -> VerificationPlan {
        for (tx, d) in txs.iter().zip(decoded.iter_mut()) {
            if d.is_some() && tx.id().is_ok_and(|id| self.mempool.contains(&id)) {
                *d = None;
            }
        }
        self.mempool.check_state().verification_plan(txs, decoded)
    }

    /// Admits a batch whose ballots were verified with [`Self::verification_plan`].
    pub fn submit_verified(
        &mut self,
        txs: Vec<Transaction>,
        verified: Vec<Option<ParsedBallot>>,
    ) -> Vec<Result<TxId, Error>> {
        let mut allowed = Vec::with_capacity(txs.len());
        let mut allowed_pre = Vec::with_capacity(txs.len());
        let mut slots: Vec<Option<Result<TxId, Error>>> = Vec::with_capacity(txs.len());
        for (tx, pre) in txs.into_iter().zip(verified) {
            match Self::client_may_submit(&tx) {
                Ok(()) => {
                    allowed.push(tx);
                    allowed_pre.push(pre);
                    slots.push(None);
                }
                Err(e) => slots.push(Some(Err(e))),
            }
        }
        let mut results = self
            .mempool
            .insert_verified(allowed, allowed_pre)
            .into_iter();
        slots
            .into_iter()
            .map(|s| match s {
                Some(r) => r,
                None => match results.next() {
                    Some(r) => r.map_err(Error::from),
                    None => Err(Error::Task {
                        task: "mempool admission",
                        reason: "it returned fewer results than transactions".into(),
                    }),
                },
            })
            .collect()
    }

    fn client_may_submit(tx: &Transaction) -> Result<(), Error> {
        if matches!(tx, Transaction::Verdicts { .. }) {
            return Err(Error::Ledger(tabella_ledger::Error::MalformedTx(
                "verdict bitmaps are committed by block proposers, not submitted".into(),
            )));
        }
        Ok(())
    }

    /// Applies a committed block (from the engine, or from the store on start): the replica
    /// appends it, then the store, the mempool and the indexes follow, and this node signs the
    /// forward links it completes.
    fn apply_committed(
        &mut self,
        block: Block,
        commit: Commit,
        persist: bool,
    ) -> Result<(), Error> {
        // Verdict transactions never pass through the mempool (and change nothing a client
        // transaction depends on), so only the others are matched against the queue.
        let client_ids: Vec<TxId> = block
            .tx_ids()?
            .into_iter()
            .zip(&block.txs)
            .filter(|(_, t)| !matches!(t, Transaction::Verdicts { .. }))
            .map(|(id, _)| id)
            .collect();
        if self.replica.commit(block.clone(), commit.clone())? == Committed::AlreadyHad {
            return Ok(());
        }
        if persist {
            // Should the disk fail here, memory is one block ahead of the disk: the error is
            // fatal (`Error::DiskWrite`), the node stops within moments, and its restart
            // replays the disk while the engine re-delivers the block (from its write-ahead
            // log, or from the peers).
            self.store.put_block(&block, &commit)?;
        }
        self.mempool.recheck(self.replica.state(), &client_ids);
        self.index.add(&block);
        self.height.send_replace(self.chain().height());
        for link in self.replica.sign_due_forward_links()? {
            if persist {
                self.store.put_forward_link(&link)?;
            }
        }
        Ok(())
    }

    /// The signatures this node made on forward links (to share with peers).
    pub fn own_link_signatures(&self) -> Vec<(Height, u32, ValidatorSignature)> {
        self.replica.own_link_signatures()
    }

    /// Adds a validator's signature on the forward link `from → from + b^level`; with a
    /// quorum the link is recorded and stored.
    pub fn add_link_signature(
        &mut self,
        from: Height,
        level: u32,
        sig: ValidatorSignature,
    ) -> Result<(), Error> {
        if let Some(link) = self.replica.add_link_signature(from, level, sig)? {
            self.store.put_forward_link(&link)?;
        }
        Ok(())
    }

    /// Transactions waiting in the mempool.
    pub fn pending(&self) -> usize {
        self.mempool.len()
    }

    // ----- queries for the HTTP API -----

    /// `GET /v1/status`.
    pub fn status(&self) -> NodeStatus {
        NodeStatus {
            genesis_hash: self.chain().genesis_hash(),
            height: self.chain().height(),
            tip_hash: self.chain().tip().header.hash(),
            validator: self.key(),
            roster: self.replica.state().roster().clone(),
            mempool: self.mempool.len(),
        }
    }

    /// Relays the client transactions admitted from now on to `to` (the node's peer relay).
    pub fn set_relay(&mut self, to: tokio::sync::mpsc::UnboundedSender<Vec<Transaction>>) {
        self.relay = Some(to);
    }

    /// Hands admitted client transactions to the relay, if there is one (a closed relay is
    /// ignored: the transactions are in this node's own mempool in any case).
    pub fn relay(&self, txs: Vec<Transaction>) {
        if let (Some(r), false) = (&self.relay, txs.is_empty()) {
            let _ = r.send(txs);
        }
    }

    /// A receiver of the committed height, updated at every commit (to wait for the next block
    /// without polling).
    pub fn watch_height(&self) -> tokio::sync::watch::Receiver<Height> {
        self.height.subscribe()
    }

    /// A committed block by height.
    pub fn block_at(&self, h: Height) -> Option<BlockWithCommit> {
        Some(BlockWithCommit {
            block: self.chain().block(h)?.clone(),
            commit: self.chain().commit(h).cloned(),
        })
    }

    /// A committed block by hash.
    pub fn block_by_hash(&self, hash: &BlockHash) -> Option<BlockWithCommit> {
        self.index.height_of(hash).and_then(|h| self.block_at(h))
    }

    /// A transaction's status (`None`: unknown here).
    pub fn tx_status(&self, id: &TxId) -> Option<TxStatus> {
        if let Ok(receipt) = self.chain().receipt(id) {
            return Some(TxStatus::Committed { receipt });
        }
        self.mempool.contains(id).then_some(TxStatus::Pending)
    }

    /// The light-client proof of block `h`.
    pub fn light_proof(&self, h: Height) -> Result<LightProof, Error> {
        Ok(self.chain().light_proof(h)?)
    }

    /// Summaries of every hosted election.
    pub fn elections(&self) -> Vec<ElectionSummary> {
        self.state()
            .elections()
            .map(|(id, e)| self.summary_of(id, e))
            .collect()
    }

    fn summary_of(
        &self,
        id: &ElectionId,
        e: &tabella_ledger::state::ElectionEntry,
    ) -> ElectionSummary {
        let st = e.state();
        ElectionSummary {
            election_id: id.to_string(),
            title: st.manifest().map(|m| m.title.clone()),
            phase: st
                .phase()
                .and_then(|p| serde_json::to_value(p).ok())
                .and_then(|v| v.as_str().map(str::to_string)),
            accepted: e.accepted(),
            counts: st.counts(),
            last_height: self.index.election_last(id),
        }
    }

    /// One election's summary.
    pub fn election(&self, id: &ElectionId) -> Option<ElectionSummary> {
        self.replica
            .state()
            .election(id)
            .map(|e| self.summary_of(id, e))
    }

    /// Every accepted envelope of an election, in order.
    pub fn envelopes(&self, id: &ElectionId) -> Option<&[Envelope]> {
        self.index.envelopes(id)
    }

    /// An election's published results.
    pub fn results(&self, id: &ElectionId) -> Option<Option<&Results>> {
        self.replica
            .state()
            .election(id)
            .map(|e| e.state().results())
    }

    /// The committed verdict bitmaps on the blocks that carried this election's transactions.
    pub fn verdicts_for_election(&self, id: &ElectionId) -> Option<Vec<CommittedVerdicts>> {
        self.index.verdicts_for_election(id)
    }

    /// The committed verdict bitmaps on the block at `h`.
    pub fn verdicts_at(&self, h: Height) -> Vec<CommittedVerdicts> {
        self.index.verdicts_at(h)
    }

    /// A committed ballot found by its receipt (the ballot hash): where it is, its Merkle
    /// receipt, and whether it is counted (a later ballot of the same voter replaces it).
    pub fn ballot(&self, receipt: &Digest32) -> Option<BallotLookup> {
        let entry = self.index.ballot(receipt)?;
        let inclusion = self.chain().receipt(&entry.tx_id).ok()?;
        let counted = self
            .state()
            .election(&entry.election)
            .is_some_and(|e| e.state().counted_ballots().any(|h| h == *receipt));
        Some(BallotLookup {
            election_id: entry.election.to_string(),
            ballot: receipt.to_string(),
            tx_id: entry.tx_id,
            height: entry.height,
            receipt: inclusion,
            counted,
        })
    }

    /// Ballots committed per block (heights in order) for an election.
    pub fn ballots_by_height(&self, id: &ElectionId) -> Vec<(Height, u32)> {
        self.index.ballots_by_height(id).to_vec()
    }
}

impl LedgerApp for NodeApp {
    fn genesis_hash(&self) -> BlockHash {
        self.chain().genesis_hash()
    }

    fn tip_height(&self) -> Height {
        self.chain().height()
    }

    fn next_roster(&self) -> Roster {
        self.state().roster().clone()
    }

    fn propose(&mut self, height: Height, verdicts: Vec<SignedBitmap>) -> Result<Block, AppError> {
        let admitted = self.mempool.reap_admitted(self.limits.max_block_txs);
        self.replica
            .propose_admitted(height, verdicts, admitted)
            .map_err(app_err)
    }

    fn validate(&mut self, block: &Block) -> Result<(), AppError> {
        self.replica.validate(block).map_err(app_err)
    }

    fn verdicts_for(&mut self, block: &BlockHash) -> Option<SignedBitmap> {
        self.replica.verdicts_for(block)
    }

    fn check_verdicts(&self, bitmap: &SignedBitmap) -> Result<(), AppError> {
        self.replica.check_vote_extension(bitmap).map_err(app_err)
    }

    fn commit(&mut self, block: Block, commit: Commit) -> Result<(), CommitError> {
        self.apply_committed(block, commit, true).map_err(|e| {
            if e.is_fatal() {
                CommitError::Halt(e)
            } else {
                CommitError::Rejected(app_err(e))
            }
        })
    }

    fn decided(&self, height: Height) -> Option<(Block, Commit)> {
        let chain = self.chain();
        Some((chain.block(height)?.clone(), chain.commit(height)?.clone()))
    }
}

#[cfg(test)]
mod tests {
    use tabella_election::simulate::{simulate, SimulationConfig};
    use tabella_ledger::block::SkipchainParams;

    use super::*;

    #[test]
    fn a_queued_ballot_sent_again_is_refused_without_checking_its_proofs_again() {
        let secret = ValidatorSecret::from_bytes(&[3; 32]);
        let roster = Roster::new(vec![secret.public()]).unwrap();
        let genesis = Chain::genesis(SkipchainParams::default(), roster).unwrap();
        let mut app = NodeApp::with_store(
            genesis,
            secret,
            Store::in_memory().unwrap(),
            AppLimits::default(),
        )
        .unwrap();
        let cfg = SimulationConfig {
            voters: 3,
            tables: 0,
            ..SimulationConfig::default()
        };
        let log = simulate(&cfg, &mut |_, _, _| {}).unwrap().record.log;
        let first_ballot = log
            .iter()
            .position(|e| matches!(e, Envelope::Ballot(_)))
            .unwrap();
        let txs: Vec<Transaction> = log[..=first_ballot]
            .iter()
            .map(|e| Transaction::election(e.clone()).unwrap())
            .collect();
        let (setup, ballot) = txs.split_at(first_ballot);
        for r in app.submit_batch(setup.to_vec()) {
            r.unwrap();
        }
        let plan = |app: &NodeApp| {
            app.verification_plan(ballot, decode_ballots(ballot))
                .ballots()
        };
        assert_eq!(plan(&app), 1);
        app.submit_batch(ballot.to_vec())[0].as_ref().unwrap();
        // Queued now: a retry is not verified again, and is refused as a duplicate.
        assert_eq!(plan(&app), 0);
        let again = app.submit_batch(ballot.to_vec());
        let e = again[0].as_ref().unwrap_err().to_string();
        assert!(e.contains("duplicate transaction"), "{e}");
    }
}
