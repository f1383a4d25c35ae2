//! Proofs of knowledge of a preimage under a linear map (multi-base Schnorr).
//!
//! Proves knowledge of secret scalars `w_0 … w_{m−1}` such that every public equation
//! `Y_i = Σ_k w_{k}·B_{i,k}` holds, with one commitment per equation and one response per witness
//! (Maurer, "Unifying zero-knowledge proofs of knowledge", AFRICACRYPT 2009, §4; Camenisch and
//! Stadler, "Proof systems for general statements about discrete logarithms", ETH TR 260, 1997).
//! Schnorr and Chaum–Pedersen are the special cases of one witness; key switching
//! ([`crate::keyswitch`]) uses two witnesses over three equations.
//!
//! Fiat–Shamir over a merlin transcript labelled `tabella/linear/v1`, bound to a caller context
//! and to the whole statement (every base and every image). Proofs keep their commitments so they
//! can be batch-verified ([`crate::batch`]).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchVerifier};
use crate::error::{Error, Result};
use crate::group::{SecretScalar, G};
use crate::transcript::{new_transcript, TranscriptExt};

/// One equation `image = Σ w_{index}·base` over the listed terms (absent witnesses have
/// coefficient zero).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearEquation {
    /// `(witness index, base)` pairs.
    pub terms: Vec<(usize, RistrettoPoint)>,
    /// The public image `Y_i`.
    pub image: RistrettoPoint,
}

/// A system of linear equations in `witnesses` secret scalars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearStatement {
    /// Number of secret scalars.
    pub witnesses: usize,
    /// The equations.
    pub equations: Vec<LinearEquation>,
}

impl LinearStatement {
    fn check(&self) -> Result<()> {
        if self.witnesses == 0 || self.equations.is_empty() {
            return Err(Error::InvalidParameter(
                "a linear statement needs at least one witness and one equation".into(),
            ));
        }
        if self
            .equations
            .iter()
            .flat_map(|e| &e.terms)
            .any(|(k, _)| *k >= self.witnesses)
        {
            return Err(Error::InvalidParameter(
                "a linear equation refers to a witness that does not exist".into(),
            ));
        }
        Ok(())
    }

    fn transcript(&self, context: &[u8], commitments: &[RistrettoPoint]) -> Transcript {
        let mut t = new_transcript(b"tabella/linear/v1", context);
        t.append_u64_le(b"m", self.witnesses as u64);
        t.append_u64_le(b"n", self.equations.len() as u64);
        for e in &self.equations {
            t.append_u64_le(b"terms", e.terms.len() as u64);
            for (k, b) in &e.terms {
                t.append_u64_le(b"k", *k as u64);
                t.append_point(b"B", b);
            }
            t.append_point(b"Y", &e.image);
        }
        for a in commitments {
            t.append_point(b"A", a);
        }
        t
    }
}

/// A proof of knowledge of a preimage for a [`LinearStatement`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinearProof {
    /// `A_i = Σ r_k·B_{i,k}` per equation.
    #[schema(value_type = Vec<crate::api_schema::PointHex>)]
    #[serde(with = "crate::encoding::point_vec_hex")]
    pub commitments: Vec<RistrettoPoint>,
    /// `z_k = r_k + c·w_k` per witness.
    #[schema(value_type = Vec<crate::api_schema::ScalarHex>)]
    #[serde(with = "crate::encoding::scalar_vec_hex")]
    pub responses: Vec<Scalar>,
}

impl LinearProof {
    /// Proves knowledge of `witness` for `st`. A witness that does not satisfy the statement yields
    /// a proof that fails verification.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        st: &LinearStatement,
        witness: &[SecretScalar],
        rng: &mut R,
    ) -> Result<LinearProof> {
        st.check()?;
        if witness.len() != st.witnesses {
            return Err(Error::InvalidParameter(format!(
                "{} witnesses given, the statement has {}",
                witness.len(),
                st.witnesses
            )));
        }
        let nonces: Vec<SecretScalar> = witness.iter().map(|_| SecretScalar::random(rng)).collect();
        let commitments: Vec<RistrettoPoint> = st
            .equations
            .iter()
            .map(|e| {
                // Constant-time multiscalar multiplication: the nonces are secret.
                RistrettoPoint::multiscalar_mul(
                    e.terms.iter().map(|(k, _)| nonces[*k].expose()),
                    e.terms.iter().map(|(_, b)| b),
                )
            })
            .collect();
        let c = st.transcript(context, &commitments).challenge_scalar(b"c");
        let responses = nonces
            .iter()
            .zip(witness)
            .map(|(r, w)| r.expose() + c * w.expose())
            .collect();
        Ok(LinearProof {
            commitments,
            responses,
        })
    }

    /// Adds the equations `Σ z_k·B_{i,k} − A_i − c·Y_i = 0` to a batch.
    pub fn add_to_batch(
        &self,
        context: &[u8],
        st: &LinearStatement,
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        st.check()?;
        if self.commitments.len() != st.equations.len() || self.responses.len() != st.witnesses {
            return Err(Error::InvalidProof(
                "linear proof: wrong number of elements",
            ));
        }
        let c = st
            .transcript(context, &self.commitments)
            .challenge_scalar(b"c");
        bv.count_proof();
        for (e, a) in st.equations.iter().zip(&self.commitments) {
            bv.begin_equation();
            for (k, b) in &e.terms {
                let z = self.responses[*k];
                if *b == G {
                    bv.add_g(z);
                } else {
                    bv.add_point(z, *b);
                }
            }
            bv.add_point(-Scalar::ONE, *a);
            bv.add_point(-c, e.image);
        }
        Ok(())
    }

    /// Verifies the proof alone.
    pub fn verify(&self, context: &[u8], st: &LinearStatement) -> Result<()> {
        batch::verify_single("linear proof of knowledge", |bv| {
            self.add_to_batch(context, st, bv)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::generator_h;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn pedersen_statement(x: &SecretScalar, r: &SecretScalar) -> LinearStatement {
        let h = generator_h();
        LinearStatement {
            witnesses: 2,
            equations: vec![
                LinearEquation {
                    terms: vec![(0, G), (1, h)],
                    image: x.expose() * G + r.expose() * h,
                },
                LinearEquation {
                    terms: vec![(1, G)],
                    image: r.expose() * G,
                },
            ],
        }
    }

    #[test]
    fn completeness_soundness_and_tampering() {
        let mut rng = ChaCha20Rng::seed_from_u64(300);
        let x = SecretScalar::random(&mut rng);
        let r = SecretScalar::random(&mut rng);
        let st = pedersen_statement(&x, &r);
        let w = [x.clone(), r.clone()];
        let p = LinearProof::prove(b"ctx", &st, &w, &mut rng).unwrap();
        p.verify(b"ctx", &st).unwrap();
        assert!(p.verify(b"ctx2", &st).is_err());
        let mut bad = st.clone();
        bad.equations[1].image += G;
        assert!(p.verify(b"ctx", &bad).is_err());
        let mut bad = st.clone();
        bad.equations[0].terms[1].1 = G;
        assert!(p.verify(b"ctx", &bad).is_err());
        for i in 0..4 {
            let mut q = p.clone();
            match i {
                0 => q.commitments[0] += G,
                1 => q.commitments[1] += G,
                2 => q.responses[0] += Scalar::ONE,
                _ => q.responses[1] += Scalar::ONE,
            }
            assert!(q.verify(b"ctx", &st).is_err());
        }
        let mut q = p.clone();
        q.responses.pop();
        assert!(q.verify(b"ctx", &st).is_err());
        // Wrong witness.
        let p = LinearProof::prove(b"ctx", &st, &[r, x], &mut rng).unwrap();
        assert!(p.verify(b"ctx", &st).is_err());
        // Malformed statements.
        let mut bad = st.clone();
        bad.equations[0].terms.push((2, G));
        assert!(LinearProof::prove(b"ctx", &bad, &w, &mut rng).is_err());
        assert!(LinearProof::prove(b"ctx", &st, &w[..1], &mut rng).is_err());
    }

    #[test]
    fn serde_roundtrip() {
        let mut rng = ChaCha20Rng::seed_from_u64(301);
        let x = SecretScalar::random(&mut rng);
        let r = SecretScalar::random(&mut rng);
        let st = pedersen_statement(&x, &r);
        let p = LinearProof::prove(b"ctx", &st, &[x, r], &mut rng).unwrap();
        let back: LinearProof = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
