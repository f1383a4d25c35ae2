//! Arithmetic in the binary fields GF(2^8) and GF(2^16) that MessageVortex's redundancy
//! operations work in (draft-gwerder-messagevortexmain-10 §7.4.4; the draft names no reducing
//! polynomial, so we take those of its reference implementation — docs/VORTEX.md D-2, D-8):
//! GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and GF(2^16) modulo
//! x^16 + x^5 + x^3 + x^2 + 1 (0x1002D), both with generator x (= 2). Multiplication and
//! division go through logarithm and antilogarithm tables built once.

use std::sync::OnceLock;

/// A binary field GF(2^w) with w ≤ 16: its elements are `u16` below `ORDER`.
pub trait Field: Copy + Send + Sync + 'static {
    /// w, the number of bits of an element.
    const BITS: u32;
    /// The number of elements, 2^w.
    const ORDER: usize;
    /// The reducing polynomial, with its x^w term.
    const POLY: u32;
    /// Bytes per symbol on the wire (1, or 2 little-endian).
    const SYMBOL_BYTES: usize;
    /// The log/antilog tables.
    fn tables() -> &'static Tables;
}

/// Logarithms base 2 and their inverse, for one field.
#[derive(Debug)]
pub struct Tables {
    /// `exp[i] = 2^i`, for i in 0..2·(order − 1) (doubled, so sums of two logs need no reduction).
    exp: Vec<u16>,
    /// `log[a]` for a ≠ 0 (`log[0]` is unused).
    log: Vec<u16>,
}

impl Tables {
    fn build(bits: u32, poly: u32) -> Tables {
        let order = 1usize << bits;
        let n = order - 1;
        let mut exp = vec![0u16; 2 * n];
        let mut log = vec![0u16; order];
        let mut x: u32 = 1;
        for (i, e) in exp.iter_mut().take(n).enumerate() {
            // `x < order ≤ 2^16` and `i < n < 2^16`: both fit.
            *e = x as u16;
            log[x as usize] = i as u16;
            x <<= 1;
            if x & (1 << bits) != 0 {
                x ^= poly;
            }
        }
        for i in n..2 * n {
            exp[i] = exp[i - n];
        }
        Tables { exp, log }
    }
}

/// GF(2^8) modulo 0x11D.
#[derive(Clone, Copy, Debug)]
pub struct Gf256;

/// GF(2^16) modulo 0x1002D.
#[derive(Clone, Copy, Debug)]
pub struct Gf65536;

impl Field for Gf256 {
    const BITS: u32 = 8;
    const ORDER: usize = 256;
    const POLY: u32 = 0x11D;
    const SYMBOL_BYTES: usize = 1;
    fn tables() -> &'static Tables {
        static T: OnceLock<Tables> = OnceLock::new();
        T.get_or_init(|| Tables::build(Self::BITS, Self::POLY))
    }
}

impl Field for Gf65536 {
    const BITS: u32 = 16;
    const ORDER: usize = 65536;
    const POLY: u32 = 0x1002D;
    const SYMBOL_BYTES: usize = 2;
    fn tables() -> &'static Tables {
        static T: OnceLock<Tables> = OnceLock::new();
        T.get_or_init(|| Tables::build(Self::BITS, Self::POLY))
    }
}

/// `a · b` in field `F`.
pub fn mul<F: Field>(a: u16, b: u16) -> u16 {
    if a == 0 || b == 0 {
        return 0;
    }
    let t = F::tables();
    t.exp[usize::from(t.log[usize::from(a)]) + usize::from(t.log[usize::from(b)])]
}

/// `1 / a` in field `F` (`None` for 0).
pub fn inv<F: Field>(a: u16) -> Option<u16> {
    if a == 0 {
        return None;
    }
    let t = F::tables();
    let n = F::ORDER - 1;
    Some(t.exp[(n - usize::from(t.log[usize::from(a)])) % n])
}

/// `a^e` in field `F`, with `0^0 = 1`.
pub fn pow<F: Field>(a: u16, e: usize) -> u16 {
    if e == 0 {
        return 1;
    }
    if a == 0 {
        return 0;
    }
    let t = F::tables();
    let n = F::ORDER - 1;
    t.exp[(usize::from(t.log[usize::from(a)]) * (e % n)) % n]
}

/// A matrix over a field, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    cells: Vec<u16>,
}

impl Matrix {
    /// The `rows × cols` zero matrix.
    pub fn zero(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            cells: vec![0; rows * cols],
        }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The cell at row `r`, column `c` (0 outside the matrix).
    pub fn get(&self, r: usize, c: usize) -> u16 {
        if r < self.rows && c < self.cols {
            self.cells[r * self.cols + c]
        } else {
            0
        }
    }

    fn set(&mut self, r: usize, c: usize, v: u16) {
        if r < self.rows && c < self.cols {
            self.cells[r * self.cols + c] = v;
        }
    }

    /// The `rows × cols` Vandermonde matrix `V[r][c] = r^c` over `F` (evaluation points
    /// 0..rows − 1, distinct when `rows ≤ 2^w`).
    pub fn vandermonde<F: Field>(rows: usize, cols: usize) -> Self {
        let mut m = Self::zero(rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                // r < 2^w ≤ 2^16 for the callers, who check rows ≤ ORDER.
                m.set(r, c, pow::<F>(r as u16, c));
            }
        }
        m
    }

    /// The rows `which`, in that order.
    pub fn select_rows(&self, which: &[usize]) -> Self {
        let mut m = Self::zero(which.len(), self.cols);
        for (i, &r) in which.iter().enumerate() {
            for c in 0..self.cols {
                m.set(i, c, self.get(r, c));
            }
        }
        m
    }

    /// `self · other` over `F` (`None` if the shapes do not fit).
    pub fn mul<F: Field>(&self, other: &Matrix) -> Option<Matrix> {
        if self.cols != other.rows {
            return None;
        }
        let mut m = Self::zero(self.rows, other.cols);
        for r in 0..self.rows {
            for c in 0..other.cols {
                let mut acc = 0u16;
                for k in 0..self.cols {
                    acc ^= mul::<F>(self.get(r, k), other.get(k, c));
                }
                m.set(r, c, acc);
            }
        }
        Some(m)
    }

    /// The inverse of a square matrix over `F` by Gauss–Jordan elimination (`None` if it is
    /// singular or not square).
    pub fn inverse<F: Field>(&self) -> Option<Matrix> {
        let n = self.rows;
        if n != self.cols {
            return None;
        }
        let mut a = self.clone();
        let mut b = Self::zero(n, n);
        for i in 0..n {
            b.set(i, i, 1);
        }
        for col in 0..n {
            let pivot = (col..n).find(|&r| a.get(r, col) != 0)?;
            if pivot != col {
                for c in 0..n {
                    let (x, y) = (a.get(col, c), a.get(pivot, c));
                    a.set(col, c, y);
                    a.set(pivot, c, x);
                    let (x, y) = (b.get(col, c), b.get(pivot, c));
                    b.set(col, c, y);
                    b.set(pivot, c, x);
                }
            }
            let f = inv::<F>(a.get(col, col))?;
            for c in 0..n {
                a.set(col, c, mul::<F>(a.get(col, c), f));
                b.set(col, c, mul::<F>(b.get(col, c), f));
            }
            for r in 0..n {
                let g = a.get(r, col);
                if r == col || g == 0 {
                    continue;
                }
                for c in 0..n {
                    a.set(r, c, a.get(r, c) ^ mul::<F>(g, a.get(col, c)));
                    b.set(r, c, b.get(r, c) ^ mul::<F>(g, b.get(col, c)));
                }
            }
        }
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_axioms<F: Field>(samples: &[u16]) {
        for &a in samples {
            assert_eq!(mul::<F>(a, 1), a);
            assert_eq!(mul::<F>(a, 0), 0);
            if a != 0 {
                let i = inv::<F>(a).unwrap();
                assert_eq!(mul::<F>(a, i), 1, "{a}");
            }
            for &b in samples {
                assert_eq!(mul::<F>(a, b), mul::<F>(b, a));
                for &c in samples.iter().take(8) {
                    // Distributivity over the field's addition (xor).
                    assert_eq!(mul::<F>(a, b ^ c), mul::<F>(a, b) ^ mul::<F>(a, c));
                }
            }
        }
        assert_eq!(inv::<F>(0), None);
    }

    /// Carry-less multiplication reduced by the polynomial, bit by bit: the definition the
    /// tables must agree with.
    fn slow_mul(bits: u32, poly: u32, a: u16, b: u16) -> u16 {
        let (mut a, mut b, mut r) = (u32::from(a), u32::from(b), 0u32);
        while b != 0 {
            if b & 1 != 0 {
                r ^= a;
            }
            b >>= 1;
            a <<= 1;
            if a & (1 << bits) != 0 {
                a ^= poly;
            }
        }
        r as u16
    }

    #[test]
    fn gf256_is_the_field_of_0x11d() {
        for a in 0..=255u16 {
            for b in 0..=255u16 {
                assert_eq!(mul::<Gf256>(a, b), slow_mul(8, 0x11D, a, b));
            }
        }
        let all: Vec<u16> = (0..=255).collect();
        field_axioms::<Gf256>(&all[..64]);
        // 2 generates the multiplicative group: its powers take every non-zero value once.
        let mut seen = std::collections::BTreeSet::new();
        for e in 0..255 {
            assert!(seen.insert(pow::<Gf256>(2, e)));
        }
    }

    #[test]
    fn gf65536_is_the_field_of_0x1002d() {
        let samples: Vec<u16> = (0..200u32)
            .map(|i| (i.wrapping_mul(40503).wrapping_add(7) % 65536) as u16)
            .collect();
        for &a in &samples {
            for &b in &samples {
                assert_eq!(mul::<Gf65536>(a, b), slow_mul(16, 0x1002D, a, b));
            }
        }
        field_axioms::<Gf65536>(&samples[..40]);
        // 0x1002D is primitive: 2 has order 65535.
        assert_eq!(pow::<Gf65536>(2, 65535), 1);
        for d in [3, 5, 17, 257] {
            assert_ne!(pow::<Gf65536>(2, 65535 / d), 1, "order divides 65535/{d}");
        }
    }

    #[test]
    fn vandermonde_square_blocks_invert() {
        let v = Matrix::vandermonde::<Gf256>(8, 4);
        for rows in [[0, 1, 2, 3], [4, 5, 6, 7], [0, 3, 5, 7]] {
            let s = v.select_rows(&rows);
            let i = s.inverse::<Gf256>().unwrap();
            let id = s.mul::<Gf256>(&i).unwrap();
            for r in 0..4 {
                for c in 0..4 {
                    assert_eq!(id.get(r, c), u16::from(r == c));
                }
            }
        }
        // A singular matrix has no inverse.
        let mut z = Matrix::zero(2, 2);
        z.set(0, 0, 1);
        z.set(1, 0, 1);
        assert!(z.inverse::<Gf256>().is_none());
    }
}
