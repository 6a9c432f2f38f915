//! Observables: amplitudes, all marginals in one sweep, `<Z_i Z_j>`, unary-basis
//! probabilities, overlaps and conditional sampling. Results are in **qubit** order.
//!
//! The mixed canonical form makes environments trivial away from the centre: left of the
//! centre the sites are left-orthonormal (their left environment is the identity), right
//! of it right-orthonormal. So one sweep from the centre outwards in each direction gives
//! every marginal in O(nχ³) total.

use faer::{Mat, MatRef};
use num_complex::Complex64 as C64;

use super::{DenseSites, Mps};
use crate::linalg::matmul_into;
use crate::Simulator;
use bfly_core::error::{Error, Result};

const ZERO: C64 = C64::new(0.0, 0.0);

/// Largest bond dimension [`Mps::overlap`] lets a temporary reordering reach.
pub const OVERLAP_REORDER_MAX_BOND: usize = 2048;

impl DenseSites {
    /// `A[:, s, :]` of `site` as a `χl × χr` view (column stride `2χl`).
    fn slice(&self, site: usize, s: usize) -> MatRef<'_, C64> {
        let (dl, dr) = (self.bonds[site], self.bonds[site + 1]);
        MatRef::from_column_major_slice_with_stride(&self.tensors[site][s * dl..], dl, dr, 2 * dl)
    }

    /// `Σ_s sign_s · A_sᴴ F A_s` (left environment update) and the trace of the `s = 1` term.
    fn push_left_env(&self, f: &Mat<C64>, site: usize, signs: [f64; 2]) -> (Mat<C64>, f64) {
        let (dl, dr) = (self.bonds[site], self.bonds[site + 1]);
        let mut out = Mat::<C64>::zeros(dr, dr);
        let mut tmp = Mat::<C64>::zeros(dl, dr);
        let mut term = Mat::<C64>::zeros(dr, dr);
        let mut trace1 = 0.0;
        for (s, &sign) in signs.iter().enumerate() {
            let a = self.slice(site, s);
            matmul_into(tmp.as_mut(), f.as_ref(), a);
            matmul_into(term.as_mut(), a.adjoint(), tmp.as_ref());
            if s == 1 {
                trace1 = (0..dr).map(|i| term[(i, i)].re).sum();
            }
            add_scaled(&mut out, &term, sign);
        }
        (out, trace1)
    }

    /// `Σ_s A_s G A_sᴴ` (right environment update) and the trace of the `s = 1` term.
    fn push_right_env(&self, g: &Mat<C64>, site: usize) -> (Mat<C64>, f64) {
        let (dl, dr) = (self.bonds[site], self.bonds[site + 1]);
        let mut out = Mat::<C64>::zeros(dl, dl);
        let mut tmp = Mat::<C64>::zeros(dl, dr);
        let mut term = Mat::<C64>::zeros(dl, dl);
        let mut trace1 = 0.0;
        for s in 0..2 {
            let a = self.slice(site, s);
            matmul_into(tmp.as_mut(), a, g.as_ref());
            matmul_into(term.as_mut(), tmp.as_ref(), a.adjoint());
            if s == 1 {
                trace1 = (0..dl).map(|i| term[(i, i)].re).sum();
            }
            add_scaled(&mut out, &term, 1.0);
        }
        (out, trace1)
    }

    /// `P(site = 1)` for every site (normalised by `<ψ|ψ>`), in one O(nχ³) sweep out from
    /// the orthogonality centre `c`.
    pub(crate) fn marginals_from_centre(&self, c: usize) -> Vec<f64> {
        let n = self.tensors.len();
        let mut by_site = vec![0.0; n];
        // Right of (and at) the centre: left environments, starting from the identity.
        let mut f = Mat::<C64>::identity(self.bonds[c], self.bonds[c]);
        for (site, p) in by_site.iter_mut().enumerate().skip(c) {
            let (next, t1) = self.push_left_env(&f, site, [1.0, 1.0]);
            *p = t1;
            f = next;
        }
        let norm = f[(0, 0)].re;
        // Left of the centre: right environments, starting from the identity.
        let mut g = Mat::<C64>::identity(self.bonds[c], self.bonds[c]);
        if c > 0 {
            let (env, _) =
                self.push_right_env(&Mat::identity(self.bonds[c + 1], self.bonds[c + 1]), c);
            g = env;
        }
        for site in (0..c).rev() {
            let (next, t1) = self.push_right_env(&g, site);
            by_site[site] = t1;
            g = next;
        }
        by_site
            .into_iter()
            .map(|p| if norm > 0.0 { p / norm } else { 0.0 })
            .collect()
    }
}

impl Mps {
    /// `<Z_i Z_j>` for qubits `i`, `j` (normalised by `<ψ|ψ>`); 1 if `i == j`.
    pub fn expectation_zz(&self, i: usize, j: usize) -> Result<f64> {
        for q in [i, j] {
            if q >= self.n {
                return Err(Error::InvalidInput(format!(
                    "<Z_{i} Z_{j}>: qubit {q} is out of range for {} qubits",
                    self.n
                )));
            }
        }
        if i == j {
            return Ok(1.0);
        }
        let (si, sj) = (self.site_of_qubit[i], self.site_of_qubit[j]);
        let lo = si.min(sj).min(self.centre);
        let hi = si.max(sj).max(self.centre);
        let mut f = Mat::<C64>::identity(self.sites.bonds[lo], self.sites.bonds[lo]);
        for site in lo..=hi {
            let signs = if site == si || site == sj {
                [1.0, -1.0]
            } else {
                [1.0, 1.0]
            };
            f = self.sites.push_left_env(&f, site, signs).0;
        }
        let value: f64 = (0..f.nrows()).map(|k| f[(k, k)].re).sum();
        let norm = self.norm_squared();
        Ok(if norm > 0.0 { value / norm } else { 0.0 })
    }

    /// `<Z_i>` for qubit `i`.
    pub fn expectation_z_of(&self, i: usize) -> Result<f64> {
        if i >= self.n {
            return Err(Error::InvalidInput(format!(
                "<Z_{i}>: qubit {i} is out of range for {} qubits",
                self.n
            )));
        }
        let site = self.site_of_qubit[i];
        let lo = site.min(self.centre);
        let hi = site.max(self.centre);
        let mut f = Mat::<C64>::identity(self.sites.bonds[lo], self.sites.bonds[lo]);
        for s in lo..=hi {
            let signs = if s == site { [1.0, -1.0] } else { [1.0, 1.0] };
            f = self.sites.push_left_env(&f, s, signs).0;
        }
        let value: f64 = (0..f.nrows()).map(|k| f[(k, k)].re).sum();
        let norm = self.norm_squared();
        Ok(if norm > 0.0 { value / norm } else { 0.0 })
    }

    /// `P(only qubit q reads 1)` for every qubit `q` (the unary basis states), normalised
    /// by `<ψ|ψ>`, in one O(nχ²) pass.
    pub fn unary_probabilities(&self) -> Vec<f64> {
        let n = self.n;
        // left[i]: <0…0| contracted over sites < i (row vector of dim bonds[i]).
        let mut left = Vec::with_capacity(n + 1);
        left.push(vec![C64::new(1.0, 0.0)]);
        for site in 0..n {
            let mut next = Vec::new();
            row_times_slice(
                &left[site],
                &self.sites.tensors[site],
                self.sites.bonds[site],
                self.sites.bonds[site + 1],
                0,
                &mut next,
            );
            left.push(next);
        }
        // right: <0…0| over sites ≥ i+1, built from the end.
        let mut right = vec![C64::new(1.0, 0.0)];
        let norm = self.norm_squared();
        let mut out = vec![0.0; n];
        for site in (0..n).rev() {
            let (dl, dr) = (self.sites.bonds[site], self.sites.bonds[site + 1]);
            let t = &self.sites.tensors[site];
            // amp = left[site] · A[:,1,:] · right
            let mut amp = ZERO;
            let mut next_right = vec![ZERO; dl];
            for r in 0..dr {
                let x = right[r];
                let col0 = &t[dl * 2 * r..dl * (2 * r + 1)];
                let col1 = &t[dl * (2 * r + 1)..dl * (2 * r + 2)];
                for l in 0..dl {
                    next_right[l] += col0[l] * x;
                    amp += left[site][l] * col1[l] * x;
                }
            }
            out[self.qubit_at_site[site]] = if norm > 0.0 {
                amp.norm_sqr() / norm
            } else {
                0.0
            };
            right = next_right;
        }
        out
    }

    /// `<self|other>` (the first state conjugated). If the qubit→site layouts differ, a
    /// copy of `other` is reordered to this layout first by SWAPs without truncation (bond
    /// dimensions up to `OVERLAP_REORDER_MAX_BOND`, 2048); an error says so if that is not
    /// enough to reorder exactly.
    pub fn overlap(&self, other: &Mps) -> Result<C64> {
        if self.n != other.n {
            return Err(Error::InvalidInput(format!(
                "overlap of a {}-qubit MPS with a {}-qubit MPS; both need the same number of qubits",
                self.n, other.n
            )));
        }
        if self.qubit_at_site != other.qubit_at_site {
            let mut copy = other.clone();
            copy.truncation = super::Truncation {
                max_bond: OVERLAP_REORDER_MAX_BOND,
                cutoff: 0.0,
            };
            let before = copy.stats.total_discarded;
            copy.reorder(&self.qubit_at_site)?;
            let lost = copy.stats.total_discarded - before;
            if lost > 1e-12 {
                return Err(Error::InvalidInput(format!(
                    "overlap: the two states use different qubit→site layouts, and reordering one to match the other would need bond dimensions above {OVERLAP_REORDER_MAX_BOND} (discarded weight {lost:.3e}); build both states with the same SiteOrdering and routing"
                )));
            }
            return self.overlap_same_layout(&copy);
        }
        self.overlap_same_layout(other)
    }

    fn overlap_same_layout(&self, other: &Mps) -> Result<C64> {
        let mut e = Mat::<C64>::identity(1, 1);
        for site in 0..self.n {
            let (dr_a, dr_b) = (self.sites.bonds[site + 1], other.sites.bonds[site + 1]);
            let dl_b = other.sites.bonds[site];
            let mut next = Mat::<C64>::zeros(dr_a, dr_b);
            let mut tmp = Mat::<C64>::zeros(e.nrows(), dr_b);
            let mut term = Mat::<C64>::zeros(dr_a, dr_b);
            debug_assert_eq!(e.ncols(), dl_b);
            for s in 0..2 {
                matmul_into(tmp.as_mut(), e.as_ref(), other.sites.slice(site, s));
                matmul_into(
                    term.as_mut(),
                    self.sites.slice(site, s).adjoint(),
                    tmp.as_ref(),
                );
                add_scaled(&mut next, &term, 1.0);
            }
            e = next;
        }
        Ok(e[(0, 0)])
    }
}

/// `out += sign · term`.
fn add_scaled(out: &mut Mat<C64>, term: &Mat<C64>, sign: f64) {
    for j in 0..out.ncols() {
        for i in 0..out.nrows() {
            out[(i, j)] += term[(i, j)] * sign;
        }
    }
}

/// `out[r] = Σ_l v[l] A[l, s, r]` for a site tensor `A` (`dl × 2 × dr`).
pub(crate) fn row_times_slice(
    v: &[C64],
    t: &[C64],
    dl: usize,
    dr: usize,
    s: usize,
    out: &mut Vec<C64>,
) {
    out.clear();
    out.extend((0..dr).map(|r| {
        let col = &t[dl * (s + 2 * r)..dl * (s + 2 * r + 1)];
        col.iter().zip(v).map(|(a, b)| a * b).sum::<C64>()
    }));
}
