//! The application state machine: many elections side by side, each a
//! [`tabella_election::state::ElectionState`], plus the current roster.
//!
//! Every election transaction goes through [`ElectionState::apply`], which verifies every
//! signature and proof (seed 001 §5.1: verifying nodes check proofs before a block is accepted).
//! A block is applied all or nothing.

use std::collections::{BTreeMap, BTreeSet};

use tabella_election::action::Envelope;
use tabella_election::batch;
use tabella_election::ids::{Digest32, ElectionId};
use tabella_election::state::{ElectionState, Event, ProofCheck};

use crate::error::{Error, Result};
use crate::roster::Roster;
use crate::stats::{StatsState, StatsTx};
use crate::tx::Transaction;
use crate::types::{hash_parts, Height, ProofId, StateRoot};
use crate::verdict::{ProofKind, SignedBitmap, HEAVY_SAMPLE_RATE};
use tabella_election::ballot::ParsedBallot;

/// One hosted election and what the ledger commits to about it.
#[derive(Clone, Debug)]
pub struct ElectionEntry {
    state: ElectionState,
    accepted: u64,
    log_digest: [u8; 32],
    seen: BTreeSet<Digest32>,
}

impl ElectionEntry {
    fn new() -> Self {
        ElectionEntry {
            state: ElectionState::new(),
            accepted: 0,
            log_digest: [0; 32],
            seen: BTreeSet::new(),
        }
    }
    /// The election's state.
    pub fn state(&self) -> &ElectionState {
        &self.state
    }
    /// Number of envelopes accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
    /// Hash chain over the accepted envelopes: `d_0 = 0^32`,
    /// `d_{n+1} = SHA-256("tabella/ledger/election-log/v1" || 0 || d_n || envelope_hash_n)`.
    pub fn log_digest(&self) -> [u8; 32] {
        self.log_digest
    }
}

/// What applying a transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxOutcome {
    /// The election accepted the envelope.
    Election(Event),
    /// The roster was replaced (from the next block on).
    RosterChanged,
    /// Verdict bitmaps were recorded.
    VerdictsRecorded,
    /// A statistics transaction was accepted.
    Stats,
}

/// The ledger's application state.
#[derive(Clone, Debug)]
pub struct LedgerState {
    elections: BTreeMap<ElectionId, ElectionEntry>,
    roster: Roster,
    roster_epoch: u64,
    /// Height of the last block whose verdict bitmaps were committed.
    last_judged: Option<Height>,
    /// Height of the last block applied (genesis: 0).
    height: Height,
    /// The proofs of the last block applied, in order, as every verdict bitmap on it must list
    /// them ([`Self::check_verdicts`]).
    last_block_proofs: Vec<(ProofId, ProofKind)>,
    /// Private statistics: consortia, queries, their proofs and verdicts.
    stats: StatsState,
}

impl LedgerState {
    /// The genesis state: no elections, the founding roster.
    pub fn genesis(roster: Roster) -> Self {
        LedgerState {
            elections: BTreeMap::new(),
            roster,
            roster_epoch: 0,
            last_judged: None,
            height: Height(0),
            last_block_proofs: Vec::new(),
            stats: StatsState::default(),
        }
    }

    /// The statistics state.
    pub fn stats(&self) -> &StatsState {
        &self.stats
    }

    /// Height of the last block applied.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The height of the block being built on this state.
    fn building(&self) -> Height {
        Height(self.height.0.saturating_add(1))
    }

    /// The roster in charge of the next block.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// Number of roster changes applied so far (the epoch the next change must carry).
    pub fn roster_epoch(&self) -> u64 {
        self.roster_epoch
    }

    /// An election, if hosted.
    pub fn election(&self, id: &ElectionId) -> Option<&ElectionEntry> {
        self.elections.get(id)
    }

    /// The hosted elections, by id.
    pub fn elections(&self) -> impl Iterator<Item = (&ElectionId, &ElectionEntry)> {
        self.elections.iter()
    }

    /// Checks a transaction against this state without changing it.
    pub fn check_tx(&self, tx: &Transaction) -> Result<()> {
        match tx {
            Transaction::Election {
                election_id,
                envelope,
            } => {
                tx.check_shape()?;
                match (self.elections.get(election_id), envelope) {
                    (Some(entry), Envelope::Ballot(b)) => {
                        Self::check_fresh(entry, envelope)?;
                        entry
                            .state
                            .check_ballot(b, ProofCheck::Verify)
                            .map(|_| ())
                            .map_err(|source| Error::Election {
                                election: election_id.to_string(),
                                source,
                            })
                    }
                    _ => self.clone_and_apply(tx),
                }
            }
            Transaction::Governance(change) => change.verify(&self.roster, self.roster_epoch),
            Transaction::Verdicts { judged, bitmaps } => self.check_verdicts(*judged, bitmaps),
            Transaction::Stats(st) => self.stats.check(st, tx.id()?, self.building()),
        }
    }

    /// Checks committed verdict bitmaps: they judge the last block applied (`judged` is its
    /// height), and judged heights strictly increase from block to block; each bitmap is for
    /// `judged`, lists exactly that block's proofs with the kinds the protocol gives them
    /// ([`proof_kind`]) and the protocol's sampling rate ([`HEAVY_SAMPLE_RATE`]) — a validator
    /// cannot declare its own proof list, kinds or rate and so skip its work (issue 10,
    /// finding 3) —, verifies ([`SignedBitmap::verify`]: signature, packing, sampling draw),
    /// comes from a member of the current roster, at most one per member. The sampling beacon
    /// `prev_block` is checked against the chain by [`crate::chain::Chain::check_verdict_beacons`].
    pub fn check_verdicts(&self, judged: Height, bitmaps: &[SignedBitmap]) -> Result<()> {
        if self.last_judged.is_some_and(|h| judged <= h) {
            return Err(Error::MalformedTx(format!(
                "verdicts for block {judged} come after those of a later or the same block"
            )));
        }
        if judged != self.height {
            return Err(Error::MalformedTx(format!(
                "verdicts for block {judged} filed after block {}: only the previous block is judged",
                self.height
            )));
        }
        let mut seen = BTreeSet::new();
        for b in bitmaps {
            if b.bitmap.height != judged {
                return Err(Error::MalformedTx(format!(
                    "a bitmap for block {} is filed under block {judged}",
                    b.bitmap.height
                )));
            }
            if !self.roster.contains(&b.bitmap.node) {
                return Err(Error::BadRoster(format!(
                    "verdicts signed by {:?}, who is not in the roster",
                    b.bitmap.node
                )));
            }
            if !seen.insert(b.bitmap.node.to_bytes()) {
                return Err(Error::MalformedTx(format!(
                    "two bitmaps from {:?} for block {judged}",
                    b.bitmap.node
                )));
            }
            if b.bitmap.proofs != self.last_block_proofs {
                return Err(Error::BadProof(format!(
                    "the bitmap of {:?} does not list block {judged}'s {} proofs with their kinds",
                    b.bitmap.node,
                    self.last_block_proofs.len()
                )));
            }
            if b.bitmap.rate != HEAVY_SAMPLE_RATE {
                return Err(Error::BadProof(format!(
                    "the bitmap of {:?} declares its own sampling rate",
                    b.bitmap.node
                )));
            }
            b.verify()?;
        }
        Ok(())
    }

    fn clone_and_apply(&self, tx: &Transaction) -> Result<()> {
        // Only the targeted election is cloned, not the whole ledger.
        if let Transaction::Election {
            election_id,
            envelope,
        } = tx
        {
            let mut entry = self
                .elections
                .get(election_id)
                .cloned()
                .unwrap_or_else(ElectionEntry::new);
            Self::apply_to_entry(&mut entry, election_id, envelope)?;
        }
        Ok(())
    }

    fn check_fresh(entry: &ElectionEntry, envelope: &Envelope) -> Result<()> {
        let h = envelope.hash();
        if entry.seen.contains(&h) {
            return Err(Error::DuplicateTx(format!(
                "envelope {h} was already accepted by this election"
            )));
        }
        Ok(())
    }

    fn apply_to_entry(
        entry: &mut ElectionEntry,
        election_id: &ElectionId,
        envelope: &Envelope,
    ) -> Result<Event> {
        Self::check_fresh(entry, envelope)?;
        let event = entry
            .state
            .apply(envelope)
            .map_err(|source| Error::Election {
                election: election_id.to_string(),
                source,
            })?;
        Self::record_accepted(entry, envelope);
        Ok(event)
    }

    fn record_accepted(entry: &mut ElectionEntry, envelope: &Envelope) {
        let h = envelope.hash();
        entry.log_digest = hash_parts("tabella/ledger/election-log/v1", &[&entry.log_digest, &h.0]);
        entry.accepted += 1;
        entry.seen.insert(h);
    }

    /// Applies one transaction. On error the state is unchanged.
    pub fn apply_tx(&mut self, tx: &Transaction) -> Result<TxOutcome> {
        match tx {
            Transaction::Election {
                election_id,
                envelope,
            } => {
                tx.check_shape()?;
                if let Some(entry) = self.elections.get_mut(election_id) {
                    // `ElectionState::apply` leaves the state unchanged on error, and the
                    // digest is only updated after it succeeded.
                    return Self::apply_to_entry(entry, election_id, envelope)
                        .map(TxOutcome::Election);
                }
                let mut entry = ElectionEntry::new();
                let event = Self::apply_to_entry(&mut entry, election_id, envelope)?;
                self.elections.insert(election_id.clone(), entry);
                Ok(TxOutcome::Election(event))
            }
            Transaction::Governance(change) => {
                change.verify(&self.roster, self.roster_epoch)?;
                self.roster = change.to.clone();
                self.roster_epoch += 1;
                Ok(TxOutcome::RosterChanged)
            }
            Transaction::Verdicts { judged, bitmaps } => {
                self.check_verdicts(*judged, bitmaps)?;
                self.last_judged = Some(*judged);
                let at = self.building();
                let quorum = self.roster.quorum();
                self.stats.record_verdicts(*judged, bitmaps, at, quorum);
                Ok(TxOutcome::VerdictsRecorded)
            }
            Transaction::Stats(st) => {
                let at = self.building();
                self.stats.apply(st, tx.id()?, at)?;
                Ok(TxOutcome::Stats)
            }
        }
    }

    /// Applies a ballot transaction whose signature and proofs were verified by
    /// [`ElectionState::preverify_ballots`] (against this election's key and the ballot's
    /// signer, which never change); every other check runs. On error the state is unchanged.
    pub fn apply_preverified_ballot(
        &mut self,
        tx: &Transaction,
        parsed: ParsedBallot,
    ) -> Result<TxOutcome> {
        let Transaction::Election {
            election_id,
            envelope: envelope @ Envelope::Ballot(ballot),
        } = tx
        else {
            return self.apply_tx(tx);
        };
        tx.check_shape()?;
        let Some(entry) = self.elections.get_mut(election_id) else {
            return self.apply_tx(tx);
        };
        Self::check_fresh(entry, envelope)?;
        let event = entry
            .state
            .apply_parsed_ballot(ballot, parsed, ProofCheck::AlreadyVerified)
            .map_err(|source| Error::Election {
                election: election_id.to_string(),
                source,
            })?;
        Self::record_accepted(entry, envelope);
        Ok(TxOutcome::Election(event))
    }

    /// [`Self::apply_block`] for a block built from this node's own mempool
    /// ([`crate::mempool::Mempool::reap_admitted`]): ballots with their decoding from admission
    /// skip proof verification ([`Self::apply_preverified_ballot`]), everything else is applied
    /// with full checks.
    pub fn apply_admitted_block(
        &mut self,
        txs: &[(Transaction, Option<ParsedBallot>)],
    ) -> Result<StateRoot> {
        self.apply_decoded(txs.iter().map(|(tx, p)| (tx, p.clone())))
    }

    /// Applies transactions all or nothing, each ballot that comes with its verified decoding
    /// through [`Self::apply_preverified_ballot`], everything else with full checks.
    fn apply_decoded<'a>(
        &mut self,
        items: impl Iterator<Item = (&'a Transaction, Option<ParsedBallot>)>,
    ) -> Result<StateRoot> {
        let mut next = self.clone();
        next.stats.begin_block();
        let mut proofs = Vec::new();
        for (i, (tx, parsed)) in items.enumerate() {
            let r = match parsed {
                Some(p) => next.apply_preverified_ballot(tx, p),
                None => next.apply_tx(tx),
            };
            r.map_err(|e| Error::InvalidTxInBlock {
                index: i,
                source: Box::new(e),
            })?;
            proofs.push((ProofId(tx.id()?.0), proof_kind(tx)));
        }
        next.height = Height(self.height.0.saturating_add(1));
        next.stats.end_block(next.height);
        next.last_block_proofs = proofs;
        *self = next;
        Ok(self.state_root())
    }

    /// Pre-verifies, in parallel batches, the ballots among `txs` whose election and signer
    /// are known in this state; returns per transaction the decoding to apply with
    /// [`Self::apply_preverified_ballot`], or `None` (apply with full checks).
    pub fn preverify(&self, txs: &[Transaction]) -> Vec<Option<ParsedBallot>> {
        self.verification_plan(txs, decode_ballots(txs)).verify(txs)
    }

    /// What each decoded ballot among `txs` must be verified against: its election's manifest
    /// and key and its credential's signer, as this state knows them (they never change once
    /// set, so the verification may run later, without this state — e.g. outside a lock).
    pub fn verification_plan(
        &self,
        txs: &[Transaction],
        decoded: Vec<Option<ParsedBallot>>,
    ) -> VerificationPlan {
        let mut groups: BTreeMap<&ElectionId, usize> = BTreeMap::new();
        let mut plan = VerificationPlan {
            n: txs.len(),
            groups: Vec::new(),
        };
        for (i, (tx, d)) in txs.iter().zip(decoded).enumerate() {
            let (
                Transaction::Election {
                    election_id,
                    envelope: Envelope::Ballot(_),
                },
                Some(parsed),
            ) = (tx, d)
            else {
                continue;
            };
            let Some(state) = self.elections.get(election_id).map(|e| &e.state) else {
                continue;
            };
            let (Some(m), Some(k)) = (state.manifest(), state.election_key()) else {
                continue;
            };
            let Ok((signer, _)) = state.credential_signer(&parsed.body.credential) else {
                continue;
            };
            let g = *groups.entry(election_id).or_insert_with(|| {
                plan.groups.push((m.clone(), k.clone(), Vec::new()));
                plan.groups.len() - 1
            });
            if let Some(group) = plan.groups.get_mut(g) {
                group.2.push((i, parsed, signer));
            }
        }
        plan
    }

    /// Applies a block's transactions all or nothing and returns the new state root. On error
    /// (naming the first bad transaction) the state is unchanged.
    ///
    /// Ballots are first verified in parallel batches ([`Self::preverify`]); a ballot that fails
    /// there, or whose signer only appears within the block, is applied with full checks.
    pub fn apply_block(&mut self, txs: &[Transaction]) -> Result<StateRoot> {
        let pre = self.preverify(txs);
        self.apply_decoded(txs.iter().zip(pre))
    }

    /// The state root. It commits to the roster in charge of the next block, the roster epoch,
    /// and, for every
    /// election in id order, its id, the number of envelopes it accepted and the hash chain of
    /// their hashes ([`ElectionEntry::log_digest`]) — i.e. to each election's accepted log, from
    /// which its whole state is a deterministic function. It does not commit to rejected
    /// transactions (they are never in a committed block).
    ///
    /// `SHA-256("tabella/ledger/state/v1" || 0 || roster_hash || roster_epoch u64 LE || n u64 LE ||
    ///   for each election: len(id) as u32 LE || id || accepted as u64 LE || log_digest
    ///   [|| "stats" || statistics transactions accepted u64 LE || their log digest])`, the
    /// statistics part present once a statistics transaction was accepted.
    pub fn state_root(&self) -> StateRoot {
        let mut buf = Vec::with_capacity(40 + self.elections.len() * 112);
        buf.extend_from_slice(&self.roster.hash().0);
        buf.extend_from_slice(&self.roster_epoch.to_le_bytes());
        buf.extend_from_slice(&(self.elections.len() as u64).to_le_bytes());
        for (id, e) in &self.elections {
            buf.extend_from_slice(&(id.as_str().len() as u32).to_le_bytes());
            buf.extend_from_slice(id.as_str().as_bytes());
            buf.extend_from_slice(&e.accepted.to_le_bytes());
            buf.extend_from_slice(&e.log_digest);
        }
        // Statistics, once there are any (so the roots of ledgers without them are unchanged).
        if self.stats.accepted() > 0 {
            buf.extend_from_slice(b"stats");
            buf.extend_from_slice(&self.stats.accepted().to_le_bytes());
            buf.extend_from_slice(&self.stats.log_digest());
        }
        StateRoot(hash_parts("tabella/ledger/state/v1", &[&buf]))
    }
}

/// Decodes the ballots among `txs` in parallel (curve point decompression is a large part of
/// the cost of checking a ballot); `None` for other transactions and undecodable ballots.
pub fn decode_ballots(txs: &[Transaction]) -> Vec<Option<ParsedBallot>> {
    use rayon::prelude::*;
    let is_ballot = |tx: &Transaction| {
        matches!(
            tx,
            Transaction::Election {
                envelope: Envelope::Ballot(_),
                ..
            }
        )
    };
    if !txs.iter().any(is_ballot) {
        // Nothing to decode: no need to wait for the thread pool.
        return vec![None; txs.len()];
    }
    txs.par_iter()
        .map(|tx| match tx {
            Transaction::Election {
                envelope: Envelope::Ballot(b),
                ..
            } => b.parse().ok(),
            _ => None,
        })
        .collect()
}

/// Ballots to verify, grouped by election with the manifest, key and signers they are checked
/// against ([`LedgerState::verification_plan`]).
#[derive(Clone, Debug)]
pub struct VerificationPlan {
    n: usize,
    #[allow(clippy::type_complexity)]
    groups: Vec<(
        tabella_election::manifest::Manifest,
        tabella_election::ballot::ElectionKey,
        Vec<(
            usize,
            ParsedBallot,
            curve25519_dalek::ristretto::RistrettoPoint,
        )>,
    )>,
}

impl VerificationPlan {
    /// How many ballots the plan verifies.
    pub fn ballots(&self) -> usize {
        self.groups.iter().map(|(_, _, b)| b.len()).sum()
    }

    /// Verifies every planned ballot's signature and proofs in parallel batches; returns per
    /// transaction of `txs` (the same slice the plan was made from) the decoding of each ballot
    /// that passed, else `None`.
    pub fn verify(self, txs: &[Transaction]) -> Vec<Option<ParsedBallot>> {
        let mut out: Vec<Option<ParsedBallot>> = vec![None; self.n];
        for (manifest, key, items) in self.groups {
            let mut idx = Vec::with_capacity(items.len());
            let mut work = Vec::with_capacity(items.len());
            for (i, parsed, signer) in items {
                if let Some(Transaction::Election {
                    envelope: Envelope::Ballot(b),
                    ..
                }) = txs.get(i)
                {
                    idx.push(i);
                    work.push((b, parsed, signer));
                }
            }
            let results = batch::verify_parallel(&manifest, &key, &work);
            for ((i, (_, parsed, _)), r) in idx.into_iter().zip(work).zip(results) {
                if r.is_ok() {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(parsed);
                    }
                }
            }
        }
        out
    }
}

/// How the proofs of a transaction are sampled: election envelopes, governance, verdicts and
/// statistics messages are always verified, and so are the statistics key switches and
/// aggregations; range, noise and shuffle proofs of statistics are [`ProofKind::Heavy`]
/// ([`crate::stats::is_heavy`]).
pub fn proof_kind(tx: &Transaction) -> ProofKind {
    match tx {
        Transaction::Stats(st) => match st.as_ref() {
            StatsTx::Proof(p) if crate::stats::is_heavy(p) => ProofKind::Heavy,
            _ => ProofKind::Always,
        },
        Transaction::Election { .. }
        | Transaction::Governance(_)
        | Transaction::Verdicts { .. } => ProofKind::Always,
    }
}

impl LedgerState {
    /// This node's judgement of a block's transactions (on top of this state, the block's
    /// parent state), for its verdict bitmap: `verify[i]` says whether transaction `i` was drawn
    /// for verification. Every transaction of a valid block applies, so everything but
    /// statistics proofs is valid; a drawn statistics proof is verified in full against the
    /// state just before it (range proofs, which depend on their query alone, in parallel).
    pub fn judge_block(&self, txs: &[Transaction], verify: &[bool]) -> Vec<bool> {
        use rayon::prelude::*;
        let drawn = |i: usize| verify.get(i).copied().unwrap_or(false);
        let proof = |t: &Transaction| match t {
            Transaction::Stats(st) => match st.as_ref() {
                StatsTx::Proof(p) => Some(p.clone()),
                _ => None,
            },
            _ => None,
        };
        // Range proofs of queries known before the block, in parallel.
        let ranged: Vec<(usize, bool)> = txs
            .par_iter()
            .enumerate()
            .filter(|(i, _)| drawn(*i))
            .filter_map(|(i, t)| {
                let p = proof(t)?;
                if p.kind() != tabella_stats::proof::ProofKind::Range {
                    return None;
                }
                let params = self.stats.params_of(&p.query)?;
                Some((
                    i,
                    p.check_signature().is_ok()
                        && tabella_stats::audit::QueryAudit::check_range(params, &p).is_ok(),
                ))
            })
            .collect();
        let ranged: BTreeMap<usize, bool> = ranged.into_iter().collect();
        let needs_replay = txs
            .iter()
            .enumerate()
            .any(|(i, t)| drawn(i) && proof(t).is_some() && !ranged.contains_key(&i));
        let mut out = vec![true; txs.len()];
        let mut state = needs_replay.then(|| self.clone());
        if let Some(st) = state.as_mut() {
            st.stats.begin_block();
        }
        for (i, t) in txs.iter().enumerate() {
            if let Some(v) = ranged.get(&i) {
                out[i] = *v;
            } else if drawn(i) {
                if let (Some(p), Some(st)) = (proof(t), state.as_ref()) {
                    out[i] = st.stats.verify_proof(&p);
                }
            }
            if let Some(st) = state.as_mut() {
                let _ = st.apply_tx(t);
            }
        }
        out
    }
}
