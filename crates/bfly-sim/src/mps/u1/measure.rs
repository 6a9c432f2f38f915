//! Observables of the U(1) MPS: amplitudes, marginals, norm and conditional sampling, in
//! **qubit** order. Environments are block-diagonal in the bond charge, and a sampled
//! prefix fixes the charge, so a shot carries a single vector of one sector.

use faer::Mat;
use num_complex::Complex64 as C64;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::blocks::BlockRef;
use super::U1Sites;
use crate::linalg::matmul_into;
use bfly_core::bits::BitString;

/// One environment: a `d × d` matrix per charge (`None` for an absent sector).
pub(crate) type Env = Vec<Option<Mat<C64>>>;

impl U1Sites {
    fn block(&self, site: usize, q: usize, s: usize) -> Option<BlockRef<'_>> {
        let (rows, cols) = (self.dims[site][q], self.dims[site + 1][q + s]);
        self.blocks.get(site, 2 * q + s, rows, cols)
    }

    /// Right environments `R_i[q] = Σ_s B(q,s) R_{i+1}[q+s] B(q,s)ᴴ` for every bond
    /// (`R_n[Q] = 1`), independent of the canonical form.
    pub(crate) fn right_envs(&self) -> Vec<Env> {
        let n = self.len();
        let nq = n + 2;
        let mut envs: Vec<Env> = vec![vec![None; nq]; n + 1];
        for (env, &d) in envs[n].iter_mut().zip(&self.dims[n]) {
            if d > 0 {
                *env = Some(Mat::identity(1, 1));
            }
        }
        for site in (0..n).rev() {
            let mut env: Env = vec![None; nq];
            for q in 0..=n {
                let d = self.dims[site][q];
                if d == 0 {
                    continue;
                }
                let mut out = Mat::<C64>::zeros(d, d);
                for s in 0..2 {
                    let (Some(b), Some(r)) =
                        (self.block(site, q, s), envs[site + 1][q + s].as_ref())
                    else {
                        continue;
                    };
                    let b = b.to_complex();
                    let b = b.as_ref();
                    let mut tmp = Mat::<C64>::zeros(d, b.ncols());
                    matmul_into(tmp.as_mut(), b, r.as_ref());
                    let mut term = Mat::<C64>::zeros(d, d);
                    matmul_into(term.as_mut(), tmp.as_ref(), b.adjoint());
                    out += &term;
                }
                env[q] = Some(out);
            }
            envs[site] = env;
        }
        envs
    }

    /// `P(site = 1)` for every site, normalised by `<ψ|ψ>` (right environments, then one
    /// left sweep).
    pub(crate) fn marginals(&self) -> Vec<f64> {
        let n = self.len();
        let nq = n + 2;
        let right = self.right_envs();
        let norm = right[0][0].as_ref().map(|m| m[(0, 0)].re).unwrap_or(0.0);
        let mut left: Env = vec![None; nq];
        left[0] = Some(Mat::identity(1, 1));
        let mut out = vec![0.0; n];
        for site in 0..n {
            let mut p1 = 0.0;
            let mut next: Env = vec![None; nq];
            for q in 0..=n {
                let Some(l) = left[q].as_ref() else { continue };
                for s in 0..2 {
                    let Some(a) = self.block(site, q, s) else {
                        continue;
                    };
                    let a = a.to_complex();
                    let a = a.as_ref();
                    // L·A, then tr((L A) R Aᴴ) for the marginal and Aᴴ L A for the next env.
                    let mut la = Mat::<C64>::zeros(a.nrows(), a.ncols());
                    matmul_into(la.as_mut(), l.as_ref(), a);
                    if s == 1 {
                        if let Some(r) = right[site + 1][q + 1].as_ref() {
                            let mut lar = Mat::<C64>::zeros(a.nrows(), a.ncols());
                            matmul_into(lar.as_mut(), la.as_ref(), r.as_ref());
                            for j in 0..a.ncols() {
                                for i in 0..a.nrows() {
                                    p1 += (lar[(i, j)] * a[(i, j)].conj()).re;
                                }
                            }
                        }
                    }
                    let mut term = Mat::<C64>::zeros(a.ncols(), a.ncols());
                    matmul_into(term.as_mut(), a.adjoint(), la.as_ref());
                    match next[q + s].as_mut() {
                        Some(acc) => *acc += &term,
                        None => next[q + s] = Some(term),
                    }
                }
            }
            out[site] = if norm > 0.0 { p1 / norm } else { 0.0 };
            left = next;
        }
        out
    }

    /// `<bits|ψ>` with `physical[site]` the bit read at each site: one path through the
    /// charge sectors (`O(nχ²)`).
    pub(crate) fn amplitude_along(&self, physical: &[usize]) -> C64 {
        let mut v = vec![C64::new(1.0, 0.0)];
        let mut q = 0;
        for (site, &s) in physical.iter().enumerate() {
            let Some(a) = self.block(site, q, s) else {
                return C64::new(0.0, 0.0);
            };
            v = (0..a.ncols())
                .map(|c| (0..a.nrows()).map(|r| v[r] * a.at(r, c)).sum())
                .collect();
            q += s;
        }
        v[0]
    }

    /// Both continuations of a sampled prefix `(v, q)` at `site`: the weight `p_s` of
    /// reading `s` and the normalised prefix `(v_s, q + s)`, as [`U1Sites::draw_one`]
    /// computes them (an impossible branch has weight 0 and a zero vector).
    pub(crate) fn branches_at(
        &self,
        right: &[Env],
        site: usize,
        (v, q): &(Vec<C64>, usize),
    ) -> [(f64, (Vec<C64>, usize)); 2] {
        let q = *q;
        [0, 1].map(|s| {
            let (Some(a), Some(r)) = (self.block(site, q, s), right[site + 1][q + s].as_ref())
            else {
                let zeros = vec![C64::new(0.0, 0.0); self.dims[site + 1][q + s].max(1)];
                return (0.0, (zeros, q + s));
            };
            let mut w: Vec<C64> = (0..a.ncols())
                .map(|c| (0..a.nrows()).map(|i| v[i] * a.at(i, c)).sum())
                .collect();
            let mut acc = C64::new(0.0, 0.0);
            for j in 0..r.ncols() {
                let rw: C64 = (0..r.nrows()).map(|i| w[i] * r[(i, j)]).sum();
                acc += rw * w[j].conj();
            }
            let p = acc.re.max(0.0);
            let scale = if p > 0.0 { 1.0 / p.sqrt() } else { 0.0 };
            w.iter_mut().for_each(|z| *z *= scale);
            (p, (w, q + s))
        })
    }

    /// One conditional sample given the right environments: a sampled prefix fixes the
    /// charge, so a shot carries a single vector of one sector.
    pub(crate) fn draw_one(
        &self,
        right: &[Env],
        qubit_at_site: &[usize],
        rng: &mut ChaCha8Rng,
        bits: &mut BitString,
    ) {
        let mut v = vec![C64::new(1.0, 0.0)];
        let mut q = 0;
        for site in 0..self.len() {
            let mut w: [Vec<C64>; 2] = [Vec::new(), Vec::new()];
            let mut p = [0.0f64; 2];
            for s in 0..2 {
                let (Some(a), Some(r)) = (self.block(site, q, s), right[site + 1][q + s].as_ref())
                else {
                    continue;
                };
                w[s] = (0..a.ncols())
                    .map(|c| (0..a.nrows()).map(|i| v[i] * a.at(i, c)).sum())
                    .collect();
                // p_s = w R wᴴ (R is the Gram matrix of the right part, Hermitian).
                let mut acc = C64::new(0.0, 0.0);
                for j in 0..r.ncols() {
                    let rw: C64 = (0..r.nrows()).map(|i| w[s][i] * r[(i, j)]).sum();
                    acc += rw * w[s][j].conj();
                }
                p[s] = acc.re.max(0.0);
            }
            let total = p[0] + p[1];
            let one = total > 0.0 && rng.random::<f64>() * total >= p[0];
            let s = usize::from(one);
            let scale = if p[s] > 0.0 { 1.0 / p[s].sqrt() } else { 0.0 };
            v = w[s].iter().map(|z| z * scale).collect();
            if v.is_empty() {
                v = vec![C64::new(0.0, 0.0); self.dims[site + 1][q + s].max(1)];
            }
            if one {
                bits.set(qubit_at_site[site], true);
            }
            q += s;
        }
    }
}
