//! The routing block builder (draft-gwerder-messagevortexmain-10 §4, §7.4, §10.2.2, §10.3;
//! docs/VORTEX.md §8): the sender prepares, ahead of time, every message of a message's graph —
//! for each hop the prefixes, header, routing block and the operations that hop runs — so that
//! a hop learns only the previous and the next address, and the recipient only the last relay.
//!
//! Policy of this builder:
//! - every chunk that enters a relay is AES-256-GCM-decrypted (forward paths) or -encrypted
//!   (reply paths) under a key known only to that relay, so the chunk changes at every hop and a
//!   modified chunk is caught by the next honest node;
//! - with redundancy `k`/`n`, the `n` blocks travel on the given paths (node-disjoint when the
//!   caller picks them so), and the recipient recovers from any `k`;
//! - decoys are messages to further nodes that deliver nothing;
//! - reply blocks are prepared combos a recipient fires itself to answer without learning the
//!   sender.

use std::collections::{BTreeSet, HashMap};

use der::asn1::OctetString;
use rand_core::{CryptoRng, RngCore};

use crate::asn1::{
    decode, encode, HeaderBlock, HeaderRequest, HeaderRequestIdentity, MapBlockOperation,
    PrefixBlock, ReplyBlock, RequirementPuzzleRequired, RoutingBlock, RoutingCombo,
};
use crate::asym::{PrivateKey, PublicKey};
use crate::error::{Error, Result};
use crate::ops::{self, Operation, Workspace, LAST_PAYLOAD, REPLY};
use crate::pow::{Challenge, COUNTER};
use crate::redundancy::{self, Shape};
use crate::sym::SymKey;
use crate::wire::{self, Blending};

fn bad(e: impl std::fmt::Display) -> Error {
    Error::BadParameters(e.to_string())
}

/// Fisher–Yates with `rng` (the slight modulo bias does not matter for picking relays).
pub fn shuffle<T>(v: &mut [T], rng: &mut impl RngCore) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// A message's relays and decoys from `pool` (the nodes other than the sender's and the
/// recipient's): `pool` shuffled with `rng`, then `paths` paths of `relays` relays each and
/// `decoys` decoys, taken in turn and reused when the pool is short. An empty pool gives empty
/// paths and no decoys: the caller refuses that case when relays or decoys are asked.
pub fn spread(
    mut pool: Vec<NodeInfo>,
    paths: usize,
    relays: usize,
    decoys: usize,
    rng: &mut impl RngCore,
) -> (Vec<Vec<NodeInfo>>, Vec<NodeInfo>) {
    shuffle(&mut pool, rng);
    let pick = |i: usize| pool.get(i % pool.len().max(1)).cloned();
    let routes = (0..paths)
        .map(|p| (0..relays).filter_map(|h| pick(p * relays + h)).collect())
        .collect();
    let decoys = (0..decoys)
        .filter_map(|d| pick(paths * relays + d))
        .collect();
    (routes, decoys)
}

/// A node as the sender knows it: its address, host key and the blending it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Transport address.
    pub address: String,
    /// Host key.
    pub host: PublicKey,
    /// How messages to it are blended.
    pub blending: Blending,
}

impl NodeInfo {
    /// A node accepting PLAIN blending at offset 0 (what every node MUST accept, §6).
    pub fn plain(address: impl Into<String>, host: PublicKey) -> Self {
        NodeInfo {
            address: address.into(),
            host,
            blending: Blending::default(),
        }
    }
}

/// A header for `identity`, valid in `[from, to]`, used once.
pub fn header<R: RngCore + CryptoRng>(
    identity: &PublicKey,
    from: u64,
    to: u64,
    requests: Vec<HeaderRequest>,
    reply: Option<RoutingCombo>,
    rng: &mut R,
) -> Result<HeaderBlock> {
    Ok(HeaderBlock {
        identity_key: wire::public_to_wire(identity)?,
        serial: rng.next_u32(),
        max_replays: 0,
        valid: wire::absolute(from, to)?,
        sign_algorithm: wire::hash_to_wire(crate::hash::HashAlg::Sha3_256),
        requests,
        request_reply_block: reply,
        identifier: None,
        proof_of_work: None,
    })
}

/// An empty routing block (a message that only carries a header, or a decoy).
pub fn no_routing() -> RoutingBlock {
    RoutingBlock {
        routing: Vec::new(),
        mappings: Vec::new(),
        reply_block: None,
    }
}

/// One hop's sealed parts: what a previous hop (or the sender) needs to send to it.
pub struct Envelope {
    to: String,
    blending: Blending,
    signature: Vec<u8>,
    plain_header: zeroize::Zeroizing<Vec<u8>>,
    peer: SymKey,
    mprefix: Vec<u8>,
    cprefix: Vec<u8>,
    header: Vec<u8>,
    routing: Vec<u8>,
}

impl Envelope {
    /// Seals `header` and `routing` for `node` with fresh peer and sender keys.
    pub fn new<R: RngCore + CryptoRng>(
        node: &NodeInfo,
        header: &HeaderBlock,
        routing: &RoutingBlock,
        rng: &mut R,
    ) -> Result<Self> {
        let peer = SymKey::generate(rng);
        let sender = SymKey::generate(rng);
        let prefix = |k: &SymKey| -> Result<Vec<u8>> {
            encode(&PrefixBlock {
                version: None,
                key: wire::sym_to_wire(k)?,
            })
            .map_err(bad)
        };
        let mprefix = node.host.encrypt(&prefix(&peer)?, rng)?;
        let cprefix = node.host.encrypt(&prefix(&sender)?, rng)?;
        let plain_header = zeroize::Zeroizing::new(encode(header).map_err(bad)?);
        let header = wire::field_key(&sender, "header")?.encrypt(&plain_header)?;
        let routing =
            wire::field_key(&sender, "routing")?.encrypt(&encode(routing).map_err(bad)?)?;
        Ok(Envelope {
            to: node.address.clone(),
            blending: node.blending.clone(),
            signature: Vec::new(),
            plain_header,
            peer,
            mprefix,
            cprefix,
            header,
            routing,
        })
    }

    /// Signs the header with the identity key (D-21): the sender can, for the messages it
    /// sends itself; a relay cannot, so combos carry no signature. Creating an identity
    /// needs one.
    pub fn signed(mut self, identity: &PrivateKey) -> Result<Self> {
        self.signature = identity.sign(&self.plain_header)?;
        Ok(self)
    }

    /// The address of the hop.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// How messages to the hop are blended.
    pub fn blending(&self) -> &Blending {
        &self.blending
    }

    /// The whole message to the hop, with `payload` (the sender sends it itself).
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        payload: Vec<Vec<u8>>,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        crate::node::seal_parts(
            &crate::node::Parts {
                peer: &self.peer,
                mprefix: &self.mprefix,
                cprefix: &self.cprefix,
                header: &self.header,
                routing: &self.routing,
                signature: &self.signature,
            },
            payload,
            rng,
        )
    }

    /// A combo that sends to this hop: the previous hop runs `assembly` and fires it after a
    /// delay in `[min, max]` seconds.
    pub fn into_combo(self, assembly: &[Operation], min: u32, max: u32) -> Result<RoutingCombo> {
        Ok(RoutingCombo {
            min_process_time: min,
            max_process_time: max.max(min),
            peer_key: Some(vec![wire::sym_to_wire(&self.peer)?]),
            recipient: wire::blending_spec(&self.to, &self.blending)?,
            m_prefix: Some(vec![OctetString::new(self.mprefix).map_err(bad)?]),
            c_prefix: Some(OctetString::new(self.cprefix).map_err(bad)?),
            header: Some(OctetString::new(self.header).map_err(bad)?),
            routing: Some(OctetString::new(self.routing).map_err(bad)?),
            assembly: assembly
                .iter()
                .map(wire::op_to_wire)
                .collect::<Result<_>>()?,
            validity: None,
        })
    }
}

/// A combo run at the node it arrives at that sends nothing (local delivery).
fn local_combo(address: &str, assembly: &[Operation], delay: u32) -> Result<RoutingCombo> {
    Ok(RoutingCombo {
        min_process_time: delay,
        max_process_time: delay,
        peer_key: None,
        recipient: wire::blending_spec(address, &Blending::default())?,
        m_prefix: None,
        c_prefix: None,
        header: None,
        routing: None,
        assembly: assembly
            .iter()
            .map(wire::op_to_wire)
            .collect::<Result<_>>()?,
        validity: None,
    })
}

fn map(from: u16, to: u16) -> MapBlockOperation {
    MapBlockOperation {
        original_id: u32::from(from),
        new_id: u32::from(to),
    }
}

/// Per-node workspace slots a sender has handed out (IDs 128..32766 belong to routing blocks,
/// §7.1.2), so that concurrent messages through one identity never share a slot.
#[derive(Clone, Debug, Default)]
pub struct Slots {
    next: HashMap<String, u16>,
}

impl Slots {
    /// `count` consecutive fresh slots at `node` (at most 1,024 at a time).
    pub fn take(&mut self, node: &str, count: u16) -> Result<u16> {
        const FIRST: u16 = 128;
        const LAST: u16 = 32_766;
        if count > 1024 {
            return Err(bad(format!("{count} slots at once")));
        }
        let next = self.next.entry(node.to_string()).or_insert(FIRST);
        if u32::from(*next) + u32::from(count) > u32::from(LAST) {
            *next = FIRST;
        }
        let start = *next;
        *next += count;
        Ok(start)
    }
}

/// Timing and lifetime of a built graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Shortest delay at a relay, seconds.
    pub min: u32,
    /// Longest delay at a relay, seconds.
    pub max: u32,
    /// The time the graph is built (headers start being valid a minute before).
    pub now: u64,
    /// How long headers stay valid, seconds.
    pub lifetime: u64,
}

/// A user's identity keys, one per node (§2.8: ephemeral identities). Distinct keys keep one
/// node from acting under the user's identity at another, and keep nodes from linking the
/// user's identities.
#[derive(Clone, Debug, Default)]
pub struct Identities {
    keys: HashMap<String, PrivateKey>,
}

impl Identities {
    /// No keys.
    pub fn new() -> Self {
        Identities::default()
    }

    /// Uses `key` at the node at `address`.
    pub fn insert(&mut self, address: impl Into<String>, key: PrivateKey) {
        self.keys.insert(address.into(), key);
    }

    /// The key for the node at `address`.
    pub fn get(&self, address: &str) -> Result<&PrivateKey> {
        self.keys
            .get(address)
            .ok_or_else(|| bad(format!("no identity at {address}")))
    }

    /// A fresh ECDSA P-384 identity key for every address (EC keys take microseconds to make;
    /// an identity key only signs).
    pub fn generate<R: RngCore + CryptoRng>(addresses: &[String], rng: &mut R) -> Result<Self> {
        let keys = addresses
            .iter()
            .map(|a| Ok((a.clone(), PrivateKey::generate_p384(rng)?)))
            .collect::<Result<_>>()?;
        Ok(Identities { keys })
    }
}

/// The sender: its identity keys and its slot allocation.
pub struct Sender<'a> {
    /// One identity key per node.
    pub identities: &'a Identities,
    /// Slots handed out so far.
    pub slots: &'a mut Slots,
}

/// Where a message goes.
#[derive(Clone, Copy, Debug)]
pub struct Route<'a> {
    /// The recipient's node.
    pub recipient: &'a NodeInfo,
    /// The relays of each path, in order. Without `shape` there is one path; with it,
    /// `shape.blocks()` paths, one block each.
    pub paths: &'a [Vec<NodeInfo>],
    /// Redundancy.
    pub shape: Option<Shape>,
    /// Nodes that get a decoy.
    pub decoys: &'a [NodeInfo],
    /// A multi-use reply block the recipient's node may use for error reports (§2.10).
    pub errors_to: Option<&'a ReplyBlock>,
    /// How often each header may be replayed (maxReplays; 0 for a one-off message). Each
    /// combo still carries one peer key, so a replay is processed but not sent on again.
    pub replays: u32,
}

/// A message ready to go: the first hops to send, and the nodes its graph touches.
#[derive(Clone, Debug, Default)]
pub struct Built {
    /// What the sender sends (first hops and decoys).
    pub outgoing: Vec<crate::node::Outgoing>,
    /// Every node the graph touches, decoys included: its anonymity set among nodes.
    pub touched: BTreeSet<String>,
}

impl Sender<'_> {
    /// A header for one hop. Its window starts and ends a random number of minutes around
    /// the nominal ones, so that the hops of one message do not share a window (a relay and
    /// a recipient cannot match them up by it).
    fn header<R: RngCore + CryptoRng>(
        &self,
        node: &NodeInfo,
        t: &Timing,
        rng: &mut R,
    ) -> Result<HeaderBlock> {
        let jitter = |rng: &mut R| 60 * (rng.next_u64() % 10);
        let from = (t.now.saturating_sub(60 + jitter(rng)) / 60) * 60;
        let to = (t.now + t.lifetime).saturating_sub(jitter(rng)) / 60 * 60;
        let key = self.identities.get(&node.address)?;
        header(key.public(), from, to, Vec::new(), None, rng)
    }

    /// Builds a message along `route`.
    pub fn forward<R: RngCore + CryptoRng>(
        &mut self,
        message: &[u8],
        route: &Route<'_>,
        t: &Timing,
        rng: &mut R,
    ) -> Result<Built> {
        let Route {
            recipient,
            paths,
            shape,
            decoys,
            errors_to,
            replays,
        } = *route;
        let escaped = crate::special::escape(message);
        let (blocks, keys) = match shape {
            Some(s) => {
                if paths.len() != s.blocks() {
                    return Err(bad(format!(
                        "{} paths for {} blocks",
                        paths.len(),
                        s.blocks()
                    )));
                }
                let keys: Vec<SymKey> = (0..s.blocks()).map(|_| SymKey::generate(rng)).collect();
                (redundancy::add(&escaped, s, &keys)?, keys)
            }
            None => {
                if paths.len() != 1 {
                    return Err(bad("one path without redundancy"));
                }
                (vec![escaped], Vec::new())
            }
        };
        let n = u16::try_from(blocks.len()).map_err(bad)?;
        let base = self.slots.take(&recipient.address, n)?;
        let finish = match shape {
            Some(s) => Operation::RemoveRedundancy {
                from: base,
                shape: s,
                keys,
                to: ops::LOCAL,
            },
            None => Operation::Map {
                from: base,
                to: ops::LOCAL,
            },
        };
        // The recipient waits until every block that is coming has come.
        let hops = paths.iter().map(Vec::len).max().unwrap_or(0) as u32;
        let wait = hops * (t.max - t.min.min(t.max)) + 1;
        let mut built = Built::default();
        let mut chunk_len = 0;
        built.touched.insert(recipient.address.clone());
        for (j, (path, block)) in paths.iter().zip(blocks).enumerate() {
            let routing = RoutingBlock {
                routing: vec![local_combo(
                    &recipient.address,
                    std::slice::from_ref(&finish),
                    wait,
                )?],
                mappings: vec![map(1, base + j as u16)],
                reply_block: errors_to.cloned(),
            };
            let mut h = self.header(recipient, t, rng)?;
            h.max_replays = replays;
            let mut next = Envelope::new(recipient, &h, &routing, rng)?;
            let mut payload = block;
            for relay in path.iter().rev() {
                let layer = SymKey::generate(rng);
                payload = layer.encrypt(&payload)?;
                let slot = self.slots.take(&relay.address, 1)?;
                let combo = next.into_combo(
                    &[Operation::Decrypt {
                        from: slot,
                        key: layer,
                        to: 1,
                    }],
                    t.min,
                    t.max,
                )?;
                let routing = RoutingBlock {
                    routing: vec![combo],
                    mappings: vec![map(1, slot)],
                    reply_block: None,
                };
                let mut h = self.header(relay, t, rng)?;
                h.max_replays = replays;
                next = Envelope::new(relay, &h, &routing, rng)?;
                built.touched.insert(relay.address.clone());
            }
            chunk_len = payload.len();
            let first = path.first().unwrap_or(recipient);
            let next = next.signed(self.identities.get(&first.address)?)?;
            built.outgoing.push(crate::node::Outgoing {
                to: next.to().to_string(),
                blending: next.blending().clone(),
                bytes: next.seal(vec![payload], rng)?,
            });
        }
        for d in decoys {
            // As long as a real chunk, so a decoy looks like a first hop.
            let env = Envelope::new(d, &self.header(d, t, rng)?, &no_routing(), rng)?
                .signed(self.identities.get(&d.address)?)?;
            let mut junk = vec![0u8; chunk_len];
            rng.fill_bytes(&mut junk);
            built.outgoing.push(crate::node::Outgoing {
                to: d.address.clone(),
                blending: d.blending.clone(),
                bytes: env.seal(vec![junk], rng)?,
            });
            built.touched.insert(d.address.clone());
        }
        Ok(built)
    }

    /// A reply block: a combo that whoever holds it fires (with [`use_reply_block`]) to send a
    /// message along `relays` to `home`, where it is delivered through `owner` (the identity of
    /// the home node's user). The holder learns only the first relay's address. Each relay adds
    /// a layer; the home node removes them all.
    pub fn reply_block<R: RngCore + CryptoRng>(
        &mut self,
        home: &NodeInfo,
        owner: &PrivateKey,
        relays: &[NodeInfo],
        t: &Timing,
        rng: &mut R,
    ) -> Result<RoutingCombo> {
        let layers: Vec<SymKey> = relays.iter().map(|_| SymKey::generate(rng)).collect();
        let count = u16::try_from(relays.len() + 1).map_err(bad)?;
        let base = self.slots.take(&home.address, count)?;
        // At home: peel the layers, last relay's first, into slot 0.
        let mut assembly = Vec::new();
        for (at, (i, layer)) in (base..).zip(layers.iter().enumerate().rev()) {
            let to = if i == 0 { ops::LOCAL } else { at + 1 };
            assembly.push(Operation::Decrypt {
                from: at,
                key: layer.clone(),
                to,
            });
        }
        if layers.is_empty() {
            assembly.push(Operation::Map {
                from: base,
                to: ops::LOCAL,
            });
        }
        let routing = RoutingBlock {
            routing: vec![local_combo(&home.address, &assembly, 0)?],
            mappings: vec![map(1, base)],
            reply_block: None,
        };
        let home_header = header(
            owner.public(),
            t.now.saturating_sub(60),
            t.now + t.lifetime,
            Vec::new(),
            None,
            rng,
        )?;
        let mut next = Envelope::new(home, &home_header, &routing, rng)?;
        for (relay, layer) in relays.iter().zip(&layers).rev() {
            let slot = self.slots.take(&relay.address, 1)?;
            let combo = next.into_combo(
                &[Operation::Encrypt {
                    from: slot,
                    key: layer.clone(),
                    to: 1,
                }],
                t.min,
                t.max,
            )?;
            let routing = RoutingBlock {
                routing: vec![combo],
                mappings: vec![map(1, slot)],
                reply_block: None,
            };
            next = Envelope::new(relay, &self.header(relay, t, rng)?, &routing, rng)?;
        }
        next.into_combo(&[Operation::Map { from: REPLY, to: 1 }], 0, 0)
    }

    /// The message that asks `node` for an identity living until `until`; the node answers
    /// (a puzzle, or ok) through `reply` (§7.2.1).
    pub fn identity_request<R: RngCore + CryptoRng>(
        &self,
        node: &NodeInfo,
        until: u64,
        reply: RoutingCombo,
        t: &Timing,
        rng: &mut R,
    ) -> Result<crate::node::Outgoing> {
        let request = HeaderRequest::Identity(HeaderRequestIdentity {
            period: wire::absolute(t.now, until)?,
        });
        let key = self.identities.get(&node.address)?;
        let h = header(
            key.public(),
            t.now.saturating_sub(60),
            t.now + t.lifetime,
            vec![request],
            Some(reply),
            rng,
        )?;
        let env = Envelope::new(node, &h, &no_routing(), rng)?.signed(key)?;
        Ok(crate::node::Outgoing {
            to: node.address.clone(),
            blending: node.blending.clone(),
            bytes: env.seal(Vec::new(), rng)?,
        })
    }

    /// The message that brings `node` the solution of `puzzle` (§7.3.2.1): a header with the
    /// puzzle's identifier and a counter found by trying at most `limit` values. Returns the
    /// message and the number of hashes spent.
    pub fn proof<R: RngCore + CryptoRng>(
        &self,
        node: &NodeInfo,
        puzzle: &RequirementPuzzleRequired,
        limit: u64,
        t: &Timing,
        rng: &mut R,
    ) -> Result<(crate::node::Outgoing, u64)> {
        let bits = u32::try_from(puzzle.challenge.bit_len()).map_err(bad)?;
        let challenge = Challenge::new(bits, puzzle.challenge.raw_bytes().to_vec())?;
        let hash = wire::hash_from_wire(&puzzle.mac);
        let mut h = self.header(node, t, rng)?;
        h.identifier =
            Some(OctetString::new(puzzle.identifier.to_be_bytes().to_vec()).map_err(bad)?);
        h.proof_of_work = Some(OctetString::new(vec![0u8; COUNTER]).map_err(bad)?);
        let template = encode(&h).map_err(bad)?;
        let (counter, tries) = challenge
            .solve(hash, &template, rng.next_u64(), limit)
            .ok_or_else(|| bad(format!("no solution in {limit} tries")))?;
        h.proof_of_work = Some(OctetString::new(counter.to_be_bytes().to_vec()).map_err(bad)?);
        let env = Envelope::new(node, &h, &no_routing(), rng)?
            .signed(self.identities.get(&node.address)?)?;
        Ok((
            crate::node::Outgoing {
                to: node.address.clone(),
                blending: node.blending.clone(),
                bytes: env.seal(Vec::new(), rng)?,
            },
            tries,
        ))
    }
}

/// Fires a reply block with `message`: what its holder sends to the block's first hop.
pub fn use_reply_block<R: RngCore + CryptoRng>(
    block: &RoutingCombo,
    message: &[u8],
    rng: &mut R,
) -> Result<crate::node::Outgoing> {
    let mut ws = Workspace::new();
    ws.put(REPLY, crate::special::escape(message), u64::MAX);
    // A reply block comes from someone else: its holder only moves or encrypts the reply.
    if block.assembly.len() > 4 {
        return Err(bad("a reply block with more than four operations"));
    }
    for op in &block.assembly {
        let op = wire::op_from_wire(op)?;
        if !matches!(op, Operation::Map { .. } | Operation::Encrypt { .. }) {
            return Err(bad("a reply block may only map or encrypt the reply"));
        }
        op.apply(&mut ws)?;
    }
    let payload: Vec<Vec<u8>> = (1..=LAST_PAYLOAD)
        .filter_map(|s| ws.take(s))
        .map(|c| c.data)
        .collect();
    crate::node::seal_for_combo(block, 0, payload, rng)
}

/// A letter: a user message with an optional reply block in front (`VXR1`, a 4-byte
/// big-endian length, the DER RoutingCombo, then the text).
pub fn letter(text: &[u8], reply: Option<&RoutingCombo>) -> Result<Vec<u8>> {
    let Some(r) = reply else {
        return Ok(text.to_vec());
    };
    let der = encode(r).map_err(bad)?;
    let mut out = b"VXR1".to_vec();
    out.extend_from_slice(&u32::try_from(der.len()).map_err(bad)?.to_be_bytes());
    out.extend_from_slice(&der);
    out.extend_from_slice(text);
    Ok(out)
}

/// A letter's text and reply block.
pub fn read_letter(bytes: &[u8]) -> Result<(Vec<u8>, Option<RoutingCombo>)> {
    let Some(rest) = bytes.strip_prefix(b"VXR1".as_slice()) else {
        return Ok((bytes.to_vec(), None));
    };
    if rest.len() < 4 {
        return Err(bad("truncated letter"));
    }
    let (len, rest) = rest.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if rest.len() < len {
        return Err(bad("truncated letter"));
    }
    let (der, text) = rest.split_at(len);
    let combo: RoutingCombo = decode(der).map_err(bad)?;
    Ok((text.to_vec(), Some(combo)))
}
