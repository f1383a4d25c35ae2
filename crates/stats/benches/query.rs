//! Criterion benchmarks of the statistics protocol: range-proved answers, key switching, and a
//! whole sum query (every proof made and every proof verified).

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_stats::audit::QueryAudit;
use tabella_stats::params::{proof_context, QueryParams};
use tabella_stats::party::PartySecret;
use tabella_stats::proof::ProofKind;
use tabella_stats::session::{self, ComputingNode, Deployment};
use tabella_stats::submission::Submission;
use tabella_stats::switch::KeySwitchStep;

fn setup(cns: u16, dps: usize, bits: u32) -> (QueryParams, Vec<ComputingNode>, Vec<PartySecret>) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let d = Deployment::generate(b"SELECT sum(x)", cns, cns, dps, 1, bits, None, &mut rng).unwrap();
    (d.params, d.nodes, d.providers)
}

fn answers(c: &mut Criterion) {
    for bits in [16u32, 32] {
        let (params, _, providers) = setup(3, 1, bits);
        let id = params.id().unwrap();
        let ctx = proof_context(ProofKind::Range.label(), &id, &providers[0].public());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        c.bench_function(&format!("stats/answer_{bits}bit_prove"), |b| {
            b.iter(|| Submission::create(&params, &[12345], &ctx, &mut rng).unwrap())
        });
        let s = Submission::create(&params, &[12345], &ctx, &mut rng).unwrap();
        c.bench_function(&format!("stats/answer_{bits}bit_verify"), |b| {
            b.iter(|| s.verify(&params, &ctx).unwrap())
        });
    }
}

fn key_switch(c: &mut Criterion) {
    let (params, nodes, _) = setup(6, 1, 16);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let ct = params.collective_key.public_key.encrypt(5, &mut rng).0;
    let ctx = b"ctx".to_vec();
    let j = params.node_index(&nodes[0].secret.public()).unwrap();
    c.bench_function("stats/key_switch_per_node_prove", |b| {
        b.iter(|| KeySwitchStep::create(&params, &nodes[0].share, &[ct], &ctx, &mut rng).unwrap())
    });
    let step = KeySwitchStep::create(&params, &nodes[0].share, &[ct], &ctx, &mut rng).unwrap();
    c.bench_function("stats/key_switch_per_node_verify", |b| {
        b.iter(|| step.verify(&params, j, &[ct], &ctx).unwrap())
    });
}

fn sum_query(c: &mut Criterion) {
    let (params, nodes, providers) = setup(6, 600, 16);
    let answers: Vec<Vec<u64>> = (0..600u64).map(|i| vec![i % 100]).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut g = c.benchmark_group("stats");
    g.sample_size(10);
    g.bench_function("sum_query_6cn_600dp_prove_and_verify", |b| {
        b.iter(|| {
            let proofs = session::run(&params, &nodes, &providers, &answers, &mut rng).unwrap();
            let mut audit = QueryAudit::new(params.clone()).unwrap();
            audit
                .accept_all(&proofs, tabella_stats::audit::Check::Full)
                .unwrap();
            audit.result().unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, answers, key_switch, sum_query);
criterion_main!(benches);
