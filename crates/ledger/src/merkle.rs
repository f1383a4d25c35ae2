//! The transactions Merkle tree, RFC 6962 §2.1 (as restated in RFC 9162 §2.1): leaves hashed as
//! `SHA-256(0x00 || leaf)`, interior nodes as `SHA-256(0x01 || left || right)`, the empty tree as
//! `SHA-256()`; inclusion proofs (audit paths) per RFC 6962 §2.1.1, verified with the algorithm
//! of RFC 9162 §2.1.3.2. The leaves of a block's tree are its transaction ids, in block order.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::types::{Height, TxId, TxRoot};

fn leaf_hash(leaf: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Largest power of two strictly less than `n` (for `n ≥ 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn subtree_root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaf_hash(&leaves[0]),
        n => {
            let k = split(n);
            node_hash(&subtree_root(&leaves[..k]), &subtree_root(&leaves[k..]))
        }
    }
}

/// Merkle tree head of a list of transaction ids.
pub fn root(leaves: &[TxId]) -> TxRoot {
    let raw: Vec<[u8; 32]> = leaves.iter().map(|l| l.0).collect();
    TxRoot(subtree_root(&raw))
}

fn path(index: usize, leaves: &[[u8; 32]], out: &mut Vec<[u8; 32]>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if index < k {
        path(index, &leaves[..k], out);
        out.push(subtree_root(&leaves[k..]));
    } else {
        path(index - k, &leaves[k..], out);
        out.push(subtree_root(&leaves[..k]));
    }
}

/// An inclusion proof: leaf `index` of a tree of `tree_size` leaves, with the audit path from the
/// leaf upwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InclusionProof {
    /// Leaf position (0-based).
    pub index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes from the leaf to the root.
    #[schema(value_type = Vec<tabella_crypto::api_schema::Hash32Hex>)]
    #[serde(with = "hex_path")]
    pub path: Vec<[u8; 32]>,
}

mod hex_path {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(p.iter().map(hex::encode))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| {
                let b = hex::decode(s).map_err(serde::de::Error::custom)?;
                b.try_into()
                    .map_err(|_| serde::de::Error::custom("path hash must be 32 bytes"))
            })
            .collect()
    }
}

/// The inclusion proof of leaf `index` (RFC 6962 §2.1.1 `PATH(m, D[n])`).
pub fn prove(leaves: &[TxId], index: usize) -> Result<InclusionProof> {
    if index >= leaves.len() {
        return Err(Error::NotFound(format!(
            "leaf {index} of a tree of {} leaves",
            leaves.len()
        )));
    }
    let raw: Vec<[u8; 32]> = leaves.iter().map(|l| l.0).collect();
    let mut p = Vec::new();
    path(index, &raw, &mut p);
    Ok(InclusionProof {
        index: index as u64,
        tree_size: leaves.len() as u64,
        path: p,
    })
}

impl InclusionProof {
    /// Verifies that `leaf` is at `self.index` in the tree with head `root` (RFC 9162 §2.1.3.2).
    pub fn verify(&self, leaf: &TxId, root: &TxRoot) -> Result<()> {
        if self.index >= self.tree_size {
            return Err(Error::BadProof(format!(
                "index {} is outside a tree of {} leaves",
                self.index, self.tree_size
            )));
        }
        let mut f_n = self.index;
        let mut s_n = self.tree_size - 1;
        let mut r = leaf_hash(&leaf.0);
        for p in &self.path {
            if s_n == 0 {
                return Err(Error::BadProof("the audit path is too long".into()));
            }
            if f_n & 1 == 1 || f_n == s_n {
                r = node_hash(p, &r);
                if f_n & 1 == 0 {
                    while f_n & 1 == 0 && f_n != 0 {
                        f_n >>= 1;
                        s_n >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        if s_n != 0 {
            return Err(Error::BadProof("the audit path is too short".into()));
        }
        if r != root.0 {
            return Err(Error::BadProof(
                "the audit path does not lead to the transactions root".into(),
            ));
        }
        Ok(())
    }
}

/// A transaction's receipt: where it was committed and the proof that it is there. Check it
/// against the `tx_root` of the header at `height`, itself verified by the light client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// The transaction.
    pub tx_id: TxId,
    /// The block that includes it.
    pub height: Height,
    /// Inclusion proof in that block's transactions tree (its `index` is the position in the block).
    pub proof: InclusionProof,
}

impl Receipt {
    /// Verifies the receipt against the transactions root of the block at `self.height`.
    pub fn verify(&self, tx_root: &TxRoot) -> Result<()> {
        self.proof.verify(&self.tx_id, tx_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(n: usize, salt: u8) -> Vec<TxId> {
        (0..n)
            .map(|i| {
                let mut a = [salt; 32];
                a[..8].copy_from_slice(&(i as u64).to_le_bytes());
                TxId(a)
            })
            .collect()
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            root(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn three_leaf_tree_matches_rfc_shape() {
        let l = ids(3, 7);
        let expect = node_hash(
            &node_hash(&leaf_hash(&l[0].0), &leaf_hash(&l[1].0)),
            &leaf_hash(&l[2].0),
        );
        assert_eq!(root(&l).0, expect);
        let p = prove(&l, 2).unwrap();
        assert_eq!(
            p.path,
            vec![node_hash(&leaf_hash(&l[0].0), &leaf_hash(&l[1].0))]
        );
    }

    #[test]
    fn out_of_range_index_is_rejected() {
        assert!(prove(&ids(3, 0), 3).is_err());
    }

    proptest! {
        #[test]
        fn every_leaf_proof_verifies(n in 1usize..70, salt in any::<u8>()) {
            let l = ids(n, salt);
            let r = root(&l);
            for (i, leaf) in l.iter().enumerate() {
                let p = prove(&l, i).unwrap();
                prop_assert!(p.verify(leaf, &r).is_ok());
                // JSON round trip keeps the proof valid.
                let q: InclusionProof = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
                prop_assert_eq!(&q, &p);
            }
        }

        #[test]
        fn altered_proofs_and_leaves_fail(n in 1usize..70, pick in any::<prop::sample::Index>(),
                                          byte in 0usize..32, bit in 0u8..8, which in 0u8..5) {
            let l = ids(n, 3);
            let r = root(&l);
            let i = pick.index(n);
            let mut p = prove(&l, i).unwrap();
            let mut leaf = l[i];
            match which {
                0 => leaf.0[byte] ^= 1 << bit,
                1 if !p.path.is_empty() => {
                    let k = byte % p.path.len();
                    p.path[k][byte] ^= 1 << bit;
                }
                2 if n > 1 => p.index = ((i + 1 + byte % (n - 1)) % n) as u64,
                3 => p.path.push([bit; 32]),
                4 if !p.path.is_empty() => { p.path.pop(); }
                _ => leaf.0[0] ^= 0x80,
            }
            // A valid proof checked against a different root fails too.
            prop_assert!(p.verify(&leaf, &r).is_err());
            prop_assert!(prove(&l, i).unwrap().verify(&l[i], &TxRoot([bit; 32])).is_err());
        }
    }
}
