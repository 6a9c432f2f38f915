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

use crate::linalg::{
    matmul_into, thin_qr_into, thin_svd_vectors_into, truncation_rank, QrWork, Scalar, SvdVectors,
    SvdWork, TruncationChoice,
};
use crate::mps::truncation::Truncation;
use bfly_core::circuit::Mat4;
use bfly_core::error::Result;

/// Two-site updates whose block products cost at least this many multiply-adds (and
/// centre moves whose QRs do) run their blocks and sectors on rayon's threads; below it,
/// handing work to another thread costs more than it saves. hw3, n = 128, χ = 256 on the
/// idle 2-core machine with the gate loop on a worker ([`on_rayon_worker`]), 3 runs each:
/// always 2.59–2.63 s, 2¹³ 2.53–2.59 s (6 runs), 2¹⁶ 2.65–2.88 s, 2¹⁸ 2.80–3.02 s.
const PARALLEL_MIN_FLOPS: usize = 1 << 13;

/// Run `f` on a rayon worker thread (at once if this already is one).
///
/// The blockwise updates fork small tasks thousands of times per circuit. Forked from a
/// thread outside the pool, every fork is injected into the pool's queue and the caller
/// blocks until a worker has woken up and finished it; forked from a worker, the caller
/// runs one half itself while the other worker steals the rest. So the U(1) engine's gate
/// loop runs on a worker (measured: hw3, n = 128, χ = 256, 2 cores: 3.14 s → 2.89 s).
pub(crate) fn on_rayon_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

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

/// `v · scale` (in place; nothing to do for 1).
fn scale_by<T: Scalar>(mut v: Vec<T>, scale: f64) -> Vec<T> {
    if scale != 1.0 {
        v.iter_mut().for_each(|x| *x = x.scaled(scale));
    }
    v
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

/// `aᴴ` (`k × rows`) of the column-major `rows × k` matrix `a`.
fn adjoint<T: Scalar>(a: &[T], rows: usize, k: usize) -> Vec<T> {
    let mut out = vec![T::default(); k * rows];
    for j in 0..k {
        for r in 0..rows {
            out[j + k * r] = a[r + rows * j].conjugate();
        }
    }
    out
}

/// The blocks of `site` with left charge `ql` side by side: `[A(ql, s=0) | A(ql, s=1)]`,
/// `d × (c0 + c1)` (zero where a block is absent).
fn left_charge_row<T: Scalar>(
    site: &[Vec<T>],
    ql: usize,
    d: usize,
    c0: usize,
    c1: usize,
) -> Vec<T> {
    let mut x = vec![T::default(); d * (c0 + c1)];
    if c0 > 0 && !site[2 * ql].is_empty() {
        put(&mut x, d, &site[2 * ql], d, c0, 0, 0);
    }
    if c1 > 0 && !site[2 * ql + 1].is_empty() {
        put(&mut x, d, &site[2 * ql + 1], d, c1, 0, c0);
    }
    x
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
    /// Sector SVDs of this update that needed the divide-and-conquer fallback.
    pub svd_fallbacks: usize,
}

/// True if `g` (index `2·s1 + s2`) maps each Hamming-weight sector into itself, up to
/// `tol` relative to its largest entry.
pub(crate) fn conserves_weight4(g: &Mat4) -> bool {
    let scale = g.iter().flatten().map(|z| z.norm()).fold(0.0, f64::max);
    let tol = 1e-12 * scale.max(1.0);
    let weight = [0, 1, 1, 2];
    (0..4).all(|r| (0..4).all(|c| weight[r] == weight[c] || g[r][c].norm() <= tol))
}

/// One product `θ[ql][2 s1 + s2] = A[ql, s1] · B[ql + s1, s2]` of a two-site update.
struct Product {
    ql: usize,
    /// `2 s1 + s2`.
    pair: usize,
    /// Index of `A[ql, s1]` in the left site and of `B[qm, s2]` in the right site.
    a: usize,
    b: usize,
    m: usize,
    k: usize,
    n: usize,
}

/// One middle-charge sector of a two-site update: its matrix, then its factors.
struct Sector<T> {
    qm: usize,
    rows: usize,
    cols: usize,
    m: Vec<T>,
    s: Vec<f64>,
    vecs: Vec<T>,
}

/// The blocks one sector writes back: left `(qm, 0)`, left `(qm − 1, 1)`, right `(qm, 0)`,
/// right `(qm, 1)`.
type SectorOutput<T> = [Option<Vec<T>>; 4];

/// Run `f` on every item, on rayon's threads if `parallel` (results in input order).
fn map_maybe_parallel<I, R, F>(items: &mut [I], parallel: bool, f: F) -> Vec<R>
where
    I: Send,
    R: Send,
    F: Fn(&mut I) -> R + Sync + Send,
{
    if parallel {
        use rayon::prelude::*;
        items.par_iter_mut().map(f).collect()
    } else {
        items.iter_mut().map(f).collect()
    }
}

/// Apply the weight-preserving 4×4 `gate` to sites `left`, `right` (bonds `dl`, `dm`,
/// `dr`), split blockwise by SVD, truncate over all blocks with `policy`, and write back
/// (singular values into the right site if `centre_right`). Renormalised to the
/// pre-truncation norm as in the dense engine. On error the sites are unchanged.
///
/// The sectors are independent, so when the update is large enough
/// ([`PARALLEL_MIN_FLOPS`]) the block products, the blockwise SVDs and the write-back
/// each run on rayon's threads, one task per block or sector (the dense engine has one
/// SVD per update and gets nothing from a second core; faer's own parallel SVD was
/// measured slower at 260²). Results do not depend on the thread count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn two_site<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    left: &mut [Vec<T>],
    right: &mut [Vec<T>],
    dl: &[usize],
    dm: &[usize],
    dr: &[usize],
    gate: &Mat4,
    policy: &Truncation,
    centre_right: bool,
) -> Result<U1Split> {
    let nq = dl.len(); // n + 2 charges (the last always absent)
    let nl = left.len() / 2; // charges with blocks: 0..=n
    let mut products = Vec::new();
    for ql in 0..nl {
        if dl[ql] == 0 {
            continue;
        }
        for s1 in 0..2 {
            let qm = ql + s1;
            if qm >= nl || dm[qm] == 0 || left[2 * ql + s1].is_empty() {
                continue;
            }
            for s2 in 0..2 {
                let qr = qm + s2;
                if qr >= nq || dr[qr] == 0 || right[2 * qm + s2].is_empty() {
                    continue;
                }
                products.push(Product {
                    ql,
                    pair: 2 * s1 + s2,
                    a: 2 * ql + s1,
                    b: 2 * qm + s2,
                    m: dl[ql],
                    k: dm[qm],
                    n: dr[qr],
                });
            }
        }
    }
    let flops: usize = products.iter().map(|p| p.m * p.k * p.n).sum();
    let parallel = flops >= PARALLEL_MIN_FLOPS && rayon::current_num_threads() > 1;
    // θ[ql][2 s1 + s2]: dl[ql] × dr[ql + s1 + s2].
    let (lt, rt) = (&*left, &*right);
    let blocks = map_maybe_parallel(&mut products, parallel, |p| {
        mul(&lt[p.a], p.m, p.k, &rt[p.b], p.n)
    });
    let mut th: Vec<[Option<Vec<T>>; 4]> = (0..nl).map(|_| Default::default()).collect();
    for (p, block) in products.iter().zip(blocks) {
        th[p.ql][p.pair] = Some(block);
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
        let mut x = t[1].take().unwrap_or_else(|| vec![T::default(); len]);
        let mut y = t[2].take().unwrap_or_else(|| vec![T::default(); len]);
        for (xi, yi) in x.iter_mut().zip(y.iter_mut()) {
            let (a, b) = (*xi, *yi);
            *xi = g[1][1] * a + g[1][2] * b;
            *yi = g[2][1] * a + g[2][2] * b;
        }
        t[1] = Some(x);
        t[2] = Some(y);
    }
    // Blocks by middle charge qm: rows (ql = qm, s1 = 0) ⊕ (ql = qm − 1, s1 = 1), columns
    // (s2 = 0, qr = qm) ⊕ (s2 = 1, qr = qm + 1); each assembled and factored on its own.
    let mut sectors: Vec<Sector<T>> = Vec::new();
    for qm in 0..nl {
        let top = dl[qm];
        let bottom = if qm > 0 { dl[qm - 1] } else { 0 };
        let (rows, cols) = (top + bottom, dr[qm] + dr[qm + 1]);
        let present = th[qm][0].is_some()
            || th[qm][1].is_some()
            || (qm > 0 && (th[qm - 1][2].is_some() || th[qm - 1][3].is_some()));
        if rows > 0 && cols > 0 && present {
            sectors.push(Sector {
                qm,
                rows,
                cols,
                m: Vec::new(),
                s: Vec::new(),
                vecs: Vec::new(),
            });
        }
    }
    let side = if centre_right {
        SvdVectors::Left
    } else {
        SvdVectors::Right
    };
    let assemble = |sec: &mut Sector<T>| {
        let (qm, rows) = (sec.qm, sec.rows);
        let top = dl[qm];
        let c0 = dr[qm];
        let mut m = vec![T::default(); rows * sec.cols];
        let below = qm.checked_sub(1);
        let parts = [
            (th[qm][0].as_ref(), top, c0, 0, 0),
            (th[qm][1].as_ref(), top, sec.cols - c0, 0, c0),
            (
                below.and_then(|p| th[p][2].as_ref()),
                rows - top,
                c0,
                top,
                0,
            ),
            (
                below.and_then(|p| th[p][3].as_ref()),
                rows - top,
                sec.cols - c0,
                top,
                c0,
            ),
        ];
        for (src, r, c, r0, col0) in parts {
            if let Some(src) = src {
                put(&mut m, rows, src, r, c, r0, col0);
            }
        }
        sec.m = m;
    };
    let factor = |sec: &mut Sector<T>, work: &mut SvdWork<T>| -> Result<usize> {
        assemble(sec);
        let before = work.fallbacks;
        let k0 = thin_svd_vectors_into(&sec.m, sec.rows, sec.cols, side, work)?;
        sec.s = work.s[..k0].to_vec();
        sec.vecs = if centre_right {
            work.u[..sec.rows * k0].to_vec()
        } else {
            work.v[..sec.cols * k0].to_vec()
        };
        Ok(work.fallbacks - before)
    };
    let mut svd_fallbacks = 0;
    if parallel {
        use rayon::prelude::*;
        // Largest first, so the long SVD starts at once and the small ones fill in.
        sectors.sort_by_key(|s| std::cmp::Reverse(s.rows * s.cols * s.rows.min(s.cols)));
        sectors
            .par_iter_mut()
            .map_init(SvdWork::default, |work, sec| factor(sec, work))
            .collect::<Result<Vec<usize>>>()?
            .into_iter()
            .for_each(|f| svd_fallbacks += f);
    } else {
        for sec in &mut sectors {
            svd_fallbacks += factor(sec, &mut bufs.svd)?;
        }
    }
    drop(th);
    let mut all: Vec<(f64, usize)> = sectors
        .iter()
        .flat_map(|sec| sec.s.iter().map(move |&x| (x, sec.qm)))
        .collect();
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
    let write_back = |sec: &mut Sector<T>| -> SectorOutput<T> {
        let mut out: SectorOutput<T> = Default::default();
        let k = keep[sec.qm];
        if k == 0 {
            return out;
        }
        let (top, c0, rows, cols) = (dl[sec.qm], dr[sec.qm], sec.rows, sec.cols);
        debug_assert!(k <= sec.s.len());
        if centre_right {
            // Left: Uₖ split by rows; right: renorm · Uₖᴴ M split by columns.
            let u = &sec.vecs[..rows * k];
            let mut w = vec![T::default(); k * cols];
            matmul_into(
                MatMut::from_column_major_slice_mut(&mut w, k, cols),
                MatRef::from_column_major_slice(u, rows, k).adjoint(),
                MatRef::from_column_major_slice(&sec.m, rows, cols),
            );
            out = [
                (top > 0).then(|| row_slice(u, rows, 0, top, k)),
                (rows > top).then(|| row_slice(u, rows, top, rows, k)),
                (c0 > 0).then(|| scale_by(w[..k * c0].to_vec(), renorm)),
                (cols > c0).then(|| scale_by(w[k * c0..].to_vec(), renorm)),
            ];
        } else {
            // Right: Vₖᴴ split by columns; left: renorm · M Vₖ split by rows.
            let v = &sec.vecs[..cols * k];
            let vh = adjoint(v, cols, k);
            let w = mul(&sec.m, rows, cols, v, k);
            out = [
                (top > 0).then(|| scale_by(row_slice(&w, rows, 0, top, k), renorm)),
                (rows > top).then(|| scale_by(row_slice(&w, rows, top, rows, k), renorm)),
                (c0 > 0).then(|| vh[..k * c0].to_vec()),
                (cols > c0).then(|| vh[k * c0..].to_vec()),
            ];
        }
        out
    };
    let outputs = map_maybe_parallel(&mut sectors, parallel, write_back);
    for b in left.iter_mut().chain(right.iter_mut()) {
        b.clear();
    }
    for (sec, [l0, l1, r0, r1]) in sectors.iter().zip(outputs) {
        let qm = sec.qm;
        if let Some(b) = l0 {
            left[2 * qm] = b;
        }
        if let Some(b) = l1 {
            left[2 * (qm - 1) + 1] = b;
        }
        if let Some(b) = r0 {
            right[2 * qm] = b;
        }
        if let Some(b) = r1 {
            right[2 * qm + 1] = b;
        }
    }
    Ok(U1Split {
        dims: keep,
        choice,
        svd_fallbacks,
    })
}

/// Run `f` on every item with a reusable per-thread QR workspace, on rayon's threads if
/// `parallel` (results in input order); `bufs` serves the sequential case.
fn map_with_qr<T: Scalar, I: Sync, R: Send>(
    bufs: &mut U1Bufs<T>,
    items: &[I],
    parallel: bool,
    f: impl Fn(&I, &mut QrWork<T>) -> R + Sync + Send,
) -> Vec<R> {
    if parallel {
        use rayon::prelude::*;
        items
            .par_iter()
            .map_init(QrWork::default, |w, i| f(i, w))
            .collect()
    } else {
        items.iter().map(|i| f(i, &mut bufs.qr)).collect()
    }
}

/// Move the centre from `site` to `next` by a QR of each right-charge block of `site`
/// (rows `(l, s)` with `q_l + s = q_r`); returns the new sector dimensions of the bond.
/// The sectors are independent: above [`PARALLEL_MIN_FLOPS`] they run as rayon tasks.
pub(crate) fn shift_right<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    site: &mut [Vec<T>],
    next: &mut [Vec<T>],
    dl: &[usize],
    dm: &[usize],
    dr: &[usize],
) -> Vec<usize> {
    let nq = dl.len();
    let nl = site.len() / 2;
    let mut out = vec![0usize; nq];
    // Sectors to factor: (qm, top rows, bottom rows, d).
    let mut work = Vec::new();
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
        work.push((qm, top, bottom, d));
    }
    let flops: usize = work.iter().map(|&(_, t, b, d)| (t + b) * d * d).sum();
    let parallel = flops >= PARALLEL_MIN_FLOPS && rayon::current_num_threads() > 1;
    let (site_ro, next_ro) = (&*site, &*next);
    // Per sector: new left blocks (top, bottom), new right blocks (s = 0, 1), rank.
    let results = map_with_qr(bufs, &work, parallel, |&(qm, top, bottom, d), qr| {
        let rows = top + bottom;
        let mut x = vec![T::default(); rows * d];
        if top > 0 && !site_ro[2 * qm].is_empty() {
            put(&mut x, rows, &site_ro[2 * qm], top, d, 0, 0);
        }
        if bottom > 0 && !site_ro[2 * (qm - 1) + 1].is_empty() {
            put(&mut x, rows, &site_ro[2 * (qm - 1) + 1], bottom, d, top, 0);
        }
        let k = thin_qr_into(&x, rows, d, false, qr);
        let q = &qr.q;
        let left = [
            (top > 0).then(|| row_slice(q, rows, 0, top, k)),
            (bottom > 0).then(|| row_slice(q, rows, top, rows, k)),
        ];
        let right = [0, 1].map(|s| {
            let (dr_s, b) = (dr[qm + s], &next_ro[2 * qm + s]);
            (dr_s > 0 && !b.is_empty()).then(|| mul(&qr.r, k, d, b, dr_s))
        });
        (left, right, k)
    });
    for (&(qm, ..), ([top, bottom], right, k)) in work.iter().zip(results) {
        if let Some(b) = top {
            site[2 * qm] = b;
        }
        if let Some(b) = bottom {
            site[2 * (qm - 1) + 1] = b;
        }
        for (s, b) in right.into_iter().enumerate() {
            next[2 * qm + s] = b.unwrap_or_default();
        }
        out[qm] = k;
    }
    out
}

/// Move the centre from `site` to `prev` by an LQ of each left-charge block of `site`
/// (columns `(s, r)`); returns the new sector dimensions of the bond between them.
/// The sectors are independent: above [`PARALLEL_MIN_FLOPS`] they run as rayon tasks.
pub(crate) fn shift_left<T: Scalar>(
    bufs: &mut U1Bufs<T>,
    site: &mut [Vec<T>],
    prev: &mut [Vec<T>],
    dl0: &[usize],
    dl: &[usize],
    dr: &[usize],
) -> Vec<usize> {
    let nq = dl.len();
    let nl = site.len() / 2;
    let mut out = vec![0usize; nq];
    // Sectors to factor: (ql, d, c0, c1).
    let mut work = Vec::new();
    for ql in 0..nl {
        let (d, c0, c1) = (dl[ql], dr[ql], dr[ql + 1]);
        if d == 0 {
            continue;
        }
        if c0 + c1 == 0 {
            prev[2 * ql].clear();
            if ql > 0 {
                prev[2 * (ql - 1) + 1].clear();
            }
            continue;
        }
        work.push((ql, d, c0, c1));
    }
    let flops: usize = work.iter().map(|&(_, d, c0, c1)| (c0 + c1) * d * d).sum();
    let parallel = flops >= PARALLEL_MIN_FLOPS && rayon::current_num_threads() > 1;
    let (site_ro, prev_ro) = (&*site, &*prev);
    // Per sector: new blocks of `site` (s = 0, 1), new blocks of `prev` (by
    // `left_targets`), rank.
    let results = map_with_qr(bufs, &work, parallel, |&(ql, d, c0, c1), qr| {
        let cols = c0 + c1;
        let x: Vec<T> = left_charge_row(site_ro, ql, d, c0, c1);
        // xᴴ (cols × d) = Q R, so x = Rᴴ Qᴴ.
        let k = thin_qr_into(&x, d, cols, true, qr);
        let qh = adjoint(&qr.q, cols, k);
        let mine = [
            (c0 > 0).then(|| col_slice(&qh, k, 0, c0)),
            (c1 > 0).then(|| col_slice(&qh, k, c0, cols)),
        ];
        let theirs: Vec<(usize, Vec<T>)> = left_targets(ql, dl0)
            .into_iter()
            .map(|(idx, rows)| {
                if rows == 0 || prev_ro[idx].is_empty() {
                    return (idx, Vec::new());
                }
                let mut w = vec![T::default(); rows * k];
                matmul_into(
                    MatMut::from_column_major_slice_mut(&mut w, rows, k),
                    MatRef::from_column_major_slice(&prev_ro[idx], rows, d),
                    MatRef::from_column_major_slice(&qr.r, k, d).adjoint(),
                );
                (idx, w)
            })
            .collect();
        (mine, theirs, k)
    });
    for (&(ql, ..), ([s0, s1], theirs, k)) in work.iter().zip(results) {
        if let Some(b) = s0 {
            site[2 * ql] = b;
        }
        if let Some(b) = s1 {
            site[2 * ql + 1] = b;
        }
        for (idx, b) in theirs {
            prev[idx] = b;
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
    site: &mut [Vec<T>],
    prev: &mut [Vec<T>],
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
        let x: Vec<T> = left_charge_row(site, ql, d, c0, c1);
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
        let vh = adjoint(&sec.v, cols, k);
        site[2 * ql] = if c0 > 0 {
            col_slice(&vh, k, 0, c0)
        } else {
            Vec::new()
        };
        site[2 * ql + 1] = if cols > c0 {
            col_slice(&vh, k, c0, cols)
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
            prev[idx] = mul(&prev[idx], rows, d, &us, k);
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
