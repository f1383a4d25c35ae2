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

use std::collections::BTreeSet;

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
        reason: e.to_string(),
    }
}

/// Replays a query's proofs as the chain accepted them, skipping the answers it later excluded:
/// with [`Check::Full`] every proof is verified (range proofs in parallel). On the first proof
/// that does not pass, returns its prover, kind and the reason.
pub fn replay(
    params: &QueryParams,
    proofs: &QueryProofs,
    check: Check,
) -> std::result::Result<QueryAudit, ReplayFailure> {
    let mut audit = QueryAudit::new(params.clone()).map_err(failure)?;
    let list: Vec<SignedProof> = ordered(proofs)
        .into_iter()
        .map(|r| r.proof.clone())
        .collect();
    audit.accept_all(&list, check).map_err(failure)?;
    Ok(audit)
}

/// Range proofs (by transaction) a party has verified in full, so a replay checks each once.
pub type RangeCache = BTreeSet<TxId>;

/// [`replay`] with [`Check::Full`], verifying only the range proofs not in `cache` (in parallel)
/// and adding them to it.
pub fn replay_full_cached(
    params: &QueryParams,
    proofs: &QueryProofs,
    cache: &mut RangeCache,
) -> std::result::Result<QueryAudit, ReplayFailure> {
    use rayon::prelude::*;
    let fail = failure;
    let ordered = ordered(proofs);
    let fresh: Vec<&crate::stats::ProofRecord> = ordered
        .iter()
        .filter(|r| r.proof.kind() == ProofKind::Range && !cache.contains(&r.tx))
        .copied()
        .collect();
    fresh
        .par_iter()
        .try_for_each(|r| {
            r.proof.check_signature()?;
            QueryAudit::check_range(params, &r.proof)
        })
        .map_err(fail)?;
    cache.extend(fresh.iter().map(|r| r.tx));
    let mut audit = QueryAudit::new(params.clone()).map_err(fail)?;
    for r in ordered {
        if r.proof.kind() == ProofKind::Range {
            audit.accept_range_checked(&r.proof).map_err(fail)?;
        } else {
            audit.accept(&r.proof, Check::Full).map_err(fail)?;
        }
    }
    Ok(audit)
}

/// Verifies, in parallel, the range proofs of `proofs` not yet in `cache`, adding the valid
/// ones (an invalid one is found again, and disputed, by [`replay_full_cached`]).
pub fn warm(params: &QueryParams, proofs: &QueryProofs, cache: &mut RangeCache) {
    use rayon::prelude::*;
    let fresh: Vec<TxId> = proofs
        .proofs
        .par_iter()
        .filter(|r| r.proof.kind() == ProofKind::Range && !cache.contains(&r.tx))
        .filter(|r| {
            r.proof.check_signature().is_ok() && QueryAudit::check_range(params, &r.proof).is_ok()
        })
        .map(|r| r.tx)
        .collect();
    cache.extend(fresh);
}

/// Why a replay stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayFailure {
    /// The prover of the proof that failed, if it is a proof.
    pub prover: Option<PartyKey>,
    /// Its kind.
    pub kind: Option<ProofKind>,
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
        cache: &mut RangeCache,
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
            let Some(prover) = f.prover else {
                return Err(err(format!(
                    "the query's record does not replay: {}",
                    f.reason
                )));
            };
            let tx = proofs
                .proofs
                .iter()
                .rev()
                .find(|r| r.proof.prover == prover && Some(r.proof.kind()) == f.kind)
                .map(|r| r.tx)
                .ok_or_else(|| err("the failing proof is not on the record"))?;
            Ok(vec![StatsTx::Dispute(Signed::sign(
                Dispute {
                    query: id,
                    proof: tx,
                },
                &self.signing,
            )?)])
        };
        let audit = match replay(params, proofs, Check::Light) {
            Ok(a) => a,
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

        // Aggregation of its own data providers.
        if !audit.has_aggregated(&me) {
            let mine = params.providers_of(&me);
            let pending = mine
                .iter()
                .filter(|k| {
                    !audit.submissions().contains_key(k) && !audit.excluded().contains_key(k)
                })
                .count();
            if pending == 0 || height > q.answer_deadline {
                // Its providers' answers, checked in full first.
                for r in &proofs.proofs {
                    if r.proof.kind() == ProofKind::Range
                        && mine.contains(&r.proof.prover)
                        && audit.submissions().contains_key(&r.proof.prover)
                        && QueryAudit::check_range(params, &r.proof).is_err()
                    {
                        out.push(StatsTx::Dispute(Signed::sign(
                            Dispute {
                                query: id,
                                proof: r.tx,
                            },
                            &self.signing,
                        )?));
                    }
                }
                if out.iter().any(|t| matches!(t, StatsTx::Dispute(_))) {
                    return Ok(out);
                }
                let inputs: Vec<AggregationInput> = mine
                    .iter()
                    .filter_map(|k| {
                        audit.submissions().get(k).map(|c| AggregationInput {
                            from: *k,
                            ciphertexts: c.clone(),
                        })
                    })
                    .collect();
                let agg = Aggregation::compute(AggregationLevel::Providers, params.entries, inputs)
                    .ok_or_else(|| err("an answer has the wrong number of entries"))?;
                out.push(sign(ProofBody::Aggregation(agg))?);
            }
            return Ok(out);
        }

        // The first node aggregates the partials.
        if position == 0 && audit.total().is_none() {
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
            return Ok(out);
        }

        // Every proof so far checked in full, once, when a shuffle or the switch needs it.
        let mut checked: Option<QueryAudit> = None;
        let mut full = || -> std::result::Result<QueryAudit, ReplayFailure> {
            if let Some(a) = &checked {
                return Ok(a.clone());
            }
            let a = replay_full_cached(params, proofs, cache)?;
            checked = Some(a.clone());
            Ok(a)
        };

        // Shuffles in its turn, each input checked first.
        if params.noise.is_some() {
            let n = params.computing_nodes.len();
            let mut shuffled_any = false;
            for j in 0..n {
                let Some(states) = audit_list_len(&audit, j) else {
                    continue;
                };
                if states != position + 1 {
                    continue;
                }
                let audited = match full() {
                    Ok(a) => a,
                    Err(f) => return dispute(&f),
                };
                let Some(input) = audited.noise_list(j) else {
                    continue;
                };
                let ctx = proof_context(ProofKind::Shuffle.label(), &id, &me);
                let step = ShuffleStep::create(params, j, input, &ctx, &mut *rng)?;
                out.push(sign(ProofBody::Shuffle(Box::new(step)))?);
                shuffled_any = true;
            }
            if shuffled_any {
                return Ok(out);
            }
        }

        // The key switch, after checking every proof in full.
        if !owes(ProofKind::KeySwitch) {
            return Ok(out);
        }
        if audit.obfuscated_total().is_none() {
            // Not its turn yet: check the answers that came meanwhile, so that the full check
            // before its shuffle or switch finds them verified (it overlaps the other steps).
            warm(params, proofs, cache);
            return Ok(out);
        }
        {
            let audited = match full() {
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
        Ok(out)
    }
}

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
