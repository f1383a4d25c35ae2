//! An in-process [`LedgerApp`] for tests of the engine: the production [`NodeApp`] over an
//! in-memory store, with hooks a test needs. It can be made a malicious proposer that slips an
//! invalid transaction into its blocks, and can stand for a process that dies just before it
//! signs a precommit ([`MemoryApp::crash_at_next_precommit`]); [`MemoryApp::restarted`] is the
//! same validator's application after a restart (its committed blocks only);
//! [`MemoryApp::with_failing_disk`] is one whose disk fails on demand.
//!
//! Compiled only with the `testing` feature (the node's own tests turn it on).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tabella_ledger::block::{Block, Commit};
use tabella_ledger::chain::Chain;
use tabella_ledger::merkle;
use tabella_ledger::replica::Replica;
use tabella_ledger::roster::{Roster, ValidatorSecret};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};
use tabella_ledger::verdict::SignedBitmap;

use crate::app::{AppError, CommitError, LedgerApp};
use crate::node_app::{AppLimits, NodeApp};
use crate::store::Store;

/// A node's application in memory, with test hooks.
pub struct MemoryApp {
    app: NodeApp,
    /// Blocks a malicious node vouched for without checking them.
    vouched: HashMap<BlockHash, Block>,
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
        let store = Store::in_memory().map_err(|e| e.to_string())?;
        Self::with_store(secret, genesis, store)
    }

    /// [`MemoryApp::new`] on a disk that fails (every write, as a full disk's) once `fail` is
    /// raised; its database is named `path` in the errors.
    pub fn with_failing_disk(
        secret: ValidatorSecret,
        genesis: Chain,
        fail: Arc<AtomicBool>,
        path: &std::path::Path,
    ) -> Result<Self, AppError> {
        let store = Store::in_memory_failing(fail, path).map_err(|e| e.to_string())?;
        Self::with_store(secret, genesis, store)
    }

    fn with_store(secret: ValidatorSecret, genesis: Chain, store: Store) -> Result<Self, AppError> {
        let app = NodeApp::with_store(genesis.clone(), secret.clone(), store, AppLimits::default())
            .map_err(|e| e.to_string())?;
        Ok(MemoryApp {
            app,
            vouched: HashMap::new(),
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
            app.app
                .commit(block.clone(), commit.clone())
                .map_err(|e| e.to_string())?;
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
    /// not apply) at the end, with a header that matches the transactions; and it vouches for
    /// every proposal it sees without checking it.
    pub fn set_malicious(&mut self, tx: Transaction) {
        self.bad_tx = Some(tx);
    }

    /// Queues a transaction (checked against the committed state and pending ones).
    pub fn submit(&mut self, tx: Transaction) -> Result<TxId, AppError> {
        self.app.submit(tx).map_err(|e| e.to_string())
    }

    /// Pending transactions.
    pub fn pending(&self) -> usize {
        self.app.pending()
    }

    /// The committed chain.
    pub fn chain(&self) -> &Chain {
        self.app.chain()
    }

    /// The ledger replica.
    pub fn replica(&self) -> &Replica {
        self.app.replica()
    }
}

impl LedgerApp for MemoryApp {
    fn genesis_hash(&self) -> BlockHash {
        self.app.genesis_hash()
    }

    fn tip_height(&self) -> Height {
        self.app.tip_height()
    }

    fn next_roster(&self) -> Roster {
        self.app.next_roster()
    }

    fn propose(&mut self, height: Height, verdicts: Vec<SignedBitmap>) -> Result<Block, AppError> {
        self.verdicts_seen.push((height, verdicts.len()));
        let mut block = self.app.propose(height, verdicts)?;
        if let Some(bad) = &self.bad_tx {
            block.txs.push(bad.clone());
            let ids = block.tx_ids().map_err(|e| e.to_string())?;
            block.header.tx_root = merkle::root(&ids);
            block.header.tx_count = ids.len() as u64;
        }
        Ok(block)
    }

    fn validate(&mut self, block: &Block) -> Result<(), AppError> {
        if self.bad_tx.is_some() {
            // A malicious node vouches for anything it sees.
            self.vouched.insert(block.header.hash(), block.clone());
            return Ok(());
        }
        self.app.validate(block)
    }

    fn verdicts_for(&mut self, block: &BlockHash) -> Option<SignedBitmap> {
        if let Some(crashed) = &self.crash {
            crashed.store(true, Ordering::SeqCst);
            return None;
        }
        self.app.verdicts_for(block).or_else(|| {
            let b = self.vouched.get(block)?;
            self.app.replica().judge(b, &[]).ok()
        })
    }

    fn check_verdicts(&self, bitmap: &SignedBitmap) -> Result<(), AppError> {
        self.app.check_verdicts(bitmap)
    }

    fn commit(&mut self, block: Block, commit: Commit) -> Result<(), CommitError> {
        self.vouched.clear();
        self.app.commit(block, commit)
    }

    fn decided(&self, height: Height) -> Option<(Block, Commit)> {
        self.app.decided(height)
    }
}
