//! A small exact linear solver: Gaussian elimination over arbitrary-precision rationals.
//!
//! The regressions of [`crate::query`] decode to normal equations whose entries are exact
//! rationals (sums of integers over powers of ten). Solving them exactly, rather than in floating
//! point, means the decoded coefficients do not depend on the conditioning of the system, and a
//! singular system (collinear features, too few rows) is detected exactly: a pivot is zero or it
//! is not. Only the final coefficients are rounded to `f64`.

use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};

use crate::error::{Error, Result};

/// Solves `a · x = b` exactly. `a` is square (`n × n`, `n >= 1`) and `b` has `n` entries.
///
/// Returns [`Error::Singular`] if `a` is singular and [`Error::InvalidOperation`] if the shapes
/// do not agree.
pub fn solve(mut a: Vec<Vec<BigRational>>, mut b: Vec<BigRational>) -> Result<Vec<BigRational>> {
    let n = a.len();
    if n == 0 || b.len() != n || a.iter().any(|row| row.len() != n) {
        return Err(Error::InvalidOperation(format!(
            "a linear system needs an n×n matrix and n right-hand sides (got {} rows, {} right-hand sides)",
            n,
            b.len()
        )));
    }
    for col in 0..n {
        let pivot = (col..n)
            .find(|&r| !a[r][col].is_zero())
            .ok_or(Error::Singular { dimension: n })?;
        a.swap(col, pivot);
        b.swap(col, pivot);
        for r in col + 1..n {
            let (top, bottom) = a.split_at_mut(r);
            let (pivot_row, row) = (&top[col], &mut bottom[0]);
            if row[col].is_zero() {
                continue;
            }
            let factor = &row[col] / &pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= &factor * p;
            }
            let delta = &factor * &b[col];
            b[r] -= delta;
        }
    }
    let mut x = vec![BigRational::zero(); n];
    for row in (0..n).rev() {
        let mut acc = b[row].clone();
        for c in row + 1..n {
            acc -= &a[row][c] * &x[c];
        }
        x[row] = acc / &a[row][row];
    }
    Ok(x)
}

/// The `f64` nearest to `q` (infinite if `q` is beyond `f64`'s range).
pub fn to_f64(q: &BigRational) -> f64 {
    q.to_f64().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn solves_exactly() {
        // x + 2y = 5, 3x + 4y = 6  =>  x = -4, y = 9/2.
        let a = vec![vec![q(1, 1), q(2, 1)], vec![q(3, 1), q(4, 1)]];
        let x = solve(a, vec![q(5, 1), q(6, 1)]).expect("solve");
        assert_eq!(x, vec![q(-4, 1), q(9, 2)]);
    }

    #[test]
    fn pivots_past_a_zero() {
        let a = vec![
            vec![q(0, 1), q(1, 1), q(0, 1)],
            vec![q(1, 1), q(0, 1), q(0, 1)],
            vec![q(0, 1), q(0, 1), q(1, 3)],
        ];
        let x = solve(a, vec![q(2, 1), q(3, 1), q(1, 1)]).expect("solve");
        assert_eq!(x, vec![q(3, 1), q(2, 1), q(3, 1)]);
    }

    #[test]
    fn singular_and_malformed_systems_are_errors() {
        let a = vec![vec![q(1, 1), q(2, 1)], vec![q(2, 1), q(4, 1)]];
        assert!(matches!(
            solve(a, vec![q(1, 1), q(2, 1)]),
            Err(Error::Singular { dimension: 2 })
        ));
        assert!(matches!(
            solve(vec![vec![q(1, 1)]], vec![]),
            Err(Error::InvalidOperation(_))
        ));
        assert!(matches!(
            solve(vec![], vec![]),
            Err(Error::InvalidOperation(_))
        ));
    }

    #[test]
    fn hilbert_matrix_is_solved_exactly() {
        // The 8×8 Hilbert matrix is famously ill-conditioned (condition number ~1.5e10); exact
        // elimination recovers x = (1, ..., 1) from b = H·1 without error.
        let n = 8;
        let h: Vec<Vec<BigRational>> = (0..n)
            .map(|i| (0..n).map(|j| q(1, (i + j + 1) as i64)).collect())
            .collect();
        let b: Vec<BigRational> = h
            .iter()
            .map(|row| row.iter().fold(BigRational::zero(), |acc, v| acc + v))
            .collect();
        let x = solve(h, b).expect("solve");
        assert!(x.iter().all(|v| *v == q(1, 1)));
        assert_eq!(to_f64(&q(1, 3)), 1.0 / 3.0);
    }
}
