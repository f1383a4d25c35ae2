//! Encrypted vectors with validity proofs: the building block of an encrypted ballot contest.
//!
//! A vector `(m₁ … m_k)` is encrypted entry by entry under the election key; each entry carries a
//! [`OneOfProof`] that it lies in the allowed set (e.g. `{0, 1}`), and the vector carries a
//! [`SumProof`] that the entries add up to a value in `[min, max]` (e.g. exactly 1 for single
//! choice, `[min, max]` selections for approval voting). This is the ballot construction of
//! Cramer, Gennaro and Schoenmakers (EUROCRYPT 1997) as used by Helios and ElectionGuard.
//!
//! Each entry proof is bound to the caller's context *and* the entry's position, so entries
//! cannot be reordered.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchVerifier};
use crate::disjunctive::{OneOfProof, PrecomputedKey, SumProof};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::error::{Error, Result};
use crate::group::SecretScalar;

/// What a valid vector looks like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VectorRule {
    /// Number of entries.
    pub len: usize,
    /// Values each entry may take (e.g. `[0, 1]`).
    pub entry_values: Vec<u64>,
    /// Minimum of the sum of entries.
    pub sum_min: u64,
    /// Maximum of the sum of entries.
    pub sum_max: u64,
}

impl VectorRule {
    /// The rule of a single-choice contest with `options` entries: each 0/1, exactly one 1.
    pub fn single_choice(options: usize) -> Self {
        VectorRule {
            len: options,
            entry_values: vec![0, 1],
            sum_min: 1,
            sum_max: 1,
        }
    }

    /// The rule of an approval contest: each 0/1, between `min` and `max` ones.
    pub fn approval(options: usize, min: u64, max: u64) -> Self {
        VectorRule {
            len: options,
            entry_values: vec![0, 1],
            sum_min: min,
            sum_max: max,
        }
    }

    fn check(&self, values: &[u64]) -> Result<Vec<usize>> {
        if values.len() != self.len {
            return Err(Error::InvalidParameter(format!(
                "vector has {} entries, the rule needs {}",
                values.len(),
                self.len
            )));
        }
        let mut idx = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let j = self
                .entry_values
                .iter()
                .position(|x| x == v)
                .ok_or_else(|| {
                    Error::InvalidParameter(format!(
                        "entry {i} = {v} is not an allowed value {:?}",
                        self.entry_values
                    ))
                })?;
            idx.push(j);
        }
        let sum: u64 = values.iter().sum();
        if sum < self.sum_min || sum > self.sum_max {
            return Err(Error::InvalidParameter(format!(
                "entries sum to {sum}, the rule needs [{}, {}]",
                self.sum_min, self.sum_max
            )));
        }
        Ok(idx)
    }
}

/// An encrypted vector with its validity proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EncryptedVector {
    /// One ciphertext per entry.
    pub ciphertexts: Vec<Ciphertext>,
    /// One proof per entry that it is an allowed value.
    pub entry_proofs: Vec<OneOfProof>,
    /// Proof that the entries sum into the rule's range.
    pub sum_proof: SumProof,
}

fn entry_context(context: &[u8], i: usize) -> Vec<u8> {
    let mut c = Vec::with_capacity(context.len() + 14);
    c.extend_from_slice(context);
    c.extend_from_slice(b"/entry/");
    c.extend_from_slice(&(i as u64).to_le_bytes());
    c
}

fn sum_context(context: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(context.len() + 4);
    c.extend_from_slice(context);
    c.extend_from_slice(b"/sum");
    c
}

impl EncryptedVector {
    /// Encrypts `values` and proves they satisfy `rule`. Fails (before encrypting) if they do not.
    pub fn encrypt<R: RngCore + CryptoRng>(
        context: &[u8],
        key: &PrecomputedKey,
        rule: &VectorRule,
        values: &[u64],
        rng: &mut R,
    ) -> Result<EncryptedVector> {
        Self::encrypt_keeping_randomness(context, key, rule, values, rng).map(|(v, _)| v)
    }

    /// As [`Self::encrypt`], also returning each entry's encryption randomness (for further
    /// proofs across vectors; zeroized when dropped).
    pub fn encrypt_keeping_randomness<R: RngCore + CryptoRng>(
        context: &[u8],
        key: &PrecomputedKey,
        rule: &VectorRule,
        values: &[u64],
        rng: &mut R,
    ) -> Result<(EncryptedVector, Vec<SecretScalar>)> {
        let idx = rule.check(values)?;
        let mut cts = Vec::with_capacity(values.len());
        let mut rs: Vec<SecretScalar> = Vec::with_capacity(values.len());
        let mut proofs = Vec::with_capacity(values.len());
        for (i, (v, j)) in values.iter().zip(&idx).enumerate() {
            let (ct, r) = key.encrypt(*v, rng);
            proofs.push(OneOfProof::prove(
                &entry_context(context, i),
                key,
                &ct,
                &rule.entry_values,
                *j,
                &r,
                rng,
            )?);
            cts.push(ct);
            rs.push(r);
        }
        let sum: u64 = values.iter().sum();
        let sum_proof = SumProof::prove(
            &sum_context(context),
            key,
            &cts,
            &rs,
            sum,
            rule.sum_min,
            rule.sum_max,
            rng,
        )?;
        Ok((
            EncryptedVector {
                ciphertexts: cts,
                entry_proofs: proofs,
                sum_proof,
            },
            rs,
        ))
    }

    /// Adds every proof of this vector to a batch, after checking its shape against `rule`.
    pub fn add_to_batch(
        &self,
        context: &[u8],
        pk: &PublicKey,
        rule: &VectorRule,
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        if self.ciphertexts.len() != rule.len || self.entry_proofs.len() != rule.len {
            return Err(Error::InvalidProof(
                "encrypted vector: wrong number of entries or proofs",
            ));
        }
        if self.sum_proof.min != rule.sum_min || self.sum_proof.max != rule.sum_max {
            return Err(Error::InvalidProof(
                "encrypted vector: sum proof is for the wrong range",
            ));
        }
        for (i, (ct, p)) in self.ciphertexts.iter().zip(&self.entry_proofs).enumerate() {
            p.add_to_batch(&entry_context(context, i), pk, ct, &rule.entry_values, bv)?;
        }
        self.sum_proof
            .add_to_batch(&sum_context(context), pk, &self.ciphertexts, bv)
    }

    /// Verifies the vector alone (one multiscalar multiplication for all its proofs).
    pub fn verify(&self, context: &[u8], pk: &PublicKey, rule: &VectorRule) -> Result<()> {
        batch::verify_single("encrypted vector validity proofs", |bv| {
            self.add_to_batch(context, pk, rule, bv)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::{DlogTable, SecretKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn single_choice_roundtrip_and_batch() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        let rule = VectorRule::single_choice(4);
        let mut bv = BatchVerifier::new().unwrap();
        let mut tally = vec![Ciphertext::zero(); 4];
        for choice in 0..4 {
            let mut v = vec![0u64; 4];
            v[choice] = 1;
            let ev = EncryptedVector::encrypt(b"e", &key, &rule, &v, &mut rng).unwrap();
            ev.verify(b"e", &key.pk, &rule).unwrap();
            ev.add_to_batch(b"e", &key.pk, &rule, &mut bv).unwrap();
            for (t, c) in tally.iter_mut().zip(&ev.ciphertexts) {
                *t = *t + *c;
            }
        }
        bv.verify().unwrap();
        let table = DlogTable::new(100).unwrap();
        for t in &tally {
            assert_eq!(sk.decrypt_vartime(t, &table).unwrap(), 1);
        }
    }

    #[test]
    fn invalid_vectors_refused_and_swaps_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        let rule = VectorRule::single_choice(3);
        assert!(EncryptedVector::encrypt(b"e", &key, &rule, &[1, 1, 0], &mut rng).is_err());
        assert!(EncryptedVector::encrypt(b"e", &key, &rule, &[2, 0, 0], &mut rng).is_err());
        assert!(EncryptedVector::encrypt(b"e", &key, &rule, &[1, 0], &mut rng).is_err());
        let ev = EncryptedVector::encrypt(b"e", &key, &rule, &[1, 0, 0], &mut rng).unwrap();
        let mut swapped = ev.clone();
        swapped.ciphertexts.swap(0, 1);
        swapped.entry_proofs.swap(0, 1);
        assert!(swapped.verify(b"e", &key.pk, &rule).is_err());
        assert!(ev.verify(b"f", &key.pk, &rule).is_err());
        assert!(ev
            .verify(b"e", &key.pk, &VectorRule::approval(3, 0, 3))
            .is_err());
        // a batch with one bad vector fails
        let mut bv = BatchVerifier::new().unwrap();
        ev.add_to_batch(b"e", &key.pk, &rule, &mut bv).unwrap();
        let mut bad = ev.clone();
        bad.ciphertexts[2] = bad.ciphertexts[2] + key.encrypt(1, &mut rng).0;
        bad.add_to_batch(b"e", &key.pk, &rule, &mut bv).unwrap();
        assert!(bv.verify().is_err());
    }
}
