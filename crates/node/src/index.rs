//! What the HTTP API looks up that the chain itself does not index: blocks by hash, each
//! election's accepted envelopes and the blocks that carried them, and the committed verdict
//! bitmaps. Built from committed blocks only (replayed on start), never persisted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tabella_election::action::Envelope;
use tabella_election::ids::Digest32;
use tabella_election::ids::ElectionId;
use tabella_ledger::block::Block;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};

use crate::wire::CommittedVerdicts;

/// The node's indexes of committed blocks.
#[derive(Debug, Default)]
pub struct Indexes {
    by_hash: HashMap<BlockHash, Height>,
    envelopes: BTreeMap<ElectionId, Vec<Envelope>>,
    election_last: BTreeMap<ElectionId, Height>,
    election_blocks: BTreeMap<ElectionId, BTreeSet<u64>>,
    verdicts: Vec<CommittedVerdicts>,
    ballots: HashMap<Digest32, BallotEntry>,
    ballots_by_height: BTreeMap<ElectionId, Vec<(Height, u32)>>,
}

/// Where a committed ballot is: found by its receipt (the ballot hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BallotEntry {
    /// Its election.
    pub election: ElectionId,
    /// Its ledger transaction.
    pub tx_id: TxId,
    /// The block that carried it.
    pub height: Height,
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
        let mut ballots_here: BTreeMap<&ElectionId, u32> = BTreeMap::new();
        for tx in &block.txs {
            match tx {
                Transaction::Election {
                    election_id,
                    envelope,
                } => {
                    if let Envelope::Ballot(b) = envelope {
                        *ballots_here.entry(election_id).or_default() += 1;
                        if let Ok(tx_id) = tx.id() {
                            self.ballots.insert(
                                b.hash(),
                                BallotEntry {
                                    election: election_id.clone(),
                                    tx_id,
                                    height,
                                },
                            );
                        }
                    }
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
        for (id, n) in ballots_here {
            self.ballots_by_height
                .entry(id.clone())
                .or_default()
                .push((height, n));
        }
    }

    /// Where the committed ballot with this receipt is.
    pub fn ballot(&self, receipt: &Digest32) -> Option<&BallotEntry> {
        self.ballots.get(receipt)
    }

    /// Ballots committed per block (heights in order) for an election.
    pub fn ballots_by_height(&self, id: &ElectionId) -> &[(Height, u32)] {
        self.ballots_by_height.get(id).map_or(&[], Vec::as_slice)
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
