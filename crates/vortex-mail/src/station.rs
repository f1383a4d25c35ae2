//! A vortex node and its owner's client as one deterministic state machine, so that a daemon
//! can persist it as a journal of inputs and rebuild it exactly after a crash.
//!
//! A [`Station`] is a [`Node`] (relaying, accounting, replay windows, pending combos) plus the
//! owner's side: identity keys at the other nodes, the slots it has used, identity set-up
//! (request, puzzle, proof, one node at a time), and sending (along random multi-hop paths with
//! redundancy, or through a reply block). Every [`Input`] is applied with the station's own
//! ChaCha20 generator; given the same keys, seed and inputs, a station produces the same
//! outputs, numbered in order. The daemon journals each input before applying it and counts
//! the outputs it has handed to the transport; after a restart it re-applies the journal and
//! sends only what was not sent yet (docs/VORTEX.md D-45).

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use tabella_vortex::accounting::{DropReason, Policy};
use tabella_vortex::asn1::{
    decode, encode, RequirementBlock, RoutingCombo, SpecialBlock, StatusCode,
};
use tabella_vortex::asym::{PrivateKey, PublicKey};
use tabella_vortex::builder::{self, Identities, NodeInfo, Route, Sender, Slots, Timing};
use tabella_vortex::node::{Accepted, Event, Node, Outgoing};
use tabella_vortex::redundancy::Shape;
use tabella_vortex::wire::Blending;

use crate::error::{Error, Result};

/// A node as its directory entry names it (`node.json`, the peers file): address, host key
/// (SubjectPublicKeyInfo DER, hex) and accepted blending (`plain:OFFSET` or `f5:PASSPHRASE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerEntry {
    /// Transport address (`node1@vortex.test`).
    pub address: String,
    /// Host key, SPKI DER in hex.
    pub host: String,
    /// `plain:0`, `plain:256`, `f5:PASSPHRASE`.
    pub blending: String,
}

impl PeerEntry {
    /// The entry of a node.
    pub fn of(info: &NodeInfo) -> Self {
        PeerEntry {
            address: info.address.clone(),
            host: hex::encode(info.host.spki()),
            blending: blending_name(&info.blending),
        }
    }

    /// The node it names.
    pub fn info(&self) -> Result<NodeInfo> {
        let der = hex::decode(&self.host)
            .map_err(|e| Error::malformed("peer host key", format!("{}: {e}", self.address)))?;
        let host = PublicKey::from_spki(&der)
            .map_err(|e| Error::malformed("peer host key", format!("{}: {e}", self.address)))?;
        Ok(NodeInfo {
            address: self.address.clone(),
            host,
            blending: parse_blending(&self.blending)?,
        })
    }
}

/// `plain:OFFSET` or `f5:PASSPHRASE`.
pub fn blending_name(b: &Blending) -> String {
    match b {
        Blending::Plain { offset } => format!("plain:{offset}"),
        Blending::F5 { passphrase } => {
            format!("f5:{}", String::from_utf8_lossy(passphrase))
        }
    }
}

/// Parses `plain`, `plain:OFFSET` or `f5:PASSPHRASE`.
pub fn parse_blending(s: &str) -> Result<Blending> {
    let bad = |why: &str| Error::BadParameters(format!("blending {s:?}: {why}"));
    match s.split_once(':') {
        None if s == "plain" => Ok(Blending::Plain { offset: 0 }),
        Some(("plain", o)) => {
            let offset: u32 = o.parse().map_err(|_| bad("the offset is not a number"))?;
            if offset > tabella_vortex::wire::MAX_PLAIN_OFFSET {
                return Err(bad("offset too large"));
            }
            Ok(Blending::Plain { offset })
        }
        Some(("f5", p)) if !p.is_empty() => Ok(Blending::F5 {
            passphrase: p.as_bytes().to_vec(),
        }),
        _ => Err(bad("expected plain:OFFSET or f5:PASSPHRASE")),
    }
}

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// The owner of the node at this address.
    Address(String),
    /// Whoever made this reply block (its DER, hex).
    ReplyBlock(String),
}

/// A message the owner asks to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRequest {
    /// Recipient.
    pub to: Target,
    /// The text.
    #[serde(with = "hex::serde")]
    pub text: Vec<u8>,
    /// Transmissions per path (2 = one relay).
    pub hops: usize,
    /// Redundancy `(k, n)`; `None` = one path.
    pub redundancy: Option<(usize, usize)>,
    /// Decoys.
    pub decoys: usize,
    /// Attach a reply block (through `hops − 1` relays) so the recipient can answer.
    pub reply: bool,
    /// Relay delay window, seconds.
    pub delay: (u32, u32),
}

/// One input of the state machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// The directory of nodes changed (also the first input).
    Peers {
        /// Time.
        now: u64,
        /// The nodes, this one included.
        peers: Vec<PeerEntry>,
    },
    /// A candidate vortex message unblended from a mail that arrived at `now`.
    Receive {
        /// Arrival time (§7.1.2: from the transport, not from parsing).
        now: u64,
        /// The candidate.
        #[serde(with = "hex::serde")]
        bytes: Vec<u8>,
    },
    /// Time passed: fire due combos, time out a stalled set-up.
    Tick {
        /// Time.
        now: u64,
    },
    /// Create identities at every other node (or the ones still missing).
    Setup {
        /// Time.
        now: u64,
    },
    /// Send a message.
    Send {
        /// Time.
        now: u64,
        /// What and where.
        request: SendRequest,
    },
}

impl Input {
    /// Encoded for the journal.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::BadParameters(e.to_string()))
    }

    /// Decoded from the journal.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        serde_json::from_slice(b).map_err(|e| Error::malformed("journal record", e))
    }
}

/// A message to hand to the transport, numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Out {
    /// Output number (from 0, in order).
    pub seq: u64,
    /// The vortex message and where it goes.
    pub message: Outgoing,
}

/// A message delivered to the owner, numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    /// Delivery number (from 0).
    pub seq: u64,
    /// The text.
    pub text: Vec<u8>,
    /// A reply block the sender attached (DER).
    pub reply_block: Option<Vec<u8>>,
}

/// What applying an input produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Messages to send.
    pub out: Vec<Out>,
    /// Letters delivered to the owner.
    pub letters: Vec<Letter>,
    /// What happened, for the log.
    pub log: Vec<String>,
    /// The input was a candidate that is not for this node (not journaled).
    pub not_for_us: bool,
}

/// A station's fixed parameters.
pub struct Config {
    /// This node's address.
    pub address: String,
    /// Its blending.
    pub blending: Blending,
    /// Host key.
    pub host: PrivateKey,
    /// The owner's key: its identity at this node.
    pub owner: PrivateKey,
    /// Node policy.
    pub policy: Policy,
    /// Seed of every random choice (kept secret, with the keys).
    pub seed: [u8; 32],
    /// When the node was created (unix seconds): the owner identity starts then.
    pub created: u64,
}

/// How long a set-up step may wait for its answer, seconds.
pub const SETUP_TIMEOUT: u64 = 300;
/// The hardest identity puzzle the owner's client solves (bits). A node asking more is
/// treated as refusing: an answer cannot make the station spend unbounded work.
pub const MAX_SOLVE_BITS: u32 = 26;
/// How long identities and the owner's identity live, seconds.
pub const IDENTITY_LIFETIME: u64 = 365 * 86_400;

/// Identity set-up at the other nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupState {
    /// Waiting to start.
    pub queue: VecDeque<String>,
    /// Asked, waiting for the answer since.
    pub pending: Option<(String, u64)>,
    /// Done (proved or accepted).
    pub ready: Vec<String>,
    /// Gave up (no answer in time).
    pub failed: Vec<String>,
}

/// The state machine.
pub struct Station {
    node: Node,
    me: NodeInfo,
    owner: PrivateKey,
    seed: [u8; 32],
    peers: BTreeMap<String, NodeInfo>,
    identities: Identities,
    slots: Slots,
    setup: SetupState,
    rng: ChaCha20Rng,
    next_out: u64,
    next_letter: u64,
}

fn sha3(parts: &[&[u8]]) -> [u8; 32] {
    use sha3::{Digest, Sha3_256};
    let mut h = Sha3_256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

impl Station {
    /// A station before any input.
    pub fn new(config: Config) -> Result<Self> {
        let mut rng = ChaCha20Rng::from_seed(sha3(&[b"tabella/vortex/station/v1", &config.seed]));
        let me = NodeInfo {
            address: config.address.clone(),
            host: config.host.public().clone(),
            blending: config.blending.clone(),
        };
        let mut node = Node::new(config.address.clone(), config.host, config.policy);
        node.add_owner_identity(
            config.owner.public().clone(),
            config.created.saturating_sub(60),
            config.created + IDENTITY_LIFETIME,
            &mut rng,
        )
        .map_err(|e| Error::BadParameters(format!("owner identity: {e}")))?;
        let mut identities = Identities::new();
        identities.insert(config.address.clone(), config.owner.clone());
        Ok(Station {
            node,
            me,
            owner: config.owner,
            seed: config.seed,
            peers: BTreeMap::new(),
            identities,
            slots: Slots::default(),
            setup: SetupState::default(),
            rng,
            next_out: 0,
            next_letter: 0,
        })
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// This node as others know it.
    pub fn info(&self) -> &NodeInfo {
        &self.me
    }

    /// Identity set-up progress.
    pub fn setup(&self) -> &SetupState {
        &self.setup
    }

    /// The known nodes.
    pub fn peers(&self) -> impl Iterator<Item = &NodeInfo> {
        self.peers.values()
    }

    /// Outputs produced so far.
    pub fn outputs(&self) -> u64 {
        self.next_out
    }

    /// When the next input of [`Input::Tick`] has something to do.
    pub fn next_due(&self) -> Option<u64> {
        let setup = self.setup.pending.as_ref().map(|(_, t)| t + SETUP_TIMEOUT);
        [self.node.next_due(), setup].into_iter().flatten().min()
    }

    /// Whether a `Tick` at `now` would do anything (the daemon journals only those).
    pub fn due(&self, now: u64) -> bool {
        self.next_due().is_some_and(|d| d <= now)
    }

    /// The identity key for `address`, made from the seed (the same after a restart and
    /// whatever order nodes were added in).
    fn identity_for(&mut self, address: &str) -> Result<()> {
        if self.identities.get(address).is_ok() {
            return Ok(());
        }
        let mut rng = ChaCha20Rng::from_seed(sha3(&[
            b"tabella/vortex/identity/v1",
            &self.seed,
            address.as_bytes(),
        ]));
        let key = PrivateKey::generate_p384(&mut rng)?;
        self.identities.insert(address.to_string(), key);
        Ok(())
    }

    fn timing(now: u64, delay: (u32, u32)) -> Timing {
        Timing {
            min: delay.0,
            max: delay.1.max(delay.0),
            now,
            lifetime: 86_400,
        }
    }

    fn emit(&mut self, fx: &mut Effects, message: Outgoing) {
        // Only nodes of the directory get mail from us: a sender cannot make this node mail an
        // arbitrary address (an open relay), nor queue a message no transport can carry.
        if message.to != self.me.address && !self.peers.contains_key(&message.to) {
            fx.log.push(format!(
                "not sent: {:?} is not a node of the directory",
                message.to.chars().take(80).collect::<String>()
            ));
            return;
        }
        fx.out.push(Out {
            seq: self.next_out,
            message,
        });
        self.next_out += 1;
    }

    /// Applies one input.
    pub fn apply(&mut self, input: &Input) -> Effects {
        let mut fx = Effects::default();
        let r = match input {
            Input::Peers { peers, .. } => self.set_peers(peers, &mut fx),
            Input::Receive { now, bytes } => {
                self.receive(*now, bytes, &mut fx);
                Ok(())
            }
            Input::Tick { now } => self.tick(*now, &mut fx),
            Input::Setup { now } => self.start_setup(*now, &mut fx),
            Input::Send { now, request } => self.send(*now, request, &mut fx),
        };
        if let Err(e) = r {
            fx.log.push(format!("error: {e}"));
        }
        fx
    }

    fn set_peers(&mut self, peers: &[PeerEntry], fx: &mut Effects) -> Result<()> {
        let mut map = BTreeMap::new();
        for p in peers {
            let info = p.info()?;
            if info.address != self.me.address {
                map.insert(info.address.clone(), info);
            }
        }
        for a in map.keys().cloned().collect::<Vec<_>>() {
            self.identity_for(&a)?;
        }
        fx.log.push(format!("{} other nodes known", map.len()));
        self.peers = map;
        Ok(())
    }

    fn receive(&mut self, now: u64, bytes: &[u8], fx: &mut Effects) {
        match self.node.receive(bytes, now, &mut self.rng) {
            Ok(Accepted::Routed { chunks, combos }) => fx.log.push(format!(
                "accepted: {chunks} chunks, {combos} combos scheduled"
            )),
            Ok(Accepted::IdentityCreated { puzzle }) => fx.log.push(format!(
                "identity created{}",
                if puzzle { " (puzzle sent)" } else { "" }
            )),
            Ok(Accepted::RequestsOnly) => fx.log.push("requests answered".into()),
            Err(DropReason::NotForUs) => fx.not_for_us = true,
            Err(reason) => fx.log.push(format!("dropped: {reason}")),
        }
    }

    fn tick(&mut self, now: u64, fx: &mut Effects) -> Result<()> {
        if let Some((peer, since)) = self.setup.pending.clone() {
            if since + SETUP_TIMEOUT <= now {
                fx.log
                    .push(format!("identity set-up at {peer}: no answer, given up"));
                self.setup.failed.push(peer);
                self.setup.pending = None;
                self.next_setup(now, fx)?;
            }
        }
        let tick = self.node.tick(now, &mut self.rng);
        for o in tick.outgoing {
            self.emit(fx, o);
        }
        // Each event on its own: one that fails must not cost the letters after it.
        for e in tick.events {
            match e {
                Event::Delivered { message, .. } => {
                    let (text, reply) = match builder::read_letter(&message) {
                        Ok((t, r)) => (t, r),
                        Err(_) => (message.clone(), None),
                    };
                    let reply_block = reply.and_then(|r| encode(&r).ok());
                    fx.letters.push(Letter {
                        seq: self.next_letter,
                        text,
                        reply_block,
                    });
                    self.next_letter += 1;
                }
                Event::Special { block, .. } => {
                    if let Err(e) = self.special(now, block, fx) {
                        fx.log.push(format!("error: {e}"));
                    }
                }
                Event::Tagged { slots, .. } => fx.log.push(format!(
                    "{} redundancy blocks were modified on the way",
                    slots.len()
                )),
                Event::NotSent { reason, .. } => fx.log.push(format!("not sent: {reason}")),
            }
        }
        Ok(())
    }

    fn start_setup(&mut self, now: u64, fx: &mut Effects) -> Result<()> {
        for a in self.peers.keys() {
            if !self.setup.ready.contains(a)
                && !self.setup.queue.contains(a)
                && self.setup.pending.as_ref().is_none_or(|(p, _)| p != a)
            {
                self.setup.queue.push_back(a.clone());
            }
        }
        self.setup.failed.clear();
        if self.setup.pending.is_none() {
            self.next_setup(now, fx)?;
        }
        Ok(())
    }

    fn next_setup(&mut self, now: u64, fx: &mut Effects) -> Result<()> {
        let Some(peer) = self.setup.queue.pop_front() else {
            if !self.setup.ready.is_empty() {
                fx.log.push(format!(
                    "identities ready at {} nodes",
                    self.setup.ready.len()
                ));
            }
            return Ok(());
        };
        let info = self.peer(&peer)?;
        let t = Self::timing(now, (0, 0));
        let mut sender = Sender {
            identities: &self.identities,
            slots: &mut self.slots,
        };
        let reply = sender.reply_block(&self.me, &self.owner, &[], &t, &mut self.rng)?;
        let msg = sender.identity_request(
            &info,
            now + IDENTITY_LIFETIME / 2,
            reply,
            &t,
            &mut self.rng,
        )?;
        fx.log.push(format!("asking {peer} for an identity"));
        self.setup.pending = Some((peer, now));
        self.emit(fx, msg);
        Ok(())
    }

    fn special(&mut self, now: u64, block: SpecialBlock, fx: &mut Effects) -> Result<()> {
        let Some((peer, _)) = self.setup.pending.clone() else {
            fx.log.push("an unexpected reply of a node".into());
            return Ok(());
        };
        let info = self.peer(&peer)?;
        // Only a puzzle within bounds or an "ok" completes the step; anything else (an error, a
        // quota, a puzzle too hard) counts as a refusal of the pending node.
        let puzzle = match &block {
            SpecialBlock::Requirement(reqs) => reqs.iter().find_map(|r| match r {
                RequirementBlock::Puzzle(p) => Some(p.clone()),
                _ => None,
            }),
            _ => None,
        };
        let ok = matches!(&block, SpecialBlock::Status(s) if s.code == StatusCode::Ok);
        self.setup.pending = None;
        match puzzle {
            Some(p) if (p.challenge.bit_len() as u64) <= u64::from(MAX_SOLVE_BITS) => {
                let t = Self::timing(now, (0, 0));
                let sender = Sender {
                    identities: &self.identities,
                    slots: &mut self.slots,
                };
                match sender.proof(&info, &p, 1 << (MAX_SOLVE_BITS + 4), &t, &mut self.rng) {
                    Ok((msg, hashes)) => {
                        fx.log.push(format!(
                            "{peer} asked for a proof of work: solved in {hashes} hashes"
                        ));
                        self.emit(fx, msg);
                        self.setup.ready.push(peer.clone());
                        fx.log.push(format!("identity at {peer} ready"));
                    }
                    Err(e) => {
                        fx.log.push(format!("identity set-up at {peer}: {e}"));
                        self.setup.failed.push(peer.clone());
                    }
                }
            }
            Some(p) => {
                fx.log.push(format!(
                    "identity set-up at {peer}: a {}-bit puzzle is over our limit of {MAX_SOLVE_BITS}",
                    p.challenge.bit_len()
                ));
                self.setup.failed.push(peer.clone());
            }
            None if ok => {
                self.setup.ready.push(peer.clone());
                fx.log.push(format!("identity at {peer} ready"));
            }
            None => {
                fx.log
                    .push(format!("identity set-up at {peer}: refused ({block:?})"));
                self.setup.failed.push(peer.clone());
            }
        }
        self.next_setup(now, fx)
    }

    fn peer(&self, address: &str) -> Result<NodeInfo> {
        self.peers
            .get(address)
            .cloned()
            .ok_or_else(|| Error::BadParameters(format!("unknown node {address}")))
    }

    fn send(&mut self, now: u64, req: &SendRequest, fx: &mut Effects) -> Result<()> {
        let t = Self::timing(now, req.delay);
        let relays = req.hops.saturating_sub(1);
        // The reply block first: the letter carries it.
        let reply = if req.reply {
            let mut pool: Vec<NodeInfo> = self.ready_peers();
            builder::shuffle(&mut pool, &mut self.rng);
            pool.truncate(relays);
            let mut sender = Sender {
                identities: &self.identities,
                slots: &mut self.slots,
            };
            Some(sender.reply_block(&self.me, &self.owner, &pool, &t, &mut self.rng)?)
        } else {
            None
        };
        let letter = builder::letter(&req.text, reply.as_ref())?;
        match &req.to {
            Target::ReplyBlock(hexed) => {
                let der = hex::decode(hexed).map_err(|e| Error::malformed("reply block", e))?;
                let block: RoutingCombo =
                    decode(&der).map_err(|e| Error::malformed("reply block", e))?;
                let msg = builder::use_reply_block(&block, &letter, &mut self.rng)?;
                fx.log.push(format!(
                    "reply sent through a reply block (first hop {})",
                    msg.to
                ));
                self.emit(fx, msg);
            }
            Target::Address(to) => {
                let recipient =
                    self.peers.get(to).cloned().ok_or_else(|| {
                        Error::BadParameters(format!("{to} is not in the directory"))
                    })?;
                let pool: Vec<NodeInfo> = self
                    .ready_peers()
                    .into_iter()
                    .filter(|p| p.address != *to)
                    .collect();
                if !self.setup.ready.contains(to) {
                    return Err(Error::BadParameters(format!(
                        "no identity at {to} yet (run the set-up first)"
                    )));
                }
                let paths_count = req.redundancy.map_or(1, |(_, n)| n);
                if (relays > 0 || req.decoys > 0) && pool.is_empty() {
                    return Err(Error::BadParameters(
                        "no other node with an identity for relays or decoys".into(),
                    ));
                }
                let (paths, decoys) =
                    builder::spread(pool, paths_count, relays, req.decoys, &mut self.rng);
                let shape = req.redundancy.map(|(k, n)| Shape::gf8(k, n)).transpose()?;
                let route = Route {
                    recipient: &recipient,
                    paths: &paths,
                    shape,
                    decoys: &decoys,
                    errors_to: None,
                    replays: 0,
                };
                let mut sender = Sender {
                    identities: &self.identities,
                    slots: &mut self.slots,
                };
                let built = sender.forward(&letter, &route, &t, &mut self.rng)?;
                fx.log.push(format!(
                    "message to {to}: {} first-hop messages, {} nodes touched",
                    built.outgoing.len(),
                    built.touched.len()
                ));
                for o in built.outgoing {
                    self.emit(fx, o);
                }
            }
        }
        Ok(())
    }

    fn ready_peers(&self) -> Vec<NodeInfo> {
        self.setup
            .ready
            .iter()
            .filter_map(|a| self.peers.get(a).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::asn1::BitString;
    use tabella_vortex::asn1::{RequirementPuzzleRequired, StatusBlock};
    use tabella_vortex::hash::HashAlg;

    const T0: u64 = 1_799_913_600;

    fn station(address: &str, seed: u8) -> Station {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(seed));
        Station::new(Config {
            address: address.into(),
            blending: Blending::default(),
            host: PrivateKey::generate(2048, &mut rng).unwrap(),
            owner: PrivateKey::generate_p384(&mut rng).unwrap(),
            policy: Policy::default(),
            seed: [seed; 32],
            created: T0,
        })
        .unwrap()
    }

    /// A station that knows `b` and waits for `b`'s answer to its identity request.
    fn pending() -> Station {
        let mut a = station("a@vortex.test", 1);
        let b = station("b@vortex.test", 2);
        let fx = a.apply(&Input::Peers {
            now: T0,
            peers: vec![PeerEntry::of(a.info()), PeerEntry::of(b.info())],
        });
        assert!(fx.out.is_empty());
        let fx = a.apply(&Input::Setup { now: T0 });
        assert_eq!(fx.out.len(), 1, "the identity request");
        assert!(a.setup().pending.is_some());
        a
    }

    fn puzzle(bits: usize) -> SpecialBlock {
        let bytes = vec![0u8; bits.div_ceil(8)];
        SpecialBlock::Requirement(vec![RequirementBlock::Puzzle(RequirementPuzzleRequired {
            challenge: BitString::new(((8 - bits % 8) % 8) as u8, bytes).unwrap(),
            mac: tabella_vortex::wire::hash_to_wire(HashAlg::Sha3_256),
            valid: tabella_vortex::wire::absolute(T0, T0 + 3600).unwrap(),
            identifier: 7,
        })])
    }

    #[test]
    fn outputs_go_only_to_nodes_of_the_directory() {
        let mut a = pending();
        let mut fx = Effects::default();
        let before = a.outputs();
        for to in ["evil@elsewhere.example", "", "b@vortex.test\r\nBcc: x@y"] {
            a.emit(
                &mut fx,
                Outgoing {
                    to: to.into(),
                    blending: Blending::default(),
                    bytes: vec![1, 2, 3],
                },
            );
        }
        assert!(fx.out.is_empty());
        assert_eq!(a.outputs(), before, "nothing numbered");
        assert_eq!(
            fx.log
                .iter()
                .filter(|l| l.contains("not a node of the directory"))
                .count(),
            3
        );
    }

    #[test]
    fn a_puzzle_over_the_limit_is_a_refusal_not_a_stall() {
        let mut a = pending();
        let mut fx = Effects::default();
        a.special(T0 + 1, puzzle(40), &mut fx).unwrap();
        assert!(fx.out.is_empty(), "no proof attempted");
        assert_eq!(a.setup().failed, vec!["b@vortex.test".to_string()]);
        assert!(a.setup().ready.is_empty());
    }

    #[test]
    fn only_ok_or_a_puzzle_counts_as_success() {
        let mut a = pending();
        let mut fx = Effects::default();
        let refused = SpecialBlock::Status(StatusBlock {
            code: StatusCode::IdentityUnknown,
        });
        a.special(T0 + 1, refused, &mut fx).unwrap();
        assert!(a.setup().ready.is_empty());
        assert_eq!(a.setup().failed.len(), 1);

        let mut a = pending();
        let ok = SpecialBlock::Status(StatusBlock {
            code: StatusCode::Ok,
        });
        a.special(T0 + 1, ok, &mut Effects::default()).unwrap();
        assert_eq!(a.setup().ready, vec!["b@vortex.test".to_string()]);

        // A small puzzle is solved and its proof sent to the pending node.
        let mut a = pending();
        let mut fx = Effects::default();
        a.special(T0 + 1, puzzle(8), &mut fx).unwrap();
        assert_eq!(fx.out.len(), 1);
        assert_eq!(fx.out[0].message.to, "b@vortex.test");
        assert_eq!(a.setup().ready, vec!["b@vortex.test".to_string()]);
        // An answer with nothing pending is ignored.
        let mut fx = Effects::default();
        a.special(T0 + 2, puzzle(8), &mut fx).unwrap();
        assert!(fx.out.is_empty());
    }
}
