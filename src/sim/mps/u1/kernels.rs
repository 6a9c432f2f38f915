//! Block-sparse kernels of the U(1) MPS: two-site update with blockwise SVDs and one
//! global truncation, and centre moves by blockwise QR.
//!
//! Storage (see [`super::U1Mps`]): bond `i` has sector dimensions `dims[i][q]` for charges
//! `q = 0..=n+1` (`0` = absent sector; index `n + 1` is always absent so `q + 1` never
//! overflows). Site `i` holds `blocks[i][2q + s]`, the `dims[i][q] × dims[i+1][q+s]` block
//! of `A[(l,q), s, (r,q+s)]`, column-major (empty when either side is absent).
//!
//! A two-site block `θ[(l,ql), s1, s2, (r,qr)]` with a weight-preserving gate only couples
//! `(s1 s2) = (01)` and `(10)` at equal `(ql, qr)`; after the gate it splits by the middle
//! charge `qm = ql + s1` into independent matrices with rows `(ql = qm, s1 = 0) ⊕ (ql =
//! qm − 1, s1 = 1)` and columns `(s2 = 0, qr = qm) ⊕ (s2 = 1, qr = qm + 1)`. Each is
//! factored by the same SVD wrapper as the dense engine ([`crate::linalg`]), and the kept
//! singular values are chosen over all blocks together with the dense engine's rule
//! ([`truncation_rank`]), so χ bounds the *total* bond dimension.

use faer::{MatMut, MatRef};
use num_complex::Complex64 as C64;

use crate::circuit::Mat4;
use crate::error::Result;
use crate::linalg::{
    load, matmul_into, thin_qr_into, thin_svd_vectors_into, truncation_rank, QrWork, Scalar,
    SvdVectors, SvdWork, TruncationChoice,
};
use crate::sim::mps::truncation::Truncation;

/// Blocks whose smaller side is at least this large are factored on separate threads
/// when a two-site update has two or more of them.
const PARALLEL_SVD_MIN: usize = 48;

/// Reusable factorisation buffers for one scalar type.
#[derive(Debug, Default)]
pub(crate) struct U1Bufs<T: Scalar> {
    svd: SvdWork<T>,
    qr: QrWork<T>,
}

/// Buffers of a state (never serialised; a clone starts empty).
#[derive(Debug, Default)]
pub(crate) struct U1Workspace {
    pub re: U1Bufs<f64>,
    pub cx: U1Bufs<C64>,
}

impl Clone for U1Workspace {
    fn clone(&self) -> Self {
        U1Workspace::default()
    }
}

/// `a (m×k) · b (k×n)`, column-major.
fn mul<T: Scalar>(a: &[T], m: usize, k: usize, b: &[T], n: usize) -> Vec<T> {
    let mut out = vec![T::default(); m * n];
    if m * n > 0 && k > 0 {
        matmul_into(
            MatMut::from_column_major_slice_mut(&mut out, m, n),
            MatRef::from_column_major_slice(a, m, k),
            MatRef::from_column_major_slice(b, k, n),
        );
    }
    out
}

fn to_t<T: Scalar>(src: &[C64]) -> Vec<T> {
    let mut v = Vec::with_capacity(src.len());
    load(src, &mut v);
    v
}

fn to_c64<T: Scalar>(src: &[T], scale: f64) -> Vec<C64> {
    if scale == 1.0 {
        src.iter().map(|x| x.to_c64()).collect()
    } else {
        src.iter().map(|x| x.scaled(scale).to_c64()).collect()
    }
}

/// Rows `r0..r1` of the first `k` columns of a column-major `rows × _` matrix.
fn row_slice<T: Scalar>(a: &[T], rows: usize, r0: usize, r1: usize, k: usize) -> Vec<T> {
    let mut out = Vec::with_capacity((r1 - r0) * k);
    for j in 0..k {
        out.extend_from_slice(&a[j * rows + r0..j * rows + r1]);
    }
    out
}

/// Columns `c0..c1` of a column-major matrix with `rows` rows.
fn col_slice<T: Scalar>(a: &[T], rows: usize, c0: usize, c1: usize) -> Vec<T> {
    a[c0 * rows..c1 * rows].to_vec()
}

/// Write `src` (`r × c`) into `dst` (`rows × _`) at row `r0`, column `c0`.
fn put<T: Scalar>(dst: &mut [T], rows: usize, src: &[T], r: usize, c: usize, r0: usize, c0: usize) {
    for j in 0..c {
        dst[(c0 + j) * rows + r0..(c0 + j) * rows + r0 + r]
            .copy_from_slice(&src[j * r..(j + 1) * r]);
    }
}

/// Result of a block-sparse two-site update.
#[derive(Clone, Debug)]
pub(crate) struct U1Split {
    /// New sector dimensions of the middle bond.
    pub dims: Vec<usize>,
    /// The global truncation decision (same fields as the dense engine's).
    pub choice: TruncationChoice,
}

/// True if `g` (index `2·s1 + s2`) maps each Hamming-weight sector into itself, up to
/// `tol` relative to its largest entry.
pub(crate) fn conserves_weight4(g: &Mat4) -> bool {
    let scale = g.iter().flatten().map(|z| z.norm()).fold(0.0, f64::max);
    let tol = 1e-12 * scale.max(1.0);
    let weight = [0, 1, 1, 2];
    (0..4).all(|r| (0..4).all(|c| weight[r] == weight[c] || g[r][c].norm() <= tol))
}

/// Apply the weight-preserving 4×4 `gate` to sites `left`, `right` (bonds `dl`, `dm`,
/// `dr`), split blockwise by SVD, truncate over all blocks with `policy`, and write back
/// (singular values into the right site if `centre_right`). Renormalised to the
/// pre-truncation norm as in the dense engine. On error the sites are unchanged.
#[allow(clippy::too_many_arguments)]
pub(crate) fn two_site<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    left: &mut [Vec<C64>],
    right: &mut [Vec<C64>],
    dl: &[usize],
    dm: &[usize],
    dr: &[usize],
    gate: &Mat4,
    policy: &Truncation,
    centre_right: bool,
) -> Result<U1Split> {
    let nq = dl.len(); // n + 2 charges (the last always absent)
    let nl = left.len() / 2; // charges with blocks: 0..=n
                             // θ[ql][2 s1 + s2]: dl[ql] × dr[ql + s1 + s2].
    let mut th: Vec<[Option<Vec<T>>; 4]> = (0..nl).map(|_| Default::default()).collect();
    for ql in 0..nl {
        if dl[ql] == 0 {
            continue;
        }
        for s1 in 0..2 {
            let qm = ql + s1;
            if qm >= nq || dm[qm] == 0 {
                continue;
            }
            if left[2 * ql + s1].is_empty() {
                continue;
            }
            let a: Vec<T> = to_t(&left[2 * ql + s1]);
            for s2 in 0..2 {
                let qr = qm + s2;
                if qr >= nq || dr[qr] == 0 || qm >= nl || right[2 * qm + s2].is_empty() {
                    continue;
                }
                let b: Vec<T> = to_t(&right[2 * qm + s2]);
                th[ql][2 * s1 + s2] = Some(mul(&a, dl[ql], dm[qm], &b, dr[qr]));
            }
        }
    }
    // The gate: phases on (00) and (11), a 2×2 mix of (01) and (10).
    let g: [[T; 4]; 4] = gate.map(|row| row.map(T::from_c64));
    for (ql, t) in th.iter_mut().enumerate() {
        for (idx, phase) in [(0, g[0][0]), (3, g[3][3])] {
            if let Some(x) = t[idx].as_mut() {
                if phase != T::unit() {
                    x.iter_mut().for_each(|v| *v = phase * *v);
                }
            }
        }
        if t[1].is_none() && t[2].is_none() {
            continue;
        }
        let len = dl[ql] * dr[ql + 1];
        let x = t[1].take().unwrap_or_else(|| vec![T::default(); len]);
        let y = t[2].take().unwrap_or_else(|| vec![T::default(); len]);
        let mut nx = vec![T::default(); len];
        let mut ny = vec![T::default(); len];
        for i in 0..len {
            nx[i] = g[1][1] * x[i] + g[1][2] * y[i];
            ny[i] = g[2][1] * x[i] + g[2][2] * y[i];
        }
        t[1] = Some(nx);
        t[2] = Some(ny);
    }
    // Blocks by middle charge, each factored on its own.
    let side = if centre_right {
        SvdVectors::Left
    } else {
        SvdVectors::Right
    };
    struct Sector<T> {
        rows: usize,
        cols: usize,
        m: Vec<T>,
        s: Vec<f64>,
        vecs: Vec<T>,
    }
    let mut sectors: Vec<Option<Sector<T>>> = (0..nl).map(|_| None).collect();
    let mut all: Vec<(f64, usize)> = Vec::new();
    for qm in 0..nl {
        let top = dl[qm];
        let bottom = if qm > 0 { dl[qm - 1] } else { 0 };
        let (c0, c1) = (dr[qm], dr[qm + 1]);
        let (rows, cols) = (top + bottom, c0 + c1);
        if rows == 0 || cols == 0 {
            continue;
        }
        let parts = [
            (th[qm][0].as_ref(), top, c0, 0, 0),
            (th[qm][1].as_ref(), top, c1, 0, c0),
            (
                qm.checked_sub(1).and_then(|p| th[p][2].as_ref()),
                bottom,
                c0,
                top,
                0,
            ),
            (
                qm.checked_sub(1).and_then(|p| th[p][3].as_ref()),
                bottom,
                c1,
                top,
                c0,
            ),
        ];
        if parts.iter().all(|p| p.0.is_none()) {
            continue;
        }
        let mut m = vec![T::default(); rows * cols];
        for (src, r, c, r0, col0) in parts {
            if let Some(src) = src {
                put(&mut m, rows, src, r, c, r0, col0);
            }
        }
        sectors[qm] = Some(Sector {
            rows,
            cols,
            m,
            s: Vec::new(),
            vecs: Vec::new(),
        });
    }
    // Factor the blocks: the large ones on rayon's threads (independent SVDs; each
    // sequential inside, as everywhere in linalg), the small ones here.
    let factor = |sec: &mut Sector<T>, work: &mut SvdWork<T>| -> Result<()> {
        let k0 = thin_svd_vectors_into(&sec.m, sec.rows, sec.cols, side, work)?;
        sec.s = work.s[..k0].to_vec();
        sec.vecs = if centre_right {
            work.u[..sec.rows * k0].to_vec()
        } else {
            work.v[..sec.cols * k0].to_vec()
        };
        Ok(())
    };
    let (mut large, mut small): (Vec<&mut Sector<T>>, Vec<&mut Sector<T>>) = sectors
        .iter_mut()
        .flatten()
        .partition(|sec| sec.rows.min(sec.cols) >= PARALLEL_SVD_MIN);
    if large.len() >= 2 {
        use rayon::prelude::*;
        large
            .par_iter_mut()
            .map(|sec| factor(sec, &mut SvdWork::default()))
            .collect::<Result<Vec<()>>>()?;
    } else {
        small.append(&mut large);
    }
    for sec in small {
        factor(sec, &mut bufs.svd)?;
    }
    for (qm, sec) in sectors.iter().enumerate() {
        if let Some(sec) = sec {
            all.extend(sec.s.iter().map(|&x| (x, qm)));
        }
    }
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let sorted: Vec<f64> = all.iter().map(|x| x.0).collect();
    let choice = truncation_rank(&sorted, policy.max_bond, policy.cutoff);
    let mut keep = vec![0usize; nq];
    for &(_, qm) in &all[..choice.keep.min(all.len())] {
        keep[qm] += 1;
    }
    let kept = choice.total_weight - choice.discarded_weight;
    let renorm = if kept > 0.0 {
        (choice.total_weight / kept).sqrt()
    } else {
        1.0
    };
    for b in left.iter_mut().chain(right.iter_mut()) {
        b.clear();
    }
    for (qm, sector) in sectors.into_iter().enumerate() {
        let Some(sec) = sector else { continue };
        let k = keep[qm];
        if k == 0 {
            continue;
        }
        let top = dl[qm];
        let (c0, rows, cols) = (dr[qm], sec.rows, sec.cols);
        debug_assert!(k <= sec.s.len());
        if centre_right {
            // Left: Uₖ split by rows; right: renorm · Uₖᴴ M split by columns.
            let u = &sec.vecs[..rows * k];
            if top > 0 {
                left[2 * qm] = to_c64(&row_slice(u, rows, 0, top, k), 1.0);
            }
            if rows > top {
                left[2 * (qm - 1) + 1] = to_c64(&row_slice(u, rows, top, rows, k), 1.0);
            }
            let mut w = vec![T::default(); k * cols];
            matmul_into(
                MatMut::from_column_major_slice_mut(&mut w, k, cols),
                MatRef::from_column_major_slice(u, rows, k).adjoint(),
                MatRef::from_column_major_slice(&sec.m, rows, cols),
            );
            if c0 > 0 {
                right[2 * qm] = to_c64(&col_slice(&w, k, 0, c0), renorm);
            }
            if cols > c0 {
                right[2 * qm + 1] = to_c64(&col_slice(&w, k, c0, cols), renorm);
            }
        } else {
            // Right: Vₖᴴ split by columns; left: renorm · M Vₖ split by rows.
            let v = &sec.vecs[..cols * k];
            let mut vh = vec![T::default(); k * cols];
            for j in 0..k {
                for c in 0..cols {
                    vh[j + k * c] = v[c + cols * j].conjugate();
                }
            }
            if c0 > 0 {
                right[2 * qm] = to_c64(&col_slice(&vh, k, 0, c0), 1.0);
            }
            if cols > c0 {
                right[2 * qm + 1] = to_c64(&col_slice(&vh, k, c0, cols), 1.0);
            }
            let w = mul(&sec.m, rows, cols, v, k);
            if top > 0 {
                left[2 * qm] = to_c64(&row_slice(&w, rows, 0, top, k), renorm);
            }
            if rows > top {
                left[2 * (qm - 1) + 1] = to_c64(&row_slice(&w, rows, top, rows, k), renorm);
            }
        }
    }
    Ok(U1Split { dims: keep, choice })
}

/// Move the centre from `site` to `next` by a QR of each right-charge block of `site`
/// (rows `(l, s)` with `q_l + s = q_r`); returns the new sector dimensions of the bond.
pub(crate) fn shift_right<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    site: &mut [Vec<C64>],
    next: &mut [Vec<C64>],
    dl: &[usize],
    dm: &[usize],
    dr: &[usize],
) -> Vec<usize> {
    let nq = dl.len();
    let nl = site.len() / 2;
    let mut out = vec![0usize; nq];
    for qm in 0..nl {
        let (top, bottom) = (dl[qm], if qm > 0 { dl[qm - 1] } else { 0 });
        let (rows, d) = (top + bottom, dm[qm]);
        if d == 0 {
            continue;
        }
        if rows == 0 {
            // Nothing on the left reaches this charge: the sector carries no weight.
            next[2 * qm].clear();
            next[2 * qm + 1].clear();
            continue;
        }
        let mut x = vec![T::default(); rows * d];
        if top > 0 && !site[2 * qm].is_empty() {
            put(&mut x, rows, &to_t::<T>(&site[2 * qm]), top, d, 0, 0);
        }
        if bottom > 0 && !site[2 * (qm - 1) + 1].is_empty() {
            put(
                &mut x,
                rows,
                &to_t::<T>(&site[2 * (qm - 1) + 1]),
                bottom,
                d,
                top,
                0,
            );
        }
        let k = thin_qr_into(&x, rows, d, false, &mut bufs.qr);
        let q = &bufs.qr.q;
        if top > 0 {
            site[2 * qm] = to_c64(&row_slice(q, rows, 0, top, k), 1.0);
        }
        if bottom > 0 {
            site[2 * (qm - 1) + 1] = to_c64(&row_slice(q, rows, top, rows, k), 1.0);
        }
        for s in 0..2 {
            let dr_s = dr[qm + s];
            if dr_s == 0 || next[2 * qm + s].is_empty() {
                next[2 * qm + s].clear();
                continue;
            }
            let b: Vec<T> = to_t(&next[2 * qm + s]);
            next[2 * qm + s] = to_c64(&mul(&bufs.qr.r, k, d, &b, dr_s), 1.0);
        }
        out[qm] = k;
    }
    out
}

/// Move the centre from `site` to `prev` by an LQ of each left-charge block of `site`
/// (columns `(s, r)`); returns the new sector dimensions of the bond between them.
pub(crate) fn shift_left<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    site: &mut [Vec<C64>],
    prev: &mut [Vec<C64>],
    dl0: &[usize],
    dl: &[usize],
    dr: &[usize],
) -> Vec<usize> {
    let nq = dl.len();
    let nl = site.len() / 2;
    let mut out = vec![0usize; nq];
    for ql in 0..nl {
        let (d, c0, c1) = (dl[ql], dr[ql], dr[ql + 1]);
        let cols = c0 + c1;
        if d == 0 {
            continue;
        }
        if cols == 0 {
            prev[2 * ql].clear();
            if ql > 0 {
                prev[2 * (ql - 1) + 1].clear();
            }
            continue;
        }
        let mut x = vec![T::default(); d * cols];
        if c0 > 0 && !site[2 * ql].is_empty() {
            put(&mut x, d, &to_t::<T>(&site[2 * ql]), d, c0, 0, 0);
        }
        if c1 > 0 && !site[2 * ql + 1].is_empty() {
            put(&mut x, d, &to_t::<T>(&site[2 * ql + 1]), d, c1, 0, c0);
        }
        // xᴴ (cols × d) = Q R, so x = Rᴴ Qᴴ.
        let k = thin_qr_into(&x, d, cols, true, &mut bufs.qr);
        let q = &bufs.qr.q;
        let mut qh = vec![T::default(); k * cols];
        for j in 0..k {
            for c in 0..cols {
                qh[j + k * c] = q[c + cols * j].conjugate();
            }
        }
        if c0 > 0 {
            site[2 * ql] = to_c64(&col_slice(&qh, k, 0, c0), 1.0);
        }
        if c1 > 0 {
            site[2 * ql + 1] = to_c64(&col_slice(&qh, k, c0, cols), 1.0);
        }
        for (idx, rows) in left_targets(ql, dl0) {
            if rows == 0 || prev[idx].is_empty() {
                prev[idx].clear();
                continue;
            }
            let a: Vec<T> = to_t(&prev[idx]);
            let mut w = vec![T::default(); rows * k];
            matmul_into(
                MatMut::from_column_major_slice_mut(&mut w, rows, k),
                MatRef::from_column_major_slice(&a, rows, d),
                MatRef::from_column_major_slice(&bufs.qr.r, k, d).adjoint(),
            );
            prev[idx] = to_c64(&w, 1.0);
        }
        out[ql] = k;
    }
    out
}

/// Split the centre `site` from `prev` by an SVD of each left-charge block, truncated over
/// all blocks with `policy` (used to compress a state built by direct sums). Returns the new
/// sector dimensions and the truncation decision; `prev` absorbs `U S` (renormalised).
pub(crate) fn svd_left<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    site: &mut [Vec<C64>],
    prev: &mut [Vec<C64>],
    dl0: &[usize],
    dl: &[usize],
    dr: &[usize],
    policy: &Truncation,
) -> Result<(Vec<usize>, TruncationChoice)> {
    let nq = dl.len();
    let nl = site.len() / 2;
    struct Sector<T> {
        cols: usize,
        u: Vec<T>,
        s: Vec<f64>,
        v: Vec<T>,
    }
    let mut sectors: Vec<Option<Sector<T>>> = (0..nl).map(|_| None).collect();
    let mut all = Vec::new();
    for ql in 0..nl {
        let (d, c0, c1) = (dl[ql], dr[ql], dr[ql + 1]);
        let cols = c0 + c1;
        if d == 0 || cols == 0 {
            continue;
        }
        let mut x = vec![T::default(); d * cols];
        if c0 > 0 && !site[2 * ql].is_empty() {
            put(&mut x, d, &to_t::<T>(&site[2 * ql]), d, c0, 0, 0);
        }
        if c1 > 0 && !site[2 * ql + 1].is_empty() {
            put(&mut x, d, &to_t::<T>(&site[2 * ql + 1]), d, c1, 0, c0);
        }
        let k0 = thin_svd_vectors_into(&x, d, cols, SvdVectors::Both, &mut bufs.svd)?;
        let s = bufs.svd.s[..k0].to_vec();
        all.extend(s.iter().map(|&x| (x, ql)));
        sectors[ql] = Some(Sector {
            cols,
            u: bufs.svd.u[..d * k0].to_vec(),
            s,
            v: bufs.svd.v[..cols * k0].to_vec(),
        });
    }
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let sorted: Vec<f64> = all.iter().map(|x| x.0).collect();
    let choice = truncation_rank(&sorted, policy.max_bond, policy.cutoff);
    let mut keep = vec![0usize; nq];
    for &(_, q) in &all[..choice.keep.min(all.len())] {
        keep[q] += 1;
    }
    let kept = choice.total_weight - choice.discarded_weight;
    let renorm = if kept > 0.0 {
        (choice.total_weight / kept).sqrt()
    } else {
        1.0
    };
    for ql in 0..nl {
        let k = keep[ql];
        let sector = sectors[ql].take();
        let targets = left_targets(ql, dl0);
        let Some(sec) = sector.filter(|_| k > 0) else {
            site[2 * ql].clear();
            site[2 * ql + 1].clear();
            for (idx, _) in targets {
                prev[idx].clear();
            }
            continue;
        };
        let (d, cols, c0) = (dl[ql], sec.cols, dr[ql]);
        let mut vh = vec![T::default(); k * cols];
        for j in 0..k {
            for c in 0..cols {
                vh[j + k * c] = sec.v[c + cols * j].conjugate();
            }
        }
        site[2 * ql] = if c0 > 0 {
            to_c64(&col_slice(&vh, k, 0, c0), 1.0)
        } else {
            Vec::new()
        };
        site[2 * ql + 1] = if cols > c0 {
            to_c64(&col_slice(&vh, k, c0, cols), 1.0)
        } else {
            Vec::new()
        };
        let mut us = sec.u[..d * k].to_vec();
        for j in 0..k {
            for x in &mut us[j * d..(j + 1) * d] {
                *x = x.scaled(sec.s[j] * renorm);
            }
        }
        for (idx, rows) in targets {
            if rows == 0 || prev[idx].is_empty() {
                prev[idx].clear();
                continue;
            }
            let a: Vec<T> = to_t(&prev[idx]);
            prev[idx] = to_c64(&mul(&a, rows, d, &us, k), 1.0);
        }
    }
    Ok((keep, choice))
}

/// Blocks of the site left of a bond whose right charge is `ql`: `(ql, s = 0)` and
/// `(ql − 1, s = 1)`, with their row counts.
fn left_targets(ql: usize, dl0: &[usize]) -> Vec<(usize, usize)> {
    let mut t = vec![(2 * ql, dl0[ql])];
    if ql > 0 {
        t.push((2 * (ql - 1) + 1, dl0[ql - 1]));
    }
    t
}
