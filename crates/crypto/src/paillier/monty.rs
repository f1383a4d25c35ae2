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

use zeroize::{Zeroize, ZeroizeOnDrop};

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

/// An odd modulus `m` (little-endian limbs) with `−m^{−1} mod 2^64` and `R² mod m`.
/// Zeroized on drop (for the secret moduli `p`, `q`, `p²`, `q²`).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(super) struct Modulus {
    m: Vec<u64>,
    m_neg_inv: u64,
    r2: Vec<u64>,
}

impl Modulus {
    /// `m` must be odd, and `r2 = R² mod m` with the same number of limbs.
    pub(super) fn new(m: Vec<u64>, r2: Vec<u64>) -> Option<Self> {
        let m0 = *m.first()?;
        if m0 & 1 == 0 || r2.len() != m.len() {
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
            r2,
        })
    }

    /// `x·R mod m` for `x < m`.
    pub(super) fn enter_mont(&self, x: &[u64]) -> Vec<u64> {
        let mut u = vec![0u64; self.m.len()];
        let mut out = vec![0u64; self.m.len()];
        self.mul(x, &self.r2, &mut u, &mut out);
        u.zeroize();
        out
    }

    /// `x·R^{−1} mod m` (leaves the Montgomery domain).
    pub(super) fn leave_mont(&self, x: &[u64]) -> Vec<u64> {
        let mut one = vec![0u64; self.m.len()];
        one[0] = 1;
        let mut u = vec![0u64; self.m.len()];
        let mut out = vec![0u64; self.m.len()];
        self.mul(x, &one, &mut u, &mut out);
        u.zeroize();
        out
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
        v.zeroize();
    }
    u.zeroize();
    tmp.zeroize();
    x2.zeroize();
    acc
}

/// `x^e` on Montgomery residues for a *secret* exponent `e` (little-endian limbs; all
/// `64·e.len()` bits are processed): fixed 4-bit windows, every window squares four times and
/// multiplies by a table entry chosen by a masked scan of the whole table, so time and memory
/// access depend only on the sizes.
pub(super) fn pow_secret_exponent(m: &Modulus, x: &[u64], e: &[u64]) -> Vec<u64> {
    const WINDOW: usize = 4;
    const ENTRIES: usize = 1 << WINDOW;
    let n = m.limbs();
    let mut u = vec![0u64; n];
    let mut one = vec![0u64; n];
    one[0] = 1;
    let one_mont = m.enter_mont(&one);
    // table[k] = x^k
    let mut table: Vec<Vec<u64>> = Vec::with_capacity(ENTRIES);
    table.push(one_mont.clone());
    table.push(x.to_vec());
    for k in 2..ENTRIES {
        let mut next = vec![0u64; n];
        m.mul(&table[k - 1], x, &mut u, &mut next);
        table.push(next);
    }
    let mut acc = one_mont;
    let mut tmp = vec![0u64; n];
    let mut sel = vec![0u64; n];
    let windows_per_limb = 64 / WINDOW;
    for w in (0..e.len() * windows_per_limb).rev() {
        for _ in 0..WINDOW {
            m.square(&acc, &mut u, &mut tmp);
            core::mem::swap(&mut acc, &mut tmp);
        }
        let idx =
            (e[w / windows_per_limb] >> ((w % windows_per_limb) * WINDOW)) & (ENTRIES as u64 - 1);
        sel.fill(0);
        for (k, entry) in table.iter().enumerate() {
            let d = (k as u64) ^ idx;
            // all ones iff d == 0
            let mask = ((d | d.wrapping_neg()) >> 63).wrapping_sub(1);
            for (s, t) in sel.iter_mut().zip(entry) {
                *s |= t & mask;
            }
        }
        m.mul(&acc, &sel, &mut u, &mut tmp);
        core::mem::swap(&mut acc, &mut tmp);
    }
    for v in table.iter_mut() {
        v.zeroize();
    }
    u.zeroize();
    tmp.zeroize();
    sel.zeroize();
    acc
}

/// Positions and values of the sliding windows (width `window`) of a public exponent, scanned
/// from the top: `at[i] = Some(v)` when a window with odd value `v` ends at bit `i`.
fn sliding_windows(e_bit: &impl Fn(u32) -> bool, e_bits: u32, window: u32) -> Vec<Option<usize>> {
    let mut at = vec![None; e_bits as usize];
    let mut i = e_bits;
    while i > 0 {
        let top = i - 1;
        if !e_bit(top) {
            i -= 1;
            continue;
        }
        let mut low = top.saturating_sub(window - 1);
        while !e_bit(low) {
            low += 1;
        }
        let mut value = 0usize;
        for k in (low..=top).rev() {
            value = (value << 1) | usize::from(e_bit(k));
        }
        at[low as usize] = Some(value);
        i = low;
    }
    at
}

/// `x^a · y^b` on Montgomery residues in one pass of shared squarings, for a *public* exponent
/// `a` (`a_bit(i)`, `a_bits` bits; sliding windows of 6 bits) and a *secret* exponent `b`
/// (little-endian limbs, all bits processed; fixed 4-bit windows, each multiplying by a table
/// entry chosen by a masked scan). The schedule depends only on `a` and the sizes.
pub(super) fn pow2(
    m: &Modulus,
    x: &[u64],
    a_bit: impl Fn(u32) -> bool,
    a_bits: u32,
    y: &[u64],
    b: &[u64],
) -> Vec<u64> {
    const A_WINDOW: u32 = 6;
    const B_WINDOW: u32 = 4;
    const B_ENTRIES: usize = 1 << B_WINDOW;
    let n = m.limbs();
    let mut u = vec![0u64; n];
    let mut plain_one = vec![0u64; n];
    plain_one[0] = 1;
    let one = m.enter_mont(&plain_one);
    // x_table[k] = x^(2k+1); y_table[k] = y^k.
    let mut x2 = vec![0u64; n];
    m.square(x, &mut u, &mut x2);
    let mut x_table: Vec<Vec<u64>> = vec![x.to_vec()];
    for k in 1..(1usize << (A_WINDOW - 1)) {
        let mut next = vec![0u64; n];
        m.mul(&x_table[k - 1], &x2, &mut u, &mut next);
        x_table.push(next);
    }
    let mut y_table: Vec<Vec<u64>> = vec![one.clone(), y.to_vec()];
    for k in 2..B_ENTRIES {
        let mut next = vec![0u64; n];
        m.mul(&y_table[k - 1], y, &mut u, &mut next);
        y_table.push(next);
    }
    let a_windows = sliding_windows(&a_bit, a_bits, A_WINDOW);
    let b_bits = 64 * b.len() as u32;
    let mut acc = one;
    let mut tmp = vec![0u64; n];
    let mut sel = vec![0u64; n];
    let mut started = false;
    for i in (0..a_bits.max(b_bits)).rev() {
        if started {
            m.square(&acc, &mut u, &mut tmp);
            core::mem::swap(&mut acc, &mut tmp);
        }
        if let Some(Some(v)) = a_windows.get(i as usize) {
            m.mul(&acc, &x_table[v >> 1], &mut u, &mut tmp);
            core::mem::swap(&mut acc, &mut tmp);
            started = true;
        }
        if i % B_WINDOW == 0 && i < b_bits {
            let idx = (b[(i / 64) as usize] >> (i % 64)) & (B_ENTRIES as u64 - 1);
            sel.fill(0);
            for (k, entry) in y_table.iter().enumerate() {
                let d = (k as u64) ^ idx;
                let mask = ((d | d.wrapping_neg()) >> 63).wrapping_sub(1);
                for (s, t) in sel.iter_mut().zip(entry) {
                    *s |= t & mask;
                }
            }
            m.mul(&acc, &sel, &mut u, &mut tmp);
            core::mem::swap(&mut acc, &mut tmp);
            started = true;
        }
    }
    for v in x_table.iter_mut().chain(y_table.iter_mut()) {
        v.zeroize();
    }
    u.zeroize();
    tmp.zeroize();
    sel.zeroize();
    x2.zeroize();
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
    use crypto_bigint::{BoxedUint, Odd};
    use proptest::prelude::*;

    fn uint(limbs: &[u64]) -> BoxedUint {
        let bytes: Vec<u8> = limbs.iter().flat_map(|w| w.to_le_bytes()).collect();
        BoxedUint::from_le_slice(&bytes, 64 * limbs.len() as u32).unwrap()
    }

    fn limbs(x: &BoxedUint, n: usize) -> Vec<u64> {
        let bytes = x.to_le_bytes();
        let mut out = vec![0u64; n];
        for (o, c) in out.iter_mut().zip(bytes.chunks(8)) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            *o = u64::from_le_bytes(w);
        }
        out
    }

    /// A modulus from arbitrary words (forced odd, top word non-zero), its `crypto-bigint` params
    /// (the oracle), and our `Modulus`.
    fn setup(mut words: Vec<u64>) -> (BoxedMontyParams, Modulus) {
        words[0] |= 1;
        let last = words.len() - 1;
        words[last] |= 1 << 63;
        let n = words.len();
        let params = BoxedMontyParams::new_vartime(Odd::new(uint(&words)).unwrap());
        // R mod m is the Montgomery form of 1; R² mod m is its square in the plain domain.
        let r_mod = BoxedMontyForm::one(&params).as_montgomery().clone();
        let r2 = r_mod.mul_mod(&r_mod, params.modulus().as_nz_ref());
        (params, Modulus::new(words, limbs(&r2, n)).unwrap())
    }

    fn reduce(params: &BoxedMontyParams, words: &[u64]) -> BoxedUint {
        uint(words).rem(params.modulus().as_nz_ref())
    }

    fn check(words: Vec<u64>, a: Vec<u64>, b: Vec<u64>, e: Vec<u64>) {
        let n = words.len();
        let (params, m) = setup(words);
        let a = reduce(&params, &a);
        let b = reduce(&params, &b);
        let fa = BoxedMontyForm::new(a.clone(), &params);
        let fb = BoxedMontyForm::new(b.clone(), &params);
        let am = m.enter_mont(&limbs(&a, n));
        let bm = m.enter_mont(&limbs(&b, n));
        assert_eq!(am, limbs(fa.as_montgomery(), n));
        let mut u = vec![0u64; n];
        let mut out = vec![0u64; n];
        m.mul(&am, &bm, &mut u, &mut out);
        assert_eq!(out, limbs((&fa * &fb).as_montgomery(), n), "mul");
        m.square(&am, &mut u, &mut out);
        assert_eq!(out, limbs(fa.square().as_montgomery(), n), "square");
        assert_eq!(m.leave_mont(&am), limbs(&a, n), "from_mont");
        let ev = uint(&e);
        let expected = limbs(fa.pow(&ev).as_montgomery(), n);
        let one_mont = limbs(BoxedMontyForm::one(&params).as_montgomery(), n);
        let bits = 64 * e.len() as u32;
        let got = pow_public_exponent(&m, &am, &one_mont, |i| ev.bit_vartime(i), bits);
        assert_eq!(got, expected, "pow_public_exponent");
        assert_eq!(
            pow_secret_exponent(&m, &am, &e),
            expected,
            "pow_secret_exponent"
        );
        // x^e · y^b with a public e and a secret b (b of 1 or 2 limbs), and with e = 0.
        let bl = if e[0].is_multiple_of(2) {
            vec![e[0] ^ 0x5a5a]
        } else {
            vec![e[0], !e[0]]
        };
        let expected2 = (fa.pow(&ev) * fb.pow(&uint(&bl))).as_montgomery().clone();
        let got2 = pow2(&m, &am, |i| ev.bit_vartime(i), bits, &bm, &bl);
        assert_eq!(got2, limbs(&expected2, n), "pow2");
        let got3 = pow2(&m, &am, |_| false, 0, &bm, &bl);
        let expected3 = fb.pow(&uint(&bl)).as_montgomery().clone();
        assert_eq!(got3, limbs(&expected3, n), "pow2 with a = 0");
    }

    #[test]
    fn edge_values() {
        for n in [1usize, 2, 3, 4, 7, 32, 64] {
            // m = 2^(64n) − 1, operands m − 1 and all-ones (reduced), exponent all ones / zero.
            let all = vec![u64::MAX; n];
            check(all.clone(), all.clone(), all.clone(), vec![u64::MAX; 2]);
            check(all.clone(), vec![0; n], all.clone(), vec![0; 2]);
            let mut small = vec![0u64; n];
            small[0] = 1;
            check(all.clone(), small.clone(), small, vec![1, 0]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn agrees_with_crypto_bigint(
            n in 1usize..10,
            seed in prop::collection::vec(any::<u64>(), 40),
            e in prop::collection::vec(any::<u64>(), 1..4),
        ) {
            let words = seed[..n].to_vec();
            let a = seed[10..10 + n].to_vec();
            let b = seed[20..20 + n].to_vec();
            check(words, a, b, e);
        }

        #[test]
        fn agrees_with_crypto_bigint_4096(
            seed in prop::collection::vec(any::<u64>(), 192),
            e in prop::collection::vec(any::<u64>(), 1..3),
        ) {
            check(seed[..64].to_vec(), seed[64..128].to_vec(), seed[128..].to_vec(), e);
        }
    }
}
