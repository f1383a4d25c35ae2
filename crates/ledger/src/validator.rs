//! A validator (verifying node, seed 001 §5.1) as a pure role: propose a block, re-execute and
//! vote on a proposal, record a committed block, sign forward links. No consensus protocol, no
//! network: a consensus engine (later) drives these calls; the tests drive them in process.

use crate::block::{Block, Commit, ForwardLink};
use crate::chain::Chain;
use crate::error::{Error, Result};
use crate::roster::{Roster, ValidatorKey, ValidatorSecret, ValidatorSignature};
use crate::state::LedgerState;
use crate::tx::Transaction;
use crate::types::{BlockHash, Height, ProofId, TxId};
use crate::verdict::{ProofKind, ProofSlot, SignedBitmap, VerdictBitmap};

/// Round-robin proposer of the block at `height`: validator `height mod n` of its roster.
pub fn proposer(roster: &Roster, height: Height) -> Option<ValidatorKey> {
    let n = roster.len() as u64;
    let i = usize::try_from(height.0.checked_rem(n)?).ok()?;
    roster.validators().get(i).copied()
}

/// One validator's replica: its key, its copy of the application state and of the chain.
#[derive(Clone, Debug)]
pub struct Validator {
    secret: ValidatorSecret,
    state: LedgerState,
    chain: Chain,
    /// The block this validator voted for and the state it leads to (saves re-executing it at
    /// commit).
    voted: Option<(BlockHash, LedgerState)>,
}

impl Validator {
    /// A replica starting from `genesis` (a chain holding only its genesis block).
    pub fn new(secret: ValidatorSecret, genesis: Chain) -> Result<Self> {
        if genesis.height() != Height(0) {
            return Err(Error::BadBlock {
                height: genesis.height(),
                reason: "a validator starts from a genesis-only chain".into(),
            });
        }
        let state = LedgerState::genesis(genesis.next_roster()?.clone());
        Ok(Validator {
            secret,
            state,
            chain: genesis,
            voted: None,
        })
    }

    /// This validator's public key.
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

    /// Builds the next block from `txs` (e.g. [`crate::mempool::Mempool::reap`]); every
    /// transaction must apply.
    pub fn propose(&self, txs: Vec<Transaction>) -> Result<Block> {
        let mut next = self.state.clone();
        let root = next.apply_block(&txs)?;
        let header = self.chain.next_header(&txs, root, next.roster().hash())?;
        Ok(Block { header, txs })
    }

    /// [`Validator::vote_in_round`] in consensus round 0.
    pub fn vote(&mut self, block: &Block) -> Result<ValidatorSignature> {
        self.vote_in_round(block, 0)
    }

    /// Re-executes a proposed block on a copy of the state and signs its commit (for consensus
    /// `round`) only if it extends the chain correctly, every transaction is valid (full proof
    /// checks), and the state root and next roster in the header are the ones this validator
    /// computed.
    pub fn vote_in_round(&mut self, block: &Block, round: u32) -> Result<ValidatorSignature> {
        let roster = self.chain.next_roster()?;
        if !roster.contains(&self.key()) {
            return Err(Error::BadRoster(
                "this validator is not in the roster that commits the block".into(),
            ));
        }
        self.chain.check_successor(block)?;
        self.chain.check_block_verdicts(block)?;
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
        let hash = h.hash();
        self.voted = Some((hash, next));
        Ok(Commit::sign(&self.secret, h.height, round, &hash))
    }

    /// Records a committed block (certificate checked by [`Chain::append`]), re-executing it
    /// unless this validator voted for it.
    pub fn commit(&mut self, block: Block, commit: Commit) -> Result<()> {
        let hash = block.header.hash();
        let next = match self.voted.take() {
            Some((h, s)) if h == hash => s,
            _ => {
                let mut s = self.state.clone();
                let root = s.apply_block(&block.txs)?;
                if root != block.header.state_root {
                    return Err(Error::BadBlock {
                        height: block.header.height,
                        reason: "committed block's state root differs from re-execution".into(),
                    });
                }
                s
            }
        };
        self.chain.append(block, commit, next.roster().clone())?;
        self.state = next;
        Ok(())
    }

    /// Signatures on the forward links due now that the tip is committed, for the links whose
    /// source block names a roster this validator belongs to.
    pub fn sign_forward_links(&self) -> Vec<(u32, Height, ValidatorSignature)> {
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

    /// This node's signed verdicts (seed 001 §5.1) on the transactions of a proposed `block`:
    /// each is applied in order to a copy of the committed state; `1` if it applies, `0` if not
    /// (the state is left as before that transaction, so later ones are judged on the valid
    /// prefix). Election transactions are never sampled out, so no `2` appears; `3` marks the
    /// transactions listed in `missing` (not received by the caller's deadline).
    pub fn judge(&self, block: &Block, missing: &[TxId]) -> Result<SignedBitmap> {
        let ids = block.tx_ids()?;
        let slots: Vec<ProofSlot> = ids
            .iter()
            .map(|id| ProofSlot {
                id: ProofId(id.0),
                kind: ProofKind::Always,
                received: !missing.contains(id),
            })
            .collect();
        let mut state = self.state.clone();
        let bitmap = VerdictBitmap::judge(
            block.header.height,
            self.chain.tip().header.hash(),
            self.key(),
            crate::verdict::HEAVY_SAMPLE_RATE,
            &slots,
            |i, _| {
                block
                    .txs
                    .get(i)
                    .is_some_and(|tx| state.apply_tx(tx).is_ok())
            },
        );
        bitmap.sign(&self.secret)
    }

    /// Records a forward link (checked by [`Chain::add_forward_link`]).
    pub fn add_forward_link(&mut self, link: ForwardLink) -> Result<()> {
        self.chain.add_forward_link(link)
    }
}
