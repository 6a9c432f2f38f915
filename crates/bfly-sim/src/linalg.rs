//! Dense linear algebra on faer, in one place: thin SVD, thin QR, truncation ranks.
//!
//! The MPS engine calls these thousands of times per circuit on small and medium matrices
//! (`2χ × 2χ` with χ up to a few hundred), so:
//! - every routine writes into caller-owned, reusable buffers ([`SvdWork`], [`QrWork`]);
//!   faer's scratch memory is kept in a [`Scratch`] that only grows;
//! - routines are generic over [`Scalar`] (`f64` or `Complex64`), because real circuits
//!   (RBS, RY, X, H, CZ, …) keep every tensor real and a real SVD is ~2× cheaper than a
//!   complex one (1.7 vs 3.0 ms at 128², 52 vs 120 ms at 512², `examples/svd_micro.rs`);
//! - everything runs with `Par::Seq`: on this 2-core machine faer's parallel SVD was
//!   slower than the sequential one at every size measured up to 512² (e.g. 2.7 vs 1.7 ms
//!   at 128², 66 vs 52 ms at 512², real), and the MPS engine uses the cores itself on
//!   independent chain segments instead (`sim/mps/parallel.rs`);
//! - faer's divide-and-conquer bidiagonal SVD is avoided: it is inaccurate on
//!   rank-deficient matrices (see [`thin_svd_vectors_into`]).
//!
//! Matrices are column-major slices throughout.
//!
//! ```
//! use bfly_sim::linalg::{thin_svd, truncation_rank};
//! use num_complex::Complex64 as C64;
//! // A rank-1 2×2 matrix [[1, 1], [1, 1]]: singular values 2 and 0.
//! let a = vec![C64::new(1.0, 0.0); 4];
//! let (u, s, v) = thin_svd(&a, 2, 2).unwrap();
//! assert!((s[0] - 2.0).abs() < 1e-12 && s[1].abs() < 1e-12);
//! assert_eq!((u.len(), v.len()), (4, 4));
//! let choice = truncation_rank(&s, 10, 0.0);
//! assert_eq!(choice.keep, 1); // the numerically-zero value is dropped
//! ```

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::svd::{ComputeSvdVectors, SvdParams};
use faer::reborrow::ReborrowMut;
use faer::traits::Conjugate;
use faer::{Accum, MatMut, MatRef, Par};
use num_complex::Complex64 as C64;

use bfly_core::error::{Error, Result};

/// Singular values at or below `NOISE_FLOOR · s_max` are treated as exact zeros and always
/// dropped: they are rounding noise (a double-precision SVD is accurate to ~1e-16·s_max),
/// and keeping them would double the bond dimension at every SWAP of unentangled qubits.
/// The weight they carry (≤ 1e-28 relative each) is still added to the discarded weight.
pub const NOISE_FLOOR: f64 = 1e-14;

/// Parallelism of every faer call here (see the module docs for the measurements).
const PAR: Par = Par::Seq;

/// The scalar types the MPS kernels run in: `f64` (real fast path) and `Complex64`.
pub trait Scalar:
    faer::traits::ComplexField
    + Copy
    + Default
    + Send
    + Sync
    + PartialEq
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
    + 'static
{
    /// `true` for `f64`.
    const REAL: bool;
    /// From a complex number (`f64` keeps the real part).
    fn from_c64(z: C64) -> Self;
    /// To a complex number.
    fn to_c64(self) -> C64;
    /// Complex conjugate.
    fn conjugate(self) -> Self;
    /// `|x|²`.
    fn modulus2(self) -> f64;
    /// Multiply by a real number.
    fn scaled(self, x: f64) -> Self;
    /// The real part.
    fn real_part(self) -> f64;
    /// 1.
    fn unit() -> Self;
}

impl Scalar for f64 {
    const REAL: bool = true;
    #[inline]
    fn from_c64(z: C64) -> Self {
        z.re
    }
    #[inline]
    fn to_c64(self) -> C64 {
        C64::new(self, 0.0)
    }
    #[inline]
    fn conjugate(self) -> Self {
        self
    }
    #[inline]
    fn modulus2(self) -> f64 {
        self * self
    }
    #[inline]
    fn scaled(self, x: f64) -> Self {
        self * x
    }
    #[inline]
    fn real_part(self) -> f64 {
        self
    }
    #[inline]
    fn unit() -> Self {
        1.0
    }
}

impl Scalar for C64 {
    const REAL: bool = false;
    #[inline]
    fn from_c64(z: C64) -> Self {
        z
    }
    #[inline]
    fn to_c64(self) -> C64 {
        self
    }
    #[inline]
    fn conjugate(self) -> Self {
        self.conj()
    }
    #[inline]
    fn modulus2(self) -> f64 {
        self.norm_sqr()
    }
    #[inline]
    fn scaled(self, x: f64) -> Self {
        self * x
    }
    #[inline]
    fn real_part(self) -> f64 {
        self.re
    }
    #[inline]
    fn unit() -> Self {
        C64::new(1.0, 0.0)
    }
}

/// Copy complex values into a `T` buffer (the real fast path keeps the real parts).
pub fn load<T: Scalar>(src: &[C64], dst: &mut Vec<T>) {
    dst.clear();
    dst.extend(src.iter().map(|&z| T::from_c64(z)));
}

/// Resize `v` to `len` without caring about the contents (reuses capacity).
pub fn resize<T: Scalar>(v: &mut Vec<T>, len: usize) {
    v.clear();
    v.resize(len, T::default());
}

/// faer scratch memory that grows on demand and is reused across calls.
#[derive(Default)]
pub struct Scratch {
    buffer: Option<MemBuffer>,
    bytes: usize,
}

impl Scratch {
    /// A stack with room for `req`, reallocating only if the current buffer is too small.
    pub fn stack(&mut self, req: StackReq) -> &mut MemStack {
        // `unaligned_bytes_required` covers any alignment offset inside the buffer.
        let need = req.unaligned_bytes_required().max(1);
        if self.buffer.is_none() || need > self.bytes {
            let bytes = need.max(self.bytes * 3 / 2);
            self.buffer = Some(MemBuffer::new(StackReq::new::<u8>(bytes)));
            self.bytes = bytes;
        }
        MemStack::new(self.buffer.as_mut().expect("allocated above"))
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} bytes)", self.bytes)
    }
}

/// Reusable output buffers of a thin SVD `A = U diag(s) Vᴴ` of an `m × n` matrix,
/// `k = min(m, n)`.
#[derive(Debug, Default)]
pub struct SvdWork<T: Scalar> {
    /// `U`, `m × k`, column-major (empty if not requested).
    pub u: Vec<T>,
    /// `V` (not `Vᴴ`), `n × k`, column-major (empty if not requested).
    pub v: Vec<T>,
    /// Singular values, descending.
    pub s: Vec<f64>,
    /// How many SVDs through this workspace fell back to faer's divide-and-conquer driver
    /// because the bidiagonal QR iteration did not converge (the MPS engines put this
    /// count in their truncation report).
    pub fallbacks: usize,
    diag: Vec<T>,
    scratch: Scratch,
}

/// Which singular vectors [`thin_svd_vectors_into`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvdVectors {
    /// Both `U` and `V`.
    Both,
    /// Only `U` (the right factor can then be formed as `Uᴴ A`).
    Left,
    /// Only `V` (the left factor can then be formed as `A V`).
    Right,
}

/// Thin SVD of the column-major `m × n` matrix `a` into `work`; returns `k = min(m, n)`.
pub fn thin_svd_into<T: Scalar>(
    a: &[T],
    m: usize,
    n: usize,
    work: &mut SvdWork<T>,
) -> Result<usize> {
    thin_svd_vectors_into(a, m, n, SvdVectors::Both, work)
}

/// Thin SVD computing only the requested singular vectors (accumulating one side's
/// rotations instead of two saves ~25 % of the time at 128²).
pub fn thin_svd_vectors_into<T: Scalar>(
    a: &[T],
    m: usize,
    n: usize,
    vectors: SvdVectors,
    work: &mut SvdWork<T>,
) -> Result<usize> {
    if a.len() != m * n {
        return Err(Error::InvalidInput(format!(
            "SVD of a {m}×{n} matrix given {} entries",
            a.len()
        )));
    }
    faer_thin_svd(a, m, n, vectors, work)
}

/// faer's SVD driver (bidiagonal QR iteration forced, see below).
fn faer_thin_svd<T: Scalar>(
    a: &[T],
    m: usize,
    n: usize,
    vectors: SvdVectors,
    work: &mut SvdWork<T>,
) -> Result<usize> {
    let k = m.min(n);
    let (want_u, want_v) = match vectors {
        SvdVectors::Both => (true, true),
        SvdVectors::Left => (true, false),
        SvdVectors::Right => (false, true),
    };
    resize(&mut work.u, if want_u { m * k } else { 0 });
    resize(&mut work.v, if want_v { n * k } else { 0 });
    resize(&mut work.diag, k);
    work.s.clear();
    if k == 0 {
        return Ok(0);
    }
    let flag = |w: bool| {
        if w {
            ComputeSvdVectors::Thin
        } else {
            ComputeSvdVectors::No
        }
    };
    let par = PAR;
    // faer 0.24's divide-and-conquer bidiagonal SVD (used from 128 columns up by default)
    // is inaccurate on rank-deficient matrices: reconstruction errors ~1e-3 on a
    // 128×128 rank-64 block, and spurious singular values ~1e-4 where 0 is exact
    // (see `svd_of_rank_deficient_blocks_is_accurate` below). Two-site MPS blocks are
    // rank-deficient all the time, so the bidiagonal QR algorithm is forced for every
    // size (measured as fast as divide-and-conquer up to 512² here); divide-and-conquer is
    // kept only as a fallback if the QR iteration fails to converge.
    let mut result = Err(Error::Numerical(String::new()));
    for (attempt, threshold) in [usize::MAX, 128].into_iter().enumerate() {
        if attempt > 0 {
            work.fallbacks += 1;
        }
        let mut params: faer::Spec<SvdParams, T> = Default::default();
        params.recursion_threshold = threshold;
        let req =
            faer::linalg::svd::svd_scratch::<T>(m, n, flag(want_u), flag(want_v), par, params);
        let stack = work.scratch.stack(req);
        let u = want_u.then(|| MatMut::from_column_major_slice_mut(&mut work.u, m, k));
        let v = want_v.then(|| MatMut::from_column_major_slice_mut(&mut work.v, n, k));
        result = faer::linalg::svd::svd(
            MatRef::from_column_major_slice(a, m, n),
            faer::diag::DiagMut::from_slice_mut(&mut work.diag),
            u,
            v,
            par,
            stack,
            params,
        )
        .map_err(|e| {
            Error::Numerical(format!(
                "the SVD of a {m}×{n} matrix did not converge ({e:?}); the state may contain NaN or infinite values"
            ))
        });
        if result.is_ok() {
            break;
        }
    }
    result?;
    work.s.extend(work.diag.iter().map(|d| d.real_part()));
    if work.s.iter().any(|x| !x.is_finite()) {
        return Err(Error::Numerical(format!(
            "the SVD of a {m}×{n} matrix produced non-finite singular values; the state contains NaN or infinite values"
        )));
    }
    Ok(k)
}

/// Convenience thin SVD with fresh buffers: `(U (m×k), s, V (n×k))`, column-major.
pub fn thin_svd(a: &[C64], m: usize, n: usize) -> Result<(Vec<C64>, Vec<f64>, Vec<C64>)> {
    if a.len() != m * n {
        return Err(Error::InvalidInput(format!(
            "thin_svd: a {m}×{n} matrix needs {} entries, got {}",
            m * n,
            a.len()
        )));
    }
    let mut work = SvdWork::<C64>::default();
    thin_svd_into(a, m, n, &mut work)?;
    Ok((work.u, work.s, work.v))
}

/// Reusable buffers of a thin QR `A = Q R` of an `m × n` matrix, `k = min(m, n)`.
#[derive(Debug, Default)]
pub struct QrWork<T: Scalar> {
    /// `Q`, `m × k`, column-major, orthonormal columns.
    pub q: Vec<T>,
    /// `R`, `k × n`, column-major, upper trapezoidal.
    pub r: Vec<T>,
    factors: Vec<T>,
    coeff: Vec<T>,
    scratch: Scratch,
}

/// Thin QR of the column-major `m × n` matrix `a`, or of its adjoint `aᴴ` (`n × m`) if
/// `adjoint`; returns `k = min(m, n)`. `Q` is `rows × k`, `R` is `k × cols` of the
/// factored matrix.
pub fn thin_qr_into<T: Scalar>(
    a: &[T],
    m: usize,
    n: usize,
    adjoint: bool,
    work: &mut QrWork<T>,
) -> usize {
    let view = MatRef::from_column_major_slice(a, m, n);
    let (m, n) = if adjoint { (n, m) } else { (m, n) };
    let k = m.min(n);
    resize(&mut work.q, m * k);
    resize(&mut work.r, k * n);
    if k == 0 {
        return 0;
    }
    resize(&mut work.factors, m * n);
    let mut f = MatMut::from_column_major_slice_mut(&mut work.factors, m, n);
    if adjoint {
        f.copy_from(view.adjoint());
    } else {
        f.copy_from(view);
    }
    let par = PAR;
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<T>(m, n);
    resize(&mut work.coeff, bs * k);
    let req = StackReq::any_of(&[
        faer::linalg::qr::no_pivoting::factor::qr_in_place_scratch::<T>(
            m,
            n,
            bs,
            par,
            Default::default(),
        ),
        faer::linalg::householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(
            m, bs, k,
        ),
    ]);
    let stack = work.scratch.stack(req);
    let mut coeff = MatMut::from_column_major_slice_mut(&mut work.coeff, bs, k);
    faer::linalg::qr::no_pivoting::factor::qr_in_place(
        f.rb_mut(),
        coeff.rb_mut(),
        par,
        stack,
        Default::default(),
    );
    // R: upper trapezoid of the first k rows.
    let f = MatRef::from_column_major_slice(&work.factors, m, n);
    for j in 0..n {
        for i in 0..k {
            work.r[i + k * j] = if i <= j { f[(i, j)] } else { T::default() };
        }
    }
    // Q: apply the Householder sequence to the first k columns of the identity. The
    // sequence reads only the strictly-lower (essential) part of the factors.
    for j in 0..k {
        work.q[j + m * j] = T::unit();
    }
    let stack = work.scratch.stack(req);
    faer::linalg::householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        f.get(.., ..k),
        MatRef::from_column_major_slice(&work.coeff, bs, k),
        faer::Conj::No,
        MatMut::from_column_major_slice_mut(&mut work.q, m, k),
        par,
        stack,
    );
    k
}

/// `dst (m×n) = lhs (m×k) · rhs (k×n)`; `lhs`/`rhs` may be conjugated or adjoint views.
pub(crate) fn matmul_into<T, L, R>(dst: MatMut<'_, T>, lhs: MatRef<'_, L>, rhs: MatRef<'_, R>)
where
    T: Scalar,
    L: Conjugate<Canonical = T>,
    R: Conjugate<Canonical = T>,
{
    let par = PAR;
    faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, T::unit(), par);
}

/// Outcome of choosing how many singular values to keep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruncationChoice {
    /// Number of singular values kept (≥ 1 unless the input is empty).
    pub keep: usize,
    /// `Σ s²` over all values.
    pub total_weight: f64,
    /// `Σ s²` over the dropped values (including numerical zeros).
    pub discarded_weight: f64,
    /// True if the χ or cutoff rule dropped values above the noise floor.
    pub truncated: bool,
}

/// How many of the descending singular values `s` to keep under a bond cap `max_bond` and a
/// relative discarded-weight `cutoff` (ITensor semantics: drop the longest tail with
/// `Σ_tail s² ≤ cutoff · Σ s²`), after always dropping values `≤ NOISE_FLOOR · s_max`.
pub fn truncation_rank(s: &[f64], max_bond: usize, cutoff: f64) -> TruncationChoice {
    let total: f64 = s.iter().map(|x| x * x).sum();
    if s.is_empty() {
        return TruncationChoice {
            keep: 0,
            total_weight: 0.0,
            discarded_weight: 0.0,
            truncated: false,
        };
    }
    let floor = s[0] * NOISE_FLOOR;
    let nonzero = s.iter().take_while(|&&x| x > floor).count().max(1);
    let mut keep = nonzero.min(max_bond.max(1));
    if cutoff > 0.0 && total > 0.0 {
        // Walk the tail from the smallest kept value while the dropped weight stays within
        // the budget (the floor-dropped values count against the budget too).
        let budget = cutoff * total;
        let mut dropped: f64 = s[keep..].iter().map(|x| x * x).sum();
        while keep > 1 {
            let w = s[keep - 1] * s[keep - 1];
            if dropped + w > budget {
                break;
            }
            dropped += w;
            keep -= 1;
        }
    }
    let discarded: f64 = s[keep..].iter().map(|x| x * x).sum();
    TruncationChoice {
        keep,
        total_weight: total,
        discarded_weight: discarded,
        truncated: keep < nonzero,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_reconstructs_and_is_orthonormal() {
        let (m, n) = (7, 4);
        let a: Vec<C64> = (0..m * n)
            .map(|i| C64::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos()))
            .collect();
        let mut w = QrWork::<C64>::default();
        let k = thin_qr_into(&a, m, n, false, &mut w);
        assert_eq!(k, 4);
        for i in 0..m {
            for j in 0..n {
                let qr: C64 = (0..k).map(|t| w.q[i + m * t] * w.r[t + k * j]).sum();
                assert!((qr - a[i + m * j]).norm() < 1e-12);
            }
        }
        for x in 0..k {
            for y in 0..k {
                let d: C64 = (0..m).map(|i| w.q[i + m * x].conj() * w.q[i + m * y]).sum();
                let e = if x == y { 1.0 } else { 0.0 };
                assert!((d - e).norm() < 1e-12);
            }
        }
    }

    #[test]
    fn svd_reconstructs() {
        let (m, n) = (5, 8);
        let a: Vec<f64> = (0..m * n).map(|i| (i as f64 * 0.77).sin()).collect();
        let mut w = SvdWork::<f64>::default();
        let k = thin_svd_into(&a, m, n, &mut w).unwrap();
        for i in 0..m {
            for j in 0..n {
                let x: f64 = (0..k)
                    .map(|t| w.u[i + m * t] * w.s[t] * w.v[j + n * t])
                    .sum();
                assert!((x - a[i + m * j]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn truncation_rules() {
        let s = [0.8, 0.5, 0.3, 0.1];
        let total: f64 = s.iter().map(|x| x * x).sum();
        assert_eq!(truncation_rank(&s, 2, 0.0).keep, 2);
        // 0.1² / total ≈ 0.0101: a cutoff of 0.011 drops it, 0.3² more is too much.
        let c = truncation_rank(&s, 10, 0.011);
        assert_eq!(c.keep, 3);
        assert!((c.discarded_weight - 0.01).abs() < 1e-15);
        assert!(c.truncated);
        assert!((c.total_weight - total).abs() < 1e-15);
        assert_eq!(truncation_rank(&[1.0, 1e-17], 10, 0.0).keep, 1);
        assert!(!truncation_rank(&[1.0, 1e-17], 10, 0.0).truncated);
    }

    /// Regression test for the faer divide-and-conquer inaccuracy worked around in
    /// [`thin_svd_into`]: a 128×128 complex matrix of rank 64 must reconstruct to rounding.
    #[test]
    fn svd_of_rank_deficient_blocks_is_accurate() {
        let mk = |i: usize| {
            C64::new(
                (i * 37 % 101) as f64 / 50.0 - 1.0,
                (i * 17 % 89) as f64 / 44.0 - 1.0,
            )
        };
        for &(m, r) in &[(128usize, 64usize), (129, 64), (256, 128), (300, 20)] {
            let x: Vec<C64> = (0..m * r).map(mk).collect();
            let y: Vec<C64> = (0..r * m).map(|i| mk(7777 + i)).collect();
            let mut a = vec![C64::new(0.0, 0.0); m * m];
            matmul_into(
                MatMut::from_column_major_slice_mut(&mut a, m, m),
                MatRef::from_column_major_slice(&x, m, r),
                MatRef::from_column_major_slice(&y, r, m),
            );
            let mut w = SvdWork::<C64>::default();
            let k = thin_svd_into(&a, m, m, &mut w).unwrap();
            let scale = w.s[0];
            let mut err: f64 = 0.0;
            for i in 0..m {
                for j in 0..m {
                    let x: C64 = (0..k)
                        .map(|t| w.u[i + m * t] * w.s[t] * w.v[j + m * t].conj())
                        .sum();
                    err = err.max((x - a[i + m * j]).norm());
                }
            }
            assert!(err < 1e-13 * scale, "{m}×{m} rank {r}: error {err:e}");
            assert!(
                w.s[r] < 1e-13 * scale,
                "{m}×{m} rank {r}: s[r] = {:e}",
                w.s[r]
            );
        }
    }
}
