//! An in-process network of validator replicas driven without any network: round-robin
//! proposer, every replica re-executes and votes, commit with > 2/3 signatures, forward links
//! signed and stored.
#![allow(dead_code)]

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_ledger::block::{Block, Commit, ForwardLink, SkipchainParams};
use tabella_ledger::chain::Chain;
use tabella_ledger::replica::{proposer, Replica};
use tabella_ledger::roster::{Roster, ValidatorSecret, ValidatorSignature};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::Height;
use tabella_ledger::Error;

pub struct Net {
    pub secrets: Vec<ValidatorSecret>,
    pub vals: Vec<Replica>,
    pub genesis_roster: Roster,
}

/// `n` key pairs from a seeded RNG; the first `in_roster` form the genesis roster, all are
/// replicas (the others may join through a roster change).
pub fn net(n: usize, in_roster: usize, seed: u64) -> Net {
    net_with(SkipchainParams::default(), n, in_roster, seed)
}

/// [`net`] with other skipchain parameters.
pub fn net_with(params: SkipchainParams, n: usize, in_roster: usize, seed: u64) -> Net {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let secrets: Vec<ValidatorSecret> = (0..n)
        .map(|_| ValidatorSecret::generate(&mut rng))
        .collect();
    let roster = Roster::new(secrets[..in_roster].iter().map(|s| s.public()).collect()).unwrap();
    let chain = Chain::genesis(params, roster.clone()).unwrap();
    let vals = secrets
        .iter()
        .map(|s| Replica::new(s.clone(), chain.clone()).unwrap())
        .collect();
    Net {
        secrets,
        vals,
        genesis_roster: roster,
    }
}

impl Net {
    pub fn chain(&self) -> &Chain {
        self.vals[0].chain()
    }

    pub fn next_height(&self) -> Height {
        self.chain().height().next().unwrap()
    }

    /// The round-robin proposer of the next block builds it from `txs`.
    pub fn propose(&mut self, txs: Vec<Transaction>) -> Result<Block, Error> {
        let roster = self.chain().next_roster().unwrap();
        let who = proposer(roster, self.next_height()).unwrap();
        let p = self.vals.iter_mut().find(|v| v.key() == who).unwrap();
        p.propose(txs)
    }

    /// Every replica votes; returns the signatures collected.
    pub fn collect_votes(&mut self, block: &Block) -> Vec<ValidatorSignature> {
        self.vals
            .iter_mut()
            .filter_map(|v| v.vote(block).ok())
            .collect()
    }

    /// Votes and, with a quorum, commits the block everywhere and signs its forward links.
    /// Returns the number of signatures if committed, or `None` if no quorum.
    pub fn decide(&mut self, block: Block) -> Option<usize> {
        let sigs = self.collect_votes(&block);
        let quorum = self.chain().next_roster().unwrap().quorum();
        if sigs.len() < quorum {
            return None;
        }
        let n = sigs.len();
        let commit = Commit {
            height: block.header.height,
            round: 0,
            block: block.header.hash(),
            signatures: sigs,
            verdicts: vec![],
        };
        for v in &mut self.vals {
            v.commit(block.clone(), commit.clone()).unwrap();
        }
        let mut due: BTreeMap<(u32, Height), Vec<ValidatorSignature>> = BTreeMap::new();
        for v in &self.vals {
            for (level, from, sig) in v.forward_link_signatures() {
                due.entry((level, from)).or_default().push(sig);
            }
        }
        let tip = self.chain().tip().header.hash();
        for ((level, from), signatures) in due {
            let link = ForwardLink {
                from_height: from,
                from: self.chain().block(from).unwrap().header.hash(),
                level,
                to: tip,
                signatures,
            };
            for v in &mut self.vals {
                v.add_forward_link(link.clone()).unwrap();
            }
        }
        Some(n)
    }

    /// Proposes and commits a block; panics if it does not commit.
    pub fn step(&mut self, txs: Vec<Transaction>) -> Block {
        let block = self.propose(txs).unwrap();
        self.decide(block.clone()).expect("block commits");
        block
    }
}
