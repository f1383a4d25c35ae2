//! A data provider's answer (seed 001 §4.4, §5.3 "range proofs"): each entry of its encoded
//! answer encrypted under the collective key, with a proof that it lies in `[0, 2^bits)`.
//!
//! Each entry `v` is encrypted as exponential ElGamal `(r·G, v·G + r·Y)` and committed as a
//! Pedersen commitment `C = v·G + γ·B̃`; a sigma proof per entry links the ciphertext to its
//! commitment ([`tabella_crypto::range::LinkProof`]), and aggregated Bulletproofs range proofs
//! (Bünz et al., "Bulletproofs", IEEE S&P 2018, §4.3) cover the commitments, at most
//! [`MAX_AGGREGATION`] values per proof. Bulletproofs prove `[0, 2^k)` for `k` in 8, 16, 32, 64;
//! when the layout's bound `2^bits` is smaller, the same proof also covers `C + s·G` with
//! `s = 2^k − 2^bits` (a commitment to `v + s` under the same blinding, which the verifier
//! derives itself), so `v < 2^bits` exactly — the standard two-sided range technique. This is the
//! role of Drynx's range proofs over ElGamal ciphertexts (Froelicher et al., "Drynx", IEEE TIFS
//! 2020), with Bulletproofs in place of its signature-based proofs.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::batch::BatchVerifier;
use tabella_crypto::elgamal::{Ciphertext, PublicKey};
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::range::{AggregatedRangeProof, LinkProof, PedersenCommitment, MAX_AGGREGATION};

use crate::error::{Error, Result};
use crate::params::QueryParams;

/// A data provider's encrypted answer with its range proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Submission {
    /// One ciphertext per entry, under the collective key.
    pub ciphertexts: Vec<Ciphertext>,
    /// One Pedersen commitment per entry, to the same value.
    pub commitments: Vec<PedersenCommitment>,
    /// Range proofs over consecutive chunks of [`MAX_AGGREGATION`] commitments.
    pub range_proofs: Vec<AggregatedRangeProof>,
    /// One link proof per entry: ciphertext and commitment hide the same value.
    pub links: Vec<LinkProof>,
}

fn chunk_context(context: &[u8], chunk: usize) -> Vec<u8> {
    let mut c = context.to_vec();
    c.extend_from_slice(b"/chunk/");
    c.extend_from_slice(&(chunk as u64).to_le_bytes());
    c
}

impl Submission {
    /// Encrypts `values` (the provider's encoded answer, `params.entries` of them, each below
    /// `2^params.bits`) under the collective key and proves their ranges, bound to `context`.
    pub fn create<R: RngCore + CryptoRng>(
        params: &QueryParams,
        values: &[u64],
        context: &[u8],
        rng: &mut R,
    ) -> Result<Submission> {
        if values.len() != params.entries {
            return Err(Error::OutOfRange(format!(
                "the answer has {} entries, the query expects {}",
                values.len(),
                params.entries
            )));
        }
        let bits = params.bits as usize;
        if let Some(v) = values.iter().find(|v| bits < 64 && **v >> bits != 0) {
            return Err(Error::OutOfRange(format!(
                "entry {v} does not fit in {bits} bits"
            )));
        }
        let pk: &PublicKey = &params.collective_key.public_key;
        let shift = params.upper_shift();
        let proof_bits = params.proof_bits();
        let per_chunk = if shift.is_some() {
            MAX_AGGREGATION / 2
        } else {
            MAX_AGGREGATION
        };
        let mut ciphertexts = Vec::with_capacity(values.len());
        let mut commitments = Vec::with_capacity(values.len());
        let mut range_proofs = Vec::new();
        let mut links = Vec::with_capacity(values.len());
        for (chunk, vs) in values.chunks(per_chunk).enumerate() {
            let gammas: Vec<SecretScalar> =
                vs.iter().map(|_| SecretScalar::random(&mut *rng)).collect();
            // Each value, then (bounded layouts) each value plus the shift, same blindings.
            let mut proved: Vec<u64> = vs.to_vec();
            let mut blindings: Vec<SecretScalar> = gammas.clone();
            if let Some(s) = shift {
                proved.extend(vs.iter().map(|v| v.wrapping_add(s)));
                blindings.extend(gammas.iter().cloned());
            }
            let (cs, proof) = AggregatedRangeProof::prove(
                &chunk_context(context, chunk),
                &proved,
                &blindings,
                proof_bits,
                &mut *rng,
            )?;
            for ((v, gamma), commitment) in vs.iter().zip(&gammas).zip(&cs) {
                let r = SecretScalar::random(&mut *rng);
                let ct = pk.encrypt_with(&curve25519_dalek::Scalar::from(*v), &r);
                let link = LinkProof::prove(context, pk, &ct, commitment, *v, &r, gamma, rng)?;
                ciphertexts.push(ct);
                links.push(link);
            }
            commitments.extend(cs.into_iter().take(vs.len()));
            range_proofs.push(proof);
        }
        Ok(Submission {
            ciphertexts,
            commitments,
            range_proofs,
            links,
        })
    }

    /// Checks the shape against the query, every range proof, and every link proof (one batch
    /// with weights from the operating system, unpredictable to the prover). Returns why not.
    pub fn verify(&self, params: &QueryParams, context: &[u8]) -> Result<(), String> {
        let n = params.entries;
        if self.ciphertexts.len() != n || self.commitments.len() != n || self.links.len() != n {
            return Err(format!(
                "{} ciphertexts, {} commitments and {} link proofs for {n} entries",
                self.ciphertexts.len(),
                self.commitments.len(),
                self.links.len()
            ));
        }
        let shift = params.upper_shift();
        let per_chunk = if shift.is_some() {
            MAX_AGGREGATION / 2
        } else {
            MAX_AGGREGATION
        };
        let chunks = n.div_ceil(per_chunk);
        if self.range_proofs.len() != chunks {
            return Err(format!(
                "{} range proofs, expected {chunks}",
                self.range_proofs.len()
            ));
        }
        let proof_bits = params.proof_bits();
        for (chunk, (proof, cs)) in self
            .range_proofs
            .iter()
            .zip(self.commitments.chunks(per_chunk))
            .enumerate()
        {
            let mut covered: Vec<PedersenCommitment> = cs.to_vec();
            if let Some(s) = shift {
                let sg = curve25519_dalek::Scalar::from(s) * G;
                covered.extend(cs.iter().map(|c| PedersenCommitment(c.0 + sg)));
            }
            proof
                .verify(&chunk_context(context, chunk), &covered, proof_bits)
                .map_err(|e| format!("range proof {chunk}: {e}"))?;
        }
        let pk = &params.collective_key.public_key;
        let mut bv = BatchVerifier::new().map_err(|e| e.to_string())?;
        for ((link, ct), c) in self
            .links
            .iter()
            .zip(&self.ciphertexts)
            .zip(&self.commitments)
        {
            link.add_to_batch(context, pk, ct, c, &mut bv)
                .map_err(|e| e.to_string())?;
        }
        bv.verify()
            .map_err(|_| "a ciphertext does not hold the value its commitment ranges".to_string())
    }
}
