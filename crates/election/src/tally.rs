//! Encrypted tallies per group (remote voters, each polling table) and the published results.
//!
//! Seed 003 publishes results per table and overall; seed 000 sums encrypted ballots. Here each
//! group's tally is the homomorphic sum of its counted ballots, decrypted by the trustees with
//! proofs; the overall result is the sum of the group results (equal to decrypting the overall
//! sum, since decryption is homomorphic and every group decryption is proven).

use serde::{Deserialize, Serialize};
use tabella_crypto::elgamal::Ciphertext;
use tabella_crypto::paillier;

use crate::ballot::{Contribution, ElectionKey};
use crate::error::{Error, Result};
use crate::ids::TableIndex;
use crate::manifest::Manifest;

/// A tally group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Remote voters (stealth keys).
    Remote,
    /// In-person voters of one polling table.
    Table(TableIndex),
}

/// One group's encrypted tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupTally {
    /// The group.
    pub group: Group,
    /// Ballots counted in it.
    pub ballots: u64,
    /// Per contest, per result entry, the encrypted sum (ElGamal scheme).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contests: Vec<Vec<Ciphertext>>,
    /// Per contest, per result entry, the encrypted sum (Paillier scheme).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paillier: Vec<Vec<paillier::Ciphertext>>,
}

/// All encrypted tallies of an election.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tallies {
    /// Per group, in order: remote, then tables by index.
    pub groups: Vec<GroupTally>,
}

impl Tallies {
    /// Zero tallies for the given groups.
    pub fn empty(m: &Manifest, key: &ElectionKey, groups: &[Group]) -> Self {
        Tallies {
            groups: groups
                .iter()
                .map(|g| {
                    let (contests, paillier) = match key {
                        ElectionKey::Elgamal(_) => (
                            m.contests
                                .iter()
                                .map(|c| vec![Ciphertext::zero(); c.result_len()])
                                .collect(),
                            Vec::new(),
                        ),
                        ElectionKey::Paillier(pk) => (
                            Vec::new(),
                            m.contests
                                .iter()
                                .map(|c| vec![pk.trivial_zero(); c.result_len()])
                                .collect(),
                        ),
                    };
                    GroupTally {
                        group: *g,
                        ballots: 0,
                        contests,
                        paillier,
                    }
                })
                .collect(),
        }
    }

    /// Adds one ballot's contribution to its group.
    pub fn add(
        &mut self,
        group: Group,
        contribution: &Contribution,
        key: &ElectionKey,
    ) -> Result<()> {
        let g = self
            .groups
            .iter_mut()
            .find(|g| g.group == group)
            .ok_or_else(|| Error::Malformed(format!("unknown tally group {group:?}")))?;
        fn shape<A, B>(acc: &[Vec<A>], add: &[Vec<B>]) -> Result<()> {
            if acc.len() != add.len() || acc.iter().zip(add).any(|(a, b)| a.len() != b.len()) {
                return Err(Error::Malformed(
                    "contribution does not match the tally's shape".into(),
                ));
            }
            Ok(())
        }
        match (contribution, key) {
            (Contribution::Elgamal(add), ElectionKey::Elgamal(_)) => {
                shape(&g.contests, add)?;
                for (acc, add) in g.contests.iter_mut().zip(add) {
                    for (a, c) in acc.iter_mut().zip(add) {
                        *a = *a + *c;
                    }
                }
            }
            (Contribution::Paillier(add), ElectionKey::Paillier(pk)) => {
                shape(&g.paillier, add)?;
                for (acc, add) in g.paillier.iter_mut().zip(add) {
                    for (a, c) in acc.iter_mut().zip(add) {
                        *a = pk.add(a, c)?;
                    }
                }
            }
            _ => {
                return Err(Error::Malformed(
                    "contribution and tally use different schemes".into(),
                ))
            }
        }
        g.ballots += 1;
        Ok(())
    }

    /// Every ElGamal tally ciphertext in a fixed order (group, contest, entry).
    pub fn flat(&self) -> Vec<Ciphertext> {
        self.groups
            .iter()
            .flat_map(|g| g.contests.iter().flatten().copied())
            .collect()
    }

    /// Every Paillier tally ciphertext in the same fixed order.
    pub fn flat_paillier(&self) -> Vec<paillier::Ciphertext> {
        self.groups
            .iter()
            .flat_map(|g| g.paillier.iter().flatten().cloned())
            .collect()
    }
}

/// One group's decrypted result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupResult {
    /// The group.
    pub group: Group,
    /// Ballots counted.
    pub ballots: u64,
    /// Per contest, per result entry (candidates, then blank where allowed), the count or points.
    pub contests: Vec<Vec<u64>>,
}

/// The published results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// Per group.
    pub groups: Vec<GroupResult>,
    /// Overall: the sum of the groups.
    pub overall: GroupResultOverall,
}

/// The overall result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupResultOverall {
    /// Ballots counted.
    pub ballots: u64,
    /// Per contest, per result entry.
    pub contests: Vec<Vec<u64>>,
}

impl Results {
    /// Builds results from per-group decrypted values (flat order of [`Tallies::flat`]).
    pub fn from_flat(tallies: &Tallies, values: &[u64]) -> Result<Self> {
        let mut it = values.iter();
        let mut groups = Vec::with_capacity(tallies.groups.len());
        for g in &tallies.groups {
            let shape: Vec<usize> = if g.paillier.is_empty() {
                g.contests.iter().map(Vec::len).collect()
            } else {
                g.paillier.iter().map(Vec::len).collect()
            };
            let contests = shape
                .iter()
                .map(|len| {
                    (0..*len)
                        .map(|_| {
                            it.next()
                                .copied()
                                .ok_or_else(|| Error::Trustees("too few decrypted values".into()))
                        })
                        .collect::<Result<Vec<u64>>>()
                })
                .collect::<Result<Vec<_>>>()?;
            groups.push(GroupResult {
                group: g.group,
                ballots: g.ballots,
                contests,
            });
        }
        if it.next().is_some() {
            return Err(Error::Trustees("too many decrypted values".into()));
        }
        let mut overall = GroupResultOverall {
            ballots: 0,
            contests: groups
                .first()
                .map(|g| g.contests.iter().map(|c| vec![0; c.len()]).collect())
                .unwrap_or_default(),
        };
        for g in &groups {
            overall.ballots += g.ballots;
            for (o, c) in overall.contests.iter_mut().zip(&g.contests) {
                for (a, b) in o.iter_mut().zip(c) {
                    *a += b;
                }
            }
        }
        Ok(Results { groups, overall })
    }
}
