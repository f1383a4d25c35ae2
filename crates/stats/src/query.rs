//! The statistics a querier can ask for, and their decoded results.
//!
//! The operations are those of Drynx (Froelicher et al., "Drynx: Decentralized, Secure,
//! Verifiable System for Statistical Queries and Machine Learning on Distributed Datasets", IEEE
//! TIFS 2020), several of which the seed lists for Lemal (seed 001 §4.1): sum,
//! count, mean, variance, frequency count, min/max, boolean OR/AND, set union/intersection,
//! cosine similarity, linear and logistic regression and model evaluation (R²). How each one is
//! encoded by a data provider and decoded from the totals is in [`crate::encoding`] and
//! `docs/STATS.md`.

use num_rational::BigRational;
use serde::{Deserialize, Serialize};

use crate::schema::Value;

/// One statistical operation over the rows that satisfy the query's predicate, at every data
/// provider. Columns are named as in the query's [`crate::Schema`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Σ of a numeric column.
    Sum {
        /// The column.
        column: String,
    },
    /// Number of matching rows.
    Count,
    /// Arithmetic mean of a numeric column.
    Mean {
        /// The column.
        column: String,
    },
    /// Mean and population variance (`Σ(x − mean)² / n`) of a numeric column.
    Variance {
        /// The column.
        column: String,
    },
    /// Frequency count (histogram) of a column over declared buckets.
    Histogram {
        /// The column.
        column: String,
        /// The buckets.
        buckets: Buckets,
    },
    /// Smallest value of a numeric column (from the presence vector over its domain, Drynx's
    /// frequency-based min).
    Min {
        /// The column (domain of at most [`crate::encoding::MAX_LEN`] units).
        column: String,
    },
    /// Largest value of a numeric column (from the presence vector over its domain).
    Max {
        /// The column (domain of at most [`crate::encoding::MAX_LEN`] units).
        column: String,
    },
    /// Whether any matching row has the value 1 in a 0/1 integer column.
    Or {
        /// An integer column whose domain lies within `[0, 1]`.
        column: String,
    },
    /// Whether every matching row has the value 1 in a 0/1 integer column (true when no row
    /// matches).
    And {
        /// An integer column whose domain lies within `[0, 1]`.
        column: String,
    },
    /// The buckets in which at least one data provider has a matching row.
    Union {
        /// The column.
        column: String,
        /// The small domain the sets are drawn from.
        buckets: Buckets,
    },
    /// The buckets in which *every* data provider has a matching row (the intersection of the
    /// data providers' sets; a data provider with no matching row empties it).
    Intersection {
        /// The column.
        column: String,
        /// The small domain the sets are drawn from.
        buckets: Buckets,
    },
    /// Cosine similarity of two numeric columns seen as vectors indexed by row:
    /// `Σ a·b / (√Σa² · √Σb²)`.
    Cosine {
        /// First column.
        a: String,
        /// Second column.
        b: String,
    },
    /// Ordinary least squares `target ≈ β₀ + Σ βᵢ·featureᵢ` from the normal equations
    /// `(XᵀX) β = Xᵀy`, solved exactly in the clear after decryption.
    LinearRegression {
        /// The feature columns (numeric).
        features: Vec<String>,
        /// The target column (numeric).
        target: String,
    },
    /// Logistic regression `P(target = 1) = σ(w₀ + Σ wᵢ·featureᵢ)` by minimizing the degree-2
    /// Taylor approximation of the logistic loss (Drynx's approach; see
    /// [`crate::encoding`] for the degree, the sums sent and the approximation error).
    LogisticRegression {
        /// The feature columns (numeric).
        features: Vec<String>,
        /// The label column: integer with domain within `[0, 1]`.
        target: String,
    },
    /// Coefficient of determination `R² = 1 − SS_res / SS_tot` of a linear model: the given one
    /// (`[β₀, β₁, …, β_k]`, intercept first, in the columns' real units), or, if `model` is
    /// `None`, the least-squares fit from the same sums.
    RSquared {
        /// The feature columns (numeric).
        features: Vec<String>,
        /// The target column (numeric).
        target: String,
        /// The model to evaluate, intercept first; `None` to fit one.
        model: Option<Vec<f64>>,
    },
}

/// A small declared domain for histograms and sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Buckets {
    /// Consecutive ranges of `width` units covering a numeric column's whole domain, the first
    /// starting at the domain's minimum (the last may be shorter). Width 1 is one bucket per
    /// value.
    Width(u64),
    /// Listed values (text, or numbers for a numeric column, written as in a predicate). For a
    /// histogram, rows with any other value are counted in a final "other" bucket; for sets they
    /// are ignored.
    Values(Vec<String>),
}

/// A bucket of a histogram or an element of a set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Bucket {
    /// One value.
    Value(Value),
    /// The values from `min` to `max`, both included.
    Range {
        /// Smallest value of the bucket.
        min: Value,
        /// Largest value of the bucket.
        max: Value,
    },
    /// Every value not listed.
    Other,
}

/// A linear model's coefficients, intercept first, exactly and rounded to `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// `β₀`.
    pub intercept: f64,
    /// `β₁ … β_k`, in the order of the features.
    pub coefficients: Vec<f64>,
    /// `[β₀, β₁, …, β_k]` as exact rationals (the exact solution of the decoded system).
    pub exact: Vec<BigRational>,
}

/// The decoded answer to an [`Operation`].
///
/// Counts are `i128` because the totals may carry signed noise. Exact quantities are
/// [`BigRational`]s in the columns' real units (a decimal column's units divided by
/// `10^scale`); solved or irrational quantities are `f64`.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    /// Σ of the column.
    Sum(BigRational),
    /// Number of rows.
    Count(i128),
    /// The mean and the number of rows it is over.
    Mean {
        /// Σx / n.
        mean: BigRational,
        /// n.
        count: i128,
    },
    /// Mean, population variance and number of rows.
    Variance {
        /// Σx / n.
        mean: BigRational,
        /// Σ(x − mean)² / n = (n·Σx² − (Σx)²) / n².
        variance: BigRational,
        /// n.
        count: i128,
    },
    /// Count per bucket, in bucket order (the "other" bucket last, for listed values).
    Histogram(Vec<(Bucket, i128)>),
    /// The smallest value, or `None` if no row matched anywhere.
    Min(Option<Value>),
    /// The largest value, or `None` if no row matched anywhere.
    Max(Option<Value>),
    /// The boolean OR or AND.
    Bool(bool),
    /// The buckets in the union or intersection, in bucket order.
    Set(Vec<Bucket>),
    /// The cosine similarity, in `[-1, 1]`.
    Cosine(f64),
    /// Least-squares coefficients.
    LinearRegression(LinearModel),
    /// Weights minimizing the approximated logistic loss.
    LogisticRegression(LinearModel),
    /// R² of the model (the given one, or the fitted one).
    RSquared {
        /// `1 − SS_res / SS_tot`, rounded.
        r_squared: f64,
        /// The same, exactly.
        exact: BigRational,
        /// The model evaluated.
        model: LinearModel,
    },
}
