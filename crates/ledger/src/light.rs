//! The light client (Chainiac, USENIX Security 2017, §4.2): trusting only the genesis hash and
//! the genesis roster, verify a block at any height by following forward links and commit
//! certificates, each signed by a roster the client already trusts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::block::{check_link_shape, BlockHeader, Commit, ForwardLink};
use crate::error::{Error, Result};
use crate::roster::Roster;
use crate::types::{BlockHash, Height, RosterHash};

/// One hop of a light-client proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "link", rename_all = "snake_case")]
pub enum Link {
    /// Level 0: the next block's commit certificate.
    Commit(Commit),
    /// Level ≥ 1: a forward link.
    Forward(ForwardLink),
}

/// A hop: the link and the header it leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    /// The link from the previous header.
    pub link: Link,
    /// The header reached.
    pub header: BlockHeader,
}

/// Everything a light client needs to reach a block from genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LightProof {
    /// The genesis header (checked against the trusted genesis hash).
    pub genesis: BlockHeader,
    /// The hops, in order.
    pub steps: Vec<Step>,
    /// The rosters that sign the hops (each checked against the hash a trusted header names).
    pub rosters: Vec<Roster>,
}

/// A header the light client has verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The verified header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: BlockHash,
    /// Number of links followed from genesis.
    pub links_used: usize,
}

/// Verifies `proof` from the trusted `genesis_hash` (and `genesis_roster`, which must be the one
/// genesis names) to the block at `target`. Every hop is checked: the link's shape (heights,
/// back link to the current header), then > 2/3 signatures of the roster the current header
/// names as next — for a commit certificate that roster must also be the one the new header says
/// commits it. Rosters are only trusted through hashes in trusted headers.
pub fn verify(
    genesis_hash: &BlockHash,
    genesis_roster: &Roster,
    proof: &LightProof,
    target: Height,
) -> Result<Verified> {
    if proof.genesis.hash() != *genesis_hash {
        return Err(Error::BadLink(
            "the proof's genesis header does not match the trusted genesis hash".into(),
        ));
    }
    if proof.genesis.height != Height(0) {
        return Err(Error::BadLink(
            "the genesis header is not at height 0".into(),
        ));
    }
    proof.genesis.params.validate()?;
    if genesis_roster.hash() != proof.genesis.roster_hash {
        return Err(Error::BadRoster(
            "the trusted genesis roster is not the one genesis names".into(),
        ));
    }
    let mut rosters: BTreeMap<RosterHash, &Roster> =
        proof.rosters.iter().map(|r| (r.hash(), r)).collect();
    rosters.insert(genesis_roster.hash(), genesis_roster);

    let mut cur = proof.genesis.clone();
    for (i, step) in proof.steps.iter().enumerate() {
        let signer = rosters.get(&cur.next_roster_hash).ok_or_else(|| {
            Error::BadRoster(format!(
                "hop {i}: the proof lacks roster {} named by block {}",
                cur.next_roster_hash, cur.height
            ))
        })?;
        match &step.link {
            Link::Commit(c) => {
                check_link_shape(&cur, 0, &step.header)?;
                // The commit is signed by the roster the new header names, which must be the
                // one the trusted current header hands over to.
                if step.header.roster_hash != cur.next_roster_hash {
                    return Err(Error::BadRoster(format!(
                        "hop {i}: block {} claims roster {} but block {} hands over to {}",
                        step.header.height,
                        step.header.roster_hash,
                        cur.height,
                        cur.next_roster_hash
                    )));
                }
                c.verify(&step.header, signer)?;
            }
            Link::Forward(f) => f.verify(&cur, &step.header, signer)?,
        }
        cur = step.header.clone();
    }
    if cur.height != target {
        return Err(Error::BadLink(format!(
            "the proof ends at height {}, not {target}",
            cur.height
        )));
    }
    Ok(Verified {
        hash: cur.hash(),
        header: cur,
        links_used: proof.steps.len(),
    })
}
