//! Exact differential-privacy noise: discrete Laplace and discrete Gaussian samplers with no
//! floating point in the sampling path.
//!
//! The samplers are Algorithms 1–3 of Canonne, Kamath and Steinke, "The Discrete Gaussian for
//! Differential Privacy" (NeurIPS 2020; arXiv:2004.00010), run on arbitrary-precision integers
//! and rationals, so their output distribution is exactly the one stated (given uniform random
//! bits), with none of the floating-point artifacts that break naive Laplace samplers (Mironov,
//! "On Significance of the Least Significant Bits for Differential Privacy", CCS 2012):
//!
//! 1. [`bernoulli_exp`]: `Bernoulli(exp(−γ))` for a rational `γ ≥ 0`, from Bernoulli trials of
//!    rational probability (each a uniform integer below the denominator compared with the
//!    numerator).
//! 2. [`discrete_laplace`]: `P[X = x] ∝ exp(−|x|/scale)` for a rational scale, from a uniform
//!    remainder, a geometric quotient (counted `Bernoulli(exp(−1))` successes) and a sign.
//! 3. [`discrete_gaussian`]: `P[X = x] ∝ exp(−x²/(2σ²))` for a rational `σ²`, by rejection
//!    from a discrete Laplace of scale `t = ⌊σ⌋ + 1`, accepting with probability
//!    `exp(−(|x| − σ²/t)² / (2σ²))`.
//!
//! A query's noise is described by a [`NoiseSpec`] (mechanism, `ε`, `δ`, sensitivity), turned
//! into recorded, serializable [`NoiseParams`]:
//!
//! * **Laplace**: `scale = sensitivity / ε`, which gives `ε`-DP for a query of that
//!   (ℓ₁) sensitivity (the discrete Laplace mechanism, CKS; Ghosh, Roughgarden and
//!   Sundararajan's geometric mechanism); `δ` must be absent.
//! * **Gaussian**: `σ² = Δ² / (2ρ)` with `ρ = (√(ln(1/δ) + ε) − √ln(1/δ))²`. The discrete
//!   Gaussian with this `σ` satisfies `½(Δ/σ)² = ρ`-concentrated DP (CKS, "the discrete
//!   Gaussian satisfies concentrated differential privacy"), and `ρ`-zCDP implies
//!   `(ρ + 2√(ρ·ln(1/δ)), δ)`-DP (Bun and Steinke, TCC 2016, Proposition 1.3); the `ρ` above
//!   solves `ρ + 2√(ρ·ln(1/δ)) = ε`. This bound holds for every `ε > 0` (unlike the classical
//!   `σ = Δ·√(2 ln(1.25/δ))/ε`, which needs `ε < 1`), though it is not the tightest known. The
//!   computation of `σ²` (not the sampling) uses `f64` logarithms and square roots; the result
//!   is enlarged by a relative margin of 10⁻⁹ — far above the few-ulp error of those operations
//!   — and rounded *up* to a multiple of 2⁻²⁰, so the recorded `σ²` is never below the bound.
//!
//! UnLynx's distributed results obfuscation (Froelicher et al., "UnLynx: A Decentralized System
//! for Privacy-Conscious Data Sharing", PETS 2017) has every computing node contribute a list
//! of noise values drawn from the query's distribution ([`sample_list`]); the protocol
//! encrypts, shuffles and re-randomizes the lists and adds the first value(s) to the result.

use core::fmt;

use num_bigint::{BigInt, BigUint};
use num_traits::{One, ToPrimitive, Zero};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A non-negative rational `num / den` (`den > 0`), for privacy parameters and noise scales.
/// Serialized as `{"num": …, "den": …}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rational {
    /// Numerator.
    pub num: u64,
    /// Denominator (positive).
    pub den: u64,
}

impl Rational {
    /// `num / den`, reduced. Fails if `den` is 0.
    pub fn new(num: u64, den: u64) -> Result<Self> {
        if den == 0 {
            return Err(Error::InvalidNoise(format!("{num}/0 is not a number")));
        }
        let g = num_integer::gcd(num, den);
        Ok(Rational {
            num: num / g,
            den: den / g,
        })
    }

    /// Reads `"a/b"` or a non-negative decimal such as `"0.1"` (exactly `1/10`).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::InvalidNoise(format!("`{text}` is not a non-negative rational"));
        if let Some((a, b)) = text.split_once('/') {
            let a = a.trim().parse::<u64>().map_err(|_| bad())?;
            let b = b.trim().parse::<u64>().map_err(|_| bad())?;
            return Rational::new(a, b);
        }
        let d = crate::schema::Decimal::parse(text.trim()).map_err(|_| bad())?;
        let num = u64::try_from(d.units()).map_err(|_| bad())?;
        let den = 10u64.checked_pow(d.scale()).ok_or_else(bad)?;
        Rational::new(num, den)
    }

    /// Whether the value is 0.
    pub fn is_zero(&self) -> bool {
        self.num == 0
    }

    /// The nearest `f64` (for reporting and for deriving parameters, never for sampling).
    pub fn to_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    fn big(&self) -> (BigUint, BigUint) {
        (BigUint::from(self.num), BigUint::from(self.den))
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// Which noise distribution protects the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Discrete Laplace (pure `ε`-DP).
    Laplace,
    /// Discrete Gaussian (`(ε, δ)`-DP through concentrated DP).
    Gaussian,
}

/// The privacy a query asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoiseSpec {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// `ε > 0`.
    pub epsilon: Rational,
    /// `δ ∈ (0, 1)` for the Gaussian mechanism; `None` for Laplace.
    pub delta: Option<Rational>,
    /// How much one individual can change one entry of the totals, in encoded units
    /// ([`crate::encoding::sensitivity`]); at least 1.
    pub sensitivity: u64,
}

/// A noise distribution on the integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "distribution", rename_all = "snake_case")]
pub enum Distribution {
    /// `P[X = x] = (1 − q)/(1 + q) · q^|x|`, `q = exp(−1/scale)`.
    DiscreteLaplace {
        /// The scale (`sensitivity / ε`).
        scale: Rational,
    },
    /// `P[X = x] ∝ exp(−x² / (2σ²))`.
    DiscreteGaussian {
        /// The variance parameter `σ²`.
        sigma2: Rational,
    },
}

impl Distribution {
    /// One draw.
    pub fn sample<R: RngCore + CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<i64> {
        match self {
            Distribution::DiscreteLaplace { scale } => discrete_laplace(*scale, rng),
            Distribution::DiscreteGaussian { sigma2 } => discrete_gaussian(*sigma2, rng),
        }
    }
}

/// A query's noise parameters as recorded with the query: the spec and the distribution derived
/// from it. Anyone can re-derive the distribution from the spec ([`NoiseSpec::params`]) and
/// check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoiseParams {
    /// What was asked for.
    pub spec: NoiseSpec,
    /// The distribution that provides it.
    pub distribution: Distribution,
}

/// `σ²` is rounded up to a multiple of `2^-SIGMA2_FRACTION_BITS`.
const SIGMA2_FRACTION_BITS: u32 = 20;

impl NoiseSpec {
    /// The distribution for this spec (see the module documentation for the bounds used).
    pub fn params(&self) -> Result<NoiseParams> {
        let bad = |m: String| Err(Error::InvalidNoise(m));
        if self.epsilon.is_zero() {
            return bad("ε must be positive".into());
        }
        if self.sensitivity == 0 {
            return bad("the sensitivity must be at least 1".into());
        }
        let distribution = match self.mechanism {
            Mechanism::Laplace => {
                if self.delta.is_some() {
                    return bad("the Laplace mechanism takes no δ".into());
                }
                // scale = Δ / ε = Δ·den / num.
                let num = u128::from(self.sensitivity) * u128::from(self.epsilon.den);
                let den = u128::from(self.epsilon.num);
                let g = num_integer::gcd(num, den);
                let (num, den) = (num / g, den / g);
                let scale = Rational::new(
                    u64::try_from(num).map_err(|_| Error::Overflow("the Laplace scale"))?,
                    u64::try_from(den).map_err(|_| Error::Overflow("the Laplace scale"))?,
                )?;
                Distribution::DiscreteLaplace { scale }
            }
            Mechanism::Gaussian => {
                let Some(delta) = self.delta else {
                    return bad("the Gaussian mechanism needs δ".into());
                };
                if delta.is_zero() || delta.num >= delta.den {
                    return bad(format!("δ = {delta} is not in (0, 1)"));
                }
                let eps = self.epsilon.to_f64();
                let l = (delta.den as f64 / delta.num as f64).ln();
                // √(L + ε) − √L without cancellation.
                let root_rho = eps / ((l + eps).sqrt() + l.sqrt());
                let rho = root_rho * root_rho;
                let d = self.sensitivity as f64;
                let sigma2 = d * d / (2.0 * rho) * (1.0 + 1e-9);
                Distribution::DiscreteGaussian {
                    sigma2: round_up(sigma2)?,
                }
            }
        };
        Ok(NoiseParams {
            spec: *self,
            distribution,
        })
    }
}

/// The smallest multiple of `2^-20` at or above `x` (or the smallest integer, for large `x`).
fn round_up(x: f64) -> Result<Rational> {
    let too_large = || Error::InvalidNoise(format!("σ² = {x} is too large"));
    if !x.is_finite() || x <= 0.0 {
        return Err(too_large());
    }
    let scaled = (x * f64::from(1u32 << SIGMA2_FRACTION_BITS)).ceil();
    if scaled < 9.0e18 {
        // An integer-valued f64 below 2^63 converts exactly.
        return Rational::new(scaled as u64, 1u64 << SIGMA2_FRACTION_BITS);
    }
    let whole = x.ceil();
    if whole < 9.0e18 {
        return Rational::new(whole as u64, 1);
    }
    Err(too_large())
}

/// `len` noise values drawn independently from the distribution of `spec`: one computing node's
/// contribution to UnLynx's distributed results obfuscation.
pub fn sample_list<R: RngCore + CryptoRng + ?Sized>(
    spec: &NoiseSpec,
    len: usize,
    rng: &mut R,
) -> Result<Vec<i64>> {
    let params = spec.params()?;
    (0..len).map(|_| params.distribution.sample(rng)).collect()
}

// ---------------------------------------------------------------------------------------------
// The samplers (Canonne, Kamath, Steinke 2020, Algorithms 1–3).

/// A uniform integer in `[0, n)` (`n > 0`), by rejection of masked random bytes (no bias).
fn uniform_below<R: RngCore + ?Sized>(n: &BigUint, rng: &mut R) -> BigUint {
    let bits = n.bits();
    let bytes = bits.div_ceil(8) as usize;
    let excess = (bytes as u64) * 8 - bits;
    let mut buf = vec![0u8; bytes];
    loop {
        rng.fill_bytes(&mut buf);
        if let Some(top) = buf.last_mut() {
            *top &= 0xffu8 >> excess;
        }
        let x = BigUint::from_bytes_le(&buf);
        if &x < n {
            return x;
        }
    }
}

/// `Bernoulli(num / den)`, `0 <= num <= den`, `den > 0`.
fn bernoulli<R: RngCore + ?Sized>(num: &BigUint, den: &BigUint, rng: &mut R) -> bool {
    &uniform_below(den, rng) < num
}

/// `Bernoulli(exp(−γ))` for `γ = num / den ≥ 0` (CKS Algorithm 1).
///
/// For `γ ≤ 1`: draw `A_k ~ Bernoulli(γ/k)` for `k = 1, 2, …` until the first failure at `K`;
/// return whether `K` is odd (`P[K odd] = Σ (−γ)^j / j! = e^{−γ}`). For `γ > 1`: `⌊γ⌋`
/// independent `Bernoulli(e^{−1})` successes, then `Bernoulli(e^{−(γ − ⌊γ⌋)})`.
pub fn bernoulli_exp<R: RngCore + CryptoRng + ?Sized>(
    num: &BigUint,
    den: &BigUint,
    rng: &mut R,
) -> Result<bool> {
    if den.is_zero() {
        return Err(Error::InvalidNoise("γ with a zero denominator".into()));
    }
    Ok(bernoulli_exp_unchecked(num, den, rng))
}

fn bernoulli_exp_unchecked<R: RngCore + ?Sized>(num: &BigUint, den: &BigUint, rng: &mut R) -> bool {
    if num <= den {
        let mut k = BigUint::one();
        loop {
            let d = den * &k;
            if !bernoulli(num, &d, rng) {
                break;
            }
            k += 1u32;
        }
        return k.bit(0);
    }
    let whole = num / den;
    let one = BigUint::one();
    let mut i = BigUint::zero();
    while i < whole {
        if !bernoulli_exp_unchecked(&one, &one, rng) {
            return false;
        }
        i += 1u32;
    }
    let frac = num - &whole * den;
    bernoulli_exp_unchecked(&frac, den, rng)
}

/// Discrete Laplace with `P[X = x] ∝ exp(−|x| / scale)` (CKS Algorithm 2 with `t/s = scale`).
///
/// Writing `scale = t/s`: draw `U` uniform in `[0, t)` and keep it with probability
/// `exp(−U/t)`; draw `V` geometric (`P[V = v] = (1 − e^{−1}) e^{−v}`, as the number of
/// `Bernoulli(e^{−1})` successes before the first failure); `X = U + t·V` is then geometric with
/// parameter `1 − e^{−1/t}`; `Y = ⌊X / s⌋`; draw a sign, rejecting "negative zero".
pub fn discrete_laplace<R: RngCore + CryptoRng + ?Sized>(
    scale: Rational,
    rng: &mut R,
) -> Result<i64> {
    if scale.is_zero() {
        return Err(Error::InvalidNoise("a Laplace scale of 0".into()));
    }
    let (t, s) = scale.big();
    to_i64(laplace_big(&t, &s, rng))
}

fn laplace_big<R: RngCore + ?Sized>(t: &BigUint, s: &BigUint, rng: &mut R) -> BigInt {
    let one = BigUint::one();
    let two = BigUint::from(2u32);
    loop {
        let u = uniform_below(t, rng);
        if !bernoulli_exp_unchecked(&u, t, rng) {
            continue;
        }
        let mut v = BigUint::zero();
        while bernoulli_exp_unchecked(&one, &one, rng) {
            v += 1u32;
        }
        let x = u + t * v;
        let y = x / s;
        let negative = bernoulli(&one, &two, rng);
        if negative && y.is_zero() {
            continue;
        }
        let y = BigInt::from(y);
        return if negative { -y } else { y };
    }
}

/// Discrete Gaussian with `P[X = x] ∝ exp(−x² / (2σ²))` (CKS Algorithm 3).
///
/// With `σ² = a/b` and `t = ⌊σ⌋ + 1`: draw `Y` from the discrete Laplace of scale `t` and accept
/// it with probability `exp(−(|Y| − σ²/t)² / (2σ²)) = exp(−(|Y|·b·t − a)² / (2·a·b·t²))`.
pub fn discrete_gaussian<R: RngCore + CryptoRng + ?Sized>(
    sigma2: Rational,
    rng: &mut R,
) -> Result<i64> {
    if sigma2.is_zero() {
        return Err(Error::InvalidNoise("a Gaussian σ² of 0".into()));
    }
    let (a, b) = sigma2.big();
    // ⌊σ⌋ = ⌊√⌊σ²⌋⌋.
    let t = (&a / &b).sqrt() + 1u32;
    let one = BigUint::one();
    let a_int = BigInt::from(a.clone());
    let den = BigUint::from(2u32) * &a * &b * &t * &t;
    let bt = BigInt::from(&b * &t);
    loop {
        let y = laplace_big(&t, &one, rng);
        let diff = BigInt::from(y.magnitude().clone()) * &bt - &a_int;
        let num = diff.magnitude() * diff.magnitude();
        if bernoulli_exp_unchecked(&num, &den, rng) {
            return to_i64(y);
        }
    }
}

fn to_i64(v: BigInt) -> Result<i64> {
    v.to_i64().ok_or(Error::Overflow("a noise value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// χ² critical values at α = 0.001 for 1..=30 degrees of freedom.
    const CHI2_CRIT_001: [f64; 30] = [
        10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588, 31.264,
        32.909, 34.528, 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315, 46.797, 48.268,
        49.728, 51.179, 52.620, 54.052, 55.476, 56.892, 58.301, 59.703,
    ];

    /// The χ² statistic of `samples` against the pmf `p` on the integers, with the cells
    /// `(-∞, -K-1], -K, …, K, [K+1, ∞)` for the largest `K` such that every cell expects at
    /// least 5 draws. Returns (statistic, degrees of freedom).
    fn chi_square(samples: &[i64], p: impl Fn(i64) -> f64) -> (f64, usize) {
        let n = samples.len() as f64;
        const FAR: i64 = 10_000;
        let upper_tail = |k: i64| (k + 1..FAR).map(&p).sum::<f64>();
        let lower_tail = |k: i64| (-FAR..-k).map(&p).sum::<f64>();
        let mut k = 0;
        while n * p(k + 1) >= 5.0
            && n * p(-(k + 1)) >= 5.0
            && n * upper_tail(k + 1) >= 5.0
            && n * lower_tail(k + 1) >= 5.0
        {
            k += 1;
        }
        assert!(n * upper_tail(k) >= 5.0 && n * lower_tail(k) >= 5.0);
        let mut expected = vec![n * lower_tail(k)];
        expected.extend((-k..=k).map(|x| n * p(x)));
        expected.push(n * upper_tail(k));
        let mut observed = vec![0f64; expected.len()];
        for &x in samples {
            let cell = if x < -k {
                0
            } else if x > k {
                expected.len() - 1
            } else {
                (x + k + 1) as usize
            };
            observed[cell] += 1.0;
        }
        let stat = observed
            .iter()
            .zip(&expected)
            .map(|(o, e)| (o - e) * (o - e) / e)
            .sum();
        (stat, expected.len() - 1)
    }

    fn laplace_pmf(scale: f64) -> impl Fn(i64) -> f64 {
        let q = (-1.0 / scale).exp();
        move |x| (1.0 - q) / (1.0 + q) * q.powf(x.unsigned_abs() as f64)
    }

    fn gaussian_pmf(sigma2: f64) -> impl Fn(i64) -> f64 {
        let z: f64 = (-2000i64..=2000)
            .map(|y| (-(y * y) as f64 / (2.0 * sigma2)).exp())
            .sum();
        move |x| (-(x as f64) * (x as f64) / (2.0 * sigma2)).exp() / z
    }

    fn draws(d: Distribution, n: usize, seed: u64) -> Vec<i64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| d.sample(&mut rng).expect("sample"))
            .collect()
    }

    fn accepts(samples: &[i64], p: impl Fn(i64) -> f64) -> (bool, f64, f64) {
        let (stat, df) = chi_square(samples, p);
        let crit = CHI2_CRIT_001[df - 1];
        (stat <= crit, stat, crit)
    }

    const LAPLACE_2: Distribution = Distribution::DiscreteLaplace {
        scale: Rational { num: 2, den: 1 },
    };
    const GAUSSIAN_9: Distribution = Distribution::DiscreteGaussian {
        sigma2: Rational { num: 9, den: 1 },
    };

    #[test]
    fn discrete_laplace_scale_2_fits_its_pmf() {
        let s = draws(LAPLACE_2, 1000, 2020);
        let (ok, stat, crit) = accepts(&s, laplace_pmf(2.0));
        assert!(ok, "χ² = {stat} > {crit}");
    }

    #[test]
    fn discrete_gaussian_sigma_3_fits_its_pmf() {
        let s = draws(GAUSSIAN_9, 1000, 2020);
        let (ok, stat, crit) = accepts(&s, gaussian_pmf(9.0));
        assert!(ok, "χ² = {stat} > {crit}");
    }

    #[test]
    fn the_test_rejects_a_wrong_distribution() {
        // Scale-4 Laplace draws tested against the scale-2 pmf.
        let wide = Distribution::DiscreteLaplace {
            scale: Rational { num: 4, den: 1 },
        };
        let (ok, stat, crit) = accepts(&draws(wide, 1000, 2020), laplace_pmf(2.0));
        assert!(!ok, "χ² = {stat} <= {crit}: a wrong distribution passed");
        // σ = 4.5 Gaussian draws tested against σ = 3.
        let wide = Distribution::DiscreteGaussian {
            sigma2: Rational { num: 81, den: 4 },
        };
        let (ok, stat, crit) = accepts(&draws(wide, 1000, 2020), gaussian_pmf(9.0));
        assert!(!ok, "χ² = {stat} <= {crit}: a wrong distribution passed");
        // And a Laplace of scale 3 tested as a Gaussian of the same variance (σ² = 2q/(1−q)² ≈ 17.5).
        let q: f64 = (-1.0f64 / 3.0).exp();
        let var = 2.0 * q / ((1.0 - q) * (1.0 - q));
        let lap = Distribution::DiscreteLaplace {
            scale: Rational { num: 3, den: 1 },
        };
        let (ok, stat, crit) = accepts(&draws(lap, 1000, 7), gaussian_pmf(var));
        assert!(!ok, "χ² = {stat} <= {crit}: Laplace passed as a Gaussian");
    }

    #[test]
    fn fractional_parameters_fit_their_pmfs() {
        let lap = Distribution::DiscreteLaplace {
            scale: Rational { num: 5, den: 2 },
        };
        let (ok, stat, crit) = accepts(&draws(lap, 1000, 11), laplace_pmf(2.5));
        assert!(ok, "χ² = {stat} > {crit}");
        let g = Distribution::DiscreteGaussian {
            sigma2: Rational { num: 7, den: 3 },
        };
        let (ok, stat, crit) = accepts(&draws(g, 1000, 11), gaussian_pmf(7.0 / 3.0));
        assert!(ok, "χ² = {stat} > {crit}");
    }

    #[test]
    fn bernoulli_exp_has_the_right_mean() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let n = 20_000u32;
        for (num, den) in [(0u32, 1u32), (1, 2), (1, 1), (5, 2), (7, 3)] {
            let p = (-(f64::from(num) / f64::from(den))).exp();
            let hits = (0..n)
                .filter(|_| {
                    bernoulli_exp(&BigUint::from(num), &BigUint::from(den), &mut rng).expect("b")
                })
                .count() as f64;
            let sd = (f64::from(n) * p * (1.0 - p)).sqrt().max(1e-9);
            let z = (hits - f64::from(n) * p) / sd;
            assert!(z.abs() < 4.0, "γ = {num}/{den}: z = {z}");
        }
        assert!(bernoulli_exp(&BigUint::one(), &BigUint::zero(), &mut rng).is_err());
    }

    #[test]
    fn uniform_below_is_in_range_and_hits_every_value() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for n in [1u32, 2, 3, 7, 255, 256, 257] {
            let nb = BigUint::from(n);
            let mut seen = vec![false; n as usize];
            for _ in 0..(n * 40) {
                let x = uniform_below(&nb, &mut rng);
                assert!(x < nb);
                seen[x.to_usize().expect("small")] = true;
            }
            assert!(seen.iter().all(|s| *s), "n = {n}");
        }
    }

    #[test]
    fn laplace_params_are_sensitivity_over_epsilon() {
        let spec = NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational::parse("0.5").expect("ε"),
            delta: None,
            sensitivity: 3,
        };
        assert_eq!(
            spec.params().expect("p").distribution,
            Distribution::DiscreteLaplace {
                scale: Rational { num: 6, den: 1 }
            }
        );
        let spec = NoiseSpec {
            epsilon: Rational::parse("4/3").expect("ε"),
            ..spec
        };
        assert_eq!(
            spec.params().expect("p").distribution,
            Distribution::DiscreteLaplace {
                scale: Rational { num: 9, den: 4 }
            }
        );
    }

    #[test]
    fn gaussian_params_meet_the_zcdp_bound() {
        for (eps, delta, sens) in [
            ("1", "0.00001", 1u64),
            ("0.1", "1/1000000", 7),
            ("3", "0.01", 100),
        ] {
            let spec = NoiseSpec {
                mechanism: Mechanism::Gaussian,
                epsilon: Rational::parse(eps).expect("ε"),
                delta: Some(Rational::parse(delta).expect("δ")),
                sensitivity: sens,
            };
            let Distribution::DiscreteGaussian { sigma2 } = spec.params().expect("p").distribution
            else {
                panic!("not Gaussian")
            };
            // The ε actually provided: ρ = Δ²/(2σ²), ε' = ρ + 2√(ρ ln(1/δ)) must not exceed ε.
            let rho = (sens as f64).powi(2) / (2.0 * sigma2.to_f64());
            let l = (1.0 / spec.delta.expect("δ").to_f64()).ln();
            let eps_given = rho + 2.0 * (rho * l).sqrt();
            let eps_asked = spec.epsilon.to_f64();
            assert!(eps_given <= eps_asked, "{eps_given} > {eps_asked}");
            assert!(eps_given > eps_asked * (1.0 - 1e-6), "needlessly loose");
        }
        // ε = 1, δ = 1e-5, Δ = 1: σ² ≈ 24.008.
        let spec = NoiseSpec {
            mechanism: Mechanism::Gaussian,
            epsilon: Rational::new(1, 1).expect("ε"),
            delta: Some(Rational::new(1, 100_000).expect("δ")),
            sensitivity: 1,
        };
        let Distribution::DiscreteGaussian { sigma2 } = spec.params().expect("p").distribution
        else {
            panic!("not Gaussian")
        };
        assert!((sigma2.to_f64() - 24.008).abs() < 0.01, "{sigma2}");
    }

    #[test]
    fn invalid_specs_are_rejected() {
        let base = NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational::new(1, 1).expect("ε"),
            delta: None,
            sensitivity: 1,
        };
        let bad = [
            NoiseSpec {
                epsilon: Rational::new(0, 1).expect("ε"),
                ..base
            },
            NoiseSpec {
                sensitivity: 0,
                ..base
            },
            NoiseSpec {
                delta: Some(Rational::new(1, 100).expect("δ")),
                ..base
            },
            NoiseSpec {
                mechanism: Mechanism::Gaussian,
                ..base
            },
            NoiseSpec {
                mechanism: Mechanism::Gaussian,
                delta: Some(Rational::new(1, 1).expect("δ")),
                ..base
            },
            NoiseSpec {
                mechanism: Mechanism::Gaussian,
                delta: Some(Rational::new(0, 1).expect("δ")),
                ..base
            },
            NoiseSpec {
                epsilon: Rational::new(1, u64::MAX).expect("ε"),
                sensitivity: u64::MAX,
                ..base
            },
        ];
        for spec in bad {
            assert!(
                matches!(
                    spec.params(),
                    Err(Error::InvalidNoise(_)) | Err(Error::Overflow(_))
                ),
                "{spec:?}"
            );
        }
        assert!(Rational::new(1, 0).is_err());
        for t in ["", "-1", "1/0", "a", "1/-2", "0.5.5"] {
            assert!(Rational::parse(t).is_err(), "{t}");
        }
        let mut rng = ChaCha20Rng::seed_from_u64(0);
        assert!(discrete_laplace(Rational { num: 0, den: 1 }, &mut rng).is_err());
        assert!(discrete_gaussian(Rational { num: 0, den: 1 }, &mut rng).is_err());
    }

    #[test]
    fn sample_list_is_reproducible_and_recorded() {
        let spec = NoiseSpec {
            mechanism: Mechanism::Gaussian,
            epsilon: Rational::new(1, 2).expect("ε"),
            delta: Some(Rational::new(1, 1_000_000).expect("δ")),
            sensitivity: 2,
        };
        let a = sample_list(&spec, 50, &mut ChaCha20Rng::seed_from_u64(9)).expect("a");
        let b = sample_list(&spec, 50, &mut ChaCha20Rng::seed_from_u64(9)).expect("b");
        assert_eq!(a, b);
        assert_eq!(a.len(), 50);
        assert!(a.iter().any(|x| *x != 0));
        let params = spec.params().expect("p");
        let json = serde_json::to_string(&params).expect("json");
        let back: NoiseParams = serde_json::from_str(&json).expect("back");
        assert_eq!(back, params);
        assert_eq!(back.spec.params().expect("p"), params);
    }
}
