//! What a data provider (DP) sends for each [`Operation`], and how the totals decode.
//!
//! Every DP answers a query with a vector of [`Layout::len`] integers, each in
//! `[0, 2^Layout::bits)`: the protocol encrypts each entry under the collective key and range-proves
//! it (Drynx, Froelicher et al., IEEE TIFS 2020, input range validation; the seed's range
//! proofs, seed 001 §5.3). The computing nodes add the vectors entry-wise (ElGamal is additively
//! homomorphic, seed 001 §3.2), possibly add integer noise (UnLynx's distributed results
//! obfuscation, Froelicher et al., PETS 2017), and the querier decrypts the totals and calls
//! [`decode`]. The layout depends only on the operation and the [`Schema`] (never on the data),
//! so every DP's answer has the same shape and an empty DP sends zeros (or, for the absence
//! encodings below, ones).
//!
//! Three families of encodings (full tables in `docs/STATS.md`):
//!
//! * **Moments** (sum, count, mean, variance, cosine similarity, linear and logistic regression,
//!   R²). Each numeric column `c` with domain `[lo, hi]` (in units of `10^-scale`) is shifted by
//!   `m_c = min(lo, 0)`, so `x' = units − m_c ∈ [0, hi − m_c]`: non-negative columns are sent as
//!   they are, columns that may be negative are shifted by their declared minimum. An entry is the
//!   sum over the DP's matching rows of a product of at most two shifted columns (a *monomial*);
//!   the entry for the empty monomial is the row count `n`. The operation needs certain raw sums
//!   (`Σx`, `Σx²`, `Σxᵢxⱼ`, …); because `Σ(x'+m)(y'+m') = Σx'y' + m'Σx' + mΣy' + m·m'·n`, a raw
//!   sum involving a shifted column also needs the lower-degree shifted sums, which are added to
//!   the layout. Entries are ordered by degree, then lexicographically by the operation's column
//!   order. [`decode`] recovers the raw sums exactly with big integers and divides by the powers
//!   of ten of the scales. The bound of an entry is `max_rows · Π (hi_c − m_c)`.
//! * **Frequencies** (histogram): one count per bucket (plus an "other" count for listed values);
//!   each entry is at most `max_rows`.
//! * **Presence bits** (min, max, OR, AND, union, intersection): one bit per bucket, 1 if the DP
//!   has a matching row in it (min/max over every value of the domain, OR over the value 1, AND
//!   over the value 0 as a *witness of falsehood*, union over the buckets) or, for the
//!   intersection, 1 if the DP has *no* row in it. The totals then count DPs: a bucket is in the
//!   union if its total is positive, in the intersection if its total is zero (≤ 0 with noise);
//!   AND is true if no DP saw a 0.
//!
//! Logistic regression follows Drynx's approach (the data providers send aggregated sums of the
//! monomials of a polynomial approximation of the log-loss, and the querier minimizes the
//! approximate loss in the clear; the same idea is in Aono, Hayashi, Trieu Phong and Wang,
//! "Scalable and Secure Logistic Regression via Homomorphic Encryption", CODASPY 2016): the
//! logistic loss per row, `ℓ(z) = ln(1 + e^{−z})` with `z = y'·wᵀx`, `y' = 2y − 1 ∈ {−1, 1}` and
//! `x = (1, x₁, …, x_k)`, is replaced by its **degree-2** Taylor polynomial at 0,
//! `ln 2 − z/2 + z²/8`. Since `ℓ(z) + z/2 = ln(2·cosh(z/2))` is even, the cubic term vanishes and
//! the polynomial is also the degree-3 Taylor polynomial; the fourth derivative of `ℓ` is
//! `(4s − 6s²)/16` with `s = sech²(z/2) ∈ (0, 1]`, of absolute value at most `1/8`, so the
//! Lagrange remainder gives **`|ℓ(z) − (ln 2 − z/2 + z²/8)| ≤ z⁴/192`** per row (2.6·10⁻⁴ at
//! `|z| = 0.5`, 5.2·10⁻³ at `|z| = 1`; standardize features so that `|wᵀx|` stays small). Using
//! `y'² = 1`, the approximate total loss is `n·ln 2 − ½·wᵀ(Σ y'x) + ⅛·wᵀ(Σ xxᵀ)w`, so a DP sends
//! the sums `Σ xxᵀ` (with `n` and `Σxᵢ`) and `Σ y·x` (with `Σy`), from which the querier forms
//! `Σ y'x = 2Σyx − Σx`. The approximate loss is quadratic; its minimizer solves
//! `(Σ xxᵀ) w = 2·Σ y'x`, which [`decode`] solves exactly in the clear (Drynx runs gradient
//! descent on the same approximation; with degree 2 the minimum is reached in closed form).

use std::collections::{BTreeSet, HashMap};

use num_bigint::{BigInt, BigUint};
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::linalg::{self, to_f64};
use crate::query::{Bucket, Buckets, LinearModel, Operation, QueryResult};
use crate::schema::{pow10, ColumnType, Decimal, Row, Schema, Value};

/// Largest number of entries in a data provider's answer.
pub const MAX_LEN: usize = 4096;

/// Largest bit size of an entry (entries are `u64`).
pub const MAX_BITS: u32 = 64;

/// Bit sizes the range proofs accept (`tabella_crypto::range::SUPPORTED_BITS`).
pub const PROOF_BITS: [u32; 4] = [8, 16, 32, 64];

/// The shape of every data provider's answer to one operation: `len` entries, each in
/// `[0, 2^bits)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Layout {
    /// Number of entries.
    pub len: usize,
    /// Every entry lies in `[0, 2^bits)`; `1 <= bits <= 64`.
    pub bits: u32,
}

impl Layout {
    /// The largest value an entry may take, `2^bits − 1`.
    pub fn max_entry(&self) -> u64 {
        if self.bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        }
    }

    /// The smallest range-proof size (8, 16, 32 or 64 bits) that covers `bits`. A proof of that
    /// size admits entries up to `2^proof_bits − 1`, a looser bound than `bits`.
    pub fn proof_bits(&self) -> u32 {
        PROOF_BITS
            .iter()
            .copied()
            .find(|b| *b >= self.bits)
            .unwrap_or(MAX_BITS)
    }
}

// ---------------------------------------------------------------------------------------------
// Plans: what an operation needs, derived from the operation and the schema alone.

/// A numeric column taking part in a moments encoding.
#[derive(Clone, Debug)]
struct Var {
    index: usize,
    name: String,
    /// `min(lo, 0)`, subtracted from every value.
    shift: i64,
    /// `hi − shift`: the largest shifted value.
    range: u64,
    scale: u32,
}

/// A monomial: sorted indices into the plan's variables, with repeats (`[0, 0]` is `x₀²`, `[]`
/// is the row count).
type Mono = Vec<usize>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Units(i64),
    Text(String),
}

#[derive(Clone, Debug)]
enum Bins {
    /// `count` ranges of `width` units from `lo`; the last ends at `hi`.
    Width {
        lo: i64,
        hi: i64,
        width: u64,
        count: usize,
    },
    /// Listed values.
    Values(Vec<Key>),
}

impl Bins {
    fn len(&self) -> usize {
        match self {
            Bins::Width { count, .. } => *count,
            Bins::Values(v) => v.len(),
        }
    }
}

#[derive(Clone, Debug)]
enum Plan {
    Moments {
        vars: Vec<Var>,
        monos: Vec<Mono>,
    },
    Histogram {
        column: usize,
        bins: Bins,
    },
    Presence {
        column: usize,
        bins: Bins,
        /// Send 1 for an *empty* bucket (intersection).
        invert: bool,
    },
}

fn numeric_var(schema: &Schema, name: &str) -> Result<Var> {
    let (index, col) = schema.column(name)?;
    let (lo, hi) = col.ty.domain().ok_or_else(|| Error::TypeMismatch {
        column: name.to_string(),
        expected: "a numeric column".into(),
        found: col.ty.type_name().into(),
    })?;
    let shift = lo.min(0);
    let range = u64::try_from(i128::from(hi) - i128::from(shift))
        .map_err(|_| Error::Overflow("a column's range"))?;
    Ok(Var {
        index,
        name: name.to_string(),
        shift,
        range,
        scale: col.ty.scale(),
    })
}

fn boolean_column(schema: &Schema, name: &str) -> Result<usize> {
    let (index, col) = schema.column(name)?;
    match col.ty {
        ColumnType::Integer { min, max } if min >= 0 && max <= 1 => Ok(index),
        _ => Err(Error::InvalidOperation(format!(
            "`{name}` must be an integer column with a domain within [0, 1] (a boolean), not {}",
            describe_type(&col.ty)
        ))),
    }
}

fn describe_type(ty: &ColumnType) -> String {
    match ty.domain() {
        Some((lo, hi)) => format!(
            "{} [{}, {}]",
            ty.type_name(),
            ty.show_units(lo),
            ty.show_units(hi)
        ),
        None => ty.type_name().to_string(),
    }
}

fn bins(schema: &Schema, name: &str, buckets: &Buckets, extra: usize) -> Result<(usize, Bins)> {
    let (index, col) = schema.column(name)?;
    let too_many = |n: u128| {
        Error::LayoutTooLarge(format!(
            "{n} buckets on `{name}`; at most {} entries",
            MAX_LEN - extra
        ))
    };
    let b = match buckets {
        Buckets::Width(width) => {
            let (lo, hi) = col.ty.domain().ok_or_else(|| Error::TypeMismatch {
                column: name.to_string(),
                expected: "a numeric column (width buckets)".into(),
                found: col.ty.type_name().into(),
            })?;
            if *width == 0 {
                return Err(Error::InvalidOperation("bucket width 0".into()));
            }
            let span = (i128::from(hi) - i128::from(lo)) as u128;
            let count = span / u128::from(*width) + 1;
            if count > (MAX_LEN - extra) as u128 {
                return Err(too_many(count));
            }
            Bins::Width {
                lo,
                hi,
                width: *width,
                count: count as usize,
            }
        }
        Buckets::Values(list) => {
            if list.is_empty() {
                return Err(Error::InvalidOperation(format!(
                    "an empty list of values for `{name}`"
                )));
            }
            if list.len() > MAX_LEN - extra {
                return Err(too_many(list.len() as u128));
            }
            let mut keys = Vec::with_capacity(list.len());
            for text in list {
                let key = match col.ty {
                    ColumnType::Text => Key::Text(text.clone()),
                    ty => {
                        let d = Decimal::parse(text)?;
                        let units = d.rescale(ty.scale()).ok_or_else(|| Error::InvalidNumber {
                            text: text.clone(),
                            reason: format!("`{name}` has {} fractional digits", ty.scale()),
                        })?;
                        let (lo, hi) = ty.domain().unwrap_or((i64::MIN, i64::MAX));
                        let u = units.units();
                        if u < lo || u > hi {
                            return Err(Error::OutOfDomain {
                                column: name.to_string(),
                                value: text.clone(),
                                min: ty.show_units(lo),
                                max: ty.show_units(hi),
                            });
                        }
                        Key::Units(u)
                    }
                };
                if keys.contains(&key) {
                    return Err(Error::InvalidOperation(format!(
                        "value {text} listed twice for `{name}`"
                    )));
                }
                keys.push(key);
            }
            Bins::Values(keys)
        }
    };
    Ok((index, b))
}

/// Every monomial obtained from `a` by dropping occurrences of shifted variables (including `a`).
fn sub_monomials(vars: &[Var], a: &Mono, out: &mut BTreeSet<(usize, Mono)>) {
    let shifted: Vec<usize> = (0..a.len()).filter(|&p| vars[a[p]].shift != 0).collect();
    for mask in 0u32..(1u32 << shifted.len()) {
        let mut b = Mono::with_capacity(a.len());
        for (p, v) in a.iter().enumerate() {
            let drop = shifted
                .iter()
                .position(|&q| q == p)
                .is_some_and(|bit| mask & (1 << bit) != 0);
            if !drop {
                b.push(*v);
            }
        }
        out.insert((b.len(), b));
    }
}

fn moments(vars: Vec<Var>, required: Vec<Mono>) -> Plan {
    let mut set = BTreeSet::new();
    for mut a in required {
        a.sort_unstable();
        sub_monomials(&vars, &a, &mut set);
    }
    Plan::Moments {
        vars,
        monos: set.into_iter().map(|(_, m)| m).collect(),
    }
}

/// The monomials of the normal equations of a regression on `k` features (variables `0..k`)
/// with target variable `k`: `n`, `Σxᵢ`, `Σxᵢxⱼ`, `Σy`, `Σxᵢy`, and `Σy²` if `with_y2`.
fn regression_monomials(k: usize, with_y2: bool) -> Vec<Mono> {
    let mut out = vec![vec![], vec![k]];
    for i in 0..k {
        out.push(vec![i]);
        out.push(vec![i, k]);
        for j in i..k {
            out.push(vec![i, j]);
        }
    }
    if with_y2 {
        out.push(vec![k, k]);
    }
    out
}

fn regression_vars(schema: &Schema, features: &[String], target: &Var) -> Result<Vec<Var>> {
    if features.is_empty() {
        return Err(Error::InvalidOperation(
            "a regression needs at least one feature".into(),
        ));
    }
    let mut vars = features
        .iter()
        .map(|f| numeric_var(schema, f))
        .collect::<Result<Vec<_>>>()?;
    vars.push(target.clone());
    Ok(vars)
}

fn plan(op: &Operation, schema: &Schema) -> Result<Plan> {
    let plan = match op {
        Operation::Count => moments(vec![], vec![vec![]]),
        Operation::Sum { column } => moments(vec![numeric_var(schema, column)?], vec![vec![0]]),
        Operation::Mean { column } => {
            moments(vec![numeric_var(schema, column)?], vec![vec![], vec![0]])
        }
        Operation::Variance { column } => moments(
            vec![numeric_var(schema, column)?],
            vec![vec![], vec![0], vec![0, 0]],
        ),
        Operation::Cosine { a, b } => moments(
            vec![numeric_var(schema, a)?, numeric_var(schema, b)?],
            vec![vec![0, 1], vec![0, 0], vec![1, 1]],
        ),
        Operation::LinearRegression { features, target } => {
            let t = numeric_var(schema, target)?;
            moments(
                regression_vars(schema, features, &t)?,
                regression_monomials(features.len(), false),
            )
        }
        Operation::LogisticRegression { features, target } => {
            boolean_column(schema, target)?;
            let t = numeric_var(schema, target)?;
            moments(
                regression_vars(schema, features, &t)?,
                regression_monomials(features.len(), false),
            )
        }
        Operation::RSquared {
            features,
            target,
            model,
        } => {
            if let Some(m) = model {
                if m.len() != features.len() + 1 {
                    return Err(Error::InvalidOperation(format!(
                        "a model on {} features has {} coefficients (intercept first), not {}",
                        features.len(),
                        features.len() + 1,
                        m.len()
                    )));
                }
                if m.iter().any(|c| !c.is_finite()) {
                    return Err(Error::InvalidOperation(
                        "model coefficients must be finite".into(),
                    ));
                }
            }
            let t = numeric_var(schema, target)?;
            moments(
                regression_vars(schema, features, &t)?,
                regression_monomials(features.len(), true),
            )
        }
        Operation::Histogram { column, buckets } => {
            let extra = usize::from(matches!(buckets, Buckets::Values(_)));
            let (column, bins) = bins(schema, column, buckets, extra)?;
            Plan::Histogram { column, bins }
        }
        Operation::Min { column } | Operation::Max { column } => {
            let (column, bins) = bins(schema, column, &Buckets::Width(1), 0)?;
            Plan::Presence {
                column,
                bins,
                invert: false,
            }
        }
        Operation::Or { column } => Plan::Presence {
            column: boolean_column(schema, column)?,
            bins: Bins::Values(vec![Key::Units(1)]),
            invert: false,
        },
        Operation::And { column } => Plan::Presence {
            column: boolean_column(schema, column)?,
            bins: Bins::Values(vec![Key::Units(0)]),
            invert: false,
        },
        Operation::Union { column, buckets } | Operation::Intersection { column, buckets } => {
            let (column, bins) = bins(schema, column, buckets, 0)?;
            Plan::Presence {
                column,
                bins,
                invert: matches!(op, Operation::Intersection { .. }),
            }
        }
    };
    Ok(plan)
}

/// Per entry: the largest amount one row can add to it.
fn row_bounds(plan: &Plan) -> Vec<BigUint> {
    match plan {
        Plan::Moments { vars, monos } => monos
            .iter()
            .map(|m| {
                m.iter()
                    .fold(BigUint::one(), |acc, v| acc * BigUint::from(vars[*v].range))
            })
            .collect(),
        Plan::Histogram { bins, .. } => {
            let extra = usize::from(matches!(bins, Bins::Values(_)));
            vec![BigUint::one(); bins.len() + extra]
        }
        Plan::Presence { bins, .. } => vec![BigUint::one(); bins.len()],
    }
}

fn checked_layout(plan: &Plan, schema: &Schema) -> Result<Layout> {
    let bounds = row_bounds(plan);
    let len = bounds.len();
    if len > MAX_LEN {
        return Err(Error::LayoutTooLarge(format!(
            "{len} entries; at most {MAX_LEN}"
        )));
    }
    let bits = match plan {
        // A presence bit is 0 or 1 whatever the number of rows.
        Plan::Presence { .. } => 1,
        _ => {
            let max_rows = BigUint::from(schema.max_rows());
            let worst = bounds.iter().max().cloned().unwrap_or_default() * max_rows;
            u32::try_from(worst.bits()).unwrap_or(u32::MAX).max(1)
        }
    };
    if bits > MAX_BITS {
        return Err(Error::LayoutTooLarge(format!(
            "an entry may reach {bits} bits (max_rows {} times the product of the columns' ranges); at most {MAX_BITS}: narrow the domains or lower max_rows",
            schema.max_rows()
        )));
    }
    Ok(Layout { len, bits })
}

// ---------------------------------------------------------------------------------------------
// Public API

/// The shape of every data provider's answer to `op` over `schema`.
///
/// Fails if a column is unknown or of the wrong type, if the operation needs more than
/// [`MAX_LEN`] entries, or if an entry could exceed 64 bits.
pub fn layout(op: &Operation, schema: &Schema) -> Result<Layout> {
    checked_layout(&plan(op, schema)?, schema)
}

/// The per-entry sensitivity of `op`: the largest amount by which adding or removing one row at
/// one data provider can change any single entry of the totals, in encoded units (1 for counts
/// and presence bits; `Π (hi_c − m_c)` for a moment entry). This is the `sensitivity` of a
/// [`crate::noise::NoiseSpec`] that protects each entry.
pub fn sensitivity(op: &Operation, schema: &Schema) -> Result<u64> {
    let plan = plan(op, schema)?;
    checked_layout(&plan, schema)?;
    let worst = row_bounds(&plan).into_iter().max().unwrap_or_default();
    u64::try_from(worst).map_err(|_| Error::Overflow("the sensitivity"))
}

/// The L1 sensitivity of `op`: the most by which adding or removing one row at one data provider
/// can change all the entries of the totals together, in encoded units — the sum of the
/// per-entry bounds for moments (a row adds to every entry), 1 for histograms and presence
/// vectors (a row falls in one bucket). Noise of scale `sensitivity / ε` on every entry
/// ([`sensitivity`] the largest per-entry bound) is `ε · l1 / sensitivity`-DP for the whole
/// release, by the Laplace mechanism's L1 analysis (Dwork & Roth, *The Algorithmic Foundations
/// of Differential Privacy*, 2014, Thm 3.6): what a ledger charges a query.
///
/// Entries multiplied by their factors ([`entry_scales`]) count with the factor: this is the L1
/// sensitivity of the scaled totals the noise is added to.
pub fn l1_sensitivity(op: &Operation, schema: &Schema) -> Result<u64> {
    let plan = plan(op, schema)?;
    checked_layout(&plan, schema)?;
    let total = match &plan {
        Plan::Moments { .. } => {
            let bounds = row_bounds(&plan);
            let scales = scales_of(&bounds);
            bounds
                .iter()
                .zip(scales)
                .map(|(b, c)| b * BigUint::from(c))
                .sum::<BigUint>()
        }
        Plan::Histogram { .. } | Plan::Presence { .. } => BigUint::one(),
    };
    u64::try_from(total).map_err(|_| Error::Overflow("the L1 sensitivity"))
}

/// Per entry, the factor `⌊Δ_max / Δ_k⌋` (at most [`crate::params::MAX_SCALE`]) that brings its
/// per-row bound `Δ_k` up to about the largest one, `Δ_max` ([`sensitivity`]): the noise, drawn
/// from one distribution for every entry, is then added to the scaled entries
/// ([`crate::params::NoisePlan::scales`]), so an entry of small sensitivity gets noise in
/// proportion to it rather than to the largest.
pub fn entry_scales(op: &Operation, schema: &Schema) -> Result<Vec<u64>> {
    let plan = plan(op, schema)?;
    checked_layout(&plan, schema)?;
    Ok(scales_of(&row_bounds(&plan)))
}

fn scales_of(bounds: &[BigUint]) -> Vec<u64> {
    let max = bounds.iter().max().cloned().unwrap_or_default();
    bounds
        .iter()
        .map(|b| {
            if b.is_zero() {
                return 1;
            }
            u64::try_from(&max / b)
                .unwrap_or(u64::MAX)
                .clamp(1, crate::params::MAX_SCALE)
        })
        .collect()
}

/// A short description of each entry of the layout, in order (for documentation and debugging):
/// `n`, `Σ age`, `Σ (temp+1050)·age`, `count region = 'N'`, `has age = 3`, …; decimal columns are
/// in units of `10^-scale`.
pub fn labels(op: &Operation, schema: &Schema) -> Result<Vec<String>> {
    let plan = plan(op, schema)?;
    checked_layout(&plan, schema)?;
    let col_name = |i: usize| schema.columns()[i].name.clone();
    let ty = |i: usize| schema.columns()[i].ty;
    Ok(match &plan {
        Plan::Moments { vars, monos } => monos
            .iter()
            .map(|m| {
                if m.is_empty() {
                    return "n".to_string();
                }
                let factors: Vec<String> = m
                    .iter()
                    .map(|v| {
                        let var = &vars[*v];
                        if var.shift == 0 {
                            var.name.clone()
                        } else {
                            format!("({}+{})", var.name, var.shift.unsigned_abs())
                        }
                    })
                    .collect();
                format!("Σ {}", factors.join("·"))
            })
            .collect(),
        Plan::Histogram { column, bins } => {
            let mut v: Vec<String> = (0..bins.len())
                .map(|j| {
                    format!(
                        "count {}",
                        bucket_text(&col_name(*column), &ty(*column), bins, j)
                    )
                })
                .collect();
            if matches!(bins, Bins::Values(_)) {
                v.push(format!("count {} other", col_name(*column)));
            }
            v
        }
        Plan::Presence {
            column,
            bins,
            invert,
        } => (0..bins.len())
            .map(|j| {
                format!(
                    "{} {}",
                    if *invert { "lacks" } else { "has" },
                    bucket_text(&col_name(*column), &ty(*column), bins, j)
                )
            })
            .collect(),
    })
}

fn bucket_text(name: &str, ty: &ColumnType, bins: &Bins, j: usize) -> String {
    match bucket(ty, bins, j) {
        Bucket::Value(v) => format!("{name} = {v}"),
        Bucket::Range { min, max } => format!("{name} in [{min}, {max}]"),
        Bucket::Other => format!("{name} other"),
    }
}

fn bucket(ty: &ColumnType, bins: &Bins, j: usize) -> Bucket {
    match bins {
        Bins::Width { lo, hi, width, .. } => {
            let start = i128::from(*lo) + (j as i128) * i128::from(*width);
            let end = (start + i128::from(*width) - 1).min(i128::from(*hi));
            // Both lie within [lo, hi], hence within i64.
            let start = i64::try_from(start).unwrap_or(*hi);
            let end = i64::try_from(end).unwrap_or(*hi);
            if start == end {
                Bucket::Value(ty.value_of_units(start))
            } else {
                Bucket::Range {
                    min: ty.value_of_units(start),
                    max: ty.value_of_units(end),
                }
            }
        }
        Bins::Values(keys) => match keys.get(j) {
            Some(Key::Units(u)) => Bucket::Value(ty.value_of_units(*u)),
            Some(Key::Text(t)) => Bucket::Value(Value::Text(t.clone())),
            None => Bucket::Other,
        },
    }
}

/// The bucket of `row` (None: not listed).
fn bin_of(schema: &Schema, column: usize, bins: &Bins, row: &Row) -> Result<Option<usize>> {
    match bins {
        Bins::Width { lo, width, .. } => {
            let u = schema.units(column, row)?;
            let off = (i128::from(u) - i128::from(*lo)) as u128 / u128::from(*width);
            Ok(Some(off as usize))
        }
        Bins::Values(keys) => {
            let key = if schema.columns()[column].ty.is_numeric() {
                Key::Units(schema.units(column, row)?)
            } else {
                match schema.cell(column, row)? {
                    Value::Text(t) => Key::Text(t.clone()),
                    v => {
                        return Err(Error::TypeMismatch {
                            column: schema.columns()[column].name.clone(),
                            expected: "text".into(),
                            found: v.type_name().into(),
                        })
                    }
                }
            };
            Ok(keys.iter().position(|k| *k == key))
        }
    }
}

/// A data provider's answer to `op`: the entries of [`layout`] computed over its matching rows
/// (`rows` are the rows that satisfy the query's predicate, see
/// [`crate::Predicate::filter`]). Every entry lies in `[0, 2^bits)`.
///
/// Fails if there are more rows than the schema's `max_rows`, or if a row does not fit the schema
/// (type, domain, length).
pub fn encode<'a, I>(op: &Operation, schema: &Schema, rows: I) -> Result<Vec<u64>>
where
    I: IntoIterator<Item = &'a Row>,
{
    let plan = plan(op, schema)?;
    let layout = checked_layout(&plan, schema)?;
    let rows: Vec<&Row> = rows.into_iter().collect();
    if rows.len() as u128 > u128::from(schema.max_rows()) {
        return Err(Error::TooManyRows {
            rows: rows.len(),
            max: schema.max_rows(),
        });
    }
    let out: Vec<u128> = match &plan {
        Plan::Moments { vars, monos } => {
            let mut acc = vec![0u128; monos.len()];
            let mut xs = vec![0u128; vars.len()];
            for row in &rows {
                for (x, var) in xs.iter_mut().zip(vars) {
                    let u = schema.units(var.index, row)?;
                    // u >= lo >= shift.
                    *x = (i128::from(u) - i128::from(var.shift)) as u128;
                }
                for (a, m) in acc.iter_mut().zip(monos) {
                    let term = m
                        .iter()
                        .try_fold(1u128, |p, v| p.checked_mul(xs[*v]))
                        .ok_or(Error::Overflow("a data provider's entry"))?;
                    *a = a
                        .checked_add(term)
                        .ok_or(Error::Overflow("a data provider's entry"))?;
                }
            }
            acc
        }
        Plan::Histogram { column, bins } => {
            let mut acc = vec![0u128; layout.len];
            for row in &rows {
                let j = bin_of(schema, *column, bins, row)?.unwrap_or(bins.len());
                acc[j] += 1;
            }
            acc
        }
        Plan::Presence {
            column,
            bins,
            invert,
        } => {
            let mut present = vec![false; bins.len()];
            for row in &rows {
                if let Some(j) = bin_of(schema, *column, bins, row)? {
                    present[j] = true;
                }
            }
            present
                .into_iter()
                .map(|p| u128::from(p != *invert))
                .collect()
        }
    };
    let max = u128::from(layout.max_entry());
    out.into_iter()
        .map(|v| {
            if v > max {
                Err(Error::Overflow("a data provider's entry"))
            } else {
                Ok(v as u64)
            }
        })
        .collect()
}

/// Raw (unshifted) sums of a moments plan, from the totals.
struct Moments<'p> {
    vars: &'p [Var],
    totals: HashMap<&'p Mono, BigInt>,
}

impl Moments<'_> {
    /// `Σ Π units` over the monomial `a` (any order), exactly: the binomial expansion of
    /// `Π (x' + m)` over the positions of `a`.
    fn raw(&self, a: &[usize]) -> Result<BigInt> {
        let mut a = a.to_vec();
        a.sort_unstable();
        let shifted: Vec<usize> = (0..a.len())
            .filter(|&p| self.vars[a[p]].shift != 0)
            .collect();
        let mut sum = BigInt::zero();
        for mask in 0u32..(1u32 << shifted.len()) {
            let mut coeff = BigInt::one();
            let mut rest = Mono::with_capacity(a.len());
            for (p, v) in a.iter().enumerate() {
                match shifted.iter().position(|&q| q == p) {
                    Some(bit) if mask & (1 << bit) != 0 => {
                        coeff *= BigInt::from(self.vars[*v].shift);
                    }
                    _ => rest.push(*v),
                }
            }
            let t = self.totals.get(&rest).ok_or(Error::InvalidOperation(
                "a sum missing from the layout".into(),
            ))?;
            sum += coeff * t;
        }
        Ok(sum)
    }

    /// The raw sum over `a` in real units: divided by `10^(Σ scales)`.
    fn real(&self, a: &[usize]) -> Result<BigRational> {
        let e: u32 = a.iter().map(|v| self.vars[*v].scale).sum();
        Ok(BigRational::new(self.raw(a)?, BigInt::from(pow10(e)?)))
    }

    fn count(&self) -> Result<BigInt> {
        self.raw(&[])
    }

    /// `XᵀX` (with the intercept column first) and `Xᵀy` for features `0..k`, target `k`.
    fn normal_equations(&self, k: usize) -> Result<(Vec<Vec<BigRational>>, Vec<BigRational>)> {
        let idx = |i: usize| -> Vec<usize> {
            if i == 0 {
                vec![]
            } else {
                vec![i - 1]
            }
        };
        let entry = |i: usize, j: usize| {
            let mut m = idx(i);
            m.extend(idx(j));
            self.real(&m)
        };
        let a = (0..=k)
            .map(|i| (0..=k).map(|j| entry(i, j)).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let b = (0..=k)
            .map(|i| {
                let mut m = idx(i);
                m.push(k);
                self.real(&m)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((a, b))
    }
}

fn model(exact: Vec<BigRational>) -> LinearModel {
    let rounded: Vec<f64> = exact.iter().map(to_f64).collect();
    LinearModel {
        intercept: rounded.first().copied().unwrap_or(0.0),
        coefficients: rounded.get(1..).map(<[f64]>::to_vec).unwrap_or_default(),
        exact,
    }
}

fn positive_count(n: &BigInt, what: &str) -> Result<i128> {
    if !n.is_positive() {
        return Err(Error::Undefined(format!("{what} of {n} rows")));
    }
    i128::try_from(n).map_err(|_| Error::Overflow("the row count"))
}

/// The result of `op` from `totals`, the entry-wise sums of every data provider's [`encode`]d
/// answer (plus, if the query is noised, one integer noise value per entry).
///
/// Without noise the result equals the plaintext computation over the union of all data
/// providers' matching rows: exactly for sums, counts, means, variances, histograms, min/max,
/// booleans and sets; regressions are solved exactly and rounded once to `f64`; the cosine
/// similarity and R² are computed exactly up to a final square root or rounding.
///
/// Fails on totals of the wrong length, on a result that is undefined for the totals (a mean of
/// no rows, a zero vector in a cosine, a target without variance in R²), and on a singular
/// regression ([`Error::Singular`]).
pub fn decode(op: &Operation, schema: &Schema, totals: &[i128]) -> Result<QueryResult> {
    let plan = plan(op, schema)?;
    let layout = checked_layout(&plan, schema)?;
    if totals.len() != layout.len {
        return Err(Error::TotalsLength {
            expected: layout.len,
            found: totals.len(),
        });
    }
    match &plan {
        Plan::Moments { vars, monos } => {
            let m = Moments {
                vars,
                totals: monos
                    .iter()
                    .zip(totals)
                    .map(|(mono, t)| (mono, BigInt::from(*t)))
                    .collect(),
            };
            decode_moments(op, &m)
        }
        Plan::Histogram { column, bins } => {
            let ty = schema.columns()[*column].ty;
            let mut out: Vec<(Bucket, i128)> = (0..bins.len())
                .map(|j| (bucket(&ty, bins, j), totals[j]))
                .collect();
            if matches!(bins, Bins::Values(_)) {
                out.push((Bucket::Other, totals[bins.len()]));
            }
            Ok(QueryResult::Histogram(out))
        }
        Plan::Presence { column, bins, .. } => {
            let ty = schema.columns()[*column].ty;
            let value = |j: usize| match bucket(&ty, bins, j) {
                Bucket::Value(v) => Some(v),
                _ => None,
            };
            Ok(match op {
                Operation::Min { .. } => {
                    QueryResult::Min(totals.iter().position(|t| *t > 0).and_then(value))
                }
                Operation::Max { .. } => {
                    QueryResult::Max(totals.iter().rposition(|t| *t > 0).and_then(value))
                }
                Operation::Or { .. } => QueryResult::Bool(totals[0] > 0),
                Operation::And { .. } => QueryResult::Bool(totals[0] <= 0),
                Operation::Union { .. } => QueryResult::Set(
                    (0..bins.len())
                        .filter(|&j| totals[j] > 0)
                        .map(|j| bucket(&ty, bins, j))
                        .collect(),
                ),
                _ => QueryResult::Set(
                    (0..bins.len())
                        .filter(|&j| totals[j] <= 0)
                        .map(|j| bucket(&ty, bins, j))
                        .collect(),
                ),
            })
        }
    }
}

fn decode_moments(op: &Operation, m: &Moments<'_>) -> Result<QueryResult> {
    match op {
        Operation::Count => {
            let n = m.count()?;
            Ok(QueryResult::Count(
                i128::try_from(&n).map_err(|_| Error::Overflow("the row count"))?,
            ))
        }
        Operation::Sum { .. } => Ok(QueryResult::Sum(m.real(&[0])?)),
        Operation::Mean { .. } => {
            let count = positive_count(&m.count()?, "a mean")?;
            let n = BigRational::from_integer(BigInt::from(count));
            Ok(QueryResult::Mean {
                mean: m.real(&[0])? / n,
                count,
            })
        }
        Operation::Variance { .. } => {
            let count = positive_count(&m.count()?, "a variance")?;
            let n = BigRational::from_integer(BigInt::from(count));
            let s1 = m.real(&[0])?;
            let s2 = m.real(&[0, 0])?;
            let mean = &s1 / &n;
            let variance = (&n * s2 - &s1 * &s1) / (&n * &n);
            Ok(QueryResult::Variance {
                mean,
                variance,
                count,
            })
        }
        Operation::Cosine { a, b } => {
            let ab = m.raw(&[0, 1])?;
            let aa = m.raw(&[0, 0])?;
            let bb = m.raw(&[1, 1])?;
            if !aa.is_positive() || !bb.is_positive() {
                return Err(Error::Undefined(format!(
                    "cosine similarity of `{a}` and `{b}` with a zero vector"
                )));
            }
            // cos² exactly, then one square root: the scales cancel.
            let sign = if ab.is_negative() { -1.0 } else { 1.0 };
            let sq = BigRational::new(&ab * &ab, aa * bb);
            Ok(QueryResult::Cosine(sign * to_f64(&sq).sqrt()))
        }
        Operation::LinearRegression { features, .. } => {
            let (a, b) = m.normal_equations(features.len())?;
            Ok(QueryResult::LinearRegression(model(linalg::solve(a, b)?)))
        }
        Operation::LogisticRegression { features, .. } => {
            let k = features.len();
            let (a, xy) = m.normal_equations(k)?;
            // Σ y'x = 2·Σ yx − Σ x, with x₀ = 1.
            let two = BigRational::from_integer(BigInt::from(2));
            let mut rhs = Vec::with_capacity(k + 1);
            for (i, s) in xy.into_iter().enumerate() {
                let sx = a[0][i].clone();
                // (Σ xxᵀ) w = 2·Σ y'x
                rhs.push(&two * (&two * s - sx));
            }
            Ok(QueryResult::LogisticRegression(model(linalg::solve(
                a, rhs,
            )?)))
        }
        Operation::RSquared {
            features,
            model: given,
            ..
        } => {
            let k = features.len();
            let n = m.count()?;
            if !n.is_positive() {
                return Err(Error::Undefined(format!("R² of {n} rows")));
            }
            let (a, b) = m.normal_equations(k)?;
            let beta = match given {
                Some(coefs) => coefs
                    .iter()
                    .map(|c| {
                        BigRational::from_float(*c).ok_or_else(|| {
                            Error::InvalidOperation("model coefficients must be finite".into())
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
                None => linalg::solve(a.clone(), b.clone())?,
            };
            let yy = m.real(&[k, k])?;
            let sy = &b[0];
            let n = BigRational::from_integer(n);
            let ss_tot = &yy - sy * sy / &n;
            if ss_tot.is_zero() || ss_tot.is_negative() {
                return Err(Error::Undefined("R² of a target without variance".into()));
            }
            // SS_res = Σy² − 2·βᵀXᵀy + βᵀXᵀXβ.
            let mut ss_res = yy;
            for i in 0..=k {
                ss_res -= BigRational::from_integer(BigInt::from(2)) * &beta[i] * &b[i];
                for j in 0..=k {
                    ss_res += &beta[i] * &a[i][j] * &beta[j];
                }
            }
            let exact = BigRational::one() - ss_res / ss_tot;
            Ok(QueryResult::RSquared {
                r_squared: to_f64(&exact),
                exact,
                model: model(beta),
            })
        }
        _ => Err(Error::InvalidOperation("not a moments operation".into())),
    }
}
