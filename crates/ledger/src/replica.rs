//! A verifying node's replica of the ledger (seed 001 §5.1; DESIGN.md "Ledger") as a pure role:
//! propose a block, re-execute and vote on a proposal, judge it (verdict bitmap), record a
//! committed block, and gather forward-link signatures. No consensus protocol, network,
//! storage or clock: the node (`tabella-node`) drives these calls from its consensus engine and
//! adds persistence, the mempool and the API's indexes; the tests drive them in process.
//!
//! This is the only implementation of these steps: the node's application is a shell over it.

use std::collections::{BTreeMap, BTreeSet};

use tabella_election::ballot::ParsedBallot;

use crate::block::{Block, Commit, ForwardLink, FORWARD_LINK_DOMAIN};
use crate::chain::Chain;
use crate::error::{Error, Result};
use crate::roster::{Roster, ValidatorKey, ValidatorSecret, ValidatorSignature};
use crate::state::LedgerState;
use crate::tx::Transaction;
use crate::types::{BlockHash, Height, ProofId, StateRoot, TxId};
use crate::verdict::{ProofSlot, SignedBitmap, VerdictBitmap};

/// How many re-executed proposals a replica keeps while waiting for a decision (a round may
/// see several proposals; older ones are dropped first).
const KEPT_PROPOSALS: usize = 8;

/// Round-robin proposer of the block at `height`: validator `height mod n` of its roster.
pub fn proposer(roster: &Roster, height: Height) -> Option<ValidatorKey> {
    let n = roster.len() as u64;
    let i = usize::try_from(height.0.checked_rem(n)?).ok()?;
    roster.validators().get(i).copied()
}

/// A proposal this replica re-executed (or built): the state it leads to and this replica's
/// verdicts on it.
#[derive(Clone, Debug)]
struct Validated {
    hash: BlockHash,
    next: LedgerState,
    verdicts: Option<SignedBitmap>,
}

/// What [`Replica::commit`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    /// The block was appended and the state advanced.
    Applied,
    /// The same block was already committed (delivered twice, e.g. around a restart).
    AlreadyHad,
}

/// One verifying node's replica: its key, its copy of the application state and of the chain,
/// the proposals it re-executed, and the forward-link signatures it gathered.
#[derive(Clone, Debug)]
pub struct Replica {
    secret: ValidatorSecret,
    state: LedgerState,
    chain: Chain,
    validated: Vec<Validated>,
    link_signatures: BTreeMap<(u64, u32), Vec<ValidatorSignature>>,
}

impl Replica {
    /// A replica starting from `genesis` (a chain holding only its genesis block).
    pub fn new(secret: ValidatorSecret, genesis: Chain) -> Result<Self> {
        if genesis.height() != Height(0) {
            return Err(Error::BadBlock {
                height: genesis.height(),
                reason: "a replica starts from a genesis-only chain".into(),
            });
        }
        let state = LedgerState::genesis(genesis.next_roster()?.clone());
        Ok(Replica {
            secret,
            state,
            chain: genesis,
            validated: Vec::new(),
            link_signatures: BTreeMap::new(),
        })
    }

    /// This replica's validator key.
    pub fn key(&self) -> ValidatorKey {
        self.secret.public()
    }
    /// The committed application state.
    pub fn state(&self) -> &LedgerState {
        &self.state
    }
    /// The committed chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Builds the next block from `txs`, verifying every proof in them; every transaction must
    /// apply.
    pub fn propose(&mut self, txs: Vec<Transaction>) -> Result<Block> {
        let mut next = self.state.clone();
        let root = next.apply_block(&txs)?;
        self.seal(txs, next, root)
    }

    /// Builds the block at `height` (the tip's successor) as a proposer with a mempool does:
    /// first the usable `verdicts` on the previous block (the vote extensions of its commit
    /// certificate; committed only when that block carried client transactions), then
    /// `admitted` transactions, whose ballots were verified at admission
    /// ([`crate::mempool::Mempool::reap_admitted`]) and are not verified again. Should the
    /// admitted transactions not apply after all, the block carries the verdicts alone.
    pub fn propose_admitted(
        &mut self,
        height: Height,
        verdicts: Vec<SignedBitmap>,
        admitted: Vec<(Transaction, Option<ParsedBallot>)>,
    ) -> Result<Block> {
        if Some(height) != self.chain.height().next() {
            return Err(Error::BadBlock {
                height,
                reason: format!("cannot propose it on tip {}", self.chain.height()),
            });
        }
        let judged = Height(height.0.saturating_sub(1));
        let verdict_tx = self.verdicts_tx(judged, verdicts);
        let mut items: Vec<(Transaction, Option<ParsedBallot>)> =
            verdict_tx.iter().cloned().map(|t| (t, None)).collect();
        items.extend(admitted);
        let mut next = self.state.clone();
        match next.apply_admitted_block(&items) {
            Ok(root) => {
                let txs = items.into_iter().map(|(t, _)| t).collect();
                self.seal(txs, next, root)
            }
            Err(_) => {
                let txs: Vec<Transaction> = verdict_tx.into_iter().collect();
                let mut next = self.state.clone();
                let root = next.apply_block(&txs)?;
                self.seal(txs, next, root)
            }
        }
    }

    /// The transaction committing the valid, distinct `verdicts` on block `judged`, if any are
    /// due: verdicts are committed only for blocks that carried client transactions (so a
    /// block of verdicts alone does not call for another one).
    fn verdicts_tx(&self, judged: Height, verdicts: Vec<SignedBitmap>) -> Option<Transaction> {
        let carried_client_txs = self.chain.block(judged).is_some_and(|b| {
            b.txs
                .iter()
                .any(|t| !matches!(t, Transaction::Verdicts { .. }))
        });
        if judged.0 == 0 || !carried_client_txs {
            return None;
        }
        let mut seen = BTreeSet::new();
        let good: Vec<SignedBitmap> = verdicts
            .into_iter()
            .filter(|b| {
                let one = std::slice::from_ref(b);
                b.bitmap.height == judged
                    && seen.insert(b.bitmap.node.to_bytes())
                    && self.state.check_verdicts(judged, one).is_ok()
                    && self.chain.check_verdict_beacons(judged, one).is_ok()
            })
            .collect();
        (!good.is_empty()).then_some(Transaction::Verdicts {
            judged,
            bitmaps: good,
        })
    }

    /// Heads `txs` (which lead to `next` with state root `root`) as the tip's successor and
    /// remembers the block as validated by this replica, every transaction judged valid.
    fn seal(&mut self, txs: Vec<Transaction>, next: LedgerState, root: StateRoot) -> Result<Block> {
        let header = self.chain.next_header(&txs, root, next.roster().hash())?;
        let block = Block { header, txs };
        self.remember(&block, next);
        Ok(block)
    }

    fn remember(&mut self, block: &Block, next: LedgerState) {
        let verdicts = self.judge_block(block, &[]).ok();
        if self.validated.len() >= KEPT_PROPOSALS {
            self.validated.remove(0);
        }
        self.validated.push(Validated {
            hash: block.header.hash(),
            next,
            verdicts,
        });
    }

    /// Re-executes a proposed block on a copy of the state — every proof verified — and accepts
    /// it only if it extends the chain correctly (links, committed verdicts), every transaction
    /// applies, and the state root and next roster in the header are the ones this replica
    /// computed. The resulting state and this replica's verdicts are kept for the commit.
    pub fn validate(&mut self, block: &Block) -> Result<()> {
        // Links and the body's transaction root are checked even for a header seen before: the
        // header hash names the block, and a body that does not match it is refused.
        self.chain.check_successor(block)?;
        self.chain.check_block_verdicts(block)?;
        let hash = block.header.hash();
        if self.validated.iter().any(|v| v.hash == hash) {
            return Ok(());
        }
        let mut next = self.state.clone();
        let root = next.apply_block(&block.txs)?;
        let h = &block.header;
        if root != h.state_root {
            return Err(Error::BadBlock {
                height: h.height,
                reason: format!("state root {} but re-execution gives {root}", h.state_root),
            });
        }
        if next.roster().hash() != h.next_roster_hash {
            return Err(Error::BadBlock {
                height: h.height,
                reason: "the next roster does not follow from the block's transactions".into(),
            });
        }
        self.remember(block, next);
        Ok(())
    }

    /// [`Replica::vote_in_round`] in consensus round 0.
    pub fn vote(&mut self, block: &Block) -> Result<ValidatorSignature> {
        self.vote_in_round(block, 0)
    }

    /// [`Replica::validate`]s a proposal and signs its commit for consensus `round`, if this
    /// replica is in the roster that commits it. (The node's consensus engine signs its own
    /// votes; this is the same vote for in-process networks.)
    pub fn vote_in_round(&mut self, block: &Block, round: u32) -> Result<ValidatorSignature> {
        if !self.chain.next_roster()?.contains(&self.key()) {
            return Err(Error::BadRoster(
                "this validator is not in the roster that commits the block".into(),
            ));
        }
        self.validate(block)?;
        let h = &block.header;
        Ok(Commit::sign(&self.secret, h.height, round, &h.hash()))
    }

    /// This replica's signed verdict bitmap on a block it validated or proposed (its precommit
    /// vote extension), or `None` if it has not validated that block.
    pub fn verdicts_for(&self, block: &BlockHash) -> Option<SignedBitmap> {
        self.validated
            .iter()
            .find(|v| &v.hash == block)
            .and_then(|v| v.verdicts.clone())
    }

    /// Checks a verdict bitmap received from a peer as a vote extension: signed by a member of
    /// the roster in charge.
    pub fn check_vote_extension(&self, bitmap: &SignedBitmap) -> Result<()> {
        if !self.state.roster().contains(&bitmap.bitmap.node) {
            return Err(Error::BadRoster(
                "verdicts from a node outside the roster".into(),
            ));
        }
        bitmap.verify()
    }

    /// This replica's signed verdicts (seed 001 §5.1) on the transactions of any `block`:
    /// each is applied in order to a copy of the committed state; `1` if it applies, `0` if not
    /// (the state is left as before that transaction, so later ones are judged on the valid
    /// prefix). Heavy statistics proofs not drawn are `2`; drawn ones and every other statistics
    /// proof are verified in full ([`LedgerState::judge_block`]); `3` marks the transactions
    /// listed in `missing` (not received by the caller's deadline).
    pub fn judge(&self, block: &Block, missing: &[TxId]) -> Result<SignedBitmap> {
        let mut state = self.state.clone();
        let applies: Vec<bool> = block
            .txs
            .iter()
            .map(|tx| state.apply_tx(tx).is_ok())
            .collect();
        let full = self.verify_drawn(block)?;
        let valid: Vec<bool> = applies.iter().zip(full).map(|(a, f)| *a && f).collect();
        self.sign_verdicts(block, missing, &valid)
    }

    /// This replica's verdicts on a block it validated (every transaction applies): statistics
    /// proofs drawn for verification are verified in full.
    fn judge_block(&self, block: &Block, missing: &[TxId]) -> Result<SignedBitmap> {
        let valid = self.verify_drawn(block)?;
        self.sign_verdicts(block, missing, &valid)
    }

    /// The full verification of the statistics proofs of `block` this replica draws.
    fn verify_drawn(&self, block: &Block) -> Result<Vec<bool>> {
        let prev = self.chain.tip().header.hash();
        let me = self.key();
        let ids = block.tx_ids()?;
        let drawn: Vec<bool> = ids
            .iter()
            .zip(&block.txs)
            .map(|(id, tx)| {
                crate::verdict::must_verify(
                    &prev,
                    &me,
                    &ProofId(id.0),
                    crate::state::proof_kind(tx),
                    crate::verdict::HEAVY_SAMPLE_RATE,
                )
            })
            .collect();
        Ok(self.state.judge_block(&block.txs, &drawn))
    }

    fn sign_verdicts(
        &self,
        block: &Block,
        missing: &[TxId],
        valid: &[bool],
    ) -> Result<SignedBitmap> {
        let ids = block.tx_ids()?;
        let slots: Vec<ProofSlot> = ids
            .iter()
            .zip(&block.txs)
            .map(|(id, tx)| ProofSlot {
                id: ProofId(id.0),
                kind: crate::state::proof_kind(tx),
                received: !missing.contains(id),
            })
            .collect();
        let bitmap = VerdictBitmap::judge(
            block.header.height,
            self.chain.tip().header.hash(),
            self.key(),
            crate::verdict::HEAVY_SAMPLE_RATE,
            &slots,
            |i, _| valid.get(i).copied().unwrap_or(false),
        );
        bitmap.sign(&self.secret)
    }

    /// Records a committed block (certificate checked by [`Chain::append`]), re-executing it
    /// unless this replica validated it. The same block delivered again is accepted and
    /// changes nothing; a different block at a committed height is refused.
    pub fn commit(&mut self, block: Block, commit: Commit) -> Result<Committed> {
        let height = block.header.height;
        let hash = block.header.hash();
        if height <= self.chain.height() {
            return match self.chain.block(height) {
                Some(b) if b.header.hash() == hash => Ok(Committed::AlreadyHad),
                _ => Err(Error::BadBlock {
                    height,
                    reason: "a different block is already committed at this height".into(),
                }),
            };
        }
        let next = match self.validated.iter().position(|v| v.hash == hash) {
            Some(i) => self.validated.swap_remove(i).next,
            None => {
                let mut s = self.state.clone();
                let root = s.apply_block(&block.txs)?;
                if root != block.header.state_root {
                    return Err(Error::BadBlock {
                        height,
                        reason: format!(
                            "state root {} but re-execution gives {root}",
                            block.header.state_root
                        ),
                    });
                }
                s
            }
        };
        // `append` checks everything before changing the chain.
        self.chain.append(block, commit, next.roster().clone())?;
        self.state = next;
        self.validated.clear();
        Ok(Committed::Applied)
    }

    /// This replica's signatures on the forward links due now that the tip is committed, for
    /// the links whose source block names a roster it belongs to: `(level, source height,
    /// signature)`.
    pub fn forward_link_signatures(&self) -> Vec<(u32, Height, ValidatorSignature)> {
        let tip = &self.chain.tip().header;
        let me = self.key();
        self.chain
            .forward_links_due()
            .into_iter()
            .filter_map(|(level, from)| {
                let src = &self.chain.block(from)?.header;
                let roster = self.chain.roster(&src.next_roster_hash)?;
                roster.contains(&me).then(|| {
                    (
                        level,
                        from,
                        ForwardLink::sign(&self.secret, src, level, tip),
                    )
                })
            })
            .collect()
    }

    /// Signs the forward links due at the tip and keeps the signatures; returns the links that
    /// thereby gathered a quorum and were recorded (on a one-validator chain, all of them).
    pub fn sign_due_forward_links(&mut self) -> Result<Vec<ForwardLink>> {
        let mut recorded = Vec::new();
        for (level, from, sig) in self.forward_link_signatures() {
            if let Some(link) = self.add_link_signature(from, level, sig)? {
                recorded.push(link);
            }
        }
        Ok(recorded)
    }

    /// The signatures this replica made on forward links (to share with peers).
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

    /// Adds a validator's signature on the forward link `from → from + b^level` (kept only if
    /// it verifies and its signer is in the source block's next roster). Returns the link if it
    /// has just gathered a quorum and was recorded.
    pub fn add_link_signature(
        &mut self,
        from: Height,
        level: u32,
        sig: ValidatorSignature,
    ) -> Result<Option<ForwardLink>> {
        if self.chain.forward_link(from, level).is_some() {
            return Ok(None);
        }
        let target = self
            .chain
            .params()
            .span(level)
            .and_then(|s| from.0.checked_add(s))
            .map(Height);
        let (Some(src), Some(to)) = (
            self.chain.block(from).map(|b| b.header.clone()),
            target
                .and_then(|h| self.chain.block(h))
                .map(|b| b.header.clone()),
        ) else {
            return Err(Error::NotFound(format!(
                "forward link from block {from} at level {level}"
            )));
        };
        let roster = self
            .chain
            .roster(&src.next_roster_hash)
            .ok_or_else(|| Error::NotFound(format!("roster {}", src.next_roster_hash)))?;
        let quorum = roster.quorum();
        let message = ForwardLink::message(from, level, &src.hash(), &to.hash());
        let valid = roster.contains(&sig.validator)
            && sig
                .validator
                .verify(FORWARD_LINK_DOMAIN, &message, &sig.signature)
                .is_ok();
        let sigs = self.link_signatures.entry((from.0, level)).or_default();
        if valid && !sigs.iter().any(|s| s.validator == sig.validator) {
            sigs.push(sig);
        }
        if sigs.len() < quorum {
            return Ok(None);
        }
        let link = ForwardLink {
            from_height: from,
            from: src.hash(),
            level,
            to: to.hash(),
            signatures: sigs.clone(),
        };
        match self.chain.add_forward_link(link.clone()) {
            Ok(()) => Ok(Some(link)),
            Err(_) => Ok(None),
        }
    }

    /// Records a complete forward link (checked by [`Chain::add_forward_link`]).
    pub fn add_forward_link(&mut self, link: ForwardLink) -> Result<()> {
        self.chain.add_forward_link(link)
    }
}
