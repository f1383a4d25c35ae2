//! Key switching of the (obfuscated) result from the collective key to the querier's key
//! (seed 001 §4.4, §5.3 "key switch proofs"): every computing node contributes, for each entry,
//! a [`KeySwitchShare`] with a proof against its verification share
//! ([`tabella_crypto::keyswitch`], after UnLynx, Froelicher et al., PoPETs 2017, §4).

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::batch::BatchVerifier;
use tabella_crypto::dkg::{KeyShare, TrusteeIndex};
use tabella_crypto::elgamal::Ciphertext;
use tabella_crypto::keyswitch::KeySwitchShare;

use crate::error::{Error, Result};
use crate::params::QueryParams;

/// One computing node's contributions, one per entry of the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeySwitchStep {
    /// Contribution to entry `i`.
    pub shares: Vec<KeySwitchShare>,
}

impl KeySwitchStep {
    /// Computing node `key`'s contributions to switching `result` to the querier's key.
    pub fn create<R: RngCore + CryptoRng>(
        params: &QueryParams,
        key: &KeyShare,
        result: &[Ciphertext],
        context: &[u8],
        rng: &mut R,
    ) -> Result<KeySwitchStep> {
        let participants = params.node_indices()?;
        let shares = result
            .iter()
            .map(|ct| {
                KeySwitchShare::create(
                    key,
                    &participants,
                    ct,
                    &params.querier_key,
                    context,
                    &mut *rng,
                )
                .map_err(Error::from)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KeySwitchStep { shares })
    }

    /// Checks the contributions of node `node` (one per entry of `result`, each proven against
    /// the node's verification share; one batch with unpredictable weights).
    pub fn verify(
        &self,
        params: &QueryParams,
        node: TrusteeIndex,
        result: &[Ciphertext],
        context: &[u8],
    ) -> Result<(), String> {
        if self.shares.len() != result.len() {
            return Err(format!(
                "{} contributions for {} entries",
                self.shares.len(),
                result.len()
            ));
        }
        let participants = params.node_indices().map_err(|e| e.to_string())?;
        let mut bv = BatchVerifier::new().map_err(|e| e.to_string())?;
        for (share, ct) in self.shares.iter().zip(result) {
            if share.trustee != node {
                return Err(format!("a contribution is signed for {}", share.trustee));
            }
            share
                .add_to_batch(
                    &params.collective_key,
                    &participants,
                    ct,
                    &params.querier_key,
                    context,
                    &mut bv,
                )
                .map_err(|e| e.to_string())?;
        }
        bv.verify()
            .map_err(|_| "a contribution's proof does not verify".to_string())
    }
}

/// Combines every node's contributions: `(Σ V_j, b + Σ W_j)` for each entry, a ciphertext of the
/// same value under the querier's key. The steps must have been verified.
pub fn combine(result: &[Ciphertext], steps: &[&KeySwitchStep]) -> Vec<Ciphertext> {
    result
        .iter()
        .enumerate()
        .map(|(i, ct)| {
            let mut out = Ciphertext {
                a: curve25519_dalek::RistrettoPoint::default(),
                b: ct.b,
            };
            for s in steps {
                if let Some(share) = s.shares.get(i) {
                    out.a += share.v;
                    out.b += share.w;
                }
            }
            out
        })
        .collect()
}
