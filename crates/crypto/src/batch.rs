//! Batch verification of linear proof equations with one multiscalar multiplication.
//!
//! Every sigma proof in this crate verifies equations of the form `Σ sₖ·Pₖ = 0`. A
//! [`BatchVerifier`] multiplies each equation by an independent random weight and adds them all;
//! the sum is the identity for valid proofs, and for any invalid equation it is the identity with
//! probability at most 1/ℓ ≈ 2^-252 (the small-exponent batch test of Bellare, Garay and Rabin,
//! "Fast batch verification for modular exponentiation and digital signatures", EUROCRYPT 1998).
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
use rand_core::{CryptoRng, RngCore, SeedableRng};

use crate::error::{Error, Result};
use crate::group::G;

/// Accumulates weighted proof equations and checks them all at once.
pub struct BatchVerifier<R: RngCore + CryptoRng> {
    rng: R,
    fixed_points: Vec<RistrettoPoint>,
    fixed_scalars: Vec<Scalar>,
    scalars: Vec<Scalar>,
    points: Vec<RistrettoPoint>,
    proofs: usize,
    current_weight: Scalar,
}

impl<R: RngCore + CryptoRng> BatchVerifier<R> {
    /// A new, empty batch drawing its weights from `rng`.
    pub fn new(rng: R) -> Self {
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

    /// Checks every equation added so far.
    pub fn verify(self) -> Result<()> {
        let count = self.proofs;
        let sum = RistrettoPoint::vartime_multiscalar_mul(
            self.fixed_scalars.iter().chain(self.scalars.iter()),
            self.fixed_points.iter().chain(self.points.iter()),
        );
        if sum == RistrettoPoint::identity() {
            Ok(())
        } else {
            Err(Error::BatchInvalid { count })
        }
    }
}

/// A batch verifier for a single proof, its weights derived from that proof's own transcript
/// (so single-proof verification is deterministic and needs no RNG).
pub(crate) fn single(mut transcript: merlin::Transcript) -> BatchVerifier<ChaCha20Rng> {
    let mut seed = [0u8; 32];
    transcript.challenge_bytes(b"batch-weights", &mut seed);
    BatchVerifier::new(ChaCha20Rng::from_seed(seed))
}

/// Maps a batch failure of a single proof to the proof's own error.
pub(crate) fn finish_single<R: RngCore + CryptoRng>(
    bv: BatchVerifier<R>,
    what: &'static str,
) -> Result<()> {
    bv.verify().map_err(|_| Error::InvalidProof(what))
}
