//! The accounting layer of a node (draft-gwerder-messagevortexmain-10 §8.1, §7.1.1, §7.2,
//! §7.3.2.1, §2.8; docs/VORTEX.md §4.2–§4.4, D-16, D-19, D-22): ephemeral identities with a
//! lifetime, a message quota and a transfer quota; creation behind a proof-of-work puzzle;
//! per-identity replay protection by header serial; garbage collection. Pure: the node passes
//! the time in.

use std::collections::{BTreeMap, HashMap};

use rand_core::{CryptoRng, RngCore};

use crate::asym::PublicKey;
use crate::hash::HashAlg;
use crate::ops::Workspace;
use crate::pow::{self, Challenge};

/// An identity's name at a node: SHA3-256 of its public key's SPKI DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityId(pub [u8; 32]);

impl IdentityId {
    /// The ID of `key`.
    pub fn of(key: &PublicKey) -> Self {
        IdentityId(key.fingerprint())
    }
}

/// Why a node dropped a message, or refused a request. Each maps to the draft's status code
/// where it has one (§7.3.1, App. A.4 StatusCode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The prefix does not decrypt with this node's host key (silent: no oracle).
    NotForUs,
    /// The inner block failed authentication: modified in transit.
    Tampered,
    /// A block is not valid DER or breaks a bound of the ASN.1 module.
    Malformed(String),
    /// No such identity, and the message does not ask to create one (`identityUnknown`).
    IdentityUnknown,
    /// The identity waits for its puzzle to be solved (`puzzleRequired`).
    PuzzlePending,
    /// The proof of work does not solve the puzzle (`puzzleUnknown`).
    BadProofOfWork,
    /// The header's validity has not begun.
    NotYetValid,
    /// The header's (or the identity's) validity is over (`messageLifeExpired`).
    Expired,
    /// The header serial has been used as often as it allows.
    Replayed,
    /// The identity has no messages left (`messageQuotaExceeded`).
    MessageQuotaExceeded,
    /// The identity has no bytes left (`transferQuotaExceeded`).
    TransferQuotaExceeded,
    /// The identity holds as many serials as the node allows.
    TooManySerials,
    /// The node holds as many identities as it allows (no reply: not an identity's fault).
    Busy,
    /// The header is valid beyond its identity's lifetime (it could be replayed to a
    /// re-created identity).
    OutlivesIdentity,
    /// An algorithm the node does not implement.
    Unsupported(String),
}

impl DropReason {
    /// The draft's StatusCode number for a reply, or `None` where no reply is allowed.
    pub fn status_code(&self) -> Option<u32> {
        match self {
            DropReason::NotForUs
            | DropReason::Tampered
            | DropReason::Replayed
            | DropReason::Busy => None,
            DropReason::Malformed(_) => Some(3821),
            DropReason::IdentityUnknown => Some(3101),
            DropReason::PuzzlePending => Some(2201),
            DropReason::BadProofOfWork => Some(3301),
            DropReason::NotYetValid | DropReason::Expired | DropReason::OutlivesIdentity => {
                Some(3202)
            }
            DropReason::MessageQuotaExceeded => Some(3002),
            DropReason::TransferQuotaExceeded => Some(3001),
            DropReason::TooManySerials => Some(3821),
            DropReason::Unsupported(_) => Some(3802),
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::NotForUs => write!(f, "not for this node"),
            DropReason::Tampered => write!(f, "modified in transit"),
            DropReason::Malformed(why) => write!(f, "malformed: {why}"),
            DropReason::IdentityUnknown => write!(f, "unknown identity"),
            DropReason::PuzzlePending => write!(f, "identity waits for its proof of work"),
            DropReason::BadProofOfWork => write!(f, "proof of work does not solve the puzzle"),
            DropReason::NotYetValid => write!(f, "header not yet valid"),
            DropReason::Expired => write!(f, "expired"),
            DropReason::Replayed => write!(f, "replayed"),
            DropReason::MessageQuotaExceeded => write!(f, "message quota exceeded"),
            DropReason::TransferQuotaExceeded => write!(f, "transfer quota exceeded"),
            DropReason::TooManySerials => write!(f, "too many header serials"),
            DropReason::Busy => write!(f, "the node holds as many identities as it allows"),
            DropReason::OutlivesIdentity => write!(f, "header valid beyond its identity"),
            DropReason::Unsupported(what) => write!(f, "unsupported: {what}"),
        }
    }
}

/// A node's accounting policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Puzzle difficulty for a new identity, before the lifetime term; `None` = identities
    /// are free (a test network).
    pub puzzle_bits: Option<u32>,
    /// The hash of puzzles.
    pub puzzle_hash: HashAlg,
    /// How long a puzzle may take to solve, in seconds.
    pub puzzle_window: u64,
    /// The longest identity lifetime granted, in seconds.
    pub max_lifetime: u64,
    /// Messages a new identity may send.
    pub message_quota: u64,
    /// Bytes a new identity may send.
    pub transfer_quota: u64,
    /// Serials kept per identity (maxHeaderSerials).
    pub max_serials: usize,
    /// Identities kept at most (temporary ones included).
    pub max_identities: usize,
    /// Temporary identities (puzzle unsolved) kept at most.
    pub max_temporary: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            puzzle_bits: Some(12),
            puzzle_hash: HashAlg::Sha3_256,
            puzzle_window: 3600,
            max_lifetime: 30 * 86_400,
            message_quota: 1000,
            transfer_quota: 64 << 20,
            max_serials: 4096,
            max_identities: 100_000,
            max_temporary: 10_000,
        }
    }
}

/// A puzzle an identity must solve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Puzzle {
    /// The puzzle's number (the header's `identifier`, 4 bytes big-endian; D-17).
    pub id: u32,
    /// The bits to match.
    pub challenge: Challenge,
    /// The hash.
    pub hash: HashAlg,
    /// Solutions count until this time.
    pub valid_until: u64,
}

/// An ephemeral identity at a node (§2.8).
#[derive(Clone, Debug)]
pub struct Identity {
    /// Its public key.
    pub key: PublicKey,
    /// End of its lifetime.
    pub expires: u64,
    /// `Some` while its creation puzzle is unsolved (a temporary identity).
    pub puzzle: Option<Puzzle>,
    /// Messages left.
    pub message_quota: u64,
    /// Bytes left.
    pub transfer_quota: u64,
    /// Serial → its use record.
    replays: BTreeMap<u32, SerialUse>,
    /// Its chunks.
    pub workspace: Workspace,
    /// Its multi-use reply block (DER of the RoutingBlock's replyBlock), for error replies.
    pub murb: Option<Vec<u8>>,
    /// How many times the reply block has been used.
    pub murb_uses: usize,
    /// Digests of the reply-block peer keys already used (none is used twice).
    pub murb_keys_used: std::collections::BTreeSet<[u8; 32]>,
    /// A quota increase waiting for its proof of work (§7.2.3, §7.2.4).
    pub pending_quota: Option<PendingQuota>,
}

/// What a header serial has been used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SerialUse {
    /// Uses so far (the first is 0).
    used: u32,
    /// Uses allowed in total (1 + maxReplays).
    allowed: u32,
    /// The window fixed at the first arrival (a relative window is not moved by replays).
    window: Window,
    /// Kept until then.
    retain_until: u64,
    /// The header's window was relative (kept for a lifetime beyond its identity's).
    relative: bool,
}

/// A quota increase that waits for its puzzle to be solved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingQuota {
    /// The puzzle.
    pub puzzle: Puzzle,
    /// The new message quota, if asked.
    pub messages: Option<u64>,
    /// The new transfer quota, if asked.
    pub bytes: Option<u64>,
}

/// The window a header is valid in, resolved to absolute seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Not before (inclusive).
    pub not_before: u64,
    /// Not after (inclusive).
    pub not_after: u64,
}

/// What an identity request led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// The identity is usable now.
    Permanent,
    /// The identity is temporary until this puzzle is solved.
    Puzzle(Puzzle),
}

/// All identities of a node.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    identities: HashMap<IdentityId, Identity>,
    /// Serials of removed identities, kept while their headers are valid, so that a
    /// re-created identity does not accept its predecessor's messages again.
    tombstones: HashMap<IdentityId, BTreeMap<u32, SerialUse>>,
}

impl Accounts {
    /// No identities.
    pub fn new() -> Self {
        Accounts::default()
    }

    /// The identity `id`.
    pub fn get(&self, id: &IdentityId) -> Option<&Identity> {
        self.identities.get(id)
    }

    /// The identity `id`, mutably.
    pub fn get_mut(&mut self, id: &IdentityId) -> Option<&mut Identity> {
        self.identities.get_mut(id)
    }

    /// Forgets identity `id` (its serials stay, as for a removed identity).
    pub fn remove(&mut self, id: &IdentityId) {
        if let Some(old) = self.identities.remove(id) {
            if !old.replays.is_empty() {
                self.tombstones.insert(*id, old.replays);
            }
        }
    }

    /// The number of identities.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// Creates (or renews the request for) an identity living until `until`, capped by the
    /// policy (§7.2.1, §8.1.5). A puzzle's difficulty grows with the lifetime in hours.
    pub fn create<R: RngCore + CryptoRng>(
        &mut self,
        key: PublicKey,
        now: u64,
        until: u64,
        policy: &Policy,
        rng: &mut R,
    ) -> Result<Created, DropReason> {
        let id = IdentityId::of(&key);
        let temporary = self
            .identities
            .values()
            .filter(|i| i.puzzle.is_some())
            .count();
        if policy.puzzle_bits.is_some() && temporary >= policy.max_temporary {
            // Strangers cannot lock newcomers out: the temporary identity whose puzzle window
            // closes first makes room.
            let oldest = self
                .identities
                .iter()
                .filter_map(|(k, i)| i.puzzle.as_ref().map(|p| (p.valid_until, *k)))
                .min();
            if let Some((_, k)) = oldest {
                self.remove(&k);
            }
        }
        if self.identities.len() >= policy.max_identities {
            return Err(DropReason::Busy);
        }
        let expires = until.min(now.saturating_add(policy.max_lifetime)).max(now);
        let puzzle = policy.puzzle_bits.and_then(|base| {
            let hours = (expires - now).div_ceil(3600);
            new_puzzle(pow::difficulty(base, hours), now, policy, rng)
        });
        let created = match &puzzle {
            Some(p) => Created::Puzzle(p.clone()),
            None => Created::Permanent,
        };
        // Serials of a former identity with this key are kept: its headers must not replay.
        let mut replays = self
            .identities
            .remove(&id)
            .map(|old| old.replays)
            .or_else(|| self.tombstones.remove(&id))
            .unwrap_or_default();
        // A relative header of the former identity stays unusable for the new one's life.
        for u in replays.values_mut().filter(|u| u.relative) {
            u.retain_until = u
                .retain_until
                .max(expires.saturating_add(policy.max_lifetime));
        }
        self.identities.insert(
            id,
            Identity {
                key,
                expires,
                puzzle,
                message_quota: policy.message_quota,
                transfer_quota: policy.transfer_quota,
                replays,
                workspace: Workspace::new(),
                murb: None,
                murb_uses: 0,
                murb_keys_used: Default::default(),
                pending_quota: None,
            },
        );
        Ok(created)
    }

    /// Checks a temporary identity's solution: `puzzle_id` and `header` (DER HeaderBlock with
    /// identifier and counter) must solve its puzzle in time (§7.3.2.1). On success the
    /// identity becomes permanent (D-22). A permanent identity passes.
    pub fn prove(
        &mut self,
        id: &IdentityId,
        puzzle_id: Option<u32>,
        header: &[u8],
        now: u64,
    ) -> Result<(), DropReason> {
        let identity = self
            .identities
            .get_mut(id)
            .ok_or(DropReason::IdentityUnknown)?;
        let Some(p) = &identity.puzzle else {
            return Ok(());
        };
        match puzzle_id {
            None => Err(DropReason::PuzzlePending),
            Some(n) if n != p.id || now > p.valid_until => Err(DropReason::BadProofOfWork),
            Some(_) if !p.challenge.verify(p.hash, header) => Err(DropReason::BadProofOfWork),
            Some(_) => {
                identity.puzzle = None;
                Ok(())
            }
        }
    }

    /// Registers one use of header `serial` at `now` (usable `1 + max_replays` times; D-19) and
    /// returns which use it is (0 for the first). The window is fixed at the first arrival:
    /// `relative` windows are kept (and their serial remembered) for the identity's whole
    /// lifetime, so a replay cannot move them. A header valid beyond its identity is refused.
    /// Nothing is charged on refusal.
    #[allow(clippy::too_many_arguments)]
    pub fn use_serial(
        &mut self,
        id: &IdentityId,
        serial: u32,
        max_replays: u32,
        window: Window,
        relative: bool,
        now: u64,
        policy: &Policy,
    ) -> Result<u32, DropReason> {
        let identity = self
            .identities
            .get_mut(id)
            .ok_or(DropReason::IdentityUnknown)?;
        if let Some(u) = identity.replays.get_mut(&serial) {
            if now > u.window.not_after || now > identity.expires {
                return Err(DropReason::Expired);
            }
            if u.used >= u.allowed {
                return Err(DropReason::Replayed);
            }
            if now < u.window.not_before {
                return Err(DropReason::NotYetValid);
            }
            let this = u.used;
            u.used += 1;
            return Ok(this);
        }
        if now < window.not_before {
            return Err(DropReason::NotYetValid);
        }
        if now > window.not_after || now > identity.expires {
            return Err(DropReason::Expired);
        }
        if !relative && window.not_after > identity.expires {
            return Err(DropReason::OutlivesIdentity);
        }
        if identity.replays.len() >= policy.max_serials {
            return Err(DropReason::TooManySerials);
        }
        let window = Window {
            not_before: window.not_before,
            not_after: window.not_after.min(identity.expires),
        };
        identity.replays.insert(
            serial,
            SerialUse {
                used: 1,
                allowed: max_replays.saturating_add(1),
                window,
                // A relative window could start again at any later arrival, so its serial is
                // kept one whole lifetime past its identity's end.
                retain_until: if relative {
                    identity.expires.saturating_add(policy.max_lifetime)
                } else {
                    window.not_after
                },
                relative,
            },
        );
        Ok(0)
    }

    /// Asks a puzzle for raising the quotas to `messages` / `bytes` (§7.2.3, §7.2.4): harder
    /// the larger the ratio to the current quota. Requests at or below the current quota need
    /// no work (`None`).
    pub fn request_quota<R: RngCore + CryptoRng>(
        &mut self,
        id: &IdentityId,
        messages: Option<u64>,
        bytes: Option<u64>,
        now: u64,
        policy: &Policy,
        rng: &mut R,
    ) -> Result<Option<Puzzle>, DropReason> {
        let identity = self
            .identities
            .get_mut(id)
            .ok_or(DropReason::IdentityUnknown)?;
        let ratio = |want: Option<u64>, have: u64| want.map_or(1, |w| w / have.max(1) + 1);
        let up = messages.is_some_and(|m| m > identity.message_quota)
            || bytes.is_some_and(|b| b > identity.transfer_quota);
        if !up {
            return Ok(None);
        }
        let factor =
            ratio(messages, identity.message_quota).max(ratio(bytes, identity.transfer_quota));
        let base = policy.puzzle_bits.unwrap_or(8);
        let Some(puzzle) = new_puzzle(pow::difficulty(base, factor), now, policy, rng) else {
            return Err(DropReason::Unsupported("puzzle".into()));
        };
        identity.pending_quota = Some(PendingQuota {
            puzzle: puzzle.clone(),
            messages,
            bytes,
        });
        Ok(Some(puzzle))
    }

    /// Applies a pending quota increase if `header` solves its puzzle; true if it did.
    pub fn prove_quota(
        &mut self,
        id: &IdentityId,
        puzzle_id: Option<u32>,
        header: &[u8],
        now: u64,
    ) -> bool {
        let Some(identity) = self.identities.get_mut(id) else {
            return false;
        };
        let Some(p) = &identity.pending_quota else {
            return false;
        };
        let solved = puzzle_id == Some(p.puzzle.id)
            && now <= p.puzzle.valid_until
            && p.puzzle.challenge.verify(p.puzzle.hash, header);
        if solved {
            if let Some(m) = p.messages {
                identity.message_quota = identity.message_quota.max(m);
            }
            if let Some(b) = p.bytes {
                identity.transfer_quota = identity.transfer_quota.max(b);
            }
            identity.pending_quota = None;
        }
        solved
    }

    /// Takes one message from the quota (§7.1.1, §8.1.4; D-16).
    pub fn charge_message(&mut self, id: &IdentityId) -> Result<(), DropReason> {
        let identity = self
            .identities
            .get_mut(id)
            .ok_or(DropReason::IdentityUnknown)?;
        if identity.message_quota == 0 {
            return Err(DropReason::MessageQuotaExceeded);
        }
        identity.message_quota -= 1;
        Ok(())
    }

    /// Takes `bytes` from the transfer quota (§8.1.4); nothing is taken if too few are left.
    pub fn charge_transfer(&mut self, id: &IdentityId, bytes: u64) -> Result<(), DropReason> {
        let identity = self
            .identities
            .get_mut(id)
            .ok_or(DropReason::IdentityUnknown)?;
        if identity.transfer_quota < bytes {
            return Err(DropReason::TransferQuotaExceeded);
        }
        identity.transfer_quota -= bytes;
        Ok(())
    }

    /// Garbage collection (§8.1.1): identities past their lifetime, temporary ones whose
    /// puzzle window closed, serials past their validity, chunks past their expiry. Returns
    /// the number of identities removed.
    pub fn gc(&mut self, now: u64) -> usize {
        let before = self.identities.len();
        let gone: Vec<IdentityId> = self
            .identities
            .iter()
            .filter(|(_, i)| {
                i.expires < now || i.puzzle.as_ref().is_some_and(|p| p.valid_until < now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(old) = self.identities.remove(&id) {
                let live: BTreeMap<u32, SerialUse> = old
                    .replays
                    .into_iter()
                    .filter(|(_, u)| u.retain_until >= now)
                    .collect();
                if !live.is_empty() {
                    self.tombstones.insert(id, live);
                }
            }
        }
        self.tombstones.retain(|_, serials| {
            serials.retain(|_, u| u.retain_until >= now);
            !serials.is_empty()
        });
        for i in self.identities.values_mut() {
            i.replays.retain(|_, u| u.retain_until >= now);
            if i.pending_quota
                .as_ref()
                .is_some_and(|p| p.puzzle.valid_until < now)
            {
                i.pending_quota = None;
            }
            i.workspace.expire(now);
        }
        before - self.identities.len()
    }
}

/// A puzzle of `bits` bits with a random number.
fn new_puzzle<R: RngCore + CryptoRng>(
    bits: u32,
    now: u64,
    policy: &Policy,
    rng: &mut R,
) -> Option<Puzzle> {
    Challenge::random(bits, rng).ok().map(|challenge| Puzzle {
        id: rng.next_u32(),
        challenge,
        hash: policy.puzzle_hash,
        valid_until: now.saturating_add(policy.puzzle_window),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asym::PrivateKey;
    use crate::pow::COUNTER;
    use rand_chacha::rand_core::SeedableRng;

    fn setup() -> (Accounts, PublicKey, IdentityId, rand_chacha::ChaCha20Rng) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let key = PrivateKey::generate(2048, &mut rng)
            .unwrap()
            .public()
            .clone();
        let id = IdentityId::of(&key);
        (Accounts::new(), key, id, rng)
    }

    const W: Window = Window {
        not_before: 100,
        not_after: 200,
    };

    #[test]
    fn a_new_identity_stays_temporary_until_its_puzzle_is_solved() {
        let (mut a, key, id, mut rng) = setup();
        let policy = Policy {
            puzzle_bits: Some(10),
            ..Policy::default()
        };
        let Ok(Created::Puzzle(p)) = a.create(key, 100, 100 + 3600, &policy, &mut rng) else {
            panic!("a puzzle is required");
        };
        assert_eq!(p.challenge.bits(), 10);
        assert_eq!(
            a.prove(&id, None, b"x", 101),
            Err(DropReason::PuzzlePending)
        );
        let mut header = b"header with identifier".to_vec();
        header.extend_from_slice(&[0; COUNTER]);
        // A cheater guessing a counter without work fails (2^-10 per try: seed fixed).
        assert_eq!(
            a.prove(&id, Some(p.id), &header, 101),
            Err(DropReason::BadProofOfWork)
        );
        let (c, _) = p.challenge.solve(p.hash, &header, 0, 1 << 20).unwrap();
        let at = header.len() - COUNTER;
        header[at..].copy_from_slice(&c.to_be_bytes());
        assert_eq!(
            a.prove(&id, Some(p.id + 1), &header, 101),
            Err(DropReason::BadProofOfWork)
        );
        assert_eq!(
            a.prove(&id, Some(p.id), &header, p.valid_until + 1),
            Err(DropReason::BadProofOfWork),
            "too late"
        );
        assert_eq!(a.prove(&id, Some(p.id), &header, 102), Ok(()));
        assert!(a.get(&id).unwrap().puzzle.is_none());
        assert_eq!(
            a.prove(&id, None, b"anything", 103),
            Ok(()),
            "permanent now"
        );
    }

    #[test]
    fn serials_allow_one_plus_max_replays_uses_within_their_window() {
        let (mut a, key, id, mut rng) = setup();
        let policy = Policy {
            puzzle_bits: None,
            max_serials: 2,
            ..Policy::default()
        };
        assert_eq!(
            a.create(key, 100, 10_000, &policy, &mut rng),
            Ok(Created::Permanent)
        );
        assert_eq!(
            a.use_serial(&id, 1, 0, W, false, 99, &policy),
            Err(DropReason::NotYetValid)
        );
        assert_eq!(
            a.use_serial(&id, 1, 0, W, false, 201, &policy),
            Err(DropReason::Expired)
        );
        assert_eq!(a.use_serial(&id, 1, 0, W, false, 150, &policy), Ok(0));
        assert_eq!(
            a.use_serial(&id, 1, 0, W, false, 150, &policy),
            Err(DropReason::Replayed)
        );
        assert_eq!(a.use_serial(&id, 2, 2, W, false, 150, &policy), Ok(0));
        assert_eq!(a.use_serial(&id, 2, 2, W, false, 151, &policy), Ok(1));
        assert_eq!(a.use_serial(&id, 2, 2, W, false, 152, &policy), Ok(2));
        assert_eq!(
            a.use_serial(&id, 2, 2, W, false, 153, &policy),
            Err(DropReason::Replayed)
        );
        assert_eq!(
            a.use_serial(&id, 3, 0, W, false, 150, &policy),
            Err(DropReason::TooManySerials)
        );
        // After the window the serial is forgotten, but the header is expired anyway.
        a.gc(201);
        assert_eq!(
            a.use_serial(&id, 1, 0, W, false, 201, &policy),
            Err(DropReason::Expired)
        );
        let unknown = IdentityId([0; 32]);
        assert_eq!(
            a.use_serial(&unknown, 1, 0, W, false, 150, &policy),
            Err(DropReason::IdentityUnknown)
        );
    }

    #[test]
    fn quotas_run_out_without_going_negative_and_gc_removes_the_expired() {
        let (mut a, key, id, mut rng) = setup();
        let policy = Policy {
            puzzle_bits: None,
            message_quota: 2,
            transfer_quota: 100,
            max_lifetime: 50,
            ..Policy::default()
        };
        a.create(key, 100, 10_000, &policy, &mut rng).unwrap();
        assert_eq!(
            a.get(&id).unwrap().expires,
            150,
            "lifetime capped by policy"
        );
        assert_eq!(a.charge_message(&id), Ok(()));
        assert_eq!(a.charge_message(&id), Ok(()));
        assert_eq!(a.charge_message(&id), Err(DropReason::MessageQuotaExceeded));
        assert_eq!(
            a.charge_transfer(&id, 101),
            Err(DropReason::TransferQuotaExceeded)
        );
        assert_eq!(a.charge_transfer(&id, 100), Ok(()));
        assert_eq!(a.get(&id).unwrap().transfer_quota, 0);
        assert_eq!(a.gc(150), 0);
        assert_eq!(a.gc(151), 1);
        assert!(a.is_empty());
    }

    /// Review M3: a full table of temporary identities makes room instead of refusing.
    #[test]
    fn strangers_cannot_lock_newcomers_out() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let policy = Policy {
            puzzle_bits: Some(4),
            max_temporary: 2,
            ..Policy::default()
        };
        let mut a = Accounts::new();
        let keys: Vec<PublicKey> = (0..3)
            .map(|_| {
                PrivateKey::generate_p384(&mut rng)
                    .unwrap()
                    .public()
                    .clone()
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            let r = a.create(k.clone(), 100 + i as u64, 10_000, &policy, &mut rng);
            assert!(matches!(r, Ok(Created::Puzzle(_))), "{r:?}");
        }
        assert_eq!(a.len(), 2);
        assert!(
            a.get(&IdentityId::of(&keys[0])).is_none(),
            "the oldest made room"
        );
        assert!(a.get(&IdentityId::of(&keys[2])).is_some());
    }

    /// Review M2: a relative header's serial outlives its identity, also when the identity is
    /// created again with the same key.
    #[test]
    fn a_relative_serial_survives_its_identity() {
        let (mut a, key, id, mut rng) = setup();
        let policy = Policy {
            puzzle_bits: None,
            max_lifetime: 1000,
            ..Policy::default()
        };
        a.create(key.clone(), 100, 1100, &policy, &mut rng).unwrap();
        let w = Window {
            not_before: 100,
            not_after: 160,
        };
        assert_eq!(a.use_serial(&id, 7, 0, w, true, 100, &policy), Ok(0));
        assert_eq!(a.gc(1101), 1);
        a.create(key, 5000, 5900, &policy, &mut rng).unwrap();
        let later = Window {
            not_before: 5000,
            not_after: 5060,
        };
        assert_eq!(
            a.use_serial(&id, 7, 0, later, true, 5000, &policy),
            Err(DropReason::Expired),
            "the window stays the first one"
        );
    }

    #[test]
    fn every_reason_with_a_reply_has_a_draft_status_code() {
        assert_eq!(DropReason::Replayed.status_code(), None);
        assert_eq!(DropReason::NotForUs.status_code(), None);
        assert_eq!(DropReason::MessageQuotaExceeded.status_code(), Some(3002));
        assert_eq!(DropReason::IdentityUnknown.status_code(), Some(3101));
    }
}
