//! Range proofs on Pedersen commitments (Bulletproofs), and a proof linking an exponential-ElGamal
//! ciphertext to a Pedersen commitment of the same value.
//!
//! # Range proofs
//!
//! [`RangeProof`] proves that a Pedersen commitment `V = v·B + γ·B̃` opens to `v ∈ [0, 2^bits)` for
//! `bits ∈ {8, 16, 32, 64}`, with the Bulletproofs protocol of Bünz, Bootle, Boneh, Poelstra, Wuille
//! and Maxwell ("Bulletproofs: Short Proofs for Confidential Transactions and More", IEEE S&P 2018),
//! as implemented by the `bulletproofs` 5.0 crate. `B` and `B̃` are that crate's [`PedersenGens`]:
//! `B` is the Ristretto255 basepoint (our [`G`]) and `B̃` is the SHA3-512 hash-to-group of `B`'s
//! encoding. A proof is `2·lg(bits) + 9` group elements / scalars (672 bytes for 32 bits).
//!
//! [`AggregatedRangeProof`] proves `m` commitments at once (the aggregation of the paper's §4.3);
//! proof size grows by `2·lg m` elements only, and one verification checks all `m`. The `bulletproofs`
//! crate requires `m` to be a power of two: we pad with commitments to zero under zero blinding (the
//! identity point), which the verifier re-derives, so callers may aggregate any count up to
//! [`MAX_AGGREGATION`]. The crate does not offer batch verification of several *independent* range
//! proofs; aggregate at proving time instead.
//!
//! The verifier always states the number of bits it requires; the `bits` carried in a serialized proof
//! is checked against it, never trusted.
//!
//! Transcripts start from [`new_transcript`] with the label `tabella/range/v1` and the caller's
//! context, then the bit size and the number of commitments; the Bulletproofs protocol then appends
//! its own domain separator and the commitments.
//!
//! # Linking ElGamal to Pedersen
//!
//! [`LinkProof`] is a sigma protocol (Fiat–Shamir over merlin, label
//! `tabella/elgamal-pedersen-link/v1`) proving knowledge of `(v, r, γ)` with
//!
//! ```text
//! a = r·G        b = v·G + r·Y        V = v·G + γ·B̃
//! ```
//!
//! so a range proof on `V` bounds the plaintext of the ciphertext `(a, b)`. This needs the ElGamal
//! generator `G` to be the Pedersen value base `B`; [`pedersen_gens`] checks it. Like the other sigma
//! proofs of this crate the proof keeps its commitments, so it can be batch-verified
//! ([`LinkProof::add_to_batch`]).
//!
//! [`encrypt_with_range_proof`] does all of it: encrypt, commit, range-prove, link-prove.

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use merlin::Transcript;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchVerifier};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::error::{Error, Result};
use crate::group::{SecretScalar, G};
use crate::transcript::{new_transcript, TranscriptExt};

/// Bit sizes accepted by the range proofs.
pub const SUPPORTED_BITS: [usize; 4] = [8, 16, 32, 64];

/// Largest number of commitments in one [`AggregatedRangeProof`] (after padding to a power of two).
pub const MAX_AGGREGATION: usize = 16;

const RANGE_LABEL: &[u8] = b"tabella/range/v1";
const LINK_LABEL: &[u8] = b"tabella/elgamal-pedersen-link/v1";

/// The Pedersen generators used by every range proof: `B` = the Ristretto255 basepoint (= [`G`]),
/// `B̃` = the `bulletproofs` crate's default blinding base.
///
/// Returns an error if `B` is not [`G`] (which would break [`LinkProof`]); with the pinned
/// `bulletproofs` 5.0 this cannot happen, but the check keeps a future upgrade honest.
pub fn pedersen_gens() -> Result<PedersenGens> {
    let pc = PedersenGens::default();
    if pc.B != G {
        return Err(Error::RangeProof(
            "bulletproofs PedersenGens.B is not the Ristretto255 basepoint G".into(),
        ));
    }
    Ok(pc)
}

fn bulletproof_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(64, MAX_AGGREGATION))
}

fn check_bits(bits: usize) -> Result<()> {
    if SUPPORTED_BITS.contains(&bits) {
        Ok(())
    } else {
        Err(Error::RangeProof(format!(
            "unsupported range size {bits} bits: must be one of 8, 16, 32, 64"
        )))
    }
}

fn check_value(v: u64, bits: usize) -> Result<()> {
    if bits < 64 && v >> bits != 0 {
        return Err(Error::RangeProof(format!(
            "value is out of range [0, 2^{bits}): refusing to make a proof that cannot verify"
        )));
    }
    Ok(())
}

/// Expected serialized length of a Bulletproof for `bits` bits and `m` (power of two) commitments.
fn proof_len(bits: usize, m: usize) -> usize {
    let lg = (bits * m).trailing_zeros() as usize;
    (2 * lg + 9) * 32
}

fn range_transcript(context: &[u8], bits: usize, m: usize) -> Transcript {
    let mut t = new_transcript(RANGE_LABEL, context);
    t.append_u64_le(b"bits", bits as u64);
    t.append_u64_le(b"m", m as u64);
    t
}

/// The randomness of the Bulletproofs verifier's internal batch weights: the operating system's,
/// so no prover can predict them (see [`crate::batch`] for why a weight derived from the proof or
/// the transcript is not enough: an earlier version left the commitment `V` out of such a seed).
fn verifier_rng() -> Result<ChaCha20Rng> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut seed)
        .map_err(|e| Error::Randomness(e.to_string()))?;
    Ok(ChaCha20Rng::from_seed(seed))
}

/// A Pedersen commitment `V = v·B + γ·B̃` (generators of [`pedersen_gens`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = crate::api_schema::PointHex)]
pub struct PedersenCommitment(#[serde(with = "crate::encoding::point_hex")] pub RistrettoPoint);

impl PedersenCommitment {
    /// Commits to `v` with blinding `gamma`.
    pub fn commit(v: u64, gamma: &SecretScalar) -> Result<Self> {
        let pc = pedersen_gens()?;
        Ok(PedersenCommitment(
            pc.commit(Scalar::from(v), *gamma.expose()),
        ))
    }

    fn compressed(&self) -> CompressedRistretto {
        self.0.compress()
    }
}

/// Decodes a Bulletproof whose length has been checked. Beyond the crate's own checks (length a
/// multiple of 32, canonical scalars) every group element must be a canonical Ristretto encoding.
/// Layout (Bulletproofs crate): `A, S, T₁, T₂` (points), `t_x, t̃_x, ẽ` (scalars), `L_i, R_i` pairs
/// (points), `a, b` (scalars).
fn decode_bulletproof(bytes: &[u8]) -> Result<bulletproofs::RangeProof> {
    let proof = bulletproofs::RangeProof::from_bytes(bytes)
        .map_err(|e| Error::malformed("range proof", format!("{e}")))?;
    let n = bytes.len() / 32;
    for (i, chunk) in bytes.chunks(32).enumerate() {
        let is_point = i < 4 || (7..n.saturating_sub(2)).contains(&i);
        if is_point && crate::encoding::point_from_bytes(chunk).is_err() {
            return Err(Error::malformed(
                "range proof",
                format!("element {i} is not a valid point"),
            ));
        }
    }
    Ok(proof)
}

/// A proof that one Pedersen commitment opens to a value in `[0, 2^bits)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "RangeProofRepr", into = "RangeProofRepr")]
pub struct RangeProof {
    bits: usize,
    proof: bulletproofs::RangeProof,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct RangeProofRepr {
    bits: usize,
    #[schema(value_type = crate::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    proof: Vec<u8>,
}

crate::schema_via!(RangeProof, RangeProofRepr);

impl TryFrom<RangeProofRepr> for RangeProof {
    type Error = Error;
    fn try_from(r: RangeProofRepr) -> Result<Self> {
        RangeProof::from_bytes(r.bits, &r.proof)
    }
}

impl From<RangeProof> for RangeProofRepr {
    fn from(p: RangeProof) -> Self {
        RangeProofRepr {
            bits: p.bits,
            proof: p.proof.to_bytes(),
        }
    }
}

impl PartialEq for RangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits && self.proof.to_bytes() == other.proof.to_bytes()
    }
}
impl Eq for RangeProof {}

impl RangeProof {
    /// Commits to `v` with blinding `gamma` and proves `v ∈ [0, 2^bits)`, bound to `context`.
    ///
    /// Errors if `bits` is not 8, 16, 32 or 64, or if `v ≥ 2^bits`.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        v: u64,
        gamma: &SecretScalar,
        bits: usize,
        rng: &mut R,
    ) -> Result<(PedersenCommitment, RangeProof)> {
        check_bits(bits)?;
        check_value(v, bits)?;
        let pc = pedersen_gens()?;
        let mut t = range_transcript(context, bits, 1);
        let (proof, v_c) = bulletproofs::RangeProof::prove_single_with_rng(
            bulletproof_gens(),
            &pc,
            &mut t,
            v,
            gamma.expose(),
            bits,
            rng,
        )
        .map_err(|e| Error::RangeProof(format!("proving failed: {e}")))?;
        let v_point = v_c
            .decompress()
            .ok_or_else(|| Error::RangeProof("prover returned an invalid commitment".into()))?;
        Ok((PedersenCommitment(v_point), RangeProof { bits, proof }))
    }

    /// The bit size this proof claims.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Verifies that `commitment` opens to a value in `[0, 2^bits)`, bound to `context`.
    /// `bits` is the range the verifier requires; a proof for any other size is rejected.
    pub fn verify(
        &self,
        context: &[u8],
        commitment: &PedersenCommitment,
        bits: usize,
    ) -> Result<()> {
        check_bits(bits)?;
        if self.bits != bits {
            return Err(Error::RangeProof(format!(
                "proof is for {} bits, verifier requires {bits}",
                self.bits
            )));
        }
        let pc = pedersen_gens()?;
        let mut t = range_transcript(context, bits, 1);
        let mut rng = verifier_rng()?;
        self.proof
            .verify_single_with_rng(
                bulletproof_gens(),
                &pc,
                &mut t,
                &commitment.compressed(),
                bits,
                &mut rng,
            )
            .map_err(|_| Error::InvalidProof("Bulletproofs range proof"))
    }

    /// The proof's bytes (the `bulletproofs` encoding; the bit size is not included).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.proof.to_bytes()
    }

    /// Decodes a proof for `bits` bits, rejecting wrong lengths and non-canonical scalars.
    pub fn from_bytes(bits: usize, bytes: &[u8]) -> Result<Self> {
        check_bits(bits)?;
        let want = proof_len(bits, 1);
        if bytes.len() != want {
            return Err(Error::malformed(
                "range proof",
                format!("{bits}-bit proof must be {want} bytes, got {}", bytes.len()),
            ));
        }
        Ok(RangeProof {
            bits,
            proof: decode_bulletproof(bytes)?,
        })
    }

    /// Wraps a raw `bulletproofs` proof (for tests that need to forge proofs).
    #[doc(hidden)]
    pub fn from_raw(bits: usize, proof: bulletproofs::RangeProof) -> Self {
        RangeProof { bits, proof }
    }
}

/// One proof that each of `count` Pedersen commitments opens to a value in `[0, 2^bits)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "AggregatedRepr", into = "AggregatedRepr")]
pub struct AggregatedRangeProof {
    bits: usize,
    count: usize,
    proof: bulletproofs::RangeProof,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct AggregatedRepr {
    bits: usize,
    count: usize,
    #[schema(value_type = crate::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    proof: Vec<u8>,
}

crate::schema_via!(AggregatedRangeProof, AggregatedRepr);

impl TryFrom<AggregatedRepr> for AggregatedRangeProof {
    type Error = Error;
    fn try_from(r: AggregatedRepr) -> Result<Self> {
        AggregatedRangeProof::from_bytes(r.bits, r.count, &r.proof)
    }
}

impl From<AggregatedRangeProof> for AggregatedRepr {
    fn from(p: AggregatedRangeProof) -> Self {
        AggregatedRepr {
            bits: p.bits,
            count: p.count,
            proof: p.proof.to_bytes(),
        }
    }
}

impl PartialEq for AggregatedRangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
            && self.count == other.count
            && self.proof.to_bytes() == other.proof.to_bytes()
    }
}
impl Eq for AggregatedRangeProof {}

fn padded_count(count: usize) -> Result<usize> {
    if count == 0 || count > MAX_AGGREGATION {
        return Err(Error::RangeProof(format!(
            "aggregated range proof must cover 1..={MAX_AGGREGATION} commitments, got {count}"
        )));
    }
    Ok(count.next_power_of_two())
}

impl AggregatedRangeProof {
    /// Commits to each `values[i]` with `blindings[i]` and proves all lie in `[0, 2^bits)`.
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        values: &[u64],
        blindings: &[SecretScalar],
        bits: usize,
        rng: &mut R,
    ) -> Result<(Vec<PedersenCommitment>, AggregatedRangeProof)> {
        check_bits(bits)?;
        if values.len() != blindings.len() {
            return Err(Error::RangeProof(format!(
                "{} values but {} blindings",
                values.len(),
                blindings.len()
            )));
        }
        let count = values.len();
        let m = padded_count(count)?;
        for v in values {
            check_value(*v, bits)?;
        }
        let mut vs = values.to_vec();
        vs.resize(m, 0);
        let mut gammas: Vec<Scalar> = blindings.iter().map(|g| *g.expose()).collect();
        gammas.resize(m, Scalar::ZERO);
        let pc = pedersen_gens()?;
        let mut t = range_transcript(context, bits, count);
        let result = bulletproofs::RangeProof::prove_multiple_with_rng(
            bulletproof_gens(),
            &pc,
            &mut t,
            &vs,
            &gammas,
            bits,
            rng,
        );
        use zeroize::Zeroize;
        gammas.zeroize();
        vs.zeroize();
        let (proof, vcs) = result.map_err(|e| Error::RangeProof(format!("proving failed: {e}")))?;
        let commitments = vcs
            .iter()
            .take(count)
            .map(|c| {
                c.decompress().map(PedersenCommitment).ok_or_else(|| {
                    Error::RangeProof("prover returned an invalid commitment".into())
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((commitments, AggregatedRangeProof { bits, count, proof }))
    }

    /// The bit size this proof claims.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Number of commitments covered.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Verifies that every commitment opens to a value in `[0, 2^bits)`.
    pub fn verify(
        &self,
        context: &[u8],
        commitments: &[PedersenCommitment],
        bits: usize,
    ) -> Result<()> {
        check_bits(bits)?;
        if self.bits != bits {
            return Err(Error::RangeProof(format!(
                "proof is for {} bits, verifier requires {bits}",
                self.bits
            )));
        }
        if commitments.len() != self.count {
            return Err(Error::RangeProof(format!(
                "proof covers {} commitments, {} given",
                self.count,
                commitments.len()
            )));
        }
        let m = padded_count(self.count)?;
        let mut vcs: Vec<CompressedRistretto> =
            commitments.iter().map(|c| c.compressed()).collect();
        vcs.resize(m, RistrettoPoint::identity().compress());
        let pc = pedersen_gens()?;
        let mut t = range_transcript(context, bits, self.count);
        let mut rng = verifier_rng()?;
        self.proof
            .verify_multiple_with_rng(bulletproof_gens(), &pc, &mut t, &vcs, bits, &mut rng)
            .map_err(|_| Error::InvalidProof("aggregated Bulletproofs range proof"))
    }

    /// The proof's bytes (the `bulletproofs` encoding).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.proof.to_bytes()
    }

    /// Decodes a proof for `count` commitments of `bits` bits.
    pub fn from_bytes(bits: usize, count: usize, bytes: &[u8]) -> Result<Self> {
        check_bits(bits)?;
        let m = padded_count(count)?;
        let want = proof_len(bits, m);
        if bytes.len() != want {
            return Err(Error::malformed(
                "aggregated range proof",
                format!(
                    "{bits}-bit proof for {count} commitments must be {want} bytes, got {}",
                    bytes.len()
                ),
            ));
        }
        Ok(AggregatedRangeProof {
            bits,
            count,
            proof: decode_bulletproof(bytes)?,
        })
    }
}

/// A proof that an ElGamal ciphertext and a Pedersen commitment hide the same value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkProof {
    /// `A₁ = k_r·G`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub a1: RistrettoPoint,
    /// `A₂ = k_v·G + k_r·Y`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub a2: RistrettoPoint,
    /// `A₃ = k_v·G + k_γ·B̃`
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub a3: RistrettoPoint,
    /// `z_v = k_v + c·v`
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub z_v: Scalar,
    /// `z_r = k_r + c·r`
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub z_r: Scalar,
    /// `z_γ = k_γ + c·γ`
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub z_gamma: Scalar,
}

#[allow(clippy::too_many_arguments)]
fn link_transcript(
    context: &[u8],
    pc: &PedersenGens,
    pk: &PublicKey,
    ct: &Ciphertext,
    v: &PedersenCommitment,
    a1: &RistrettoPoint,
    a2: &RistrettoPoint,
    a3: &RistrettoPoint,
) -> Transcript {
    let mut t = new_transcript(LINK_LABEL, context);
    t.append_point(b"G", &pc.B);
    t.append_point(b"Bblind", &pc.B_blinding);
    t.append_point(b"Y", &pk.0);
    t.append_point(b"a", &ct.a);
    t.append_point(b"b", &ct.b);
    t.append_point(b"V", &v.0);
    t.append_point(b"A1", a1);
    t.append_point(b"A2", a2);
    t.append_point(b"A3", a3);
    t
}

impl LinkProof {
    /// Proves that `ct = (r·G, v·G + r·Y)` and `commitment = v·G + γ·B̃` hide the same `v`.
    ///
    /// Errors (rather than producing a proof that cannot verify) if the witness does not match the
    /// statement.
    #[allow(clippy::too_many_arguments)]
    pub fn prove<R: RngCore + CryptoRng>(
        context: &[u8],
        pk: &PublicKey,
        ct: &Ciphertext,
        commitment: &PedersenCommitment,
        v: u64,
        r: &SecretScalar,
        gamma: &SecretScalar,
        rng: &mut R,
    ) -> Result<LinkProof> {
        let pc = pedersen_gens()?;
        let v = SecretScalar::new(Scalar::from(v));
        if pk.encrypt_with(v.expose(), r) != *ct
            || pc.commit(*v.expose(), *gamma.expose()) != commitment.0
        {
            return Err(Error::InvalidParameter(
                "link proof witness does not match the ciphertext and commitment".into(),
            ));
        }
        let kv = SecretScalar::random(rng);
        let kr = SecretScalar::random(rng);
        let kg = SecretScalar::random(rng);
        let a1 = kr.expose() * G;
        let a2 = kv.expose() * G + kr.expose() * pk.0;
        let a3 = kv.expose() * G + kg.expose() * pc.B_blinding;
        let c =
            link_transcript(context, &pc, pk, ct, commitment, &a1, &a2, &a3).challenge_scalar(b"c");
        Ok(LinkProof {
            a1,
            a2,
            a3,
            z_v: kv.expose() + c * v.expose(),
            z_r: kr.expose() + c * r.expose(),
            z_gamma: kg.expose() + c * gamma.expose(),
        })
    }

    /// Adds the three equations `z_r·G − A₁ − c·a = 0`, `z_v·G + z_r·Y − A₂ − c·b = 0`,
    /// `z_v·G + z_γ·B̃ − A₃ − c·V = 0` to a batch.
    pub fn add_to_batch(
        &self,
        context: &[u8],
        pk: &PublicKey,
        ct: &Ciphertext,
        commitment: &PedersenCommitment,
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        let pc = pedersen_gens()?;
        let c = link_transcript(
            context, &pc, pk, ct, commitment, &self.a1, &self.a2, &self.a3,
        )
        .challenge_scalar(b"c");
        bv.count_proof();
        bv.begin_equation();
        bv.add_g(self.z_r);
        bv.add_point(-Scalar::ONE, self.a1);
        bv.add_point(-c, ct.a);
        bv.begin_equation();
        bv.add_g(self.z_v);
        bv.add_fixed(self.z_r, &pk.0);
        bv.add_point(-Scalar::ONE, self.a2);
        bv.add_point(-c, ct.b);
        bv.begin_equation();
        bv.add_g(self.z_v);
        bv.add_fixed(self.z_gamma, &pc.B_blinding);
        bv.add_point(-Scalar::ONE, self.a3);
        bv.add_point(-c, commitment.0);
        Ok(())
    }

    /// Verifies the proof alone.
    pub fn verify(
        &self,
        context: &[u8],
        pk: &PublicKey,
        ct: &Ciphertext,
        commitment: &PedersenCommitment,
    ) -> Result<()> {
        batch::verify_single("ElGamal-Pedersen link proof", |bv| {
            self.add_to_batch(context, pk, ct, commitment, bv)
        })
    }
}

/// An ElGamal ciphertext with a proof that its plaintext lies in `[0, 2^bits)`: the ciphertext, a
/// Pedersen commitment to the same value, a range proof on the commitment and the link proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RangeEncryption {
    /// `(r·G, v·G + r·Y)`
    pub ciphertext: Ciphertext,
    /// `v·G + γ·B̃`
    pub commitment: PedersenCommitment,
    /// `v ∈ [0, 2^bits)` for the commitment.
    pub range_proof: RangeProof,
    /// Ciphertext and commitment hide the same `v`.
    pub link_proof: LinkProof,
}

/// Encrypts `v` under `pk` and proves `v ∈ [0, 2^bits)`, everything bound to `context`.
///
/// Returns the bundle and the ElGamal randomness `r` (for any further proof about the ciphertext).
pub fn encrypt_with_range_proof<R: RngCore + CryptoRng>(
    pk: &PublicKey,
    v: u64,
    bits: usize,
    context: &[u8],
    rng: &mut R,
) -> Result<(RangeEncryption, SecretScalar)> {
    check_bits(bits)?;
    check_value(v, bits)?;
    let r = SecretScalar::random(rng);
    let gamma = SecretScalar::random(rng);
    let ciphertext = pk.encrypt_with(&Scalar::from(v), &r);
    let (commitment, range_proof) = RangeProof::prove(context, v, &gamma, bits, rng)?;
    let link_proof = LinkProof::prove(context, pk, &ciphertext, &commitment, v, &r, &gamma, rng)?;
    Ok((
        RangeEncryption {
            ciphertext,
            commitment,
            range_proof,
            link_proof,
        },
        r,
    ))
}

/// Verifies a [`RangeEncryption`]: the range proof for `bits` bits and the link proof.
pub fn verify_range_encryption(
    pk: &PublicKey,
    enc: &RangeEncryption,
    bits: usize,
    context: &[u8],
) -> Result<()> {
    enc.range_proof.verify(context, &enc.commitment, bits)?;
    enc.link_proof
        .verify(context, pk, &enc.ciphertext, &enc.commitment)
}

impl RangeEncryption {
    /// Same as [`verify_range_encryption`].
    pub fn verify(&self, pk: &PublicKey, bits: usize, context: &[u8]) -> Result<()> {
        verify_range_encryption(pk, self, bits, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::SecretKey;
    use proptest::prelude::*;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    #[test]
    fn pedersen_base_is_elgamal_generator() {
        assert_eq!(pedersen_gens().unwrap().B, G);
    }

    #[test]
    fn bounds_complete_for_every_size() {
        let mut rng = rng(1);
        for bits in SUPPORTED_BITS {
            let max = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            for v in [0, 1, max / 2, max] {
                let g = SecretScalar::random(&mut rng);
                let (c, p) = RangeProof::prove(b"ctx", v, &g, bits, &mut rng).unwrap();
                assert_eq!(c, PedersenCommitment::commit(v, &g).unwrap());
                assert_eq!(p.to_bytes().len(), proof_len(bits, 1));
                p.verify(b"ctx", &c, bits).unwrap();
                assert!(p.verify(b"ctx2", &c, bits).is_err());
                let other = if bits == 8 { 16 } else { 8 };
                assert!(p.verify(b"ctx", &c, other).is_err());
            }
        }
    }

    #[test]
    fn unsupported_sizes_rejected() {
        let mut rng = rng(2);
        let g = SecretScalar::random(&mut rng);
        for bits in [0usize, 1, 7, 12, 24, 63, 65, 128] {
            let e = RangeProof::prove(b"", 0, &g, bits, &mut rng).unwrap_err();
            assert!(e.to_string().contains("unsupported range size"), "{e}");
        }
    }

    #[test]
    fn out_of_range_refused_and_forgery_fails() {
        let mut rng = rng(3);
        for bits in [8usize, 16, 32] {
            let g = SecretScalar::random(&mut rng);
            let v = 1u64 << bits;
            assert!(RangeProof::prove(b"ctx", v, &g, bits, &mut rng).is_err());
            // Forge with the raw prover, bypassing our check.
            let pc = pedersen_gens().unwrap();
            let mut t = range_transcript(b"ctx", bits, 1);
            let (raw, vc) = bulletproofs::RangeProof::prove_single_with_rng(
                bulletproof_gens(),
                &pc,
                &mut t,
                v,
                g.expose(),
                bits,
                &mut rng,
            )
            .unwrap();
            let forged = RangeProof::from_raw(bits, raw);
            let c = PedersenCommitment(vc.decompress().unwrap());
            assert!(forged.verify(b"ctx", &c, bits).is_err());
        }
        // A valid proof does not transfer to the commitment of 2^bits (or of v + 1 in general).
        let g = SecretScalar::random(&mut rng);
        let (c, p) = RangeProof::prove(b"ctx", u64::MAX, &g, 64, &mut rng).unwrap();
        assert!(p.verify(b"ctx", &PedersenCommitment(c.0 + G), 64).is_err());
    }

    #[test]
    fn altered_bytes_rejected() {
        let mut rng = rng(4);
        let g = SecretScalar::random(&mut rng);
        let (c, p) = RangeProof::prove(b"ctx", 1234, &g, 16, &mut rng).unwrap();
        let bytes = p.to_bytes();
        for i in (0..bytes.len()).step_by(13) {
            let mut b = bytes.clone();
            b[i] ^= 1 << (i % 8);
            match RangeProof::from_bytes(16, &b) {
                Err(_) => {}
                Ok(q) => assert!(q.verify(b"ctx", &c, 16).is_err(), "flip at {i} accepted"),
            }
        }
        assert!(RangeProof::from_bytes(16, &bytes[..bytes.len() - 32]).is_err());
        assert!(RangeProof::from_bytes(32, &bytes).is_err());
        assert!(RangeProof::from_bytes(16, &bytes[..bytes.len() - 1]).is_err());
        for i in [0usize, 3, 7, 12] {
            let mut b = bytes.clone();
            b[i * 32..(i + 1) * 32].copy_from_slice(&[0xff; 32]);
            let e = RangeProof::from_bytes(16, &b).unwrap_err();
            assert!(e.to_string().contains("not a valid point"), "{e}");
        }
    }

    #[test]
    fn serde_roundtrip_and_reject() {
        let mut rng = rng(5);
        let g = SecretScalar::random(&mut rng);
        let (_, p) = RangeProof::prove(b"ctx", 9, &g, 8, &mut rng).unwrap();
        let js = serde_json::to_string(&p).unwrap();
        let q: RangeProof = serde_json::from_str(&js).unwrap();
        assert_eq!(p, q);
        let bad = js.replace("\"bits\":8", "\"bits\":16");
        assert!(serde_json::from_str::<RangeProof>(&bad).is_err());
        let bad = js.replacen("\"proof\":\"", "\"proof\":\"zz", 1);
        assert!(serde_json::from_str::<RangeProof>(&bad).is_err());
    }

    #[test]
    fn aggregated() {
        let mut rng = rng(6);
        for count in [1usize, 2, 3, 5, 16] {
            let values: Vec<u64> = (0..count as u64).map(|i| i * 1000 + 255).collect();
            let gs: Vec<SecretScalar> =
                (0..count).map(|_| SecretScalar::random(&mut rng)).collect();
            let (cs, p) = AggregatedRangeProof::prove(b"agg", &values, &gs, 32, &mut rng).unwrap();
            assert_eq!(cs.len(), count);
            p.verify(b"agg", &cs, 32).unwrap();
            let js = serde_json::to_string(&p).unwrap();
            let q: AggregatedRangeProof = serde_json::from_str(&js).unwrap();
            q.verify(b"agg", &cs, 32).unwrap();
            let mut bad = cs.clone();
            bad[count - 1].0 += G;
            assert!(p.verify(b"agg", &bad, 32).is_err());
            assert!(p.verify(b"agg", &cs[..count - 1], 32).is_err());
            assert!(p.verify(b"other", &cs, 32).is_err());
        }
        let gs: Vec<SecretScalar> = (0..2).map(|_| SecretScalar::random(&mut rng)).collect();
        assert!(AggregatedRangeProof::prove(b"", &[1, 256], &gs, 8, &mut rng).is_err());
        assert!(AggregatedRangeProof::prove(b"", &[], &[], 8, &mut rng).is_err());
        assert!(AggregatedRangeProof::prove(b"", &[1], &gs, 8, &mut rng).is_err());
    }

    #[test]
    fn link_proof_soundness() {
        let mut rng = rng(7);
        let sk = SecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let (enc, r) = encrypt_with_range_proof(&pk, 42, 8, b"ctx", &mut rng).unwrap();
        enc.verify(&pk, 8, b"ctx").unwrap();
        assert!(enc.verify(&pk, 8, b"ctx2").is_err());
        assert!(enc.verify(&pk, 16, b"ctx").is_err());
        let other = SecretKey::generate(&mut rng).public_key();
        assert!(enc.verify(&other, 8, b"ctx").is_err());
        // mismatched v: the prover refuses ...
        let gamma = SecretScalar::random(&mut rng);
        let c43 = PedersenCommitment::commit(43, &gamma).unwrap();
        assert!(
            LinkProof::prove(b"ctx", &pk, &enc.ciphertext, &c43, 42, &r, &gamma, &mut rng).is_err()
        );
        // ... and a proof for 42 does not verify against a commitment to 43 or a ciphertext of 43.
        assert!(enc
            .link_proof
            .verify(b"ctx", &pk, &enc.ciphertext, &c43)
            .is_err());
        let (ct43, _) = pk.encrypt(43, &mut rng);
        assert!(enc
            .link_proof
            .verify(b"ctx", &pk, &ct43, &enc.commitment)
            .is_err());
        for i in 0..6 {
            let mut p = enc.link_proof;
            match i {
                0 => p.a1 += G,
                1 => p.a2 += G,
                2 => p.a3 += G,
                3 => p.z_v += Scalar::ONE,
                4 => p.z_r += Scalar::ONE,
                _ => p.z_gamma += Scalar::ONE,
            }
            assert!(p
                .verify(b"ctx", &pk, &enc.ciphertext, &enc.commitment)
                .is_err());
        }
        // decrypts to v
        let table = crate::elgamal::DlogTable::new(256).unwrap();
        assert_eq!(sk.decrypt_vartime(&enc.ciphertext, &table).unwrap(), 42);
        // out-of-range value refused
        assert!(encrypt_with_range_proof(&pk, 256, 8, b"ctx", &mut rng).is_err());
    }

    #[test]
    fn link_proofs_batch() {
        let mut rng = rng(8);
        let pk = SecretKey::generate(&mut rng).public_key();
        let encs: Vec<_> = (0..4)
            .map(|v| {
                encrypt_with_range_proof(&pk, v, 8, b"b", &mut rng)
                    .unwrap()
                    .0
            })
            .collect();
        let mut bv = BatchVerifier::new().unwrap();
        for e in &encs {
            e.link_proof
                .add_to_batch(b"b", &pk, &e.ciphertext, &e.commitment, &mut bv)
                .unwrap();
        }
        bv.verify().unwrap();
        let mut bv = BatchVerifier::new().unwrap();
        for (i, e) in encs.iter().enumerate() {
            let ct = if i == 2 {
                encs[1].ciphertext
            } else {
                e.ciphertext
            };
            e.link_proof
                .add_to_batch(b"b", &pk, &ct, &e.commitment, &mut bv)
                .unwrap();
        }
        assert!(bv.verify().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn prop_range_encryption(v in any::<u16>(), seed in any::<u64>()) {
            let mut rng = rng(seed);
            let pk = SecretKey::generate(&mut rng).public_key();
            let (enc, _) = encrypt_with_range_proof(&pk, u64::from(v), 16, b"p", &mut rng).unwrap();
            prop_assert!(enc.verify(&pk, 16, b"p").is_ok());
            let js = serde_json::to_string(&enc).unwrap();
            let back: RangeEncryption = serde_json::from_str(&js).unwrap();
            prop_assert_eq!(&back, &enc);
            prop_assert!(back.verify(&pk, 16, b"p").is_ok());
        }

        #[test]
        fn prop_out_of_range_refused(extra in 0u64..1_000_000, seed in any::<u64>()) {
            let mut rng = rng(seed);
            let g = SecretScalar::random(&mut rng);
            prop_assert!(RangeProof::prove(b"", (1 << 16) + extra, &g, 16, &mut rng).is_err());
        }
    }
}
