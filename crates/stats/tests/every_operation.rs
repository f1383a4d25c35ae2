//! Every operation through the encrypted protocol: four data providers answer a WHERE-filtered
//! question over their own rows, every proof is made and audited, the querier decrypts, and the
//! decoded result equals the one decoded from the plaintext totals (noise off).

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tabella_crypto::elgamal::{DlogTable, SecretKey};
use tabella_stats::query::{Buckets, Operation};
use tabella_stats::schema::{Row, Schema};
use tabella_stats::session::{self, Deployment};
use tabella_stats::statement::Statement;

fn schema() -> Schema {
    Schema::new(8)
        .and_then(|s| s.integer("age", 18, 90))
        .and_then(|s| s.integer("score", -10, 10))
        .and_then(|s| s.integer("flag", 0, 1))
        .and_then(|s| s.decimal("bmi", 1, "15", "45"))
        .and_then(|s| s.text("region"))
        .unwrap()
}

fn rows(schema: &Schema, dp: usize) -> Vec<Row> {
    (0..6)
        .map(|i| {
            let k = dp * 6 + i;
            let age = (18 + (k * 37) % 73).to_string();
            let score = ((k * 7) % 21) as i64 - 10;
            let flag = u8::from((k * 5 + 1).is_multiple_of(3));
            let bmi = format!("{}.{}", 15 + (k * 13) % 30, k % 10);
            let region = ["N", "S", "E"][k % 3];
            Row::parse(
                schema,
                &[&age, &score.to_string(), &flag.to_string(), &bmi, region],
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn every_operation_decrypts_to_the_plaintext_result() {
    let schema = schema();
    let s = |c: &str| c.to_string();
    let ops = vec![
        Operation::Sum { column: s("score") },
        Operation::Count,
        Operation::Mean { column: s("bmi") },
        Operation::Variance { column: s("age") },
        Operation::Histogram {
            column: s("age"),
            buckets: Buckets::Width(10),
        },
        Operation::Histogram {
            column: s("region"),
            buckets: Buckets::Values(vec![s("N"), s("S")]),
        },
        Operation::Min { column: s("score") },
        Operation::Max { column: s("score") },
        Operation::Or { column: s("flag") },
        Operation::And { column: s("flag") },
        Operation::Union {
            column: s("region"),
            buckets: Buckets::Values(vec![s("N"), s("S"), s("E")]),
        },
        Operation::Intersection {
            column: s("region"),
            buckets: Buckets::Values(vec![s("N"), s("S"), s("E")]),
        },
        Operation::Cosine {
            a: s("age"),
            b: s("bmi"),
        },
        Operation::LinearRegression {
            features: vec![s("age"), s("score")],
            target: s("bmi"),
        },
        Operation::LogisticRegression {
            features: vec![s("score")],
            target: s("flag"),
        },
        Operation::RSquared {
            features: vec![s("age")],
            target: s("bmi"),
            model: None,
        },
    ];
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let d = Deployment::generate(b"every operation", 3, 3, 4, 1, 8, None, &mut rng).unwrap();
    let data: Vec<Vec<Row>> = (0..4).map(|dp| rows(&schema, dp)).collect();
    let table = DlogTable::new(1 << 26).unwrap();
    for (i, operation) in ops.into_iter().enumerate() {
        let statement = Statement {
            operation: operation.clone(),
            predicate: (i % 2 == 0).then(|| "age > 25 AND region IN ('N', 'S')".to_string()),
            schema: schema.clone(),
            noise: None,
            noise_list_len: 0,
        };
        let querier = SecretKey::generate(&mut rng);
        let who = d.participants(querier.public_key());
        let params = statement.params(&who, nonce(&mut rng)).unwrap();
        let answers: Vec<Vec<u64>> = data.iter().map(|r| statement.answer(r).unwrap()).collect();
        let plain: Vec<i128> = (0..params.entries)
            .map(|e| answers.iter().map(|a| i128::from(a[e])).sum())
            .collect();
        let proofs = session::run(&params, &d.nodes, &d.providers, &answers, &mut rng).unwrap();
        let (_, result) = session::audit(&params, &proofs).unwrap();
        let totals = session::decrypt(&querier, &result, &table).unwrap();
        assert_eq!(totals, plain, "{operation:?}: totals");
        assert_eq!(
            statement.decode(&totals).unwrap(),
            statement.decode(&plain).unwrap(),
            "{operation:?}"
        );
    }
}

/// A fresh query nonce (the ledger's block hash in a deployment).
fn nonce(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut n = [0u8; 32];
    rng.fill_bytes(&mut n);
    n
}
