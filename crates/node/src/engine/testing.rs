//! An in-memory [`LedgerApp`] for tests of the engine: a [`Validator`] replica and a
//! [`Mempool`], nothing persisted. It can be made a malicious proposer that slips an invalid
//! transaction into its blocks, and can stand for a process that dies just before it signs a
//! precommit ([`MemoryApp::crash_at_next_precommit`]); [`MemoryApp::restarted`] is the same
//! validator's application after a restart (its committed blocks only).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tabella_ledger::block::{Block, Commit};
use tabella_ledger::chain::Chain;
use tabella_ledger::mempool::Mempool;
use tabella_ledger::merkle;
use tabella_ledger::roster::{Roster, ValidatorSecret};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};
use tabella_ledger::validator::Validator;
use tabella_ledger::verdict::SignedBitmap;

use crate::app::{AppError, LedgerApp};

/// A validator replica with a mempool, in memory.
#[derive(Debug)]
pub struct MemoryApp {
    validator: Validator,
    mempool: Mempool,
    validated: HashMap<BlockHash, Block>,
    max_block_txs: usize,
    bad_tx: Option<Transaction>,
    /// Raised (and every extension refused) once the simulated crash point is reached.
    crash: Option<Arc<AtomicBool>>,
    secret: ValidatorSecret,
    genesis: Chain,
    /// Verdict bitmaps the proposer was handed with each height it proposed.
    pub verdicts_seen: Vec<(Height, usize)>,
}

impl MemoryApp {
    /// A replica of the genesis-only chain `genesis`, signing with `secret`.
    pub fn new(secret: ValidatorSecret, genesis: Chain) -> Result<Self, AppError> {
        let validator =
            Validator::new(secret.clone(), genesis.clone()).map_err(|e| e.to_string())?;
        let mempool = Mempool::new(validator.state(), 100_000);
        Ok(MemoryApp {
            validator,
            mempool,
            validated: HashMap::new(),
            max_block_txs: 1_000,
            bad_tx: None,
            crash: None,
            secret,
            genesis,
            verdicts_seen: Vec::new(),
        })
    }

    /// This validator's application as a restarted process finds it: the committed blocks
    /// replayed on genesis, and nothing that lived in memory only (the blocks it validated and
    /// their verdicts, the mempool).
    pub fn restarted(&self) -> Result<Self, AppError> {
        let mut app = MemoryApp::new(self.secret.clone(), self.genesis.clone())?;
        let chain = self.chain();
        for h in 1..=chain.height().0 {
            let (Some(block), Some(commit)) = (chain.block(Height(h)), chain.commit(Height(h)))
            else {
                return Err(format!("block {h} is missing from the committed chain"));
            };
            app.commit(block.clone(), commit.clone())?;
        }
        Ok(app)
    }

    /// Simulates a process that dies when it is about to sign its next precommit for a block:
    /// from now on every request for this validator's vote extension raises `crashed` and is
    /// refused, so the engine never signs that precommit (its WAL is left as a crash at that
    /// point leaves it). Throw this application away and restart from [`MemoryApp::restarted`].
    pub fn crash_at_next_precommit(&mut self, crashed: Arc<AtomicBool>) {
        self.crash = Some(crashed);
    }

    /// Makes this node a malicious proposer: every block it proposes carries `tx` (which should
    /// not apply) at the end, with a header that matches the transactions.
    pub fn set_malicious(&mut self, tx: Transaction) {
        self.bad_tx = Some(tx);
    }

    /// Queues a transaction (checked against the committed state and pending ones).
    pub fn submit(&mut self, tx: Transaction) -> Result<TxId, AppError> {
        self.mempool.insert(tx).map_err(|e| e.to_string())
    }

    /// Pending transactions.
    pub fn pending(&self) -> usize {
        self.mempool.len()
    }

    /// The committed chain.
    pub fn chain(&self) -> &Chain {
        self.validator.chain()
    }

    /// The validator replica.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }
}

impl LedgerApp for MemoryApp {
    fn genesis_hash(&self) -> BlockHash {
        self.chain().genesis_hash()
    }

    fn tip_height(&self) -> Height {
        self.chain().height()
    }

    fn next_roster(&self) -> Roster {
        self.validator.state().roster().clone()
    }

    fn propose(&mut self, height: Height, verdicts: Vec<SignedBitmap>) -> Result<Block, AppError> {
        if self.tip_height().next() != Some(height) {
            return Err(format!(
                "asked to propose height {height} on tip {}",
                self.tip_height()
            ));
        }
        self.verdicts_seen.push((height, verdicts.len()));
        let txs = self.mempool.reap(self.max_block_txs);
        let mut block = self.validator.propose(txs).map_err(|e| e.to_string())?;
        if let Some(bad) = &self.bad_tx {
            block.txs.push(bad.clone());
            let ids = block.tx_ids().map_err(|e| e.to_string())?;
            block.header.tx_root = merkle::root(&ids);
            block.header.tx_count = ids.len() as u64;
        }
        Ok(block)
    }

    fn validate(&mut self, block: &Block) -> Result<(), AppError> {
        let hash = block.header.hash();
        if self.bad_tx.is_some() {
            // A malicious node vouches for anything it sees.
            self.validated.insert(hash, block.clone());
            return Ok(());
        }
        self.validator.vote(block).map_err(|e| e.to_string())?;
        self.validated.insert(hash, block.clone());
        Ok(())
    }

    fn verdicts_for(&mut self, block: &BlockHash) -> Option<SignedBitmap> {
        if let Some(crashed) = &self.crash {
            crashed.store(true, Ordering::SeqCst);
            return None;
        }
        let b = self.validated.get(block)?;
        self.validator.judge(b, &[]).ok()
    }

    fn check_verdicts(&self, bitmap: &SignedBitmap) -> Result<(), AppError> {
        if !self
            .validator
            .state()
            .roster()
            .contains(&bitmap.bitmap.node)
        {
            return Err("verdicts from outside the roster".into());
        }
        bitmap.verify().map_err(|e| e.to_string())
    }

    fn commit(&mut self, block: Block, commit: Commit) -> Result<(), AppError> {
        let ids = block.tx_ids().map_err(|e| e.to_string())?;
        self.validator
            .commit(block, commit)
            .map_err(|e| e.to_string())?;
        self.mempool.recheck(self.validator.state(), &ids);
        self.validated.clear();
        Ok(())
    }

    fn decided(&self, height: Height) -> Option<(Block, Commit)> {
        let chain = self.chain();
        Some((chain.block(height)?.clone(), chain.commit(height)?.clone()))
    }
}
