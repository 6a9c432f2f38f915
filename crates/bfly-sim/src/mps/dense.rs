//! Dense site storage: one contiguous `χl × 2 × χr` tensor per site, and its kernels
//! (two-site SVD update, QR centre moves, one-qubit contraction, environment sweeps and
//! the draw of one sample), plugged into the shared [`Chain`].

use num_complex::Complex64 as C64;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::chain::{Chain, SiteSplit, SiteStorage};
use super::kernels::{is_real4, shift_left, shift_right, two_site, Workspace};
use super::measure::row_times_slice;
use super::Truncation;
use bfly_core::bits::BitString;
use bfly_core::circuit::{BoundGate, Mat2, Mat4};
use bfly_core::error::Result;

/// The site tensors of the dense engine [`Mps`](super::Mps): `A[l, s, r]`, contiguous
/// `Complex64` with `l` fastest (offset `l + χl·(s + 2·r)`). While every tensor and gate
/// is real the SVDs and QRs run in `f64`.
#[derive(Clone, Debug)]
pub struct DenseSites {
    /// Site tensors, layout `l + χl·(s + 2·r)`.
    pub(crate) tensors: Vec<Vec<C64>>,
    /// `bonds[i]` = dimension of the bond left of site `i`; `bonds[0] = bonds[n] = 1`.
    pub(crate) bonds: Vec<usize>,
    /// All tensors (and every gate so far) are real: SVD/QR may run in `f64`.
    pub(crate) real: bool,
    pub(crate) work: Workspace,
    /// Spare workspaces for the threads of the parallel layers (never serialised).
    pub(crate) pool: Vec<Workspace>,
}

impl DenseSites {
    /// Storage of `tensors` with bond dimensions `bonds` (`n + 1` entries).
    pub(crate) fn from_tensors(tensors: Vec<Vec<C64>>, bonds: Vec<usize>, real: bool) -> Self {
        DenseSites {
            tensors,
            bonds,
            real,
            work: Workspace::default(),
            pool: Vec::new(),
        }
    }
}

impl SiteStorage for DenseSites {
    const BACKEND_NAME: &'static str = "mps";
    /// A copy of the state with its centre at site 0.
    type Sampler = DenseSites;

    fn product(amplitudes: &[[C64; 2]]) -> (Self, usize) {
        let real = amplitudes.iter().all(|[a, b]| a.im == 0.0 && b.im == 0.0);
        let tensors = amplitudes.iter().map(|&[a, b]| vec![a, b]).collect();
        let bonds = vec![1; amplitudes.len() + 1];
        (DenseSites::from_tensors(tensors, bonds, real), 0)
    }

    fn bond(&self, i: usize) -> usize {
        self.bonds[i]
    }

    fn is_real(&self) -> bool {
        self.real
    }

    fn bytes(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| t.len() * std::mem::size_of::<C64>())
            .sum()
    }

    fn shift_right(&mut self, c: usize) {
        let dims = (self.bonds[c], self.bonds[c + 1], self.bonds[c + 2]);
        let (a, b) = self.tensors.split_at_mut(c + 1);
        let k = if self.real {
            shift_right(&mut self.work.re, &mut a[c], &mut b[0], dims)
        } else {
            shift_right(&mut self.work.cx, &mut a[c], &mut b[0], dims)
        };
        self.bonds[c + 1] = k;
    }

    fn shift_left(&mut self, c: usize) {
        let dims = (self.bonds[c - 1], self.bonds[c], self.bonds[c + 1]);
        let (a, b) = self.tensors.split_at_mut(c);
        let k = if self.real {
            shift_left(&mut self.work.re, &mut b[0], &mut a[c - 1], dims)
        } else {
            shift_left(&mut self.work.cx, &mut b[0], &mut a[c - 1], dims)
        };
        self.bonds[c] = k;
    }

    fn two_site(&mut self, i: usize, g: &Mat4, t: &Truncation, right: bool) -> Result<SiteSplit> {
        let (policy, centre_right) = (t, right);
        let gate_real = is_real4(g);
        let dims = (self.bonds[i], self.bonds[i + 1], self.bonds[i + 2]);
        let (a, b) = self.tensors.split_at_mut(i + 1);
        let (left, right) = (&mut a[i], &mut b[0]);
        let split = if self.real && gate_real {
            two_site(
                &mut self.work.re,
                left,
                right,
                dims,
                g,
                policy,
                centre_right,
            )?
        } else {
            two_site(
                &mut self.work.cx,
                left,
                right,
                dims,
                g,
                policy,
                centre_right,
            )?
        };
        if !gate_real {
            self.real = false;
        }
        self.bonds[i + 1] = split.bond;
        Ok(SiteSplit {
            bond: split.bond,
            choice: split.choice,
            svd_fallbacks: split.svd_fallbacks,
        })
    }

    fn one_qubit(&mut self, site: usize, _qubit: usize, m: &Mat2) -> Result<()> {
        let dl = self.bonds[site];
        let t = &mut self.tensors[site];
        // Layout l + dl·(s + 2r): for each r the two physical slices are consecutive.
        for block in t.chunks_exact_mut(2 * dl) {
            let (x0, x1) = block.split_at_mut(dl);
            for (a, b) in x0.iter_mut().zip(x1.iter_mut()) {
                let (u, v) = (*a, *b);
                *a = m[0][0] * u + m[0][1] * v;
                *b = m[1][0] * u + m[1][1] * v;
            }
        }
        if m.iter().flatten().any(|z| z.im != 0.0) {
            self.real = false;
        }
        Ok(())
    }

    fn norm_at(&self, centre: usize) -> f64 {
        self.tensors[centre].iter().map(|z| z.norm_sqr()).sum()
    }

    fn marginals_by_site(&self, centre: usize) -> Vec<f64> {
        self.marginals_from_centre(centre)
    }

    fn amplitude(&self, physical: &[usize]) -> C64 {
        let mut v = vec![C64::new(1.0, 0.0)];
        let mut w = Vec::new();
        for (site, &s) in physical.iter().enumerate() {
            row_times_slice(
                &v,
                &self.tensors[site],
                self.bonds[site],
                self.bonds[site + 1],
                s,
                &mut w,
            );
            std::mem::swap(&mut v, &mut w);
        }
        v[0]
    }

    /// The copy's tensors and per-site vectors.
    fn sampler_bytes(chain: &Chain<Self>) -> u64 {
        let sites = chain.sites.tensors.len() as u64;
        (chain.sites.bytes() as u64).saturating_add(sites.saturating_mul(64))
    }

    /// The normalised left vector `v` (length: the bond left of the next site).
    type Prefix = Vec<C64>;

    fn first_prefix(&self) -> Vec<C64> {
        vec![C64::new(1.0, 0.0)]
    }

    /// Sites right of `site` are right-orthonormal in the sampler, so `‖w_s‖²` is the
    /// weight of reading `s`.
    fn branches(&self, sampler: &DenseSites, site: usize, v: &Vec<C64>) -> [(f64, Vec<C64>); 2] {
        let (dl, dr) = (sampler.bonds[site], sampler.bonds[site + 1]);
        [0, 1].map(|s| {
            let mut w = Vec::new();
            row_times_slice(v, &sampler.tensors[site], dl, dr, s, &mut w);
            let p: f64 = w.iter().map(|z| z.norm_sqr()).sum();
            let scale = if p > 0.0 { 1.0 / p.sqrt() } else { 0.0 };
            w.iter_mut().for_each(|z| *z *= scale);
            (p, w)
        })
    }

    fn sampler(chain: &Chain<Self>) -> DenseSites {
        let mut state = chain.clone();
        state.move_centre_to(0);
        state.sites
    }

    /// Sites right of the current one are right-orthonormal (the sampler's centre is at
    /// site 0), so `‖w_s‖²` is the probability of reading `s`.
    fn draw(
        &self,
        sampler: &DenseSites,
        qubit_at_site: &[usize],
        rng: &mut ChaCha8Rng,
        bits: &mut BitString,
    ) {
        let mut v = vec![C64::new(1.0, 0.0)];
        let mut w0 = Vec::new();
        let mut w1 = Vec::new();
        for (site, t) in sampler.tensors.iter().enumerate() {
            let (dl, dr) = (sampler.bonds[site], sampler.bonds[site + 1]);
            row_times_slice(&v, t, dl, dr, 0, &mut w0);
            row_times_slice(&v, t, dl, dr, 1, &mut w1);
            let p0: f64 = w0.iter().map(|z| z.norm_sqr()).sum();
            let p1: f64 = w1.iter().map(|z| z.norm_sqr()).sum();
            let total = p0 + p1;
            let one = total > 0.0 && rng.random::<f64>() * total >= p0;
            let (w, p) = if one { (&w1, p1) } else { (&w0, p0) };
            let scale = if p > 0.0 { 1.0 / p.sqrt() } else { 0.0 };
            v.clear();
            v.extend(w.iter().map(|z| z * scale));
            if one {
                bits.set(qubit_at_site[site], true);
            }
        }
    }

    fn apply_layer_in_parallel(
        chain: &mut Chain<Self>,
        layer: &[usize],
        bound: &[BoundGate],
    ) -> Result<bool> {
        chain.apply_layer_in_parallel(layer, bound)
    }
}
