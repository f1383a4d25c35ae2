//! The routing operations over a workspace (draft-gwerder-messagevortexmain-10 §7.4, §7.5,
//! §2.9, §7.1.2; docs/VORTEX.md §3, D-11, D-12): map, split, merge, encrypt, decrypt,
//! addRedundancy and removeRedundancy. Operations run in list order; one that fails leaves its
//! target slots unchanged and the later ones still run; a written slot expires with the latest
//! of its sources.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::redundancy::{self, Shape};
use crate::sym::SymKey;

/// Slot 0: the local message (read: the user's text; written: delivered to the user).
pub const LOCAL: u16 = 0;
/// The last slot of the outgoing message's payload blocks (1..=127).
pub const LAST_PAYLOAD: u16 = 127;
/// The slot a solicited reply (a special block) arrives in.
pub const REPLY: u16 = 32767;
/// The largest chunk an operation may produce (a node's limit on the work one operation
/// costs; messages are e-mails).
pub const MAX_CHUNK: usize = 4 << 20;
/// The most redundancy blocks one operation may use (the draft allows 508 in GF(2^16); a
/// node bounds the matrix work).
pub const MAX_BLOCKS: usize = 64;
/// The most bytes one operation may write in all (addRedundancy writes `n` blocks).
pub const MAX_OUTPUT: usize = 8 << 20;
/// The most field multiplications one redundancy operation may cost (about `k` times the bytes
/// it encodes or recovers): a node's CPU bound per operation.
pub const MAX_REDUNDANCY_WORK: usize = 64 << 20;
/// Bytes one workspace (one identity) may hold.
pub const MAX_WORKSPACE: usize = 32 << 20;

/// A chunk in the workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The bytes.
    pub data: Vec<u8>,
    /// When it is dropped (seconds on the node's clock).
    pub expires: u64,
}

/// A workspace: slot ID → chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workspace {
    slots: BTreeMap<u16, Chunk>,
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Workspace::default()
    }

    /// The chunk in `id`.
    pub fn get(&self, id: u16) -> Option<&Chunk> {
        self.slots.get(&id)
    }

    /// Puts a chunk in `id` (replacing what was there).
    pub fn put(&mut self, id: u16, data: Vec<u8>, expires: u64) {
        self.slots.insert(id, Chunk { data, expires });
    }

    /// Takes the chunk out of `id`.
    pub fn take(&mut self, id: u16) -> Option<Chunk> {
        self.slots.remove(&id)
    }

    /// Drops chunks that expired at or before `now`; returns how many.
    pub fn expire(&mut self, now: u64) -> usize {
        let before = self.slots.len();
        self.slots.retain(|_, c| c.expires > now);
        before - self.slots.len()
    }

    /// The slots in use, in order.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.slots.keys().copied()
    }

    /// The number of chunks.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The total bytes held.
    pub fn bytes(&self) -> usize {
        self.slots.values().map(|c| c.data.len()).sum()
    }

    fn read(&self, id: u16) -> Result<&Chunk> {
        self.slots.get(&id).ok_or(Error::MissingChunk(id))
    }

    fn len_of(&self, id: u16) -> usize {
        self.slots.get(&id).map_or(0, |c| c.data.len())
    }
}

fn too_big(what: &str, bytes: usize, most: usize) -> Error {
    Error::BadParameters(format!("{what}: {bytes} bytes (at most {most})"))
}

/// Where a split cuts (§7.4.2; D-11): the first piece is the byte range `[from, to)`, the
/// second the remaining bytes in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Bounds in percent of the length (0..=100), rounded down to whole bytes.
    Percent {
        /// Start of the first piece.
        from: u8,
        /// End of the first piece.
        to: u8,
    },
    /// Bounds in bytes; a negative `to` counts from the end; bounds past the end are clamped.
    Absolute {
        /// Start of the first piece.
        from: u32,
        /// End of the first piece.
        to: i64,
    },
}

impl Size {
    /// The byte range `[from, to)` for a chunk of `len` bytes.
    pub fn range(&self, len: usize) -> Result<(usize, usize)> {
        let (from, to) = match *self {
            Size::Percent { from, to } => {
                if from > 100 || to > 100 {
                    return Err(Error::BadParameters(format!("percent {from}..{to}")));
                }
                // Exact floor(len · pct / 100) in integers.
                let at = |p: u8| (len as u128 * u128::from(p) / 100) as usize;
                (at(from), at(to))
            }
            Size::Absolute { from, to } => {
                let from = (from as usize).min(len);
                let to = if to < 0 {
                    len.saturating_sub(to.unsigned_abs() as usize)
                } else {
                    usize::try_from(to).unwrap_or(usize::MAX).min(len)
                };
                (from, to)
            }
        };
        if from > to {
            return Err(Error::BadParameters(format!(
                "a split from byte {from} to byte {to}"
            )));
        }
        Ok((from, to))
    }
}

/// One routing operation (the draft's PayloadOperation), with keys already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Copies `from` to `to` (§7.4.1).
    Map {
        /// Source slot.
        from: u16,
        /// Target slot (≥ 1).
        to: u16,
    },
    /// Cuts `from` in two (§7.4.2).
    Split {
        /// Source slot.
        from: u16,
        /// Where to cut.
        size: Size,
        /// Slot of the first piece.
        first: u16,
        /// Slot of the second piece.
        second: u16,
    },
    /// Joins two chunks (§7.4.2).
    Merge {
        /// First source.
        first: u16,
        /// Second source.
        second: u16,
        /// Target slot.
        to: u16,
    },
    /// Encrypts a chunk (§7.4.3).
    Encrypt {
        /// Source slot.
        from: u16,
        /// Key.
        key: SymKey,
        /// Target slot.
        to: u16,
    },
    /// Decrypts a chunk (§7.4.3).
    Decrypt {
        /// Source slot.
        from: u16,
        /// Key.
        key: SymKey,
        /// Target slot.
        to: u16,
    },
    /// Erasure-codes a chunk into `n` encrypted blocks in `to .. to + n` (§7.4.4).
    AddRedundancy {
        /// Source slot.
        from: u16,
        /// k, m and the field.
        shape: Shape,
        /// The block keys.
        keys: Vec<SymKey>,
        /// First target slot.
        to: u16,
    },
    /// Recovers a chunk from any `k` of the blocks in `from .. from + n` (§7.4.4).
    RemoveRedundancy {
        /// First source slot.
        from: u16,
        /// k, m and the field.
        shape: Shape,
        /// The block keys.
        keys: Vec<SymKey>,
        /// Target slot.
        to: u16,
    },
}

/// What one operation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Slots written.
    pub written: Vec<u16>,
    /// Redundancy blocks (slot IDs) whose authentication failed: tagged on the way.
    pub tampered: Vec<u16>,
}

/// `n` consecutive slots from `first`, or an error if they pass 65535.
fn run_of(first: u16, n: usize) -> Result<Vec<u16>> {
    (0..n)
        .map(|i| {
            u16::try_from(usize::from(first) + i)
                .map_err(|_| Error::BadParameters(format!("{n} slots from {first} pass 65535")))
        })
        .collect()
}

impl Operation {
    /// Applies the operation to `ws`: everything is computed first and written at the end, so
    /// a failure leaves the workspace unchanged.
    pub fn apply(&self, ws: &mut Workspace) -> Result<Applied> {
        let mut out: Vec<(u16, Vec<u8>)> = Vec::new();
        let mut tampered = Vec::new();
        let expires;
        match self {
            Operation::Map { from, to } => {
                let c = ws.read(*from)?;
                expires = c.expires;
                out.push((*to, c.data.clone()));
            }
            Operation::Split {
                from,
                size,
                first,
                second,
            } => {
                let c = ws.read(*from)?;
                expires = c.expires;
                let (a, b) = size.range(c.data.len())?;
                let mut rest = c.data[..a].to_vec();
                rest.extend_from_slice(&c.data[b..]);
                out.push((*first, c.data[a..b].to_vec()));
                out.push((*second, rest));
            }
            Operation::Merge { first, second, to } => {
                let (a, b) = (ws.read(*first)?, ws.read(*second)?);
                let joined_len = a.data.len().saturating_add(b.data.len());
                if joined_len > MAX_CHUNK {
                    return Err(too_big("a merge", joined_len, MAX_CHUNK));
                }
                expires = a.expires.max(b.expires);
                let mut joined = a.data.clone();
                joined.extend_from_slice(&b.data);
                out.push((*to, joined));
            }
            Operation::Encrypt { from, key, to } => {
                let c = ws.read(*from)?;
                expires = c.expires;
                out.push((*to, key.encrypt(&c.data)?));
            }
            Operation::Decrypt { from, key, to } => {
                let c = ws.read(*from)?;
                expires = c.expires;
                out.push((*to, key.decrypt(&c.data)?));
            }
            Operation::AddRedundancy {
                from,
                shape,
                keys,
                to,
            } => {
                check_blocks(shape)?;
                let c = ws.read(*from)?;
                // Checked before any work: n blocks of about len/k bytes each, k·len products.
                let block = c.data.len() / shape.data.max(1) + 64;
                if block.saturating_mul(shape.blocks()) > MAX_OUTPUT {
                    return Err(too_big(
                        "addRedundancy output",
                        block * shape.blocks(),
                        MAX_OUTPUT,
                    ));
                }
                if c.data.len().saturating_mul(shape.redundancy) > MAX_REDUNDANCY_WORK {
                    return Err(too_big(
                        "addRedundancy work",
                        c.data.len() * shape.redundancy,
                        MAX_REDUNDANCY_WORK,
                    ));
                }
                expires = c.expires;
                let targets = run_of(*to, shape.blocks())?;
                let blocks = redundancy::add(&c.data, *shape, keys)?;
                out.extend(targets.into_iter().zip(blocks));
            }
            Operation::RemoveRedundancy {
                from,
                shape,
                keys,
                to,
            } => {
                check_blocks(shape)?;
                let sources = run_of(*from, shape.blocks())?;
                let present: Vec<Option<&Chunk>> = sources.iter().map(|&s| ws.get(s)).collect();
                // Checked before any work: the message is k blocks long, and recovering it costs
                // k products per byte.
                let longest = present
                    .iter()
                    .flatten()
                    .map(|c| c.data.len())
                    .max()
                    .unwrap_or(0);
                let message = longest.saturating_mul(shape.data);
                if message > MAX_CHUNK {
                    return Err(too_big("removeRedundancy output", message, MAX_CHUNK));
                }
                if message.saturating_mul(shape.data) > MAX_REDUNDANCY_WORK {
                    return Err(too_big(
                        "removeRedundancy work",
                        message * shape.data,
                        MAX_REDUNDANCY_WORK,
                    ));
                }
                expires = present
                    .iter()
                    .flatten()
                    .map(|c| c.expires)
                    .max()
                    .unwrap_or(0);
                let blocks: Vec<Option<Vec<u8>>> =
                    present.iter().map(|c| c.map(|c| c.data.clone())).collect();
                let got = redundancy::remove(&blocks, *shape, keys)?;
                tampered = got.tampered.iter().map(|&r| sources[r]).collect();
                out.push((*to, got.message));
            }
        }
        if let Some((id, big)) = out.iter().find(|(_, d)| d.len() > MAX_CHUNK) {
            return Err(Error::BadParameters(format!(
                "slot {id} would hold {} bytes (at most {MAX_CHUNK})",
                big.len()
            )));
        }
        // The workspace stays within its limit after the write.
        let freed: usize = out.iter().map(|(id, _)| ws.len_of(*id)).sum();
        let added: usize = out.iter().map(|(_, d)| d.len()).sum();
        let after = (ws.bytes() + added).saturating_sub(freed);
        if after > MAX_WORKSPACE {
            return Err(too_big("the workspace", after, MAX_WORKSPACE));
        }
        let mut written = Vec::with_capacity(out.len());
        for (id, data) in out {
            ws.put(id, data, expires);
            written.push(id);
        }
        Ok(Applied { written, tampered })
    }
}

fn check_blocks(shape: &Shape) -> Result<()> {
    if shape.blocks() > MAX_BLOCKS {
        return Err(Error::BadParameters(format!(
            "{} redundancy blocks (this node takes at most {MAX_BLOCKS})",
            shape.blocks()
        )));
    }
    Ok(())
}

/// Runs an assembly list in order (§7.5): each operation's result, failures included; a
/// failure does not stop the later operations.
pub fn run(ops: &[Operation], ws: &mut Workspace) -> Vec<Result<Applied>> {
    ops.iter().map(|op| op.apply(ws)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redundancy::GfSize;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;

    fn ws_with(id: u16, data: &[u8], expires: u64) -> Workspace {
        let mut ws = Workspace::new();
        ws.put(id, data.to_vec(), expires);
        ws
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn split_then_merge_is_the_identity_for_a_leading_cut(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            to in -400i64..400,
            pct in 0u8..=100,
        ) {
            for size in [Size::Absolute { from: 0, to }, Size::Percent { from: 0, to: pct }] {
                let mut ws = ws_with(200, &data, 9);
                Operation::Split { from: 200, size, first: 201, second: 202 }.apply(&mut ws).unwrap();
                Operation::Merge { first: 201, second: 202, to: 203 }.apply(&mut ws).unwrap();
                prop_assert_eq!(&ws.get(203).unwrap().data, &data);
            }
        }

        #[test]
        fn a_middle_cut_keeps_every_byte_once(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            from in 0u32..350, to in 0i64..350,
        ) {
            let mut ws = ws_with(200, &data, 9);
            let r = Operation::Split { from: 200, size: Size::Absolute { from, to }, first: 1, second: 2 }
                .apply(&mut ws);
            let (a, b) = ((from as usize).min(data.len()), (to as usize).min(data.len()));
            if a > b {
                prop_assert!(r.is_err());
                prop_assert!(ws.get(1).is_none() && ws.get(2).is_none());
            } else {
                prop_assert_eq!(&ws.get(1).unwrap().data, &data[a..b].to_vec());
                prop_assert_eq!(ws.get(1).unwrap().data.len() + ws.get(2).unwrap().data.len(), data.len());
            }
        }
    }

    /// Review: the limits hold before any work is done, and the workspace as a whole stays
    /// within its limit.
    #[test]
    fn limits_are_checked_before_the_work() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let mut ws = ws_with(200, &vec![7u8; 3 << 20], 9);
        ws.put(201, vec![8u8; 3 << 20], 9);
        assert!(Operation::Merge {
            first: 200,
            second: 201,
            to: 202
        }
        .apply(&mut ws)
        .is_err());
        let keys: Vec<SymKey> = (0..64).map(|_| SymKey::generate(&mut rng)).collect();
        let wide = Shape {
            data: 1,
            redundancy: 63,
            gf: GfSize::Gf8,
        };
        let r = Operation::AddRedundancy {
            from: 200,
            shape: wide,
            keys,
            to: 300,
        }
        .apply(&mut ws);
        assert!(
            matches!(r, Err(Error::BadParameters(ref m)) if m.contains("output")),
            "{r:?}"
        );
        // Blocks that would recover into more than a chunk are refused before decoding.
        let deep = Shape {
            data: 32,
            redundancy: 32,
            gf: GfSize::Gf16,
        };
        let keys: Vec<SymKey> = (0..64).map(|_| SymKey::generate(&mut rng)).collect();
        for i in 0..32u16 {
            ws.put(1000 + i, vec![0u8; 256 << 10], 9);
        }
        let r = Operation::RemoveRedundancy {
            from: 1000,
            shape: deep,
            keys,
            to: 400,
        }
        .apply(&mut ws);
        assert!(
            matches!(r, Err(Error::BadParameters(ref m)) if m.contains("removeRedundancy")),
            "{r:?}"
        );
        // 6 MiB + 8 MiB held; copies of 3 MiB fill the workspace up to its limit, then stop.
        let mut copies = 0;
        for to in 500..520 {
            if (Operation::Map { from: 200, to }).apply(&mut ws).is_ok() {
                copies += 1;
            }
        }
        assert!(ws.bytes() <= MAX_WORKSPACE);
        assert_eq!(copies, (MAX_WORKSPACE - (14 << 20)) / (3 << 20));
    }

    #[test]
    fn percent_bounds_round_down() {
        assert_eq!(Size::Percent { from: 0, to: 50 }.range(7).unwrap(), (0, 3));
        assert_eq!(
            Size::Percent { from: 33, to: 100 }.range(10).unwrap(),
            (3, 10)
        );
        assert!(Size::Percent { from: 0, to: 101 }.range(10).is_err());
        assert_eq!(
            Size::Absolute { from: 2, to: -3 }.range(10).unwrap(),
            (2, 7)
        );
        assert_eq!(
            Size::Absolute { from: 0, to: -30 }.range(10).unwrap(),
            (0, 0)
        );
    }

    #[test]
    fn crypt_and_redundancy_round_trip_and_failures_leave_targets_alone() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = SymKey::generate(&mut rng);
        let shape = Shape {
            data: 2,
            redundancy: 2,
            gf: GfSize::Gf8,
        };
        let keys: Vec<SymKey> = (0..4).map(|_| SymKey::generate(&mut rng)).collect();
        let mut ws = ws_with(1, b"payload", 50);
        ws.put(2, vec![1], 80);
        let ops = vec![
            Operation::Encrypt {
                from: 1,
                key: key.clone(),
                to: 300,
            },
            Operation::AddRedundancy {
                from: 300,
                shape,
                keys: keys.clone(),
                to: 400,
            },
            Operation::Map { from: 401, to: 500 },
            Operation::RemoveRedundancy {
                from: 400,
                shape,
                keys: keys.clone(),
                to: 600,
            },
            // Fails (wrong key): 700 stays empty and the next op still runs.
            Operation::Decrypt {
                from: 600,
                key: SymKey::generate(&mut rng),
                to: 700,
            },
            Operation::Decrypt {
                from: 600,
                key,
                to: 701,
            },
            Operation::Merge {
                first: 701,
                second: 2,
                to: 702,
            },
        ];
        let results = run(&ops, &mut ws);
        assert!(results[4].is_err());
        assert!(results.iter().enumerate().all(|(i, r)| i == 4 || r.is_ok()));
        assert!(ws.get(700).is_none());
        assert_eq!(ws.get(701).unwrap().data, b"payload");
        assert_eq!(
            ws.get(702).unwrap().expires,
            80,
            "the later expiry of the sources"
        );
        assert_eq!(ws.get(403).unwrap().expires, 50);
        // Lose two blocks, tag one of the rest: not enough; the target keeps its old value.
        ws.take(400);
        ws.take(401);
        let mut tagged = ws.take(402).unwrap();
        tagged.data[0] ^= 1;
        ws.put(402, tagged.data, tagged.expires);
        ws.put(600, b"old".to_vec(), 1);
        let r = Operation::RemoveRedundancy {
            from: 400,
            shape,
            keys,
            to: 600,
        }
        .apply(&mut ws);
        assert_eq!(r, Err(Error::NotEnoughBlocks { have: 1, need: 2 }));
        assert_eq!(ws.get(600).unwrap().data, b"old");
        assert_eq!(
            Operation::Map { from: 9, to: 10 }.apply(&mut ws),
            Err(Error::MissingChunk(9))
        );
        assert!(Operation::AddRedundancy {
            from: 701,
            shape,
            keys: vec![],
            to: 65534
        }
        .apply(&mut ws)
        .is_err());
        ws.expire(50);
        assert_eq!(ws.ids().collect::<Vec<_>>(), vec![2, 702]);
    }
}
