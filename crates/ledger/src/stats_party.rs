//! What the parties of the statistics protocol do next, given what the chain shows
//! ([`crate::stats`]): pure steps, no network or clock. The `tabella stats cn run` and
//! `tabella stats dp run` processes poll a node's API and submit what these return; the tests
//! drive them in process.
//!
//! A **computing node** deals in its consortium's key ceremony, derives its key share once every
//! dealing is in (a restart re-derives it from the chain and its long-term key), and for each
//! query: sends its secret noise list at once; checks its data providers' answers in full and
//! disputes the invalid ones; aggregates its providers when they have all answered or the answer
//! deadline passed; (the first node) aggregates the nodes' partials; shuffles each noise list in
//! its turn, checking the input first; and, before switching the result to the querier's key,
//! re-checks every proof of the query in full, disputing the first invalid one instead of
//! switching (switching an unchecked total could decrypt another party's ciphertext for the
//! querier).
//!
//! A **data provider** joins the consortia its operator accepted (by id: anyone can create a
//! consortium naming a provider, with computing nodes of their own choosing, so a provider never
//! takes part on its own) with its budget, and answers each query naming it, from its own rows,
//! before the answer deadline. It never sends a row. Computing nodes likewise deal only in
//! accepted consortia.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::{CryptoRng, RngCore};
use tabella_crypto::dkg::{KeyShare, Round1, TrusteeIndex};
use tabella_crypto::elgamal::SecretKey;
use tabella_stats::aggregation::{Aggregation, AggregationInput, AggregationLevel};
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::Rational;
use tabella_stats::obfuscation::{noise_list, ShuffleStep};
use tabella_stats::params::{proof_context, QueryParams};
use tabella_stats::party::{PartyKey, PartySecret};
use tabella_stats::proof::{ProofBody, ProofKind, SignedProof};
use tabella_stats::schema::Row;
use tabella_stats::submission::Submission;
use tabella_stats::switch::KeySwitchStep;

use crate::error::{Error, Result};
use crate::stats::{
    ConsortiumEntry, Deal, Dispute, Join, QueryEvent, QueryProofs, QueryStatus, QueryView, Signed,
    StatsTx,
};
use crate::types::{Height, TxId};

fn err(m: impl Into<String>) -> Error {
    Error::Stats(m.into())
}

/// The proofs of `proofs` in the order the chain accepted them, without the answers it later
/// excluded.
fn ordered(proofs: &QueryProofs) -> Vec<&crate::stats::ProofRecord> {
    let excluded: BTreeSet<PartyKey> = proofs
        .events
        .iter()
        .filter_map(|e| match e {
            QueryEvent::Excluded { provider, .. } => Some(*provider),
            _ => None,
        })
        .collect();
    proofs
        .events
        .iter()
        .filter_map(|e| match e {
            QueryEvent::Proof { index } => index
                .checked_sub(proofs.first)
                .and_then(|i| proofs.proofs.get(i)),
            _ => None,
        })
        .filter(|r| !(r.proof.kind() == ProofKind::Range && excluded.contains(&r.proof.prover)))
        .collect()
}

fn failure(e: tabella_stats::Error) -> ReplayFailure {
    let (prover, kind) = match &e {
        tabella_stats::Error::ProofRejected { prover, kind, .. } => (Some(*prover), Some(*kind)),
        _ => (None, None),
    };
    ReplayFailure {
        prover,
        kind,
        tx: None,
        reason: e.to_string(),
    }
}

/// [`failure`] of the proof carried by transaction `tx`.
fn failure_of(tx: TxId, e: tabella_stats::Error) -> ReplayFailure {
    ReplayFailure {
        tx: Some(tx),
        ..failure(e)
    }
}

/// Replays a query's proofs as the chain accepted them, skipping the answers it later excluded:
/// with [`Check::Full`] every proof is verified (range proofs in parallel). On the first proof
/// that does not pass, returns its transaction, prover, kind and the reason.
pub fn replay(
    params: &QueryParams,
    proofs: &QueryProofs,
    check: Check,
) -> std::result::Result<QueryAudit, ReplayFailure> {
    use rayon::prelude::*;
    let mut audit = QueryAudit::new(params.clone()).map_err(failure)?;
    let records = ordered(proofs);
    // With a full check, the range proofs first, in parallel.
    let ranges: Vec<Option<tabella_stats::Error>> = records
        .par_iter()
        .map(|r| {
            if check != Check::Full || r.proof.kind() != ProofKind::Range {
                return None;
            }
            r.proof
                .check_signature()
                .and_then(|()| QueryAudit::check_range(params, &r.proof))
                .err()
        })
        .collect();
    for (r, range) in records.iter().zip(ranges) {
        let accepted = match range {
            Some(e) => Err(e),
            None if check == Check::Full && r.proof.kind() == ProofKind::Range => {
                audit.accept_verified(&r.proof)
            }
            None => audit.accept(&r.proof, check),
        };
        accepted.map_err(|e| failure_of(r.tx, e))?;
    }
    Ok(audit)
}

/// Range proofs (by transaction) a party has verified in full, so each is checked once.
pub type RangeCache = BTreeSet<TxId>;

/// The excluded data providers of a record.
fn excluded_of(proofs: &QueryProofs) -> BTreeSet<PartyKey> {
    proofs
        .events
        .iter()
        .filter_map(|e| match e {
            QueryEvent::Excluded { provider, .. } => Some(*provider),
            _ => None,
        })
        .collect()
}

/// What a party has checked of one query, kept between its steps so that each proof is
/// accepted (and verified) once rather than replayed at every step: audits of the record in the
/// order the chain accepted it — one light (signatures, shapes and order), one full (every
/// proof verified), and one of the noise lists alone (their proofs and shuffles verified: a
/// list's states depend on nothing else, so a node shuffles as soon as the list reaches its
/// turn, while the answers are still coming) — each advanced by the proofs since, and the set
/// of proofs verified so far, so that none is verified twice. The record only grows, except
/// when the chain excludes an answer already accepted here: the audits then restart from the
/// record (the verified set is kept).
#[derive(Clone, Debug, Default)]
pub struct QueryTracker {
    excluded: BTreeSet<PartyKey>,
    light: Option<(QueryAudit, usize)>,
    full: Option<(QueryAudit, usize)>,
    lists: Option<(QueryAudit, usize)>,
    verified: BTreeSet<TxId>,
    /// Range proofs found invalid (not verified again ahead of time).
    invalid: BTreeSet<TxId>,
}

/// Whether a proof's verification holds in any audit of its query's record: it depends on the
/// query alone (an answer's range proof) or on its noise list's states alone (a list, a
/// shuffle). A key switch depends on the total, so it is verified in each audit.
fn reusable(r: &crate::stats::ProofRecord) -> bool {
    matches!(
        r.proof.kind(),
        ProofKind::Range | ProofKind::Noise | ProofKind::Shuffle
    )
}

/// Which proofs an audit takes, and how it checks them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Light,
    Full,
    Lists,
    /// [`Pass::Full`] as far as the range proofs already verified go.
    Warm,
}

impl QueryTracker {
    /// A tracker that has checked nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record accepted with [`Check::Light`], advanced by the proofs since the last call.
    pub fn light(
        &mut self,
        params: &QueryParams,
        proofs: &QueryProofs,
    ) -> std::result::Result<&QueryAudit, ReplayFailure> {
        self.advance(params, proofs, Pass::Light)
    }

    /// The record accepted with every proof verified, advanced by the proofs since the last
    /// call (the new range proofs verified in parallel; none verified twice). On the first
    /// proof that does not pass, its prover, kind and why; the audit stays just before it.
    pub fn full(
        &mut self,
        params: &QueryParams,
        proofs: &QueryProofs,
    ) -> std::result::Result<&QueryAudit, ReplayFailure> {
        self.advance(params, proofs, Pass::Full)
    }

    /// Advances the full audit ([`Self::full`]) as far as it goes without verifying a range
    /// proof (those are verified ahead with [`Self::verify_ranges`]), so that little is left
    /// when the full audit is needed.
    pub fn warm(&mut self, params: &QueryParams, proofs: &QueryProofs) {
        let _ = self.advance(params, proofs, Pass::Warm);
    }

    /// The noise lists and their shuffles alone, every one verified, advanced by those since
    /// the last call: what a node checks before it shuffles a list.
    pub fn lists(
        &mut self,
        params: &QueryParams,
        proofs: &QueryProofs,
    ) -> std::result::Result<&QueryAudit, ReplayFailure> {
        self.advance(params, proofs, Pass::Lists)
    }

    /// The audit (with the number of records it took) that `pass` advances.
    fn audit_of(&mut self, pass: Pass) -> &mut Option<(QueryAudit, usize)> {
        match pass {
            Pass::Light => &mut self.light,
            Pass::Full | Pass::Warm => &mut self.full,
            Pass::Lists => &mut self.lists,
        }
    }

    fn advance(
        &mut self,
        params: &QueryParams,
        proofs: &QueryProofs,
        pass: Pass,
    ) -> std::result::Result<&QueryAudit, ReplayFailure> {
        let excluded = excluded_of(proofs);
        if excluded != self.excluded {
            self.excluded = excluded;
            self.light = None;
            self.full = None;
            self.lists = None;
        }
        let records: Vec<&crate::stats::ProofRecord> = ordered(proofs)
            .into_iter()
            .filter(|r| {
                pass != Pass::Lists
                    || matches!(r.proof.kind(), ProofKind::Noise | ProofKind::Shuffle)
            })
            .collect();
        let (audit, done) = match self.audit_of(pass).take() {
            Some(s) => s,
            None => (QueryAudit::new(params.clone()).map_err(failure)?, 0),
        };
        let mut state = (audit, done);
        let mut bad: BTreeMap<TxId, tabella_stats::Error> = BTreeMap::new();
        if pass == Pass::Full {
            // The new range proofs, in parallel.
            use rayon::prelude::*;
            let fresh: Vec<&crate::stats::ProofRecord> = records
                .iter()
                .skip(done)
                .filter(|r| {
                    r.proof.kind() == ProofKind::Range
                        && !self.verified.contains(&r.tx)
                        && !self.invalid.contains(&r.tx)
                })
                .copied()
                .collect();
            let checked: Vec<std::result::Result<(), tabella_stats::Error>> = fresh
                .par_iter()
                .map(|r| {
                    r.proof.check_signature()?;
                    QueryAudit::check_range(params, &r.proof)
                })
                .collect();
            for (r, c) in fresh.iter().zip(checked) {
                match c {
                    Ok(()) => {
                        self.verified.insert(r.tx);
                    }
                    Err(e) => {
                        bad.insert(r.tx, e);
                    }
                }
            }
        }
        let mut result = Ok(());
        for r in records.iter().skip(state.1) {
            if pass == Pass::Warm
                && r.proof.kind() == ProofKind::Range
                && !self.verified.contains(&r.tx)
            {
                break;
            }
            let accepted = match pass {
                Pass::Light => state.0.accept(&r.proof, Check::Light),
                _ if reusable(r) && self.verified.contains(&r.tx) => {
                    state.0.accept_verified(&r.proof)
                }
                _ => match bad.remove(&r.tx) {
                    Some(e) => {
                        self.invalid.insert(r.tx);
                        Err(e)
                    }
                    None if self.invalid.contains(&r.tx) => {
                        Err(r.proof.rejected("its range proof does not verify"))
                    }
                    None => {
                        let a = state.0.accept(&r.proof, Check::Full);
                        if a.is_ok() && reusable(r) {
                            self.verified.insert(r.tx);
                        }
                        a
                    }
                },
            };
            if let Err(e) = accepted {
                result = Err(failure_of(r.tx, e));
                break;
            }
            state.1 += 1;
        }
        let state = self.audit_of(pass).insert(state);
        result.map(|()| &state.0)
    }

    /// Verifies, in parallel, up to `limit` of the range proofs among `records` (answers to
    /// this query) not verified yet; the valid ones are remembered (an invalid one is found
    /// again, and disputed, by the audit that reaches it).
    pub fn verify_ranges(
        &mut self,
        params: &QueryParams,
        records: &[&crate::stats::ProofRecord],
        limit: usize,
    ) {
        use rayon::prelude::*;
        let fresh: Vec<&crate::stats::ProofRecord> = records
            .iter()
            .filter(|r| {
                r.proof.kind() == ProofKind::Range
                    && !self.verified.contains(&r.tx)
                    && !self.invalid.contains(&r.tx)
            })
            .take(limit)
            .copied()
            .collect();
        let checked: Vec<(TxId, bool)> = fresh
            .par_iter()
            .map(|r| {
                let ok = r.proof.check_signature().is_ok()
                    && QueryAudit::check_range(params, &r.proof).is_ok();
                (r.tx, ok)
            })
            .collect();
        for (tx, ok) in checked {
            if ok {
                self.verified.insert(tx);
            } else {
                self.invalid.insert(tx);
            }
        }
    }

    /// Whether the range proof of `record` (an answer to this query) verifies, checked once.
    pub fn range_ok(&mut self, params: &QueryParams, record: &crate::stats::ProofRecord) -> bool {
        if self.verified.contains(&record.tx) {
            return true;
        }
        if self.invalid.contains(&record.tx) {
            return false;
        }
        let ok = record.proof.check_signature().is_ok()
            && QueryAudit::check_range(params, &record.proof).is_ok();
        if ok {
            self.verified.insert(record.tx);
        } else {
            self.invalid.insert(record.tx);
        }
        ok
    }
}

/// Why a replay stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayFailure {
    /// The prover of the proof that failed, if it is a proof.
    pub prover: Option<PartyKey>,
    /// Its kind.
    pub kind: Option<ProofKind>,
    /// The transaction that carried it (the one to dispute).
    pub tx: Option<TxId>,
    /// Why.
    pub reason: String,
}

/// A computing node's keys.
#[derive(Debug)]
pub struct ComputingNodeKeys {
    /// Signs its messages and proofs.
    pub signing: PartySecret,
    /// Its long-term key of the key ceremony.
    pub dkg: SecretKey,
}

impl ComputingNodeKeys {
    /// Fresh keys.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        ComputingNodeKeys {
            signing: PartySecret::generate(&mut *rng),
            dkg: SecretKey::generate(rng),
        }
    }

    fn index_in(&self, c: &ConsortiumEntry) -> Option<TrusteeIndex> {
        let me = self.signing.public();
        let pos = c.spec.computing_nodes.iter().position(|n| n.key == me)?;
        TrusteeIndex::from_position(pos).ok()
    }

    fn round1(&self, c: &ConsortiumEntry) -> Result<Round1> {
        let me = self
            .index_in(c)
            .ok_or_else(|| err("not a computing node of this consortium"))?;
        let params = c.spec.dkg_params(&c.id)?;
        Round1::new(params, me, self.dkg.secret().clone(), c.spec.dkg_keys())
            .map_err(|e| err(e.to_string()))
    }

    /// Its dealing for consortium `c`, if it is one of its computing nodes and has not dealt.
    pub fn deal<R: RngCore + CryptoRng>(
        &self,
        c: &ConsortiumEntry,
        rng: &mut R,
    ) -> Result<Option<StatsTx>> {
        let Some(me) = self.index_in(c) else {
            return Ok(None);
        };
        if c.dealings.contains_key(&me.get()) || c.failed.is_some() {
            return Ok(None);
        }
        let (_, dealing) = self.round1(c)?.deal(rng);
        Ok(Some(StatsTx::Deal(Signed::sign(
            Deal {
                consortium: c.id,
                dealing,
            },
            &self.signing,
        )?)))
    }

    /// Its key share in consortium `c`, once every dealing is on the chain: its shares are
    /// decrypted from the posted dealings (so a restarted node derives it again). A bad share
    /// makes it a complaint to post instead.
    pub fn key_share<R: RngCore + CryptoRng>(
        &self,
        c: &ConsortiumEntry,
        rng: &mut R,
    ) -> Result<std::result::Result<KeyShare, StatsTx>> {
        let key = c
            .key
            .as_ref()
            .ok_or_else(|| err("the key ceremony is not finished"))?;
        let dealings: Vec<_> = c.dealings.values().cloned().collect();
        let (round2, _) = self.round1(c)?.deal(&mut *rng);
        let (round3, complaints) = round2
            .receive(&dealings, &mut *rng)
            .map_err(|e| err(e.to_string()))?;
        if let Some(complaint) = complaints.into_iter().next() {
            return Ok(Err(StatsTx::Complain(Signed::sign(
                crate::stats::Complain {
                    consortium: c.id,
                    complaint,
                },
                &self.signing,
            )?)));
        }
        let (share, outcome) = round3.resolve(&[]).map_err(|e| err(e.to_string()))?;
        if &outcome.joint_key != key {
            return Err(err("the chain's collective key is not the ceremony's"));
        }
        Ok(Ok(share))
    }

    /// The next messages this node owes query `q` (whose proofs so far are `proofs`), at chain
    /// height `height`. `share` is its key share in the query's consortium.
    pub fn step<R: RngCore + CryptoRng>(
        &self,
        q: &QueryView,
        proofs: &QueryProofs,
        share: &KeyShare,
        height: Height,
        tracker: &mut QueryTracker,
        rng: &mut R,
    ) -> Result<Vec<StatsTx>> {
        let me = self.signing.public();
        if !matches!(q.status, QueryStatus::Open) || !q.params.computing_nodes.contains(&me) {
            return Ok(Vec::new());
        }
        let owes = |kind: ProofKind| q.expected.iter().any(|(k, p)| *k == kind && *p == me);
        let params = &q.params;
        let id = q.id;
        let sign = |body: ProofBody| -> Result<StatsTx> {
            Ok(StatsTx::Proof(SignedProof::sign(id, &self.signing, body)?))
        };
        let dispute = |f: &ReplayFailure| -> Result<Vec<StatsTx>> {
            // The very proof that failed (a prover may have several of a kind on the record,
            // one forged among honest ones).
            let (Some(_), Some(tx)) = (f.prover, f.tx) else {
                return Err(err(format!(
                    "the query's record does not replay: {}",
                    f.reason
                )));
            };
            Ok(vec![StatsTx::Dispute(Signed::sign(
                Dispute {
                    query: id,
                    proof: tx,
                },
                &self.signing,
            )?)])
        };
        let audit = match tracker.light(params, proofs) {
            Ok(a) => a.clone(),
            Err(f) => {
                return Err(err(format!(
                    "the query's record does not replay: {}",
                    f.reason
                )))
            }
        };
        let mut out = Vec::new();
        let position = params.node_index(&me)?.position();

        // The noise list, at once.
        if params.noise.is_some() && audit.noise_list(position).is_none() && owes(ProofKind::Noise)
        {
            let ctx = proof_context(ProofKind::Noise.label(), &id, &me);
            out.push(sign(ProofBody::Noise(noise_list(
                params, &ctx, &mut *rng,
            )?))?);
        }

        // Shuffles in its turn, as soon as a list reaches it (a list's states depend on nothing
        // else, so this runs beside the answers and aggregations), the list checked first.
        if params.noise.is_some() {
            let n = params.computing_nodes.len();
            let turns: Vec<usize> = (0..n)
                .filter(|j| audit_list_len(&audit, *j) == Some(position + 1))
                .collect();
            if !turns.is_empty() {
                let lists = match tracker.lists(params, proofs) {
                    Ok(a) => a,
                    Err(f) => return dispute(&f),
                };
                for j in turns {
                    let Some(input) = lists.noise_list(j) else {
                        continue;
                    };
                    let ctx = proof_context(ProofKind::Shuffle.label(), &id, &me);
                    let step = ShuffleStep::create(params, j, input, &ctx, &mut *rng)?;
                    out.push(sign(ProofBody::Shuffle(Box::new(step)))?);
                }
            }
        }

        // Aggregation of its own data providers, once all answered or the deadline passed.
        if !audit.has_aggregated(&me) {
            let mine = params.providers_of(&me);
            // The answers the chain excluded are not awaited (the audits skip them).
            let excluded = excluded_of(proofs);
            let pending = mine
                .iter()
                .filter(|k| !audit.submissions().contains_key(k) && !excluded.contains(k))
                .count();
            // At the deadline's height, an aggregation lands after it: no answer is cut off.
            if pending == 0 || height >= q.answer_deadline {
                // Its providers' answers, checked in full first (in parallel).
                let theirs: Vec<&crate::stats::ProofRecord> = proofs
                    .proofs
                    .iter()
                    .filter(|r| {
                        r.proof.kind() == ProofKind::Range
                            && mine.contains(&r.proof.prover)
                            && audit.submissions().contains_key(&r.proof.prover)
                    })
                    .collect();
                tracker.verify_ranges(params, &theirs, usize::MAX);
                let mut disputed = false;
                for r in theirs {
                    if !tracker.range_ok(params, r) {
                        disputed = true;
                        out.push(StatsTx::Dispute(Signed::sign(
                            Dispute {
                                query: id,
                                proof: r.tx,
                            },
                            &self.signing,
                        )?));
                    }
                }
                if !disputed {
                    let inputs: Vec<AggregationInput> = mine
                        .iter()
                        .filter_map(|k| {
                            audit.submissions().get(k).map(|c| AggregationInput {
                                from: *k,
                                ciphertexts: c.clone(),
                            })
                        })
                        .collect();
                    let agg =
                        Aggregation::compute(AggregationLevel::Providers, params.entries, inputs)
                            .ok_or_else(|| err("an answer has the wrong number of entries"))?;
                    out.push(sign(ProofBody::Aggregation(agg))?);
                }
            }
        } else if position == 0 && audit.total().is_none() {
            // The first node aggregates the partials.
            let all = params
                .computing_nodes
                .iter()
                .all(|n| audit.has_aggregated(n));
            if all {
                let inputs = audit_partials(&audit, params);
                let agg = Aggregation::compute(AggregationLevel::Nodes, params.entries, inputs)
                    .ok_or_else(|| err("a partial has the wrong number of entries"))?;
                out.push(sign(ProofBody::Aggregation(agg))?);
            }
        } else if owes(ProofKind::KeySwitch) && audit.obfuscated_total().is_some() {
            // The key switch, after checking every proof in full: switching a total built on
            // an unchecked proof could decrypt another party's ciphertext for the querier.
            let audited = match tracker.full(params, proofs) {
                Ok(a) => a,
                Err(f) => return dispute(&f),
            };
            let total = audited
                .total_to_switch()
                .ok_or_else(|| err("the total is not fully checked"))?;
            let ctx = proof_context(ProofKind::KeySwitch.label(), &id, &me);
            let step = KeySwitchStep::create(params, share, &total, &ctx, &mut *rng)?;
            out.push(sign(ProofBody::KeySwitch(step))?);
        }

        if out.is_empty() {
            // Nothing due: verify some of the answers that came meanwhile, so that the full
            // check before the switch finds them verified (bounded, so that the node stays
            // quick to act on the next block).
            let fresh: Vec<&crate::stats::ProofRecord> = proofs
                .proofs
                .iter()
                .filter(|r| r.proof.kind() == ProofKind::Range)
                .collect();
            tracker.verify_ranges(params, &fresh, WARM_BATCH);
            // And the rest of what came, as far as the verified answers go (an invalid proof
            // is disputed when the node needs it: before its shuffle or its switch).
            let _ = tracker.lists(params, proofs);
            tracker.warm(params, proofs);
        }
        Ok(out)
    }
}

/// How many answers a computing node verifies ahead, per step with nothing due.
const WARM_BATCH: usize = 96;

fn audit_partials(audit: &QueryAudit, params: &QueryParams) -> Vec<AggregationInput> {
    // The partials are the outputs of the nodes' aggregations, which the audit keeps; rebuild
    // the inputs the way the audit expects them (roster order).
    params
        .computing_nodes
        .iter()
        .filter_map(|k| {
            audit.partial(k).map(|c| AggregationInput {
                from: *k,
                ciphertexts: c.to_vec(),
            })
        })
        .collect()
}

fn audit_list_len(audit: &QueryAudit, j: usize) -> Option<usize> {
    audit.noise_chain_len(j)
}

/// A data provider: its key, its budget per querier, and its own rows.
#[derive(Debug)]
pub struct DataProvider {
    /// Signs its answers.
    pub signing: PartySecret,
    /// The total ε it grants in a consortium, over every querier.
    pub budget: Rational,
}

impl DataProvider {
    /// Its join message for consortium `c`, if it is one of its data providers and has not
    /// joined.
    pub fn join(&self, c: &ConsortiumEntry) -> Result<Option<StatsTx>> {
        let me = self.signing.public();
        if !c.spec.providers.contains(&me) || c.joined.contains_key(&me) || c.failed.is_some() {
            return Ok(None);
        }
        Ok(Some(StatsTx::Join(Signed::sign(
            Join {
                consortium: c.id,
                budget: self.budget,
            },
            &self.signing,
        )?)))
    }

    /// Its answer to query `q` from `rows` (parsed with the query's schema), if it owes one and
    /// the answer deadline has not passed at `height`.
    pub fn answer<R: RngCore + CryptoRng>(
        &self,
        q: &QueryView,
        rows: &[Row],
        height: Height,
        rng: &mut R,
    ) -> Result<Option<StatsTx>> {
        let me = self.signing.public();
        let owes = matches!(q.status, QueryStatus::Open)
            && q.expected
                .iter()
                .any(|(k, p)| *k == ProofKind::Range && *p == me);
        if !owes || height >= q.answer_deadline {
            return Ok(None);
        }
        let values = q.statement.answer(rows)?;
        let ctx = proof_context(ProofKind::Range.label(), &q.id, &me);
        let s = Submission::create(&q.params, &values, &ctx, rng)?;
        Ok(Some(StatsTx::Proof(SignedProof::sign(
            q.id,
            &self.signing,
            ProofBody::Range(s),
        )?)))
    }
}
