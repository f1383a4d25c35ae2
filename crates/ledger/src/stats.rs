//! Private statistics on the ledger (seed 001 §5–§6; issue 13): consortia of computing nodes
//! and data providers, their collective key ceremony, queries with a differential-privacy
//! budget, the proofs of each query with height-based deadlines, disputes, and the verdicts of
//! the verifying nodes keyed by query, proof kind, prover and verifier.
//!
//! The chain is the bulletin board of the protocol of [`tabella_stats`]: every message of a
//! query is a transaction signed by its sender, so the order of the protocol, who sent what and
//! when, and what the verifying nodes said about it are all on the record.
//!
//! - **Consortium** ([`ConsortiumSpec`], signed by its creator): the computing nodes (with the
//!   keys their key-ceremony shares are encrypted to), the data providers, the table schema, the
//!   privacy budget per querier and the deadlines. It serves queries once every computing node
//!   has posted its dealing ([`Deal`]) of the t = n key ceremony ([`tabella_crypto::dkg`]): the
//!   collective key is recomputed by the chain from the dealings, so it is authenticated by the
//!   record itself. A valid [`Complain`] against a dealer ends the consortium (with t = n no key
//!   can be made without every dealer). Data providers take part once they [`Join`], declaring
//!   their own budget per querier.
//! - **Query** ([`QueryRequest`], signed by the querier): a [`Statement`] over the consortium's
//!   schema with mandatory noise whose sensitivity is at least the operation's. Its privacy
//!   cost — `ε · L1 / sensitivity` for the whole release, since every entry gets noise of scale
//!   `sensitivity / ε` and one row moves all entries by at most their L1 sensitivity
//!   ([`tabella_stats::encoding::l1_sensitivity`]) — is charged when the query is admitted, against the consortium's budget for this querier and every
//!   joined data provider's; a query over any budget is refused with the reason. The query's
//!   parameters ([`QueryParams`]) are fixed by the chain: the joined data providers, the
//!   collective key, and a nonce from the query transaction and its height. They fix which
//!   proofs are expected from whom ([`QueryAudit::expected`]).
//! - **Proofs** ([`SignedProof`], signed by the prover): accepted in protocol order with the
//!   cheap checks ([`Check::Light`]: signature, roster, order, aggregation sums). Data providers
//!   answer until `answer_deadline`; a computing node aggregates its providers once all of them
//!   answered or the deadline passed (so it cannot cut an answer off early); everything must be
//!   in by `final_deadline`, or the query fails naming the first missing proof and its prover.
//!   The expensive checks are the verifying nodes' sampled verdicts
//!   ([`crate::state::proof_kind`]): range, noise and shuffle proofs with `p = 0.4`, key switches
//!   and aggregations always.
//! - **Disputes**: a `0` verdict, or a [`Dispute`] from anyone, makes every node re-check the
//!   proof in full ([`QueryAudit::recheck`], deterministic). An invalid answer not yet
//!   aggregated is excluded (the aggregation is then due without it); any other invalid proof
//!   fails the query naming its prover. A `0` on a valid proof is recorded against the verifier;
//!   a dispute of a valid proof is refused.
//! - **Result**: once every key switch is in, the result under the querier's key is fixed; it is
//!   released ([`QueryStatus::Answered`]) when the verdict bitmaps of every block holding the
//!   query's proofs are committed (or, should some never come, at the final deadline).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tabella_crypto::dkg::{
    check_dealing, recompute_outcome, Complaint, Dealing, DkgParams, JointKey,
};
use tabella_crypto::ed25519::Signature;
use tabella_crypto::elgamal::{Ciphertext, PublicKey};
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::Rational;
use tabella_stats::params::{QueryId, QueryParams};
use tabella_stats::party::{PartyKey, PartySecret};
use tabella_stats::proof::{ProofBody, ProofKind as StatsKind, SignedProof};
use tabella_stats::schema::Schema;
use tabella_stats::statement::{Participants, Statement};

use crate::error::{Error, Result};
use crate::roster::ValidatorKey;
use crate::types::{hash_parts, ConsortiumId, Height, TxId};
use crate::verdict::{SignedBitmap, Verdict};

/// Signature domain of the ledger's statistics messages (other than proofs, which carry their
/// own, [`tabella_stats::proof::PROOF_DOMAIN`]).
pub const STATS_DOMAIN: &str = "tabella/ledger/stats/v1";

/// Most computing nodes in a consortium.
pub const MAX_COMPUTING_NODES: usize = 64;
/// Most data providers in a consortium.
pub const MAX_PROVIDERS: usize = 10_000;
/// ε is accounted in millionths, rounded up when charged and down when granted.
pub const EPSILON_UNITS: u64 = 1_000_000;

/// Whether query `e` takes proof `p` at `height` as far as its status and deadlines go (the
/// protocol order is the audit's to check): open, before the final deadline, an answer before
/// the answer deadline, and a node's aggregation of its providers only once they all answered
/// or that deadline passed (so it cannot cut an answer off early).
fn proof_due(e: &QueryEntry, p: &SignedProof, height: Height) -> Result<()> {
    if !matches!(e.status, QueryStatus::Open) {
        return Err(stats_err(format!("query {} is closed", p.query)));
    }
    if height > e.final_deadline {
        return Err(stats_err(format!(
            "the query's deadline (block {}) has passed",
            e.final_deadline
        )));
    }
    match &p.body {
        ProofBody::Range(_) if height > e.answer_deadline => Err(stats_err(format!(
            "the answer of {} comes after the answer deadline (block {})",
            p.prover, e.answer_deadline
        ))),
        ProofBody::Aggregation(a)
            if a.level == tabella_stats::aggregation::AggregationLevel::Providers
                && height <= e.answer_deadline =>
        {
            let waiting = e
                .params
                .providers_of(&p.prover)
                .into_iter()
                .filter(|k| {
                    !e.audit.submissions().contains_key(k) && !e.audit.excluded().contains_key(k)
                })
                .count();
            if waiting > 0 {
                return Err(stats_err(format!(
                    "{} aggregates before the answer deadline (block {}) while {waiting} of its data providers have not answered",
                    p.prover, e.answer_deadline
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn stats_err(m: impl Into<String>) -> Error {
    Error::Stats(m.into())
}

/// A message signed by a party of the statistics protocol: `signer` signs
/// `STATS_DOMAIN || 0 || JSON(body)`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signed<T> {
    /// The message.
    pub body: T,
    /// Who signed it.
    pub signer: PartyKey,
    /// The signature.
    pub signature: Signature,
}

impl<T: Serialize> Signed<T> {
    /// Signs `body` as `secret`.
    pub fn sign(body: T, secret: &PartySecret) -> Result<Self> {
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::Encoding(e.to_string()))?;
        Ok(Signed {
            signature: secret.sign(STATS_DOMAIN, &bytes),
            signer: secret.public(),
            body,
        })
    }

    /// Checks the signature.
    pub fn verify(&self) -> Result<()> {
        let bytes = serde_json::to_vec(&self.body).map_err(|e| Error::Encoding(e.to_string()))?;
        if self.signer.verify(STATS_DOMAIN, &bytes, &self.signature) {
            Ok(())
        } else {
            Err(Error::BadSignature(format!(
                "statistics message not signed by {}",
                self.signer
            )))
        }
    }
}

/// A computing node of a consortium.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ComputingNodeEntry {
    /// Signs its proofs and dealing.
    pub key: PartyKey,
    /// Its long-term ElGamal key, to which the key ceremony's shares are encrypted.
    pub dkg_key: PublicKey,
}

/// A statistics consortium: who computes, who holds data, over which table, within which
/// budget and deadlines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsortiumSpec {
    /// A name for people.
    pub name: String,
    /// The table every data provider holds.
    pub schema: Schema,
    /// The computing nodes, in key-share order.
    pub computing_nodes: Vec<ComputingNodeEntry>,
    /// The data providers, in roster order.
    pub providers: Vec<PartyKey>,
    /// The total ε each querier may spend on this consortium.
    pub budget: Rational,
    /// Blocks after a query's block during which data providers answer.
    pub answer_blocks: u64,
    /// Blocks after the answer deadline within which the computing nodes must finish.
    pub compute_blocks: u64,
}

impl ConsortiumSpec {
    /// Checks the spec's own consistency.
    pub fn validate(&self) -> Result<()> {
        let n = self.computing_nodes.len();
        if n == 0 || n > MAX_COMPUTING_NODES {
            return Err(stats_err(format!(
                "a consortium has 1..={MAX_COMPUTING_NODES} computing nodes, not {n}"
            )));
        }
        if self.providers.is_empty() || self.providers.len() > MAX_PROVIDERS {
            return Err(stats_err(format!(
                "a consortium has 1..={MAX_PROVIDERS} data providers, not {}",
                self.providers.len()
            )));
        }
        let mut all: Vec<PartyKey> = self.computing_nodes.iter().map(|c| c.key).collect();
        all.extend(&self.providers);
        let distinct: BTreeSet<PartyKey> = all.iter().copied().collect();
        if distinct.len() != all.len() {
            return Err(stats_err("a party appears twice in the consortium"));
        }
        if self.answer_blocks == 0 || self.compute_blocks == 0 {
            return Err(stats_err("the deadlines must be at least one block"));
        }
        if self.answer_blocks > 100_000 || self.compute_blocks > 100_000 {
            return Err(stats_err("the deadlines must be at most 100000 blocks"));
        }
        if self.name.len() > 200 {
            return Err(stats_err("the name must be at most 200 bytes"));
        }
        Ok(())
    }

    /// The key ceremony's parameters: `t = n`, context the consortium id.
    pub fn dkg_params(&self, id: &ConsortiumId) -> Result<DkgParams> {
        let n = u16::try_from(self.computing_nodes.len())
            .map_err(|_| stats_err("too many computing nodes"))?;
        DkgParams::new(n, n, &id.0).map_err(|e| stats_err(e.to_string()))
    }

    /// The computing nodes' long-term keys, in order.
    pub fn dkg_keys(&self) -> Vec<PublicKey> {
        self.computing_nodes.iter().map(|c| c.dkg_key).collect()
    }
}

/// A computing node's dealing in its consortium's key ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deal {
    /// The consortium.
    pub consortium: ConsortiumId,
    /// The dealing (its dealer index is the signer's position, from 1).
    pub dealing: Dealing,
}

/// A computing node's complaint against a dealer of its consortium's ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Complain {
    /// The consortium.
    pub consortium: ConsortiumId,
    /// The complaint (its complainer is the signer's position, from 1).
    pub complaint: Complaint,
}

/// A data provider joins its consortium with its own budget per querier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Join {
    /// The consortium.
    pub consortium: ConsortiumId,
    /// The total ε this provider grants on its data in this consortium, over every querier
    /// (so fresh querier keys gain nothing).
    pub budget: Rational,
}

/// A querier's question to a consortium.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryRequest {
    /// The consortium asked.
    pub consortium: ConsortiumId,
    /// The question (over the consortium's schema, with noise).
    pub statement: Statement,
    /// The querier's ElGamal key: the result is switched to it.
    pub querier_key: PublicKey,
}

/// A claim that a proof on the chain is invalid: every node re-checks it in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dispute {
    /// The query.
    pub query: QueryId,
    /// The transaction carrying the disputed proof.
    pub proof: TxId,
}

/// A statistics transaction.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StatsTx {
    /// Creates a consortium.
    Consortium(Signed<ConsortiumSpec>),
    /// A computing node's dealing.
    Deal(Signed<Deal>),
    /// A computing node's complaint.
    Complain(Signed<Complain>),
    /// A data provider joins.
    Join(Signed<Join>),
    /// A query.
    Query(Signed<QueryRequest>),
    /// A proof of a query's protocol.
    Proof(SignedProof),
    /// A dispute of a proof.
    Dispute(Signed<Dispute>),
}

impl PartialEq for StatsTx {
    fn eq(&self, other: &Self) -> bool {
        // Every part is plain data; equal canonical encodings mean equal transactions.
        matches!(
            (serde_json::to_vec(self), serde_json::to_vec(other)),
            (Ok(a), Ok(b)) if a == b
        )
    }
}
impl Eq for StatsTx {}

/// Converts a budget or an ε to millionths: `floor` for a grant, `ceil` for a charge.
fn micros(r: &Rational, round_up: bool) -> u64 {
    let num = u128::from(r.num) * u128::from(EPSILON_UNITS);
    let den = u128::from(r.den.max(1));
    let q = if round_up {
        num.div_ceil(den)
    } else {
        num / den
    };
    u64::try_from(q).unwrap_or(u64::MAX)
}

/// The ε charged for noise of `epsilon` per entry at `sensitivity` when one row moves the
/// entries by `l1` in all, in millionths, rounded up: `ε · max(l1, sensitivity) / sensitivity`.
fn charge_of(epsilon: &Rational, l1: u64, sensitivity: u64) -> u64 {
    let s = u128::from(sensitivity.max(1));
    let l = u128::from(l1).max(s);
    let num = u128::from(epsilon.num)
        .saturating_mul(u128::from(EPSILON_UNITS))
        .saturating_mul(l);
    let den = u128::from(epsilon.den.max(1)).saturating_mul(s);
    u64::try_from(num.div_ceil(den)).unwrap_or(u64::MAX)
}

/// A consortium on the chain.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsortiumEntry {
    /// Its id.
    pub id: ConsortiumId,
    /// What it is.
    pub spec: ConsortiumSpec,
    /// Who created it.
    pub creator: PartyKey,
    /// The block that created it.
    pub created: Height,
    /// The dealings posted, by dealer index.
    pub dealings: BTreeMap<u16, Dealing>,
    /// The complaints posted.
    pub complaints: Vec<Complaint>,
    /// The collective key, once every dealing is in.
    pub key: Option<JointKey>,
    /// Why the consortium cannot serve, if so.
    pub failed: Option<String>,
    /// The first block that may hold a query: [`COMPLAINT_BLOCKS`] after the last dealing, so
    /// a computing node that received a bad share can complain before any query runs.
    pub ready_at: Option<Height>,
    /// The data providers that joined, with the total ε each grants (over every querier), in
    /// millionths.
    pub joined: BTreeMap<PartyKey, u64>,
    /// ε spent per querier on the consortium, in millionths.
    pub spent: BTreeMap<PartyKey, u64>,
    /// ε spent on each data provider's data, per querier, in millionths.
    pub provider_spent: BTreeMap<PartyKey, BTreeMap<PartyKey, u64>>,
}

/// Blocks between the last dealing and the first query: the complaint window.
pub const COMPLAINT_BLOCKS: u64 = 10;

impl ConsortiumEntry {
    /// Whether its key ceremony is over and it has not failed (it serves queries from
    /// [`ConsortiumEntry::ready_at`] on).
    pub fn ready(&self) -> bool {
        self.key.is_some() && self.failed.is_none()
    }

    /// Whether a query may be made in the block at `height`.
    pub fn serves_at(&self, height: Height) -> bool {
        self.ready() && self.ready_at.is_some_and(|h| height >= h)
    }

    /// ε spent on data provider `p`'s data, over every querier, in millionths.
    pub fn provider_total(&self, p: &PartyKey) -> u64 {
        self.provider_spent
            .get(p)
            .map_or(0, |m| m.values().fold(0u64, |a, b| a.saturating_add(*b)))
    }

    fn position_of_node(&self, key: &PartyKey) -> Result<usize> {
        self.spec
            .computing_nodes
            .iter()
            .position(|c| &c.key == key)
            .ok_or_else(|| {
                stats_err(format!(
                    "{key} is not a computing node of consortium {}",
                    self.id
                ))
            })
    }
}

/// Where a query is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum QueryStatus {
    /// Proofs are coming in.
    Open,
    /// Every proof is in; the result waits for the verifying nodes' verdicts.
    Switched {
        /// The block holding the last key switch.
        at: Height,
    },
    /// The result under the querier's key.
    Answered {
        /// The block that released it.
        at: Height,
        /// The result, one ciphertext per entry, under the querier's key.
        result: Vec<Ciphertext>,
        /// Whether every block holding the query's proofs had its verdicts committed (else the
        /// result was released at the final deadline without some of them).
        verdicts_complete: bool,
    },
    /// The query failed.
    Failed {
        /// The block that decided it.
        at: Height,
        /// Why.
        reason: String,
        /// The party at fault, if one is.
        culprit: Option<PartyKey>,
    },
}

/// A proof of a query, as recorded.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProofRecord {
    /// The transaction that carried it.
    pub tx: TxId,
    /// The block holding it.
    pub height: Height,
    /// The proof.
    pub proof: SignedProof,
}

/// Something that happened to a query besides a proof being accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum QueryEvent {
    /// The proof at `index` of [`QueryEntry::proofs`] was accepted.
    Proof {
        /// Its position.
        index: usize,
    },
    /// A data provider's answer was found invalid and excluded before aggregation.
    Excluded {
        /// The data provider.
        provider: PartyKey,
        /// Why.
        reason: String,
        /// When.
        height: Height,
    },
    /// A verifying node marked a valid proof invalid.
    FalseVerdict {
        /// The verifying node.
        verifier: ValidatorKey,
        /// The proof's transaction.
        proof: TxId,
    },
}

/// One verifying node's verdict on one proof of a query (seed 001 §6.1: keyed by query, proof
/// kind, prover and verifier).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerdictRecord {
    /// The proof's transaction.
    pub proof: TxId,
    /// Its kind.
    pub kind: StatsKind,
    /// Its prover.
    pub prover: PartyKey,
    /// The verifying node.
    pub verifier: ValidatorKey,
    /// 1 valid, 0 invalid, 2 not verified (sampled out), 3 not received by the deadline.
    pub verdict: Verdict,
}

/// A query on the chain.
#[derive(Clone, Debug)]
pub struct QueryEntry {
    /// The consortium asked.
    pub consortium: ConsortiumId,
    /// Who asked.
    pub querier: PartyKey,
    /// The question.
    pub statement: Statement,
    /// The protocol parameters the chain fixed.
    pub params: QueryParams,
    /// The block that admitted it.
    pub opened: Height,
    /// Last block in which data providers may answer.
    pub answer_deadline: Height,
    /// Last block in which the computing nodes may finish.
    pub final_deadline: Height,
    /// ε charged, in millionths.
    pub charged: u64,
    /// Joined data providers left out because their grant is spent, with why.
    pub declined: BTreeMap<PartyKey, String>,
    /// Where it is.
    pub status: QueryStatus,
    /// The accepted proofs, in order.
    pub proofs: Vec<ProofRecord>,
    /// Proofs accepted and other events, in order.
    pub events: Vec<QueryEvent>,
    /// The verifying nodes' verdicts on its proofs.
    pub verdicts: Vec<VerdictRecord>,
    /// Heights of the blocks holding its proofs whose verdicts are not yet committed.
    awaiting_verdicts: BTreeSet<Height>,
    audit: QueryAudit,
}

impl QueryEntry {
    /// The proofs still expected, by kind and prover.
    pub fn expected(&self) -> Vec<(StatsKind, PartyKey)> {
        if matches!(self.status, QueryStatus::Open) {
            self.audit.expected()
        } else {
            Vec::new()
        }
    }

    /// The data providers excluded, with why.
    pub fn excluded(&self) -> &BTreeMap<PartyKey, String> {
        self.audit.excluded()
    }

    /// The proofs that never came (when the query is closed), every verifying node's verdict
    /// on each being `3`.
    pub fn missing(&self) -> Vec<(StatsKind, PartyKey)> {
        match self.status {
            QueryStatus::Open => Vec::new(),
            _ => self.audit.expected(),
        }
    }

    fn fail(&mut self, at: Height, reason: String, culprit: Option<PartyKey>) {
        self.status = QueryStatus::Failed {
            at,
            reason,
            culprit,
        };
    }
}

/// The statistics part of the ledger state.
#[derive(Clone, Debug, Default)]
pub struct StatsState {
    consortia: BTreeMap<ConsortiumId, ConsortiumEntry>,
    queries: BTreeMap<QueryId, QueryEntry>,
    /// Every proof transaction: its query and position.
    proof_index: BTreeMap<TxId, (QueryId, usize)>,
    /// Queries not yet answered or failed.
    open: BTreeSet<QueryId>,
    /// Statistics proofs of the block being applied and of the previous one (being judged).
    this_block: BTreeSet<TxId>,
    last_block: BTreeSet<TxId>,
    accepted: u64,
    log_digest: [u8; 32],
    /// Hashes of the signed query requests admitted (a replayed request is refused).
    used_requests: BTreeSet<[u8; 32]>,
    /// Proofs a full re-check found valid (a dispute or `0` about them is not re-checked).
    found_valid: BTreeSet<TxId>,
}

impl StatsState {
    /// A consortium.
    pub fn consortium(&self, id: &ConsortiumId) -> Option<&ConsortiumEntry> {
        self.consortia.get(id)
    }
    /// Every consortium.
    pub fn consortia(&self) -> impl Iterator<Item = &ConsortiumEntry> {
        self.consortia.values()
    }
    /// A query.
    pub fn query(&self, id: &QueryId) -> Option<&QueryEntry> {
        self.queries.get(id)
    }
    /// Every query, by id.
    pub fn queries(&self) -> impl Iterator<Item = (&QueryId, &QueryEntry)> {
        self.queries.iter()
    }
    /// The query and position of a proof transaction.
    pub fn proof_of(&self, tx: &TxId) -> Option<(&QueryEntry, &ProofRecord)> {
        let (q, i) = self.proof_index.get(tx)?;
        let e = self.queries.get(q)?;
        Some((e, e.proofs.get(*i)?))
    }
    /// Number of statistics transactions accepted.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
    /// Hash chain over the accepted statistics transactions (as the elections' log digest).
    pub fn log_digest(&self) -> [u8; 32] {
        self.log_digest
    }

    /// Starts applying a block: the previous block's proofs become the ones being judged.
    pub(crate) fn begin_block(&mut self) {
        self.last_block = std::mem::take(&mut self.this_block);
    }

    /// Ends a block at `height`: deadlines that passed are enforced.
    pub(crate) fn end_block(&mut self, height: Height) {
        let due: Vec<QueryId> = self
            .open
            .iter()
            .filter(|q| {
                self.queries
                    .get(q)
                    .is_some_and(|e| height > e.final_deadline)
            })
            .copied()
            .collect();
        for q in due {
            if let Some(e) = self.queries.get_mut(&q) {
                match &e.status {
                    QueryStatus::Open => {
                        // Providers missing after the answer deadline stopped nobody (their
                        // nodes aggregate without them): blame the first missing node proof.
                        let expected = e.audit.expected();
                        let first = expected
                            .iter()
                            .find(|(k, _)| *k != StatsKind::Range)
                            .or_else(|| expected.first())
                            .copied();
                        let reason = match first {
                            Some((kind, who)) => format!(
                                "{who} did not send its {kind} proof by block {}",
                                e.final_deadline
                            ),
                            None => {
                                format!("the query was not finished by block {}", e.final_deadline)
                            }
                        };
                        e.fail(height, reason, first.map(|(_, w)| w));
                    }
                    QueryStatus::Switched { .. } => release(e, height, false),
                    _ => {}
                }
            }
            self.open.remove(&q);
        }
    }

    fn record(&mut self, bytes: &[u8]) {
        let h = hash_parts("tabella/ledger/stats-tx/v1", &[bytes]);
        self.log_digest = hash_parts("tabella/ledger/stats-log/v1", &[&self.log_digest, &h]);
        self.accepted += 1;
    }

    /// Applies a statistics transaction with id `id` in the block at `height`. On error the state
    /// is unchanged.
    pub fn apply(&mut self, tx: &StatsTx, id: TxId, height: Height) -> Result<()> {
        match tx {
            StatsTx::Consortium(s) => self.create(s, id, height)?,
            StatsTx::Deal(s) => self.deal(s, height)?,
            StatsTx::Complain(s) => self.complain(s, height)?,
            StatsTx::Join(s) => self.join(s)?,
            StatsTx::Query(s) => self.open_query(s, id, height)?,
            StatsTx::Proof(p) => self.accept_proof(p, id, height)?,
            StatsTx::Dispute(s) => self.dispute(s, height)?,
        }
        self.record(&id.0);
        Ok(())
    }

    /// Checks a statistics transaction against this state (as in a block at `height`) without
    /// changing it. Proofs are checked on a copy of their query alone.
    pub fn check(&self, tx: &StatsTx, id: TxId, height: Height) -> Result<()> {
        match tx {
            StatsTx::Proof(p) => {
                // On a copy of the query's audit alone (not of its record).
                let e = self
                    .queries
                    .get(&p.query)
                    .ok_or_else(|| stats_err(format!("no query {}", p.query)))?;
                proof_due(e, p, height)?;
                if self.proof_index.contains_key(&id) {
                    return Err(Error::DuplicateTx(format!("proof {id} is on record")));
                }
                e.audit.clone().accept(p, Check::Light)?;
                Ok(())
            }
            StatsTx::Dispute(s) => self.clone().dispute(s, height),
            _ => {
                let mut copy = StatsState {
                    consortia: self.consortia.clone(),
                    ..StatsState::default()
                };
                match tx {
                    StatsTx::Query(s) => {
                        copy.used_requests = self.used_requests.clone();
                        copy.open_query(s, id, height)
                    }
                    _ => copy.apply(tx, id, height),
                }
            }
        }
    }

    fn create(&mut self, s: &Signed<ConsortiumSpec>, id: TxId, height: Height) -> Result<()> {
        s.verify()?;
        s.body.validate()?;
        let cid = ConsortiumId(hash_parts("tabella/ledger/consortium/v1", &[&id.0]));
        if self.consortia.contains_key(&cid) {
            return Err(Error::DuplicateTx(format!("consortium {cid} exists")));
        }
        self.consortia.insert(
            cid,
            ConsortiumEntry {
                id: cid,
                spec: s.body.clone(),
                creator: s.signer,
                created: height,
                dealings: BTreeMap::new(),
                complaints: Vec::new(),
                key: None,
                failed: None,
                ready_at: None,
                joined: BTreeMap::new(),
                spent: BTreeMap::new(),
                provider_spent: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn consortium_mut(&mut self, id: &ConsortiumId) -> Result<&mut ConsortiumEntry> {
        self.consortia
            .get_mut(id)
            .ok_or_else(|| stats_err(format!("no consortium {id}")))
    }

    fn deal(&mut self, s: &Signed<Deal>, height: Height) -> Result<()> {
        s.verify()?;
        let c = self.consortium_mut(&s.body.consortium)?;
        let pos = c.position_of_node(&s.signer)?;
        let index = s.body.dealing.dealer.get();
        if usize::from(index) != pos + 1 {
            return Err(stats_err(format!(
                "computing node {} deals as number {index}, but it is number {}",
                s.signer,
                pos + 1
            )));
        }
        if c.dealings.contains_key(&index) {
            return Err(stats_err(format!(
                "computing node {} already dealt",
                s.signer
            )));
        }
        if let Some(f) = &c.failed {
            return Err(stats_err(format!("the consortium has failed: {f}")));
        }
        let params = c.spec.dkg_params(&c.id)?;
        // The dealing alone must be well formed (a bad one would only disqualify its dealer
        // later and end the consortium; refuse it now, naming the dealer).
        check_dealing(&params, &s.body.dealing)
            .map_err(|e| stats_err(format!("the dealing of {} is invalid: {e}", s.signer)))?;
        c.dealings.insert(index, s.body.dealing.clone());
        if c.dealings.len() == c.spec.computing_nodes.len() {
            settle_key(c)?;
            c.ready_at = Some(Height(height.0.saturating_add(COMPLAINT_BLOCKS)));
        }
        Ok(())
    }

    fn complain(&mut self, s: &Signed<Complain>, height: Height) -> Result<()> {
        s.verify()?;
        let c = self.consortium_mut(&s.body.consortium)?;
        let pos = c.position_of_node(&s.signer)?;
        if usize::from(s.body.complaint.complainer.get()) != pos + 1 {
            return Err(stats_err("a computing node complains only in its own name"));
        }
        if c.ready_at.is_some_and(|h| height >= h) {
            return Err(stats_err(
                "the complaint window is over (it closes when the consortium starts serving)",
            ));
        }
        if c.dealings.len() != c.spec.computing_nodes.len() {
            return Err(stats_err("complaints come after every dealing"));
        }
        let params = c.spec.dkg_params(&c.id)?;
        let dealings: Vec<Dealing> = c.dealings.values().cloned().collect();
        let mut complaints = c.complaints.clone();
        complaints.push(s.body.complaint.clone());
        let outcome = recompute_outcome(&params, &c.spec.dkg_keys(), &dealings, &complaints);
        let upheld = match &outcome {
            Ok(o) => o
                .disqualified
                .iter()
                .find(|d| d.dealer == s.body.complaint.dealer)
                .map(|d| d.reason.clone()),
            Err(_) => Some("the complaint leaves too few dealers".into()),
        };
        let Some(reason) = upheld else {
            return Err(stats_err(format!(
                "the complaint of {} against dealer {} is unfounded",
                s.signer, s.body.complaint.dealer
            )));
        };
        c.complaints = complaints;
        c.key = None;
        c.failed = Some(format!(
            "dealer {} was disqualified ({reason}); with t = n no collective key can be made",
            s.body.complaint.dealer
        ));
        Ok(())
    }

    fn join(&mut self, s: &Signed<Join>) -> Result<()> {
        s.verify()?;
        let c = self.consortium_mut(&s.body.consortium)?;
        if !c.spec.providers.contains(&s.signer) {
            return Err(stats_err(format!(
                "{} is not a data provider of consortium {}",
                s.signer, c.id
            )));
        }
        if c.joined.contains_key(&s.signer) {
            return Err(stats_err(format!("{} already joined", s.signer)));
        }
        let grant = micros(&s.body.budget, false);
        if grant == 0 {
            return Err(stats_err("a data provider joins with a positive budget"));
        }
        c.joined.insert(s.signer, grant);
        Ok(())
    }

    fn open_query(&mut self, s: &Signed<QueryRequest>, _id: TxId, height: Height) -> Result<()> {
        s.verify()?;
        let r = &s.body;
        let c = self
            .consortia
            .get(&r.consortium)
            .ok_or_else(|| stats_err(format!("no consortium {}", r.consortium)))?;
        if let Some(f) = &c.failed {
            return Err(stats_err(format!("the consortium cannot serve: {f}")));
        }
        let key = c.key.clone().ok_or_else(|| {
            stats_err(format!(
                "the consortium's key ceremony is not finished ({} of {} dealings)",
                c.dealings.len(),
                c.spec.computing_nodes.len()
            ))
        })?;
        if !c.serves_at(height) {
            return Err(stats_err(format!(
                "the consortium serves queries from block {} on (after its complaint window)",
                c.ready_at.map_or(0, |h| h.0)
            )));
        }
        if self.used_requests.contains(&request_hash(s)) {
            return Err(Error::DuplicateTx(
                "this signed query was already made (a replay)".into(),
            ));
        }
        if r.statement.schema != c.spec.schema {
            return Err(stats_err("the query is not over the consortium's schema"));
        }
        let entries = r.statement.layout()?.len;
        if r.statement.noise_list_len != entries {
            return Err(stats_err(format!(
                "the noise lists must hold exactly the {entries} entries of the answer, not {}",
                r.statement.noise_list_len
            )));
        }
        let spec = r.statement.noise.ok_or_else(|| {
            stats_err("a query on the ledger must add differential-privacy noise (give ε)")
        })?;
        let needed = tabella_stats::encoding::sensitivity(&r.statement.operation, &c.spec.schema)?;
        if spec.sensitivity < needed {
            return Err(stats_err(format!(
                "the noise's sensitivity {} is below the operation's {needed}",
                spec.sensitivity
            )));
        }
        // The release is ε·L1/sensitivity-DP (every entry gets noise of scale sensitivity/ε and
        // one row moves the entries by at most L1 in all): that is what is charged.
        let l1 = tabella_stats::encoding::l1_sensitivity(&r.statement.operation, &c.spec.schema)?;
        let charge = charge_of(&spec.epsilon, l1, spec.sensitivity);
        let spent = c.spent.get(&s.signer).copied().unwrap_or(0);
        let budget = micros(&c.spec.budget, false);
        if spent.saturating_add(charge) > budget {
            return Err(stats_err(format!(
                "over budget: querier {} has spent ε = {} of the consortium's {}, and this query asks {}",
                s.signer,
                show_eps(spent),
                show_eps(budget),
                show_eps(charge)
            )));
        }
        // Every joined provider whose total grant still covers the charge takes part; the
        // others are declined (named in the query), so one spent grant blocks no one.
        let mut providers = Vec::new();
        let mut declined = BTreeMap::new();
        for p in c.spec.providers.iter().filter(|p| c.joined.contains_key(p)) {
            let grant = c.joined.get(p).copied().unwrap_or(0);
            let used = c.provider_total(p);
            if used.saturating_add(charge) > grant {
                declined.insert(
                    *p,
                    format!(
                        "its grant of ε = {} is spent down to {}, below this query's {}",
                        show_eps(grant),
                        show_eps(grant.saturating_sub(used)),
                        show_eps(charge)
                    ),
                );
            } else {
                providers.push(*p);
            }
        }
        if providers.is_empty() {
            return Err(stats_err(if declined.is_empty() {
                "no data provider has joined the consortium yet".to_string()
            } else {
                format!(
                    "over budget: every data provider's grant is spent ({} declined)",
                    declined.len()
                )
            }));
        }
        let who = Participants {
            computing_nodes: c.spec.computing_nodes.iter().map(|n| n.key).collect(),
            providers: providers.clone(),
            collective_key: key,
            querier_key: r.querier_key,
        };
        let params = r.statement.params(&who, nonce_of(s, height))?;
        let qid = params.id()?;
        if self.queries.contains_key(&qid) {
            return Err(Error::DuplicateTx(format!("query {qid} exists")));
        }
        let audit = QueryAudit::new(params.clone())?;
        let answer_deadline = Height(height.0.saturating_add(c.spec.answer_blocks));
        let final_deadline = Height(answer_deadline.0.saturating_add(c.spec.compute_blocks));
        let c = self.consortium_mut(&r.consortium)?;
        let e = c.spent.entry(s.signer).or_default();
        *e = e.saturating_add(charge);
        for p in &providers {
            let e = c
                .provider_spent
                .entry(*p)
                .or_default()
                .entry(s.signer)
                .or_default();
            *e = e.saturating_add(charge);
        }
        self.used_requests.insert(request_hash(s));
        self.queries.insert(
            qid,
            QueryEntry {
                consortium: r.consortium,
                querier: s.signer,
                statement: r.statement.clone(),
                params,
                opened: height,
                answer_deadline,
                final_deadline,
                charged: charge,
                declined,
                status: QueryStatus::Open,
                proofs: Vec::new(),
                events: Vec::new(),
                verdicts: Vec::new(),
                awaiting_verdicts: BTreeSet::new(),
                audit,
            },
        );
        self.open.insert(qid);
        Ok(())
    }

    fn accept_proof(&mut self, p: &SignedProof, id: TxId, height: Height) -> Result<()> {
        let e = self
            .queries
            .get_mut(&p.query)
            .ok_or_else(|| stats_err(format!("no query {}", p.query)))?;
        proof_due(e, p, height)?;
        e.audit.accept(p, Check::Light)?;
        let index = e.proofs.len();
        e.proofs.push(ProofRecord {
            tx: id,
            height,
            proof: p.clone(),
        });
        e.events.push(QueryEvent::Proof { index });
        e.awaiting_verdicts.insert(height);
        if e.audit.result().is_some() {
            e.status = QueryStatus::Switched { at: height };
        }
        self.proof_index.insert(id, (p.query, index));
        self.this_block.insert(id);
        Ok(())
    }

    /// Settles a claim that the proof of transaction `tx` is invalid: re-checks it in full and,
    /// if it is invalid, excludes the answer (not yet aggregated) or fails the query. Returns
    /// whether the proof was invalid.
    fn settle(&mut self, tx: &TxId, height: Height) -> Result<bool> {
        let (q, i) = *self
            .proof_index
            .get(tx)
            .ok_or_else(|| stats_err(format!("no statistics proof {tx}")))?;
        if self.found_valid.contains(tx) {
            return Ok(false);
        }
        let e = self
            .queries
            .get_mut(&q)
            .ok_or_else(|| stats_err(format!("no query {q}")))?;
        let proof = e
            .proofs
            .get(i)
            .map(|r| r.proof.clone())
            .ok_or_else(|| stats_err("proof index out of range"))?;
        let Err(why) = e.audit.recheck(&proof) else {
            self.found_valid.insert(*tx);
            return Ok(false);
        };
        let reason = why.to_string();
        if matches!(e.status, QueryStatus::Failed { .. }) {
            return Ok(true);
        }
        if proof.kind() == StatsKind::Range && e.audit.exclude(&proof.prover, &reason).is_ok() {
            e.events.push(QueryEvent::Excluded {
                provider: proof.prover,
                reason,
                height,
            });
            return Ok(true);
        }
        e.fail(
            height,
            format!(
                "the {} proof of {} is invalid: {reason}",
                proof.kind(),
                proof.prover
            ),
            Some(proof.prover),
        );
        self.open.remove(&q);
        Ok(true)
    }

    fn dispute(&mut self, s: &Signed<Dispute>, height: Height) -> Result<()> {
        s.verify()?;
        let party = self.queries.get(&s.body.query).is_some_and(|e| {
            e.querier == s.signer
                || e.params.computing_nodes.contains(&s.signer)
                || e.params.providers.contains(&s.signer)
        });
        if !party {
            return Err(stats_err(format!(
                "{} is not a party of query {}: only its querier, computing nodes and data providers dispute",
                s.signer, s.body.query
            )));
        }
        if self.found_valid.contains(&s.body.proof) {
            return Err(stats_err(format!(
                "the disputed proof {} was already re-checked and is valid",
                s.body.proof
            )));
        }
        match self.proof_index.get(&s.body.proof) {
            Some((q, _)) if *q == s.body.query => {}
            _ => {
                return Err(stats_err(format!(
                    "transaction {} is not a proof of query {}",
                    s.body.proof, s.body.query
                )))
            }
        }
        if let Some(QueryStatus::Failed { .. }) = self.queries.get(&s.body.query).map(|e| &e.status)
        {
            return Err(stats_err("the query has already failed"));
        }
        if self.queries.get(&s.body.query).is_some_and(|e| {
            e.events
                .iter()
                .any(|ev| matches!(ev, QueryEvent::Excluded { .. }))
                && self
                    .proof_of(&s.body.proof)
                    .is_some_and(|(e2, r)| e2.audit.excluded().contains_key(&r.proof.prover))
        }) {
            return Err(stats_err("that answer is already excluded"));
        }
        if self.settle(&s.body.proof, height)? {
            Ok(())
        } else {
            Err(stats_err(format!(
                "the disputed proof {} is valid",
                s.body.proof
            )))
        }
    }

    /// Records the committed verdicts on the previous block's statistics proofs, settles every
    /// `0` ([`Self::settle`]), and releases results whose verdicts are complete.
    pub(crate) fn record_verdicts(
        &mut self,
        judged: Height,
        bitmaps: &[SignedBitmap],
        height: Height,
        quorum: usize,
    ) {
        let mut zeros = Vec::new();
        let mut touched = BTreeSet::new();
        for b in bitmaps {
            for (i, (pid, _)) in b.bitmap.proofs.iter().enumerate() {
                let tx = TxId(pid.0);
                if !self.last_block.contains(&tx) {
                    continue;
                }
                let Some((q, idx)) = self.proof_index.get(&tx).copied() else {
                    continue;
                };
                let Some(verdict) = b.bitmap.verdict(i) else {
                    continue;
                };
                if let Some(e) = self.queries.get_mut(&q) {
                    if let Some(r) = e.proofs.get(idx) {
                        e.verdicts.push(VerdictRecord {
                            proof: tx,
                            kind: r.proof.kind(),
                            prover: r.proof.prover,
                            verifier: b.bitmap.node,
                            verdict,
                        });
                    }
                    touched.insert(q);
                }
                if verdict == Verdict::Invalid {
                    zeros.push((tx, b.bitmap.node));
                }
            }
        }
        // Each contested proof is re-checked once, however many verifiers said 0.
        let mut settled: BTreeMap<TxId, bool> = BTreeMap::new();
        for (tx, verifier) in zeros {
            let invalid = match settled.get(&tx) {
                Some(v) => *v,
                None => {
                    let v = self.settle(&tx, height).unwrap_or(false);
                    settled.insert(tx, v);
                    v
                }
            };
            if !invalid {
                if let Some((q, _)) = self.proof_index.get(&tx).copied() {
                    if let Some(e) = self.queries.get_mut(&q) {
                        e.events.push(QueryEvent::FalseVerdict {
                            verifier,
                            proof: tx,
                        });
                    }
                }
            }
        }
        // A block's verdicts count as complete only with a quorum of bitmaps: a proposer that
        // commits its own bitmap alone does not release a result.
        let signers: BTreeSet<[u8; 32]> =
            bitmaps.iter().map(|b| b.bitmap.node.to_bytes()).collect();
        for q in touched {
            if let Some(e) = self.queries.get_mut(&q) {
                if signers.len() >= quorum {
                    e.awaiting_verdicts.remove(&judged);
                }
                if matches!(e.status, QueryStatus::Switched { .. })
                    && e.awaiting_verdicts.is_empty()
                {
                    release(e, height, true);
                    self.open.remove(&q);
                }
            }
        }
    }

    /// Whether proof `p` (in the block being judged) is valid, checked in full against
    /// this state as it was just before the proof (the caller replays the block).
    pub fn verify_proof(&self, p: &SignedProof) -> bool {
        let Some(e) = self.queries.get(&p.query) else {
            return false;
        };
        if p.kind() == StatsKind::Range {
            return QueryAudit::check_range(&e.params, p).is_ok() && p.check_signature().is_ok();
        }
        let mut audit = e.audit.clone();
        audit.accept(p, Check::Full).is_ok()
    }

    /// The parameters of `query`, for verifying its range proofs in parallel.
    pub fn params_of(&self, query: &QueryId) -> Option<&QueryParams> {
        self.queries.get(query).map(|e| &e.params)
    }
}

fn release(e: &mut QueryEntry, at: Height, verdicts_complete: bool) {
    match e.audit.result() {
        Some(result) => {
            e.status = QueryStatus::Answered {
                at,
                result,
                verdicts_complete,
            }
        }
        None => e.fail(at, "the result could not be assembled".into(), None),
    }
}

fn show_eps(m: u64) -> String {
    let whole = m / EPSILON_UNITS;
    let frac = m % EPSILON_UNITS;
    if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:06}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
}

/// The nonce of a query: `SHA-256("tabella/ledger/stats-nonce/v1" || 0 || JSON(signed request)
/// || height u64 LE)` — unique per request and block, and not the querier's choice alone.
fn request_hash(s: &Signed<QueryRequest>) -> [u8; 32] {
    let json = serde_json::to_vec(s).unwrap_or_default();
    hash_parts("tabella/ledger/stats-request/v1", &[&json])
}

fn nonce_of(s: &Signed<QueryRequest>, height: Height) -> [u8; 32] {
    let json = serde_json::to_vec(s).unwrap_or_default();
    hash_parts(
        "tabella/ledger/stats-nonce/v1",
        &[&json, &height.0.to_le_bytes()],
    )
}

/// Every dealing is in: the collective key is the ceremony's outcome recomputed from them, or
/// the consortium fails naming the disqualified dealers.
fn settle_key(c: &mut ConsortiumEntry) -> Result<()> {
    let params = c.spec.dkg_params(&c.id)?;
    let dealings: Vec<Dealing> = c.dealings.values().cloned().collect();
    match recompute_outcome(&params, &c.spec.dkg_keys(), &dealings, &c.complaints) {
        Ok(o) if o.disqualified.is_empty() => {
            c.key = Some(o.joint_key);
        }
        Ok(o) => {
            c.failed = Some(
                o.disqualified
                    .iter()
                    .map(|d| format!("dealer {} disqualified: {}", d.dealer, d.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        }
        Err(e) => c.failed = Some(format!("the key ceremony failed: {e}")),
    }
    Ok(())
}

/// How the verifying nodes sample a statistics proof: range, noise and shuffle proofs are heavy
/// (verified with `p`); key switches (whose result the querier decrypts) and aggregations
/// (cheap, and fully re-checked when applied) always.
pub fn is_heavy(p: &SignedProof) -> bool {
    matches!(
        p.kind(),
        StatsKind::Range | StatsKind::Noise | StatsKind::Shuffle
    )
}

/// A query as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryView {
    /// Its id.
    pub id: QueryId,
    /// The consortium asked.
    pub consortium: ConsortiumId,
    /// Who asked.
    pub querier: PartyKey,
    /// The question.
    pub statement: Statement,
    /// The protocol parameters the chain fixed.
    pub params: QueryParams,
    /// The block that admitted it.
    pub opened: Height,
    /// Last block in which data providers may answer.
    pub answer_deadline: Height,
    /// Last block in which the computing nodes may finish.
    pub final_deadline: Height,
    /// ε charged, in millionths.
    pub charged: u64,
    /// Where it is (with the result once answered).
    pub status: QueryStatus,
    /// The proofs still expected, by kind and prover (while open).
    pub expected: Vec<(StatsKind, PartyKey)>,
    /// The proofs that never came (once closed).
    pub missing: Vec<(StatsKind, PartyKey)>,
    /// Data providers excluded, with why.
    pub excluded: BTreeMap<PartyKey, String>,
    /// Joined data providers left out because their grant is spent, with why.
    pub declined: BTreeMap<PartyKey, String>,
    /// Number of proofs accepted.
    pub proofs: usize,
}

/// Every proof of a query and what happened to them, in order.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryProofs {
    /// The query.
    pub query: QueryId,
    /// The position of the first proof listed (0: all of them).
    #[serde(default)]
    pub first: usize,
    /// The accepted proofs, from position `first`.
    pub proofs: Vec<ProofRecord>,
    /// Proof acceptances, exclusions and false verdicts, in order.
    pub events: Vec<QueryEvent>,
}

/// The verdicts on a query's proofs, keyed by proof kind, prover and verifier (seed 001 §6.1).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryVerdicts {
    /// The query.
    pub query: QueryId,
    /// Every committed verdict (1, 0 or 2) on a proof that came.
    pub verdicts: Vec<VerdictRecord>,
    /// The proofs that never came: `3` from every verifying node.
    pub not_received: Vec<(StatsKind, PartyKey)>,
}

impl QueryEntry {
    /// The API's view of this query.
    pub fn view(&self, id: QueryId) -> QueryView {
        QueryView {
            id,
            consortium: self.consortium,
            querier: self.querier,
            statement: self.statement.clone(),
            params: self.params.clone(),
            opened: self.opened,
            answer_deadline: self.answer_deadline,
            final_deadline: self.final_deadline,
            charged: self.charged,
            status: self.status.clone(),
            expected: self.expected(),
            missing: self.missing(),
            excluded: self.excluded().clone(),
            declined: self.declined.clone(),
            proofs: self.proofs.len(),
        }
    }

    /// Its proofs and events.
    pub fn proof_list(&self, id: QueryId) -> QueryProofs {
        self.proof_list_from(id, 0)
    }

    /// Its proofs from position `from` on, and all its events.
    pub fn proof_list_from(&self, id: QueryId, from: usize) -> QueryProofs {
        QueryProofs {
            query: id,
            first: from.min(self.proofs.len()),
            proofs: self
                .proofs
                .get(from..)
                .map(<[ProofRecord]>::to_vec)
                .unwrap_or_default(),
            events: self.events.clone(),
        }
    }

    /// Its verdicts.
    pub fn verdict_list(&self, id: QueryId) -> QueryVerdicts {
        QueryVerdicts {
            query: id,
            verdicts: self.verdicts.clone(),
            not_received: self.missing(),
        }
    }
}
