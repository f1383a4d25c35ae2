//! Encrypted tallies per group (remote voters, each polling table) and the published results.
//!
//! Seed 003 publishes results per table and overall; seed 000 sums encrypted ballots. Here each
//! group's tally is the homomorphic sum of its counted ballots, decrypted by the trustees with
//! proofs; the overall result is the sum of the group results (equal to decrypting the overall
//! sum, since decryption is homomorphic and every group decryption is proven).
//!
//! A group's result is the sum of its voters' choices, so a group of one voter publishes that
//! vote. Before anything is decrypted, groups with fewer counted ballots than the manifest's
//! `min_group_size` are merged ([`plan_groups`]): the same small-cell rule statistical offices
//! apply to published tables (minimum frequency / cell suppression, e.g. Hundepool et al.,
//! *Statistical Disclosure Control*, Wiley 2012, §7.2).

use serde::{Deserialize, Serialize};
use tabella_crypto::elgamal::Ciphertext;
use tabella_crypto::paillier;

use crate::ballot::{Contribution, ElectionKey};
use crate::error::{Error, Result};
use crate::ids::TableIndex;
use crate::manifest::Manifest;

/// A tally group.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Remote voters (stealth keys).
    Remote,
    /// In-person voters of one polling table.
    Table(TableIndex),
    /// Groups merged because each had fewer counted ballots than the manifest's
    /// `min_group_size` ("other tables"); the merged groups are listed with it.
    Other,
}

impl Group {
    /// The group's name as results show it: "remote voters", the table's name, or
    /// "other (merged)".
    pub fn display(&self, m: &crate::manifest::Manifest) -> String {
        match self {
            Group::Remote => "remote voters".to_string(),
            Group::Table(t) => m
                .tables
                .get(usize::from(t.0))
                .map(|s| s.name.clone())
                .unwrap_or_else(|| format!("table {}", t.0)),
            Group::Other => "other (merged)".to_string(),
        }
    }
}

/// A group as tallied and published: one original group ([`Group::Remote`] or a table), or
/// [`Group::Other`] with the original groups merged into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedGroup {
    /// The group's name.
    pub group: Group,
    /// For [`Group::Other`]: the original groups it holds, in canonical order. Empty otherwise.
    pub members: Vec<Group>,
    /// Counted ballots in it.
    pub ballots: u64,
}

/// Decides which groups are tallied and decrypted separately, from the counted ballots of every
/// original group (`counts`, in canonical order: remote, then tables by index) and the minimum
/// group size `min`:
///
/// 1. every group with at least `min` ballots stays on its own;
/// 2. the others are merged into one [`Group::Other`] (omitted if there are none);
/// 3. if that merged group holds between 1 and `min − 1` ballots, the smallest remaining group
///    (the first in canonical order among equals) is merged into it too, so it reaches `min`;
///    if no group remains, the merged group is the whole election and equals the overall result,
///    which is always published.
///
/// So every decrypted group holds at least `min` ballots, or none (which reveals nothing), or all
/// of them. The output lists the separate groups in canonical order, then the merged group.
pub fn plan_groups(counts: &[(Group, u64)], min: u64) -> Vec<PlannedGroup> {
    let mut large: Vec<(Group, u64)> = Vec::new();
    let mut small: Vec<(Group, u64)> = Vec::new();
    for c in counts {
        if c.1 >= min {
            large.push(*c);
        } else {
            small.push(*c);
        }
    }
    if small.is_empty() {
        return large
            .into_iter()
            .map(|(group, ballots)| PlannedGroup {
                group,
                members: Vec::new(),
                ballots,
            })
            .collect();
    }
    let mut merged = small;
    let merged_n: u64 = merged.iter().map(|(_, n)| n).sum();
    if merged_n > 0 && merged_n < min {
        // The smallest remaining group; `min_by_key` keeps the first of equals.
        if let Some(pos) = large
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, n))| *n)
            .map(|(i, _)| i)
        {
            merged.push(large.remove(pos));
        }
    }
    let position = |g: &Group| counts.iter().position(|(x, _)| x == g);
    merged.sort_by_key(|(g, _)| position(g));
    let mut out: Vec<PlannedGroup> = large
        .into_iter()
        .map(|(group, ballots)| PlannedGroup {
            group,
            members: Vec::new(),
            ballots,
        })
        .collect();
    out.push(PlannedGroup {
        group: Group::Other,
        ballots: merged.iter().map(|(_, n)| n).sum(),
        members: merged.into_iter().map(|(g, _)| g).collect(),
    });
    out
}

/// One group's encrypted tally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupTally {
    /// The group.
    pub group: Group,
    /// For [`Group::Other`]: the original groups merged into it (see [`plan_groups`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Group>,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tallies {
    /// Per group, in the order of [`plan_groups`]: the separate groups (remote, then tables by
    /// index), then the merged group if any.
    pub groups: Vec<GroupTally>,
}

impl Tallies {
    /// Zero tallies for the given groups (from [`plan_groups`]; their ballot counts are not
    /// copied: [`Tallies::add`] counts the ballots it adds).
    pub fn empty(m: &Manifest, key: &ElectionKey, groups: &[PlannedGroup]) -> Self {
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
                        group: g.group,
                        members: g.members.clone(),
                        ballots: 0,
                        contests,
                        paillier,
                    }
                })
                .collect(),
        }
    }

    /// Adds one ballot's contribution to the group that holds its original group.
    pub fn add(
        &mut self,
        group: Group,
        contribution: &Contribution,
        key: &ElectionKey,
    ) -> Result<()> {
        let g = self
            .groups
            .iter_mut()
            .find(|g| g.group == group || g.members.contains(&group))
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupResult {
    /// The group.
    pub group: Group,
    /// For [`Group::Other`]: the original groups merged into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Group>,
    /// Ballots counted.
    pub ballots: u64,
    /// Per contest, per result entry (candidates, then blank where allowed), the count or points.
    pub contests: Vec<Vec<u64>>,
}

/// The published results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Results {
    /// Per group.
    pub groups: Vec<GroupResult>,
    /// Overall: the sum of the groups.
    pub overall: GroupResultOverall,
}

/// The overall result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
                members: g.members.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(i: u16) -> Group {
        Group::Table(TableIndex(i))
    }

    fn layout(counts: &[(Group, u64)], min: u64) -> Vec<(Group, Vec<Group>, u64)> {
        plan_groups(counts, min)
            .into_iter()
            .map(|p| (p.group, p.members, p.ballots))
            .collect()
    }

    #[test]
    fn groups_at_or_above_the_minimum_stay_apart() {
        let c = [(Group::Remote, 9), (t(0), 5), (t(1), 7)];
        assert_eq!(
            layout(&c, 5),
            vec![
                (Group::Remote, vec![], 9),
                (t(0), vec![], 5),
                (t(1), vec![], 7)
            ]
        );
    }

    #[test]
    fn small_groups_merge_into_other() {
        let c = [(Group::Remote, 9), (t(0), 3), (t(1), 2), (t(2), 8)];
        assert_eq!(
            layout(&c, 5),
            vec![
                (Group::Remote, vec![], 9),
                (t(2), vec![], 8),
                (Group::Other, vec![t(0), t(1)], 5)
            ]
        );
    }

    #[test]
    fn a_merged_group_still_too_small_takes_the_smallest_other_group() {
        // The lone voter at table 1 with a small remote group: merged with table 0 (the
        // smallest of the groups at the minimum), never published alone.
        let c = [(Group::Remote, 6), (t(0), 5), (t(1), 1)];
        assert_eq!(
            layout(&c, 5),
            vec![
                (Group::Remote, vec![], 6),
                (Group::Other, vec![t(0), t(1)], 6)
            ]
        );
        // Ties go to the first in canonical order.
        let c = [(Group::Remote, 5), (t(0), 5), (t(1), 1)];
        assert_eq!(
            layout(&c, 5),
            vec![
                (t(0), vec![], 5),
                (Group::Other, vec![Group::Remote, t(1)], 6)
            ]
        );
    }

    #[test]
    fn everything_small_is_one_group_equal_to_the_overall_result() {
        // The quickstart: 3 remote voters and 1 at table 1.
        let c = [(Group::Remote, 3), (t(0), 1)];
        assert_eq!(
            layout(&c, 5),
            vec![(Group::Other, vec![Group::Remote, t(0)], 4)]
        );
    }

    #[test]
    fn empty_groups_reveal_nothing_and_are_not_padded() {
        let c = [(Group::Remote, 9), (t(0), 0), (t(1), 0)];
        assert_eq!(
            layout(&c, 5),
            vec![
                (Group::Remote, vec![], 9),
                (Group::Other, vec![t(0), t(1)], 0)
            ]
        );
        // A minimum of 1 merges only empty groups.
        let c = [(Group::Remote, 1), (t(0), 0)];
        assert_eq!(
            layout(&c, 1),
            vec![(Group::Remote, vec![], 1), (Group::Other, vec![t(0)], 0)]
        );
    }

    #[test]
    fn every_plan_respects_the_minimum() {
        // Exhaustive over small cases: every published group has 0 ballots, at least `min`,
        // or is the only group; the groups partition the originals.
        for min in 1..=6u64 {
            for a in 0..8u64 {
                for b in 0..8u64 {
                    for c in 0..8u64 {
                        let counts = [(Group::Remote, a), (t(0), b), (t(1), c)];
                        let plan = plan_groups(&counts, min);
                        let total: u64 = plan.iter().map(|p| p.ballots).sum();
                        assert_eq!(total, a + b + c);
                        let mut originals: Vec<Group> = plan
                            .iter()
                            .flat_map(|p| {
                                if p.members.is_empty() {
                                    vec![p.group]
                                } else {
                                    p.members.clone()
                                }
                            })
                            .collect();
                        originals.sort();
                        assert_eq!(originals, vec![Group::Remote, t(0), t(1)]);
                        for p in &plan {
                            assert!(
                                p.ballots == 0 || p.ballots >= min || plan.len() == 1,
                                "{counts:?} min {min}: {plan:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
