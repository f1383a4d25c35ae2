//! Every operation, end to end in the clear: generated rows split across many data providers,
//! each DP filters with a WHERE predicate and encodes its answer, the answers are summed
//! entry-wise (what the homomorphic aggregation computes), the totals are decoded, and the result
//! is compared with a direct plaintext computation over the union of all DPs' rows.

// The reference computations are written with indices, like the formulas they follow.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeSet;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use proptest::prelude::*;
use tabella_stats::encoding::{labels, sensitivity, MAX_LEN};
use tabella_stats::query::{Bucket, Buckets, LinearModel};
use tabella_stats::{
    decode, encode, layout, Decimal, Error, Operation, Predicate, QueryResult, Row, Schema, Value,
};

const MAX_ROWS: u64 = 1000;

fn schema() -> Schema {
    Schema::new(MAX_ROWS)
        .and_then(|s| s.integer("age", 0, 120))
        .and_then(|s| s.decimal("temp", 2, "-40", "50"))
        .and_then(|s| s.integer("income", -1000, 100_000))
        .and_then(|s| s.integer("flag", 0, 1))
        .and_then(|s| s.text("region"))
        .and_then(|s| s.decimal("x1", 3, "-2", "2"))
        .and_then(|s| s.decimal("x2", 3, "-2", "2"))
        .expect("schema")
}

const REGIONS: [&str; 5] = ["N", "S", "E", "W", "Zürich"];

/// One generated row, as plain integers (decimal columns in units).
#[derive(Clone, Copy, Debug)]
struct Raw {
    age: i64,
    temp: i64,
    income: i64,
    flag: i64,
    region: usize,
    x1: i64,
    x2: i64,
}

impl Raw {
    fn row(&self) -> Row {
        Row::new(
            &schema(),
            vec![
                Value::Integer(self.age),
                Value::Decimal(Decimal::new(self.temp, 2).expect("d")),
                Value::Integer(self.income),
                Value::Integer(self.flag),
                Value::Text(REGIONS[self.region].to_string()),
                Value::Decimal(Decimal::new(self.x1, 3).expect("d")),
                Value::Decimal(Decimal::new(self.x2, 3).expect("d")),
            ],
        )
        .expect("row")
    }

    /// The real value of a numeric column.
    fn real(&self, column: &str) -> BigRational {
        let (units, scale) = match column {
            "age" => (self.age, 0),
            "temp" => (self.temp, 2),
            "income" => (self.income, 0),
            "flag" => (self.flag, 0),
            "x1" => (self.x1, 3),
            "x2" => (self.x2, 3),
            _ => panic!("{column}"),
        };
        BigRational::new(BigInt::from(units), BigInt::from(10i64.pow(scale)))
    }

    fn f(&self, column: &str) -> f64 {
        self.real(column).to_f64().expect("f64")
    }
}

/// Rows whose income depends linearly on age and temp (plus noise) and whose flag depends on
/// x1 − x2, so regressions have something to find.
fn arb_raw() -> impl Strategy<Value = Raw> {
    (
        0i64..=120,
        -4000i64..=5000,
        -300i64..=300,
        0usize..5,
        -2000i64..=2000,
        -2000i64..=2000,
        0u8..10,
    )
        .prop_map(|(age, temp, noise, region, x1, x2, coin)| {
            let income = (400 * age - 3 * temp / 10 + noise).clamp(-1000, 100_000);
            let flag = i64::from((x1 - x2 > 0) != (coin == 0));
            Raw {
                age,
                temp,
                income,
                flag,
                region,
                x1,
                x2,
            }
        })
}

/// Rows, and for each row the data provider holding it.
fn arb_split() -> impl Strategy<Value = (Vec<Raw>, usize, Vec<usize>)> {
    (1usize..=12, prop::collection::vec(arb_raw(), 0..120)).prop_flat_map(|(dps, rows)| {
        let n = rows.len();
        (Just(rows), Just(dps), prop::collection::vec(0..dps, n..=n))
    })
}

fn by_dp(rows: &[Raw], dps: usize, owner: &[usize]) -> Vec<Vec<Raw>> {
    let mut out = vec![Vec::new(); dps];
    for (r, o) in rows.iter().zip(owner) {
        out[*o].push(*r);
    }
    out
}

/// Encodes at every DP (after its WHERE filter), checks every entry against the layout, sums,
/// decodes.
fn run(
    op: &Operation,
    dps: &[Vec<Raw>],
    predicate: Option<&Predicate>,
) -> Result<QueryResult, Error> {
    let s = schema();
    let l = layout(op, &s)?;
    let mut totals = vec![0i128; l.len];
    for dp in dps {
        let rows: Vec<Row> = dp.iter().map(Raw::row).collect();
        let matching: Vec<&Row> = match predicate {
            Some(p) => p.filter(&rows)?,
            None => rows.iter().collect(),
        };
        let answer = encode(op, &s, matching)?;
        assert_eq!(answer.len(), l.len);
        for (t, v) in totals.iter_mut().zip(&answer) {
            assert!(*v <= l.max_entry(), "entry {v} above 2^{} - 1", l.bits);
            *t += i128::from(*v);
        }
    }
    decode(op, &s, &totals)
}

/// Whether the points (with the intercept, the rows of X) have rank below 3: fewer than three
/// distinct points, or all of them on one line.
fn collinear(points: impl Iterator<Item = (i64, i64)>) -> bool {
    let pts: Vec<(i64, i64)> = points.collect::<BTreeSet<_>>().into_iter().collect();
    if pts.len() < 3 {
        return true;
    }
    let (x0, y0) = pts[0];
    let (x1, y1) = pts[1];
    pts.iter()
        .all(|(x, y)| (x - x0) as i128 * (y1 - y0) as i128 == (y - y0) as i128 * (x1 - x0) as i128)
}

fn sum(rows: &[Raw], f: impl Fn(&Raw) -> BigRational) -> BigRational {
    rows.iter().fold(BigRational::zero(), |acc, r| acc + f(r))
}

fn q(n: i64) -> BigRational {
    BigRational::from_integer(BigInt::from(n))
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * scale.max(a.abs()).max(b.abs()).max(f64::MIN_POSITIVE)
}

/// Independent f64 least squares: centred normal equations, Gaussian elimination with partial
/// pivoting. Returns [intercept, β…].
fn ols_f64(rows: &[Raw], features: &[&str], target: &str) -> Vec<f64> {
    let n = rows.len() as f64;
    let k = features.len();
    let mean = |c: &str| rows.iter().map(|r| r.f(c)).sum::<f64>() / n;
    let mx: Vec<f64> = features.iter().map(|c| mean(c)).collect();
    let my = mean(target);
    let mut a = vec![vec![0.0; k + 1]; k];
    for i in 0..k {
        for j in 0..k {
            a[i][j] = rows
                .iter()
                .map(|r| (r.f(features[i]) - mx[i]) * (r.f(features[j]) - mx[j]))
                .sum();
        }
        a[i][k] = rows
            .iter()
            .map(|r| (r.f(features[i]) - mx[i]) * (r.f(target) - my))
            .sum();
    }
    for c in 0..k {
        let p = (c..k)
            .max_by(|x, y| a[*x][c].abs().total_cmp(&a[*y][c].abs()))
            .expect("pivot");
        a.swap(c, p);
        for r in 0..k {
            if r != c {
                let f = a[r][c] / a[c][c];
                for j in c..=k {
                    a[r][j] -= f * a[c][j];
                }
            }
        }
    }
    let beta: Vec<f64> = (0..k).map(|i| a[i][k] / a[i][i]).collect();
    let intercept = my - beta.iter().zip(&mx).map(|(b, m)| b * m).sum::<f64>();
    let mut out = vec![intercept];
    out.extend(beta);
    out
}

/// Exact least squares from the raw rows (no shifts): Σ over rows of x xᵀ and x y in rationals.
fn ols_exact(rows: &[Raw], features: &[&str], target: &str, logistic: bool) -> Vec<BigRational> {
    let k = features.len();
    let x = |r: &Raw, i: usize| {
        if i == 0 {
            q(1)
        } else {
            r.real(features[i - 1])
        }
    };
    let mut a = vec![vec![BigRational::zero(); k + 1]; k + 1];
    let mut b = vec![BigRational::zero(); k + 1];
    for r in rows {
        let y = if logistic {
            q(2) * r.real(target) - q(1)
        } else {
            r.real(target)
        };
        for i in 0..=k {
            for j in 0..=k {
                a[i][j] += x(r, i) * x(r, j);
            }
            b[i] += x(r, i) * &y;
        }
    }
    if logistic {
        b = b.into_iter().map(|v| v * q(2)).collect();
    }
    tabella_stats::linalg::solve(a, b).expect("solve")
}

fn check_model(m: &LinearModel, exact: &[BigRational], f64_ref: &[f64]) {
    assert_eq!(m.exact, exact);
    let got: Vec<f64> = std::iter::once(m.intercept)
        .chain(m.coefficients.iter().copied())
        .collect();
    let norm = f64_ref.iter().fold(0f64, |a, v| a.max(v.abs()));
    for (g, r) in got.iter().zip(f64_ref) {
        assert!(close(*g, *r, norm), "{got:?} vs {f64_ref:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn moments_equal_the_plaintext((rows, dps, owner) in arb_split()) {
        let split = by_dp(&rows, dps, &owner);
        let n = rows.len() as i64;

        // count
        prop_assert_eq!(run(&Operation::Count, &split, None).expect("count"), QueryResult::Count(n.into()));

        // sum, on a non-negative, a shifted integer and a shifted decimal column
        for c in ["age", "income", "temp", "x1"] {
            let got = run(&Operation::Sum { column: c.into() }, &split, None).expect("sum");
            prop_assert_eq!(got, QueryResult::Sum(sum(&rows, |r| r.real(c))));
        }

        // mean and variance
        for c in ["age", "temp", "income"] {
            let mean_op = Operation::Mean { column: c.into() };
            let var_op = Operation::Variance { column: c.into() };
            if rows.is_empty() {
                prop_assert!(matches!(run(&mean_op, &split, None), Err(Error::Undefined(_))));
                prop_assert!(matches!(run(&var_op, &split, None), Err(Error::Undefined(_))));
                continue;
            }
            let mean = sum(&rows, |r| r.real(c)) / q(n);
            let var = sum(&rows, |r| {
                let d = r.real(c) - &mean;
                &d * &d
            }) / q(n);
            prop_assert_eq!(
                run(&mean_op, &split, None).expect("mean"),
                QueryResult::Mean { mean: mean.clone(), count: n.into() }
            );
            prop_assert_eq!(
                run(&var_op, &split, None).expect("variance"),
                QueryResult::Variance { mean, variance: var, count: n.into() }
            );
        }

        // cosine similarity
        for (a, b) in [("age", "income"), ("temp", "x1"), ("x1", "x1")] {
            let op = Operation::Cosine { a: a.into(), b: b.into() };
            let ab: f64 = rows.iter().map(|r| r.f(a) * r.f(b)).sum();
            let aa: f64 = rows.iter().map(|r| r.f(a) * r.f(a)).sum();
            let bb: f64 = rows.iter().map(|r| r.f(b) * r.f(b)).sum();
            match run(&op, &split, None) {
                Ok(QueryResult::Cosine(c)) => {
                    let want = ab / (aa.sqrt() * bb.sqrt());
                    prop_assert!(close(c, want, 1.0), "{} vs {}", c, want);
                }
                Err(Error::Undefined(_)) => prop_assert!(aa == 0.0 || bb == 0.0),
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }

    #[test]
    fn regressions_equal_the_plaintext((rows, dps, owner) in arb_split()) {
        let split = by_dp(&rows, dps, &owner);
        let features = ["age", "temp"];
        let op = Operation::LinearRegression {
            features: features.iter().map(|f| f.to_string()).collect(),
            target: "income".into(),
        };
        match run(&op, &split, None) {
            Ok(QueryResult::LinearRegression(m)) => {
                check_model(&m, &ols_exact(&rows, &features, "income", false), &ols_f64(&rows, &features, "income"));
                // R² of the fit, and of the fitted model given back as a model.
                let fitted = Operation::RSquared {
                    features: features.iter().map(|f| f.to_string()).collect(),
                    target: "income".into(),
                    model: None,
                };
                let given = Operation::RSquared {
                    features: features.iter().map(|f| f.to_string()).collect(),
                    target: "income".into(),
                    model: Some(std::iter::once(m.intercept).chain(m.coefficients.iter().copied()).collect()),
                };
                let beta: Vec<f64> = std::iter::once(m.intercept).chain(m.coefficients.iter().copied()).collect();
                let n = rows.len() as f64;
                let my = rows.iter().map(|r| r.f("income")).sum::<f64>() / n;
                let ss_tot: f64 = rows.iter().map(|r| (r.f("income") - my).powi(2)).sum();
                let ss_res: f64 = rows.iter().map(|r| {
                    let pred = beta[0] + beta[1] * r.f("age") + beta[2] * r.f("temp");
                    (r.f("income") - pred).powi(2)
                }).sum();
                let want = 1.0 - ss_res / ss_tot;
                for op in [fitted, given] {
                    match run(&op, &split, None) {
                        Ok(QueryResult::RSquared { r_squared, .. }) => {
                            prop_assert!((r_squared - want).abs() <= 1e-9, "{} vs {}", r_squared, want);
                        }
                        other => prop_assert!(false, "{:?}", other),
                    }
                }
            }
            Err(Error::Singular { dimension: 3 }) => {
                // The feature points are on one line: the plain system is singular too.
                prop_assert!(collinear(rows.iter().map(|r| (r.age, r.temp))));
            }
            other => prop_assert!(false, "{:?}", other),
        }

        let lfeatures = ["x1", "x2"];
        let lop = Operation::LogisticRegression {
            features: lfeatures.iter().map(|f| f.to_string()).collect(),
            target: "flag".into(),
        };
        match run(&lop, &split, None) {
            Ok(QueryResult::LogisticRegression(m)) => {
                let exact = ols_exact(&rows, &lfeatures, "flag", true);
                prop_assert_eq!(&m.exact, &exact);
                // The documented bound: |true loss − approximate loss| ≤ Σ z⁴/192.
                let w: Vec<f64> = std::iter::once(m.intercept).chain(m.coefficients.iter().copied()).collect();
                let (mut true_loss, mut approx, mut bound) = (0.0, 0.0, 0.0);
                for r in &rows {
                    let y = 2.0 * r.f("flag") - 1.0;
                    let z = y * (w[0] + w[1] * r.f("x1") + w[2] * r.f("x2"));
                    true_loss += (1.0 + (-z).exp()).ln();
                    approx += std::f64::consts::LN_2 - z / 2.0 + z * z / 8.0;
                    bound += z.powi(4) / 192.0;
                }
                prop_assert!((true_loss - approx).abs() <= bound * (1.0 + 1e-9) + 1e-9,
                    "loss {} approx {} bound {}", true_loss, approx, bound);
            }
            Err(Error::Singular { dimension: 3 }) => {
                prop_assert!(collinear(rows.iter().map(|r| (r.x1, r.x2))));
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn frequencies_and_sets_equal_the_plaintext((rows, dps, owner) in arb_split()) {
        let split = by_dp(&rows, dps, &owner);

        // histogram with width buckets on an integer column
        let op = Operation::Histogram { column: "age".into(), buckets: Buckets::Width(10) };
        let QueryResult::Histogram(h) = run(&op, &split, None).expect("hist") else { panic!() };
        prop_assert_eq!(h.len(), 13);
        for (j, (_, count)) in h.iter().enumerate() {
            let want = rows.iter().filter(|r| r.age as usize / 10 == j).count() as i128;
            prop_assert_eq!(*count, want);
        }

        // histogram with width buckets on a shifted decimal column
        let op = Operation::Histogram { column: "temp".into(), buckets: Buckets::Width(1000) };
        let QueryResult::Histogram(h) = run(&op, &split, None).expect("hist") else { panic!() };
        for (j, (_, count)) in h.iter().enumerate() {
            let want = rows.iter().filter(|r| ((r.temp + 4000) / 1000) as usize == j).count() as i128;
            prop_assert_eq!(*count, want);
        }

        // histogram over listed text values, with the other bucket
        let listed = ["N", "S", "Zürich"];
        let op = Operation::Histogram {
            column: "region".into(),
            buckets: Buckets::Values(listed.iter().map(|s| s.to_string()).collect()),
        };
        let QueryResult::Histogram(h) = run(&op, &split, None).expect("hist") else { panic!() };
        for (i, l) in listed.iter().enumerate() {
            prop_assert_eq!(&h[i].0, &Bucket::Value(Value::Text(l.to_string())));
            prop_assert_eq!(h[i].1, rows.iter().filter(|r| REGIONS[r.region] == *l).count() as i128);
        }
        prop_assert_eq!(&h[3], &(Bucket::Other, rows.iter().filter(|r| !listed.contains(&REGIONS[r.region])).count() as i128));

        // min and max
        let min = rows.iter().map(|r| r.age).min().map(Value::Integer);
        let max = rows.iter().map(|r| r.age).max().map(Value::Integer);
        prop_assert_eq!(run(&Operation::Min { column: "age".into() }, &split, None).expect("min"), QueryResult::Min(min));
        prop_assert_eq!(run(&Operation::Max { column: "age".into() }, &split, None).expect("max"), QueryResult::Max(max));

        // boolean OR / AND
        prop_assert_eq!(run(&Operation::Or { column: "flag".into() }, &split, None).expect("or"),
            QueryResult::Bool(rows.iter().any(|r| r.flag == 1)));
        prop_assert_eq!(run(&Operation::And { column: "flag".into() }, &split, None).expect("and"),
            QueryResult::Bool(rows.iter().all(|r| r.flag == 1)));

        // set union over listed values, set intersection over width buckets
        let op = Operation::Union {
            column: "region".into(),
            buckets: Buckets::Values(REGIONS.iter().map(|s| s.to_string()).collect()),
        };
        let want: Vec<Bucket> = REGIONS.iter().enumerate()
            .filter(|(i, _)| rows.iter().any(|r| r.region == *i))
            .map(|(_, s)| Bucket::Value(Value::Text(s.to_string())))
            .collect();
        prop_assert_eq!(run(&op, &split, None).expect("union"), QueryResult::Set(want));

        let op = Operation::Intersection { column: "age".into(), buckets: Buckets::Width(40) };
        let QueryResult::Set(got) = run(&op, &split, None).expect("intersection") else { panic!() };
        let sets: Vec<BTreeSet<i64>> = split.iter().map(|dp| dp.iter().map(|r| r.age / 40).collect()).collect();
        let want: Vec<i64> = (0..=3).filter(|b| sets.iter().all(|s| s.contains(b))).collect();
        let got_lo: Vec<i64> = got.iter().map(|b| match b {
            Bucket::Range { min: Value::Integer(lo), .. } | Bucket::Value(Value::Integer(lo)) => lo / 40,
            other => panic!("{other:?}"),
        }).collect();
        prop_assert_eq!(got_lo, want);
    }

    #[test]
    fn where_predicates_select_the_same_rows((rows, dps, owner) in arb_split()) {
        let split = by_dp(&rows, dps, &owner);
        let p = Predicate::parse("age > 40 AND region IN ('N', 'S') OR NOT temp >= -10.5", &schema()).expect("p");
        let keep = |r: &Raw| (r.age > 40 && (r.region == 0 || r.region == 1)) || r.temp < -1050;
        let kept: Vec<Raw> = rows.iter().copied().filter(keep).collect();
        prop_assert_eq!(run(&Operation::Count, &split, Some(&p)).expect("count"), QueryResult::Count(kept.len() as i128));
        prop_assert_eq!(
            run(&Operation::Sum { column: "income".into() }, &split, Some(&p)).expect("sum"),
            QueryResult::Sum(sum(&kept, |r| r.real("income")))
        );
    }

    #[test]
    fn noisy_totals_never_panic(noise in prop::collection::vec(-1_000_000i128..1_000_000, 0..40), which in 0usize..16) {
        let ops = all_ops();
        let op = &ops[which % ops.len()];
        let l = layout(op, &schema()).expect("layout");
        let mut totals = vec![0i128; l.len];
        for (t, n) in totals.iter_mut().zip(noise.iter().cycle()) {
            *t = *n;
        }
        // Any result or a typed error; never a panic.
        let _ = decode(op, &schema(), &totals);
    }
}

fn all_ops() -> Vec<Operation> {
    let s = |v: &str| v.to_string();
    vec![
        Operation::Count,
        Operation::Sum { column: s("temp") },
        Operation::Mean { column: s("temp") },
        Operation::Variance {
            column: s("income"),
        },
        Operation::Histogram {
            column: s("age"),
            buckets: Buckets::Width(7),
        },
        Operation::Histogram {
            column: s("region"),
            buckets: Buckets::Values(vec![s("N")]),
        },
        Operation::Min { column: s("age") },
        Operation::Max { column: s("age") },
        Operation::Or { column: s("flag") },
        Operation::And { column: s("flag") },
        Operation::Union {
            column: s("age"),
            buckets: Buckets::Width(30),
        },
        Operation::Intersection {
            column: s("region"),
            buckets: Buckets::Values(vec![s("N"), s("S")]),
        },
        Operation::Cosine {
            a: s("temp"),
            b: s("x2"),
        },
        Operation::LinearRegression {
            features: vec![s("x1"), s("temp")],
            target: s("income"),
        },
        Operation::LogisticRegression {
            features: vec![s("x1"), s("x2")],
            target: s("flag"),
        },
        Operation::RSquared {
            features: vec![s("x1")],
            target: s("temp"),
            model: Some(vec![1.0, -0.5]),
        },
    ]
}

#[test]
fn many_providers_large_sample() {
    // 50 DPs, 40 rows each, deterministic data: the same comparisons at a larger size.
    let mut rows = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: i64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as i64
    };
    for _ in 0..2000 {
        let age = next(121);
        let temp = next(9001) - 4000;
        let x1 = next(4001) - 2000;
        let x2 = next(4001) - 2000;
        let income = (400 * age - 3 * temp / 10 + next(601) - 300).clamp(-1000, 100_000);
        let flag = i64::from(x1 - x2 + next(1001) - 500 > 0);
        rows.push(Raw {
            age,
            temp,
            income,
            flag,
            region: next(5) as usize,
            x1,
            x2,
        });
    }
    let split: Vec<Vec<Raw>> = rows.chunks(40).map(<[Raw]>::to_vec).collect();
    assert_eq!(split.len(), 50);
    let features = ["age", "temp"];
    let QueryResult::LinearRegression(m) = run(
        &Operation::LinearRegression {
            features: features.iter().map(|f| f.to_string()).collect(),
            target: "income".into(),
        },
        &split,
        None,
    )
    .expect("linreg") else {
        panic!()
    };
    check_model(
        &m,
        &ols_exact(&rows, &features, "income", false),
        &ols_f64(&rows, &features, "income"),
    );
    // The generating model is income ≈ 400·age − 30·temp.
    assert!((m.coefficients[0] - 400.0).abs() < 2.0, "{m:?}");
    assert!((m.coefficients[1] + 30.0).abs() < 2.0, "{m:?}");

    let QueryResult::LogisticRegression(w) = run(
        &Operation::LogisticRegression {
            features: vec!["x1".into(), "x2".into()],
            target: "flag".into(),
        },
        &split,
        None,
    )
    .expect("logreg") else {
        panic!()
    };
    // flag = [x1 − x2 + noise > 0]: positive weight on x1, negative on x2, about equal size.
    assert!(w.coefficients[0] > 0.5 && w.coefficients[1] < -0.5, "{w:?}");
    assert!(
        (w.coefficients[0] + w.coefficients[1]).abs() < 0.3 * w.coefficients[0],
        "{w:?}"
    );
    // It classifies most rows correctly.
    let correct = rows
        .iter()
        .filter(|r| {
            (w.intercept + w.coefficients[0] * r.f("x1") + w.coefficients[1] * r.f("x2") > 0.0)
                == (r.flag == 1)
        })
        .count();
    assert!(correct > 1700, "{correct} of 2000");

    let QueryResult::Variance {
        mean,
        variance,
        count,
    } = run(
        &Operation::Variance {
            column: "temp".into(),
        },
        &split,
        None,
    )
    .expect("var")
    else {
        panic!()
    };
    assert_eq!(count, 2000);
    let n = q(2000);
    let want_mean = sum(&rows, |r| r.real("temp")) / &n;
    assert_eq!(mean, want_mean);
    assert_eq!(
        variance,
        sum(&rows, |r| (r.real("temp") - &want_mean)
            * (r.real("temp") - &want_mean))
            / n
    );
}

#[test]
fn layouts_are_as_documented() {
    let s = schema();
    let case = |op: Operation, len: usize, bits: u32, want: &[&str]| {
        let l = layout(&op, &s).expect("layout");
        assert_eq!((l.len, l.bits), (len, bits), "{op:?}");
        assert_eq!(labels(&op, &s).expect("labels"), want, "{op:?}");
    };
    // 1000 rows × 120 < 2^17.
    case(
        Operation::Sum {
            column: "age".into(),
        },
        1,
        17,
        &["Σ age"],
    );
    // temp ∈ [−4000, 5000] units: shifted by 4000, range 9000; 9·10^6 < 2^24.
    case(
        Operation::Sum {
            column: "temp".into(),
        },
        2,
        24,
        &["n", "Σ (temp+4000)"],
    );
    case(Operation::Count, 1, 10, &["n"]);
    case(
        Operation::Mean {
            column: "age".into(),
        },
        2,
        17,
        &["n", "Σ age"],
    );
    // 1000 × 120² = 1.44·10^7 < 2^24.
    case(
        Operation::Variance {
            column: "age".into(),
        },
        3,
        24,
        &["n", "Σ age", "Σ age·age"],
    );
    // x1 ∈ [−2000, 2000] units is shifted by 2000; 1000 × 4000² < 2^34.
    case(
        Operation::Cosine {
            a: "age".into(),
            b: "x1".into(),
        },
        6,
        34,
        &[
            "n",
            "Σ age",
            "Σ (x1+2000)",
            "Σ age·age",
            "Σ age·(x1+2000)",
            "Σ (x1+2000)·(x1+2000)",
        ],
    );
    case(
        Operation::LinearRegression {
            features: vec!["age".into()],
            target: "flag".into(),
        },
        5,
        24,
        &["n", "Σ age", "Σ flag", "Σ age·age", "Σ age·flag"],
    );
    case(
        Operation::Histogram {
            column: "region".into(),
            buckets: Buckets::Values(vec!["N".into(), "it's".into()]),
        },
        3,
        10,
        &[
            "count region = 'N'",
            "count region = 'it''s'",
            "count region other",
        ],
    );
    case(
        Operation::Histogram {
            column: "age".into(),
            buckets: Buckets::Width(50),
        },
        3,
        10,
        &[
            "count age in [0, 49]",
            "count age in [50, 99]",
            "count age in [100, 120]",
        ],
    );
    case(
        Operation::Mean {
            column: "temp".into(),
        },
        2,
        24,
        &["n", "Σ (temp+4000)"],
    );
    // 1000 × 9000² < 2^37.
    case(
        Operation::Variance {
            column: "temp".into(),
        },
        3,
        37,
        &["n", "Σ (temp+4000)", "Σ (temp+4000)·(temp+4000)"],
    );
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    case(
        Operation::LinearRegression {
            features: strings(&["age", "temp"]),
            target: "income".into(),
        },
        9,
        40,
        &[
            "n",
            "Σ age",
            "Σ (temp+4000)",
            "Σ (income+1000)",
            "Σ age·age",
            "Σ age·(temp+4000)",
            "Σ age·(income+1000)",
            "Σ (temp+4000)·(temp+4000)",
            "Σ (temp+4000)·(income+1000)",
        ],
    );
    case(
        Operation::LogisticRegression {
            features: strings(&["x1", "x2"]),
            target: "flag".into(),
        },
        9,
        34,
        &[
            "n",
            "Σ (x1+2000)",
            "Σ (x2+2000)",
            "Σ flag",
            "Σ (x1+2000)·(x1+2000)",
            "Σ (x1+2000)·(x2+2000)",
            "Σ (x1+2000)·flag",
            "Σ (x2+2000)·(x2+2000)",
            "Σ (x2+2000)·flag",
        ],
    );
    case(
        Operation::RSquared {
            features: strings(&["age"]),
            target: "income".into(),
            model: None,
        },
        6,
        44,
        &[
            "n",
            "Σ age",
            "Σ (income+1000)",
            "Σ age·age",
            "Σ age·(income+1000)",
            "Σ (income+1000)·(income+1000)",
        ],
    );
    case(
        Operation::Or {
            column: "flag".into(),
        },
        1,
        1,
        &["has flag = 1"],
    );
    case(
        Operation::And {
            column: "flag".into(),
        },
        1,
        1,
        &["has flag = 0"],
    );
    case(
        Operation::Intersection {
            column: "temp".into(),
            buckets: Buckets::Values(vec!["-1.5".into(), "20".into()]),
        },
        2,
        1,
        &["lacks temp = -1.50", "lacks temp = 20.00"],
    );
    let min = layout(
        &Operation::Min {
            column: "age".into(),
        },
        &s,
    )
    .expect("min");
    assert_eq!((min.len, min.bits, min.proof_bits()), (121, 1, 8));
    assert_eq!(
        sensitivity(
            &Operation::Variance {
                column: "age".into()
            },
            &s
        )
        .expect("s"),
        14_400
    );
    assert_eq!(
        sensitivity(
            &Operation::Sum {
                column: "temp".into()
            },
            &s
        )
        .expect("s"),
        9000
    );
    assert_eq!(
        sensitivity(
            &Operation::Histogram {
                column: "age".into(),
                buckets: Buckets::Width(1)
            },
            &s
        )
        .expect("s"),
        1
    );
}

#[test]
fn operations_reject_wrong_columns_and_sizes() {
    let s = schema();
    let err = |op: Operation| layout(&op, &s).expect_err("must fail");
    assert!(matches!(
        err(Operation::Mean {
            column: "region".into()
        }),
        Error::TypeMismatch { .. }
    ));
    assert!(
        matches!(err(Operation::Sum { column: "weight".into() }), Error::UnknownColumn { ref known, .. } if known.len() == 7)
    );
    assert!(matches!(
        err(Operation::Or {
            column: "age".into()
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::LogisticRegression {
            features: vec!["x1".into()],
            target: "income".into()
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::Min {
            column: "temp".into()
        }),
        Error::LayoutTooLarge(_)
    ));
    assert!(matches!(
        err(Operation::Histogram {
            column: "temp".into(),
            buckets: Buckets::Width(0)
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::Histogram {
            column: "region".into(),
            buckets: Buckets::Width(2)
        }),
        Error::TypeMismatch { .. }
    ));
    assert!(matches!(
        err(Operation::Histogram {
            column: "region".into(),
            buckets: Buckets::Values(vec!["N".into(), "N".into()])
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::Union {
            column: "age".into(),
            buckets: Buckets::Values(vec!["121".into()])
        }),
        Error::OutOfDomain { .. }
    ));
    assert!(matches!(
        err(Operation::Union {
            column: "age".into(),
            buckets: Buckets::Values(vec!["1.5".into()])
        }),
        Error::InvalidNumber { .. }
    ));
    assert!(matches!(
        err(Operation::Union {
            column: "age".into(),
            buckets: Buckets::Values(vec![])
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::LinearRegression {
            features: vec![],
            target: "income".into()
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::RSquared {
            features: vec!["age".into()],
            target: "income".into(),
            model: Some(vec![1.0])
        }),
        Error::InvalidOperation(_)
    ));
    assert!(matches!(
        err(Operation::RSquared {
            features: vec!["age".into()],
            target: "income".into(),
            model: Some(vec![1.0, f64::NAN])
        }),
        Error::InvalidOperation(_)
    ));
    // Entries that could exceed 64 bits.
    let wide = Schema::new(u64::MAX)
        .and_then(|s| s.integer("v", i64::MIN, i64::MAX))
        .expect("s");
    assert!(matches!(
        layout(&Operation::Variance { column: "v".into() }, &wide),
        Err(Error::LayoutTooLarge(_))
    ));
    assert!(matches!(
        layout(&Operation::Sum { column: "v".into() }, &wide),
        Err(Error::LayoutTooLarge(_))
    ));
    assert!(layout(&Operation::Count, &wide).is_ok());
    let many = Schema::new(1)
        .and_then(|s| s.integer("v", 0, MAX_LEN as i64))
        .expect("s");
    assert!(matches!(
        layout(&Operation::Min { column: "v".into() }, &many),
        Err(Error::LayoutTooLarge(_))
    ));
    let fits = Schema::new(1)
        .and_then(|s| s.integer("v", 1, MAX_LEN as i64))
        .expect("s");
    assert_eq!(
        layout(&Operation::Min { column: "v".into() }, &fits)
            .expect("l")
            .len,
        MAX_LEN
    );
}

#[test]
fn encode_and_decode_reject_bad_inputs() {
    let s = schema();
    let r = Raw {
        age: 1,
        temp: 0,
        income: 0,
        flag: 0,
        region: 0,
        x1: 0,
        x2: 0,
    }
    .row();
    // Too many rows for the declared maximum.
    let small = Schema::new(2)
        .and_then(|s| s.integer("v", 0, 9))
        .expect("s");
    let rows: Vec<Row> = (0..3)
        .map(|i| Row::new(&small, vec![Value::Integer(i)]).expect("r"))
        .collect();
    assert!(matches!(
        encode(&Operation::Count, &small, &rows),
        Err(Error::TooManyRows { rows: 3, max: 2 })
    ));
    // A row of another schema.
    assert!(matches!(
        encode(&Operation::Sum { column: "v".into() }, &small, [&r]),
        Err(Error::RowArity { .. })
    ));
    let narrower = Schema::new(10)
        .and_then(|s| s.integer("v", 0, 5))
        .expect("s");
    let r9 = Row::new(&small, vec![Value::Integer(9)]).expect("r");
    assert!(matches!(
        encode(&Operation::Sum { column: "v".into() }, &narrower, [&r9]),
        Err(Error::OutOfDomain { .. })
    ));
    // Totals of the wrong length.
    assert!(matches!(
        decode(
            &Operation::Mean {
                column: "age".into()
            },
            &s,
            &[1]
        ),
        Err(Error::TotalsLength {
            expected: 2,
            found: 1
        })
    ));
    // Undefined and singular results.
    assert!(matches!(
        decode(
            &Operation::Mean {
                column: "age".into()
            },
            &s,
            &[0, 0]
        ),
        Err(Error::Undefined(_))
    ));
    let same = Operation::LinearRegression {
        features: vec!["age".into(), "age".into()],
        target: "income".into(),
    };
    let rows: Vec<Row> = (0..10)
        .map(|i| {
            Raw {
                age: i,
                temp: 0,
                income: 3 * i,
                flag: 0,
                region: 0,
                x1: 0,
                x2: 0,
            }
            .row()
        })
        .collect();
    let l = layout(&same, &s).expect("l");
    let totals: Vec<i128> = encode(&same, &s, &rows)
        .expect("e")
        .into_iter()
        .map(i128::from)
        .collect();
    assert_eq!(totals.len(), l.len);
    assert!(matches!(
        decode(&same, &s, &totals),
        Err(Error::Singular { dimension: 3 })
    ));
    let flat = Operation::RSquared {
        features: vec!["age".into()],
        target: "temp".into(),
        model: None,
    };
    let totals: Vec<i128> = encode(&flat, &s, &rows)
        .expect("e")
        .into_iter()
        .map(i128::from)
        .collect();
    assert!(matches!(
        decode(&flat, &s, &totals),
        Err(Error::Undefined(_))
    ));
    // An empty DP sends zeros, or ones for absence bits.
    let inter = Operation::Intersection {
        column: "age".into(),
        buckets: Buckets::Width(60),
    };
    assert_eq!(
        encode(&inter, &s, Vec::<&Row>::new()).expect("e"),
        vec![1, 1, 1]
    );
    assert_eq!(
        encode(
            &Operation::Variance {
                column: "temp".into()
            },
            &s,
            Vec::<&Row>::new()
        )
        .expect("e"),
        vec![0, 0, 0]
    );
}

#[test]
fn operations_serialize() {
    for op in all_ops() {
        let json = serde_json::to_string(&op).expect("json");
        let back: Operation = serde_json::from_str(&json).expect("back");
        assert_eq!(back, op);
    }
    let l = layout(&Operation::Count, &schema()).expect("l");
    assert_eq!(
        serde_json::to_string(&l).expect("json"),
        r#"{"len":1,"bits":10}"#
    );
}
