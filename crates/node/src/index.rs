//! What the HTTP API looks up that the chain itself does not index: blocks by hash, each
//! election's accepted envelopes and the blocks that carried them, and the committed verdict
//! bitmaps. Built from committed blocks only (replayed on start), never persisted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tabella_election::action::Envelope;
use tabella_election::ids::ElectionId;
use tabella_ledger::block::Block;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height};

use crate::wire::CommittedVerdicts;

/// The node's indexes of committed blocks.
#[derive(Debug, Default)]
pub struct Indexes {
    by_hash: HashMap<BlockHash, Height>,
    envelopes: BTreeMap<ElectionId, Vec<Envelope>>,
    election_last: BTreeMap<ElectionId, Height>,
    election_blocks: BTreeMap<ElectionId, BTreeSet<u64>>,
    verdicts: Vec<CommittedVerdicts>,
}

impl Indexes {
    /// Indexes holding the genesis block only.
    pub fn new(genesis_hash: BlockHash) -> Self {
        Indexes {
            by_hash: HashMap::from([(genesis_hash, Height(0))]),
            ..Indexes::default()
        }
    }

    /// Indexes a newly committed block.
    pub fn add(&mut self, block: &Block) {
        let height = block.header.height;
        self.by_hash.insert(block.header.hash(), height);
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
                    self.verdicts
                        .extend(bitmaps.iter().map(|b| CommittedVerdicts {
                            judged_height: b.bitmap.height,
                            committed_at: height,
                            bitmap: b.clone(),
                        }));
                }
                Transaction::Governance(_) | Transaction::Stats(_) => {}
            }
        }
    }

    /// The height of the committed block with this hash.
    pub fn height_of(&self, hash: &BlockHash) -> Option<Height> {
        self.by_hash.get(hash).copied()
    }

    /// Every accepted envelope of an election, in order.
    pub fn envelopes(&self, id: &ElectionId) -> Option<&[Envelope]> {
        self.envelopes.get(id).map(Vec::as_slice)
    }

    /// The height of the last block that carried a transaction of this election.
    pub fn election_last(&self, id: &ElectionId) -> Height {
        self.election_last.get(id).copied().unwrap_or_default()
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
