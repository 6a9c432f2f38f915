//! Observables of the U(1) MPS: amplitudes, marginals, norm and conditional sampling, in
//! **qubit** order. Environments are block-diagonal in the bond charge, and a sampled
//! prefix fixes the charge, so a shot carries a single vector of one sector.

use faer::Mat;
use num_complex::Complex64 as C64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::blocks::BlockRef;
use super::U1Mps;
use crate::linalg::matmul_into;
use crate::{check_bits, Simulator};
use bfly_core::bits::BitString;
use bfly_core::circuit::BoundGate;
use bfly_core::error::Result;

/// One environment: a `d × d` matrix per charge (`None` for an absent sector).
type Env = Vec<Option<Mat<C64>>>;

impl U1Mps {
    fn block(&self, site: usize, q: usize, s: usize) -> Option<BlockRef<'_>> {
        let (rows, cols) = (self.dims[site][q], self.dims[site + 1][q + s]);
        self.blocks.get(site, 2 * q + s, rows, cols)
    }

    /// Right environments `R_i[q] = Σ_s B(q,s) R_{i+1}[q+s] B(q,s)ᴴ` for every bond
    /// (`R_n[Q] = 1`), independent of the canonical form.
    fn right_envs(&self) -> Vec<Env> {
        let n = self.n;
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

    /// `<ψ|ψ>` (summed over total weights).
    pub fn norm_sq(&self) -> f64 {
        (0..2 * (self.n + 1))
            .map(|idx| self.blocks.norm_sqr(self.centre, idx))
            .sum()
    }

    /// `P(q = 1)` for every qubit, normalised by `<ψ|ψ>`.
    pub fn marginal_probabilities(&self) -> Vec<f64> {
        let n = self.n;
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
            out[self.qubit_at_site[site]] = if norm > 0.0 { p1 / norm } else { 0.0 };
            left = next;
        }
        out
    }

    /// `<bits|ψ>`: one path through the charge sectors (`O(nχ²)`).
    pub fn amplitude_of(&self, bits: &BitString) -> Result<C64> {
        check_bits(bits, self.n)?;
        let mut v = vec![C64::new(1.0, 0.0)];
        let mut q = 0;
        for site in 0..self.n {
            let s = usize::from(bits.get(self.qubit_at_site[site]));
            let Some(a) = self.block(site, q, s) else {
                return Ok(C64::new(0.0, 0.0));
            };
            v = (0..a.ncols())
                .map(|c| (0..a.nrows()).map(|r| v[r] * a.at(r, c)).sum())
                .collect();
            q += s;
        }
        Ok(v[0])
    }

    /// `shots` samples of all qubits (qubit order), conditional site by site: `O(nχ²)` per
    /// shot after one environment sweep; shot `i` uses ChaCha8 stream `i` of `seed`.
    pub fn sample_shots(&self, shots: usize, seed: u64) -> Vec<BitString> {
        let right = self.right_envs();
        (0..shots)
            .into_par_iter()
            .with_min_len(64)
            .map(|shot| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(shot as u64);
                self.sample_one(&right, &mut rng)
            })
            .collect()
    }

    fn sample_one(&self, right: &[Env], rng: &mut ChaCha8Rng) -> BitString {
        let mut bits = BitString::zeros(self.n);
        let mut v = vec![C64::new(1.0, 0.0)];
        let mut q = 0;
        for site in 0..self.n {
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
                bits.set(self.qubit_at_site[site], true);
            }
            q += s;
        }
        bits
    }
}

impl Simulator for U1Mps {
    fn backend_name(&self) -> &'static str {
        "mps-u1"
    }

    fn n_qubits(&self) -> usize {
        self.n
    }

    fn apply(&mut self, gate: &BoundGate) -> Result<()> {
        self.apply_gate(gate)
    }

    /// Gates on disjoint qubits may be reordered (same state): see
    /// [`U1Mps::run_scheduled`].
    fn run(
        &mut self,
        circuit: &bfly_core::circuit::Circuit,
        values: &bfly_core::circuit::Parameters,
    ) -> Result<()> {
        self.run_scheduled(circuit, values)
    }

    fn amplitude(&self, bits: &BitString) -> Result<C64> {
        self.amplitude_of(bits)
    }

    fn marginals(&self) -> Vec<f64> {
        self.marginal_probabilities()
    }

    fn norm_squared(&self) -> f64 {
        self.norm_sq()
    }

    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString> {
        self.sample_shots(shots, seed)
    }
}
