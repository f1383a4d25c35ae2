//! Disjunctive Chaum–Pedersen proofs: an ElGamal ciphertext encrypts one value of a public list.
//!
//! For a ciphertext `(a, b)` under key `Y` and public values `v₀ … v_k`, proves that
//! `(a, b) = (r·G, vⱼ·G + r·Y)` for some `j`, without revealing `j` (Cramer, Damgård and
//! Schoenmakers, "Proofs of partial knowledge and simplified design of witness hiding protocols",
//! CRYPTO 1994, applied to Chaum–Pedersen as in Cramer, Gennaro and Schoenmakers, "A secure and
//! optimally efficient multi-authority election scheme", EUROCRYPT 1997, §2.3).
//!
//! * [`OneOfProof`] with values `0..=k` is the per-entry ballot proof ("this entry is 0 or 1", or
//!   "this entry is in {0..k}" for points-based contests).
//! * [`SumProof`] proves that a vector of ciphertexts sums to a value in `[min, max]` by proving
//!   one-of `min..=max` on the homomorphic sum.
//!
//! Each branch keeps its commitments `(Aⱼ, Bⱼ)` so proofs are batch-verifiable; the challenge of the
//! last branch is implied (`c_k = c − Σ_{j<k} cⱼ`). The prover computes every commitment with
//! fixed-base multiplications (it knows `r`), so proving leaks no timing about `j`: simulated
//! branches use `Aⱼ = (zⱼ − cⱼ r)·G`, `Bⱼ = (zⱼ − cⱼ r)·Y + cⱼ(vⱼ − m)·G`.

use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::batch::{self, BatchVerifier};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::WirePoint;
use crate::error::{Error, Result};
use crate::group::SecretScalar;
use crate::transcript::{new_transcript, TranscriptExt};

/// Largest number of alternatives a [`OneOfProof`] accepts (proof size grows linearly).
pub const MAX_ALTERNATIVES: usize = 1024;

/// A public key with fixed-base tables for `G` and `Y`, for fast encryption and proving.
pub struct PrecomputedKey {
    /// The key.
    pub pk: PublicKey,
    y_table: RistrettoBasepointTable,
}

impl core::fmt::Debug for PrecomputedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrecomputedKey")
            .field("pk", &self.pk)
            .finish()
    }
}

impl PrecomputedKey {
    /// Builds the fixed-base table for `pk` (≈ 0.2 ms; do it once per election).
    pub fn new(pk: PublicKey) -> Self {
        PrecomputedKey {
            pk,
            y_table: RistrettoBasepointTable::create(&pk.0),
        }
    }

    fn g_mul(s: &Scalar) -> RistrettoPoint {
        s * curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE
    }

    fn y_mul(&self, s: &Scalar) -> RistrettoPoint {
        s * &self.y_table
    }

    /// Encrypts `m` (fixed-base), returning the randomness for the validity proof.
    pub fn encrypt<R: RngCore + CryptoRng>(
        &self,
        m: u64,
        rng: &mut R,
    ) -> (Ciphertext, SecretScalar) {
        let r = SecretScalar::random(rng);
        let c = Ciphertext {
            a: Self::g_mul(r.expose()),
            b: Self::g_mul(&Scalar::from(m)) + self.y_mul(r.expose()),
        };
        (c, r)
    }
}

/// Proof that a ciphertext encrypts one of a public list of values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OneOfProof {
    /// `Aⱼ` per branch.
    pub a: Vec<WirePoint>,
    /// `Bⱼ` per branch.
    pub b: Vec<WirePoint>,
    /// Challenges `c₀ … c_{k−1}` (the last is implied).
    #[schema(value_type = Vec<crate::api_schema::ScalarHex>)]
    #[serde(with = "crate::encoding::scalar_vec_hex")]
    pub challenges: Vec<Scalar>,
    /// Responses `zⱼ` per branch.
    #[schema(value_type = Vec<crate::api_schema::ScalarHex>)]
    #[serde(with = "crate::encoding::scalar_vec_hex")]
    pub responses: Vec<Scalar>,
}

fn transcript(
    context: &[u8],
    pk: &PublicKey,
    c: &Ciphertext,
    values: &[u64],
    a: &[WirePoint],
    b: &[WirePoint],
) -> Transcript {
    let mut t = new_transcript(b"tabella/one-of/v1", context);
    t.append_point(b"Y", &pk.0);
    t.append_point(b"ct.a", &c.a);
    t.append_point(b"ct.b", &c.b);
    t.append_u64_le(b"n", values.len() as u64);
    for v in values {
        t.append_u64_le(b"v", *v);
    }
    for (aj, bj) in a.iter().zip(b) {
        t.append_message(b"A", aj.compressed().as_bytes());
        t.append_message(b"B", bj.compressed().as_bytes());
    }
    t
}

fn check_values(values: &[u64]) -> Result<()> {
    if values.is_empty() || values.len() > MAX_ALTERNATIVES {
        return Err(Error::InvalidParameter(format!(
            "a one-of proof needs 1..={MAX_ALTERNATIVES} alternatives, got {}",
            values.len()
        )));
    }
    Ok(())
}

impl OneOfProof {
    /// Proves that `ct = Enc(m; r)` with `m = values[index]`.
    ///
    /// Returns an error if `index` is out of range. The caller must pass the true `m` and `r`;
    /// a wrong witness yields a proof that fails verification.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        key: &PrecomputedKey,
        ct: &Ciphertext,
        values: &[u64],
        index: usize,
        r: &SecretScalar,
        rng: &mut R,
    ) -> Result<OneOfProof> {
        check_values(values)?;
        if index >= values.len() {
            return Err(Error::InvalidParameter(format!(
                "witness index {index} out of range for {} alternatives",
                values.len()
            )));
        }
        let n = values.len();
        let m = Scalar::from(values[index]);
        let k = SecretScalar::random(rng);
        let mut a = Vec::with_capacity(n);
        let mut b = Vec::with_capacity(n);
        let mut cs = Vec::with_capacity(n);
        let mut zs = Vec::with_capacity(n);
        // Every branch is computed the same way; the real one is selected in constant time.
        for (j, v) in values.iter().enumerate() {
            let is_real = (j as u64).ct_eq(&(index as u64));
            let cj = Scalar::random(rng);
            let zj = Scalar::random(rng);
            let t_sim = zj - cj * r.expose();
            let t = Scalar::conditional_select(&t_sim, k.expose(), is_real);
            let cj_eff = Scalar::conditional_select(&cj, &Scalar::ZERO, is_real);
            let aj = PrecomputedKey::g_mul(&t);
            let bj = key.y_mul(&t) + PrecomputedKey::g_mul(&(cj_eff * (Scalar::from(*v) - m)));
            a.push(WirePoint::new(aj));
            b.push(WirePoint::new(bj));
            cs.push(cj_eff);
            zs.push(zj);
        }
        let c = transcript(context, &key.pk, ct, values, &a, &b).challenge_scalar(b"c");
        let sum_others: Scalar = cs.iter().sum();
        let c_real = c - sum_others;
        for j in 0..n {
            let is_real = (j as u64).ct_eq(&(index as u64));
            cs[j] = Scalar::conditional_select(&cs[j], &c_real, is_real);
            let z_real = k.expose() + c_real * r.expose();
            zs[j] = Scalar::conditional_select(&zs[j], &z_real, is_real);
        }
        cs.pop();
        Ok(OneOfProof {
            a,
            b,
            challenges: cs,
            responses: zs,
        })
    }

    /// Adds this proof's `2n` equations to a batch:
    /// `zⱼ·G − Aⱼ − cⱼ·a = 0` and `zⱼ·Y − Bⱼ − cⱼ·(b − vⱼ·G) = 0`.
    pub fn add_to_batch(
        &self,
        context: &[u8],
        pk: &PublicKey,
        ct: &Ciphertext,
        values: &[u64],
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        check_values(values)?;
        let n = values.len();
        if self.a.len() != n
            || self.b.len() != n
            || self.responses.len() != n
            || self.challenges.len() + 1 != n
        {
            return Err(Error::InvalidProof(
                "one-of proof: wrong number of branches",
            ));
        }
        let c = transcript(context, pk, ct, values, &self.a, &self.b).challenge_scalar(b"c");
        let last = c - self.challenges.iter().sum::<Scalar>();
        bv.count_proof();
        bv.reserve(4 * n + 2);
        // The ciphertext's `a` and `b` appear in every equation: accumulate their weighted
        // coefficients and add each once (6 points per 0/1 proof instead of 8).
        let mut coeff_a = Scalar::ZERO;
        let mut coeff_b = Scalar::ZERO;
        #[allow(clippy::needless_range_loop)] // indexes four parallel slices
        for j in 0..n {
            let cj = if j + 1 == n { last } else { self.challenges[j] };
            let zj = self.responses[j];
            bv.begin_equation();
            bv.add_g(zj);
            bv.add_point(-Scalar::ONE, *self.a[j].point());
            coeff_a -= bv.weight() * cj;
            bv.begin_equation();
            bv.add_fixed(zj, &pk.0);
            bv.add_point(-Scalar::ONE, *self.b[j].point());
            bv.add_g(cj * Scalar::from(values[j]));
            coeff_b -= bv.weight() * cj;
        }
        bv.add_weighted(coeff_a, ct.a);
        bv.add_weighted(coeff_b, ct.b);
        Ok(())
    }

    /// Verifies the proof alone.
    pub fn verify(
        &self,
        context: &[u8],
        pk: &PublicKey,
        ct: &Ciphertext,
        values: &[u64],
    ) -> Result<()> {
        batch::verify_single("one-of (disjunctive Chaum-Pedersen) proof", |bv| {
            self.add_to_batch(context, pk, ct, values, bv)
        })
    }
}

/// The values `0..=k`.
pub fn range_values(min: u64, max: u64) -> Result<Vec<u64>> {
    if min > max || (max - min) as usize >= MAX_ALTERNATIVES {
        return Err(Error::InvalidParameter(format!(
            "range [{min}, {max}] must be non-empty with at most {MAX_ALTERNATIVES} values"
        )));
    }
    Ok((min..=max).collect())
}

/// Proof that a vector of ciphertexts sums to a value in `[min, max]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SumProof {
    /// Lower bound of the sum.
    pub min: u64,
    /// Upper bound of the sum.
    pub max: u64,
    /// One-of proof on the homomorphic sum for the values `min..=max`.
    pub proof: OneOfProof,
}

impl SumProof {
    /// Proves that `Σ cts[i]` (with randomness `Σ rs[i]`) encrypts `sum ∈ [min, max]`.
    #[allow(clippy::too_many_arguments)]
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        key: &PrecomputedKey,
        cts: &[Ciphertext],
        rs: &[SecretScalar],
        sum: u64,
        min: u64,
        max: u64,
        rng: &mut R,
    ) -> Result<SumProof> {
        if cts.len() != rs.len() {
            return Err(Error::InvalidParameter(
                "one randomness per ciphertext is required".into(),
            ));
        }
        let values = range_values(min, max)?;
        if sum < min || sum > max {
            return Err(Error::InvalidParameter(format!(
                "sum {sum} is outside [{min}, {max}]"
            )));
        }
        let total = Ciphertext::sum(cts);
        let r = SecretScalar::new(rs.iter().map(|r| r.expose()).sum());
        let proof =
            OneOfProof::prove(context, key, &total, &values, (sum - min) as usize, &r, rng)?;
        Ok(SumProof { min, max, proof })
    }

    /// Adds the proof to a batch.
    pub fn add_to_batch(
        &self,
        context: &[u8],
        pk: &PublicKey,
        cts: &[Ciphertext],
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        let values = range_values(self.min, self.max)?;
        self.proof
            .add_to_batch(context, pk, &Ciphertext::sum(cts), &values, bv)
    }

    /// Verifies the proof alone for the claimed bounds.
    pub fn verify(&self, context: &[u8], pk: &PublicKey, cts: &[Ciphertext]) -> Result<()> {
        let values = range_values(self.min, self.max)?;
        self.proof
            .verify(context, pk, &Ciphertext::sum(cts), &values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::{DlogTable, SecretKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn setup(seed: u64) -> (ChaCha20Rng, SecretKey, PrecomputedKey) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        (rng, sk, key)
    }

    #[test]
    fn bit_proofs() {
        let (mut rng, sk, key) = setup(1);
        let table = DlogTable::new(10).unwrap();
        for m in [0u64, 1] {
            let (ct, r) = key.encrypt(m, &mut rng);
            assert_eq!(sk.decrypt_vartime(&ct, &table).unwrap(), m);
            let p = OneOfProof::prove(b"x", &key, &ct, &[0, 1], m as usize, &r, &mut rng).unwrap();
            p.verify(b"x", &key.pk, &ct, &[0, 1]).unwrap();
            assert!(p.verify(b"y", &key.pk, &ct, &[0, 1]).is_err());
        }
    }

    #[test]
    fn false_statement_rejected() {
        let (mut rng, _sk, key) = setup(2);
        let (ct, r) = key.encrypt(2, &mut rng);
        // claim 2 ∈ {0,1} using either index: must fail
        for idx in 0..2 {
            let p = OneOfProof::prove(b"x", &key, &ct, &[0, 1], idx, &r, &mut rng).unwrap();
            assert!(p.verify(b"x", &key.pk, &ct, &[0, 1]).is_err());
        }
    }

    #[test]
    fn sum_proof() {
        let (mut rng, _sk, key) = setup(3);
        let votes = [0u64, 1, 0, 0];
        let (cts, rs): (Vec<_>, Vec<_>) = votes.iter().map(|v| key.encrypt(*v, &mut rng)).unzip();
        let p = SumProof::prove(b"s", &key, &cts, &rs, 1, 1, 1, &mut rng).unwrap();
        p.verify(b"s", &key.pk, &cts).unwrap();
        let p = SumProof::prove(b"s", &key, &cts, &rs, 1, 0, 3, &mut rng).unwrap();
        p.verify(b"s", &key.pk, &cts).unwrap();
        let mut bad = p.clone();
        bad.max = 4;
        assert!(bad.verify(b"s", &key.pk, &cts).is_err());
        assert!(p.verify(b"s", &key.pk, &cts[..3]).is_err());
    }
}
