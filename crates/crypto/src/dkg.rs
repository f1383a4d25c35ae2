//! Distributed key generation: t-of-n, Pedersen's protocol with Feldman commitments and complaints.
//!
//! Implements the joint-Feldman DKG of Pedersen, "A threshold cryptosystem without a trusted
//! party", EUROCRYPT 1991, §3, with every message posted on a public broadcast channel (the ledger)
//! because trustees have no private channels. Gennaro, Jarecki, Krawczyk and Rabin ("Secure
//! distributed key generation for discrete-log based cryptosystems", J. Cryptology 2007) show that
//! an adversary can bias the distribution of the joint key produced by this protocol; Gennaro,
//! Jarecki, Krawczyk and Rabin, "Secure applications of Pedersen's distributed key generation
//! protocol", CT-RSA 2003, prove that ElGamal-style encryption and threshold decryption under
//! such a key remain secure, which is the only use Tabella makes of it (DESIGN.md, "Cryptography").
//!
//! # Protocol
//!
//! Trustees are indexed `1..=n` ([`TrusteeIndex`]); each has a long-term Ristretto255 key pair
//! `(sk_j, PK_j = sk_j·G)` registered beforehand. With threshold `t`:
//!
//! 1. **Deal** ([`Round1::deal`]). Dealer `i` draws `f_i(z) = a_{i,0} + … + a_{i,t−1} z^{t−1}`,
//!    publishes Feldman commitments `C_{i,k} = a_{i,k}·G`, a Schnorr proof of knowledge of `a_{i,0}`
//!    (rules out rogue-key attacks on the joint key; its context binds the whole dealing, so nobody
//!    but the dealer can alter the encrypted shares), and for every `j` the share `f_i(j)`
//!    encrypted by hashed ElGamal: `E = e·G`, `ct = f_i(j) ⊕ H(ctx, i, j, E, PK_j, e·PK_j)`,
//!    with a Schnorr proof of knowledge of `e` bound to `(ctx, i, j, ct)`. That proof is what makes
//!    complaints safe: a complaint reveals `sk_j·E`, which only opens shares encrypted under `E`;
//!    since only the dealer who drew `e` can use `E`, a complaint opens nothing but the accused
//!    dealer's own share (a dealer copying an honest dealer's `E` would otherwise turn the
//!    victim's complaint into a decryption of the honest share — docs/SECURITY.md, finding 2).
//!    Ephemeral keys must be distinct across the ceremony.
//! 2. **Check and complain** ([`Round2::receive`]). Trustee `j` decrypts `s_{i,j}` with
//!    `K = sk_j·E` and checks `s_{i,j}·G = Σ_k j^k C_{i,k}`. If the check fails it publishes a
//!    [`Complaint`] revealing `K` with a DLEQ proof that `log_G PK_j = log_E K`, so *anyone* can
//!    decrypt the disputed share and confirm it is bad. No answer from the dealer is needed: the
//!    complaint is conclusive either way.
//! 3. **Resolve** ([`Round3::resolve`], [`DkgTranscript::recompute`]). A dealer is disqualified if
//!    its dealing is missing, duplicated or malformed (wrong sizes, identity ephemeral key, invalid
//!    proof of knowledge), or if a valid complaint shows a bad share. QUAL is everyone else and
//!    must contain at least `t` dealers (so at least one honest dealer when at most `t − 1` are
//!    corrupt). The joint key is `Y = Σ_{i∈QUAL} C_{i,0}`, trustee `j`'s secret share is
//!    `x_j = Σ_{i∈QUAL} s_{i,j}` and its public verification share is
//!    `X_j = Σ_{i∈QUAL} Σ_k j^k C_{i,k} = x_j·G`.
//!
//! **False complaints** (invalid DLEQ proof, or a share that decrypts and checks fine) are
//! *ignored*: they are listed in [`DkgOutcome::dismissed_complaints`] so an auditor sees them, but
//! the complainer is not disqualified. Disqualifying it would only drop its own dealing, which a
//! corrupt trustee can already do by dealing badly, and would let one mistaken trustee shrink QUAL.
//!
//! Everything here is pure: no I/O, randomness is passed in, and the public outcome is a function of
//! the public record alone ([`recompute_outcome`]), so an auditor re-derives the joint key and every
//! verification share from the ledger.
//!
//! # Example
//!
//! A 2-of-3 ceremony, every message passing through the (here simulated) ledger:
//!
//! ```
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//! use tabella_crypto::dkg::{DkgParams, DkgTranscript, Round1};
//! use tabella_crypto::elgamal::PublicKey;
//! use tabella_crypto::group::{SecretScalar, G};
//!
//! # fn main() -> tabella_crypto::Result<()> {
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let params = DkgParams::new(3, 2, b"election-2026")?;
//! let secrets: Vec<SecretScalar> = (0..3).map(|_| SecretScalar::random(&mut rng)).collect();
//! let publics: Vec<PublicKey> = secrets.iter().map(|s| PublicKey(s.expose() * G)).collect();
//!
//! let mut round2 = Vec::new();
//! let mut dealings = Vec::new();
//! for (i, sk) in params.indices().zip(&secrets) {
//!     let (next, dealing) = Round1::new(params.clone(), i, sk.clone(), publics.clone())?.deal(&mut rng);
//!     round2.push(next);
//!     dealings.push(dealing); // posted on the ledger
//! }
//! let mut round3 = Vec::new();
//! let mut complaints = Vec::new();
//! for r in round2 {
//!     let (next, mut mine) = r.receive(&dealings, &mut rng)?;
//!     round3.push(next);
//!     complaints.append(&mut mine); // posted on the ledger (none here: everyone is honest)
//! }
//! let mut key_shares = Vec::new();
//! for r in round3 {
//!     let (share, outcome) = r.resolve(&complaints)?;
//!     key_shares.push(share);
//!     // An auditor derives the same outcome from the public record alone.
//!     let record = DkgTranscript { params: params.clone(), longterm_publics: publics.clone(),
//!                                  dealings: dealings.clone(), complaints: complaints.clone() };
//!     assert_eq!(record.recompute()?, outcome);
//! }
//! # Ok(())
//! # }
//! ```

use core::fmt;
use std::collections::BTreeMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

use crate::dleq::{DleqProof, DleqStatement};
use crate::elgamal::PublicKey;
use crate::error::{Error, Result};
use crate::group::{SecretScalar, G};
use crate::schnorr::SchnorrProof;

/// Largest number of trustees accepted (dealings grow as `n`, the ceremony as `n²`).
pub const MAX_TRUSTEES: u16 = 1024;

pub use crate::shamir::TrusteeIndex;

/// The parameters every participant and auditor must agree on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DkgParams {
    /// Number of trustees `n`.
    pub n: u16,
    /// Threshold `t`: any `t` trustees can decrypt, `t − 1` learn nothing.
    pub t: u16,
    /// Ceremony context (e.g. the election id), bound into every proof and share encryption.
    #[schema(value_type = crate::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub context: Vec<u8>,
}

impl DkgParams {
    /// Checks `1 <= t <= n <= MAX_TRUSTEES`.
    pub fn new(n: u16, t: u16, context: &[u8]) -> Result<Self> {
        let p = DkgParams {
            n,
            t,
            context: context.to_vec(),
        };
        p.validate()?;
        Ok(p)
    }

    /// Re-checks parameters (e.g. after deserializing).
    pub fn validate(&self) -> Result<()> {
        if self.t == 0 || self.t > self.n || self.n > MAX_TRUSTEES {
            return Err(Error::InvalidParameter(format!(
                "DKG needs 1 <= t <= n <= {MAX_TRUSTEES}, got t = {}, n = {}",
                self.t, self.n
            )));
        }
        Ok(())
    }

    /// All trustee indices `1..=n`.
    pub fn indices(&self) -> impl Iterator<Item = TrusteeIndex> {
        (1..=self.n).filter_map(|i| TrusteeIndex::new(i).ok())
    }

    fn contains(&self, i: TrusteeIndex) -> bool {
        i.get() <= self.n
    }

    fn check_publics(&self, publics: &[PublicKey]) -> Result<()> {
        self.validate()?;
        if publics.len() != usize::from(self.n) {
            return Err(Error::InvalidParameter(format!(
                "expected {} long-term public keys, got {}",
                self.n,
                publics.len()
            )));
        }
        Ok(())
    }
}

/// One share `f_i(j)` encrypted to trustee `j`'s long-term key by hashed ElGamal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EncryptedShare {
    /// The recipient `j`.
    pub recipient: TrusteeIndex,
    /// Ephemeral key `E = e·G`.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub ephemeral: RistrettoPoint,
    /// `f_i(j)` (32 canonical bytes) XOR the key stream derived from `e·PK_j`.
    #[schema(value_type = crate::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub ciphertext: [u8; 32],
    /// Schnorr proof of knowledge of `e` (`E = e·G`), its context binding the ceremony, the
    /// dealer, the recipient and the ciphertext ([`share_proof_context`]). Without it a dealer
    /// could copy another dealer's `E` and provoke a complaint that reveals `sk_j·E`, i.e. the
    /// pad of the *other* dealer's share (issue 10, finding 2; docs/SECURITY.md).
    pub ephemeral_proof: SchnorrProof,
}

/// Round 1 broadcast of dealer `i`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dealing {
    /// The dealer `i`.
    pub dealer: TrusteeIndex,
    /// Feldman commitments `C_{i,0} … C_{i,t−1}`.
    #[schema(value_type = Vec<crate::api_schema::PointHex>)]
    #[serde(with = "crate::encoding::point_vec_hex")]
    pub commitments: Vec<RistrettoPoint>,
    /// Schnorr proof of knowledge of `a_{i,0}`, its context binding the whole dealing.
    pub proof_of_secret: SchnorrProof,
    /// One encrypted share per trustee `1..=n`, in order.
    pub shares: Vec<EncryptedShare>,
}

/// Round 2 broadcast: trustee `j` proves that dealer `i` sent it a bad share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Complaint {
    /// The complaining trustee `j`.
    pub complainer: TrusteeIndex,
    /// The accused dealer `i`.
    pub dealer: TrusteeIndex,
    /// The Diffie–Hellman value `K = sk_j·E` that decrypts the disputed share.
    #[schema(value_type = crate::api_schema::PointHex)]
    #[serde(with = "crate::encoding::point_hex")]
    pub shared_key: RistrettoPoint,
    /// DLEQ proof of `log_G PK_j = log_E K`.
    pub proof: DleqProof,
}

/// A dealer excluded from QUAL, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Disqualification {
    /// The excluded dealer.
    pub dealer: TrusteeIndex,
    /// Why (for the audit report).
    pub reason: String,
}

/// A complaint that had no effect, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DismissedComplaint {
    /// Who complained.
    pub complainer: TrusteeIndex,
    /// Against whom.
    pub dealer: TrusteeIndex,
    /// Why it was dismissed.
    pub reason: String,
}

/// The public result of a DKG: the joint key and every trustee's verification share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JointKey {
    /// Number of trustees `n`.
    pub n: u16,
    /// Threshold `t`.
    pub t: u16,
    /// QUAL, ascending.
    pub qualified: Vec<TrusteeIndex>,
    /// The joint ElGamal key `Y = Σ_{i∈QUAL} C_{i,0}`.
    pub public_key: PublicKey,
    /// `X_1 … X_n`, `X_j = x_j·G`.
    #[schema(value_type = Vec<crate::api_schema::PointHex>)]
    #[serde(with = "crate::encoding::point_vec_hex")]
    pub verification_shares: Vec<RistrettoPoint>,
}

impl JointKey {
    /// Trustee `j`'s verification share `X_j`.
    pub fn verification_share(&self, j: TrusteeIndex) -> Result<RistrettoPoint> {
        self.verification_shares
            .get(j.position())
            .copied()
            .ok_or_else(|| Error::Protocol(format!("{j} is not one of the {} trustees", self.n)))
    }

    /// Checks internal consistency after deserializing: sizes, `1 <= t <= n`, and that the
    /// verification shares interpolate to the public key (all `X_j` lie on one degree `< t` curve
    /// whose value at 0 is `Y`).
    pub fn validate(&self) -> Result<()> {
        DkgParams {
            n: self.n,
            t: self.t,
            context: Vec::new(),
        }
        .validate()?;
        if self.verification_shares.len() != usize::from(self.n) {
            return Err(Error::malformed(
                "joint key",
                format!(
                    "{} verification shares for {} trustees",
                    self.verification_shares.len(),
                    self.n
                ),
            ));
        }
        // Interpolating Y from every t-window of consecutive indices checks that all X_j are consistent.
        let t = usize::from(self.t);
        for start in 0..=(usize::from(self.n) - t) {
            let idx = (start..start + t)
                .map(TrusteeIndex::from_position)
                .collect::<Result<Vec<_>>>()?;
            let lambdas = crate::shamir::lagrange_at_zero(&idx)?;
            let y = RistrettoPoint::vartime_multiscalar_mul(
                &lambdas,
                &self.verification_shares[start..start + t],
            );
            if y != self.public_key.0 {
                return Err(Error::malformed(
                    "joint key",
                    "verification shares do not interpolate to the public key",
                ));
            }
        }
        Ok(())
    }
}

/// The full public outcome of the ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DkgOutcome {
    /// Joint key and verification shares.
    pub joint_key: JointKey,
    /// Dealers excluded from QUAL.
    pub disqualified: Vec<Disqualification>,
    /// Complaints that had no effect.
    pub dismissed_complaints: Vec<DismissedComplaint>,
}

/// The public record of a ceremony, as posted on the ledger; [`DkgTranscript::recompute`] is the
/// auditor's check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DkgTranscript {
    /// Parameters.
    pub params: DkgParams,
    /// Long-term public keys `PK_1 … PK_n`.
    pub longterm_publics: Vec<PublicKey>,
    /// Every dealing posted.
    pub dealings: Vec<Dealing>,
    /// Every complaint posted.
    pub complaints: Vec<Complaint>,
}

impl DkgTranscript {
    /// Recomputes QUAL, the joint key and the verification shares from the record.
    pub fn recompute(&self) -> Result<DkgOutcome> {
        recompute_outcome(
            &self.params,
            &self.longterm_publics,
            &self.dealings,
            &self.complaints,
        )
    }
}

/// A trustee's secret share `x_j` of the joint key. Zeroized on drop; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyShare {
    index: TrusteeIndex,
    secret: SecretScalar,
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl KeyShare {
    /// Reassembles a share from sealed storage.
    pub fn from_parts(index: TrusteeIndex, secret: SecretScalar) -> Self {
        KeyShare { index, secret }
    }
    /// The trustee's index `j`.
    pub fn index(&self) -> TrusteeIndex {
        self.index
    }
    /// The secret share `x_j`.
    pub fn secret(&self) -> &SecretScalar {
        &self.secret
    }
    /// `X_j = x_j·G`.
    pub fn verification_share(&self) -> RistrettoPoint {
        self.secret.expose() * G
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings shared by dealing, complaint and audit.

fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The context of dealer `i`'s proof of knowledge: parameters, dealer, every commitment and every
/// encrypted share, so the proof authenticates the dealing as a whole.
fn dealing_context(
    params: &DkgParams,
    dealer: TrusteeIndex,
    commitments: &[RistrettoPoint],
    shares: &[EncryptedShare],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 32 * commitments.len() + 66 * shares.len());
    push_len_prefixed(&mut out, b"tabella/dkg/dealing/v1");
    push_len_prefixed(&mut out, &params.context);
    out.extend_from_slice(&params.n.to_le_bytes());
    out.extend_from_slice(&params.t.to_le_bytes());
    out.extend_from_slice(&dealer.get().to_le_bytes());
    out.extend_from_slice(&(commitments.len() as u64).to_le_bytes());
    for c in commitments {
        out.extend_from_slice(c.compress().as_bytes());
    }
    out.extend_from_slice(&(shares.len() as u64).to_le_bytes());
    for s in shares {
        out.extend_from_slice(&s.recipient.get().to_le_bytes());
        out.extend_from_slice(s.ephemeral.compress().as_bytes());
        out.extend_from_slice(&s.ciphertext);
    }
    out
}

/// The context of the proof of knowledge of an encrypted share's ephemeral secret `e`:
/// `lp("tabella/dkg/share-ephemeral/v1") || lp(dkg_ctx) || u16le(i) || u16le(j) || ciphertext`.
fn share_proof_context(
    params: &DkgParams,
    dealer: TrusteeIndex,
    recipient: TrusteeIndex,
    ciphertext: &[u8; 32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + params.context.len());
    push_len_prefixed(&mut out, b"tabella/dkg/share-ephemeral/v1");
    push_len_prefixed(&mut out, &params.context);
    out.extend_from_slice(&dealer.get().to_le_bytes());
    out.extend_from_slice(&recipient.get().to_le_bytes());
    out.extend_from_slice(ciphertext);
    out
}

fn complaint_context(
    params: &DkgParams,
    dealer: TrusteeIndex,
    complainer: TrusteeIndex,
) -> Vec<u8> {
    let mut out = Vec::new();
    push_len_prefixed(&mut out, b"tabella/dkg/complaint/v1");
    push_len_prefixed(&mut out, &params.context);
    out.extend_from_slice(&dealer.get().to_le_bytes());
    out.extend_from_slice(&complainer.get().to_le_bytes());
    out
}

/// The hashed-ElGamal key stream `H(ctx, i, j, E, PK_j, K)`, domain-separated and bound to the
/// dealer and recipient so a share cannot be moved to another slot.
fn share_pad(
    params: &DkgParams,
    dealer: TrusteeIndex,
    recipient: TrusteeIndex,
    ephemeral: &RistrettoPoint,
    recipient_pk: &RistrettoPoint,
    shared: &RistrettoPoint,
) -> [u8; 32] {
    let mut h = Sha512::new();
    for part in [
        b"tabella/dkg/share-pad/v1".as_slice(),
        &params.context,
        &dealer.get().to_le_bytes(),
        &recipient.get().to_le_bytes(),
        ephemeral.compress().as_bytes(),
        recipient_pk.compress().as_bytes(),
        shared.compress().as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let mut full: [u8; 64] = h.finalize().into();
    let mut pad = [0u8; 32];
    pad.copy_from_slice(&full[..32]);
    full.zeroize();
    pad
}

/// `s·G` with the precomputed basepoint table.
fn g_mul(s: &Scalar) -> RistrettoPoint {
    s * curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

/// Decrypts the share in `enc` with the shared key `K`; `None` if the plaintext is not a canonical
/// scalar (which counts as a bad share).
fn open_share(
    params: &DkgParams,
    dealer: TrusteeIndex,
    enc: &EncryptedShare,
    recipient_pk: &RistrettoPoint,
    shared: &RistrettoPoint,
) -> Option<SecretScalar> {
    let mut pad = share_pad(
        params,
        dealer,
        enc.recipient,
        &enc.ephemeral,
        recipient_pk,
        shared,
    );
    let mut plain = xor32(&enc.ciphertext, &pad);
    pad.zeroize();
    let s = SecretScalar::from_bytes(&plain).ok();
    plain.zeroize();
    s
}

/// `Σ_k j^k C_k` (variable time: public data only).
fn eval_commitments(commitments: &[RistrettoPoint], j: TrusteeIndex) -> RistrettoPoint {
    let x = j.scalar();
    let mut powers = Vec::with_capacity(commitments.len());
    let mut p = Scalar::ONE;
    for _ in commitments {
        powers.push(p);
        p *= x;
    }
    RistrettoPoint::vartime_multiscalar_mul(&powers, commitments)
}

fn share_is_valid(
    commitments: &[RistrettoPoint],
    j: TrusteeIndex,
    share: Option<&SecretScalar>,
) -> bool {
    match share {
        Some(s) => g_mul(s.expose()) == eval_commitments(commitments, j),
        None => false,
    }
}

/// Checks everything about a dealing that needs no secret key. Returns the reason on failure.
pub fn check_dealing(params: &DkgParams, dealing: &Dealing) -> core::result::Result<(), String> {
    if dealing.commitments.len() != usize::from(params.t) {
        return Err(format!(
            "{} commitments, expected t = {}",
            dealing.commitments.len(),
            params.t
        ));
    }
    if dealing.shares.len() != usize::from(params.n) {
        return Err(format!(
            "{} encrypted shares, expected n = {}",
            dealing.shares.len(),
            params.n
        ));
    }
    for (pos, s) in dealing.shares.iter().enumerate() {
        if s.recipient.position() != pos {
            return Err(format!(
                "encrypted share {} is addressed to {}",
                pos + 1,
                s.recipient
            ));
        }
        if s.ephemeral.is_identity() {
            return Err(format!("identity ephemeral key for {}", s.recipient));
        }
        if dealing.shares[..pos]
            .iter()
            .any(|earlier| earlier.ephemeral == s.ephemeral)
        {
            return Err(format!("repeated ephemeral key for {}", s.recipient));
        }
        s.ephemeral_proof
            .verify(
                &share_proof_context(params, dealing.dealer, s.recipient, &s.ciphertext),
                &G,
                &s.ephemeral,
            )
            .map_err(|_| {
                format!(
                    "invalid proof of knowledge of the ephemeral key for {}",
                    s.recipient
                )
            })?;
    }
    let ctx = dealing_context(
        params,
        dealing.dealer,
        &dealing.commitments,
        &dealing.shares,
    );
    dealing
        .proof_of_secret
        .verify(&ctx, &G, &dealing.commitments[0])
        .map_err(|_| "invalid proof of knowledge of the secret".to_string())
}

/// Checks a complaint against a well-formed dealing. `Ok(())` means the complaint is valid (the
/// dealer cheated); `Err(reason)` means it is dismissed.
fn check_complaint(
    params: &DkgParams,
    publics: &[PublicKey],
    dealing: &Dealing,
    complaint: &Complaint,
) -> core::result::Result<(), String> {
    let pk = publics
        .get(complaint.complainer.position())
        .ok_or_else(|| format!("{} is not a trustee", complaint.complainer))?;
    let enc = dealing
        .shares
        .get(complaint.complainer.position())
        .ok_or_else(|| "the dealing has no share for the complainer".to_string())?;
    let st = DleqStatement {
        b1: G,
        x1: pk.0,
        b2: enc.ephemeral,
        x2: complaint.shared_key,
    };
    complaint
        .proof
        .verify(
            &complaint_context(params, complaint.dealer, complaint.complainer),
            &st,
        )
        .map_err(|_| "invalid DLEQ proof for the revealed key".to_string())?;
    let share = open_share(params, complaint.dealer, enc, &pk.0, &complaint.shared_key);
    if share_is_valid(&dealing.commitments, complaint.complainer, share.as_ref()) {
        Err("the revealed share is consistent with the commitments".to_string())
    } else {
        Ok(())
    }
}

/// Recomputes the public outcome of a ceremony from its record: who is disqualified and why, QUAL,
/// the joint key `Y` and every verification share `X_j`. Every participant and every auditor gets
/// the same answer from the same record.
///
/// Fails if the parameters or key list are inconsistent, a message names a trustee outside `1..=n`,
/// or fewer than `t` dealers qualify.
pub fn recompute_outcome(
    params: &DkgParams,
    longterm_publics: &[PublicKey],
    dealings: &[Dealing],
    complaints: &[Complaint],
) -> Result<DkgOutcome> {
    params.check_publics(longterm_publics)?;
    let mut by_dealer: BTreeMap<TrusteeIndex, Vec<&Dealing>> = BTreeMap::new();
    for d in dealings {
        if !params.contains(d.dealer) {
            return Err(Error::Protocol(format!(
                "dealing from {}, but there are only {} trustees",
                d.dealer, params.n
            )));
        }
        by_dealer.entry(d.dealer).or_default().push(d);
    }
    let mut disqualified: BTreeMap<TrusteeIndex, String> = BTreeMap::new();
    let mut accepted: BTreeMap<TrusteeIndex, &Dealing> = BTreeMap::new();
    // Ephemeral keys of the dealings accepted so far: a key that appears in two dealings means
    // both dealers know its secret; the later dealer (in index order) is disqualified.
    let mut ephemerals: BTreeMap<[u8; 32], TrusteeIndex> = BTreeMap::new();
    for i in params.indices() {
        match by_dealer.get(&i).map(Vec::as_slice) {
            None | Some([]) => {
                disqualified.insert(i, "no dealing".into());
            }
            Some([d]) => match check_dealing(params, d) {
                Ok(()) => {
                    let keys: Vec<[u8; 32]> = d
                        .shares
                        .iter()
                        .map(|s| s.ephemeral.compress().to_bytes())
                        .collect();
                    if let Some(other) = keys.iter().find_map(|k| ephemerals.get(k)) {
                        disqualified.insert(
                            i,
                            format!("malformed dealing: ephemeral key already used by {other}"),
                        );
                        continue;
                    }
                    ephemerals.extend(keys.into_iter().map(|k| (k, i)));
                    accepted.insert(i, d);
                }
                Err(why) => {
                    disqualified.insert(i, format!("malformed dealing: {why}"));
                }
            },
            Some(ds) => {
                disqualified.insert(i, format!("{} dealings posted", ds.len()));
            }
        }
    }
    let mut dismissed = Vec::new();
    for c in complaints {
        if !params.contains(c.complainer) || !params.contains(c.dealer) {
            return Err(Error::Protocol(format!(
                "complaint by {} against {}, but there are only {} trustees",
                c.complainer, c.dealer, params.n
            )));
        }
        let dismiss = |reason: String| DismissedComplaint {
            complainer: c.complainer,
            dealer: c.dealer,
            reason,
        };
        let Some(dealing) = accepted.get(&c.dealer) else {
            dismissed.push(dismiss("the dealer is already disqualified".into()));
            continue;
        };
        match check_complaint(params, longterm_publics, dealing, c) {
            Ok(()) => {
                disqualified
                    .entry(c.dealer)
                    .or_insert_with(|| format!("valid complaint by {}: bad share", c.complainer));
            }
            Err(why) => dismissed.push(dismiss(why)),
        }
    }
    let qual: Vec<TrusteeIndex> = params
        .indices()
        .filter(|i| !disqualified.contains_key(i))
        .collect();
    if qual.len() < usize::from(params.t) {
        return Err(Error::Protocol(format!(
            "only {} dealers qualified, the threshold is {}; the ceremony must be rerun",
            qual.len(),
            params.t
        )));
    }
    // A_k = Σ_{i∈QUAL} C_{i,k}; then Y = A_0 and X_j = Σ_k j^k A_k.
    let mut aggregate = vec![RistrettoPoint::identity(); usize::from(params.t)];
    for i in &qual {
        if let Some(d) = accepted.get(i) {
            for (a, c) in aggregate.iter_mut().zip(&d.commitments) {
                *a += c;
            }
        }
    }
    let verification_shares = params
        .indices()
        .map(|j| eval_commitments(&aggregate, j))
        .collect();
    Ok(DkgOutcome {
        joint_key: JointKey {
            n: params.n,
            t: params.t,
            qualified: qual,
            public_key: PublicKey(aggregate[0]),
            verification_shares,
        },
        disqualified: disqualified
            .into_iter()
            .map(|(dealer, reason)| Disqualification { dealer, reason })
            .collect(),
        dismissed_complaints: dismissed,
    })
}

// ---------------------------------------------------------------------------------------------
// The participant's state machine.

/// Shared state of a participant across rounds.
struct Participant {
    params: DkgParams,
    me: TrusteeIndex,
    longterm_secret: SecretScalar,
    longterm_publics: Vec<PublicKey>,
}

/// Before dealing. Created by [`Round1::new`].
pub struct Round1 {
    p: Participant,
}

/// Dealt; waiting for every dealing.
pub struct Round2 {
    p: Participant,
}

/// Shares checked, complaints posted; waiting for every complaint.
pub struct Round3 {
    p: Participant,
    dealings: Vec<Dealing>,
    my_shares: BTreeMap<TrusteeIndex, SecretScalar>,
}

macro_rules! redacted_debug {
    ($t:ty, $name:literal) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct($name)
                    .field("me", &self.p.me)
                    .field("params", &self.p.params)
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(Round1, "dkg::Round1");
redacted_debug!(Round2, "dkg::Round2");
redacted_debug!(Round3, "dkg::Round3");

impl Round1 {
    /// Starts the ceremony for trustee `me`, with its long-term secret key and everyone's long-term
    /// public keys (`longterm_publics[j − 1] = PK_j`).
    pub fn new(
        params: DkgParams,
        me: TrusteeIndex,
        longterm_secret: SecretScalar,
        longterm_publics: Vec<PublicKey>,
    ) -> Result<Round1> {
        params.check_publics(&longterm_publics)?;
        if !params.contains(me) {
            return Err(Error::InvalidParameter(format!(
                "{me} is outside 1..={}",
                params.n
            )));
        }
        if longterm_publics[me.position()].0 != longterm_secret.expose() * G {
            return Err(Error::InvalidParameter(format!(
                "the long-term secret does not match the registered public key of {me}"
            )));
        }
        Ok(Round1 {
            p: Participant {
                params,
                me,
                longterm_secret,
                longterm_publics,
            },
        })
    }

    /// Deals: draws the polynomial, commits to it, encrypts a share to every trustee (including
    /// this one) and proves knowledge of the secret. Broadcast the returned [`Dealing`].
    pub fn deal<R: RngCore + CryptoRng>(self, rng: &mut R) -> (Round2, Dealing) {
        self.deal_inner(rng, None)
    }

    /// `corrupt_for`: test hook making a dealer that sends a wrong share to one trustee.
    pub(crate) fn deal_inner<R: RngCore + CryptoRng>(
        self,
        rng: &mut R,
        corrupt_for: Option<TrusteeIndex>,
    ) -> (Round2, Dealing) {
        let params = &self.p.params;
        let coefficients: Vec<SecretScalar> =
            (0..params.t).map(|_| SecretScalar::random(rng)).collect();
        let commitments: Vec<RistrettoPoint> =
            coefficients.iter().map(|a| g_mul(a.expose())).collect();
        let mut shares = Vec::with_capacity(usize::from(params.n));
        for (j, pk) in params.indices().zip(&self.p.longterm_publics) {
            let mut s = evaluate(&coefficients, j);
            if corrupt_for == Some(j) {
                s = SecretScalar::new(s.expose() + Scalar::ONE);
            }
            let e = SecretScalar::random(rng);
            let ephemeral = g_mul(e.expose());
            let shared = e.expose() * pk.0;
            let mut pad = share_pad(params, self.p.me, j, &ephemeral, &pk.0, &shared);
            let mut plain = s.to_bytes();
            let ciphertext = xor32(&plain, &pad);
            pad.zeroize();
            plain.zeroize();
            let ephemeral_proof = SchnorrProof::prove(
                &share_proof_context(params, self.p.me, j, &ciphertext),
                &G,
                &e,
                rng,
            );
            shares.push(EncryptedShare {
                recipient: j,
                ephemeral,
                ciphertext,
                ephemeral_proof,
            });
        }
        let ctx = dealing_context(params, self.p.me, &commitments, &shares);
        let proof_of_secret = SchnorrProof::prove(&ctx, &G, &coefficients[0], rng);
        let dealing = Dealing {
            dealer: self.p.me,
            commitments,
            proof_of_secret,
            shares,
        };
        (Round2 { p: self.p }, dealing)
    }
}

/// `f(j)` by Horner's rule.
fn evaluate(coefficients: &[SecretScalar], j: TrusteeIndex) -> SecretScalar {
    let x = j.scalar();
    let mut acc = Scalar::ZERO;
    for a in coefficients.iter().rev() {
        acc = acc * x + a.expose();
    }
    let s = SecretScalar::new(acc);
    acc.zeroize();
    s
}

impl Round2 {
    /// Processes every dealing on the record (including this trustee's own): decrypts and checks
    /// this trustee's share from each well-formed dealing, and returns a [`Complaint`] for every
    /// bad one. Broadcast the complaints (possibly none).
    pub fn receive<R: RngCore + CryptoRng>(
        self,
        dealings: &[Dealing],
        rng: &mut R,
    ) -> Result<(Round3, Vec<Complaint>)> {
        let params = &self.p.params;
        let me = self.p.me;
        let my_pk = self.p.longterm_publics[me.position()].0;
        // Only well-formed dealings can count: the audit's rule without complaints. With fewer
        // than t of them no key can come out of the ceremony, so fail now.
        let qual = recompute_outcome(params, &self.p.longterm_publics, dealings, &[])?
            .joint_key
            .qualified;
        let mut my_shares = BTreeMap::new();
        let mut complaints = Vec::new();
        for d in dealings.iter().filter(|d| qual.contains(&d.dealer)) {
            let Some(enc) = d.shares.get(me.position()) else {
                continue; // unreachable: well-formed dealings have n shares
            };
            let shared = self.p.longterm_secret.expose() * enc.ephemeral;
            let share = open_share(params, d.dealer, enc, &my_pk, &shared);
            if share_is_valid(&d.commitments, me, share.as_ref()) {
                if let Some(s) = share {
                    my_shares.insert(d.dealer, s);
                }
            } else {
                let (_, proof) = DleqProof::prove(
                    &complaint_context(params, d.dealer, me),
                    &G,
                    &enc.ephemeral,
                    &self.p.longterm_secret,
                    rng,
                );
                complaints.push(Complaint {
                    complainer: me,
                    dealer: d.dealer,
                    shared_key: shared,
                    proof,
                });
            }
        }
        Ok((
            Round3 {
                p: self.p,
                dealings: dealings.to_vec(),
                my_shares,
            },
            complaints,
        ))
    }
}

impl Round3 {
    /// Resolves the ceremony with every complaint on the record (including this trustee's own):
    /// computes the public outcome and this trustee's key share `x_j`.
    ///
    /// Fails if fewer than `t` dealers qualify, or if a dealer this trustee complained about still
    /// qualifies (its complaint is missing from `complaints`).
    pub fn resolve(self, complaints: &[Complaint]) -> Result<(KeyShare, DkgOutcome)> {
        let outcome = recompute_outcome(
            &self.p.params,
            &self.p.longterm_publics,
            &self.dealings,
            complaints,
        )?;
        let mut x = Scalar::ZERO;
        for i in &outcome.joint_key.qualified {
            let s = self.my_shares.get(i).ok_or_else(|| {
                Error::Protocol(format!(
                    "{i} qualified but its share to {} was bad; post the complaint and resolve again",
                    self.p.me
                ))
            })?;
            x += s.expose();
        }
        let share = KeyShare::from_parts(self.p.me, SecretScalar::new(x));
        x.zeroize();
        if outcome.joint_key.verification_share(self.p.me)? != share.verification_share() {
            return Err(Error::Protocol(
                "key share does not match its verification share".into(),
            ));
        }
        Ok((share, outcome))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::elgamal::DlogTable;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// Result of a simulated ceremony.
    pub(crate) struct Ceremony {
        pub transcript: DkgTranscript,
        pub outcome: DkgOutcome,
        pub shares: Vec<KeyShare>,
    }

    pub(crate) fn idx(i: u16) -> TrusteeIndex {
        TrusteeIndex::new(i).unwrap()
    }

    /// Runs a full ceremony. `cheat = Some((dealer, victim))` makes `dealer` send a bad share to
    /// `victim`; `false_complaint = Some((complainer, dealer))` adds a bogus complaint.
    pub(crate) fn run(
        n: u16,
        t: u16,
        rng: &mut ChaCha20Rng,
        cheat: Option<(u16, u16)>,
        false_complaint: Option<(u16, u16)>,
    ) -> Ceremony {
        try_run(n, t, rng, cheat, false_complaint).unwrap()
    }

    pub(crate) fn try_run(
        n: u16,
        t: u16,
        rng: &mut ChaCha20Rng,
        cheat: Option<(u16, u16)>,
        false_complaint: Option<(u16, u16)>,
    ) -> Result<Ceremony> {
        let params = DkgParams::new(n, t, b"test-election").unwrap();
        let secrets: Vec<SecretScalar> = (0..n).map(|_| SecretScalar::random(rng)).collect();
        let publics: Vec<PublicKey> = secrets.iter().map(|s| PublicKey(s.expose() * G)).collect();
        let mut r2 = Vec::new();
        let mut dealings = Vec::new();
        for (i, sk) in params.indices().zip(&secrets) {
            let r1 = Round1::new(params.clone(), i, sk.clone(), publics.clone()).unwrap();
            let victim = cheat.filter(|c| c.0 == i.get()).map(|c| idx(c.1));
            let (s, d) = r1.deal_inner(rng, victim);
            r2.push(s);
            dealings.push(d);
        }
        let mut r3 = Vec::new();
        let mut complaints = Vec::new();
        for s in r2 {
            let (s3, mut c) = s.receive(&dealings, rng).unwrap();
            r3.push(s3);
            complaints.append(&mut c);
        }
        if let Some((j, i)) = false_complaint {
            let (ji, ii) = (idx(j), idx(i));
            let enc = &dealings[ii.position()].shares[ji.position()];
            let (_, proof) = DleqProof::prove(
                &complaint_context(&params, ii, ji),
                &G,
                &enc.ephemeral,
                &secrets[ji.position()],
                rng,
            );
            complaints.push(Complaint {
                complainer: ji,
                dealer: ii,
                shared_key: secrets[ji.position()].expose() * enc.ephemeral,
                proof,
            });
        }
        let mut shares = Vec::new();
        let mut outcome = None;
        for s in r3 {
            let (k, o) = s.resolve(&complaints)?;
            if let Some(prev) = &outcome {
                assert_eq!(prev, &o);
            }
            outcome = Some(o);
            shares.push(k);
        }
        let transcript = DkgTranscript {
            params,
            longterm_publics: publics,
            dealings,
            complaints,
        };
        let outcome = outcome.unwrap();
        assert_eq!(transcript.recompute().unwrap(), outcome);
        Ok(Ceremony {
            transcript,
            outcome,
            shares,
        })
    }

    fn check_shares_interpolate(c: &Ceremony) {
        let jk = &c.outcome.joint_key;
        jk.validate().unwrap();
        for s in &c.shares {
            assert_eq!(
                jk.verification_share(s.index()).unwrap(),
                s.verification_share()
            );
        }
        // Any t shares interpolate to the joint secret.
        let t = usize::from(jk.t);
        let subset: Vec<_> = c.shares.iter().rev().take(t).collect();
        let idxs: Vec<_> = subset.iter().map(|s| s.index()).collect();
        let l = crate::shamir::lagrange_at_zero(&idxs).unwrap();
        let x: Scalar = subset
            .iter()
            .zip(&l)
            .map(|(s, l)| l * s.secret().expose())
            .sum();
        assert_eq!(x * G, jk.public_key.0);
    }

    #[test]
    fn complete_runs() {
        let mut rng = ChaCha20Rng::seed_from_u64(100);
        for (n, t) in [(3, 2), (5, 3), (4, 4), (1, 1)] {
            let c = run(n, t, &mut rng, None, None);
            assert_eq!(c.outcome.joint_key.qualified.len(), usize::from(n));
            assert!(c.outcome.disqualified.is_empty());
            assert!(c.transcript.complaints.is_empty());
            check_shares_interpolate(&c);
            // Encrypt under the joint key, decrypt with t shares.
            let (ct, _) = c.outcome.joint_key.public_key.encrypt(7, &mut rng);
            let table = DlogTable::new(100).unwrap();
            let shares: Vec<_> = c
                .shares
                .iter()
                .take(usize::from(t))
                .map(|k| crate::threshold::DecryptionShare::create(k, &ct, b"c", &mut rng))
                .collect();
            assert_eq!(
                crate::threshold::decrypt_vartime(&c.outcome.joint_key, &ct, &shares, b"c", &table)
                    .unwrap(),
                7
            );
        }
    }

    #[test]
    fn cheating_dealer_is_disqualified() {
        let mut rng = ChaCha20Rng::seed_from_u64(101);
        let c = run(5, 3, &mut rng, Some((2, 4)), None);
        assert_eq!(c.transcript.complaints.len(), 1);
        assert_eq!(c.transcript.complaints[0].complainer, idx(4));
        assert_eq!(c.outcome.disqualified.len(), 1);
        assert_eq!(c.outcome.disqualified[0].dealer, idx(2));
        assert_eq!(
            c.outcome.joint_key.qualified,
            vec![idx(1), idx(3), idx(4), idx(5)]
        );
        check_shares_interpolate(&c);
        // Dropping the complaint from the record makes the victim's resolution fail.
        let o = c.transcript.dealings.clone();
        let without = recompute_outcome(
            &c.transcript.params,
            &c.transcript.longterm_publics,
            &o,
            &[],
        )
        .unwrap();
        assert!(without.joint_key.qualified.contains(&idx(2)));
    }

    #[test]
    fn cheating_dealers_below_threshold_abort() {
        let mut rng = ChaCha20Rng::seed_from_u64(104);
        // QUAL = {2, 3} < t = 3: every trustee's resolution fails.
        assert!(matches!(
            try_run(3, 3, &mut rng, Some((1, 2)), None),
            Err(Error::Protocol(_))
        ));
    }

    #[test]
    fn false_complaint_is_dismissed() {
        let mut rng = ChaCha20Rng::seed_from_u64(102);
        let c = run(3, 2, &mut rng, None, Some((3, 1)));
        assert!(c.outcome.disqualified.is_empty());
        assert_eq!(c.outcome.dismissed_complaints.len(), 1);
        assert_eq!(c.outcome.joint_key.qualified.len(), 3);
        // A complaint with a forged DLEQ proof is dismissed too.
        let mut t = c.transcript.clone();
        t.complaints[0].shared_key += G;
        let o = t.recompute().unwrap();
        assert!(o.disqualified.is_empty());
        assert!(o.dismissed_complaints[0].reason.contains("DLEQ"));
    }

    #[test]
    fn malformed_dealings_disqualify() {
        let mut rng = ChaCha20Rng::seed_from_u64(103);
        let c = run(4, 2, &mut rng, None, None);
        let base = c.transcript.clone();
        type Tamper = fn(&mut Dealing);
        let tampers: [Tamper; 6] = [
            |d| d.commitments.pop().map(|_| ()).unwrap_or(()),
            |d| d.commitments[1] += G,
            |d| d.shares[0].ciphertext[0] ^= 1,
            |d| d.shares[1].ephemeral += G,
            |d| d.shares.swap(0, 1),
            |d| d.proof_of_secret.response += Scalar::ONE,
        ];
        for tamper in tampers {
            let mut t = base.clone();
            tamper(&mut t.dealings[2]);
            let o = t.recompute().unwrap();
            assert_eq!(o.disqualified.len(), 1);
            assert_eq!(o.disqualified[0].dealer, idx(3));
        }
        // Missing and duplicated dealings.
        let mut t = base.clone();
        t.dealings.remove(0);
        assert_eq!(t.recompute().unwrap().disqualified[0].dealer, idx(1));
        let mut t = base.clone();
        let d = t.dealings[0].clone();
        t.dealings.push(d);
        assert_eq!(t.recompute().unwrap().disqualified[0].dealer, idx(1));
        // The dealings' proofs are bound to the ceremony context: replayed elsewhere, none qualify.
        let mut t = base.clone();
        t.params.context = b"another-election".to_vec();
        assert!(matches!(t.recompute(), Err(Error::Protocol(_))));
        // Too few qualified.
        let mut t = base.clone();
        t.dealings.truncate(1);
        assert!(matches!(t.recompute(), Err(Error::Protocol(_))));
    }

    /// Lagrange interpolation at 0 of the points `(x, y)`.
    fn interpolate_at_zero(points: &[(u16, Scalar)]) -> Scalar {
        let idx: Vec<TrusteeIndex> = points.iter().map(|(x, _)| idx(*x)).collect();
        let lambdas = crate::shamir::lagrange_at_zero(&idx).unwrap();
        points.iter().zip(lambdas).map(|((_, y), l)| l * y).sum()
    }

    /// A dealing by `dealer` whose encrypted shares are whatever `share` returns (given the
    /// recipient and the honest share), with a valid proof of knowledge of its secret over them:
    /// what a malicious dealer, who knows its own polynomial, can post.
    fn crafted_dealing(
        params: &DkgParams,
        dealer: TrusteeIndex,
        rng: &mut ChaCha20Rng,
        mut share: impl FnMut(TrusteeIndex, &mut ChaCha20Rng) -> EncryptedShare,
    ) -> Dealing {
        let coefficients: Vec<SecretScalar> =
            (0..params.t).map(|_| SecretScalar::random(rng)).collect();
        let commitments: Vec<RistrettoPoint> =
            coefficients.iter().map(|a| g_mul(a.expose())).collect();
        let shares: Vec<EncryptedShare> = params.indices().map(|j| share(j, rng)).collect();
        let ctx = dealing_context(params, dealer, &commitments, &shares);
        let proof_of_secret = SchnorrProof::prove(&ctx, &G, &coefficients[0], rng);
        Dealing {
            dealer,
            commitments,
            proof_of_secret,
            shares,
        }
    }

    /// Issue 10, finding 2, played by `attackers` (a coalition below the threshold) in an
    /// `n`-trustee, threshold-`t` ceremony. They deal last, after reading the honest dealings:
    /// each copies honest dealers' ephemeral keys `E_{i,j}` (with their proofs) into its own
    /// shares for honest trustees `j`, with garbage ciphertexts, and proves knowledge of its own
    /// secret over that (it knows its polynomial). Under the old rules each victim's complaint
    /// revealed `K = sk_j·E_{i,j}`, which opens `f_i(j)`: with the coalition's own shares that is
    /// `t` points of every honest polynomial, hence the joint secret (checked below, with the
    /// complaint computed exactly as the old `Round2::receive` did). Now the copied dealings are
    /// disqualified before any complaint, no honest trustee complains, nothing is revealed.
    fn copied_ephemeral_attack(n: u16, t: u16, attackers: &[u16], seed: u64) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let params = DkgParams::new(n, t, b"test-election").unwrap();
        let secrets: Vec<SecretScalar> = (0..n).map(|_| SecretScalar::random(&mut rng)).collect();
        let publics: Vec<PublicKey> = secrets.iter().map(|s| PublicKey(s.expose() * G)).collect();
        let honest: Vec<u16> = (1..=n).filter(|i| !attackers.contains(i)).collect();
        let mut r2 = Vec::new();
        let mut dealings = Vec::new();
        for i in params.indices() {
            let r1 = Round1::new(
                params.clone(),
                i,
                secrets[i.position()].clone(),
                publics.clone(),
            )
            .unwrap();
            let (s, d) = r1.deal(&mut rng);
            r2.push(s);
            dealings.push(d);
        }
        let mut targets = Vec::new(); // (honest dealer i, honest victim j)
        for (k, &a) in attackers.iter().enumerate() {
            let ai = idx(a);
            let honest_dealings = dealings.clone();
            let own = dealings[ai.position()].shares.clone();
            dealings[ai.position()] = crafted_dealing(&params, ai, &mut rng, |j, _| {
                match honest.iter().position(|&h| h == j.get()) {
                    Some(m) => {
                        // copy an honest dealer's ephemeral key to victim j
                        let i = honest[(m + k + 1) % honest.len()];
                        let src = &honest_dealings[idx(i).position()].shares[j.position()];
                        targets.push((i, j.get()));
                        EncryptedShare {
                            recipient: j,
                            ephemeral: src.ephemeral,
                            ciphertext: [0x5a; 32],
                            ephemeral_proof: src.ephemeral_proof,
                        }
                    }
                    None => own[j.position()].clone(),
                }
            });
            let d = &dealings[ai.position()];
            let reason = check_dealing(&params, d).unwrap_err();
            assert!(
                reason.contains("proof of knowledge of the ephemeral key"),
                "only the new check stops it: {reason}"
            );
        }

        // What the old rules gave the coalition.
        let mut learned: BTreeMap<u16, Vec<(u16, Scalar)>> = BTreeMap::new();
        for &i in &honest {
            for &a in attackers {
                let enc = &dealings[idx(i).position()].shares[idx(a).position()];
                let k = secrets[idx(a).position()].expose() * enc.ephemeral;
                let s =
                    open_share(&params, idx(i), enc, &publics[idx(a).position()].0, &k).unwrap();
                learned.entry(i).or_default().push((a, *s.expose()));
            }
        }
        for &(i, j) in &targets {
            let enc = &dealings[idx(i).position()].shares[idx(j).position()];
            let revealed = secrets[idx(j).position()].expose() * enc.ephemeral;
            let s = open_share(
                &params,
                idx(i),
                enc,
                &publics[idx(j).position()].0,
                &revealed,
            )
            .unwrap();
            learned.entry(i).or_default().push((j, *s.expose()));
        }
        let honest_secret: Scalar = honest
            .iter()
            .map(|&i| {
                let pts = &learned[&i];
                assert!(
                    pts.len() >= usize::from(t),
                    "the old attack gets t points of f_{i}"
                );
                interpolate_at_zero(&pts[..usize::from(t)])
            })
            .sum();
        let honest_key: RistrettoPoint = honest
            .iter()
            .map(|&i| dealings[idx(i).position()].commitments[0])
            .sum();
        assert_eq!(
            honest_secret * G,
            honest_key,
            "under the old rules the coalition recovers the joint secret"
        );

        // The new rules.
        let outcome = recompute_outcome(&params, &publics, &dealings, &[]).unwrap();
        for &a in attackers {
            let d = outcome
                .disqualified
                .iter()
                .find(|d| d.dealer == idx(a))
                .expect("attacker disqualified");
            assert!(d.reason.contains("ephemeral"), "{}", d.reason);
        }
        let mut complaints = Vec::new();
        let mut r3 = Vec::new();
        for (pos, s) in r2.into_iter().enumerate() {
            let (s3, c) = s.receive(&dealings, &mut rng).unwrap();
            if honest.contains(&(pos as u16 + 1)) {
                assert!(c.is_empty(), "an honest trustee reveals nothing");
                r3.push(s3);
            }
            complaints.extend(c);
        }
        assert!(complaints.is_empty());
        for s in r3 {
            let (share, o) = s.resolve(&complaints).unwrap();
            assert_eq!(o.joint_key.public_key.0, honest_key);
            assert_eq!(
                share.verification_share(),
                o.joint_key.verification_share(share.index()).unwrap()
            );
        }
    }

    #[test]
    fn copied_ephemeral_keys_reveal_nothing_one_attacker_2_of_3() {
        copied_ephemeral_attack(3, 2, &[3], 107);
    }

    #[test]
    fn copied_ephemeral_keys_reveal_nothing_two_attackers_3_of_5() {
        copied_ephemeral_attack(5, 3, &[4, 5], 108);
    }

    /// Dealers who know an ephemeral secret `e` can prove knowledge of `E = e·G` anywhere: two
    /// colluding dealers sharing `e` — the later one is disqualified — and one dealer repeating
    /// `E` within its dealing.
    #[test]
    fn repeated_ephemeral_keys_disqualify() {
        let mut rng = ChaCha20Rng::seed_from_u64(109);
        let c = run(4, 2, &mut rng, None, None);
        let params = c.transcript.params.clone();
        let e = SecretScalar::random(&mut rng);
        let with_e = |dealer: TrusteeIndex, j: TrusteeIndex, rng: &mut ChaCha20Rng| {
            let ciphertext = [7u8; 32];
            EncryptedShare {
                recipient: j,
                ephemeral: e.expose() * G,
                ciphertext,
                ephemeral_proof: SchnorrProof::prove(
                    &share_proof_context(&params, dealer, j, &ciphertext),
                    &G,
                    &e,
                    rng,
                ),
            }
        };
        // Dealers 3 and 4 both use E for their share to trustee 1.
        let mut t = c.transcript.clone();
        for dealer in [idx(3), idx(4)] {
            let honest = t.dealings[dealer.position()].shares.clone();
            t.dealings[dealer.position()] = crafted_dealing(&params, dealer, &mut rng, |j, rng| {
                if j == idx(1) {
                    with_e(dealer, j, rng)
                } else {
                    honest[j.position()].clone()
                }
            });
            assert!(check_dealing(&params, &t.dealings[dealer.position()]).is_ok());
        }
        let o = t.recompute().unwrap();
        assert_eq!(o.disqualified.len(), 1);
        assert_eq!(o.disqualified[0].dealer, idx(4));
        assert!(o.disqualified[0]
            .reason
            .contains("already used by trustee 3"));
        // One dealer using E twice.
        let d = crafted_dealing(&params, idx(2), &mut rng, |j, rng| with_e(idx(2), j, rng));
        let reason = check_dealing(&params, &d).unwrap_err();
        assert!(reason.contains("repeated ephemeral"), "{reason}");
    }

    #[test]
    fn parameter_errors() {
        assert!(DkgParams::new(3, 0, b"").is_err());
        assert!(DkgParams::new(3, 4, b"").is_err());
        assert!(TrusteeIndex::new(0).is_err());
        let mut rng = ChaCha20Rng::seed_from_u64(105);
        let params = DkgParams::new(2, 1, b"x").unwrap();
        let sk = SecretScalar::random(&mut rng);
        let other = SecretScalar::random(&mut rng);
        let publics = vec![PublicKey(sk.expose() * G), PublicKey(other.expose() * G)];
        assert!(Round1::new(params.clone(), idx(2), sk.clone(), publics.clone()).is_err());
        assert!(Round1::new(params.clone(), idx(3), sk.clone(), publics.clone()).is_err());
        assert!(Round1::new(params.clone(), idx(1), sk.clone(), publics[..1].to_vec()).is_err());
        assert!(Round1::new(params, idx(1), sk, publics).is_ok());
    }

    #[test]
    fn serde_roundtrips_and_redaction() {
        let mut rng = ChaCha20Rng::seed_from_u64(106);
        let c = run(3, 2, &mut rng, Some((1, 2)), None);
        let json = serde_json::to_string(&c.transcript).unwrap();
        let back: DkgTranscript = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c.transcript);
        let json = serde_json::to_string(&c.outcome).unwrap();
        let back: DkgOutcome = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c.outcome);
        let comp = &c.transcript.complaints[0];
        let back: Complaint = serde_json::from_str(&serde_json::to_string(comp).unwrap()).unwrap();
        assert_eq!(&back, comp);
        assert!(serde_json::from_str::<TrusteeIndex>("0").is_err());
        for s in &c.shares {
            let dbg = format!("{s:?}");
            assert!(!dbg.contains(&hex::encode(s.secret().to_bytes())));
            assert!(dbg.contains("redacted"));
        }
        let params = DkgParams::new(1, 1, b"x").unwrap();
        let sk = SecretScalar::random(&mut rng);
        let r1 = Round1::new(params, idx(1), sk.clone(), vec![PublicKey(sk.expose() * G)]).unwrap();
        assert!(!format!("{r1:?}").contains(&hex::encode(sk.to_bytes())));
        let (r2, d) = r1.deal(&mut rng);
        assert!(!format!("{r2:?}").contains(&hex::encode(sk.to_bytes())));
        let back: Dealing = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        let (r3, _) = r2.receive(&[d], &mut rng).unwrap();
        assert!(!format!("{r3:?}").contains(&hex::encode(sk.to_bytes())));
        let (k, _) = r3.resolve(&[]).unwrap();
        assert!(!format!("{k:?}").contains(&hex::encode(k.secret().to_bytes())));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        #[test]
        fn any_ceremony_interpolates(seed in 0u64..u64::MAX, n in 1u16..6, t_off in 0u16..6) {
            let t = 1 + t_off % n;
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let c = run(n, t, &mut rng, None, None);
            check_shares_interpolate(&c);
        }
    }
}
