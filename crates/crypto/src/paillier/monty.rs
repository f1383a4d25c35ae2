//! Montgomery multiplication and a dedicated Montgomery squaring on 64-bit limbs, for the one hot
//! spot of Paillier: `r^n mod n²` with the public exponent `n` (encryption, opening checks, the
//! membership proof). `crypto-bigint` 0.7 squares with its general multiplication; here squaring
//! computes each cross product `a_i·a_j` once, which saves about a quarter of the word products.
//!
//! Both use product scanning (Comba) with Montgomery reduction interleaved column by column
//! (Koç, Acar, Kaliski, "Analyzing and comparing Montgomery multiplication algorithms", IEEE
//! Micro 1996, the "FIPS" method), accumulating each column in a 192-bit register.
//!
//! Everything is constant-time in the operands: loop bounds depend only on the limb count and the
//! column index, and the final conditional subtraction is a mask. Residues use the Montgomery
//! radix `R = 2^(64·limbs)` of `crypto-bigint`'s `BoxedMontyForm` at the same precision, so values
//! are exchanged through its Montgomery representation.

/// A 192-bit column accumulator.
#[derive(Clone, Copy, Default)]
struct Acc {
    lo: u128,
    hi: u64,
}

impl Acc {
    #[inline(always)]
    fn mac(&mut self, a: u64, b: u64) {
        let (lo, c) = self.lo.overflowing_add(u128::from(a) * u128::from(b));
        self.lo = lo;
        self.hi = self.hi.wrapping_add(u64::from(c));
    }
    #[inline(always)]
    fn add(&mut self, o: Acc) {
        let (lo, c) = self.lo.overflowing_add(o.lo);
        self.lo = lo;
        self.hi = self.hi.wrapping_add(o.hi).wrapping_add(u64::from(c));
    }
    #[inline(always)]
    fn double(&mut self) {
        self.hi = (self.hi << 1) | (self.lo >> 127) as u64;
        self.lo <<= 1;
    }
    #[inline(always)]
    fn low(&self) -> u64 {
        self.lo as u64
    }
    #[inline(always)]
    fn shift(&mut self) {
        self.lo = (self.lo >> 64) | (u128::from(self.hi) << 64);
        self.hi = 0;
    }
}

/// An odd modulus `m` (little-endian limbs) with `−m^{−1} mod 2^64`.
#[derive(Clone)]
pub(super) struct Modulus {
    m: Vec<u64>,
    m_neg_inv: u64,
}

impl Modulus {
    /// `m` must be odd and non-empty.
    pub(super) fn new(m: Vec<u64>) -> Option<Self> {
        let m0 = *m.first()?;
        if m0 & 1 == 0 {
            return None;
        }
        // Newton iteration for m0^{-1} mod 2^64 (each step doubles the number of correct bits).
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(m0.wrapping_mul(inv)));
        }
        Some(Modulus {
            m,
            m_neg_inv: inv.wrapping_neg(),
        })
    }

    pub(super) fn limbs(&self) -> usize {
        self.m.len()
    }

    /// Column `i < n` of the reduction: adds `Σ_{j<i} u_j·m_{i−j}`, fixes `u_i`, shifts.
    #[inline(always)]
    fn reduce_low_column(&self, acc: &mut Acc, u: &mut [u64], i: usize) {
        for (x, y) in u[..i].iter().zip(self.m[1..=i].iter().rev()) {
            acc.mac(*x, *y);
        }
        let ui = acc.low().wrapping_mul(self.m_neg_inv);
        u[i] = ui;
        acc.mac(ui, self.m[0]);
        acc.shift();
    }

    /// Column `i ≥ n` of the reduction: adds `Σ u_j·m_{i−j}`, emits the output word, shifts.
    #[inline(always)]
    fn reduce_high_column(&self, acc: &mut Acc, u: &[u64], i: usize, out: &mut [u64]) {
        let n = self.m.len();
        for (x, y) in u[i - n + 1..n]
            .iter()
            .zip(self.m[i - n + 1..n].iter().rev())
        {
            acc.mac(*x, *y);
        }
        out[i - n] = acc.low();
        acc.shift();
    }

    /// `out ← out − m` if `carry = 1` or `out ≥ m` (constant time).
    fn final_subtract(&self, out: &mut [u64], carry: u64) {
        let mut diff = vec![0u64; out.len()];
        let mut borrow = 0u64;
        for ((d, o), mi) in diff.iter_mut().zip(out.iter()).zip(&self.m) {
            let (t1, b1) = o.overflowing_sub(*mi);
            let (t2, b2) = t1.overflowing_sub(borrow);
            *d = t2;
            borrow = u64::from(b1 | b2);
        }
        let keep_diff = (carry | (borrow ^ 1)) & 1;
        let mask = 0u64.wrapping_sub(keep_diff);
        for (o, d) in out.iter_mut().zip(&diff) {
            *o = (*d & mask) | (*o & !mask);
        }
    }

    /// `out = a·b·R^{−1} mod m` for `a, b < m`; `u` is scratch of `limbs` words.
    pub(super) fn mul(&self, a: &[u64], b: &[u64], u: &mut [u64], out: &mut [u64]) {
        let n = self.m.len();
        let mut acc = Acc::default();
        for i in 0..n {
            for (x, y) in a[..=i].iter().zip(b[..=i].iter().rev()) {
                acc.mac(*x, *y);
            }
            self.reduce_low_column(&mut acc, u, i);
        }
        for i in n..2 * n {
            for (x, y) in a[i - n + 1..n].iter().zip(b[i - n + 1..n].iter().rev()) {
                acc.mac(*x, *y);
            }
            self.reduce_high_column(&mut acc, u, i, out);
        }
        self.final_subtract(out, acc.low());
    }

    /// `out = a²·R^{−1} mod m` for `a < m`, computing each cross product once.
    pub(super) fn square(&self, a: &[u64], u: &mut [u64], out: &mut [u64]) {
        let n = self.m.len();
        let mut acc = Acc::default();
        for i in 0..2 * n {
            // Σ_{j < i−j} a_j·a_{i−j}, doubled, plus a_{i/2}² for even i.
            let mut s = Acc::default();
            let lo = i.saturating_sub(n - 1);
            if i >= 1 {
                let hi = (i - 1) / 2;
                if lo <= hi {
                    for (x, y) in a[lo..=hi].iter().zip(a[i - hi..=i - lo].iter().rev()) {
                        s.mac(*x, *y);
                    }
                }
            }
            s.double();
            if i % 2 == 0 && i / 2 < n {
                s.mac(a[i / 2], a[i / 2]);
            }
            acc.add(s);
            if i < n {
                self.reduce_low_column(&mut acc, u, i);
            } else {
                self.reduce_high_column(&mut acc, u, i, out);
            }
        }
        self.final_subtract(out, acc.low());
    }
}

/// `x^e` on Montgomery residues (`x`, `one = R mod m` and the result are `< m`) for a *public*
/// exponent `e` of `e_bits` bits (`e_bit(i)` is bit `i`), by a left-to-right sliding window of
/// 6 bits over the odd powers of `x`. Time and memory access depend only on `e`.
pub(super) fn pow_public_exponent(
    m: &Modulus,
    x: &[u64],
    one: &[u64],
    e_bit: impl Fn(u32) -> bool,
    e_bits: u32,
) -> Vec<u64> {
    const WINDOW: u32 = 6;
    let n = m.limbs();
    let mut u = vec![0u64; n];
    let mut x2 = vec![0u64; n];
    m.square(x, &mut u, &mut x2);
    // table[k] = x^(2k+1)
    let mut table: Vec<Vec<u64>> = Vec::with_capacity(1 << (WINDOW - 1));
    table.push(x.to_vec());
    for k in 1..(1usize << (WINDOW - 1)) {
        let mut next = vec![0u64; n];
        m.mul(&table[k - 1], &x2, &mut u, &mut next);
        table.push(next);
    }
    let mut acc = one.to_vec();
    let mut tmp = vec![0u64; n];
    let mut started = false;
    let mut i = e_bits;
    while i > 0 {
        let top = i - 1;
        if !e_bit(top) {
            if started {
                m.square(&acc, &mut u, &mut tmp);
                core::mem::swap(&mut acc, &mut tmp);
            }
            i -= 1;
            continue;
        }
        // Window [low, top]: at most WINDOW bits, ending in a set bit.
        let mut low = top.saturating_sub(WINDOW - 1);
        while !e_bit(low) {
            low += 1;
        }
        let mut value = 0usize;
        for k in (low..=top).rev() {
            value = (value << 1) | usize::from(e_bit(k));
        }
        if started {
            for _ in low..=top {
                m.square(&acc, &mut u, &mut tmp);
                core::mem::swap(&mut acc, &mut tmp);
            }
            m.mul(&acc, &table[value >> 1], &mut u, &mut tmp);
            core::mem::swap(&mut acc, &mut tmp);
        } else {
            acc.copy_from_slice(&table[value >> 1]);
            started = true;
        }
        i = low;
    }
    for v in table.iter_mut() {
        v.fill(0);
    }
    u.fill(0);
    tmp.fill(0);
    x2.fill(0);
    acc
}
