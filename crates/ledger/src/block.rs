//! Skipchain blocks (Chainiac: Nikitin et al., "CHAINIAC: Proactive Software-Update Transparency
//! via Collectively Signed Skipchains and Verified Builds", USENIX Security 2017, §4; seed 001
//! §3.3): headers with back links, commit certificates and forward links.
//!
//! With base `b` and maximum height `h`, block `i > 0` has a level-`l` back link to block
//! `i − b^l` for every `l < h` with `b^l | i` (level 0 is the previous block). Symmetrically, when
//! block `j` is committed, for every `l ≥ 1` with `b^l | j` the roster in charge after block
//! `i = j − b^l` signs a level-`l` forward link `i → j`. The commit certificate of block `i + 1`
//! (signatures by > 2/3 of the roster in charge after block `i`) is the level-0 forward link.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::merkle;
use crate::roster::{Roster, ValidatorSecret, ValidatorSignature};
use crate::tx::Transaction;
use crate::types::{hash_parts, BlockHash, Height, RosterHash, StateRoot, TxId, TxRoot};
use crate::verdict::SignedBitmap;

/// Signature domain of commit certificates.
pub const COMMIT_DOMAIN: &str = "tabella/ledger/commit/v1";
/// Signature domain of forward links.
pub const FORWARD_LINK_DOMAIN: &str = "tabella/ledger/forward-link/v1";

/// Skipchain shape: base `b ≥ 2` and maximum height `h` (levels `0..h`), default 4 / 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkipchainParams {
    /// Base `b`.
    pub base: u64,
    /// Maximum height `h` (number of link levels).
    pub max_height: u32,
}

impl Default for SkipchainParams {
    fn default() -> Self {
        SkipchainParams {
            base: 4,
            max_height: 8,
        }
    }
}

impl SkipchainParams {
    /// Checks `b ≥ 2` and `1 ≤ h ≤ 32`.
    pub fn validate(&self) -> Result<()> {
        if self.base < 2 {
            return Err(Error::BadParams(format!(
                "base {} must be at least 2",
                self.base
            )));
        }
        if self.max_height == 0 || self.max_height > 32 {
            return Err(Error::BadParams(format!(
                "max height {} must be in 1..=32",
                self.max_height
            )));
        }
        Ok(())
    }

    /// `b^l`, or `None` if it overflows `u64`.
    pub fn span(&self, level: u32) -> Option<u64> {
        self.base.checked_pow(level)
    }

    /// Whether block `height` has a level-`level` back link (and forward link out of
    /// `height − b^level` into it): `level < h`, `b^level | height`, `b^level ≤ height`.
    pub fn has_link(&self, height: Height, level: u32) -> bool {
        level < self.max_height
            && self
                .span(level)
                .is_some_and(|s| height.0 >= s && height.0.is_multiple_of(s))
    }

    /// Number of back links of block `height` (levels `0..n` are present; 0 for genesis).
    pub fn levels(&self, height: Height) -> u32 {
        (0..self.max_height)
            .take_while(|&l| self.has_link(height, l))
            .count() as u32
    }
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlockHeader {
    /// Index in the chain (genesis 0).
    pub height: Height,
    /// The chain's skipchain parameters (the same in every block).
    pub params: SkipchainParams,
    /// `back_links[l]` is the hash of block `height − b^l`; `back_links[0]` is the previous block.
    pub back_links: Vec<BlockHash>,
    /// State root after this block's transactions.
    pub state_root: StateRoot,
    /// Merkle root of the transaction ids, in block order.
    pub tx_root: TxRoot,
    /// Number of transactions.
    pub tx_count: u64,
    /// The roster that commits this block (the previous block's `next_roster_hash`).
    pub roster_hash: RosterHash,
    /// The roster in charge after this block: it commits the next block and signs forward links
    /// out of this one. Differs from `roster_hash` only if the block changed the roster.
    pub next_roster_hash: RosterHash,
}

impl BlockHeader {
    /// The previous block's hash (`None` for genesis).
    pub fn prev(&self) -> Option<&BlockHash> {
        self.back_links.first()
    }

    /// The header hash over its canonical bytes:
    /// `SHA-256("tabella/ledger/header/v1" || 0 || height u64 || base u64 || max_height u32 ||
    /// n u32 || back_links || state_root || tx_root || tx_count u64 || roster_hash ||
    /// next_roster_hash)`, integers little-endian.
    pub fn hash(&self) -> BlockHash {
        let mut b = Vec::with_capacity(200 + 32 * self.back_links.len());
        b.extend_from_slice(&self.height.0.to_le_bytes());
        b.extend_from_slice(&self.params.base.to_le_bytes());
        b.extend_from_slice(&self.params.max_height.to_le_bytes());
        b.extend_from_slice(&(self.back_links.len() as u32).to_le_bytes());
        for l in &self.back_links {
            b.extend_from_slice(&l.0);
        }
        b.extend_from_slice(&self.state_root.0);
        b.extend_from_slice(&self.tx_root.0);
        b.extend_from_slice(&self.tx_count.to_le_bytes());
        b.extend_from_slice(&self.roster_hash.0);
        b.extend_from_slice(&self.next_roster_hash.0);
        BlockHash(hash_parts("tabella/ledger/header/v1", &[&b]))
    }
}

/// A block: header and transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, in order.
    pub txs: Vec<Transaction>,
}

impl Block {
    /// The transaction ids, in order.
    pub fn tx_ids(&self) -> Result<Vec<TxId>> {
        self.txs.iter().map(Transaction::id).collect()
    }

    /// Checks that the header's transaction count and root match the transactions.
    pub fn check_tx_root(&self) -> Result<()> {
        let ids = self.tx_ids()?;
        if self.header.tx_count != ids.len() as u64 || merkle::root(&ids) != self.header.tx_root {
            return Err(Error::BadBlock {
                height: self.header.height,
                reason: "transactions do not match the header's count and root".into(),
            });
        }
        Ok(())
    }
}

/// A commit certificate: > 2/3 of the block's roster signed `height || round || block hash`.
///
/// These are the consensus engine's own precommit signatures: the engine's precommit for a
/// block signs exactly [`Commit::message`] under [`COMMIT_DOMAIN`], so its certificate converts
/// into this shape without re-signing, and `round` is the consensus round that decided the block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Commit {
    /// The block's height.
    pub height: Height,
    /// The consensus round in which the block was decided.
    pub round: u32,
    /// The block's hash.
    pub block: BlockHash,
    /// Validators' precommit signatures.
    pub signatures: Vec<ValidatorSignature>,
    /// The signers' verdict bitmaps on the block (their precommit vote extensions), as the
    /// engine delivered them with the certificate. Each is signed by its node on its own; they
    /// are not part of the quorum check of [`Commit::verify`]. Kept so that a node can hand a
    /// lagging peer the full extended certificate.
    #[serde(default)]
    pub verdicts: Vec<SignedBitmap>,
}

impl Commit {
    /// The signed bytes: `height u64 LE || round u32 LE || block hash`.
    pub fn message(height: Height, round: u32, block: &BlockHash) -> Vec<u8> {
        let mut m = height.0.to_le_bytes().to_vec();
        m.extend_from_slice(&round.to_le_bytes());
        m.extend_from_slice(&block.0);
        m
    }

    /// One validator's precommit signature on a block in `round`.
    pub fn sign(
        secret: &ValidatorSecret,
        height: Height,
        round: u32,
        block: &BlockHash,
    ) -> ValidatorSignature {
        secret.sign_as_validator(COMMIT_DOMAIN, &Self::message(height, round, block))
    }

    /// Verifies the certificate for `header`, under `roster` (whose hash must be the header's
    /// `roster_hash`).
    pub fn verify(&self, header: &BlockHeader, roster: &Roster) -> Result<()> {
        if self.height != header.height || self.block != header.hash() {
            return Err(Error::BadLink(format!(
                "the commit certificate is for block {} at height {}, not this header",
                self.block, self.height
            )));
        }
        if roster.hash() != header.roster_hash {
            return Err(Error::BadRoster(format!(
                "block {} is committed by roster {}, not {}",
                header.height,
                header.roster_hash,
                roster.hash()
            )));
        }
        roster.verify_quorum(
            COMMIT_DOMAIN,
            &Self::message(self.height, self.round, &self.block),
            &self.signatures,
        )?;
        Ok(())
    }
}

/// A level-`l ≥ 1` forward link `from → to` (heights `i` and `i + b^l`), signed by > 2/3 of the
/// roster in charge after block `i` (`from`'s `next_roster_hash`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ForwardLink {
    /// Source block height.
    pub from_height: Height,
    /// Source block hash.
    pub from: BlockHash,
    /// Level `l`.
    pub level: u32,
    /// Target block hash (height `from_height + b^level`).
    pub to: BlockHash,
    /// Signatures.
    pub signatures: Vec<ValidatorSignature>,
}

impl ForwardLink {
    /// The signed bytes: `from_height u64 LE || level u32 LE || from || to`.
    pub fn message(from_height: Height, level: u32, from: &BlockHash, to: &BlockHash) -> Vec<u8> {
        let mut m = from_height.0.to_le_bytes().to_vec();
        m.extend_from_slice(&level.to_le_bytes());
        m.extend_from_slice(&from.0);
        m.extend_from_slice(&to.0);
        m
    }

    /// One validator's signature on the link `from → to` (the validator must first have checked
    /// that `to` is committed and its level-`level` back link is `from`).
    pub fn sign(
        secret: &ValidatorSecret,
        from: &BlockHeader,
        level: u32,
        to: &BlockHeader,
    ) -> ValidatorSignature {
        secret.sign_as_validator(
            FORWARD_LINK_DOMAIN,
            &Self::message(from.height, level, &from.hash(), &to.hash()),
        )
    }

    /// Verifies that this link joins `from` to `to` and is signed by > 2/3 of `roster`, which
    /// must be the roster `from` names as next.
    pub fn verify(&self, from: &BlockHeader, to: &BlockHeader, roster: &Roster) -> Result<()> {
        check_link_shape(from, self.level, to)?;
        if self.level == 0 {
            return Err(Error::BadLink(
                "level 0 is the commit certificate, not a forward link".into(),
            ));
        }
        if self.from_height != from.height || self.from != from.hash() || self.to != to.hash() {
            return Err(Error::BadLink(format!(
                "the forward link {} -> {} does not join these headers",
                self.from, self.to
            )));
        }
        if roster.hash() != from.next_roster_hash {
            return Err(Error::BadRoster(format!(
                "links out of block {} are signed by roster {}, not {}",
                from.height,
                from.next_roster_hash,
                roster.hash()
            )));
        }
        roster.verify_quorum(
            FORWARD_LINK_DOMAIN,
            &Self::message(self.from_height, self.level, &self.from, &self.to),
            &self.signatures,
        )?;
        Ok(())
    }
}

/// Checks the structure a link of `level` from `from` to `to` must have: same parameters,
/// `to.height = from.height + b^level`, the link level exists at `to`, and `to`'s level back link
/// is `from`'s hash.
pub fn check_link_shape(from: &BlockHeader, level: u32, to: &BlockHeader) -> Result<()> {
    if from.params != to.params {
        return Err(Error::BadLink(
            "the headers use different skipchain parameters".into(),
        ));
    }
    let span = to
        .params
        .span(level)
        .ok_or_else(|| Error::BadLink(format!("level {level} overflows")))?;
    if from.height.0.checked_add(span) != Some(to.height.0) || !to.params.has_link(to.height, level)
    {
        return Err(Error::BadLink(format!(
            "no level-{level} link from height {} to height {}",
            from.height, to.height
        )));
    }
    if to.back_links.get(level as usize) != Some(&from.hash()) {
        return Err(Error::BadLink(format!(
            "block {}'s level-{level} back link is not block {}",
            to.height, from.height
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_levels() {
        assert!(SkipchainParams {
            base: 1,
            max_height: 8
        }
        .validate()
        .is_err());
        assert!(SkipchainParams {
            base: 4,
            max_height: 0
        }
        .validate()
        .is_err());
        assert!(SkipchainParams {
            base: 4,
            max_height: 33
        }
        .validate()
        .is_err());
        let p = SkipchainParams::default();
        p.validate().unwrap();
        let lv = |h: u64| p.levels(Height(h));
        assert_eq!(
            [lv(0), lv(1), lv(4), lv(8), lv(16), lv(64), lv(96)],
            [0, 1, 2, 2, 3, 4, 3]
        );
        // Capped at the maximum height.
        assert_eq!(lv(4u64.pow(10)), 8);
        let b2 = SkipchainParams {
            base: 2,
            max_height: 3,
        };
        assert_eq!(b2.levels(Height(8)), 3);
        assert!(!b2.has_link(Height(8), 3));
    }
}
