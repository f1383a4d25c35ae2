//! Distributed results obfuscation (UnLynx, Froelicher et al., PoPETs 2017, §4.2 "DRO"; seed
//! 001 §4.4): noise for the result, chosen so that no computing node knows which value was
//! added, from a list anyone can check was drawn from the query's distribution.
//!
//! The noise list is public: the query fixes it (drawn by a sampler anyone can re-run from the
//! query's parameters). It starts as trivial encryptions `(0, v·G)`; every computing node in
//! turn re-encrypts and permutes it with a verifiable shuffle
//! ([`tabella_crypto::shuffle`], Terelius–Wikström); the first `entries` ciphertexts of the last
//! list are added to the aggregate, entry by entry. With one honest node, the noise added is a
//! uniformly random choice from the list that nobody can point at.

use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::elgamal::Ciphertext;
use tabella_crypto::group::G;
use tabella_crypto::shuffle::{shuffle, ShuffleProof};

use crate::error::Result;
use crate::params::QueryParams;

/// `v` as a scalar (negative values as `−|v|`).
pub fn signed_scalar(v: i64) -> Scalar {
    let s = Scalar::from(v.unsigned_abs());
    if v < 0 {
        -s
    } else {
        s
    }
}

/// The public noise list as trivial encryptions `(0, v·G)`: the input of the first shuffle.
pub fn initial_list(noise: &[i64]) -> Vec<Ciphertext> {
    noise
        .iter()
        .map(|v| Ciphertext {
            a: RistrettoPoint::default(),
            b: signed_scalar(*v) * G,
        })
        .collect()
}

/// One computing node's shuffle of the noise list.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShuffleStep {
    /// The re-encrypted, permuted list.
    pub outputs: Vec<Ciphertext>,
    /// The proof that `outputs` is a shuffle of the previous list.
    pub proof: ShuffleProof,
}

impl ShuffleStep {
    /// Shuffles `input` (the previous node's output, or [`initial_list`]) under the collective
    /// key.
    pub fn create<R: RngCore + CryptoRng>(
        params: &QueryParams,
        input: &[Ciphertext],
        context: &[u8],
        rng: &mut R,
    ) -> Result<ShuffleStep> {
        let (outputs, proof) = shuffle(&params.collective_key.public_key, input, context, rng)?;
        Ok(ShuffleStep { outputs, proof })
    }

    /// Checks that the outputs are a shuffle of `input`.
    pub fn verify(
        &self,
        params: &QueryParams,
        input: &[Ciphertext],
        context: &[u8],
    ) -> Result<(), String> {
        if self.outputs.len() != input.len() {
            return Err(format!(
                "{} outputs for a list of {}",
                self.outputs.len(),
                input.len()
            ));
        }
        self.proof
            .verify(
                &params.collective_key.public_key,
                input,
                &self.outputs,
                context,
            )
            .map_err(|e| e.to_string())
    }
}

/// The aggregate with the first `total.len()` ciphertexts of the shuffled list added.
pub fn obfuscate(total: &[Ciphertext], shuffled: &[Ciphertext]) -> Vec<Ciphertext> {
    total
        .iter()
        .enumerate()
        .map(|(i, c)| match shuffled.get(i) {
            Some(n) => *c + *n,
            None => *c,
        })
        .collect()
}
