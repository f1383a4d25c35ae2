//! Noise end to end: 1,000 sum queries through the whole protocol (every proof made and
//! audited, the computing node's secret noise list encrypted, range-proved and shuffled); the
//! noise the querier finds on top of the exact sum must follow the declared discrete Laplace
//! distribution (a chi-square test at α = 0.001 with a fixed seed), and the same samples must
//! fail against a wrong scale.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tabella_crypto::elgamal::{DlogTable, SecretKey};
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::query::{Operation, QueryResult};
use tabella_stats::schema::{Row, Schema};
use tabella_stats::session::{self, Deployment};
use tabella_stats::statement::Statement;

const RUNS: usize = 1000;

/// Discrete Laplace pmf: `(1 − q)/(1 + q) · q^|x|`, `q = exp(−1/scale)`.
fn pmf(scale: f64, x: i64) -> f64 {
    let q = (-1.0 / scale).exp();
    (1.0 - q) / (1.0 + q) * q.powi(x.unsigned_abs() as i32)
}

/// Pearson's statistic over buckets ≤ −6, −5 … 5, ≥ 6 (13 buckets, 12 degrees of freedom).
fn chi_square(samples: &[i64], scale: f64) -> f64 {
    let mut observed = [0f64; 13];
    for s in samples {
        observed[(s.clamp(&-6, &6) + 6) as usize] += 1.0;
    }
    let mut expected = [0f64; 13];
    for (i, e) in expected.iter_mut().enumerate().take(12).skip(1) {
        *e = pmf(scale, i as i64 - 6);
    }
    let inner: f64 = expected.iter().sum();
    expected[0] = (1.0 - inner) / 2.0;
    expected[12] = (1.0 - inner) / 2.0;
    observed
        .iter()
        .zip(expected)
        .map(|(o, p)| {
            let e = p * samples.len() as f64;
            (o - e) * (o - e) / e
        })
        .sum()
}

/// χ²(12) at α = 0.001.
const CRITICAL: f64 = 32.909;

#[test]
fn a_thousand_noisy_sums_follow_the_declared_laplace() {
    let mut rng = ChaCha20Rng::seed_from_u64(20_261_129);
    let schema = Schema::new(1).unwrap().integer("x", 0, 1).unwrap();
    let statement = Statement {
        operation: Operation::Sum { column: "x".into() },
        predicate: None,
        schema: schema.clone(),
        // Sensitivity 1, ε = 1/2: scale 2.
        noise: Some(NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational::new(1, 2).unwrap(),
            delta: None,
            sensitivity: 1,
        }),
        noise_list_len: 4,
    };
    // One computing node: the noise added is exactly its secret draw (with more nodes it is the
    // sum of every node's draw, each alone of the declared distribution).
    let d = Deployment::generate(b"noisy runs", 1, 1, 2, 1, 1, None, &mut rng).unwrap();
    let rows = [
        vec![Row::parse(&schema, &["1"]).unwrap()],
        vec![Row::parse(&schema, &["0"]).unwrap()],
    ];
    let answers: Vec<Vec<u64>> = rows.iter().map(|r| statement.answer(r).unwrap()).collect();
    let table = DlogTable::new(1 << 12).unwrap();
    let mut noise = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        // Each query comes from a fresh querier key: a fresh seed, a fresh public list.
        let querier = SecretKey::generate(&mut rng);
        let who = d.participants(querier.public_key());
        let params = statement.params(&who, nonce(&mut rng)).unwrap();
        statement.check(&params).unwrap();
        let proofs = session::run(&params, &d.nodes, &d.providers, &answers, &mut rng).unwrap();
        let mut audit = QueryAudit::new(params).unwrap();
        audit.accept_all(&proofs, Check::Full).unwrap();
        let totals = session::decrypt(&querier, &audit.result().unwrap(), &table).unwrap();
        let QueryResult::Sum(sum) = statement.decode(&totals).unwrap() else {
            panic!("a sum query decodes to a sum")
        };
        let sum: i64 = sum.to_string().parse().unwrap();
        noise.push(sum - 1);
    }
    let fit = chi_square(&noise, 2.0);
    assert!(fit < CRITICAL, "χ² = {fit} against the declared scale 2");
    let wrong = chi_square(&noise, 4.0);
    assert!(wrong > CRITICAL, "χ² = {wrong}: scale 4 should be rejected");
}

/// A fresh query nonce (the ledger's block hash in a deployment).
fn nonce(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut n = [0u8; 32];
    rng.fill_bytes(&mut n);
    n
}
