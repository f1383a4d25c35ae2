//! Fresh F5 carriers: a generated, textured, photo-like RGB image compressed once to a
//! baseline JPEG (quality [`CARRIER_QUALITY`], 4:2:0, the standard Annex K Huffman tables).
//!
//! F5 must be applied at the first compression of an image: embedding into a decoded and
//! recompressed JPEG leaves the double-compression traces the calibration attack of
//! Fridrich, Goljan & Hogea (IH 2002) reads. Generating the cover here guarantees that.
//!
//! The JPEG encoder is the `jpeg-encoder` crate, licensed "(MIT OR Apache-2.0) AND IJG": its
//! forward DCT is ported from the Independent JPEG Group's code (via mozjpeg). This software is
//! based in part on the work of the Independent JPEG Group. See docs/VORTEX-F5.md.
//!
//! The picture: a two-colour sky/ground gradient, a few soft-edged shapes (discs, rectangles,
//! a horizon band), fractal value noise (six octaves, 4–128 px) in luma and weaker noise in
//! chroma, a vignette, and sensor-like grain. The noise keeps plenty of AC coefficients
//! non-zero after quantization, which is what F5 embeds into.

use super::jpeg::MAX_COEFFICIENTS;
use crate::{Error, Result};
use rand_core::RngCore;

/// JPEG quality of generated carriers (4:2:0 below 90 in `jpeg-encoder`).
pub const CARRIER_QUALITY: u8 = 90;

/// Largest side of a generated carrier, in pixels.
pub const MAX_SIDE: u16 = 4096;

/// Smallest carrier [`super::carrier_for`] makes (320×240).
pub const MIN_DIMENSIONS: (u16, u16) = (320, 240);

/// Generate a carrier of `width × height` pixels.
///
/// # Errors
/// [`Error::BadParameters`] if a side is below 16 or above [`MAX_SIDE`], or the image would
/// exceed [`MAX_COEFFICIENTS`] (then F5 could not read it back).
pub fn carrier<R: RngCore + ?Sized>(width: u16, height: u16, rng: &mut R) -> Result<Vec<u8>> {
    if !(16..=MAX_SIDE).contains(&width) || !(16..=MAX_SIDE).contains(&height) {
        return Err(Error::BadParameters(format!(
            "carrier {width}x{height}: sides must be 16..={MAX_SIDE}"
        )));
    }
    if coefficients_420(width, height) > MAX_COEFFICIENTS {
        return Err(Error::BadParameters(format!(
            "carrier {width}x{height}: over {MAX_COEFFICIENTS} coefficients"
        )));
    }
    let rgb = picture(usize::from(width), usize::from(height), rng);
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, CARRIER_QUALITY);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.set_optimized_huffman_tables(false);
    enc.encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::BadParameters(format!("JPEG encoder: {e}")))?;
    Ok(out)
}

/// Coefficients of a 4:2:0 image: 6 blocks of 64 per 16×16 MCU.
pub fn coefficients_420(width: u16, height: u16) -> usize {
    usize::from(width).div_ceil(16) * usize::from(height).div_ceil(16) * 6 * 64
}

fn unit<R: RngCore + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// A lattice of random values in −1..1 every `cell` pixels, bilinearly interpolated with a
/// smoothstep (value noise).
struct ValueNoise {
    cell: f32,
    cols: usize,
    grid: Vec<f32>,
}

impl ValueNoise {
    fn new<R: RngCore + ?Sized>(w: usize, h: usize, cell: usize, rng: &mut R) -> Self {
        let cols = w / cell + 2;
        let rows = h / cell + 2;
        let grid = (0..cols * rows).map(|_| unit(rng) * 2.0 - 1.0).collect();
        ValueNoise {
            cell: cell as f32,
            cols,
            grid,
        }
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        let fx = x as f32 / self.cell;
        let fy = y as f32 / self.cell;
        let (x0, y0) = (fx as usize, fy as usize);
        let s = |t: f32| t * t * (3.0 - 2.0 * t);
        let (tx, ty) = (s(fx - x0 as f32), s(fy - y0 as f32));
        let g = |cx: usize, cy: usize| *self.grid.get(cy * self.cols + cx).unwrap_or(&0.0);
        let top = g(x0, y0) + (g(x0 + 1, y0) - g(x0, y0)) * tx;
        let bottom = g(x0, y0 + 1) + (g(x0 + 1, y0 + 1) - g(x0, y0 + 1)) * tx;
        top + (bottom - top) * ty
    }
}

enum Shape {
    Disc { cx: f32, cy: f32, r: f32 },
    Rect { x0: f32, y0: f32, x1: f32, y1: f32 },
}

impl Shape {
    /// Coverage of pixel (x, y), 0..1, with a soft edge of about `soft` pixels.
    fn coverage(&self, x: f32, y: f32, soft: f32) -> f32 {
        let d = match *self {
            Shape::Disc { cx, cy, r } => ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() - r,
            Shape::Rect { x0, y0, x1, y1 } => (x0 - x).max(x - x1).max(y0 - y).max(y - y1),
        };
        (0.5 - d / soft).clamp(0.0, 1.0)
    }
}

fn color<R: RngCore + ?Sized>(rng: &mut R) -> [f32; 3] {
    [
        30.0 + 200.0 * unit(rng),
        30.0 + 200.0 * unit(rng),
        30.0 + 200.0 * unit(rng),
    ]
}

/// The RGB pixels (row-major, 3 bytes a pixel).
fn picture<R: RngCore + ?Sized>(w: usize, h: usize, rng: &mut R) -> Vec<u8> {
    let sky = color(rng);
    let ground = color(rng);
    let horizon = h as f32 * (0.3 + 0.4 * unit(rng));
    let tilt = (unit(rng) - 0.5) * 0.3;
    let soft_h = 4.0 + 30.0 * unit(rng);

    let luma_octaves: Vec<(ValueNoise, f32)> = [128usize, 64, 32, 16, 8, 4, 2]
        .iter()
        .zip([40.0f32, 26.0, 20.0, 16.0, 16.0, 14.0, 12.0])
        .map(|(&cell, amp)| (ValueNoise::new(w, h, cell, rng), amp))
        .collect();
    let chroma: Vec<ValueNoise> = (0..3).map(|_| ValueNoise::new(w, h, 48, rng)).collect();

    let scale = w.min(h) as f32;
    let shapes: Vec<(Shape, [f32; 3], f32)> = (0..8 + (rng.next_u32() % 17) as usize)
        .map(|_| {
            let shape = if rng.next_u32() & 1 == 0 {
                Shape::Disc {
                    cx: unit(rng) * w as f32,
                    cy: unit(rng) * h as f32,
                    r: scale * (0.03 + 0.2 * unit(rng)),
                }
            } else {
                let (cx, cy) = (unit(rng) * w as f32, unit(rng) * h as f32);
                let (hw, hh) = (
                    scale * (0.03 + 0.25 * unit(rng)),
                    scale * (0.03 + 0.25 * unit(rng)),
                );
                Shape::Rect {
                    x0: cx - hw,
                    y0: cy - hh,
                    x1: cx + hw,
                    y1: cy + hh,
                }
            };
            (shape, color(rng), 1.0 + 3.0 * unit(rng))
        })
        .collect();

    let grain = 8.0 + 4.0 * unit(rng);
    let (mid_x, mid_y) = (w as f32 / 2.0, h as f32 / 2.0);
    let diag2 = mid_x * mid_x + mid_y * mid_y;

    let mut out = vec![0u8; w * h * 3];
    for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let (xf, yf) = (x as f32, y as f32);
            let line = horizon + tilt * (xf - mid_x);
            let t = ((yf - line) / soft_h).clamp(-1.0, 1.0) * 0.5 + 0.5;
            let mut c = [0f32; 3];
            for (i, v) in c.iter_mut().enumerate() {
                *v = sky[i] + (ground[i] - sky[i]) * t;
            }
            for (shape, col, soft) in &shapes {
                let a = shape.coverage(xf, yf, *soft) * 0.9;
                if a > 0.0 {
                    for (v, s) in c.iter_mut().zip(col) {
                        *v += (s - *v) * a;
                    }
                }
            }
            let texture: f32 = luma_octaves.iter().map(|(n, a)| n.at(x, y) * a).sum();
            let dx = xf - mid_x;
            let dy = yf - mid_y;
            let vignette = 1.0 - 0.35 * (dx * dx + dy * dy) / diag2;
            for (i, (v, out)) in c.iter().zip(px.iter_mut()).enumerate() {
                let tint = chroma.get(i).map_or(0.0, |n| n.at(x, y)) * 10.0;
                let noise = (unit(rng) + unit(rng) - 1.0) * 2.0 * grain;
                let value = (v + texture + tint) * vignette + noise;
                *out = value.clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}
