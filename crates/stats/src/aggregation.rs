//! Collective aggregation (seed 001 §4.4, §5.3 "aggregation proofs"): a computing node adds the
//! ciphertexts it received, entry by entry. The proof is the list of inputs and the output, so
//! anyone re-checks it by adding again (Drynx, Froelicher et al., IEEE TIFS 2020, §4.3); the
//! verifier also checks that the inputs are exactly the accepted answers the node was due.

use serde::{Deserialize, Serialize};
use tabella_crypto::elgamal::Ciphertext;

use crate::party::PartyKey;

/// Which aggregation this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AggregationLevel {
    /// A computing node adds the answers of the data providers assigned to it.
    Providers,
    /// The first computing node adds every node's partial aggregate into the total.
    Nodes,
}

/// One input of an aggregation: who sent it and its ciphertexts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AggregationInput {
    /// The data provider or computing node it came from.
    pub from: PartyKey,
    /// Its ciphertexts, one per entry.
    pub ciphertexts: Vec<Ciphertext>,
}

/// An aggregation with its inputs and output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Aggregation {
    /// Which aggregation.
    pub level: AggregationLevel,
    /// The inputs, in roster order.
    pub inputs: Vec<AggregationInput>,
    /// The entry-wise sum of the inputs.
    pub output: Vec<Ciphertext>,
}

/// Entry-wise sum of `inputs`, each of `entries` ciphertexts (`None` if a length differs).
pub fn sum_entries(entries: usize, inputs: &[AggregationInput]) -> Option<Vec<Ciphertext>> {
    let mut out = vec![Ciphertext::zero(); entries];
    for input in inputs {
        if input.ciphertexts.len() != entries {
            return None;
        }
        for (o, c) in out.iter_mut().zip(&input.ciphertexts) {
            *o = *o + *c;
        }
    }
    Some(out)
}

impl Aggregation {
    /// Aggregates `inputs` (each of `entries` ciphertexts).
    pub fn compute(
        level: AggregationLevel,
        entries: usize,
        inputs: Vec<AggregationInput>,
    ) -> Option<Aggregation> {
        let output = sum_entries(entries, &inputs)?;
        Some(Aggregation {
            level,
            inputs,
            output,
        })
    }

    /// Re-adds the inputs and compares with the output.
    pub fn verify(&self, entries: usize) -> Result<(), String> {
        if self.output.len() != entries {
            return Err(format!(
                "the output has {} entries, the query has {entries}",
                self.output.len()
            ));
        }
        match sum_entries(entries, &self.inputs) {
            None => Err("an input has the wrong number of entries".into()),
            Some(sum) if sum == self.output => Ok(()),
            Some(sum) => {
                let i = sum
                    .iter()
                    .zip(&self.output)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                Err(format!(
                    "entry {i} of the output is not the sum of the inputs"
                ))
            }
        }
    }
}
