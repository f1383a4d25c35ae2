//! A MessageVortex node, sans I/O (draft-gwerder-messagevortexmain-10 §7.1.1, §7.1.2, §7.2,
//! §7.3, §7.5, §8; docs/VORTEX.md §5). [`Node::receive`] takes the bytes of one unblended
//! message and the time; [`Node::tick`] fires the routing combos that are due and returns the
//! messages to send and what was delivered locally. Every rejection is a typed
//! [`DropReason`]; the node keeps running.
//!
//! Wire form (D-1): `RSA-OAEP_host(DER PrefixBlock{sk_p}) ‖ AES-GCM_sk_p(DER InnerMessageBlock)`;
//! inside, the CPREFIX is `RSA-OAEP_host(DER PrefixBlock{sk_s})` and header and routing are
//! sealed under `sk_s` with their own nonces (D-14).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use der::asn1::{BitString, OctetString};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::accounting::{Accounts, Created, DropReason, IdentityId, Policy, Puzzle};
use crate::asn1::{
    decode, encode, HeaderBlock, HeaderRequest, InnerHeader, InnerMessageBlock, InnerPrefix,
    InnerRouting, PrefixBlock, ReplyBlock, ReplyCurrentQuota, RequirementBlock,
    RequirementPuzzleRequired, RoutingBlock, RoutingCombo, SpecialBlock, StatusBlock, StatusCode,
    SymmetricKey,
};
use crate::asym::{PrivateKey, PublicKey};
use crate::ops::{self, Operation, LAST_PAYLOAD, LOCAL, MAX_WORKSPACE, REPLY};
use crate::special::{self, Local};
use crate::sym::SymKey;
use crate::wire;

/// Seconds a chunk outlives the latest combo that may read it.
const CHUNK_SLACK: u64 = 60;
/// The most random padding bytes in an InnerMessageBlock.
const MAX_PADDING: usize = 32;
/// Operations one routing block may ask for, over all its combos (a node's work per charged
/// message is bounded by this times the per-operation limits of [`ops`]).
pub const MAX_OPS_PER_MESSAGE: usize = 32;
/// Combos one identity may have waiting.
pub const MAX_QUEUED_PER_IDENTITY: usize = 1024;
/// Replies of the node itself waiting at most (over all identities).
pub const MAX_QUEUED_REPLIES: usize = 4096;
/// Reply-block peer keys remembered per identity (a reply block has at most 127).
const MAX_MURB_KEYS: usize = 1024;
/// The largest MPREFIX or CPREFIX a reply combo may carry (one RSA-8192 block).
const MAX_REPLY_PREFIX: usize = 1024;
/// The largest sealed header a reply combo may carry.
const MAX_REPLY_HEADER: usize = 8192;
/// The largest sealed routing block a reply combo may carry.
const MAX_REPLY_ROUTING: usize = 32 << 10;
/// How far above the policy's quotas a puzzle can raise them; beyond, out of band.
pub const MAX_QUOTA_FACTOR: u64 = 64;
/// How long a delivered message's digest is kept to suppress its duplicates (seconds).
const DEDUPE_WINDOW: u64 = 86_400;

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The next node's address (the BlendingSpec's recipientAddress).
    pub to: String,
    /// How to blend it (the BlendingSpec's type and parameter).
    pub blending: crate::wire::Blending,
    /// The message bytes (to be blended).
    pub bytes: Vec<u8>,
}

/// What an accepted message led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Its chunks are in the workspace and its combos scheduled.
    Routed {
        /// Chunks received.
        chunks: usize,
        /// Combos scheduled.
        combos: usize,
    },
    /// A new identity was created (temporary if a puzzle was sent).
    IdentityCreated {
        /// True if the identity must still solve a puzzle.
        puzzle: bool,
    },
    /// The message carried requests only (answered if it had a reply block).
    RequestsOnly,
}

/// Something that happened at a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A user message arrived for an identity of this node (slot 0 was written).
    Delivered {
        /// The identity it came through.
        identity: IdentityId,
        /// The message.
        message: Vec<u8>,
    },
    /// A reply of another node to one of our requests (a special block at slot 0).
    Special {
        /// The identity it came through.
        identity: IdentityId,
        /// The reply.
        block: SpecialBlock,
    },
    /// Redundancy blocks whose authentication failed: modified on the way.
    Tagged {
        /// The identity.
        identity: IdentityId,
        /// The slots.
        slots: Vec<u16>,
    },
    /// A combo could not send (quota, missing keys or prefixes).
    NotSent {
        /// The identity.
        identity: IdentityId,
        /// Why.
        reason: String,
    },
}

/// What a tick produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Messages to send.
    pub outgoing: Vec<Outgoing>,
    /// Local events.
    pub events: Vec<Event>,
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages received.
    pub received: u64,
    /// Messages accepted.
    pub accepted: u64,
    /// Messages dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Messages sent.
    pub sent: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// User messages delivered.
    pub delivered: u64,
}

#[derive(Clone, Debug)]
struct Scheduled {
    at: u64,
    identity: IdentityId,
    combo: RoutingCombo,
    use_index: usize,
    /// A special block to place at slot 32767 first (a reply of this node).
    special: Option<Vec<u8>>,
    /// Charged to the identity's quotas (replies of the node itself are not).
    charged: bool,
}

/// A node.
pub struct Node {
    address: String,
    host: PrivateKey,
    policy: Policy,
    accounts: Accounts,
    /// Due time and number of each waiting combo, earliest first.
    due: BinaryHeap<Reverse<(u64, u64)>>,
    /// The waiting combos by number.
    jobs: HashMap<u64, Scheduled>,
    /// Waiting combos per identity.
    queued: HashMap<IdentityId, usize>,
    /// Waiting replies of the node itself.
    replies: usize,
    next_job: u64,
    delivered: HashMap<(IdentityId, [u8; 32]), u64>,
    stats: Stats,
    tagging: bool,
    owner: Option<IdentityId>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("address", &self.address)
            .field("identities", &self.accounts.len())
            .field("scheduled", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

fn malformed(e: impl std::fmt::Display) -> DropReason {
    DropReason::Malformed(e.to_string())
}

fn unsupported(e: crate::Error) -> DropReason {
    match e {
        crate::Error::Unsupported(what) => DropReason::Unsupported(what),
        other => DropReason::Malformed(other.to_string()),
    }
}

impl Node {
    /// A node at `address` with host key `host`.
    pub fn new(address: impl Into<String>, host: PrivateKey, policy: Policy) -> Self {
        Node {
            address: address.into(),
            host,
            policy,
            accounts: Accounts::new(),
            due: BinaryHeap::new(),
            jobs: HashMap::new(),
            queued: HashMap::new(),
            replies: 0,
            next_job: 0,
            delivered: HashMap::new(),
            stats: Stats::default(),
            tagging: false,
            owner: None,
        }
    }

    /// Turns this node malicious for simulations: it flips one bit of every chunk it sends
    /// (the tagging attack the per-hop GCM layers are there to catch).
    pub fn tag_outgoing_chunks(&mut self, on: bool) {
        self.tagging = on;
    }

    /// The node's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The host public key.
    pub fn host_key(&self) -> &PublicKey {
        self.host.public()
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The identities.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Registers the owner's own identity (permanent, no puzzle): the identity through which
    /// messages for this node's user arrive.
    pub fn add_owner_identity<R: RngCore + CryptoRng>(
        &mut self,
        key: PublicKey,
        now: u64,
        until: u64,
        rng: &mut R,
    ) -> Result<IdentityId, DropReason> {
        let free = Policy {
            puzzle_bits: None,
            max_lifetime: until.saturating_sub(now),
            message_quota: u64::from(u32::MAX),
            transfer_quota: u64::from(u32::MAX),
            ..self.policy.clone()
        };
        let id = IdentityId::of(&key);
        self.accounts.create(key, now, until, &free, rng)?;
        self.owner = Some(id);
        Ok(id)
    }

    /// When the next combo is due.
    pub fn next_due(&self) -> Option<u64> {
        self.due.peek().map(|Reverse((at, _))| *at)
    }

    /// Processes one message that arrived at `now`.
    pub fn receive<R: RngCore + CryptoRng>(
        &mut self,
        bytes: &[u8],
        now: u64,
        rng: &mut R,
    ) -> Result<Accepted, DropReason> {
        self.stats.received += 1;
        self.stats.bytes_in += bytes.len() as u64;
        let r = self.process(bytes, now, rng);
        match &r {
            Ok(_) => self.stats.accepted += 1,
            Err(reason) => {
                let name = format!("{reason:?}");
                let name = name.split('(').next().unwrap_or("?").to_string();
                *self.stats.dropped.entry(name).or_insert(0) += 1;
            }
        }
        r
    }

    fn open_prefix(&self, block: &[u8]) -> Result<SymKey, DropReason> {
        let der = self.host.decrypt(block).map_err(|_| DropReason::NotForUs)?;
        let prefix: PrefixBlock = decode(&der).map_err(|_| DropReason::NotForUs)?;
        wire::sym_from_wire(&prefix.key).map_err(|_| DropReason::NotForUs)
    }

    fn process<R: RngCore + CryptoRng>(
        &mut self,
        bytes: &[u8],
        now: u64,
        rng: &mut R,
    ) -> Result<Accepted, DropReason> {
        // MPREFIX (§4.2): every failure looks the same to the sender.
        let k = self.host.public().block_len();
        if bytes.len() <= k {
            return Err(DropReason::NotForUs);
        }
        let (mprefix, sealed) = bytes.split_at(k);
        let peer = self.open_prefix(mprefix)?;
        if !peer.is_authenticated() {
            return Err(DropReason::Unsupported(
                "the peer key must be authenticated (GCM)".into(),
            ));
        }
        let inner_der = peer.decrypt(sealed).map_err(|_| DropReason::Tampered)?;
        let inner: InnerMessageBlock = decode(&inner_der).map_err(malformed)?;
        // CPREFIX, header and routing must be encrypted (the plain forms are for debugging).
        let InnerPrefix::Encrypted(cprefix) = &inner.prefix else {
            return Err(malformed("plain CPREFIX"));
        };
        let sender = self
            .open_prefix(cprefix.as_bytes())
            .map_err(|_| DropReason::Tampered)?;
        if !sender.is_authenticated() {
            return Err(DropReason::Unsupported(
                "the sender key must be authenticated (GCM)".into(),
            ));
        }
        let InnerHeader::Encrypted(sealed_header) = &inner.header else {
            return Err(malformed("plain header"));
        };
        let header_key = wire::field_key(&sender, "header").map_err(unsupported)?;
        let header_der = Zeroizing::new(
            header_key
                .decrypt(sealed_header.as_bytes())
                .map_err(|_| DropReason::Tampered)?,
        );
        let header: HeaderBlock = decode(&header_der).map_err(malformed)?;
        let key = wire::public_from_wire(&header.identity_key).map_err(unsupported)?;
        // D-21: a signature, when present, must verify; creating an identity needs one, so
        // nobody can claim a key they do not hold.
        let signed = !inner.identity_signature.as_bytes().is_empty();
        if signed
            && key
                .verify(&header_der, inner.identity_signature.as_bytes())
                .is_err()
        {
            return Err(DropReason::Tampered);
        }
        let id = IdentityId::of(&key);
        let window = wire::window(&header.valid, now);
        let relative = matches!(header.valid, crate::asn1::UsagePeriod::Relative(_));

        // Identity (§7.1.1, §7.2.1).
        if self.accounts.get(&id).is_none() {
            let [HeaderRequest::Identity(request)] = header.requests.as_slice() else {
                return Err(DropReason::IdentityUnknown);
            };
            if !signed {
                return Err(DropReason::IdentityUnknown);
            }
            // A creation request with a relative window could be replayed into a new identity
            // whenever the old one is gone: it must name its window.
            if relative {
                return Err(malformed("an identity request needs an absolute validity"));
            }
            if now < window.not_before {
                return Err(DropReason::NotYetValid);
            }
            if now > window.not_after {
                return Err(DropReason::Expired);
            }
            let until = wire::window(&request.period, now).not_after;
            let created = self.accounts.create(key, now, until, &self.policy, rng)?;
            if let Err(e) = self.accounts.use_serial(
                &id,
                header.serial,
                header.max_replays,
                window,
                relative,
                now,
                &self.policy,
            ) {
                // A replayed (or bad) creation request creates nothing.
                self.accounts.remove(&id);
                return Err(e);
            }
            let reply = match &created {
                Created::Permanent => SpecialBlock::Status(StatusBlock {
                    code: StatusCode::Ok,
                }),
                Created::Puzzle(p) => match puzzle_block(p, now) {
                    Ok(b) => b,
                    Err(e) => {
                        self.accounts.remove(&id);
                        return Err(e);
                    }
                },
            };
            if let Some(combo) = &header.request_reply_block {
                self.schedule_reply(id, combo.clone(), 0, &reply, now, rng);
            }
            return Ok(Accepted::IdentityCreated {
                puzzle: matches!(created, Created::Puzzle(_)),
            });
        }

        // A temporary identity must bring its proof of work (§7.3.2.1; D-22).
        let puzzle_id = header
            .identifier
            .as_ref()
            .and_then(|o| <[u8; 4]>::try_from(o.as_bytes()).ok())
            .map(u32::from_be_bytes);
        self.accounts.prove(&id, puzzle_id, &header_der, now)?;

        // Replay (§4.4): the how-manieth use of this header picks the combos' keys.
        let use_index = self.accounts.use_serial(
            &id,
            header.serial,
            header.max_replays,
            window,
            relative,
            now,
            &self.policy,
        )?;

        // A solved quota puzzle raises the quota (§7.2.3, §7.2.4).
        self.accounts.prove_quota(&id, puzzle_id, &header_der, now);

        // Requests (§7.2; D-23: one request of the allowed shapes, otherwise none).
        // Only the first use of a header is answered: its reply block has one key (D-32). An
        // answer costs the identity one message (D-39).
        if use_index == 0 {
            if let (Some(combo), Some(reply)) = (
                &header.request_reply_block,
                self.answer(&id, &header.requests, now, rng),
            ) {
                if self.accounts.charge_message(&id).is_ok() {
                    self.schedule_reply(id, combo.clone(), 0, &reply, now, rng);
                }
            }
        }
        if inner.payload.is_empty() {
            return Ok(Accepted::RequestsOnly);
        }

        // Payload (§7.1.1): the routing block is authenticated first, then the message charged.
        let InnerRouting::Encrypted(sealed_routing) = &inner.routing else {
            return Err(malformed("plain routing block"));
        };
        let routing_key = wire::field_key(&sender, "routing").map_err(unsupported)?;
        let routing_der = Zeroizing::new(
            routing_key
                .decrypt(sealed_routing.as_bytes())
                .map_err(|_| DropReason::Tampered)?,
        );
        let routing: RoutingBlock = decode(&routing_der).map_err(malformed)?;
        let ops: usize = routing.routing.iter().map(|c| c.assembly.len()).sum();
        if ops > MAX_OPS_PER_MESSAGE {
            return Err(DropReason::Malformed(format!(
                "{ops} operations in one routing block (at most {MAX_OPS_PER_MESSAGE})"
            )));
        }
        let incoming: usize = inner.payload.iter().map(|c| c.as_bytes().len()).sum();
        let queued = self.queued.get(&id).copied().unwrap_or(0);
        let full = self.accounts.get(&id).is_none_or(|i| {
            i.workspace.bytes() + incoming > MAX_WORKSPACE
                || queued + routing.routing.len() > MAX_QUEUED_PER_IDENTITY
        });
        if full {
            let reason = DropReason::TransferQuotaExceeded;
            self.error_reply(id, &reason, now, rng);
            return Err(reason);
        }
        if let Err(reason) = self.accounts.charge_message(&id) {
            self.error_reply(id, &reason, now, rng);
            return Err(reason);
        }
        let ttl = routing
            .routing
            .iter()
            .map(|c| u64::from(c.max_process_time))
            .max()
            .unwrap_or(0)
            + CHUNK_SLACK;
        let Some(identity) = self.accounts.get_mut(&id) else {
            return Err(DropReason::IdentityUnknown);
        };
        if let Some(reply) = &routing.reply_block {
            // A new reply block starts its count of uses; the same one again does not.
            let der = encode(reply).ok();
            if der != identity.murb {
                identity.murb = der;
                identity.murb_uses = 0;
            }
        }
        let ws = &mut identity.workspace;
        for (i, chunk) in inner.payload.iter().enumerate() {
            // At most 127 chunks (checked by decode), so i + 1 fits.
            ws.put(i as u16 + 1, chunk.as_bytes().to_vec(), now + ttl);
        }
        for m in &routing.mappings {
            if let Ok(op) = wire::op_from_wire(&crate::asn1::PayloadOperation::Map(m.clone())) {
                let _ = op.apply(ws);
            }
        }
        for slot in 1..=LAST_PAYLOAD {
            ws.take(slot);
        }
        let combos = routing.routing.len();
        for combo in routing.routing {
            let at = now + delay(&combo, rng);
            self.enqueue(Scheduled {
                at,
                identity: id,
                combo,
                use_index: use_index as usize,
                special: None,
                charged: true,
            });
        }
        Ok(Accepted::Routed {
            chunks: inner.payload.len(),
            combos,
        })
    }

    /// The reply to a header request, if the request has an allowed shape (D-23). A quota
    /// above the current one costs a puzzle.
    fn answer<R: RngCore + CryptoRng>(
        &mut self,
        id: &IdentityId,
        requests: &[HeaderRequest],
        now: u64,
        rng: &mut R,
    ) -> Option<SpecialBlock> {
        let [request] = requests else {
            return None;
        };
        let cap = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
        let status = |code| Some(SpecialBlock::Status(StatusBlock { code }));
        let (messages, bytes) = match request {
            HeaderRequest::QuotaQuery(_) => {
                let identity = self.accounts.get(id)?;
                return Some(SpecialBlock::Quota(ReplyCurrentQuota {
                    messages: cap(identity.message_quota),
                    size: cap(identity.transfer_quota),
                }));
            }
            HeaderRequest::MessageQuota(q) => (Some(u64::from(q.messages)), None),
            HeaderRequest::TransferQuota(q) => (None, Some(u64::from(q.size))),
            // An identity request for a known identity is ignored (§7.2.1).
            _ => return None,
        };
        let over = |want: Option<u64>, most: u64| want.is_some_and(|w| w > most);
        if over(
            messages,
            self.policy.message_quota.saturating_mul(MAX_QUOTA_FACTOR),
        ) || over(
            bytes,
            self.policy.transfer_quota.saturating_mul(MAX_QUOTA_FACTOR),
        ) {
            return status(StatusCode::RequestedQuotaOutOfBand);
        }
        match self
            .accounts
            .request_quota(id, messages, bytes, now, &self.policy, rng)
        {
            Ok(None) => status(StatusCode::Ok),
            Ok(Some(p)) => puzzle_block(&p, now).ok(),
            Err(_) => None,
        }
    }

    fn enqueue(&mut self, job: Scheduled) {
        self.next_job += 1;
        *self.queued.entry(job.identity).or_insert(0) += 1;
        if job.special.is_some() {
            self.replies += 1;
        }
        self.due.push(Reverse((job.at, self.next_job)));
        self.jobs.insert(self.next_job, job);
    }

    /// Schedules a reply of the node itself through `combo` (§7.3), if the combo is small and
    /// the identity's queue and the node's reply queue have room (D-30): a reply is work the
    /// node does on its own account, so its size and number are bounded.
    fn schedule_reply<R: RngCore + CryptoRng>(
        &mut self,
        id: IdentityId,
        combo: RoutingCombo,
        use_index: usize,
        block: &SpecialBlock,
        now: u64,
        rng: &mut R,
    ) {
        if !reply_combo_is_small(&combo)
            || self.replies >= MAX_QUEUED_REPLIES
            || self.queued.get(&id).copied().unwrap_or(0) >= MAX_QUEUED_PER_IDENTITY
        {
            return;
        }
        let Ok(bytes) = special::write(block) else {
            return;
        };
        let at = now + delay(&combo, rng);
        self.enqueue(Scheduled {
            at,
            identity: id,
            combo,
            use_index,
            special: Some(bytes),
            charged: false,
        });
    }

    /// An error goes back only through the identity's multi-use reply block, within its
    /// allowed uses (§7.3.1, §2.10).
    fn error_reply<R: RngCore + CryptoRng>(
        &mut self,
        id: IdentityId,
        reason: &DropReason,
        now: u64,
        rng: &mut R,
    ) {
        let Some(code) = reason.status_code().and_then(status_code) else {
            return;
        };
        let Some(identity) = self.accounts.get_mut(&id) else {
            return;
        };
        let Some(murb) = identity
            .murb
            .as_ref()
            .and_then(|d| decode::<ReplyBlock>(d).ok())
        else {
            return;
        };
        let window = wire::window(&murb.validity, now);
        if now < window.not_before
            || now > window.not_after
            || identity.murb_uses as i64 > murb.max_replay
            || identity.murb_keys_used.len() >= MAX_MURB_KEYS
        {
            return;
        }
        // The first of its peer keys never used before, by any reply block of this identity:
        // no key seals two messages (D-32).
        let Some((use_index, digest)) =
            murb.murb
                .peer_key
                .iter()
                .flatten()
                .enumerate()
                .find_map(|(i, k)| {
                    let der = encode(k).ok()?;
                    let d = key_digest(&der);
                    (!identity.murb_keys_used.contains(&d)).then_some((i, d))
                })
        else {
            return;
        };
        identity.murb_keys_used.insert(digest);
        identity.murb_uses += 1;
        let block = SpecialBlock::Status(StatusBlock { code });
        self.schedule_reply(id, murb.murb, use_index, &block, now, rng);
    }

    /// Fires every combo due at `now`, then collects garbage (§7.1.2, §8.1.1).
    pub fn tick<R: RngCore + CryptoRng>(&mut self, now: u64, rng: &mut R) -> Tick {
        let mut out = Tick::default();
        while let Some(Reverse((at, job))) = self.due.peek().copied() {
            if at > now {
                break;
            }
            self.due.pop();
            let Some(s) = self.jobs.remove(&job) else {
                continue;
            };
            if let Some(n) = self.queued.get_mut(&s.identity) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.queued.remove(&s.identity);
                }
            }
            if s.special.is_some() {
                self.replies = self.replies.saturating_sub(1);
            }
            self.fire(s, now, rng, &mut out);
        }
        self.accounts.gc(now);
        self.delivered.retain(|_, until| *until >= now);
        out
    }

    fn fire<R: RngCore + CryptoRng>(
        &mut self,
        s: Scheduled,
        now: u64,
        rng: &mut R,
        out: &mut Tick,
    ) {
        let id = s.identity;
        let Some(identity) = self.accounts.get_mut(&id) else {
            return;
        };
        let ws = &mut identity.workspace;
        for slot in LOCAL..=LAST_PAYLOAD {
            ws.take(slot);
        }
        if let Some(bytes) = s.special {
            ws.put(REPLY, bytes, now + CHUNK_SLACK);
        }
        let ops: Vec<Operation> = s
            .combo
            .assembly
            .iter()
            .filter_map(|op| wire::op_from_wire(op).ok())
            // A reply the node sends on its own account may only move the reply into the
            // payload: no work on anyone's behalf for free.
            .filter(|op| {
                s.charged
                    || matches!(op, Operation::Map { from: REPLY, to } if (1..=LAST_PAYLOAD).contains(to))
            })
            .collect();
        let mut tagged = Vec::new();
        for (op, result) in ops.iter().zip(ops::run(&ops, ws)) {
            match (op, result) {
                (_, Ok(applied)) => tagged.extend(applied.tampered),
                // A layer that fails authentication: modified since the last honest node.
                (Operation::Decrypt { from, .. }, Err(crate::Error::Tampered)) => {
                    tagged.push(*from)
                }
                _ => {}
            }
        }
        let local = ws.take(LOCAL);
        let mut payload: Vec<Vec<u8>> = (1..=LAST_PAYLOAD)
            .filter_map(|slot| ws.take(slot))
            .map(|c| c.data)
            .collect();
        if self.tagging {
            for chunk in &mut payload {
                if let Some(b) = chunk.last_mut() {
                    *b ^= 1;
                }
            }
        }
        ws.take(REPLY);
        if !tagged.is_empty() {
            out.events.push(Event::Tagged {
                identity: id,
                slots: tagged,
            });
        }
        if let Some(chunk) = local {
            match special::read(&chunk.data) {
                // Replies of nodes reach the user only through the owner's identity.
                Ok(Local::Special(block)) if Some(id) == self.owner => {
                    out.events.push(Event::Special {
                        identity: id,
                        block,
                    })
                }
                Ok(Local::Special(_)) => {}
                Ok(Local::Message(message)) => {
                    // Redundant paths may each complete the message: deliver it once.
                    let digest = crate::hash::HashAlg::Sha3_256.digest(&message);
                    let mut d = [0u8; 32];
                    d.copy_from_slice(&digest);
                    if self
                        .delivered
                        .insert((id, d), now + DEDUPE_WINDOW)
                        .is_none()
                    {
                        self.stats.delivered += 1;
                        out.events.push(Event::Delivered {
                            identity: id,
                            message,
                        });
                    }
                }
                Err(_) => {}
            }
        }
        if payload.is_empty() {
            return;
        }
        match self.compose(&s.combo, s.use_index, payload, &id, s.charged, rng) {
            Ok(o) => {
                self.stats.sent += 1;
                self.stats.bytes_out += o.bytes.len() as u64;
                out.outgoing.push(o);
            }
            Err(reason) => out.events.push(Event::NotSent {
                identity: id,
                reason,
            }),
        }
    }

    /// Builds the message a combo sends (§7.1.2, §7.5).
    fn compose<R: RngCore + CryptoRng>(
        &mut self,
        combo: &RoutingCombo,
        use_index: usize,
        payload: Vec<Vec<u8>>,
        id: &IdentityId,
        charged: bool,
        rng: &mut R,
    ) -> Result<Outgoing, String> {
        // Nothing is charged for a message that cannot be sealed.
        sendable(combo, use_index).map_err(|e| e.to_string())?;
        if charged {
            let bytes: u64 = payload.iter().map(|p| p.len() as u64).sum();
            self.accounts
                .charge_message(id)
                .map_err(|e| e.to_string())?;
            self.accounts
                .charge_transfer(id, bytes)
                .map_err(|e| e.to_string())?;
        }
        seal_for_combo(combo, use_index, payload, rng).map_err(|e| e.to_string())
    }
}

/// The parts a combo needs to send its `use_index`-th message: that peer key and MPREFIX, and
/// the prepared CPREFIX, header and routing block.
fn sendable(
    combo: &RoutingCombo,
    use_index: usize,
) -> crate::Result<(&SymmetricKey, &OctetString, [&OctetString; 3])> {
    let bad = |why: &str| crate::Error::BadParameters(why.into());
    let peer = combo
        .peer_key
        .as_ref()
        .and_then(|k| k.get(use_index))
        .ok_or_else(|| bad("no peer key left"))?;
    let mprefix = combo
        .m_prefix
        .as_ref()
        .and_then(|p| p.get(use_index))
        .ok_or_else(|| bad("no MPREFIX left"))?;
    let (Some(cprefix), Some(header), Some(routing)) =
        (&combo.c_prefix, &combo.header, &combo.routing)
    else {
        return Err(bad("the combo lacks CPREFIX, header or routing"));
    };
    Ok((peer, mprefix, [cprefix, header, routing]))
}

/// The message a combo sends with `payload` (§7.1.2, §7.5): random padding, the prepared
/// CPREFIX, header and routing block, the payload; sealed under its `use_index`-th peer key
/// behind its `use_index`-th MPREFIX. Used by a node firing a combo and by the holder of a
/// reply block.
pub fn seal_for_combo<R: RngCore + CryptoRng>(
    combo: &RoutingCombo,
    use_index: usize,
    payload: Vec<Vec<u8>>,
    rng: &mut R,
) -> crate::Result<Outgoing> {
    let (peer, mprefix, [cprefix, header, routing]) = sendable(combo, use_index)?;
    let peer = wire::sym_from_wire(peer)?;
    let bytes = seal_parts(
        &Parts {
            peer: &peer,
            mprefix: mprefix.as_bytes(),
            cprefix: cprefix.as_bytes(),
            header: header.as_bytes(),
            routing: routing.as_bytes(),
            signature: &[],
        },
        payload,
        rng,
    )?;
    Ok(Outgoing {
        to: combo.recipient.target.recipient_address.to_string(),
        blending: wire::blending_of(&combo.recipient)?,
        bytes,
    })
}

/// The sealed parts of one message to a hop, as the sender prepared them.
pub(crate) struct Parts<'a> {
    /// The peer key the inner block is sealed under.
    pub peer: &'a SymKey,
    /// RSA-OAEP(host key, PrefixBlock{peer key}).
    pub mprefix: &'a [u8],
    /// RSA-OAEP(host key, PrefixBlock{sender key}).
    pub cprefix: &'a [u8],
    /// The header sealed under the sender key.
    pub header: &'a [u8],
    /// The routing block sealed under the sender key.
    pub routing: &'a [u8],
    /// The identity signature (empty when a relay composes the message).
    pub signature: &'a [u8],
}

/// The wire bytes of a message (D-1): `MPREFIX ‖ AES-GCM_peer(DER InnerMessageBlock)`, the inner
/// block with random padding (0..=32 bytes) and `payload`.
pub(crate) fn seal_parts<R: RngCore + CryptoRng>(
    parts: &Parts<'_>,
    payload: Vec<Vec<u8>>,
    rng: &mut R,
) -> crate::Result<Vec<u8>> {
    let octets =
        |b: Vec<u8>| OctetString::new(b).map_err(|e| crate::Error::BadParameters(e.to_string()));
    let mut padding = vec![0u8; (rng.next_u32() as usize) % (MAX_PADDING + 1)];
    rng.fill_bytes(&mut padding);
    let inner = InnerMessageBlock {
        padding: octets(padding)?,
        prefix: InnerPrefix::Encrypted(octets(parts.cprefix.to_vec())?),
        header: InnerHeader::Encrypted(octets(parts.header.to_vec())?),
        identity_signature: octets(parts.signature.to_vec())?,
        routing: InnerRouting::Encrypted(octets(parts.routing.to_vec())?),
        payload: payload
            .into_iter()
            .map(octets)
            .collect::<crate::Result<_>>()?,
    };
    let der =
        Zeroizing::new(encode(&inner).map_err(|e| crate::Error::BadParameters(e.to_string()))?);
    let mut bytes = parts.mprefix.to_vec();
    bytes.extend_from_slice(&parts.peer.encrypt(&der)?);
    Ok(bytes)
}

/// True if a reply combo is small enough for the node to send on its own account: prefixes of
/// one host-key block, a header and routing block of bounded size, at most four operations.
fn reply_combo_is_small(c: &RoutingCombo) -> bool {
    let len = |o: &Option<OctetString>| o.as_ref().map_or(0, |o| o.as_bytes().len());
    c.m_prefix
        .iter()
        .flatten()
        .all(|p| p.as_bytes().len() <= MAX_REPLY_PREFIX)
        && len(&c.c_prefix) <= MAX_REPLY_PREFIX
        && len(&c.header) <= MAX_REPLY_HEADER
        && len(&c.routing) <= MAX_REPLY_ROUTING
        && c.assembly.len() <= 4
}

/// A short name for a key's DER (to remember which keys were used).
fn key_digest(der: &[u8]) -> [u8; 32] {
    let mut d = [0u8; 32];
    d.copy_from_slice(&crate::hash::HashAlg::Sha3_256.digest(der));
    d
}

/// A combo's delay: uniform in its `[minProcessTime, maxProcessTime]` (D-24).
fn delay<R: RngCore>(combo: &RoutingCombo, rng: &mut R) -> u64 {
    let (lo, hi) = (
        u64::from(combo.min_process_time),
        u64::from(combo.max_process_time),
    );
    if hi > lo {
        lo + rng.next_u64() % (hi - lo + 1)
    } else {
        lo
    }
}

/// The special block that asks for `p` (§7.3.2.1).
fn puzzle_block(p: &Puzzle, now: u64) -> Result<SpecialBlock, DropReason> {
    Ok(SpecialBlock::Requirement(vec![RequirementBlock::Puzzle(
        RequirementPuzzleRequired {
            challenge: BitString::new(
                ((8 - p.challenge.bits() % 8) % 8) as u8,
                p.challenge.bytes().to_vec(),
            )
            .map_err(malformed)?,
            mac: wire::hash_to_wire(p.hash),
            valid: wire::absolute(now, p.valid_until).map_err(unsupported)?,
            identifier: p.id,
        },
    )]))
}

fn status_code(n: u32) -> Option<StatusCode> {
    Some(match n {
        2000 => StatusCode::Ok,
        2201 => StatusCode::PuzzleRequired,
        3001 => StatusCode::TransferQuotaExceeded,
        3002 => StatusCode::MessageQuotaExceeded,
        3101 => StatusCode::IdentityUnknown,
        3202 => StatusCode::MessageLifeExpired,
        3301 => StatusCode::PuzzleUnknown,
        3802 => StatusCode::SymmetricAlgorithmUnknown,
        3821 => StatusCode::BadParameters,
        _ => return None,
    })
}
