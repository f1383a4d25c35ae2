//! An in-process MessageVortex network for tests and demonstrations: `N` nodes, each also the
//! home of one user, an in-memory store-and-forward transport with a fixed latency, and a
//! virtual clock. Users create their identities at every other node (with the proof of work
//! the nodes ask for), then send messages along random multi-hop graphs with redundancy and
//! decoys. Nodes can be made to drop everything they receive. Every transmitted message is
//! kept, so that replaying all of them afterwards can be checked.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::accounting::{IdentityId, Policy};
use crate::asn1::{RequirementBlock, SpecialBlock};
use crate::asym::PrivateKey;
use crate::builder::{self, Identities, NodeInfo, Route, Sender, Slots, Timing};
use crate::error::{Error, Result};
use crate::node::{Event, Node, Outgoing};
use crate::redundancy::Shape;

/// The clock's start: 2027-01-14 08:00 UTC (any time works; GeneralizedTime needs a real date).
pub const EPOCH: u64 = 1_799_913_600;

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Nodes (each also one user's home).
    pub nodes: usize,
    /// Messages to send.
    pub messages: usize,
    /// Transmissions per path (relays + 1): 3 means sender → relay → relay → recipient.
    pub hops: usize,
    /// Redundancy `(k, n)`: `n` blocks on `n` paths, any `k` recover. `None`: one path.
    pub redundancy: Option<(usize, usize)>,
    /// Nodes that drop everything they receive.
    pub droppers: usize,
    /// Decoy messages per message.
    pub decoys: usize,
    /// Relay delay window, seconds.
    pub delay: (u32, u32),
    /// Transport latency, seconds.
    pub latency: u64,
    /// Identity puzzle difficulty (bits before the lifetime term); `None` = free identities.
    pub puzzle_bits: Option<u32>,
    /// RSA modulus size for host keys and the users' own keys (identity keys at other nodes
    /// are ECDSA P-384).
    pub key_bits: usize,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            nodes: 10,
            messages: 100,
            hops: 3,
            redundancy: Some((2, 4)),
            droppers: 1,
            decoys: 1,
            delay: (1, 30),
            latency: 2,
            puzzle_bits: Some(8),
            key_bits: 2048,
            seed: 1,
        }
    }
}

/// One message's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageReport {
    /// Sender's node.
    pub from: usize,
    /// Recipient's node.
    pub to: usize,
    /// Delivered (once) to the recipient.
    pub delivered: bool,
    /// Nodes the message's graph touched (relays, recipient, decoys).
    pub anonymity_set: usize,
    /// Bytes the sender sent for it.
    pub bytes: u64,
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Identities created (and proved) during set-up.
    pub identities: usize,
    /// Hashes spent on proofs of work during set-up.
    pub pow_hashes: u64,
    /// Each message.
    pub messages: Vec<MessageReport>,
    /// Transmissions, set-up included.
    pub transmissions: u64,
    /// Bytes transmitted, set-up included.
    pub bytes: u64,
    /// Drops at honest nodes during the run, by reason (decoys are not drops).
    pub dropped: BTreeMap<String, u64>,
    /// Redundancy blocks found modified.
    pub tagged: u64,
    /// Captured messages replayed to honest nodes after the run.
    pub replays: u64,
    /// Replays rejected, by reason.
    pub replays_rejected: BTreeMap<String, u64>,
    /// Virtual seconds the run took.
    pub virtual_seconds: u64,
}

impl Report {
    /// Messages delivered.
    pub fn delivered(&self) -> usize {
        self.messages.iter().filter(|m| m.delivered).count()
    }

    /// Replays accepted (should be none).
    pub fn replays_accepted(&self) -> u64 {
        self.replays - self.replays_rejected.values().sum::<u64>()
    }
}

/// A message on the wire: (arrival time, sequence number, recipient node, bytes).
type InFlight = (u64, u64, usize, Vec<u8>);

/// The network.
pub struct Network {
    nodes: Vec<Node>,
    infos: Vec<NodeInfo>,
    users: Vec<PrivateKey>,
    identities: Vec<Identities>,
    slots: Vec<Slots>,
    index: HashMap<String, usize>,
    droppers: BTreeSet<usize>,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    clock: u64,
    latency: u64,
    captured: Vec<(usize, Vec<u8>)>,
    inbox: Vec<Vec<(IdentityId, Vec<u8>)>>,
    specials: Vec<Vec<SpecialBlock>>,
    tagged: Vec<u64>,
    report: Report,
    rng: ChaCha20Rng,
}

impl Network {
    /// `n` nodes with fresh keys.
    pub fn new(
        n: usize,
        policy: &Policy,
        key_bits: usize,
        latency: u64,
        seed: u64,
    ) -> Result<Self> {
        if n < 2 {
            return Err(Error::BadParameters(
                "a network needs at least 2 nodes".into(),
            ));
        }
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut nodes = Vec::with_capacity(n);
        let mut infos = Vec::with_capacity(n);
        let mut users = Vec::with_capacity(n);
        for i in 0..n {
            let host = PrivateKey::generate(key_bits, &mut rng)?;
            let address = format!("node{i}@vortex.test");
            infos.push(NodeInfo::plain(address.clone(), host.public().clone()));
            let mut node = Node::new(address, host, policy.clone());
            let user = PrivateKey::generate(key_bits, &mut rng)?;
            node.add_owner_identity(user.public().clone(), EPOCH, EPOCH + 30 * 86_400, &mut rng)
                .map_err(|e| Error::BadParameters(format!("owner identity: {e}")))?;
            nodes.push(node);
            users.push(user);
        }
        let index = infos
            .iter()
            .enumerate()
            .map(|(i, n)| (n.address.clone(), i))
            .collect();
        // Each user has its own identity key at every other node; at home, the owner key.
        let mut identities = Vec::with_capacity(n);
        for (u, user) in users.iter().enumerate() {
            let others: Vec<String> = infos
                .iter()
                .enumerate()
                .filter(|&(x, _)| x != u)
                .map(|(_, i)| i.address.clone())
                .collect();
            let mut ids = Identities::generate(&others, &mut rng)?;
            ids.insert(infos[u].address.clone(), user.clone());
            identities.push(ids);
        }
        Ok(Network {
            nodes,
            infos,
            users,
            identities,
            slots: vec![Slots::default(); n],
            index,
            droppers: BTreeSet::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            clock: EPOCH,
            latency,
            captured: Vec::new(),
            inbox: vec![Vec::new(); n],
            specials: vec![Vec::new(); n],
            tagged: vec![0; n],
            report: Report::default(),
            rng,
        })
    }

    /// The nodes as senders know them.
    pub fn infos(&self) -> &[NodeInfo] {
        &self.infos
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Node `i`, to drive it directly (benchmarks).
    pub fn node_mut(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }

    /// The virtual time.
    pub fn now(&self) -> u64 {
        self.clock
    }

    /// User `i`'s own key: its identity at its home node.
    pub fn user(&self, i: usize) -> &PrivateKey {
        &self.users[i]
    }

    /// User `i`'s identity keys, one per node.
    pub fn identities(&self, i: usize) -> &Identities {
        &self.identities[i]
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, seconds: u64) {
        self.clock += seconds;
    }

    /// Makes node `i` modify one bit of every chunk it sends (a tagging attack).
    pub fn set_tagger(&mut self, i: usize) {
        self.nodes[i].tag_outgoing_chunks(true);
    }

    /// Redundancy blocks or layers found modified at node `i`.
    pub fn tagged_at(&self, i: usize) -> u64 {
        self.tagged[i]
    }

    /// Makes node `i` drop everything it receives.
    pub fn set_dropper(&mut self, i: usize) {
        self.droppers.insert(i);
    }

    /// User messages delivered at node `i` so far.
    pub fn inbox(&self, i: usize) -> &[(IdentityId, Vec<u8>)] {
        &self.inbox[i]
    }

    /// Special blocks (replies to requests) delivered at node `i`, taken out.
    pub fn take_specials(&mut self, i: usize) -> Vec<SpecialBlock> {
        std::mem::take(&mut self.specials[i])
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Hands messages to the transport.
    pub fn send(&mut self, outgoing: Vec<Outgoing>) {
        for o in outgoing {
            self.report.transmissions += 1;
            self.report.bytes += o.bytes.len() as u64;
            if let Some(&to) = self.index.get(&o.to) {
                self.seq += 1;
                self.queue
                    .push(Reverse((self.clock + self.latency, self.seq, to, o.bytes)));
            }
        }
    }

    /// Delivers `bytes` to node `to` now (as the transport would): the node's verdict.
    pub fn inject(&mut self, to: usize, bytes: &[u8]) -> std::result::Result<(), String> {
        let now = self.clock;
        self.nodes[to]
            .receive(bytes, now, &mut self.rng)
            .map(|_| ())
            .map_err(|r| {
                format!("{r:?}")
                    .split('(')
                    .next()
                    .unwrap_or("?")
                    .to_string()
            })
    }

    /// Advances to the next event and handles it; false when nothing is left.
    pub fn step(&mut self) -> bool {
        let next_msg = self.queue.peek().map(|Reverse((t, ..))| *t);
        let next_combo = self.nodes.iter().filter_map(Node::next_due).min();
        let Some(t) = [next_msg, next_combo].into_iter().flatten().min() else {
            return false;
        };
        self.clock = self.clock.max(t);
        while let Some(Reverse((at, ..))) = self.queue.peek() {
            if *at > self.clock {
                break;
            }
            let Some(Reverse((_, _, to, bytes))) = self.queue.pop() else {
                break;
            };
            if self.droppers.contains(&to) {
                continue;
            }
            let now = self.clock;
            match self.nodes[to].receive(&bytes, now, &mut self.rng) {
                Ok(_) => self.captured.push((to, bytes)),
                Err(reason) => {
                    let name = format!("{reason:?}");
                    let name = name.split('(').next().unwrap_or("?").to_string();
                    *self.report.dropped.entry(name).or_insert(0) += 1;
                }
            }
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].next_due().is_some_and(|d| d <= self.clock) {
                let now = self.clock;
                let tick = self.nodes[i].tick(now, &mut self.rng);
                for e in tick.events {
                    match e {
                        Event::Delivered { identity, message } => {
                            self.inbox[i].push((identity, message));
                        }
                        Event::Special { block, .. } => self.specials[i].push(block),
                        Event::Tagged { slots, .. } => {
                            self.report.tagged += slots.len() as u64;
                            self.tagged[i] += slots.len() as u64;
                        }
                        Event::NotSent { .. } => {}
                    }
                }
                self.send(tick.outgoing);
            }
        }
        true
    }

    /// Runs until nothing is in flight or scheduled, or `limit` virtual seconds have passed.
    pub fn run(&mut self, limit: u64) {
        let end = self.clock + limit;
        while self.clock <= end && self.step() {}
    }

    fn timing(&self, delay: (u32, u32)) -> Timing {
        Timing {
            min: delay.0,
            max: delay.1,
            now: self.clock,
            lifetime: 86_400,
        }
    }

    /// Every user creates an identity at every other node: request, puzzle, proof (§7.2.1,
    /// §7.3.2.1). The replies travel on direct reply blocks (set-up is not anonymous).
    pub fn create_identities(&mut self) -> Result<()> {
        let n = self.nodes.len();
        let t = self.timing((0, 0));
        for u in 0..n {
            for x in (0..n).filter(|&x| x != u) {
                let mut sender = Sender {
                    identities: &self.identities[u],
                    slots: &mut self.slots[u],
                };
                let reply =
                    sender.reply_block(&self.infos[u], &self.users[u], &[], &t, &mut self.rng)?;
                let msg = sender.identity_request(
                    &self.infos[x],
                    t.now + 2 * 86_400,
                    reply,
                    &t,
                    &mut self.rng,
                )?;
                self.send(vec![msg]);
            }
        }
        self.run(3600);
        let t = self.timing((0, 0));
        for u in 0..n {
            for block in self.take_specials(u) {
                let SpecialBlock::Requirement(reqs) = block else {
                    continue;
                };
                for r in reqs {
                    let RequirementBlock::Puzzle(p) = r else {
                        continue;
                    };
                    // The puzzle came from the node whose identity is temporary.
                    let Some(x) = (0..n).find(|&x| {
                        let Ok(key) = self.identities[u].get(&self.infos[x].address) else {
                            return false;
                        };
                        self.nodes[x]
                            .accounts()
                            .get(&IdentityId::of(key.public()))
                            .and_then(|i| i.puzzle.as_ref())
                            .is_some_and(|q| {
                                q.id == p.identifier
                                    && q.challenge.bytes() == p.challenge.raw_bytes()
                            })
                    }) else {
                        continue;
                    };
                    let sender = Sender {
                        identities: &self.identities[u],
                        slots: &mut self.slots[u],
                    };
                    let (msg, hashes) =
                        sender.proof(&self.infos[x], &p, 1 << 32, &t, &mut self.rng)?;
                    self.report.pow_hashes += hashes;
                    self.send(vec![msg]);
                }
            }
        }
        self.run(3600);
        // Count the identities that are usable now.
        self.report.identities = (0..n)
            .flat_map(|u| (0..n).filter(move |&x| x != u).map(move |x| (u, x)))
            .filter(|&(u, x)| {
                self.identities[u]
                    .get(&self.infos[x].address)
                    .ok()
                    .and_then(|k| self.nodes[x].accounts().get(&IdentityId::of(k.public())))
                    .is_some_and(|i| i.puzzle.is_none())
            })
            .count();
        Ok(())
    }

    /// Sends one message from user `from` to user `to`, its `k`/`n` blocks on node-disjoint
    /// paths where the network is big enough, with `decoys` decoys.
    pub fn send_message(
        &mut self,
        from: usize,
        to: usize,
        text: &[u8],
        config: &Config,
    ) -> Result<MessageReport> {
        let n = self.nodes.len();
        let relays_per_path = config.hops.saturating_sub(1);
        let paths_count = config.redundancy.map_or(1, |(_, n)| n);
        let others: Vec<NodeInfo> = (0..n)
            .filter(|&i| i != from && i != to)
            .map(|i| self.infos[i].clone())
            .collect();
        if others.is_empty() && (relays_per_path > 0 || config.decoys > 0) {
            return Err(Error::BadParameters(
                "no nodes left for relays or decoys".into(),
            ));
        }
        let (paths, decoys) = builder::spread(
            others,
            paths_count,
            relays_per_path,
            config.decoys,
            &mut self.rng,
        );
        let shape = config
            .redundancy
            .map(|(k, n)| Shape::gf8(k, n))
            .transpose()?;
        let t = self.timing(config.delay);
        let recipient = self.infos[to].clone();
        let mut sender = Sender {
            identities: &self.identities[from],
            slots: &mut self.slots[from],
        };
        let route = Route {
            recipient: &recipient,
            paths: &paths,
            shape,
            decoys: &decoys,
            errors_to: None,
            replays: 0,
        };
        let built = sender.forward(text, &route, &t, &mut self.rng)?;
        let bytes = built.outgoing.iter().map(|o| o.bytes.len() as u64).sum();
        self.send(built.outgoing);
        Ok(MessageReport {
            from,
            to,
            delivered: false,
            anonymity_set: built.touched.len(),
            bytes,
        })
    }

    /// Replays every message a node accepted during the run to the node that accepted it.
    pub fn replay_all(&mut self) {
        let captured = std::mem::take(&mut self.captured);
        for (to, bytes) in &captured {
            self.report.replays += 1;
            if let Err(reason) = self.inject(*to, bytes) {
                *self.report.replays_rejected.entry(reason).or_insert(0) += 1;
            }
        }
        self.captured = captured;
    }
}

/// A stage of a run, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Making host and identity keys.
    Keys,
    /// Creating identities (requests, puzzles, proofs).
    Identities,
    /// Building and sending messages: `(done, total)`.
    Sending(usize, usize),
    /// Running the network until every message has arrived or been lost.
    Delivering,
    /// Replaying every captured message.
    Replaying,
}

/// Runs a whole simulation: set-up, messages, delivery, replays.
pub fn run(config: &Config) -> Result<Report> {
    run_with_progress(config, &mut |_| {})
}

/// [`run`], telling `progress` each stage as it starts.
pub fn run_with_progress(config: &Config, progress: &mut dyn FnMut(Stage)) -> Result<Report> {
    if let Some((k, n)) = config.redundancy {
        if k == 0 || n <= k || n > 256 {
            return Err(Error::BadParameters(format!(
                "redundancy {k}/{n}: need 0 < k < n ≤ 256"
            )));
        }
    }
    if config.hops == 0 || config.droppers + 2 > config.nodes {
        return Err(Error::BadParameters(
            "need at least one hop and two honest nodes".into(),
        ));
    }
    let policy = Policy {
        puzzle_bits: config.puzzle_bits,
        ..Policy::default()
    };
    progress(Stage::Keys);
    let mut net = Network::new(
        config.nodes,
        &policy,
        config.key_bits,
        config.latency,
        config.seed,
    )?;
    progress(Stage::Identities);
    net.create_identities()?;
    // Droppers are chosen after set-up, among the nodes; senders and recipients are honest.
    for i in 0..config.droppers {
        net.set_dropper(config.nodes - 1 - i);
    }
    let honest = config.nodes - config.droppers;
    let mut sent = Vec::with_capacity(config.messages);
    for m in 0..config.messages {
        progress(Stage::Sending(m, config.messages));
        let from = (net.rng.next_u64() % honest as u64) as usize;
        let mut to = (net.rng.next_u64() % (honest as u64 - 1)) as usize;
        if to >= from {
            to += 1;
        }
        let mut text = format!("message {m} from node{from} to node{to}: ").into_bytes();
        let mut body = vec![0u8; 200];
        net.rng.fill_bytes(&mut body);
        text.extend_from_slice(&body);
        let r = net.send_message(from, to, &text, config)?;
        sent.push((r, text));
        // Messages leave a few seconds apart.
        net.clock += 5;
    }
    progress(Stage::Delivering);
    net.run(86_400);
    for (mut r, text) in sent {
        r.delivered = net.inbox(r.to).iter().any(|(_, m)| *m == text);
        net.report.messages.push(r);
    }
    progress(Stage::Replaying);
    net.replay_all();
    net.report.virtual_seconds = net.clock - EPOCH;
    Ok(net.report.clone())
}
