//! Differential-privacy noise added by the computing nodes, after UnLynx's distributed results
//! obfuscation (Froelicher et al., PoPETs 2017, §4.2; seed 001 §4.4): every computing node draws
//! a **secret** list of noise values from the query's distribution with the exact sampler
//! ([`crate::noise`]), encrypts it under the collective key with range proofs (each value `v`
//! sent as `v + 2^(b−1)` and proven in `b` bits, `b` from the distribution's `2^−64` tail:
//! [`crate::params::NoisePlan::bits`]; [`crate::submission`]); every node in turn re-encrypts and
//! permutes every list with a verifiable shuffle ([`tabella_crypto::shuffle`],
//! Terelius–Wikström); the first `entries` values of each list are added to the aggregate.
//!
//! With one honest node, its own secret draw alone is noise of the declared distribution that
//! nobody else knows — the declared ε (and δ) hold whatever the others add; the result carries
//! the sum of every node's draw. (Publishing the list, as UnLynx does, would let the querier
//! know the noise up to one of the list's values: SECURITY.md finding 12.) The range proofs
//! bound what a dishonest node can add to about the noise's own size (it may still choose its
//! value anywhere in that window: nothing proves a secret value was drawn honestly), which is
//! why one honest node's draw is what the privacy guarantee rests on.

use curve25519_dalek::Scalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::elgamal::Ciphertext;
use tabella_crypto::group::G;
use tabella_crypto::shuffle::{shuffle, ShuffleProof};

use crate::error::{Error, Result};
use crate::noise::sample_list;
use crate::params::{NoisePlan, QueryParams};
use crate::submission::Submission;

/// The parameters a node's noise list is proven under: `list_len` values of
/// [`NoisePlan::bits`].
pub fn list_params(params: &QueryParams, plan: &NoisePlan) -> Result<QueryParams> {
    Ok(params.with_shape(plan.list_len, plan.bits()?))
}

/// A computing node's secret noise list: drawn with the exact sampler (a draw with
/// beyond [`NoisePlan::offset`], which has probability below `2^−64`, is drawn again),
/// encrypted and range-proved.
pub fn noise_list<R: RngCore + CryptoRng>(
    params: &QueryParams,
    context: &[u8],
    rng: &mut R,
) -> Result<Submission> {
    let plan = params
        .noise
        .as_ref()
        .ok_or_else(|| Error::InvalidQuery("this query adds no noise".into()))?;
    let mut values = Vec::with_capacity(plan.list_len);
    let limit = i64::try_from(plan.offset()?)
        .map_err(|_| Error::InvalidQuery("noise offset out of range".into()))?;
    let mut tries = 0usize;
    while values.len() < plan.list_len {
        for v in sample_list(&plan.spec, plan.list_len - values.len(), &mut *rng)? {
            if v > -limit && v < limit {
                values.push(v.wrapping_add(limit) as u64);
            }
        }
        tries += 1;
        if tries > 64 {
            return Err(Error::InvalidQuery(
                "the noise distribution keeps drawing beyond its bound".into(),
            ));
        }
    }
    Submission::create(&list_params(params, plan)?, &values, context, rng)
}

/// One computing node's shuffle of one node's noise list.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShuffleStep {
    /// Whose list (the position of its node in the roster, from 0).
    pub list: usize,
    /// The re-encrypted, permuted list.
    pub outputs: Vec<Ciphertext>,
    /// The proof that `outputs` is a shuffle of the list's previous state.
    pub proof: ShuffleProof,
}

impl ShuffleStep {
    /// Shuffles `input` (the current state of node `list`'s noise list) under the collective
    /// key.
    pub fn create<R: RngCore + CryptoRng>(
        params: &QueryParams,
        list: usize,
        input: &[Ciphertext],
        context: &[u8],
        rng: &mut R,
    ) -> Result<ShuffleStep> {
        let (outputs, proof) = shuffle(&params.collective_key.public_key, input, context, rng)?;
        Ok(ShuffleStep {
            list,
            outputs,
            proof,
        })
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

/// The aggregate, each entry `k` multiplied by its public factor ([`NoisePlan::scale`]), with
/// the `k`-th value of every shuffled list added (each minus the encoding `offset`,
/// [`NoisePlan::offset`]).
pub fn obfuscate(
    total: &[Ciphertext],
    lists: &[&[Ciphertext]],
    offset: u64,
    plan: Option<&NoisePlan>,
) -> Vec<Ciphertext> {
    let offset = Scalar::from(offset) * G;
    total
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let f = Scalar::from(plan.map_or(1, |p| p.scale(k)));
            let mut out = Ciphertext {
                a: c.a * f,
                b: c.b * f,
            };
            for list in lists {
                if let Some(n) = list.get(k) {
                    out = out + *n;
                    out.b -= offset;
                }
            }
            out
        })
        .collect()
}
