//! Chaum–Pedersen proof of discrete-log equality (DLEQ).
//!
//! Proves knowledge of `x` with `X₁ = x·B₁` and `X₂ = x·B₂` (Chaum and Pedersen, "Wallet databases
//! with observers", CRYPTO 1992). Used for decryption shares (`B₁ = G`, `X₁` the trustee's public
//! share, `B₂` the ciphertext's `a`, `X₂` the share `x·a`) and for key switching.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchVerifier};
use crate::error::Result;
use crate::group::SecretScalar;
use crate::transcript::{new_transcript, TranscriptExt};

/// The public statement of a DLEQ proof: `X₁ = x·B₁` and `X₂ = x·B₂`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DleqStatement {
    /// First base `B₁`.
    pub b1: RistrettoPoint,
    /// `X₁ = x·B₁`.
    pub x1: RistrettoPoint,
    /// Second base `B₂`.
    pub b2: RistrettoPoint,
    /// `X₂ = x·B₂`.
    pub x2: RistrettoPoint,
}

/// A Chaum–Pedersen proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DleqProof {
    /// `A₁ = k·B₁`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub a1: RistrettoPoint,
    /// `A₂ = k·B₂`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub a2: RistrettoPoint,
    /// `z = k + c·x`
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub response: Scalar,
}

fn transcript(
    context: &[u8],
    st: &DleqStatement,
    a1: &RistrettoPoint,
    a2: &RistrettoPoint,
) -> Transcript {
    let mut t = new_transcript(b"tabella/dleq/v1", context);
    t.append_point(b"B1", &st.b1);
    t.append_point(b"X1", &st.x1);
    t.append_point(b"B2", &st.b2);
    t.append_point(b"X2", &st.x2);
    t.append_point(b"A1", a1);
    t.append_point(b"A2", a2);
    t
}

impl DleqProof {
    /// Proves `log_{B₁} X₁ = log_{B₂} X₂ = x`. The statement is computed from `x`.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        b1: &RistrettoPoint,
        b2: &RistrettoPoint,
        x: &SecretScalar,
        rng: &mut R,
    ) -> (DleqStatement, DleqProof) {
        let st = DleqStatement {
            b1: *b1,
            x1: x.expose() * b1,
            b2: *b2,
            x2: x.expose() * b2,
        };
        let k = SecretScalar::random(rng);
        let a1 = k.expose() * b1;
        let a2 = k.expose() * b2;
        let c = transcript(context, &st, &a1, &a2).challenge_scalar(b"c");
        let proof = DleqProof {
            a1,
            a2,
            response: k.expose() + c * x.expose(),
        };
        (st, proof)
    }

    /// Adds the two equations `z·B₁ − A₁ − c·X₁ = 0`, `z·B₂ − A₂ − c·X₂ = 0` to a batch.
    /// `B₁` is treated as shared (merged) since it is usually `G`.
    pub fn add_to_batch(&self, context: &[u8], st: &DleqStatement, bv: &mut BatchVerifier) {
        let c = transcript(context, st, &self.a1, &self.a2).challenge_scalar(b"c");
        bv.count_proof();
        bv.begin_equation();
        bv.add_fixed(self.response, &st.b1);
        bv.add_point(-Scalar::ONE, self.a1);
        bv.add_point(-c, st.x1);
        bv.begin_equation();
        bv.add_point(self.response, st.b2);
        bv.add_point(-Scalar::ONE, self.a2);
        bv.add_point(-c, st.x2);
    }

    /// Verifies the proof alone.
    pub fn verify(&self, context: &[u8], st: &DleqStatement) -> Result<()> {
        batch::verify_single("Chaum-Pedersen DLEQ proof", |bv| {
            self.add_to_batch(context, st, bv);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{generator_h, G};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn completeness_and_soundness() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let x = SecretScalar::random(&mut rng);
        let h = generator_h();
        let (st, p) = DleqProof::prove(b"ctx", &G, &h, &x, &mut rng);
        p.verify(b"ctx", &st).unwrap();
        assert!(p.verify(b"ctx2", &st).is_err());
        // false statement: different logs
        let bad = DleqStatement {
            x2: st.x2 + h,
            ..st
        };
        assert!(p.verify(b"ctx", &bad).is_err());
        for i in 0..3 {
            let mut q = p;
            match i {
                0 => q.a1 += G,
                1 => q.a2 += G,
                _ => q.response += Scalar::ONE,
            }
            assert!(q.verify(b"ctx", &st).is_err());
        }
    }
}
