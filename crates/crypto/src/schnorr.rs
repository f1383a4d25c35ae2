//! Schnorr proof of knowledge of a discrete logarithm, and Schnorr signatures.
//!
//! Proves knowledge of `x` with `Y = x·B` (Schnorr, "Efficient signature generation by smart cards",
//! J. Cryptology 1991), made non-interactive with Fiat–Shamir over a merlin transcript labelled
//! `tabella/schnorr/v1` and bound to a caller context. The proof keeps its commitment `A` (not the
//! challenge) so it can be batch-verified ([`crate::batch`]). A signature is the same proof with
//! the message in the transcript.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchVerifier};
use crate::error::Result;
use crate::group::SecretScalar;
use crate::transcript::{new_transcript, TranscriptExt};

/// A proof of knowledge of `x` with `Y = x·B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchnorrProof {
    /// Commitment `A = k·B`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub commitment: RistrettoPoint,
    /// Response `z = k + c·x`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub response: Scalar,
}

fn transcript(
    context: &[u8],
    base: &RistrettoPoint,
    y: &RistrettoPoint,
    a: &RistrettoPoint,
) -> Transcript {
    let mut t = new_transcript(b"tabella/schnorr/v1", context);
    t.append_point(b"B", base);
    t.append_point(b"Y", y);
    t.append_point(b"A", a);
    t
}

impl SchnorrProof {
    /// Proves knowledge of `x` for `Y = x·base`.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        base: &RistrettoPoint,
        x: &SecretScalar,
        rng: &mut R,
    ) -> SchnorrProof {
        let y = x.expose() * base;
        let k = SecretScalar::random(rng);
        let a = k.expose() * base;
        let c = transcript(context, base, &y, &a).challenge_scalar(b"c");
        SchnorrProof {
            commitment: a,
            response: k.expose() + c * x.expose(),
        }
    }

    /// Adds this proof's equation `z·B − A − c·Y = 0` to a batch.
    pub fn add_to_batch(
        &self,
        context: &[u8],
        base: &RistrettoPoint,
        y: &RistrettoPoint,
        bv: &mut BatchVerifier,
    ) {
        let c = transcript(context, base, y, &self.commitment).challenge_scalar(b"c");
        bv.count_proof();
        bv.begin_equation();
        bv.add_fixed(self.response, base);
        bv.add_point(-Scalar::ONE, self.commitment);
        bv.add_point(-c, *y);
    }

    /// Verifies the proof alone.
    pub fn verify(&self, context: &[u8], base: &RistrettoPoint, y: &RistrettoPoint) -> Result<()> {
        batch::verify_single("Schnorr proof of knowledge", |bv| {
            self.add_to_batch(context, base, y, bv);
            Ok(())
        })
    }
}

/// The Fiat–Shamir challenge of a signature on `message` by `y` with commitment `a` (public: any
/// verifier computes it; exposed so attack tests can build signatures with chosen commitments).
pub fn signature_challenge(
    domain: &[u8],
    message: &[u8],
    y: &RistrettoPoint,
    a: &RistrettoPoint,
) -> Scalar {
    transcript(&signing_context(domain, message), &crate::group::G, y, a).challenge_scalar(b"c")
}

/// A Schnorr signature: a proof of knowledge of the signing key bound to the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchnorrSignature(pub SchnorrProof);

fn signing_context(domain: &[u8], message: &[u8]) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(16 + domain.len() + message.len());
    ctx.extend_from_slice(b"sig:");
    ctx.extend_from_slice(&(domain.len() as u64).to_le_bytes());
    ctx.extend_from_slice(domain);
    ctx.extend_from_slice(message);
    ctx
}

impl SchnorrSignature {
    /// Signs `message` under the key `x` (public key `x·G`), in the signing domain `domain`.
    pub fn sign<R: RngCore + CryptoRng>(
        domain: &[u8],
        message: &[u8],
        x: &SecretScalar,
        rng: &mut R,
    ) -> Self {
        SchnorrSignature(SchnorrProof::prove(
            &signing_context(domain, message),
            &crate::group::G,
            x,
            rng,
        ))
    }

    /// Adds the signature's verification equation to a batch.
    pub fn add_to_batch(
        &self,
        domain: &[u8],
        message: &[u8],
        y: &RistrettoPoint,
        bv: &mut BatchVerifier,
    ) {
        self.0
            .add_to_batch(&signing_context(domain, message), &crate::group::G, y, bv);
    }

    /// Verifies a signature on `message` by public key `y`.
    pub fn verify(&self, domain: &[u8], message: &[u8], y: &RistrettoPoint) -> Result<()> {
        self.0
            .verify(&signing_context(domain, message), &crate::group::G, y)
            .map_err(|_| crate::Error::InvalidSignature("Schnorr signature"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::G;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn prove_verify_and_reject() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let x = SecretScalar::random(&mut rng);
        let y = x.expose() * G;
        let p = SchnorrProof::prove(b"ctx", &G, &x, &mut rng);
        p.verify(b"ctx", &G, &y).unwrap();
        assert!(p.verify(b"other", &G, &y).is_err());
        assert!(p.verify(b"ctx", &G, &(y + G)).is_err());
        let mut q = p;
        q.response += Scalar::ONE;
        assert!(q.verify(b"ctx", &G, &y).is_err());
        let mut q = p;
        q.commitment += G;
        assert!(q.verify(b"ctx", &G, &y).is_err());
    }

    #[test]
    fn signatures() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let x = SecretScalar::random(&mut rng);
        let y = x.expose() * G;
        let s = SchnorrSignature::sign(b"d", b"hello", &x, &mut rng);
        s.verify(b"d", b"hello", &y).unwrap();
        assert!(s.verify(b"d", b"hellp", &y).is_err());
        assert!(s.verify(b"e", b"hello", &y).is_err());
    }
}
