//! Shamir secret sharing over the Ristretto255 scalar field: trustee indices (the evaluation
//! points) and Lagrange interpolation at zero. Shared by the DKG ([`crate::dkg`]), threshold
//! decryption ([`crate::threshold`]) and key switching ([`crate::keyswitch`]), so none of them
//! imports another for it. (A. Shamir, "How to share a secret", CACM 22(11), 1979.)

use core::fmt;
use std::collections::BTreeSet;
use std::num::NonZeroU16;

use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A trustee's index `1..=n`; it is also the evaluation point of its shares.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = u16, minimum = 1)]
pub struct TrusteeIndex(NonZeroU16);

impl TrusteeIndex {
    /// The index `i`; fails for 0.
    pub fn new(i: u16) -> Result<Self> {
        NonZeroU16::new(i)
            .map(TrusteeIndex)
            .ok_or_else(|| Error::InvalidParameter("trustee indices start at 1, got 0".into()))
    }
    /// The index as a number.
    pub fn get(self) -> u16 {
        self.0.get()
    }
    /// The index as a scalar (the evaluation point).
    pub fn scalar(self) -> Scalar {
        Scalar::from(u64::from(self.get()))
    }
    /// Position in `0..n` lists (`index − 1`).
    pub fn position(self) -> usize {
        usize::from(self.get()) - 1
    }
    /// The index at position `p` of a `0..n` list (`p + 1`); fails beyond `u16`.
    pub fn from_position(p: usize) -> Result<Self> {
        u16::try_from(p + 1)
            .map_err(|_| Error::InvalidParameter(format!("trustee position {p} is too large")))
            .and_then(TrusteeIndex::new)
    }
}

impl fmt::Display for TrusteeIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trustee {}", self.get())
    }
}

/// Lagrange coefficients at 0 for the distinct indices `S`: `λ_j = Π_{k∈S, k≠j} k / (k − j)`.
///
/// Fails on an empty set or a repeated index.
pub fn lagrange_at_zero(indices: &[TrusteeIndex]) -> Result<Vec<Scalar>> {
    if indices.is_empty() {
        return Err(Error::InvalidParameter(
            "Lagrange interpolation needs at least one index".into(),
        ));
    }
    check_distinct(indices)?;
    let mut nums = Vec::with_capacity(indices.len());
    let mut dens = Vec::with_capacity(indices.len());
    for j in indices {
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for k in indices.iter().filter(|k| *k != j) {
            num *= k.scalar();
            den *= k.scalar() - j.scalar();
        }
        nums.push(num);
        dens.push(den);
    }
    // Distinct non-zero indices below the group order: every denominator is non-zero.
    Scalar::batch_invert(&mut dens);
    Ok(nums.iter().zip(&dens).map(|(n, d)| n * d).collect())
}

pub(crate) fn check_distinct(indices: &[TrusteeIndex]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for j in indices {
        if !seen.insert(*j) {
            return Err(Error::Protocol(format!("{j} appears more than once")));
        }
    }
    Ok(())
}
