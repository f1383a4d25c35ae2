//! The erasure code under MessageVortex's addRedundancy / removeRedundancy operations
//! (draft-gwerder-messagevortexmain-10 §7.4.4.2; docs/VORTEX.md D-2): a systematic
//! Reed–Solomon code from an `n × k` Vandermonde matrix over GF(2^8) or GF(2^16), made
//! systematic as `G = V · (top k × k of V)^−1`, so the first `k` blocks are the data stripes and
//! any `k` of the `n` blocks recover them. The padding and the per-block encryption of the
//! operations come on top of this (not here).

use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::gf::{self, Field, Gf256, Matrix};

/// A systematic `(n, k)` code over field `F`.
#[derive(Clone, Debug)]
pub struct Code<F: Field> {
    k: usize,
    n: usize,
    generator: Matrix,
    field: PhantomData<F>,
}

impl<F: Field> Code<F> {
    /// The code with `k` data stripes and `m` redundancy blocks (`n = k + m ≤ 2^w`, both at
    /// least 1; the draft's ranges are 1..=254 each).
    pub fn new(k: usize, m: usize) -> Result<Self> {
        if k == 0 || m == 0 || k > 254 || m > 254 {
            return Err(Error::BadParameters(format!(
                "data stripes {k} and redundancy {m} must each be in 1..=254"
            )));
        }
        let n = k + m;
        if n > F::ORDER {
            return Err(Error::BadParameters(format!(
                "{n} blocks do not fit GF(2^{}): at most {}",
                F::BITS,
                F::ORDER
            )));
        }
        let v = Matrix::vandermonde::<F>(n, k);
        let top: Vec<usize> = (0..k).collect();
        let top_inv = v
            .select_rows(&top)
            .inverse::<F>()
            .ok_or_else(|| Error::BadParameters("singular Vandermonde block".into()))?;
        let generator = v
            .mul::<F>(&top_inv)
            .ok_or_else(|| Error::BadParameters("matrix shapes".into()))?;
        Ok(Code {
            k,
            n,
            generator,
            field: PhantomData,
        })
    }

    /// k, the number of data stripes.
    pub fn data_blocks(&self) -> usize {
        self.k
    }

    /// n, the number of blocks.
    pub fn blocks(&self) -> usize {
        self.n
    }

    /// The generator matrix (`n × k`, its top `k` rows the identity).
    pub fn generator(&self) -> &Matrix {
        &self.generator
    }

    /// The `n` blocks of `data`, whose length must be a multiple of `k` symbols: it is cut into
    /// `k` contiguous stripes (the first `k` blocks), and block `r ≥ k` is `Σ_c G[r][c] ·
    /// stripe_c`.
    pub fn encode(&self, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        let unit = self.k * F::SYMBOL_BYTES;
        if !data.len().is_multiple_of(unit) {
            return Err(Error::BadParameters(format!(
                "{} bytes are not a multiple of {unit} ({} stripes of {}-byte symbols)",
                data.len(),
                self.k,
                F::SYMBOL_BYTES
            )));
        }
        let len = data.len() / self.k;
        let stripes: Vec<&[u8]> = data.chunks(len.max(1)).take(self.k).collect();
        let mut out: Vec<Vec<u8>> = stripes.iter().map(|s| s.to_vec()).collect();
        out.resize(self.k, Vec::new());
        for r in self.k..self.n {
            let mut block = vec![0u8; len];
            for (c, stripe) in stripes.iter().enumerate() {
                add_scaled::<F>(&mut block, stripe, self.generator.get(r, c));
            }
            out.push(block);
        }
        Ok(out)
    }

    /// The data back from `blocks` (`n` entries, `None` for a lost or rejected block): any `k`
    /// present blocks, all of one length, suffice (the lowest-indexed are used).
    pub fn decode(&self, blocks: &[Option<Vec<u8>>]) -> Result<Vec<u8>> {
        if blocks.len() != self.n {
            return Err(Error::BadParameters(format!(
                "{} block slots for a code of {}",
                blocks.len(),
                self.n
            )));
        }
        let present: Vec<usize> = (0..self.n).filter(|&i| blocks[i].is_some()).collect();
        if present.len() < self.k {
            return Err(Error::NotEnoughBlocks {
                have: present.len(),
                need: self.k,
            });
        }
        let chosen = &present[..self.k];
        let rows: Vec<&[u8]> = chosen
            .iter()
            .filter_map(|&i| blocks[i].as_deref())
            .collect();
        let len = rows.first().map_or(0, |b| b.len());
        if rows.iter().any(|b| b.len() != len) || !len.is_multiple_of(F::SYMBOL_BYTES) {
            return Err(Error::BadParameters(
                "the blocks differ in length or split a symbol".into(),
            ));
        }
        // The data stripes are the chosen rows of G, inverted, applied to the chosen blocks.
        let decoder = self
            .generator
            .select_rows(chosen)
            .inverse::<F>()
            .ok_or_else(|| Error::BadParameters("the chosen blocks are dependent".into()))?;
        let mut data = Vec::with_capacity(len * self.k);
        for c in 0..self.k {
            let mut stripe = vec![0u8; len];
            for (j, row) in rows.iter().enumerate() {
                add_scaled::<F>(&mut stripe, row, decoder.get(c, j));
            }
            data.extend_from_slice(&stripe);
        }
        Ok(data)
    }
}

/// `acc += g · src`, symbol by symbol (1 byte, or 2 bytes little-endian).
fn add_scaled<F: Field>(acc: &mut [u8], src: &[u8], g: u16) {
    match (g, F::SYMBOL_BYTES) {
        (0, _) => {}
        (1, _) => {
            for (a, s) in acc.iter_mut().zip(src) {
                *a ^= s;
            }
        }
        (_, 1) => {
            // One 256-entry row of the GF(2^8) product table, as an array so that indexing by
            // a byte needs no bounds check.
            let start = usize::from(g) * 256;
            let Ok(row) = <&[u8; 256]>::try_from(&gf256_products()[start..start + 256]) else {
                return;
            };
            let mut a8 = acc.chunks_exact_mut(8);
            let mut s8 = src.chunks_exact(8);
            for (a, s) in (&mut a8).zip(&mut s8) {
                for i in 0..8 {
                    a[i] ^= row[usize::from(s[i])];
                }
            }
            for (a, s) in a8.into_remainder().iter_mut().zip(s8.remainder()) {
                *a ^= row[usize::from(*s)];
            }
        }
        _ => {
            for (a, s) in acc.chunks_exact_mut(2).zip(src.chunks_exact(2)) {
                let x = u16::from_le_bytes([s[0], s[1]]);
                let y = u16::from_le_bytes([a[0], a[1]]) ^ gf::mul::<F>(g, x);
                a.copy_from_slice(&y.to_le_bytes());
            }
        }
    }
}

/// Every product in GF(2^8): `t[a·256 + b] = a·b` (64 KiB, built once).
fn gf256_products() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = vec![0u8; 256 * 256];
        for a in 0..256u16 {
            for b in 0..256u16 {
                // Products of GF(2^8) elements are below 256.
                t[usize::from(a) * 256 + usize::from(b)] = gf::mul::<Gf256>(a, b) as u8;
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gf::Gf65536;

    fn data(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn every_k_subset_recovers<F: Field>() {
        let code = Code::<F>::new(4, 4).unwrap();
        let msg = data(4 * 2 * 96, 7);
        let blocks = code.encode(&msg).unwrap();
        assert_eq!(blocks.len(), 8);
        assert_eq!(blocks[..4].concat(), msg, "the code is systematic");
        let mut subsets = 0;
        for mask in 0u32..256 {
            if mask.count_ones() != 4 {
                continue;
            }
            let kept: Vec<Option<Vec<u8>>> = (0..8)
                .map(|i| (mask >> i & 1 == 1).then(|| blocks[i].clone()))
                .collect();
            assert_eq!(code.decode(&kept).unwrap(), msg, "subset {mask:08b}");
            subsets += 1;
        }
        assert_eq!(subsets, 70);
        // Three blocks are not enough.
        let three: Vec<Option<Vec<u8>>> =
            (0..8).map(|i| (i < 3).then(|| blocks[i].clone())).collect();
        assert_eq!(
            code.decode(&three),
            Err(Error::NotEnoughBlocks { have: 3, need: 4 })
        );
    }

    #[test]
    fn any_four_of_eight_recover_in_gf256() {
        every_k_subset_recovers::<Gf256>();
    }

    #[test]
    fn any_four_of_eight_recover_in_gf65536() {
        every_k_subset_recovers::<Gf65536>();
    }

    #[test]
    fn gf256_parity_is_byte_equal_to_reed_solomon_erasure() {
        use reed_solomon_erasure::galois_8::ReedSolomon;
        for (k, m) in [(4, 4), (2, 1), (5, 3), (10, 4)] {
            let code = Code::<Gf256>::new(k, m).unwrap();
            let msg = data(k * 1000, (k * 31 + m) as u32);
            let ours = code.encode(&msg).unwrap();
            let rs = ReedSolomon::new(k, m).unwrap();
            let mut shards: Vec<Vec<u8>> = msg.chunks(1000).map(<[u8]>::to_vec).collect();
            shards.resize(k + m, vec![0u8; 1000]);
            rs.encode(&mut shards).unwrap();
            assert_eq!(ours, shards, "k = {k}, m = {m}");
        }
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(Code::<Gf256>::new(0, 2).is_err());
        assert!(Code::<Gf256>::new(200, 100).is_err());
        assert!(Code::<Gf65536>::new(200, 100).is_ok());
        let code = Code::<Gf65536>::new(4, 2).unwrap();
        assert!(
            code.encode(&[0u8; 12]).is_err(),
            "12 bytes split a 2-byte symbol over 4 stripes"
        );
        let blocks = code.encode(&[1u8; 16]).unwrap();
        let mut uneven: Vec<Option<Vec<u8>>> = blocks.into_iter().map(Some).collect();
        if let Some(Some(b)) = uneven.get_mut(0) {
            b.push(0);
        }
        assert!(code.decode(&uneven).is_err());
        assert!(code.decode(&uneven[..5]).is_err());
    }
}
