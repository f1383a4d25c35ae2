//! The node's application: committed chain and state, mempool, durable store, and the
//! indexes the HTTP API serves. It implements [`LedgerApp`] for the consensus engine.
//!
//! Proof checking (seed 001 §5.1): a transaction enters the mempool only after every signature
//! and proof in it verified against the state it will apply to; a validator votes for a
//! proposal only after re-executing it — every ballot's proofs verified again, in parallel
//! batches — and obtaining the same state root and next roster. A block's own proposer has
//! verified each of its transactions at admission and does not verify them a second time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use tabella_election::action::Envelope;
use tabella_election::ballot::ParsedBallot;
use tabella_election::ids::ElectionId;
use tabella_election::tally::Results;
use tabella_ledger::block::{Block, Commit, ForwardLink, SkipchainParams};
use tabella_ledger::chain::Chain;
use tabella_ledger::light::LightProof;
use tabella_ledger::mempool::Mempool;
use tabella_ledger::roster::{Roster, ValidatorKey, ValidatorSecret, ValidatorSignature};
use tabella_ledger::state::{decode_ballots, LedgerState, VerificationPlan};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, ProofId, TxId};
use tabella_ledger::verdict::{ProofKind, ProofSlot, SignedBitmap, VerdictBitmap};

use crate::app::{AppError, LedgerApp};
use crate::error::Error;
use crate::store::Store;
use crate::wire::{BlockWithCommit, CommittedVerdicts, ElectionSummary, NodeStatus, TxStatus};

/// The chain's founding document, the same on every node (`genesis.json`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Genesis {
    /// A human name for the chain.
    pub chain_name: String,
    /// Skipchain parameters (back-link base and height).
    pub params: SkipchainParams,
    /// The founding roster.
    pub validators: Vec<ValidatorKey>,
}

impl Genesis {
    /// The genesis-only chain this document defines.
    pub fn chain(&self) -> Result<Chain, Error> {
        let roster = Roster::new(self.validators.clone())?;
        Ok(Chain::genesis(self.params, roster)?)
    }
}

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

/// A proposal this node re-executed: the state it leads to and this node's verdicts.
struct Validated {
    hash: BlockHash,
    next: LedgerState,
    verdicts: Option<SignedBitmap>,
}

/// The node's application.
pub struct NodeApp {
    secret: ValidatorSecret,
    chain: Chain,
    state: LedgerState,
    mempool: Mempool,
    store: Store,
    limits: AppLimits,
    validated: Vec<Validated>,
    by_hash: HashMap<BlockHash, Height>,
    envelopes: BTreeMap<ElectionId, Vec<Envelope>>,
    election_last: BTreeMap<ElectionId, Height>,
    election_blocks: BTreeMap<ElectionId, BTreeSet<u64>>,
    verdicts: Vec<CommittedVerdicts>,
    link_signatures: BTreeMap<(u64, u32), Vec<ValidatorSignature>>,
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
        let chain = genesis.chain()?;
        let roster = chain.next_roster()?.clone();
        let store = Store::open(db_path)?;
        let state = LedgerState::genesis(roster);
        let mut app = NodeApp {
            secret,
            mempool: Mempool::new(&state, limits.mempool_capacity),
            by_hash: HashMap::from([(chain.genesis_hash(), Height(0))]),
            chain,
            state,
            store,
            limits,
            validated: Vec::new(),
            envelopes: BTreeMap::new(),
            election_last: BTreeMap::new(),
            election_blocks: BTreeMap::new(),
            verdicts: Vec::new(),
            link_signatures: BTreeMap::new(),
        };
        for (block, commit) in app.store.blocks()? {
            app.apply_committed(block, commit, false)?;
        }
        for link in app.store.forward_links()? {
            // A link whose target block was not stored (crash between the two writes) is
            // simply signed again later.
            let _ = app.chain.add_forward_link(link);
        }
        Ok(app)
    }

    /// This node's validator key.
    pub fn key(&self) -> ValidatorKey {
        self.secret.public()
    }

    /// The committed chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The committed state.
    pub fn state(&self) -> &LedgerState {
        &self.state
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
    pub fn verification_plan(
        &self,
        txs: &[Transaction],
        decoded: Vec<Option<ParsedBallot>>,
    ) -> VerificationPlan {
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
                    None => Err(Error::Engine("missing mempool result".into())),
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

    /// Applies a committed block (from the engine, or from the store on start).
    fn apply_committed(
        &mut self,
        block: Block,
        commit: Commit,
        persist: bool,
    ) -> Result<(), Error> {
        let height = block.header.height;
        let hash = block.header.hash();
        let next = match self.validated.iter().position(|v| v.hash == hash) {
            Some(i) => self.validated.swap_remove(i).next,
            None => {
                let mut s = self.state.clone();
                let root = s.apply_block(&block.txs)?;
                if root != block.header.state_root {
                    return Err(Error::Ledger(tabella_ledger::Error::BadBlock {
                        height,
                        reason: format!(
                            "state root {} but re-execution gives {root}",
                            block.header.state_root
                        ),
                    }));
                }
                s
            }
        };
        // `append` checks everything before changing the chain.
        self.chain
            .append(block.clone(), commit.clone(), next.roster().clone())?;
        if persist {
            // Should the disk fail here, memory is one block ahead of the disk; a restart
            // replays from the disk and the engine re-delivers the block.
            self.store.put_block(&block, &commit)?;
        }
        self.state = next;
        self.validated.clear();
        self.by_hash.insert(hash, height);
        // Verdict transactions never pass through the mempool (and change nothing a client
        // transaction depends on), so only the others are matched against the queue.
        let ids: Vec<TxId> = block
            .tx_ids()?
            .into_iter()
            .zip(&block.txs)
            .filter(|(_, t)| !matches!(t, Transaction::Verdicts { .. }))
            .map(|(id, _)| id)
            .collect();
        self.mempool.recheck(&self.state, &ids);
        self.index(&block);
        self.sign_forward_links(persist)?;
        Ok(())
    }

    fn index(&mut self, block: &Block) {
        let height = block.header.height;
        for tx in &block.txs {
            match tx {
                Transaction::Election {
                    election_id,
                    envelope,
                } => {
                    self.envelopes
                        .entry(election_id.clone())
                        .or_default()
                        .push(envelope.clone());
                    self.election_last.insert(election_id.clone(), height);
                    self.election_blocks
                        .entry(election_id.clone())
                        .or_default()
                        .insert(height.0);
                }
                Transaction::Verdicts { bitmaps, .. } => {
                    for b in bitmaps {
                        self.verdicts.push(CommittedVerdicts {
                            judged_height: b.bitmap.height,
                            committed_at: height,
                            bitmap: b.clone(),
                        });
                    }
                }
                Transaction::Governance(_) => {}
            }
        }
    }

    /// Signs the forward links due at the new tip; with a quorum of signatures (alone on a
    /// one-validator chain, or with peers' signatures from [`Self::add_link_signature`]), the
    /// link is recorded and stored.
    fn sign_forward_links(&mut self, persist: bool) -> Result<(), Error> {
        let tip = self.chain.tip().header.clone();
        let me = self.key();
        for (level, from) in self.chain.forward_links_due() {
            let Some(src) = self.chain.block(from).map(|b| b.header.clone()) else {
                continue;
            };
            let member = self
                .chain
                .roster(&src.next_roster_hash)
                .is_some_and(|r| r.contains(&me));
            if member {
                let sig = ForwardLink::sign(&self.secret, &src, level, &tip);
                self.add_link_signature_inner(from, level, sig, persist)?;
            }
        }
        Ok(())
    }

    /// The signatures this node made on forward links (to share with peers).
    pub fn own_link_signatures(&self) -> Vec<(Height, u32, ValidatorSignature)> {
        let me = self.key();
        self.link_signatures
            .iter()
            .flat_map(|((h, l), sigs)| {
                sigs.iter()
                    .filter(|s| s.validator == me)
                    .map(move |s| (Height(*h), *l, *s))
            })
            .collect()
    }

    /// Adds a validator's signature on the forward link `from → from + b^level`.
    pub fn add_link_signature(
        &mut self,
        from: Height,
        level: u32,
        sig: ValidatorSignature,
    ) -> Result<(), Error> {
        self.add_link_signature_inner(from, level, sig, true)
    }

    fn add_link_signature_inner(
        &mut self,
        from: Height,
        level: u32,
        sig: ValidatorSignature,
        persist: bool,
    ) -> Result<(), Error> {
        if self.chain.forward_link(from, level).is_some() {
            return Ok(());
        }
        let (Some(src), Some(to)) = (
            self.chain.block(from).map(|b| b.header.clone()),
            self.chain
                .params()
                .span(level)
                .and_then(|s| from.0.checked_add(s))
                .and_then(|h| self.chain.block(Height(h)))
                .map(|b| b.header.clone()),
        ) else {
            return Err(Error::Ledger(tabella_ledger::Error::NotFound(format!(
                "forward link from block {from} at level {level}"
            ))));
        };
        let roster = self
            .chain
            .roster(&src.next_roster_hash)
            .cloned()
            .ok_or_else(|| Error::Config("unknown roster".into()))?;
        let sigs = self.link_signatures.entry((from.0, level)).or_default();
        if !sigs.iter().any(|s| s.validator == sig.validator) {
            // Check this one signature before keeping it.
            let message = ForwardLink::message(from, level, &src.hash(), &to.hash());
            if roster.contains(&sig.validator)
                && sig
                    .validator
                    .verify(
                        tabella_ledger::block::FORWARD_LINK_DOMAIN,
                        &message,
                        &sig.signature,
                    )
                    .is_ok()
            {
                sigs.push(sig);
            }
        }
        if sigs.len() >= roster.quorum() {
            let link = ForwardLink {
                from_height: from,
                from: src.hash(),
                level,
                to: to.hash(),
                signatures: sigs.clone(),
            };
            if self.chain.add_forward_link(link.clone()).is_ok() && persist {
                self.store.put_forward_link(&link)?;
            }
        }
        Ok(())
    }

    fn judge(&self, block: &Block, failed: Option<usize>) -> Option<SignedBitmap> {
        let ids = block.tx_ids().ok()?;
        let slots: Vec<ProofSlot> = ids
            .iter()
            .map(|id| ProofSlot {
                id: ProofId(id.0),
                kind: ProofKind::Always,
                received: true,
            })
            .collect();
        let bitmap = VerdictBitmap::judge(
            block.header.height,
            self.chain.tip().header.hash(),
            self.key(),
            tabella_ledger::verdict::HEAVY_SAMPLE_RATE,
            &slots,
            |i, _| failed.is_none_or(|f| i < f),
        );
        bitmap.sign(&self.secret).ok()
    }

    /// Transactions waiting in the mempool.
    pub fn pending(&self) -> usize {
        self.mempool.len()
    }

    // ----- queries for the HTTP API -----

    /// `GET /v1/status`.
    pub fn status(&self) -> NodeStatus {
        NodeStatus {
            genesis_hash: self.chain.genesis_hash(),
            height: self.chain.height(),
            tip_hash: self.chain.tip().header.hash(),
            validator: self.key(),
            roster: self.state.roster().clone(),
            mempool: self.mempool.len(),
        }
    }

    /// A committed block by height.
    pub fn block_at(&self, h: Height) -> Option<BlockWithCommit> {
        Some(BlockWithCommit {
            block: self.chain.block(h)?.clone(),
            commit: self.chain.commit(h).cloned(),
        })
    }

    /// A committed block by hash.
    pub fn block_by_hash(&self, hash: &BlockHash) -> Option<BlockWithCommit> {
        self.by_hash.get(hash).and_then(|h| self.block_at(*h))
    }

    /// A transaction's status (`None`: unknown here).
    pub fn tx_status(&self, id: &TxId) -> Option<TxStatus> {
        if let Ok(receipt) = self.chain.receipt(id) {
            return Some(TxStatus::Committed { receipt });
        }
        self.mempool.contains(id).then_some(TxStatus::Pending)
    }

    /// The light-client proof of block `h`.
    pub fn light_proof(&self, h: Height) -> Result<LightProof, Error> {
        Ok(self.chain.light_proof(h)?)
    }

    /// Summaries of every hosted election.
    pub fn elections(&self) -> Vec<ElectionSummary> {
        self.state
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
            last_height: self.election_last.get(id).copied().unwrap_or_default(),
        }
    }

    /// One election's summary.
    pub fn election(&self, id: &ElectionId) -> Option<ElectionSummary> {
        self.state.election(id).map(|e| self.summary_of(id, e))
    }

    /// Every accepted envelope of an election, in order.
    pub fn envelopes(&self, id: &ElectionId) -> Option<&[Envelope]> {
        self.envelopes.get(id).map(Vec::as_slice)
    }

    /// An election's published results.
    pub fn results(&self, id: &ElectionId) -> Option<Option<&Results>> {
        self.state.election(id).map(|e| e.state().results())
    }

    /// The committed verdict bitmaps on the blocks that carried this election's transactions.
    pub fn verdicts_for_election(&self, id: &ElectionId) -> Option<Vec<CommittedVerdicts>> {
        let heights = self.election_blocks.get(id)?;
        Some(
            self.verdicts
                .iter()
                .filter(|v| heights.contains(&v.judged_height.0))
                .cloned()
                .collect(),
        )
    }

    /// The committed verdict bitmaps on the block at `h`.
    pub fn verdicts_at(&self, h: Height) -> Vec<CommittedVerdicts> {
        self.verdicts
            .iter()
            .filter(|v| v.judged_height == h)
            .cloned()
            .collect()
    }
}

impl LedgerApp for NodeApp {
    fn genesis_hash(&self) -> BlockHash {
        self.chain.genesis_hash()
    }

    fn tip_height(&self) -> Height {
        self.chain.height()
    }

    fn next_roster(&self) -> Roster {
        self.state.roster().clone()
    }

    fn propose(&mut self, height: Height, verdicts: Vec<SignedBitmap>) -> Result<Block, AppError> {
        if Some(height) != self.chain.height().next() {
            return Err(format!(
                "asked to propose block {height} but the tip is {}",
                self.chain.height()
            ));
        }
        let mut txs = Vec::new();
        let judged = Height(height.0.saturating_sub(1));
        let good: Vec<SignedBitmap> = {
            let mut seen = BTreeSet::new();
            verdicts
                .into_iter()
                .filter(|b| {
                    b.bitmap.height == judged
                        && seen.insert(b.bitmap.node.to_bytes())
                        && self
                            .state
                            .check_verdicts(judged, std::slice::from_ref(b))
                            .is_ok()
                        && self
                            .chain
                            .check_verdict_beacons(judged, std::slice::from_ref(b))
                            .is_ok()
                })
                .collect()
        };
        // Verdicts are committed for blocks that carried client transactions (so a block of
        // verdicts alone does not call for another one).
        let judged_has_client_txs = self.chain.block(judged).is_some_and(|b| {
            b.txs
                .iter()
                .any(|t| !matches!(t, Transaction::Verdicts { .. }))
        });
        if !good.is_empty() && judged.0 > 0 && judged_has_client_txs {
            txs.push(Transaction::Verdicts {
                judged,
                bitmaps: good,
            });
        }
        let mut admitted: Vec<(Transaction, Option<tabella_election::ballot::ParsedBallot>)> =
            txs.drain(..).map(|t| (t, None)).collect();
        admitted.extend(self.mempool.reap_admitted(self.limits.max_block_txs));
        // The mempool verified every proof at admission: apply without verifying again.
        let mut next = self.state.clone();
        let applied = next.apply_admitted_block(&admitted);
        txs = admitted.into_iter().map(|(t, _)| t).collect();
        let root = match applied {
            Ok(r) => r,
            Err(_) => {
                // The pending queue should always apply; if not, propose what surely does.
                txs.retain(|t| matches!(t, Transaction::Verdicts { .. }));
                next = self.state.clone();
                next.apply_block(&txs).map_err(app_err)?
            }
        };
        let header = self
            .chain
            .next_header(&txs, root, next.roster().hash())
            .map_err(app_err)?;
        let block = Block { header, txs };
        let verdicts = self.judge(&block, None);
        self.validated.push(Validated {
            hash: block.header.hash(),
            next,
            verdicts,
        });
        Ok(block)
    }

    fn validate(&mut self, block: &Block) -> Result<(), AppError> {
        let hash = block.header.hash();
        if self.validated.iter().any(|v| v.hash == hash) {
            return Ok(());
        }
        self.chain.check_successor(block).map_err(app_err)?;
        self.chain.check_block_verdicts(block).map_err(app_err)?;
        let mut next = self.state.clone();
        let root = match next.apply_block(&block.txs) {
            Ok(r) => r,
            Err(e) => {
                return Err(app_err(e));
            }
        };
        if root != block.header.state_root {
            return Err(format!(
                "block {} has state root {} but re-execution gives {root}",
                block.header.height, block.header.state_root
            ));
        }
        if next.roster().hash() != block.header.next_roster_hash {
            return Err("the block's next roster does not follow from its transactions".into());
        }
        let verdicts = self.judge(block, None);
        if self.validated.len() >= 8 {
            self.validated.remove(0);
        }
        self.validated.push(Validated {
            hash,
            next,
            verdicts,
        });
        Ok(())
    }

    fn verdicts_for(&mut self, block: &BlockHash) -> Option<SignedBitmap> {
        self.validated
            .iter()
            .find(|v| &v.hash == block)
            .and_then(|v| v.verdicts.clone())
    }

    fn check_verdicts(&self, bitmap: &SignedBitmap) -> Result<(), AppError> {
        if !self.state.roster().contains(&bitmap.bitmap.node) {
            return Err("verdicts from a node outside the roster".into());
        }
        bitmap.verify().map_err(app_err)
    }

    fn commit(&mut self, block: Block, commit: Commit) -> Result<(), AppError> {
        let h = block.header.height;
        if h <= self.chain.height() {
            // Already committed (e.g. delivered twice around a restart or by sync).
            return match self.chain.block(h) {
                Some(b) if b.header.hash() == block.header.hash() => Ok(()),
                _ => Err(format!("a different block {h} is already committed")),
            };
        }
        self.apply_committed(block, commit, true).map_err(app_err)
    }

    fn decided(&self, height: Height) -> Option<(Block, Commit)> {
        Some((
            self.chain.block(height)?.clone(),
            self.chain.commit(height)?.clone(),
        ))
    }
}
