//! Batch verification of linear proof equations with one multiscalar multiplication.
//!
//! Every sigma proof in this crate verifies equations of the form `Σ sₖ·Pₖ = 0`. A
//! [`BatchVerifier`] multiplies each equation by an independent random weight and adds them all;
//! the sum is the identity for valid proofs, and for any invalid equation it is the identity with
//! probability at most 1/ℓ ≈ 2^-252 (the small-exponent batch test of Bellare, Garay and Rabin,
//! "Fast batch verification for modular exponentiation and digital signatures", EUROCRYPT 1998).
//!
//! # The weights are secret from every prover
//!
//! That bound holds only if the weights are chosen *after* the prover has fixed every term of
//! every equation, and independently of them. A prover who can predict the weights (say they are
//! derived from part of the transcript, from a payload hash, or from a chunk index) computes the
//! weighted residual `Δ` of arbitrary invalid equations and cancels it with one term it still
//! controls — e.g. the commitment of a signature in the same batch, `A = k·G + w⁻¹·Δ` — so an
//! invalid batch sums to the identity. So [`BatchVerifier::new`] draws a fresh 256-bit seed from
//! the operating system for every batch (a ChaCha20 stream then gives the weights), and there is
//! no public way to choose the weights. Verification stays deterministic in effect: valid proofs
//! always pass, and invalid ones fail on every machine except with probability ~2^-252 per batch.
//!
//! Points that recur across equations (`G`, `H`, an election's public key) are registered with
//! [`BatchVerifier::add_fixed`] and merged into a single term, so a batch of `n` 0/1 proofs costs
//! one multiscalar multiplication of about `6n + 2` points.
//!
//! Verification is variable-time: it handles only public data.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};

use crate::error::{Error, Result};
use crate::group::G;

/// Accumulates weighted proof equations and checks them all at once.
pub struct BatchVerifier {
    rng: ChaCha20Rng,
    fixed_points: Vec<RistrettoPoint>,
    fixed_scalars: Vec<Scalar>,
    scalars: Vec<Scalar>,
    points: Vec<RistrettoPoint>,
    proofs: usize,
    current_weight: Scalar,
}

impl BatchVerifier {
    /// A new, empty batch whose weights come from a fresh seed drawn from the operating system's
    /// random number generator (see the module documentation for why nothing else will do).
    ///
    /// # Errors
    /// [`Error::Randomness`] if the operating system gives no randomness.
    pub fn new() -> Result<Self> {
        let mut seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| Error::Randomness(e.to_string()))?;
        Ok(Self::with_rng(ChaCha20Rng::from_seed(seed)))
    }

    fn with_rng(rng: ChaCha20Rng) -> Self {
        BatchVerifier {
            rng,
            fixed_points: vec![G],
            fixed_scalars: vec![Scalar::ZERO],
            scalars: Vec::new(),
            points: Vec::new(),
            proofs: 0,
            current_weight: Scalar::ONE,
        }
    }

    /// Reserves room for `n` more per-proof points.
    pub fn reserve(&mut self, n: usize) {
        self.scalars.reserve(n);
        self.points.reserve(n);
    }

    /// Starts a new equation: all terms added until the next call share one fresh random weight.
    pub fn begin_equation(&mut self) {
        self.current_weight = Scalar::random(&mut self.rng);
    }

    /// Counts one more proof in this batch (for error messages).
    pub fn count_proof(&mut self) {
        self.proofs += 1;
    }

    /// Number of proofs counted so far.
    pub fn proof_count(&self) -> usize {
        self.proofs
    }

    /// Adds `s·P` to the current equation, `P` specific to this proof.
    pub fn add_point(&mut self, s: Scalar, p: RistrettoPoint) {
        self.scalars.push(self.current_weight * s);
        self.points.push(p);
    }

    /// The random weight of the current equation. Callers that accumulate terms on one point
    /// across several equations multiply by this and add the sum once with [`Self::add_weighted`].
    pub fn weight(&self) -> Scalar {
        self.current_weight
    }

    /// Adds an already-weighted term `s·P` (see [`Self::weight`]).
    pub fn add_weighted(&mut self, s: Scalar, p: RistrettoPoint) {
        self.scalars.push(s);
        self.points.push(p);
    }

    /// Adds `s·G` to the current equation.
    pub fn add_g(&mut self, s: Scalar) {
        self.fixed_scalars[0] += self.current_weight * s;
    }

    /// Adds `s·P` for a point `P` shared by many equations (merged into one term).
    pub fn add_fixed(&mut self, s: Scalar, p: &RistrettoPoint) {
        let w = self.current_weight * s;
        if let Some(i) = self.fixed_points.iter().position(|q| q == p) {
            self.fixed_scalars[i] += w;
        } else if self.fixed_points.len() < 8 {
            self.fixed_points.push(*p);
            self.fixed_scalars.push(w);
        } else {
            self.scalars.push(w);
            self.points.push(*p);
        }
    }

    /// The weighted sum of every term added so far (the identity iff the batch verifies).
    fn residual(&self) -> RistrettoPoint {
        RistrettoPoint::vartime_multiscalar_mul(
            self.fixed_scalars.iter().chain(self.scalars.iter()),
            self.fixed_points.iter().chain(self.points.iter()),
        )
    }

    /// Checks every equation added so far.
    pub fn verify(self) -> Result<()> {
        if self.residual() == RistrettoPoint::identity() {
            Ok(())
        } else {
            Err(Error::BatchInvalid { count: self.proofs })
        }
    }
}

/// Verifies one proof through a fresh batch: `add` adds its equations; a failed batch becomes the
/// proof's own error, naming `what`.
pub(crate) fn verify_single(
    what: &'static str,
    add: impl FnOnce(&mut BatchVerifier) -> Result<()>,
) -> Result<()> {
    let mut bv = BatchVerifier::new()?;
    add(&mut bv)?;
    bv.verify().map_err(|_| Error::InvalidProof(what))
}

/// **Hazardous, for attack tests only.** A batch verifier whose weights the caller fixes, so a
/// test can play the prover who knows them and show that the forgery it builds is a real one
/// (accepted with known weights) before showing [`BatchVerifier::new`] rejects it.
///
/// Compiled only with the `test-known-weights` feature, which no production build enables.
#[cfg(any(test, feature = "test-known-weights"))]
pub mod known_weights {
    use super::*;

    /// A batch whose weights are the ChaCha20 stream of `seed` — exactly what a prover who knows
    /// `seed` can predict.
    pub fn batch_with_seed(seed: [u8; 32]) -> BatchVerifier {
        BatchVerifier::with_rng(ChaCha20Rng::from_seed(seed))
    }

    /// A batch whose weights come from `ChaCha20Rng::seed_from_u64(n)`.
    pub fn batch_with_u64(n: u64) -> BatchVerifier {
        BatchVerifier::with_rng(ChaCha20Rng::seed_from_u64(n))
    }

    /// The weighted sum of the terms added so far: what a forger must cancel.
    pub fn residual(bv: &BatchVerifier) -> RistrettoPoint {
        bv.residual()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disjunctive::PrecomputedKey;
    use crate::elgamal::SecretKey;
    use crate::group::SecretScalar;
    use crate::schnorr::SchnorrSignature;
    use crate::vector::{EncryptedVector, VectorRule};

    /// The attack of issue 10 (1) in its general form: the prover knows the whole transcript and
    /// the weights, produces an invalid proof (a ballot with Enc(1000) and Enc(-999)) plus a
    /// signature whose commitment cancels the weighted residual. With known weights the batch
    /// accepts; with the verifier's own weights it does not.
    #[test]
    fn forger_who_knows_the_weights_wins_only_against_known_weights() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let pk = SecretKey::generate(&mut rng).public_key();
        let rule = VectorRule::single_choice(3);
        let key = PrecomputedKey::new(pk);
        let mut vector = EncryptedVector::encrypt(b"ctx", &key, &rule, &[1, 0, 0], &mut rng)
            .expect("honest vector");
        // Invalid content: +1000 for one candidate, -999 for another (sum still 1).
        vector.ciphertexts[0] =
            pk.encrypt_with(&Scalar::from(1000u64), &SecretScalar::random(&mut rng));
        vector.ciphertexts[1] =
            pk.encrypt_with(&-Scalar::from(999u64), &SecretScalar::random(&mut rng));
        assert!(vector.verify(b"ctx", &pk, &rule).is_err());

        let voter = SecretScalar::random(&mut rng);
        let voter_pk = voter.expose() * G;
        let seed = [42u8; 32];
        // The forger replays the verifier's order: signature equation first (one weight), then
        // the vector's equations; Δ is their weighted residual.
        let mut probe = known_weights::batch_with_seed(seed);
        probe.begin_equation();
        let w_sig = probe.weight();
        let mut probe2 = known_weights::batch_with_seed(seed);
        probe2.begin_equation();
        vector
            .add_to_batch(b"ctx", &pk, &rule, &mut probe2)
            .expect("shape is fine");
        let delta = known_weights::residual(&probe2);
        let signature = forge_signature(b"dom", b"msg", &voter, &voter_pk, w_sig, delta, &mut rng);

        let add_all = |bv: &mut BatchVerifier| {
            signature.add_to_batch(b"dom", b"msg", &voter_pk, bv);
            vector.add_to_batch(b"ctx", &pk, &rule, bv)
        };
        let mut known = known_weights::batch_with_seed(seed);
        add_all(&mut known).expect("shape");
        assert!(
            known.verify().is_ok(),
            "the forgery is real against known weights"
        );
        for _ in 0..20 {
            let mut bv = BatchVerifier::new().expect("os rng");
            add_all(&mut bv).expect("shape");
            assert!(bv.verify().is_err(), "secret weights reject the forgery");
        }
    }

    /// A Schnorr signature by `x` on `message` whose commitment is shifted by `w⁻¹·Δ`, so that in
    /// a batch where the signature's equation has weight `w` it cancels a residual `Δ`.
    fn forge_signature(
        domain: &[u8],
        message: &[u8],
        x: &SecretScalar,
        y: &RistrettoPoint,
        w: Scalar,
        delta: RistrettoPoint,
        rng: &mut ChaCha20Rng,
    ) -> SchnorrSignature {
        let k = Scalar::random(rng);
        let a = k * G + w.invert() * delta;
        let c = crate::schnorr::signature_challenge(domain, message, y, &a);
        SchnorrSignature(crate::schnorr::SchnorrProof {
            commitment: a,
            response: k + c * x.expose(),
        })
    }

    #[test]
    fn fresh_batches_draw_different_weights() {
        let mut a = BatchVerifier::new().expect("os rng");
        let mut b = BatchVerifier::new().expect("os rng");
        a.begin_equation();
        b.begin_equation();
        assert_ne!(a.weight(), b.weight());
    }
}
