//! The coefficient layer: the quantized DCT coefficients of a baseline JPEG, read out and
//! written back with the file's own quantization and Huffman tables.
//!
//! Everything JPEG-specific that F5 needs goes through [`read`] and [`write`], so the codec
//! behind them (today the `dct-io` crate) can be swapped. The F5 wire format depends only on the
//! canonical layout of [`Coefficients::values`], defined there, not on the codec.
//!
//! Before the codec sees hostile bytes, [`read`] walks the marker segments itself and rejects
//! what F5 carriers never are and what the codec would mishandle: anything but one 8-bit
//! baseline (SOF0) frame of 1 or 3 components whose first scan is interleaved over all of them,
//! Huffman symbols with a magnitude category above the baseline limits (DC ≤ 11, AC ≤ 10), and
//! images over [`MAX_COEFFICIENTS`]. That bounds memory and rules out arithmetic overflow in
//! the codec's magnitude decoding.

use crate::{Error, Result};

/// At most this many coefficients (64 per 8×8 block, all components) are read from one JPEG:
/// 2^24, about 11 Mpixel at 4:2:0 or 5.5 Mpixel at 4:4:4. This bounds the memory and work an
/// untrusted attachment can cause (about 100 MB while reading).
pub const MAX_COEFFICIENTS: usize = 1 << 24;

/// One component's place in [`Coefficients::values`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The component identifier from the frame header.
    pub id: u8,
    /// Horizontal sampling factor.
    pub h: u8,
    /// Vertical sampling factor.
    pub v: u8,
    /// Blocks per block row (the padded MCU grid: MCU columns × `h`).
    pub blocks_wide: usize,
    /// Block rows (MCU rows × `v`).
    pub blocks_high: usize,
}

impl Component {
    /// Number of 8×8 blocks of this component.
    pub fn blocks(&self) -> usize {
        self.blocks_wide.saturating_mul(self.blocks_high)
    }
}

/// All quantized DCT coefficients of a JPEG, in one canonical flat layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coefficients {
    /// Image width in pixels.
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// The components in frame-header order.
    pub components: Vec<Component>,
    /// The coefficients: component by component (frame order); within a component, blocks in
    /// raster order over the padded MCU grid (left to right, top to bottom); within a block,
    /// the 64 quantized values in natural (row-major) order, so index 0 of every block, i.e.
    /// every index divisible by 64, is the DC coefficient.
    pub values: Vec<i16>,
}

/// Read the quantized DCT coefficients of a baseline JPEG.
///
/// # Errors
/// [`Error::Malformed`] for anything but a supported baseline JPEG, a corrupt entropy stream,
/// or an image over [`MAX_COEFFICIENTS`].
pub fn read(jpeg: &[u8]) -> Result<Coefficients> {
    precheck(jpeg)?;
    let info = dct_io::inspect(jpeg).map_err(codec_err)?;
    let layout = Layout::new(&info)?;
    let decoded = dct_io::read_coefficients(jpeg).map_err(codec_err)?;
    if decoded.components.len() != layout.components.len() {
        return Err(Error::malformed("JPEG", "component count mismatch"));
    }
    let mut values = vec![0i16; layout.total];
    let mut base = 0usize;
    for (comp, dec) in layout.components.iter().zip(&decoded.components) {
        if dec.blocks.len() != comp.blocks() {
            return Err(Error::malformed("JPEG", "block count mismatch"));
        }
        for (scan_index, block) in dec.blocks.iter().enumerate() {
            let raster = raster_index(comp, layout.mcu_cols, scan_index);
            let start = base + raster * 64;
            let dst = values
                .get_mut(start..start + 64)
                .ok_or_else(|| Error::malformed("JPEG", "block out of range"))?;
            dst.copy_from_slice(block);
        }
        base += comp.blocks() * 64;
    }
    check_range(&values)?;
    Ok(Coefficients {
        width: info.width,
        height: info.height,
        components: layout.components,
        values,
    })
}

/// Write `coefficients` back into `jpeg` (the file they were read from): every segment but the
/// entropy-coded scan is kept byte for byte, and the scan is re-encoded with the file's own
/// Huffman tables.
///
/// # Errors
/// [`Error::Malformed`] if `jpeg` does not parse, the coefficients do not match its layout, or a
/// value needs a Huffman symbol the file's tables lack (impossible with the Annex K tables).
pub fn write(jpeg: &[u8], coefficients: &Coefficients) -> Result<Vec<u8>> {
    precheck(jpeg)?;
    let info = dct_io::inspect(jpeg).map_err(codec_err)?;
    let layout = Layout::new(&info)?;
    if layout.components != coefficients.components || layout.total != coefficients.values.len() {
        return Err(Error::malformed(
            "coefficients",
            "layout differs from the JPEG",
        ));
    }
    check_range(&coefficients.values)?;
    let mut components = Vec::with_capacity(layout.components.len());
    let mut base = 0usize;
    for comp in &layout.components {
        let n = comp.blocks();
        let mut blocks = vec![[0i16; 64]; n];
        for (scan_index, block) in blocks.iter_mut().enumerate() {
            let raster = raster_index(comp, layout.mcu_cols, scan_index);
            let start = base + raster * 64;
            let src = coefficients
                .values
                .get(start..start + 64)
                .ok_or_else(|| Error::malformed("coefficients", "block out of range"))?;
            block.copy_from_slice(src);
        }
        components.push(dct_io::ComponentCoefficients {
            id: comp.id,
            blocks,
        });
        base += n * 64;
    }
    dct_io::write_coefficients(jpeg, &dct_io::JpegCoefficients { components }).map_err(codec_err)
}

/// Baseline 8-bit ranges (T.81 F.1.2): |DC| ≤ 2047, |AC| ≤ 1023. Checked on reading and
/// writing so that DC differences stay within what the codec encodes without overflow.
fn check_range(values: &[i16]) -> Result<()> {
    let ok = values.chunks(64).all(|block| {
        block.iter().enumerate().all(|(i, &v)| {
            let limit = if i == 0 { 2047 } else { 1023 };
            v.unsigned_abs() <= limit
        })
    });
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(
            "coefficients",
            "a value outside the baseline range",
        ))
    }
}

fn codec_err(e: dct_io::DctError) -> Error {
    Error::malformed("JPEG", e)
}

/// The MCU grid and the components' block grids.
struct Layout {
    mcu_cols: usize,
    components: Vec<Component>,
    total: usize,
}

impl Layout {
    fn new(info: &dct_io::JpegInfo) -> Result<Self> {
        let hmax = info.components.iter().map(|c| c.h_samp).max().unwrap_or(1);
        let vmax = info.components.iter().map(|c| c.v_samp).max().unwrap_or(1);
        let mcu_w = usize::from(hmax) * 8;
        let mcu_h = usize::from(vmax) * 8;
        let mcu_cols = usize::from(info.width).div_ceil(mcu_w);
        let mcu_rows = usize::from(info.height).div_ceil(mcu_h);
        let mut components = Vec::with_capacity(info.components.len());
        let mut total = 0usize;
        for c in &info.components {
            let comp = Component {
                id: c.id,
                h: c.h_samp,
                v: c.v_samp,
                blocks_wide: mcu_cols.saturating_mul(usize::from(c.h_samp)),
                blocks_high: mcu_rows.saturating_mul(usize::from(c.v_samp)),
            };
            if comp.blocks() != c.block_count {
                return Err(Error::malformed("JPEG", "unexpected block count"));
            }
            total = total.saturating_add(comp.blocks().saturating_mul(64));
            components.push(comp);
        }
        if total > MAX_COEFFICIENTS {
            return Err(Error::malformed(
                "JPEG",
                format!("{total} coefficients, at most {MAX_COEFFICIENTS} are read"),
            ));
        }
        Ok(Layout {
            mcu_cols,
            components,
            total,
        })
    }
}

/// The raster position of the `scan_index`-th block of `comp` in the interleaved scan (MCUs in
/// raster order, each holding `v` rows of `h` blocks of this component).
fn raster_index(comp: &Component, mcu_cols: usize, scan_index: usize) -> usize {
    let h = usize::from(comp.h);
    let v = usize::from(comp.v);
    let per_mcu = (h * v).max(1);
    let mcu = scan_index / per_mcu;
    let within = scan_index % per_mcu;
    let (mcu_row, mcu_col) = (mcu / mcu_cols.max(1), mcu % mcu_cols.max(1));
    let row = mcu_row * v + within / h.max(1);
    let col = mcu_col * h + within % h.max(1);
    row * comp.blocks_wide + col
}

/// Walk the marker segments up to the first scan and reject what the codec must not see.
fn precheck(jpeg: &[u8]) -> Result<()> {
    let bad = |why: &str| Error::malformed("JPEG", why);
    if jpeg.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(bad("no SOI marker"));
    }
    let mut pos = 2usize;
    let mut frame: Option<usize> = None; // the frame's component count
    loop {
        if jpeg.get(pos) != Some(&0xFF) {
            return Err(bad("expected a marker"));
        }
        while jpeg.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *jpeg.get(pos).ok_or_else(|| bad("truncated"))?;
        pos += 1;
        if marker == 0xD8 {
            continue;
        }
        if marker == 0xD9 {
            return Err(bad("no scan"));
        }
        let len = jpeg
            .get(pos..pos + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("truncated"))?;
        if len < 2 {
            return Err(bad("segment length"));
        }
        let body = jpeg
            .get(pos + 2..pos + len)
            .ok_or_else(|| bad("truncated segment"))?;
        match marker {
            0xC0 => {
                if frame.is_some() {
                    return Err(bad("two frame headers"));
                }
                frame = Some(check_sof(body)?);
            }
            0xC1..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(bad("not a baseline (SOF0) JPEG"));
            }
            0xC4 => check_dht(body)?,
            0xDA => {
                let nf = frame.ok_or_else(|| bad("scan before frame header"))?;
                let ns = usize::from(*body.first().ok_or_else(|| bad("empty scan header"))?);
                if ns != nf {
                    return Err(bad("the first scan does not hold every component"));
                }
                return Ok(());
            }
            _ => {}
        }
        pos += len;
    }
}

fn check_sof(body: &[u8]) -> Result<usize> {
    let bad = |why: &str| Error::malformed("JPEG", why);
    let precision = *body.first().ok_or_else(|| bad("short frame header"))?;
    if precision != 8 {
        return Err(bad("sample precision is not 8 bits"));
    }
    let nf = usize::from(*body.get(5).ok_or_else(|| bad("short frame header"))?);
    if nf != 1 && nf != 3 {
        return Err(bad("not 1 or 3 components"));
    }
    let mut all_one = true;
    for i in 0..nf {
        let samp = *body
            .get(6 + 3 * i + 1)
            .ok_or_else(|| bad("short frame header"))?;
        let (h, v) = (samp >> 4, samp & 0x0F);
        if !(1..=2).contains(&h) || !(1..=2).contains(&v) {
            return Err(bad("sampling factor outside 1..2"));
        }
        all_one &= h == 1 && v == 1;
    }
    if nf == 1 && !all_one {
        return Err(bad("a single component with sampling factors above 1"));
    }
    Ok(nf)
}

fn check_dht(body: &[u8]) -> Result<()> {
    let bad = |why: &str| Error::malformed("JPEG", why);
    let mut p = 0usize;
    while p < body.len() {
        let tc = body
            .get(p)
            .map(|b| b >> 4)
            .ok_or_else(|| bad("short DHT"))?;
        let counts = body.get(p + 1..p + 17).ok_or_else(|| bad("short DHT"))?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let symbols = body
            .get(p + 17..p + 17 + total)
            .ok_or_else(|| bad("short DHT"))?;
        // Kraft: the codes must leave the all-ones code of 16 bits unused (T.81 C.2),
        // which also keeps the codec's canonical code counter in range.
        let kraft: u32 = counts
            .iter()
            .zip(1u32..)
            .map(|(&c, len)| u32::from(c) << (16 - len))
            .sum();
        if kraft >= 1 << 16 {
            return Err(bad("over-full Huffman table"));
        }
        let ok = match tc {
            0 => symbols.iter().all(|&s| s <= 11),
            1 => symbols.iter().all(|&s| s & 0x0F <= 10),
            _ => false,
        };
        if !ok {
            return Err(bad("Huffman symbol outside baseline limits"));
        }
        p += 17 + total;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4:2:0 image whose 8×8 luma blocks get brighter to the right and downwards: in our
    /// raster layout the Y DC values must grow along rows and columns (the codec's MCU order
    /// would not).
    #[test]
    fn blocks_are_in_raster_order() {
        let (w, h) = (64u16, 48u16);
        let mut rgb = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let v = (10 + 25 * (x / 8) + 12 * (y / 8)) as u8;
                rgb.extend_from_slice(&[v, v, v]);
            }
        }
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let c = read(&out).unwrap();
        let y = &c.components[0];
        assert_eq!((y.blocks_wide, y.blocks_high), (8, 6));
        let dc = |row: usize, col: usize| c.values[(row * 8 + col) * 64];
        for row in 0..6 {
            for col in 0..8 {
                if col > 0 {
                    assert!(dc(row, col) > dc(row, col - 1), "row {row} col {col}");
                }
                if row > 0 {
                    assert!(dc(row, col) > dc(row - 1, col), "row {row} col {col}");
                }
            }
        }
        assert_eq!(write(&out, &c).unwrap(), out);
    }

    #[test]
    fn prechecks_reject_unsupported_headers() {
        // A DHT with a DC category of 15, and an over-full table.
        let mut dht = vec![0x00];
        dht.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        dht.push(15);
        assert!(check_dht(&dht).is_err());
        let mut full = vec![0x10];
        full.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        full.extend_from_slice(&[0x01, 0x02]);
        assert!(check_dht(&full).is_err());
        full[1] = 1;
        full[2] = 1;
        assert!(check_dht(&full).is_ok());
        // 12-bit precision, 4 components, sampling 3.
        assert!(check_sof(&[12, 0, 8, 0, 8, 1, 1, 0x11, 0]).is_err());
        assert!(check_sof(&[8, 0, 8, 0, 8, 4, 1, 0x11, 0]).is_err());
        assert!(check_sof(&[8, 0, 8, 0, 8, 1, 1, 0x31, 0]).is_err());
        assert!(check_sof(&[8, 0, 8, 0, 8, 1, 1, 0x22, 0]).is_err());
        assert_eq!(check_sof(&[8, 0, 8, 0, 8, 1, 1, 0x11, 0]).unwrap(), 1);
    }
}
