//! Private statistics on the ledger (issue 13), in process: a consortium of 3 computing nodes
//! and 6 data providers on a chain of 1 or 4 validators, the key ceremony on the chain, honest
//! queries to their decrypted answers, the privacy budget, and the faults of the issue played
//! by cheating parties who know the code: an out-of-range answer, a wrong aggregation, a forged
//! key switch, withheld proofs, a false dispute.

mod common;

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::dkg::KeyShare;
use tabella_crypto::elgamal::{DlogTable, SecretKey};
use tabella_crypto::group::SecretScalar;
use tabella_ledger::stats::{
    ComputingNodeEntry, ConsortiumSpec, Dispute, QueryRequest, QueryStatus, QueryView, Signed,
    StatsTx,
};
use tabella_ledger::stats_party::{replay, ComputingNodeKeys, DataProvider};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{ConsortiumId, Height};
use tabella_ledger::verdict::Verdict;
use tabella_stats::aggregation::{Aggregation, AggregationLevel};
use tabella_stats::audit::Check;
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::obfuscation::ShuffleStep;
use tabella_stats::params::{proof_context, QueryId};
use tabella_stats::party::PartySecret;
use tabella_stats::proof::{ProofBody, ProofKind, SignedProof};
use tabella_stats::session;
use tabella_stats::statement::Statement;
use tabella_stats::submission::Submission;
use tabella_stats::switch::KeySwitchStep;
use tabella_stats::{Operation, QueryResult, Row, Schema};

/// How a party misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cheat {
    None,
    /// This data provider answers a value far out of range (a proof made for a wider range).
    OutOfRange(usize),
    /// This data provider never answers.
    SilentProvider(usize),
    /// This computing node sends a wrong aggregation, then nothing.
    WrongAggregation(usize),
    /// This computing node switches with a wrong key share.
    WrongSwitch(usize),
    /// This computing node replaces each noise list it shuffles (or only list `Some(j)`, the
    /// others shuffled honestly) with a noise-free list of its own, proving a genuine shuffle of
    /// that list instead of the one on the chain.
    ForgedShuffle(usize, Option<usize>),
}

struct World {
    net: common::Net,
    cns: Vec<ComputingNodeKeys>,
    shares: Vec<Option<KeyShare>>,
    dps: Vec<DataProvider>,
    rows: Vec<Vec<Row>>,
    schema: Schema,
    querier: PartySecret,
    querier_key: SecretKey,
    consortium: ConsortiumId,
    rng: ChaCha20Rng,
    cheat: Cheat,
    /// Transactions refused, with why.
    refused: Vec<String>,
    /// What each computing node has checked, per query.
    trackers: Vec<BTreeMap<QueryId, tabella_ledger::stats_party::QueryTracker>>,
    /// The validators' verdicts on the last block, to commit in the next.
    verdicts: Option<(Height, Vec<tabella_ledger::verdict::SignedBitmap>)>,
}

fn schema() -> Schema {
    Schema::new(20)
        .and_then(|s| s.integer("age", 0, 120))
        .and_then(|s| s.text("region"))
        .expect("schema")
}

fn rows_of(i: usize) -> Vec<Row> {
    let s = schema();
    (0..8)
        .map(|k| {
            let age = 20 + ((i * 7 + k * 5) % 60);
            let region = if k % 3 == 0 { "N" } else { "S" };
            Row::parse(&s, &[&age.to_string(), region]).expect("row")
        })
        .collect()
}

impl World {
    fn new(validators: usize, cheat: Cheat, seed: u64) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let net = common::net(validators, validators, seed);
        let cns: Vec<ComputingNodeKeys> = (0..3)
            .map(|_| ComputingNodeKeys::generate(&mut rng))
            .collect();
        let dps: Vec<DataProvider> = (0..6)
            .map(|_| DataProvider {
                signing: PartySecret::generate(&mut rng),
                budget: Rational::new(5, 1).unwrap(),
            })
            .collect();
        let spec = ConsortiumSpec {
            name: "test consortium".into(),
            schema: schema(),
            computing_nodes: cns
                .iter()
                .map(|c| ComputingNodeEntry {
                    key: c.signing.public(),
                    dkg_key: c.dkg.public_key(),
                })
                .collect(),
            providers: dps.iter().map(|d| d.signing.public()).collect(),
            budget: Rational::new(3, 1).unwrap(),
            answer_blocks: 4,
            compute_blocks: 24,
        };
        let creator = PartySecret::generate(&mut rng);
        let tx = Transaction::Stats(Box::new(StatsTx::Consortium(
            Signed::sign(spec, &creator).unwrap(),
        )));
        let mut w = World {
            net,
            cns,
            shares: vec![None, None, None],
            rows: (0..6).map(rows_of).collect(),
            dps,
            schema: schema(),
            querier: PartySecret::generate(&mut rng),
            querier_key: SecretKey::generate(&mut rng),
            consortium: ConsortiumId([0; 32]),
            rng,
            cheat,
            refused: Vec::new(),
            verdicts: None,
            trackers: vec![BTreeMap::new(); 3],
        };
        w.block(vec![tx]);
        let id = w.state().stats().consortia().next().unwrap().id;
        w.consortium = id;
        // Key ceremony and joins, then the complaint window.
        for _ in 0..3 {
            w.tick();
        }
        assert!(w.consortium_ready(), "the consortium's ceremony finished");
        let c = w.state().stats().consortium(&w.consortium).unwrap().clone();
        let next = Height(w.height().0 + 1);
        assert!(!c.serves_at(next), "no query during the complaint window");
        while !w
            .state()
            .stats()
            .consortium(&w.consortium)
            .unwrap()
            .serves_at(Height(w.height().0 + 1))
        {
            w.tick();
        }
        w
    }

    fn state(&self) -> &tabella_ledger::state::LedgerState {
        self.net.vals[0].state()
    }

    fn height(&self) -> Height {
        self.net.chain().height()
    }

    fn consortium_ready(&self) -> bool {
        self.state()
            .stats()
            .consortium(&self.consortium)
            .is_some_and(|c| c.ready() && c.joined.len() == 6)
    }

    /// Commits a block of `txs` (each checked first; refused ones are recorded), with the
    /// verdicts of every validator on the previous block first.
    fn block(&mut self, txs: Vec<Transaction>) {
        let mut all = Vec::new();
        if let Some((judged, bitmaps)) = self.verdicts.take() {
            all.push(Transaction::Verdicts { judged, bitmaps });
        }
        let fixed = all.len();
        all.extend(txs);
        // As a proposer does: a transaction that does not apply in order is left out.
        let block = loop {
            match self.propose(all.clone()) {
                Ok(b) => break b,
                Err(tabella_ledger::Error::InvalidTxInBlock { index, source })
                    if index >= fixed =>
                {
                    self.refused.push(source.to_string());
                    all.remove(index);
                }
                Err(e) => panic!("no block: {e}"),
            }
        };

        let mut bitmaps = Vec::new();
        for v in &mut self.net.vals {
            if let Err(e) = v.vote(&block) {
                panic!("a validator refuses the block: {e}");
            }
            bitmaps.extend(v.verdicts_for(&block.header.hash()));
        }
        if block
            .txs
            .iter()
            .any(|t| !matches!(t, Transaction::Verdicts { .. }))
        {
            self.verdicts = Some((block.header.height, bitmaps));
        }
        self.net.decide(block).expect("block commits");
    }

    /// The round-robin proposer builds the block; if it is down, the next live validator does
    /// (as the consensus engine's next round would).
    fn propose(
        &mut self,
        txs: Vec<Transaction>,
    ) -> Result<tabella_ledger::block::Block, tabella_ledger::Error> {
        let roster = self.net.chain().next_roster().unwrap().clone();
        let who = tabella_ledger::replica::proposer(&roster, self.net.next_height()).unwrap();
        let i = self
            .net
            .vals
            .iter()
            .position(|v| v.key() == who)
            .unwrap_or(0);
        self.net.vals[i].propose(txs)
    }

    fn query_view(&self, id: &QueryId) -> QueryView {
        self.state().stats().query(id).unwrap().view(*id)
    }

    /// Every party does what it owes; one block.
    fn tick(&mut self) {
        let mut txs = Vec::new();
        let height = self.height();
        let c = self
            .state()
            .stats()
            .consortium(&self.consortium)
            .cloned()
            .unwrap();
        for (i, cn) in self.cns.iter().enumerate() {
            if let Some(t) = cn.deal(&c, &mut self.rng).unwrap() {
                txs.push(t);
            }
            if self.shares[i].is_none() && c.key.is_some() {
                self.shares[i] = Some(cn.key_share(&c, &mut self.rng).unwrap().unwrap());
            }
        }
        for d in &self.dps {
            if let Some(t) = d.join(&c).unwrap() {
                txs.push(t);
            }
        }
        let queries: Vec<QueryId> = self.state().stats().queries().map(|(id, _)| *id).collect();
        for qid in queries {
            let q = self.query_view(&qid);
            let proofs = self.state().stats().query(&qid).unwrap().proof_list(qid);
            for (i, d) in self.dps.iter().enumerate() {
                if self.cheat == Cheat::SilentProvider(i) {
                    continue;
                }
                if self.cheat == Cheat::OutOfRange(i) {
                    if let Some(t) = out_of_range_answer(d, &q, height) {
                        txs.push(t);
                    }
                    continue;
                }
                if let Some(t) = d.answer(&q, &self.rows[i], height, &mut self.rng).unwrap() {
                    txs.push(t);
                }
            }
            for (i, cn) in self.cns.iter().enumerate() {
                let Some(share) = &self.shares[i] else {
                    continue;
                };
                let steps = cn
                    .step(
                        &q,
                        &proofs,
                        share,
                        height,
                        self.trackers[i].entry(q.id).or_default(),
                        &mut self.rng,
                    )
                    .unwrap();
                for t in steps {
                    txs.push(corrupt(self.cheat, i, cn, &q, &proofs, t, &mut self.rng));
                }
            }
        }
        let txs = txs
            .into_iter()
            .map(|t| Transaction::Stats(Box::new(t)))
            .collect();
        self.block(txs);
    }

    fn ask(
        &mut self,
        op: Operation,
        predicate: Option<&str>,
        epsilon: (u64, u64),
    ) -> Result<QueryId, String> {
        let sensitivity = tabella_stats::encoding::sensitivity(&op, &self.schema).unwrap();
        let statement = Statement {
            operation: op.clone(),
            predicate: predicate.map(str::to_string),
            schema: self.schema.clone(),
            noise: Some(NoiseSpec {
                mechanism: Mechanism::Laplace,
                epsilon: Rational::new(epsilon.0, epsilon.1).unwrap(),
                delta: None,
                sensitivity,
            }),
            noise_list_len: tabella_stats::layout(&op, &self.schema).unwrap().len,
        };
        let before: Vec<QueryId> = self.state().stats().queries().map(|(q, _)| *q).collect();
        let tx = Transaction::Stats(Box::new(StatsTx::Query(
            Signed::sign(
                QueryRequest {
                    consortium: self.consortium,
                    statement,
                    querier_key: self.querier_key.public_key(),
                },
                &self.querier,
            )
            .unwrap(),
        )));
        let refused = self.refused.len();
        self.block(vec![tx]);
        if self.refused.len() > refused {
            return Err(self.refused.last().unwrap().clone());
        }
        let id = self
            .state()
            .stats()
            .queries()
            .map(|(q, _)| *q)
            .find(|q| !before.contains(q))
            .unwrap();
        Ok(id)
    }

    /// Ticks until the query is answered or failed (bounded).
    fn run(&mut self, id: &QueryId) -> QueryStatus {
        for _ in 0..60 {
            let s = self.query_view(id).status;
            if matches!(s, QueryStatus::Answered { .. } | QueryStatus::Failed { .. }) {
                return s;
            }
            self.tick();
        }
        panic!(
            "the query neither completed nor failed: {:?}",
            self.query_view(id)
        );
    }

    fn decrypt(&self, id: &QueryId, table: &DlogTable) -> QueryResult {
        let q = self.query_view(id);
        let QueryStatus::Answered { result, .. } = q.status else {
            panic!("not answered: {:?}", q.status)
        };
        let scaled = session::decrypt(&self.querier_key, &result, table).unwrap();
        let totals = q.params.unscale(&scaled);
        q.statement.decode(&totals).unwrap()
    }
}

/// Applies the world's cheat to computing node `i`'s message.
fn corrupt(
    cheat: Cheat,
    i: usize,
    cn: &ComputingNodeKeys,
    q: &QueryView,
    proofs: &tabella_ledger::stats::QueryProofs,
    t: StatsTx,
    rng: &mut ChaCha20Rng,
) -> StatsTx {
    let StatsTx::Proof(p) = &t else { return t };
    match (cheat, &p.body) {
        (Cheat::WrongAggregation(j), ProofBody::Aggregation(a))
            if j == i && a.level == AggregationLevel::Providers =>
        {
            // Drops one answer from its inputs but keeps the honest output.
            let mut bad = a.clone();
            bad.inputs.pop();
            StatsTx::Proof(
                SignedProof::sign(q.id, &cn.signing, ProofBody::Aggregation(bad)).unwrap(),
            )
        }
        (Cheat::WrongSwitch(j), ProofBody::KeySwitch(_)) if j == i => {
            // A key switch made with a key share that is not its own: well formed, signed,
            // with a proof, but against the wrong verification share.
            let total = replay(&q.params, proofs, Check::Full)
                .unwrap()
                .total_to_switch()
                .unwrap();
            let index = q.params.node_index(&cn.signing.public()).unwrap();
            let fake = KeyShare::from_parts(index, SecretScalar::random(rng));
            let ctx = proof_context(ProofKind::KeySwitch.label(), &q.id, &cn.signing.public());
            let step = KeySwitchStep::create(&q.params, &fake, &total, &ctx, rng).unwrap();
            StatsTx::Proof(
                SignedProof::sign(q.id, &cn.signing, ProofBody::KeySwitch(step)).unwrap(),
            )
        }
        (Cheat::ForgedShuffle(j, list), ProofBody::Shuffle(step))
            if j == i && list.is_none_or(|l| l == step.list) =>
        {
            // Encryptions of the encoding offset: zero noise once the offset is taken off.
            let plan = q.params.noise.as_ref().unwrap();
            let zero = plan.offset().unwrap();
            let key = &q.params.collective_key.public_key;
            let fake: Vec<_> = (0..step.outputs.len())
                .map(|_| key.encrypt(zero, rng).0)
                .collect();
            let ctx = proof_context(ProofKind::Shuffle.label(), &q.id, &cn.signing.public());
            let forged = ShuffleStep::create(&q.params, step.list, &fake, &ctx, rng).unwrap();
            StatsTx::Proof(
                SignedProof::sign(q.id, &cn.signing, ProofBody::Shuffle(Box::new(forged))).unwrap(),
            )
        }
        _ => t,
    }
}

/// A cheating data provider: a huge count, proven with the honest code for a 32-bit range.
fn out_of_range_answer(d: &DataProvider, q: &QueryView, height: Height) -> Option<StatsTx> {
    let me = d.signing.public();
    let owes = q
        .expected
        .iter()
        .any(|(k, p)| *k == ProofKind::Range && *p == me);
    if !owes || height >= q.answer_deadline {
        return None;
    }
    let mut wide = q.params.clone();
    wide.bits = 32;
    let values = vec![1u64 << 20; q.params.entries];
    let ctx = proof_context(ProofKind::Range.label(), &q.id, &me);
    let s = Submission::create(&wide, &values, &ctx, &mut ChaCha20Rng::seed_from_u64(5)).ok()?;
    Some(StatsTx::Proof(
        SignedProof::sign(q.id, &d.signing, ProofBody::Range(s)).ok()?,
    ))
}

fn plain_count(w: &World, skip: Option<usize>, pred: impl Fn(&Row) -> bool) -> usize {
    w.rows
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, r)| r.iter().filter(|x| pred(x)).count())
        .sum()
}

#[test]
fn honest_queries_answer_with_verdicts_and_budget() {
    let mut w = World::new(1, Cheat::None, 1);
    let table = DlogTable::new(1 << 24).unwrap();
    let id = w
        .ask(Operation::Count, Some("region = 'N'"), (1, 1))
        .unwrap();
    let status = w.run(&id);
    assert!(
        matches!(
            status,
            QueryStatus::Answered {
                verdicts_complete: true,
                ..
            }
        ),
        "{status:?}"
    );
    let QueryResult::Count(n) = w.decrypt(&id, &table) else {
        panic!()
    };
    let exact = 6 * 3; // rows k = 0, 3, 6 of every provider
    assert!((n as i64 - exact).abs() <= 60, "count {n} vs {exact}");

    // Every proof expected came, once; the verdicts are keyed by kind, prover and verifier:
    // key switches and aggregations always verified (1), heavy proofs 1 or 2.
    let e = w.state().stats().query(&id).unwrap();
    assert!(e.missing().is_empty());
    let v = e.verdict_list(id);
    assert_eq!(v.verdicts.len(), e.proofs.len());
    for r in &v.verdicts {
        match r.kind {
            ProofKind::KeySwitch | ProofKind::Aggregation => assert_eq!(r.verdict, Verdict::Valid),
            _ => assert!(matches!(r.verdict, Verdict::Valid | Verdict::NotVerified)),
        }
    }
    assert!(v.verdicts.iter().any(|r| r.verdict == Verdict::NotVerified));
    // The whole record replays with every proof checked, to the same result.
    let audit = replay(&e.params, &e.proof_list(id), Check::Full).unwrap();
    let QueryStatus::Answered { result, .. } = &e.status else {
        panic!()
    };
    assert_eq!(&audit.result().unwrap(), result);

    // Budget: 3 per querier; 1 spent; 2.5 more is refused on chain with the reason.
    let err = w.ask(Operation::Count, None, (5, 2)).unwrap_err();
    assert!(err.contains("over budget"), "{err}");
    let id2 = w
        .ask(
            Operation::Mean {
                column: "age".into(),
            },
            None,
            (3, 4),
        )
        .unwrap();
    assert!(matches!(w.run(&id2), QueryStatus::Answered { .. }));
    let QueryResult::Mean { count, .. } = w.decrypt(&id2, &table) else {
        panic!()
    };
    // The count is scaled up by Δ_max before the noise (of scale Δ_max / ε from each of the 3
    // nodes) is added, so its own noise has scale about 1 / ε per node: beyond 100 has
    // negligible odds.
    assert!((count as i64 - 48).abs() <= 100, "{count}");
    // Mean of age is a count and a sum, both at full sensitivity once scaled: twice ε is charged
    // (1 + 2·0.75 = 2.5 of 3).
    let c = w.state().stats().consortium(&w.consortium).unwrap();
    assert_eq!(c.spent.get(&w.querier.public()), Some(&2_500_000));
    // A query without noise is refused.
    let mut stmt_err = None;
    {
        let statement = Statement {
            operation: Operation::Count,
            predicate: None,
            schema: w.schema.clone(),
            noise: None,
            noise_list_len: 1,
        };
        let tx = Transaction::Stats(Box::new(StatsTx::Query(
            Signed::sign(
                QueryRequest {
                    consortium: w.consortium,
                    statement,
                    querier_key: w.querier_key.public_key(),
                },
                &w.querier,
            )
            .unwrap(),
        )));
        if let Err(e) = w.state().check_tx(&tx) {
            stmt_err = Some(e.to_string());
        }
    }
    assert!(stmt_err.unwrap().contains("noise"));
}

#[test]
fn an_out_of_range_answer_is_excluded_naming_its_provider() {
    let mut w = World::new(1, Cheat::OutOfRange(2), 2);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    let status = w.run(&id);
    assert!(matches!(status, QueryStatus::Answered { .. }), "{status:?}");
    let e = w.state().stats().query(&id).unwrap();
    let bad = w.dps[2].signing.public();
    assert!(e.excluded().contains_key(&bad), "{:?}", e.excluded());
    // Once the answer is excluded, its node aggregates without waiting for the deadline.
    let last_aggregation = e
        .proofs
        .iter()
        .filter(|r| {
            matches!(&r.proof.body, ProofBody::Aggregation(a) if a.level == AggregationLevel::Providers)
        })
        .map(|r| r.height)
        .max()
        .unwrap();
    assert!(
        last_aggregation <= e.answer_deadline,
        "aggregated at {last_aggregation}, the deadline is {}",
        e.answer_deadline
    );
    let table = DlogTable::new(1 << 24).unwrap();
    let QueryResult::Count(n) = w.decrypt(&id, &table) else {
        panic!()
    };
    let exact = plain_count(&w, Some(2), |_| true) as i64;
    assert!((n as i64 - exact).abs() <= 60, "{n} vs {exact}");
    // Any validator that drew the bad proof wrote 0 for it.
    for r in &e.verdict_list(id).verdicts {
        if r.prover == bad {
            assert!(matches!(r.verdict, Verdict::Invalid | Verdict::NotVerified));
        }
    }
}

#[test]
fn a_wrong_aggregation_is_refused_and_the_withholding_node_named_at_the_deadline() {
    let mut w = World::new(1, Cheat::WrongAggregation(1), 3);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    let status = w.run(&id);
    let culprit = w.cns[1].signing.public();
    match status {
        QueryStatus::Failed {
            culprit: c, reason, ..
        } => {
            assert_eq!(c, Some(culprit), "{reason}");
            assert!(reason.contains("aggregation"), "{reason}");
        }
        s => panic!("{s:?}"),
    }
    assert!(
        w.refused
            .iter()
            .any(|r| r.contains(&culprit.to_string()) && r.contains("aggregation")),
        "{:?}",
        w.refused
    );
    // The chain keeps making blocks, and the verdicts say 3 for what never came.
    let h = w.height();
    w.tick();
    assert!(w.height() > h);
    let e = w.state().stats().query(&id).unwrap();
    assert!(e
        .verdict_list(id)
        .not_received
        .contains(&(ProofKind::Aggregation, culprit)));
}

#[test]
fn a_forged_key_switch_fails_the_query_naming_the_node() {
    let mut w = World::new(4, Cheat::WrongSwitch(2), 4);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    let status = w.run(&id);
    let culprit = w.cns[2].signing.public();
    match status {
        QueryStatus::Failed {
            culprit: c, reason, ..
        } => {
            assert_eq!(c, Some(culprit), "{reason}");
            assert!(reason.contains("key-switch"), "{reason}");
        }
        s => panic!("{s:?}"),
    }
    // Every validator verified the key switches and found this one invalid.
    let e = w.state().stats().query(&id).unwrap();
    let zeros = e
        .verdict_list(id)
        .verdicts
        .iter()
        .filter(|r| {
            r.prover == culprit && r.kind == ProofKind::KeySwitch && r.verdict == Verdict::Invalid
        })
        .count();
    assert_eq!(zeros, 4);
}

#[test]
fn a_forged_shuffle_is_disputed_by_the_next_node_and_fails_the_query_naming_it() {
    // The first node shuffles first: the next node checks each list before its own shuffle.
    // The second node forges only its shuffle of the first list, and shuffles the others
    // honestly (in the same block, after it): the forged one is the one disputed.
    // (Seeds for which the validator does not draw the forged proof, so that the nodes alone
    // must catch it; checked below.)
    let mut undrawn = 0;
    for (seed, cheater, list) in [
        (9, 0, None),
        (10, 2, None),
        (9, 1, Some(0)),
        (15, 1, Some(0)),
    ] {
        let mut w = World::new(1, Cheat::ForgedShuffle(cheater, list), seed);
        let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
        let status = w.run(&id);
        let culprit = w.cns[cheater].signing.public();
        match status {
            QueryStatus::Failed {
                culprit: c, reason, ..
            } => {
                assert_eq!(c, Some(culprit), "{reason}");
                assert!(reason.contains("shuffle"), "{reason}");
            }
            s => panic!("cheater {cheater}: {s:?}"),
        }
        // The forged proof itself was disputed: no dispute of a valid proof (one of the
        // cheater's honest shuffles) was refused.
        assert!(
            !w.refused.iter().any(|r| r.contains("is valid")),
            "cheater {cheater}: {:?}",
            w.refused
        );
        // No node switched anything to the querier's key.
        let e = w.state().stats().query(&id).unwrap();
        assert!(
            e.proofs
                .iter()
                .all(|r| r.proof.kind() != ProofKind::KeySwitch),
            "a node switched a total built on a forged shuffle"
        );
        let drawn = e.verdict_list(id).verdicts.iter().any(|r| {
            r.prover == culprit && r.kind == ProofKind::Shuffle && r.verdict == Verdict::Invalid
        });
        if list.is_some() && !drawn {
            undrawn += 1;
        }
    }
    assert!(
        undrawn > 0,
        "every forged shuffle was drawn by the validator"
    );
}

#[test]
fn a_silent_provider_gets_3_and_the_query_completes_without_it() {
    let mut w = World::new(1, Cheat::SilentProvider(4), 5);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    let status = w.run(&id);
    assert!(matches!(status, QueryStatus::Answered { .. }), "{status:?}");
    let e = w.state().stats().query(&id).unwrap();
    let silent = w.dps[4].signing.public();
    assert_eq!(e.missing(), vec![(ProofKind::Range, silent)]);
    let table = DlogTable::new(1 << 24).unwrap();
    let QueryResult::Count(n) = w.decrypt(&id, &table) else {
        panic!()
    };
    let exact = plain_count(&w, Some(4), |_| true) as i64;
    assert!((n as i64 - exact).abs() <= 60, "{n} vs {exact}");
}

#[test]
fn disputes_of_valid_proofs_and_early_aggregations_are_refused() {
    let mut w = World::new(1, Cheat::None, 6);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    w.tick(); // answers and noise lists
    let e = w.state().stats().query(&id).unwrap().clone();
    let valid = e.proofs.first().unwrap().tx;
    let tx = Transaction::Stats(Box::new(StatsTx::Dispute(
        Signed::sign(
            Dispute {
                query: id,
                proof: valid,
            },
            &w.querier,
        )
        .unwrap(),
    )));
    let err = w.state().check_tx(&tx).unwrap_err().to_string();
    assert!(err.contains("is valid"), "{err}");

    // An aggregator that aggregates before its providers answered and before the deadline
    // (front-running them) is refused.
    let mut w = World::new(1, Cheat::None, 7);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    let e = w.state().stats().query(&id).unwrap();
    let cn = &w.cns[0];
    let agg = Aggregation::compute(AggregationLevel::Providers, e.params.entries, vec![]).unwrap();
    let p = SignedProof::sign(id, &cn.signing, ProofBody::Aggregation(agg)).unwrap();
    let err = w
        .state()
        .check_tx(&Transaction::Stats(Box::new(StatsTx::Proof(p))))
        .unwrap_err()
        .to_string();
    assert!(err.contains("before the answer deadline"), "{err}");
}

#[test]
fn a_query_completes_when_a_validator_is_killed_mid_query() {
    let mut w = World::new(4, Cheat::None, 8);
    let id = w.ask(Operation::Count, None, (1, 1)).unwrap();
    w.tick(); // answers and noise lists in
              // One validator of four is killed: it neither votes nor judges; 3 of 4 still commit.
    let killed = w.net.vals.remove(3);
    let status = w.run(&id);
    assert!(matches!(status, QueryStatus::Answered { .. }), "{status:?}");
    let e = w.state().stats().query(&id).unwrap();
    // The verdicts after the kill come from the three live validators only.
    let after: std::collections::BTreeSet<_> = e
        .verdicts
        .iter()
        .filter(|r| r.kind == ProofKind::KeySwitch)
        .map(|r| r.verifier)
        .collect();
    assert_eq!(after.len(), 3);
    assert!(!after.contains(&killed.key()));
    let table = DlogTable::new(1 << 24).unwrap();
    let QueryResult::Count(n) = w.decrypt(&id, &table) else {
        panic!()
    };
    assert!((n as i64 - 48).abs() <= 60, "{n}");
}

#[test]
fn replayed_queries_outsiders_disputes_and_spent_grants_are_refused() {
    let mut w = World::new(1, Cheat::None, 9);
    let op = Operation::Count;
    let statement = Statement {
        noise: Some(NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational::new(1, 1).unwrap(),
            delta: None,
            sensitivity: 1,
        }),
        operation: op,
        predicate: None,
        schema: w.schema.clone(),
        noise_list_len: 1,
    };
    let tx = Transaction::Stats(Box::new(StatsTx::Query(
        Signed::sign(
            QueryRequest {
                consortium: w.consortium,
                statement: statement.clone(),
                querier_key: w.querier_key.public_key(),
            },
            &w.querier,
        )
        .unwrap(),
    )));
    w.block(vec![tx.clone()]);
    let id = *w.state().stats().queries().next().unwrap().0;
    // The same signed request again, in a later block: a replay draining the querier's budget.
    let err = w.state().check_tx(&tx).unwrap_err().to_string();
    assert!(err.contains("replay"), "{err}");
    // A noise list longer than the answer (work for every node, nothing for privacy).
    let mut long = statement.clone();
    long.noise_list_len = 4;
    let tx_long = Transaction::Stats(Box::new(StatsTx::Query(
        Signed::sign(
            QueryRequest {
                consortium: w.consortium,
                statement: long,
                querier_key: w.querier_key.public_key(),
            },
            &w.querier,
        )
        .unwrap(),
    )));
    let err = w.state().check_tx(&tx_long).unwrap_err().to_string();
    assert!(err.contains("exactly"), "{err}");
    // A dispute from a key outside the query.
    w.tick();
    let e = w.state().stats().query(&id).unwrap().clone();
    let outsider = PartySecret::generate(&mut ChaCha20Rng::seed_from_u64(99));
    let tx = Transaction::Stats(Box::new(StatsTx::Dispute(
        Signed::sign(
            Dispute {
                query: id,
                proof: e.proofs[0].tx,
            },
            &outsider,
        )
        .unwrap(),
    )));
    let err = w.state().check_tx(&tx).unwrap_err().to_string();
    assert!(err.contains("not a party"), "{err}");
    assert!(matches!(w.run(&id), QueryStatus::Answered { .. }));
    // Each provider grants 5 in all, over every querier: a fresh querier key gains nothing.
    // One querier spends 3; another asking 2.5 finds every provider's grant short (2 left), and
    // the query is refused, naming the reason.
    let mut other = World::new(1, Cheat::None, 10);
    let _ = other.ask(Operation::Count, None, (3, 1)).unwrap();
    let q2 = PartySecret::generate(&mut ChaCha20Rng::seed_from_u64(7));
    other.querier = q2;
    let id = other.ask(Operation::Count, None, (5, 2)).unwrap_err();
    assert!(id.contains("every data provider's grant is spent"), "{id}");
}
