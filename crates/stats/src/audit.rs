//! Checking a query's proofs as a verifying node does (seed 001 §5.1): each proof is signed by
//! a party of the query, arrives at its step of the protocol, and is checked against what came
//! before it. Signatures and the cheap checks (rosters, order, aggregation sums) are always
//! done; the expensive proofs (range, shuffle, key switch) when the caller asks for them, so a
//! verifying node can sample them with its probability `p`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use tabella_crypto::dkg::TrusteeIndex;
use tabella_crypto::elgamal::Ciphertext;

use crate::aggregation::{AggregationInput, AggregationLevel};
use crate::error::{Error, Result};
use crate::obfuscation::{list_params, obfuscate};
use crate::params::{QueryId, QueryParams};
use crate::party::PartyKey;
use crate::proof::{ProofBody, ProofKind, SignedProof};
use crate::switch::{combine, KeySwitchStep};

/// Whether to verify a proof's expensive part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Signature, shape, order and the proof itself.
    Full,
    /// Signature, shape and order only (the proof was sampled out, or checked already).
    Light,
}

/// The accepted state of one query's protocol.
#[derive(Clone, Debug)]
pub struct QueryAudit {
    params: QueryParams,
    id: QueryId,
    submissions: BTreeMap<PartyKey, Vec<Ciphertext>>,
    partials: BTreeMap<PartyKey, Vec<Ciphertext>>,
    total: Option<Vec<Ciphertext>>,
    /// For each node's noise list (by roster position): its states, `[0]` as the node sent it,
    /// `[k]` after node `k − 1`'s shuffle.
    lists: BTreeMap<usize, Vec<Vec<Ciphertext>>>,
    switches: BTreeMap<TrusteeIndex, KeySwitchStep>,
    /// Data providers whose answer was found invalid and removed before aggregation, with why.
    excluded: BTreeMap<PartyKey, String>,
    /// Whether some proof was accepted without its expensive check.
    sampled: bool,
}

impl QueryAudit {
    /// An audit of the query `params` (validated).
    pub fn new(params: QueryParams) -> Result<Self> {
        params.validate()?;
        let id = params.id()?;
        Ok(QueryAudit {
            params,
            id,
            submissions: BTreeMap::new(),
            partials: BTreeMap::new(),
            total: None,
            lists: BTreeMap::new(),
            switches: BTreeMap::new(),
            excluded: BTreeMap::new(),
            sampled: false,
        })
    }

    /// The query id.
    pub fn id(&self) -> QueryId {
        self.id
    }
    /// The query's parameters.
    pub fn params(&self) -> &QueryParams {
        &self.params
    }
    /// The accepted data providers' answers.
    pub fn submissions(&self) -> &BTreeMap<PartyKey, Vec<Ciphertext>> {
        &self.submissions
    }
    /// The aggregate of every answer, once the first node has aggregated the nodes' partials.
    pub fn total(&self) -> Option<&[Ciphertext]> {
        self.total.as_deref()
    }
    /// The data providers whose answer was excluded ([`Self::exclude`]), with the reason.
    pub fn excluded(&self) -> &BTreeMap<PartyKey, String> {
        &self.excluded
    }

    /// Computing node `node`'s aggregate of its data providers, once sent.
    pub fn partial(&self, node: &PartyKey) -> Option<&[Ciphertext]> {
        self.partials.get(node).map(Vec::as_slice)
    }

    /// How many states node `position`'s noise list has been through: 1 once sent, `k + 1`
    /// after `k` shuffles (`None` before it is sent).
    pub fn noise_chain_len(&self, position: usize) -> Option<usize> {
        self.lists.get(&position).map(Vec::len)
    }

    /// Whether computing node `node` has aggregated its data providers' answers.
    pub fn has_aggregated(&self, node: &PartyKey) -> bool {
        self.partials.contains_key(node)
    }

    /// Removes data provider `provider`'s answer, found invalid (`reason`), before its computing
    /// node aggregates: the aggregation is then due without it. Refused once the answer was
    /// aggregated (the query must then fail instead).
    pub fn exclude(&mut self, provider: &PartyKey, reason: impl Into<String>) -> Result<()> {
        let pos = self.params.provider_position(provider)?;
        if !self.submissions.contains_key(provider) {
            return Err(Error::OutOfOrder(format!(
                "data provider {provider} has no answer to exclude"
            )));
        }
        if let Some(node) = self.params.aggregator_of(pos) {
            if self.partials.contains_key(&node) {
                return Err(Error::OutOfOrder(format!(
                    "the answer of {provider} was already aggregated by {node}"
                )));
            }
        }
        self.submissions.remove(provider);
        self.excluded.insert(*provider, reason.into());
        Ok(())
    }

    /// Re-checks the expensive part of a proof this audit has already accepted, against the
    /// state it was accepted in (the query's parameters, the noise list it shuffled, the total it
    /// switched): how a dispute about a sampled-out or contested proof is settled after the
    /// fact. Aggregations are always fully checked when accepted.
    pub fn recheck(&self, proof: &SignedProof) -> Result<()> {
        if proof.query != self.id {
            return Err(proof.rejected(format!("it is for query {}, not {}", proof.query, self.id)));
        }
        proof.check_signature()?;
        match &proof.body {
            ProofBody::Range(_) => Self::check_range(&self.params, proof),
            ProofBody::Aggregation(_) => Ok(()),
            ProofBody::Noise(list) => {
                let plan = self
                    .params
                    .noise
                    .as_ref()
                    .ok_or_else(|| proof.rejected("this query adds no noise"))?;
                let shape = list_params(&self.params, plan)?;
                list.verify(&shape, &proof.context())
                    .map_err(|e| proof.rejected(e))
            }
            ProofBody::Shuffle(step) => {
                let turn = self.params.node_index(&proof.prover)?.position();
                let input = self
                    .lists
                    .get(&step.list)
                    .and_then(|chain| chain.get(turn))
                    .ok_or_else(|| {
                        Error::OutOfOrder("the shuffle's input list is not on record".into())
                    })?;
                step.verify(&self.params, input, &proof.context())
                    .map_err(|e| proof.rejected(e))
            }
            ProofBody::KeySwitch(step) => {
                let j = self.params.node_index(&proof.prover)?;
                let total = self.obfuscated_total().ok_or_else(|| {
                    Error::OutOfOrder("the switched total is not on record".into())
                })?;
                step.verify(&self.params, j, &total, &proof.context())
                    .map_err(|e| proof.rejected(e))
            }
        }
    }

    /// The current state of node `position`'s noise list (`None` before the node sent it).
    pub fn noise_list(&self, position: usize) -> Option<&[Ciphertext]> {
        self.lists.get(&position)?.last().map(Vec::as_slice)
    }

    /// The aggregate with its noise, once aggregated and (with noise) every node's list shuffled
    /// by every node: the ciphertexts the nodes switch to the querier's key.
    pub fn obfuscated_total(&self) -> Option<Vec<Ciphertext>> {
        let total = self.total.as_ref()?;
        if self.params.noise.is_none() {
            return Some(total.clone());
        }
        let n = self.params.computing_nodes.len();
        let finals: Vec<&[Ciphertext]> = (0..n)
            .map(|j| {
                let chain = self.lists.get(&j)?;
                (chain.len() == n + 1).then(|| chain[n].as_slice())
            })
            .collect::<Option<_>>()?;
        let offset = self.params.noise.as_ref()?.offset().ok()?;
        Some(obfuscate(
            total,
            &finals,
            offset,
            self.params.noise.as_ref(),
        ))
    }

    /// What a computing node may switch to the querier's key: [`Self::obfuscated_total`], but
    /// only when every proof it depends on was fully checked. A total built on a proof accepted
    /// with [`Check::Light`] (a shuffle output or an answer that was never verified) could be
    /// another party's ciphertext in disguise, and switching it would decrypt that for the
    /// querier.
    pub fn total_to_switch(&self) -> Option<Vec<Ciphertext>> {
        if self.sampled {
            return None;
        }
        self.obfuscated_total()
    }

    /// The result under the querier's key, once every node has switched it.
    pub fn result(&self) -> Option<Vec<Ciphertext>> {
        if self.switches.len() != self.params.computing_nodes.len() {
            return None;
        }
        let total = self.obfuscated_total()?;
        let steps: Vec<&KeySwitchStep> = self.switches.values().collect();
        Some(combine(&total, &steps))
    }

    /// The proofs still expected, by kind and prover (seed 001 §5.1: the query fixes how many
    /// proofs of each kind it expects from whom).
    pub fn expected(&self) -> Vec<(ProofKind, PartyKey)> {
        let mut out = Vec::new();
        for p in &self.params.providers {
            if !self.submissions.contains_key(p) && !self.excluded.contains_key(p) {
                out.push((ProofKind::Range, *p));
            }
        }
        for n in &self.params.computing_nodes {
            if !self.partials.contains_key(n) {
                out.push((ProofKind::Aggregation, *n));
            }
        }
        if self.total.is_none() {
            if let Some(first) = self.params.computing_nodes.first() {
                out.push((ProofKind::Aggregation, *first));
            }
        }
        if self.params.noise.is_some() {
            let n = self.params.computing_nodes.len();
            for (j, owner) in self.params.computing_nodes.iter().enumerate() {
                let states = self.lists.get(&j).map_or(0, Vec::len);
                if states == 0 {
                    out.push((ProofKind::Noise, *owner));
                }
                let shuffled = states.saturating_sub(1);
                for shuffler in self.params.computing_nodes.iter().take(n).skip(shuffled) {
                    out.push((ProofKind::Shuffle, *shuffler));
                }
            }
        }
        for (i, n) in self.params.computing_nodes.iter().enumerate() {
            let done = TrusteeIndex::from_position(i)
                .map(|j| self.switches.contains_key(&j))
                .unwrap_or(false);
            if !done {
                out.push((ProofKind::KeySwitch, *n));
            }
        }
        out
    }

    /// Checks the expensive part of a data provider's answer, which depends on nothing but the
    /// query (so many can be checked in parallel, see [`QueryAudit::accept_all`]).
    pub fn check_range(params: &QueryParams, proof: &SignedProof) -> Result<()> {
        match &proof.body {
            ProofBody::Range(s) => s
                .verify(params, &proof.context())
                .map_err(|e| proof.rejected(e)),
            _ => Ok(()),
        }
    }

    /// Accepts many proofs in order, checking every range proof among them first, in parallel.
    /// Stops at the first rejected proof.
    pub fn accept_all(&mut self, proofs: &[SignedProof], check: Check) -> Result<()> {
        if check == Check::Full {
            let params = &self.params;
            let id = self.id;
            proofs.par_iter().try_for_each(|p| {
                if p.query != id || p.kind() != ProofKind::Range {
                    return Ok(());
                }
                params.provider_position(&p.prover)?;
                p.check_signature()?;
                Self::check_range(params, p)
            })?;
        }
        for p in proofs {
            self.accept_inner(
                p,
                check,
                check == Check::Full && p.kind() == ProofKind::Range,
            )?;
        }
        Ok(())
    }

    /// Accepts a proof whose expensive part the caller has already verified against this query
    /// in the same protocol state (a range proof with [`Self::check_range`]; a noise list or a
    /// shuffle in another audit of the same record, whose noise lists go through the same
    /// states), e.g. once, cached across audits: every other check runs, and the audit stays
    /// fully checked.
    pub fn accept_verified(&mut self, proof: &SignedProof) -> Result<()> {
        if proof.kind() == ProofKind::KeySwitch {
            // Its check depends on the total, i.e. on every proof before it: never carried over.
            return Err(proof.rejected("a key switch is verified in each audit"));
        }
        self.accept_inner(proof, Check::Full, true)
    }

    /// Accepts one proof at its step of the protocol, or says why not.
    pub fn accept(&mut self, proof: &SignedProof, check: Check) -> Result<()> {
        self.accept_inner(proof, check, false)
    }

    /// [`Self::accept`]; `verified`: the proof's expensive part was already verified.
    fn accept_inner(&mut self, proof: &SignedProof, check: Check, verified: bool) -> Result<()> {
        if proof.query != self.id {
            return Err(proof.rejected(format!("it is for query {}, not {}", proof.query, self.id)));
        }
        proof.check_signature()?;
        if check == Check::Light {
            self.sampled = true;
        }
        // Whether to verify the expensive part here.
        let full = check == Check::Full && !verified;
        match &proof.body {
            ProofBody::Range(s) => {
                let pos = self.params.provider_position(&proof.prover)?;
                if self.submissions.contains_key(&proof.prover)
                    || self.excluded.contains_key(&proof.prover)
                {
                    return Err(proof.rejected("this data provider already answered"));
                }
                let node = self.params.aggregator_of(pos);
                if node.is_some_and(|n| self.partials.contains_key(&n)) {
                    return Err(Error::OutOfOrder(format!(
                        "the answer of {} came after its computing node aggregated",
                        proof.prover
                    )));
                }
                if full {
                    Self::check_range(&self.params, proof)?;
                } else if s.ciphertexts.len() != self.params.entries {
                    return Err(proof.rejected("wrong number of entries"));
                }
                self.submissions.insert(proof.prover, s.ciphertexts.clone());
            }
            ProofBody::Aggregation(a) => {
                self.params.node_index(&proof.prover)?;
                let expected: Vec<AggregationInput> = match a.level {
                    AggregationLevel::Providers => {
                        if self.partials.contains_key(&proof.prover) {
                            return Err(proof.rejected("this node already aggregated"));
                        }
                        self.params
                            .providers_of(&proof.prover)
                            .into_iter()
                            .filter_map(|k| {
                                self.submissions.get(&k).map(|c| AggregationInput {
                                    from: k,
                                    ciphertexts: c.clone(),
                                })
                            })
                            .collect()
                    }
                    AggregationLevel::Nodes => {
                        if self.params.computing_nodes.first() != Some(&proof.prover) {
                            return Err(proof
                                .rejected("only the first computing node aggregates the nodes"));
                        }
                        if self.total.is_some() {
                            return Err(proof.rejected("the total is already aggregated"));
                        }
                        if self.partials.len() != self.params.computing_nodes.len() {
                            return Err(Error::OutOfOrder(
                                "the total was aggregated before every node's partial".into(),
                            ));
                        }
                        self.params
                            .computing_nodes
                            .iter()
                            .filter_map(|k| {
                                self.partials.get(k).map(|c| AggregationInput {
                                    from: *k,
                                    ciphertexts: c.clone(),
                                })
                            })
                            .collect()
                    }
                };
                if a.inputs != expected {
                    return Err(proof
                        .rejected("its inputs are not exactly the accepted answers it was due"));
                }
                a.verify(self.params.entries)
                    .map_err(|e| proof.rejected(e))?;
                match a.level {
                    AggregationLevel::Providers => {
                        self.partials.insert(proof.prover, a.output.clone());
                    }
                    AggregationLevel::Nodes => self.total = Some(a.output.clone()),
                }
            }
            ProofBody::Noise(list) => {
                let j = self.params.node_index(&proof.prover)?.position();
                let Some(plan) = &self.params.noise else {
                    return Err(proof.rejected("this query adds no noise"));
                };
                if self.lists.contains_key(&j) {
                    return Err(proof.rejected("this node already sent its noise list"));
                }
                let shape = list_params(&self.params, plan)?;
                if full {
                    list.verify(&shape, &proof.context())
                        .map_err(|e| proof.rejected(e))?;
                } else if list.ciphertexts.len() != plan.list_len {
                    return Err(proof.rejected("wrong list length"));
                }
                self.lists.insert(j, vec![list.ciphertexts.clone()]);
            }
            ProofBody::Shuffle(step) => {
                if self.params.noise.is_none() {
                    return Err(proof.rejected("this query adds no noise"));
                }
                let chain = self.lists.get(&step.list).ok_or_else(|| {
                    Error::OutOfOrder(format!(
                        "a shuffle of node {}'s noise list before the list",
                        step.list + 1
                    ))
                })?;
                let turn = chain.len() - 1;
                match self.params.computing_nodes.get(turn) {
                    Some(k) if *k == proof.prover => {}
                    Some(k) => {
                        return Err(proof.rejected(format!(
                            "it is computing node {}'s turn ({k}) to shuffle list {}",
                            turn + 1,
                            step.list + 1
                        )))
                    }
                    None => return Err(proof.rejected("every node has shuffled this list")),
                }
                let input = chain
                    .last()
                    .ok_or_else(|| Error::OutOfOrder("an empty noise chain".into()))?;
                if full {
                    step.verify(&self.params, input, &proof.context())
                        .map_err(|e| proof.rejected(e))?;
                } else if step.outputs.len() != input.len() {
                    return Err(proof.rejected("wrong list length"));
                }
                let outputs = step.outputs.clone();
                if let Some(chain) = self.lists.get_mut(&step.list) {
                    chain.push(outputs);
                }
            }
            ProofBody::KeySwitch(step) => {
                let j = self.params.node_index(&proof.prover)?;
                if self.switches.contains_key(&j) {
                    return Err(proof.rejected("this node already switched"));
                }
                let total = self.obfuscated_total().ok_or_else(|| {
                    Error::OutOfOrder(
                        "key switching before the result was aggregated and obfuscated".into(),
                    )
                })?;
                if full {
                    step.verify(&self.params, j, &total, &proof.context())
                        .map_err(|e| proof.rejected(e))?;
                } else if step.shares.len() != total.len()
                    || step.shares.iter().any(|s| s.trustee != j)
                {
                    return Err(proof.rejected("wrong shape"));
                }
                self.switches.insert(j, step.clone());
            }
        }
        Ok(())
    }
}
