//! Key switching: turn a ciphertext under the trustees' joint key `Y` into a ciphertext of the same
//! plaintext under a querier's key `Q`, without anyone decrypting it.
//!
//! This is the verifiable key-switch protocol of UnLynx and Drynx (Froelicher et al., "UnLynx: a
//! decentralized system for privacy-conscious data sharing", PoPETs 2017, §4; "Drynx:
//! decentralized, secure, verifiable system for statistical queries and machine learning on
//! distributed datasets", IEEE TIFS 2020), as used by the Lemal verifying nodes of seed 001 ("a key
//! switch protocol … each server adds an element containing a nonce and its public key, with the
//! proof of what it has computed is correct"), adapted to a t-of-n set of trustees with Lagrange
//! weights.
//!
//! For a ciphertext `(a, b) = (r·G, m·G + r·Y)` and a fixed participant set `S` (`|S| >= t`), each
//! trustee `j ∈ S` with Lagrange weight `λ_j` draws a fresh `v_j` and publishes
//! `V_j = v_j·G`, `W_j = v_j·Q − λ_j x_j·a`, with a proof ([`crate::linear`]) of knowledge of
//! `(x_j, v_j)` such that `X_j = x_j·G`, `V_j = v_j·G` and `W_j = v_j·Q + x_j·(−λ_j a)`. Then
//! `(Σ V_j, b + Σ W_j) = (v·G, m·G + v·Q)` with `v = Σ v_j`, because `Σ λ_j x_j = x`.

use std::collections::BTreeSet;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::BatchVerifier;
use crate::dkg::{JointKey, KeyShare, TrusteeIndex};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::error::{Error, Result};
use crate::group::{SecretScalar, G};
use crate::linear::{LinearEquation, LinearProof, LinearStatement};
use crate::threshold::{check_quorum, lagrange_at_zero};

/// Trustee `j`'s contribution to switching one ciphertext to the querier's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeySwitchShare {
    /// The trustee `j`.
    pub trustee: TrusteeIndex,
    /// `V_j = v_j·G`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub v: RistrettoPoint,
    /// `W_j = v_j·Q − λ_j x_j·a`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub w: RistrettoPoint,
    /// Proof of knowledge of `(x_j, v_j)`.
    pub proof: LinearProof,
}

fn ks_context(
    context: &[u8],
    trustee: TrusteeIndex,
    participants: &[TrusteeIndex],
    ct: &Ciphertext,
    querier: &PublicKey,
) -> Vec<u8> {
    let label = b"tabella/keyswitch/v1";
    let mut out = Vec::with_capacity(label.len() + context.len() + 128 + 2 * participants.len());
    out.extend_from_slice(&(label.len() as u64).to_le_bytes());
    out.extend_from_slice(label);
    out.extend_from_slice(&(context.len() as u64).to_le_bytes());
    out.extend_from_slice(context);
    out.extend_from_slice(&trustee.get().to_le_bytes());
    out.extend_from_slice(&(participants.len() as u64).to_le_bytes());
    for p in participants {
        out.extend_from_slice(&p.get().to_le_bytes());
    }
    out.extend_from_slice(&ct.to_bytes());
    out.extend_from_slice(querier.0.compress().as_bytes());
    out
}

/// The participant set in canonical (ascending) order, with `j`'s Lagrange weight.
fn weight_of(
    participants: &[TrusteeIndex],
    j: TrusteeIndex,
) -> Result<(Vec<TrusteeIndex>, curve25519_dalek::scalar::Scalar)> {
    let mut sorted = participants.to_vec();
    sorted.sort();
    let lambdas = lagrange_at_zero(&sorted)?;
    let pos = sorted
        .iter()
        .position(|p| *p == j)
        .ok_or_else(|| Error::Protocol(format!("{j} is not in the key-switch participant set")))?;
    Ok((sorted, lambdas[pos]))
}

fn statement(
    x_j: &RistrettoPoint,
    lambda: &curve25519_dalek::scalar::Scalar,
    ct: &Ciphertext,
    querier: &PublicKey,
    v: &RistrettoPoint,
    w: &RistrettoPoint,
) -> LinearStatement {
    LinearStatement {
        witnesses: 2,
        equations: vec![
            LinearEquation {
                terms: vec![(0, G)],
                image: *x_j,
            },
            LinearEquation {
                terms: vec![(1, G)],
                image: *v,
            },
            LinearEquation {
                terms: vec![(0, -(lambda * ct.a)), (1, querier.0)],
                image: *w,
            },
        ],
    }
}

impl KeySwitchShare {
    /// Computes trustee `key.index()`'s contribution for the participant set `participants`
    /// (which must contain it; order does not matter) and proves it.
    pub fn create<R: RngCore + CryptoRng>(
        key: &KeyShare,
        participants: &[TrusteeIndex],
        ct: &Ciphertext,
        querier: &PublicKey,
        context: &[u8],
        rng: &mut R,
    ) -> Result<KeySwitchShare> {
        let j = key.index();
        let (sorted, lambda) = weight_of(participants, j)?;
        let v_j = SecretScalar::random(rng);
        let v = v_j.expose() * G;
        let w = v_j.expose() * querier.0 - (lambda * key.secret().expose()) * ct.a;
        let st = statement(&key.verification_share(), &lambda, ct, querier, &v, &w);
        let proof = LinearProof::prove(
            &ks_context(context, j, &sorted, ct, querier),
            &st,
            &[key.secret().clone(), v_j],
            rng,
        )?;
        Ok(KeySwitchShare {
            trustee: j,
            v,
            w,
            proof,
        })
    }

    /// Adds this contribution's proof to a batch.
    pub fn add_to_batch(
        &self,
        joint: &JointKey,
        participants: &[TrusteeIndex],
        ct: &Ciphertext,
        querier: &PublicKey,
        context: &[u8],
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        let (sorted, lambda) = weight_of(participants, self.trustee)?;
        let x_j = joint.verification_share(self.trustee)?;
        let st = statement(&x_j, &lambda, ct, querier, &self.v, &self.w);
        self.proof.add_to_batch(
            &ks_context(context, self.trustee, &sorted, ct, querier),
            &st,
            bv,
        )
    }

    /// Verifies this contribution against the trustee's verification share in `joint`.
    pub fn verify(
        &self,
        joint: &JointKey,
        participants: &[TrusteeIndex],
        ct: &Ciphertext,
        querier: &PublicKey,
        context: &[u8],
    ) -> Result<()> {
        let (sorted, lambda) = weight_of(participants, self.trustee)?;
        let x_j = joint.verification_share(self.trustee)?;
        let st = statement(&x_j, &lambda, ct, querier, &self.v, &self.w);
        self.proof
            .verify(
                &ks_context(context, self.trustee, &sorted, ct, querier),
                &st,
            )
            .map_err(|_| Error::InvalidProof("key-switch contribution"))
    }
}

/// Verifies one contribution from every participant and combines them into
/// `(Σ V_j, b + Σ W_j)`, a ciphertext of the same plaintext under `querier`.
///
/// Fails if the participant set is not a valid quorum (duplicates, unknown trustees, fewer than
/// `t`), if the contributions are not exactly one per participant, or if any proof is invalid.
pub fn combine_key_switch(
    joint: &JointKey,
    participants: &[TrusteeIndex],
    ct: &Ciphertext,
    querier: &PublicKey,
    shares: &[KeySwitchShare],
    context: &[u8],
) -> Result<Ciphertext> {
    check_quorum(joint, participants)?;
    let expected: BTreeSet<TrusteeIndex> = participants.iter().copied().collect();
    let mut seen = BTreeSet::new();
    for s in shares {
        if !expected.contains(&s.trustee) {
            return Err(Error::Protocol(format!(
                "contribution from {}, who is not in the participant set",
                s.trustee
            )));
        }
        if !seen.insert(s.trustee) {
            return Err(Error::Protocol(format!(
                "{} contributed more than once",
                s.trustee
            )));
        }
    }
    if seen != expected {
        return Err(Error::Protocol(format!(
            "{} of {} participants contributed",
            seen.len(),
            expected.len()
        )));
    }
    let mut out = Ciphertext {
        a: RistrettoPoint::identity(),
        b: ct.b,
    };
    for s in shares {
        s.verify(joint, participants, ct, querier, context)?;
        out.a += s.v;
        out.b += s.w;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkg::tests::{idx, run};
    use crate::elgamal::{DlogTable, SecretKey};
    use curve25519_dalek::scalar::Scalar;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn switch_and_decrypt() {
        let mut rng = ChaCha20Rng::seed_from_u64(400);
        let table = DlogTable::new(1000).unwrap();
        for (n, t, set) in [
            (3u16, 2u16, vec![1u16, 3]),
            (5, 3, vec![5, 2, 4]),
            (4, 4, vec![1, 2, 3, 4]),
            (1, 1, vec![1]),
            (5, 3, vec![1, 2, 3, 4]),
        ] {
            let c = run(n, t, &mut rng, None, None);
            let jk = &c.outcome.joint_key;
            let querier = SecretKey::generate(&mut rng);
            let q = querier.public_key();
            let (ct, _) = jk.public_key.encrypt(77, &mut rng);
            let parts: Vec<_> = set.iter().map(|i| idx(*i)).collect();
            let shares: Vec<_> = parts
                .iter()
                .map(|j| {
                    KeySwitchShare::create(&c.shares[j.position()], &parts, &ct, &q, b"q", &mut rng)
                        .unwrap()
                })
                .collect();
            let mut bv = BatchVerifier::new().unwrap();
            for s in &shares {
                s.add_to_batch(jk, &parts, &ct, &q, b"q", &mut bv).unwrap();
            }
            bv.verify().unwrap();
            let switched = combine_key_switch(jk, &parts, &ct, &q, &shares, b"q").unwrap();
            assert_eq!(querier.decrypt_vartime(&switched, &table).unwrap(), 77);
        }
    }

    #[test]
    fn forged_contributions_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(401);
        let c = run(3, 2, &mut rng, None, None);
        let jk = &c.outcome.joint_key;
        let q = SecretKey::generate(&mut rng).public_key();
        let (ct, _) = jk.public_key.encrypt(9, &mut rng);
        let (ct2, _) = jk.public_key.encrypt(9, &mut rng);
        let parts = vec![idx(1), idx(2)];
        let s = KeySwitchShare::create(&c.shares[0], &parts, &ct, &q, b"q", &mut rng).unwrap();
        let s2 = KeySwitchShare::create(&c.shares[1], &parts, &ct, &q, b"q", &mut rng).unwrap();
        s.verify(jk, &parts, &ct, &q, b"q").unwrap();
        for field in 0..8 {
            let mut f = s.clone();
            match field {
                0 => f.v += G,
                1 => f.w += G,
                2 => f.proof.commitments[0] += G,
                3 => f.proof.commitments[1] += G,
                4 => f.proof.commitments[2] += G,
                5 => f.proof.responses[0] += Scalar::ONE,
                6 => f.proof.responses[1] += Scalar::ONE,
                _ => f.trustee = idx(3),
            }
            assert!(
                f.verify(jk, &parts, &ct, &q, b"q").is_err(),
                "field {field}"
            );
            assert!(combine_key_switch(jk, &parts, &ct, &q, &[f, s2.clone()], b"q").is_err());
        }
        // Wrong context, ciphertext, querier, participant set.
        assert!(s.verify(jk, &parts, &ct, &q, b"r").is_err());
        assert!(s.verify(jk, &parts, &ct2, &q, b"q").is_err());
        assert!(s
            .verify(jk, &parts, &ct, &PublicKey(q.0 + G), b"q")
            .is_err());
        assert!(s.verify(jk, &[idx(1), idx(3)], &ct, &q, b"q").is_err());
        // Participant-set errors.
        assert!(combine_key_switch(jk, &parts, &ct, &q, std::slice::from_ref(&s), b"q").is_err());
        assert!(combine_key_switch(jk, &parts, &ct, &q, &[s.clone(), s.clone()], b"q").is_err());
        assert!(
            combine_key_switch(jk, &[idx(1)], &ct, &q, std::slice::from_ref(&s), b"q").is_err()
        );
        assert!(KeySwitchShare::create(&c.shares[2], &parts, &ct, &q, b"q", &mut rng).is_err());
        combine_key_switch(jk, &parts, &ct, &q, &[s2, s.clone()], b"q").unwrap();
        let back: KeySwitchShare =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        #[test]
        fn switching_preserves_any_plaintext(seed in 0u64..u64::MAX, m in 0u64..1000, drop in 0usize..4) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let table = DlogTable::new(1000).unwrap();
            let c = run(4, 3, &mut rng, None, None);
            let jk = &c.outcome.joint_key;
            let querier = SecretKey::generate(&mut rng);
            let q = querier.public_key();
            let (ct, _) = jk.public_key.encrypt(m, &mut rng);
            let parts: Vec<_> = (1..=4u16).filter(|i| usize::from(*i) != drop + 1).map(idx).collect();
            let shares: Vec<_> = parts
                .iter()
                .map(|j| KeySwitchShare::create(&c.shares[j.position()], &parts, &ct, &q, b"p", &mut rng).unwrap())
                .collect();
            let switched = combine_key_switch(jk, &parts, &ct, &q, &shares, b"p").unwrap();
            proptest::prop_assert_eq!(querier.decrypt_vartime(&switched, &table).unwrap(), m);
        }
    }
}
