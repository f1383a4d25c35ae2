//! Verdict bitmaps (seed 001 §5.1, with the flaws DESIGN.md lists fixed): each verifying node
//! records, for every proof of a block, `1` valid, `0` invalid, `2` not verified (sampled out),
//! `3` not received by the deadline, and signs the result.
//!
//! Heavy proofs are verified with probability `p`; the draw is
//! `SHA-256("tabella/ledger/verdict-sample/v1" || 0 || previous block hash || node key || proof id)`
//! read as a 64-bit fraction — never a plain RNG (anyone can recompute and audit it), never a
//! prefix of the proofs (each proof is drawn independently), and different nodes draw different
//! subsets. Ballots are always verified (`p = 1`). A node cannot claim "not verified" for a
//! proof its draw selected: [`SignedBitmap::verify`] rejects that. The deadline that turns a
//! missing proof into `3` is the caller's clock (injected), so a withheld proof cannot stall a
//! block.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::roster::{Signature, ValidatorKey, ValidatorSecret};
use crate::types::{hash_parts, BlockHash, Height, ProofId};

/// Signature domain of verdict bitmaps.
pub const VERDICT_DOMAIN: &str = "tabella/ledger/verdicts/v1";

/// One verdict (seed 001 §5.1 values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 0: verified and invalid.
    Invalid = 0,
    /// 1: verified and valid.
    Valid = 1,
    /// 2: not verified (sampled out).
    NotVerified = 2,
    /// 3: not received by the deadline.
    NotReceived = 3,
}

impl Verdict {
    fn from_bits(b: u8) -> Verdict {
        match b & 3 {
            0 => Verdict::Invalid,
            1 => Verdict::Valid,
            2 => Verdict::NotVerified,
            _ => Verdict::NotReceived,
        }
    }
}

/// How a proof is sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProofKind {
    /// Ballots and every other election transaction: always verified (`p = 1`).
    Always,
    /// A heavy proof (e.g. statistics range, shuffle, key-switch proofs): sampled with `p`.
    Heavy,
}

/// The sampling probability `p` in parts per million (`1..=1_000_000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct SampleRate(u32);

impl utoipa::PartialSchema for SampleRate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(1))
            .maximum(Some(1_000_000))
            .description(Some("A sampling probability in parts per million."))
            .into()
    }
}
impl utoipa::ToSchema for SampleRate {}

impl SampleRate {
    /// `p = 1`.
    pub const ALWAYS: SampleRate = SampleRate(1_000_000);

    /// `p = per_million / 10^6`; `p` must be in `(0, 1]` (seed 001 §5.1).
    pub fn per_million(per_million: u32) -> Result<Self> {
        if per_million == 0 || per_million > 1_000_000 {
            return Err(Error::BadParams(format!(
                "sampling rate {per_million} per million must be in 1..=1000000"
            )));
        }
        Ok(SampleRate(per_million))
    }
}
impl TryFrom<u32> for SampleRate {
    type Error = Error;
    fn try_from(v: u32) -> Result<Self> {
        SampleRate::per_million(v)
    }
}
impl From<SampleRate> for u32 {
    fn from(r: SampleRate) -> u32 {
        r.0
    }
}

/// The sampling rate of heavy proofs, fixed by the protocol (seed 001 §6.1's `p = 0.4`); a
/// bitmap that declares another is refused ([`crate::state::LedgerState::check_verdicts`]).
pub const HEAVY_SAMPLE_RATE: SampleRate = SampleRate(400_000);

/// Whether `node` must verify `proof` in the block after `prev_block`.
pub fn must_verify(
    prev_block: &BlockHash,
    node: &ValidatorKey,
    proof: &ProofId,
    kind: ProofKind,
    rate: SampleRate,
) -> bool {
    if kind == ProofKind::Always || rate == SampleRate::ALWAYS {
        return true;
    }
    let d = hash_parts(
        "tabella/ledger/verdict-sample/v1",
        &[&prev_block.0, &node.to_bytes(), &proof.0],
    );
    let mut x = [0u8; 8];
    x.copy_from_slice(&d[..8]);
    // u ∈ [0, 1) as a 64-bit fraction; verify iff u < p.
    let u = u64::from_le_bytes(x) as u128;
    (u * 1_000_000) >> 64 < u128::from(rate.0)
}

/// A proof as a node sees it at the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofSlot {
    /// The proof.
    pub id: ProofId,
    /// How it is sampled.
    pub kind: ProofKind,
    /// Whether it arrived before the deadline.
    pub received: bool,
}

/// One node's verdicts on a block's proofs, packed two bits per proof (proof `i` in bits
/// `2(i mod 4)..2(i mod 4)+2` of byte `i / 4`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerdictBitmap {
    /// Height of the block these proofs belong to.
    pub height: Height,
    /// The previous block's hash (the sampling beacon).
    pub prev_block: BlockHash,
    /// The judging node.
    pub node: ValidatorKey,
    /// The sampling rate of heavy proofs.
    pub rate: SampleRate,
    /// The proofs, in order.
    pub proofs: Vec<(ProofId, ProofKind)>,
    /// The packed verdicts.
    #[schema(value_type = tabella_crypto::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub bits: Vec<u8>,
}

impl VerdictBitmap {
    /// Judges `proofs`: not received → 3; sampled out → 2; otherwise `verify(i, id)` (called in
    /// order, `i` the proof's position) gives 1 or 0.
    pub fn judge(
        height: Height,
        prev_block: BlockHash,
        node: ValidatorKey,
        rate: SampleRate,
        proofs: &[ProofSlot],
        mut verify: impl FnMut(usize, &ProofId) -> bool,
    ) -> Self {
        let mut bits = vec![0u8; proofs.len().div_ceil(4)];
        for (i, p) in proofs.iter().enumerate() {
            let v = if !p.received {
                Verdict::NotReceived
            } else if !must_verify(&prev_block, &node, &p.id, p.kind, rate) {
                Verdict::NotVerified
            } else if verify(i, &p.id) {
                Verdict::Valid
            } else {
                Verdict::Invalid
            };
            bits[i / 4] |= (v as u8) << (2 * (i % 4));
        }
        VerdictBitmap {
            height,
            prev_block,
            node,
            rate,
            proofs: proofs.iter().map(|p| (p.id, p.kind)).collect(),
            bits,
        }
    }

    /// The verdict on proof `i`.
    pub fn verdict(&self, i: usize) -> Option<Verdict> {
        if i >= self.proofs.len() {
            return None;
        }
        self.bits
            .get(i / 4)
            .map(|b| Verdict::from_bits(b >> (2 * (i % 4))))
    }

    /// The verdict on a proof by id.
    pub fn verdict_of(&self, id: &ProofId) -> Option<Verdict> {
        let i = self.proofs.iter().position(|(p, _)| p == id)?;
        self.verdict(i)
    }

    /// Canonical signed bytes: `height u64 || prev_block || node || rate u32 || n u32 ||
    /// (proof id || kind byte)* || bits`, integers little-endian.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(84 + 33 * self.proofs.len() + self.bits.len());
        b.extend_from_slice(&self.height.0.to_le_bytes());
        b.extend_from_slice(&self.prev_block.0);
        b.extend_from_slice(&self.node.to_bytes());
        b.extend_from_slice(&self.rate.0.to_le_bytes());
        b.extend_from_slice(&(self.proofs.len() as u32).to_le_bytes());
        for (id, kind) in &self.proofs {
            b.extend_from_slice(&id.0);
            b.push(match kind {
                ProofKind::Always => 0,
                ProofKind::Heavy => 1,
            });
        }
        b.extend_from_slice(&self.bits);
        b
    }

    /// Signs the bitmap; `secret` must be the key of `self.node`.
    pub fn sign(self, secret: &ValidatorSecret) -> Result<SignedBitmap> {
        if secret.public() != self.node {
            return Err(Error::BadSignature(
                "a node signs only its own bitmap".into(),
            ));
        }
        let signature = secret.sign(VERDICT_DOMAIN, &self.signed_bytes());
        Ok(SignedBitmap {
            bitmap: self,
            signature,
        })
    }
}

/// A verdict bitmap signed by its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedBitmap {
    /// The bitmap.
    pub bitmap: VerdictBitmap,
    /// The node's signature over [`VerdictBitmap::signed_bytes`].
    pub signature: Signature,
}

impl SignedBitmap {
    /// Checks the node's signature, the packing (length, zero padding), and that the node did
    /// not skip a proof its draw selected (ballots included).
    pub fn verify(&self) -> Result<()> {
        let b = &self.bitmap;
        b.node
            .verify(VERDICT_DOMAIN, &b.signed_bytes(), &self.signature)?;
        let n = b.proofs.len();
        if b.bits.len() != n.div_ceil(4) {
            return Err(Error::BadProof(
                "bitmap length does not match the proofs".into(),
            ));
        }
        if !n.is_multiple_of(4) {
            let last = b.bits.last().copied().unwrap_or(0);
            if last >> (2 * (n % 4)) != 0 {
                return Err(Error::BadProof("bitmap padding bits are not zero".into()));
            }
        }
        for (i, (id, kind)) in b.proofs.iter().enumerate() {
            if b.verdict(i) == Some(Verdict::NotVerified)
                && must_verify(&b.prev_block, &b.node, id, *kind, b.rate)
            {
                return Err(Error::BadProof(format!(
                    "proof {id} was drawn for verification but is marked not verified"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn node(seed: u64) -> ValidatorSecret {
        ValidatorSecret::generate(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    fn proof(i: u64) -> ProofId {
        ProofId(hash_parts("test/proof", &[&i.to_le_bytes()]))
    }

    #[test]
    fn sampling_is_deterministic_and_roughly_p() {
        let prev = BlockHash([9; 32]);
        let (a, b) = (node(1).public(), node(2).public());
        let rate = SampleRate::per_million(400_000).unwrap();
        let n = 20_000u64;
        let picks_a: Vec<bool> = (0..n)
            .map(|i| must_verify(&prev, &a, &proof(i), ProofKind::Heavy, rate))
            .collect();
        let again: Vec<bool> = (0..n)
            .map(|i| must_verify(&prev, &a, &proof(i), ProofKind::Heavy, rate))
            .collect();
        assert_eq!(picks_a, again);
        let count = picks_a.iter().filter(|x| **x).count() as f64;
        // Binomial(20000, 0.4): sd ≈ 69; allow 5 sd.
        assert!((count - 8000.0).abs() < 350.0, "{count}");
        // Another node, or another beacon, draws a different subset.
        let picks_b: Vec<bool> = (0..n)
            .map(|i| must_verify(&prev, &b, &proof(i), ProofKind::Heavy, rate))
            .collect();
        assert_ne!(picks_a, picks_b);
        let other_prev: Vec<bool> = (0..n)
            .map(|i| must_verify(&BlockHash([8; 32]), &a, &proof(i), ProofKind::Heavy, rate))
            .collect();
        assert_ne!(picks_a, other_prev);
        // Not a prefix: selected proofs are spread over the whole range.
        assert!(
            picks_a[..1000].iter().any(|x| !x) && picks_a[n as usize - 1000..].iter().any(|x| *x)
        );
        // Ballots are always verified.
        let low = SampleRate::per_million(1).unwrap();
        assert!((0..1000).all(|i| must_verify(&prev, &a, &proof(i), ProofKind::Always, low)));
        assert!((0..1000).all(|i| must_verify(
            &prev,
            &a,
            &proof(i),
            ProofKind::Heavy,
            SampleRate::ALWAYS
        )));
    }

    #[test]
    fn rate_bounds() {
        assert!(SampleRate::per_million(0).is_err());
        assert!(SampleRate::per_million(1_000_001).is_err());
        assert!(serde_json::from_str::<SampleRate>("0").is_err());
    }

    fn sample_bitmap(secret: &ValidatorSecret) -> SignedBitmap {
        let slots: Vec<ProofSlot> = (0..23)
            .map(|i| ProofSlot {
                id: proof(i),
                kind: if i % 3 == 0 {
                    ProofKind::Always
                } else {
                    ProofKind::Heavy
                },
                received: i != 5,
            })
            .collect();
        VerdictBitmap::judge(
            Height(7),
            BlockHash([1; 32]),
            secret.public(),
            SampleRate::per_million(500_000).unwrap(),
            &slots,
            |_, id| *id != proof(9),
        )
        .sign(secret)
        .unwrap()
    }

    #[test]
    fn verdicts_follow_the_rules_and_verify() {
        let s = node(3);
        let sb = sample_bitmap(&s);
        sb.verify().unwrap();
        let b = &sb.bitmap;
        assert_eq!(b.verdict(5), Some(Verdict::NotReceived));
        assert_eq!(b.verdict(9), Some(Verdict::Invalid)); // a ballot: always verified
        assert_eq!(b.verdict(0), Some(Verdict::Valid));
        assert_eq!(b.verdict(23), None);
        let skipped = (0..23)
            .filter(|&i| b.verdict(i) == Some(Verdict::NotVerified))
            .count();
        assert!(skipped > 0 && skipped < 15, "{skipped}");
        for i in (0..23).filter(|i| i % 3 == 0 && *i != 5) {
            assert!(matches!(
                b.verdict(i as usize),
                Some(Verdict::Valid | Verdict::Invalid)
            ));
        }
        let json = serde_json::to_string(&sb).unwrap();
        let back: SignedBitmap = serde_json::from_str(&json).unwrap();
        back.verify().unwrap();
    }

    #[test]
    fn forged_or_altered_bitmaps_are_rejected() {
        let s = node(3);
        let sb = sample_bitmap(&s);
        // Signed by another key but claiming this node.
        let mut forged = sb.clone();
        forged.signature = node(4).sign(VERDICT_DOMAIN, &sb.bitmap.signed_bytes());
        assert!(forged.verify().is_err());
        // A verdict flipped after signing.
        let mut flipped = sb.clone();
        flipped.bitmap.bits[2] ^= 0b01;
        assert!(flipped.verify().is_err());
        // A node skipping a proof it drew (re-signed by itself) is caught.
        let mut lazy = sb.bitmap.clone();
        let drawn = (0..23)
            .find(|&i| lazy.verdict(i) == Some(Verdict::Valid))
            .unwrap();
        lazy.bits[drawn / 4] &= !(3 << (2 * (drawn % 4)));
        lazy.bits[drawn / 4] |= 2 << (2 * (drawn % 4));
        assert!(lazy.clone().sign(&s).unwrap().verify().is_err());
        // Nobody signs another node's bitmap.
        assert!(sb.bitmap.clone().sign(&node(4)).is_err());
    }
}
