//! The diabetes table of Efron et al. (test-vectors/diabetes, BSD-3 via scikit-learn) split
//! across ten data providers: mean, variance, a histogram and a linear regression, decoded from
//! the summed encodings and compared with the plaintext answers computed directly from the whole
//! table; the mean, the histogram and the regression also run through the encrypted protocol
//! (range-proved answers, aggregation, key switching) and decrypt to the same totals.

// The reference computations are written with indices, like the formulas they follow.
#![allow(clippy::needless_range_loop)]

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::elgamal::DlogTable;
use tabella_stats::query::{Bucket, Buckets};
use tabella_stats::session::{self, Deployment};
use tabella_stats::{decode, encode, layout, Operation, QueryResult, Row, Schema, Value};

const CSV: &str = include_str!("../../../test-vectors/diabetes/diabetes.csv");
const PROVIDERS: usize = 10;

fn schema() -> Schema {
    Schema::new(50)
        .and_then(|s| s.integer("age", 0, 120))
        .and_then(|s| s.integer("sex", 1, 2))
        .and_then(|s| s.decimal("bmi", 1, "10", "60"))
        .and_then(|s| s.decimal("bp", 2, "40", "160"))
        .and_then(|s| s.integer("target", 0, 400))
        .expect("schema")
}

/// (age, sex, bmi, bp, target) as read, and the rows.
fn table() -> (Vec<[String; 5]>, Vec<Row>) {
    let mut lines = CSV.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let idx = [col("age"), col("sex"), col("bmi"), col("bp"), col("target")];
    let mut raw = Vec::new();
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let fields: [String; 5] = idx.map(|i| f[i].trim().to_string());
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        rows.push(Row::parse(&schema(), &refs).expect("row"));
        raw.push(fields);
    }
    (raw, rows)
}

fn real(text: &str) -> BigRational {
    let d = tabella_stats::Decimal::parse(text).expect("number");
    BigRational::new(BigInt::from(d.units()), BigInt::from(10i64.pow(d.scale())))
}

fn slices(rows: &[Row]) -> Vec<Vec<Row>> {
    let per = rows.len().div_ceil(PROVIDERS);
    rows.chunks(per).map(<[Row]>::to_vec).collect()
}

fn totals(op: &Operation, dps: &[Vec<Row>]) -> (Vec<Vec<u64>>, Vec<i128>) {
    let s = schema();
    let answers: Vec<Vec<u64>> = dps
        .iter()
        .map(|rows| encode(op, &s, rows).expect("encode"))
        .collect();
    let len = layout(op, &s).expect("layout").len;
    let t = (0..len)
        .map(|e| answers.iter().map(|a| i128::from(a[e])).sum())
        .collect();
    (answers, t)
}

/// The same totals through the encrypted protocol: 3 computing nodes, every proof audited.
fn encrypted_totals(op: &Operation, answers: &[Vec<u64>]) -> Vec<i128> {
    let l = layout(op, &schema()).expect("layout");
    let mut rng = ChaCha20Rng::seed_from_u64(442);
    let d = Deployment::generate(
        b"diabetes",
        3,
        3,
        answers.len(),
        l.len,
        l.proof_bits(),
        None,
        &mut rng,
    )
    .expect("deployment");
    let proofs = d.run(answers, &mut rng).expect("run");
    let (_, result) = session::audit(&d.params, &proofs).expect("audit");
    let table = DlogTable::new(1 << 32).expect("table");
    session::decrypt(&d.querier, &result, &table).expect("decrypt")
}

#[test]
fn diabetes_across_ten_providers() {
    let (raw, rows) = table();
    assert_eq!(rows.len(), 442);
    let dps = slices(&rows);
    assert_eq!(dps.len(), PROVIDERS);
    let s = schema();
    let n = BigRational::from_integer(BigInt::from(rows.len()));
    let bmi: Vec<BigRational> = raw.iter().map(|r| real(&r[2])).collect();

    // Mean and variance of the BMI.
    let mean = bmi.iter().fold(BigRational::zero(), |a, b| a + b) / &n;
    let variance = bmi
        .iter()
        .map(|b| (b - &mean) * (b - &mean))
        .fold(BigRational::zero(), |a, b| a + b)
        / &n;
    let op = Operation::Mean {
        column: "bmi".into(),
    };
    let (answers, t) = totals(&op, &dps);
    assert_eq!(encrypted_totals(&op, &answers), t);
    assert_eq!(
        decode(&op, &s, &t).expect("mean"),
        QueryResult::Mean {
            mean: mean.clone(),
            count: 442
        }
    );
    assert!((mean.to_f64().expect("f64") - 26.375792).abs() < 1e-6);
    let op = Operation::Variance {
        column: "bmi".into(),
    };
    let (_, t) = totals(&op, &dps);
    assert_eq!(
        decode(&op, &s, &t).expect("variance"),
        QueryResult::Variance {
            mean,
            variance,
            count: 442
        }
    );

    // Histogram of ages by decade.
    let op = Operation::Histogram {
        column: "age".into(),
        buckets: Buckets::Width(10),
    };
    let (answers, t) = totals(&op, &dps);
    assert_eq!(encrypted_totals(&op, &answers), t);
    let QueryResult::Histogram(h) = decode(&op, &s, &t).expect("histogram") else {
        panic!("not a histogram")
    };
    assert_eq!(h.len(), 13);
    for (j, (bucket, count)) in h.iter().enumerate() {
        let lo = 10 * j as i64;
        let want = raw
            .iter()
            .filter(|r| r[0].parse::<i64>().expect("age") / 10 == j as i64)
            .count() as i128;
        assert_eq!(*count, want, "{bucket:?}");
        if j < 12 {
            assert_eq!(
                bucket,
                &Bucket::Range {
                    min: Value::Integer(lo),
                    max: Value::Integer(lo + 9)
                }
            );
        }
    }
    assert_eq!(h.iter().map(|(_, c)| c).sum::<i128>(), 442);

    // Linear regression of the disease progression on BMI and age (every total stays within
    // the querier's 2^31 discrete-log window).
    let op = Operation::LinearRegression {
        features: vec!["bmi".into(), "age".into()],
        target: "target".into(),
    };
    let (answers, t) = totals(&op, &dps);
    assert_eq!(encrypted_totals(&op, &answers), t);
    let QueryResult::LinearRegression(m) = decode(&op, &s, &t).expect("regression") else {
        panic!("not a regression")
    };
    // Plaintext: the normal equations from the raw table, in exact rationals.
    let x = |r: &[String; 5], i: usize| match i {
        0 => BigRational::from_integer(BigInt::from(1)),
        1 => real(&r[2]),
        _ => real(&r[0]),
    };
    let mut a = vec![vec![BigRational::zero(); 3]; 3];
    let mut b = vec![BigRational::zero(); 3];
    for r in &raw {
        let y = real(&r[4]);
        for i in 0..3 {
            for j in 0..3 {
                a[i][j] += x(r, i) * x(r, j);
            }
            b[i] += x(r, i) * &y;
        }
    }
    let exact = tabella_stats::linalg::solve(a, b).expect("solve");
    assert_eq!(m.exact, exact);
    // Independent f64 least squares (centred, Cramer's rule for the two slopes).
    let f = |r: &[String; 5], i: usize| r[i].parse::<f64>().expect("f64");
    let nf = raw.len() as f64;
    let mean_of = |i: usize| raw.iter().map(|r| f(r, i)).sum::<f64>() / nf;
    let (m1, m2, my) = (mean_of(2), mean_of(0), mean_of(4));
    let cov = |i: usize, mi: f64, j: usize, mj: f64| {
        raw.iter()
            .map(|r| (f(r, i) - mi) * (f(r, j) - mj))
            .sum::<f64>()
    };
    let (s11, s12, s22) = (cov(2, m1, 2, m1), cov(2, m1, 0, m2), cov(0, m2, 0, m2));
    let (s1y, s2y) = (cov(2, m1, 4, my), cov(0, m2, 4, my));
    let det = s11 * s22 - s12 * s12;
    let b1 = (s1y * s22 - s2y * s12) / det;
    let b2 = (s11 * s2y - s12 * s1y) / det;
    let b0 = my - b1 * m1 - b2 * m2;
    for (got, want) in [
        (m.intercept, b0),
        (m.coefficients[0], b1),
        (m.coefficients[1], b2),
    ] {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
}
