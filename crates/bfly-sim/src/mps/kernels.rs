//! The numerical kernels of the MPS engine, on raw site buffers.
//!
//! Site tensor layout (all of `super`): `A[l, s, r]` with shape `χl × 2 × χr` is stored
//! column-major with `l` fastest: offset `l + χl·(s + 2·r)`. The same buffer is then, with
//! no copy, both the `2χl × χr` matrix with rows `(l, s)` (what a left-moving QR and the
//! left half of a two-site block need) and the `χl × 2χr` matrix with columns `(s, r)`
//! (the right half).
//!
//! Kernels are generic over [`Scalar`] so real circuits run in `f64` (faster SVD and QR);
//! site buffers stay `Complex64`, converted on the way in and out (O(χ²), negligible next
//! to the O(χ³) factorisations).

use faer::{MatMut, MatRef};
use num_complex::Complex64 as C64;

use crate::linalg::{
    load, matmul_into, resize, thin_qr_into, thin_svd_vectors_into, truncation_rank, QrWork,
    Scalar, SvdVectors, SvdWork, TruncationChoice,
};
use bfly_core::circuit::Mat4;
use bfly_core::error::Result;

use super::truncation::Truncation;

/// Reusable buffers for one scalar type.
#[derive(Debug, Default)]
pub(crate) struct Bufs<T: Scalar> {
    a: Vec<T>,
    b: Vec<T>,
    theta: Vec<T>,
    svd: SvdWork<T>,
    qr: QrWork<T>,
}

/// All reusable buffers of a state (never serialised; a clone starts empty).
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    pub re: Bufs<f64>,
    pub cx: Bufs<C64>,
}

impl Clone for Workspace {
    fn clone(&self) -> Self {
        Workspace::default()
    }
}

/// Result of a two-site update.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Split {
    /// New dimension of the bond between the two sites.
    pub bond: usize,
    /// What the truncation kept and dropped.
    pub choice: TruncationChoice,
    /// SVDs of this update that needed the divide-and-conquer fallback.
    pub svd_fallbacks: usize,
}

fn store<T: Scalar>(src: &[T], dst: &mut Vec<C64>) {
    dst.clear();
    dst.extend(src.iter().map(|x| x.to_c64()));
}

fn store_scaled<T: Scalar>(src: &[T], scale: f64, dst: &mut Vec<C64>) {
    dst.clear();
    if scale == 1.0 {
        dst.extend(src.iter().map(|x| x.to_c64()));
    } else {
        dst.extend(src.iter().map(|x| x.scaled(scale).to_c64()));
    }
}

/// True if every entry of the gate is real (so the real fast path may be used).
pub(crate) fn is_real4(g: &Mat4) -> bool {
    g.iter().flatten().all(|z| z.im == 0.0)
}

/// Apply the 4×4 `gate` (index `2·s_left + s_right`) to the two sites `left` (`dl×2×dm`)
/// and `right` (`dm×2×dr`), split by a thin SVD of the `2dl × 2dr` block, truncate with
/// `policy`, and write back with the singular values absorbed into the right site if
/// `centre_right`, else into the left one. The state is renormalised to its
/// pre-truncation norm. On error the sites are unchanged.
#[allow(clippy::too_many_arguments)]
pub(crate) fn two_site<T: Scalar>(
    bufs: &mut Bufs<T>,
    left: &mut Vec<C64>,
    right: &mut Vec<C64>,
    dims: (usize, usize, usize),
    gate: &Mat4,
    policy: &Truncation,
    centre_right: bool,
) -> Result<Split> {
    let (dl, dm, dr) = dims;
    let (m, n) = (2 * dl, 2 * dr);
    load(left, &mut bufs.a);
    load(right, &mut bufs.b);
    resize(&mut bufs.theta, m * n);
    matmul_into(
        MatMut::from_column_major_slice_mut(&mut bufs.theta, m, n),
        MatRef::from_column_major_slice(&bufs.a, m, dm),
        MatRef::from_column_major_slice(&bufs.b, dm, n),
    );
    apply_gate_in_place(&mut bufs.theta, dl, dr, gate);
    // Only the singular vectors of the side that stays orthonormal are computed; the other
    // factor is the projection of θ onto them (`Uₖᴴ θ = Sₖ Vₖᴴ` exactly, no division by
    // small singular values), which also saves ~25 % of the SVD time.
    let side = if centre_right {
        SvdVectors::Left
    } else {
        SvdVectors::Right
    };
    let fallbacks_before = bufs.svd.fallbacks;
    let k0 = thin_svd_vectors_into(&bufs.theta, m, n, side, &mut bufs.svd)?;
    let svd_fallbacks = bufs.svd.fallbacks - fallbacks_before;
    let choice = truncation_rank(&bufs.svd.s, policy.max_bond, policy.cutoff);
    let k = choice.keep.min(k0);
    let kept = choice.total_weight - choice.discarded_weight;
    let renorm = if kept > 0.0 {
        (choice.total_weight / kept).sqrt()
    } else {
        1.0
    };
    let theta = MatRef::from_column_major_slice(&bufs.theta, m, n);
    if centre_right {
        // Left site: Uₖ (m × k, the first k columns of U). Right site: renorm · Uₖᴴ θ.
        let u = &bufs.svd.u[..m * k];
        store(u, left);
        resize(&mut bufs.a, k * n);
        matmul_into(
            MatMut::from_column_major_slice_mut(&mut bufs.a, k, n),
            MatRef::from_column_major_slice(u, m, k).adjoint(),
            theta,
        );
        store_scaled(&bufs.a, renorm, right);
    } else {
        // Right site: Vₖᴴ (k × n). Left site: renorm · θ Vₖ (m × k).
        let v = &bufs.svd.v[..n * k];
        right.clear();
        right.resize(k * n, C64::new(0.0, 0.0));
        for j in 0..k {
            for (c, x) in v[n * j..n * (j + 1)].iter().enumerate() {
                right[j + k * c] = x.conjugate().to_c64();
            }
        }
        resize(&mut bufs.b, m * k);
        matmul_into(
            MatMut::from_column_major_slice_mut(&mut bufs.b, m, k),
            theta,
            MatRef::from_column_major_slice(v, n, k),
        );
        store_scaled(&bufs.b, renorm, left);
    }
    Ok(Split {
        bond: k,
        choice,
        svd_fallbacks,
    })
}

/// `θ ← G θ` on the physical pair, `θ` being the `2dl × 2dr` block with rows `(l, s1)` and
/// columns `(s2, r)`.
fn apply_gate_in_place<T: Scalar>(theta: &mut [T], dl: usize, dr: usize, gate: &Mat4) {
    let g: [[T; 4]; 4] = gate.map(|row| row.map(T::from_c64));
    let m = 2 * dl;
    for r in 0..dr {
        // Columns (s2 = 0, r) and (s2 = 1, r).
        let (c0, c1) = (m * 2 * r, m * (2 * r + 1));
        for l in 0..dl {
            let idx = [c0 + l, c1 + l, c0 + dl + l, c1 + dl + l]; // (s1 s2) = 00, 01, 10, 11
            let x = idx.map(|i| theta[i]);
            for (row, &i) in g.iter().zip(idx.iter()) {
                theta[i] = row[0] * x[0] + row[1] * x[1] + row[2] * x[2] + row[3] * x[3];
            }
        }
    }
}

/// Move the orthogonality centre from `site` (`dl×2×dr`) to `next` (`dr×2×dr2`) by a thin
/// QR of `site` as a `2dl × dr` matrix; returns the new bond dimension.
pub(crate) fn shift_right<T: Scalar>(
    bufs: &mut Bufs<T>,
    site: &mut Vec<C64>,
    next: &mut Vec<C64>,
    dims: (usize, usize, usize),
) -> usize {
    let (dl, dr, dr2) = dims;
    load(site, &mut bufs.a);
    let k = thin_qr_into(&bufs.a, 2 * dl, dr, false, &mut bufs.qr);
    store(&bufs.qr.q, site);
    load(next, &mut bufs.b);
    resize(&mut bufs.theta, k * 2 * dr2);
    matmul_into(
        MatMut::from_column_major_slice_mut(&mut bufs.theta, k, 2 * dr2),
        MatRef::from_column_major_slice(&bufs.qr.r, k, dr),
        MatRef::from_column_major_slice(&bufs.b, dr, 2 * dr2),
    );
    store(&bufs.theta, next);
    k
}

/// Move the orthogonality centre from `site` (`dl×2×dr`) to `prev` (`dl0×2×dl`) by a thin
/// QR of `siteᴴ` (an LQ of `site` as a `dl × 2dr` matrix); returns the new bond dimension.
pub(crate) fn shift_left<T: Scalar>(
    bufs: &mut Bufs<T>,
    site: &mut Vec<C64>,
    prev: &mut Vec<C64>,
    dims: (usize, usize, usize),
) -> usize {
    let (dl0, dl, dr) = dims;
    load(site, &mut bufs.a);
    // siteᴴ (2dr × dl) = Q R, so site = Rᴴ Qᴴ with k = min(2dr, dl).
    let k = thin_qr_into(&bufs.a, dl, 2 * dr, true, &mut bufs.qr);
    let q = &bufs.qr.q; // 2dr × k
    site.clear();
    site.resize(k * 2 * dr, C64::new(0.0, 0.0));
    for j in 0..k {
        for c in 0..2 * dr {
            site[j + k * c] = q[c + 2 * dr * j].conjugate().to_c64();
        }
    }
    load(prev, &mut bufs.b);
    resize(&mut bufs.theta, 2 * dl0 * k);
    matmul_into(
        MatMut::from_column_major_slice_mut(&mut bufs.theta, 2 * dl0, k),
        MatRef::from_column_major_slice(&bufs.b, 2 * dl0, dl),
        MatRef::from_column_major_slice(&bufs.qr.r, k, dl).adjoint(),
    );
    store(&bufs.theta, prev);
    k
}
