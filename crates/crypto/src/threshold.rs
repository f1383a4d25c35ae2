//! Threshold decryption of ElGamal ciphertexts under a joint key from [`crate::dkg`].
//!
//! Trustee `j` holding `x_j` publishes the partial decryption `D_j = x_j·a` of a ciphertext
//! `(a, b)` with a Chaum–Pedersen proof that `log_G X_j = log_a D_j` (Cramer, Gennaro and
//! Schoenmakers, "A secure and optimally efficient multi-authority election scheme", EUROCRYPT
//! 1997, §2.2; Pedersen, EUROCRYPT 1991, §4). Any set `S` of at least `t` distinct trustees then
//! combines `m·G = b − Σ_{j∈S} λ_j D_j` with Lagrange coefficients at 0,
//! `λ_j = Π_{k∈S, k≠j} k / (k − j)`, and recovers `m` by baby-step giant-step.
//!
//! Each proof is bound to a caller context, the trustee's index, the ciphertext and its position in
//! a tally vector, so a share for one ciphertext cannot be presented for another.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchVerifier};
use crate::dkg::{JointKey, KeyShare, TrusteeIndex};
use crate::dleq::{DleqProof, DleqStatement};
use crate::elgamal::{Ciphertext, DlogTable};
use crate::error::{Error, Result};
use crate::group::G;

/// Trustee `j`'s partial decryption `D_j = x_j·a` of one ciphertext, with its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecryptionShare {
    /// The trustee `j`.
    pub trustee: TrusteeIndex,
    /// `D_j = x_j·a`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub share: RistrettoPoint,
    /// DLEQ proof over `(G, X_j, a, D_j)`.
    pub proof: DleqProof,
}

/// Trustee `j`'s partial decryptions of a vector of ciphertexts (a tally), with one proof each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TallyDecryptionShare {
    /// The trustee `j`.
    pub trustee: TrusteeIndex,
    /// `D_{j,p} = x_j·a_p` for every position `p`.
    #[schema(value_type = Vec<crate::api_schema::PointHex>)]
    #[serde(with = "crate::encoding::point_vec_hex")]
    pub shares: Vec<RistrettoPoint>,
    /// DLEQ proof per position.
    pub proofs: Vec<DleqProof>,
}

/// The DLEQ context of trustee `j`'s share of the ciphertext at `position`.
fn share_context(context: &[u8], trustee: TrusteeIndex, position: u64, ct: &Ciphertext) -> Vec<u8> {
    let label = b"tabella/threshold/decryption-share/v1";
    let mut out = Vec::with_capacity(label.len() + context.len() + 96);
    out.extend_from_slice(&(label.len() as u64).to_le_bytes());
    out.extend_from_slice(label);
    out.extend_from_slice(&(context.len() as u64).to_le_bytes());
    out.extend_from_slice(context);
    out.extend_from_slice(&trustee.get().to_le_bytes());
    out.extend_from_slice(&position.to_le_bytes());
    out.extend_from_slice(&ct.to_bytes());
    out
}

fn statement(x_j: &RistrettoPoint, ct: &Ciphertext, d: &RistrettoPoint) -> DleqStatement {
    DleqStatement {
        b1: G,
        x1: *x_j,
        b2: ct.a,
        x2: *d,
    }
}

fn prove_one<R: RngCore + CryptoRng>(
    key: &KeyShare,
    ct: &Ciphertext,
    position: u64,
    context: &[u8],
    rng: &mut R,
) -> (RistrettoPoint, DleqProof) {
    let ctx = share_context(context, key.index(), position, ct);
    let (st, proof) = DleqProof::prove(&ctx, &G, &ct.a, key.secret(), rng);
    (st.x2, proof)
}

impl DecryptionShare {
    /// Computes trustee `key.index()`'s partial decryption of `ct` and proves it.
    pub fn create<R: RngCore + CryptoRng>(
        key: &KeyShare,
        ct: &Ciphertext,
        context: &[u8],
        rng: &mut R,
    ) -> DecryptionShare {
        let (share, proof) = prove_one(key, ct, 0, context, rng);
        DecryptionShare {
            trustee: key.index(),
            share,
            proof,
        }
    }

    /// Adds this share's proof to a batch, checking it against the trustee's verification share
    /// `X_j` taken from `joint`.
    pub fn add_to_batch(
        &self,
        joint: &JointKey,
        ct: &Ciphertext,
        context: &[u8],
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        let x_j = joint.verification_share(self.trustee)?;
        let ctx = share_context(context, self.trustee, 0, ct);
        self.proof
            .add_to_batch(&ctx, &statement(&x_j, ct, &self.share), bv);
        Ok(())
    }

    /// Verifies this share against the verification share `X_j` of its trustee.
    pub fn verify_against(
        &self,
        verification_share: &RistrettoPoint,
        ct: &Ciphertext,
        context: &[u8],
    ) -> Result<()> {
        let ctx = share_context(context, self.trustee, 0, ct);
        self.proof
            .verify(&ctx, &statement(verification_share, ct, &self.share))
            .map_err(|_| Error::InvalidProof("decryption share (DLEQ)"))
    }

    /// Verifies this share against its trustee's verification share in `joint`.
    pub fn verify(&self, joint: &JointKey, ct: &Ciphertext, context: &[u8]) -> Result<()> {
        self.verify_against(&joint.verification_share(self.trustee)?, ct, context)
    }
}

/// Verifies many shares of one ciphertext with one multiscalar multiplication (secret weights,
/// see [`crate::batch`]).
pub fn verify_shares_batch(
    joint: &JointKey,
    ct: &Ciphertext,
    shares: &[DecryptionShare],
    context: &[u8],
) -> Result<()> {
    let mut bv = BatchVerifier::new()?;
    bv.reserve(6 * shares.len());
    for s in shares {
        s.add_to_batch(joint, ct, context, &mut bv)?;
    }
    bv.verify()
}

use crate::shamir::check_distinct;
pub use crate::shamir::lagrange_at_zero;

/// Checks a set of contributing trustees: distinct, known, and at least `t` of them.
pub(crate) fn check_quorum(joint: &JointKey, indices: &[TrusteeIndex]) -> Result<()> {
    check_distinct(indices)?;
    if let Some(j) = indices.iter().find(|j| j.get() > joint.n) {
        return Err(Error::Protocol(format!(
            "{j} is not one of the {} trustees",
            joint.n
        )));
    }
    if indices.len() < usize::from(joint.t) {
        return Err(Error::Protocol(format!(
            "{} shares, at least t = {} are needed",
            indices.len(),
            joint.t
        )));
    }
    Ok(())
}

/// Combines shares into `m·G = b − Σ λ_j D_j` **without checking their proofs** (use [`decrypt`],
/// or verify first). Fails on duplicate or unknown trustees, or fewer than `t` shares.
pub fn combine(
    joint: &JointKey,
    ct: &Ciphertext,
    shares: &[DecryptionShare],
) -> Result<RistrettoPoint> {
    let idx: Vec<TrusteeIndex> = shares.iter().map(|s| s.trustee).collect();
    check_quorum(joint, &idx)?;
    let lambdas = lagrange_at_zero(&idx)?;
    let points: Vec<RistrettoPoint> = shares.iter().map(|s| s.share).collect();
    Ok(ct.b - RistrettoPoint::vartime_multiscalar_mul(&lambdas, &points))
}

/// Verifies every share's proof, combines them and recovers `m` with `table` (variable time
/// in `m`: for results that are published).
pub fn decrypt_vartime(
    joint: &JointKey,
    ct: &Ciphertext,
    shares: &[DecryptionShare],
    context: &[u8],
    table: &DlogTable,
) -> Result<u64> {
    for s in shares {
        s.verify(joint, ct, context)?;
    }
    table.solve_vartime(&combine(joint, ct, shares)?)
}

impl TallyDecryptionShare {
    /// Partially decrypts every ciphertext of a tally, with one proof per position.
    pub fn create<R: RngCore + CryptoRng>(
        key: &KeyShare,
        cts: &[Ciphertext],
        context: &[u8],
        rng: &mut R,
    ) -> TallyDecryptionShare {
        let (shares, proofs) = cts
            .iter()
            .enumerate()
            .map(|(p, ct)| prove_one(key, ct, p as u64, context, rng))
            .unzip();
        TallyDecryptionShare {
            trustee: key.index(),
            shares,
            proofs,
        }
    }

    /// Adds every proof to a batch.
    pub fn add_to_batch(
        &self,
        joint: &JointKey,
        cts: &[Ciphertext],
        context: &[u8],
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        if self.shares.len() != cts.len() || self.proofs.len() != cts.len() {
            return Err(Error::InvalidProof(
                "tally decryption share: wrong number of entries",
            ));
        }
        let x_j = joint.verification_share(self.trustee)?;
        bv.reserve(4 * cts.len());
        for (p, ((ct, d), proof)) in cts.iter().zip(&self.shares).zip(&self.proofs).enumerate() {
            let ctx = share_context(context, self.trustee, p as u64, ct);
            proof.add_to_batch(&ctx, &statement(&x_j, ct, d), bv);
        }
        Ok(())
    }

    /// Verifies every proof (one multiscalar multiplication; secret weights, see [`crate::batch`]).
    pub fn verify(&self, joint: &JointKey, cts: &[Ciphertext], context: &[u8]) -> Result<()> {
        batch::verify_single("tally decryption share (DLEQ)", |bv| {
            self.add_to_batch(joint, cts, context, bv)
        })
    }
}

/// Decrypts a tally vector from the tally shares of at least `t` trustees: verifies every proof in
/// one batch (secret weights, see [`crate::batch`]), then combines position by position.
pub fn decrypt_tally(
    joint: &JointKey,
    cts: &[Ciphertext],
    shares: &[TallyDecryptionShare],
    context: &[u8],
    table: &DlogTable,
) -> Result<Vec<u64>> {
    let idx: Vec<TrusteeIndex> = shares.iter().map(|s| s.trustee).collect();
    check_quorum(joint, &idx)?;
    let mut bv = BatchVerifier::new()?;
    for s in shares {
        s.add_to_batch(joint, cts, context, &mut bv)?;
    }
    bv.verify()?;
    let lambdas = lagrange_at_zero(&idx)?;
    cts.iter()
        .enumerate()
        .map(|(p, ct)| {
            let points: Vec<RistrettoPoint> = shares
                .iter()
                .map(|s| s.shares.get(p).copied())
                .collect::<Option<_>>()
                .ok_or(Error::InvalidProof(
                    "tally decryption share: wrong number of entries",
                ))?;
            table
                .solve_vartime(&(ct.b - RistrettoPoint::vartime_multiscalar_mul(&lambdas, &points)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkg::tests::{idx, run};
    use curve25519_dalek::scalar::Scalar;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn subsets(n: u16, t: usize) -> Vec<Vec<u16>> {
        let mut out = Vec::new();
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize == t {
                out.push((1..=n).filter(|i| mask & (1 << (i - 1)) != 0).collect());
            }
        }
        out
    }

    #[test]
    fn every_t_subset_decrypts() {
        let mut rng = ChaCha20Rng::seed_from_u64(200);
        let table = DlogTable::new(1000).unwrap();
        for (n, t) in [(3u16, 2usize), (5, 3), (4, 4), (1, 1)] {
            let c = run(n, t as u16, &mut rng, None, None);
            let jk = &c.outcome.joint_key;
            let (ct, _) = jk.public_key.encrypt(123, &mut rng);
            let all: Vec<_> = c
                .shares
                .iter()
                .map(|k| DecryptionShare::create(k, &ct, b"ctx", &mut rng))
                .collect();
            verify_shares_batch(jk, &ct, &all, b"ctx").unwrap();
            for s in subsets(n, t) {
                let chosen: Vec<_> = s.iter().map(|i| all[usize::from(*i) - 1]).collect();
                assert_eq!(
                    decrypt_vartime(jk, &ct, &chosen, b"ctx", &table).unwrap(),
                    123
                );
                // Order does not matter.
                let rev: Vec<_> = chosen.iter().rev().copied().collect();
                assert_eq!(decrypt_vartime(jk, &ct, &rev, b"ctx", &table).unwrap(), 123);
            }
            // More than t shares also work.
            assert_eq!(decrypt_vartime(jk, &ct, &all, b"ctx", &table).unwrap(), 123);
            if t > 1 {
                assert!(matches!(
                    decrypt_vartime(jk, &ct, &all[..t - 1], b"ctx", &table),
                    Err(Error::Protocol(_))
                ));
            }
        }
    }

    #[test]
    fn absent_trustee_and_quorum_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(201);
        let table = DlogTable::new(100).unwrap();
        let c = run(5, 3, &mut rng, None, None);
        let jk = &c.outcome.joint_key;
        let (ct, _) = jk.public_key.encrypt(42, &mut rng);
        // Trustees 2 and 4 are absent.
        let shares: Vec<_> = [0usize, 2, 4]
            .iter()
            .map(|&i| DecryptionShare::create(&c.shares[i], &ct, b"x", &mut rng))
            .collect();
        assert_eq!(decrypt_vartime(jk, &ct, &shares, b"x", &table).unwrap(), 42);
        let dup = vec![shares[0], shares[0], shares[1]];
        assert!(matches!(combine(jk, &ct, &dup), Err(Error::Protocol(_))));
        let mut unknown = shares.clone();
        unknown[2].trustee = idx(9);
        assert!(matches!(
            combine(jk, &ct, &unknown),
            Err(Error::Protocol(_))
        ));
        assert!(decrypt_vartime(jk, &ct, &unknown, b"x", &table).is_err());
        assert!(lagrange_at_zero(&[]).is_err());
        assert!(lagrange_at_zero(&[idx(1), idx(1)]).is_err());
    }

    #[test]
    fn forged_shares_rejected() {
        let mut rng = ChaCha20Rng::seed_from_u64(202);
        let c = run(3, 2, &mut rng, None, None);
        let jk = &c.outcome.joint_key;
        let (ct, _) = jk.public_key.encrypt(5, &mut rng);
        let (ct2, _) = jk.public_key.encrypt(5, &mut rng);
        let s = DecryptionShare::create(&c.shares[0], &ct, b"ctx", &mut rng);
        s.verify(jk, &ct, b"ctx").unwrap();
        let mut bad = Vec::new();
        for field in 0..5 {
            let mut f = s;
            match field {
                0 => f.share += G,
                1 => f.proof.a1 += G,
                2 => f.proof.a2 += G,
                3 => f.proof.response += Scalar::ONE,
                _ => f.trustee = idx(2),
            }
            assert!(f.verify(jk, &ct, b"ctx").is_err(), "field {field}");
            bad.push(f);
        }
        assert!(s.verify(jk, &ct, b"other").is_err());
        assert!(s.verify(jk, &ct2, b"ctx").is_err());
        for f in bad {
            let good = DecryptionShare::create(&c.shares[2], &ct, b"ctx", &mut rng);
            assert!(verify_shares_batch(jk, &ct, &[good, f], b"ctx").is_err());
        }
        // A share computed with the wrong key, with an honest-looking proof, fails.
        let wrong = KeyShare::from_parts(idx(1), c.shares[1].secret().clone());
        let f = DecryptionShare::create(&wrong, &ct, b"ctx", &mut rng);
        assert!(f.verify(jk, &ct, b"ctx").is_err());
    }

    #[test]
    fn tally_decryption() {
        let mut rng = ChaCha20Rng::seed_from_u64(203);
        let table = DlogTable::new(1000).unwrap();
        let c = run(4, 3, &mut rng, None, None);
        let jk = &c.outcome.joint_key;
        let votes = [3u64, 0, 17, 999];
        let cts: Vec<_> = votes
            .iter()
            .map(|v| jk.public_key.encrypt(*v, &mut rng).0)
            .collect();
        let shares: Vec<_> = c.shares[1..]
            .iter()
            .map(|k| TallyDecryptionShare::create(k, &cts, b"tally", &mut rng))
            .collect();
        for s in &shares {
            s.verify(jk, &cts, b"tally").unwrap();
            assert!(s.verify(jk, &cts, b"tallz").is_err());
        }
        assert_eq!(
            decrypt_tally(jk, &cts, &shares, b"tally", &table).unwrap(),
            votes
        );
        // Swapping two positions' shares breaks the proofs.
        let mut bad = shares.clone();
        bad[0].shares.swap(0, 1);
        bad[0].proofs.swap(0, 1);
        assert!(decrypt_tally(jk, &cts, &bad, b"tally", &table).is_err());
        let mut short = shares.clone();
        short[1].shares.pop();
        assert!(decrypt_tally(jk, &cts, &short, b"tally", &table).is_err());
        assert!(decrypt_tally(jk, &cts, &shares[..2], b"tally", &table).is_err());
    }

    #[test]
    fn serde_roundtrips() {
        let mut rng = ChaCha20Rng::seed_from_u64(204);
        let c = run(3, 2, &mut rng, None, None);
        let jk = &c.outcome.joint_key;
        let back: JointKey = serde_json::from_str(&serde_json::to_string(jk).unwrap()).unwrap();
        assert_eq!(&back, jk);
        let (ct, _) = jk.public_key.encrypt(5, &mut rng);
        let s = DecryptionShare::create(&c.shares[0], &ct, b"ctx", &mut rng);
        let back: DecryptionShare =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        let t = TallyDecryptionShare::create(&c.shares[0], &[ct, ct], b"ctx", &mut rng);
        let back: TallyDecryptionShare =
            serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        #[test]
        fn lagrange_interpolates_any_subset(seed in 0u64..u64::MAX, m in 0u64..1000, pick in 0u32..32) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let table = DlogTable::new(1000).unwrap();
            let c = run(5, 3, &mut rng, None, None);
            let jk = &c.outcome.joint_key;
            let (ct, _) = jk.public_key.encrypt(m, &mut rng);
            let mut chosen: Vec<_> = (0..5usize).filter(|i| pick & (1 << i) != 0).collect();
            if chosen.len() < 3 {
                chosen = vec![0, 2, 4];
            }
            let shares: Vec<_> = chosen
                .iter()
                .map(|&i| DecryptionShare::create(&c.shares[i], &ct, b"p", &mut rng))
                .collect();
            proptest::prop_assert_eq!(decrypt_vartime(jk, &ct, &shares, b"p", &table).unwrap(), m);
        }
    }
}
