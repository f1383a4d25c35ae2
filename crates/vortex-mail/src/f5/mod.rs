//! F5 blending (draft-gwerder-messagevortexmain-10 §6.1.2): a vortex message hidden in the
//! quantized DCT coefficients of a JPEG attachment, keyed by a passphrase that may be public.
//!
//! The algorithm is F5 as described by A. Westfeld, "F5—A Steganographic Algorithm: High
//! Capacity Despite Better Steganalysis", Information Hiding 2001, LNCS 2137, pp. 289–302,
//! written here from the paper's description:
//! - **carriers** are the non-zero AC coefficients of all components (the DC of each 8×8 block
//!   and every zero are skipped, when embedding and when extracting);
//! - **the bit** of a coefficient `c` is its LSB if `c > 0` and the inverted LSB of `|c|` if
//!   `c < 0` (the F4 rule, keeping the histogram symmetric); a change always decrements `|c|`;
//! - **permutative straddling**: coefficients are visited in the order of a passphrase-keyed
//!   permutation, spreading the changes uniformly over the image; the embedded bits are XORed
//!   with a keystream from the same key ([`prng`] has the derivation);
//! - **matrix encoding** `(1, n = 2^k − 1, k)`: `k` message bits go into `n` coefficients with at
//!   most one change, choosing the largest `k` in 1..=7 that still fits;
//! - **shrinkage**: when a change turns a ±1 into 0, the receiver will skip it, so the same bits
//!   are embedded again into the group rebuilt from the same start.
//!
//! The 32-bit status word ahead of the message (length and k, [`code::status_word`]) is always
//! embedded with k = 1. Layout, derivations, limits and measurements: docs/VORTEX-F5.md.
//!
//! **Embed only into a fresh carrier** ([`carrier`], [`carrier_for`]): never into a decoded and
//! recompressed JPEG. J. Fridrich, M. Goljan, D. Hogea, "Steganalysis of JPEG Images: Breaking
//! the F5 Algorithm" (Information Hiding 2002, LNCS 2578) detect F5 by calibration, which works
//! best when the stego image carries traces of double compression; F5 applied at the first and
//! only compression of a generated image avoids handing them that.
//!
//! Extraction never authenticates: a wrong passphrase usually fails on the status word, and
//! otherwise yields garbage that the vortex layer's cryptography rejects.

pub mod carrier;
pub mod code;
pub mod jpeg;
pub mod prng;

pub use carrier::carrier;
use code::Census;

use crate::{Error, Result};
use rand_core::RngCore;

/// The longest message [`embed`] takes: 2^24 − 1 bytes (the status word's length field).
pub const MAX_MESSAGE: usize = code::MAX_MESSAGE;

/// What one embedding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// All DCT coefficients of the carrier (DC and zeros included).
    pub coefficients: usize,
    /// Non-zero AC coefficients of the cover (the F5 carriers).
    pub usable: usize,
    /// The matrix-code parameter used for the message.
    pub k: u8,
    /// Bits embedded: 32 status bits plus the message, padded to whole groups of k bits.
    pub bits: usize,
    /// Coefficients changed (each decremented by one in magnitude).
    pub changes: usize,
    /// Changes that produced a zero and forced a re-embedding.
    pub shrinkage: usize,
    /// [`capacity`] of the cover.
    pub capacity: usize,
}

impl Stats {
    /// Embedding efficiency: bits per change (Westfeld's W(k) = k·2^k/(2^k − 1) less the
    /// shrinkage losses).
    pub fn efficiency(&self) -> f64 {
        if self.changes == 0 {
            return f64::INFINITY;
        }
        self.bits as f64 / self.changes as f64
    }
}

/// Bytes that certainly fit into `jpeg` for every passphrase (see [`Census::guaranteed`]):
/// conservative, the expected capacity at k = 1 is larger.
///
/// # Errors
/// [`Error::Malformed`] if `jpeg` is not a supported baseline JPEG.
pub fn capacity(jpeg: &[u8]) -> Result<usize> {
    let c = jpeg::read(jpeg)?;
    Ok(Census::of(&c.values).guaranteed())
}

/// Bytes that are expected to fit into `jpeg` with k = 1 (Westfeld's estimate refined for the
/// share of ±1 coefficients, see [`Census::expected`]). Usually larger than [`capacity`] by
/// half or more, but a message of this size may not fit under every passphrase.
///
/// # Errors
/// [`Error::Malformed`] if `jpeg` is not a supported baseline JPEG.
pub fn capacity_expected(jpeg: &[u8]) -> Result<usize> {
    let c = jpeg::read(jpeg)?;
    Ok(Census::of(&c.values).expected(1))
}

/// Hide `message` in `jpeg` under `passphrase`; returns the stego JPEG.
///
/// # Errors
/// [`Error::TooLarge`] if the message does not fit, [`Error::Malformed`] if `jpeg` is not a
/// supported baseline JPEG.
pub fn embed(jpeg: &[u8], message: &[u8], passphrase: &[u8]) -> Result<Vec<u8>> {
    embed_with_stats(jpeg, message, passphrase).map(|(out, _)| out)
}

/// [`embed`], also returning what it did.
///
/// # Errors
/// As [`embed`].
pub fn embed_with_stats(
    jpeg: &[u8],
    message: &[u8],
    passphrase: &[u8],
) -> Result<(Vec<u8>, Stats)> {
    let mut coefficients = jpeg::read(jpeg)?;
    let census = Census::of(&coefficients.values);
    let capacity = census.guaranteed();
    let too_large = Error::TooLarge {
        capacity,
        needed: message.len(),
    };
    if message.len() > MAX_MESSAGE {
        return Err(too_large);
    }
    let n = u32::try_from(coefficients.values.len())
        .map_err(|_| Error::malformed("JPEG", "too many coefficients"))?;
    let seed = prng::seed(passphrase);
    let perm = prng::permutation(seed, n);
    // Try the k the census predicts; if the carrier runs out after all, a smaller k.
    for k in (1..=census.choose_k(message.len())).rev() {
        let mut values = coefficients.values.clone();
        if let Some(c) = code::embed_k(&mut values, &perm, seed, message, k) {
            coefficients.values = values;
            let out = jpeg::write(jpeg, &coefficients)?;
            let stats = Stats {
                coefficients: coefficients.values.len(),
                usable: census.nonzero,
                k,
                bits: code::STATUS_BITS
                    + (message.len() * 8).div_ceil(usize::from(k)) * usize::from(k),
                changes: c.changes,
                shrinkage: c.shrinkage,
                capacity,
            };
            return Ok((out, stats));
        }
    }
    Err(too_large)
}

/// Recover the message hidden in `jpeg` under `passphrase`.
///
/// # Errors
/// [`Error::Malformed`] if `jpeg` is not a supported baseline JPEG or holds no message for this
/// passphrase (as far as the status word tells; a wrong passphrase may also yield garbage).
pub fn extract(jpeg: &[u8], passphrase: &[u8]) -> Result<Vec<u8>> {
    let coefficients = jpeg::read(jpeg)?;
    let n = u32::try_from(coefficients.values.len())
        .map_err(|_| Error::malformed("JPEG", "too many coefficients"))?;
    let seed = prng::seed(passphrase);
    let perm = prng::permutation(seed, n);
    code::extract(&coefficients.values, &perm, seed)
}

/// The longest message [`carrier_for`] accepts (the guaranteed capacity of carriers up to
/// [`jpeg::MAX_COEFFICIENTS`] is not much more).
pub const MAX_CARRIER_MESSAGE: usize = 192 * 1024;

/// Generate a fresh carrier whose [`capacity`] holds `len` bytes: 4:3, sides multiples of 16,
/// at least [`carrier::MIN_DIMENSIONS`]. The size is estimated, the capacity measured, and the
/// image regenerated larger if needed.
///
/// # Errors
/// [`Error::TooLarge`] above [`MAX_CARRIER_MESSAGE`] or when even the largest carrier does not
/// hold `len` bytes.
pub fn carrier_for<R: RngCore + ?Sized>(len: usize, rng: &mut R) -> Result<Vec<u8>> {
    let u_max = largest_43();
    if len > MAX_CARRIER_MESSAGE {
        return Err(Error::TooLarge {
            capacity: MAX_CARRIER_MESSAGE,
            needed: len,
        });
    }
    // Guaranteed bytes per pixel of generated carriers: measured 0.024–0.028, taken low.
    let mut pixels = (len as f64 + 64.0) / BYTES_PER_PIXEL;
    let mut last_capacity = 0;
    for _ in 0..5 {
        let (w, h) = dims_43(pixels, u_max);
        let jpeg = carrier(w, h, rng)?;
        last_capacity = capacity(&jpeg)?;
        if last_capacity >= len {
            return Ok(jpeg);
        }
        if (w, h) == dims_43(f64::INFINITY, u_max) {
            break;
        }
        let ratio = (len as f64 + 64.0) / (last_capacity.max(1) as f64);
        pixels = f64::from(w) * f64::from(h) * ratio.max(1.05) * 1.1;
    }
    Err(Error::TooLarge {
        capacity: last_capacity,
        needed: len,
    })
}

/// Guaranteed capacity per pixel assumed for a first carrier size (a low estimate).
const BYTES_PER_PIXEL: f64 = 0.02;

/// 4:3 dimensions `64u × 48u` of at least about `pixels` pixels, with `u` in `5..=u_max`
/// (320×240 up to the largest carrier).
fn dims_43(pixels: f64, u_max: u16) -> (u16, u16) {
    let unit = (pixels / 3072.0).sqrt().ceil(); // 64u · 48u = 3072u²
    let u = if unit.is_finite() && unit < f64::from(u_max) {
        (unit as u16).max(5)
    } else {
        u_max
    };
    (64 * u, 48 * u)
}

/// The largest `u` such that a `64u × 48u` carrier stays within the limits.
fn largest_43() -> u16 {
    let mut u = 5u16;
    while carrier::coefficients_420(64 * (u + 1), 48 * (u + 1)) <= jpeg::MAX_COEFFICIENTS
        && 64 * (u + 1) <= carrier::MAX_SIDE
    {
        u += 1;
    }
    u
}
