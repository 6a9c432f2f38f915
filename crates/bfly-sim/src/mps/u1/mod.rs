//! A **U(1)-symmetric (Hamming-weight-conserving) block-sparse MPS**, for circuits of
//! weight-preserving gates such as Butterflies of RBS gates.
//!
//! RBS, SWAP, CZ, RZ, Z, ZZ and every weight-preserving `unitary2` conserve the number of
//! 1s. So every bond carries a **charge**, the number of 1s on the sites to its left, and
//! every site tensor is block-sparse: `A[(l, q), s, (r, q')]` is non-zero only if
//! `q' = q + s` (as ITensor's conserved quantum numbers or TeNPy's charges). Two-site
//! updates then factor one small matrix per middle charge instead of one large one, and
//! truncation ranks the singular values of all blocks together, with the dense engine's
//! [`Truncation`] policy and [`TruncationReport`](super::TruncationReport) (χ caps the *total* bond dimension).
//!
//! # States of mixed Hamming weight: the right-boundary label `Q`
//! The angle (RY product) input is a superposition of every weight. Weight-preserving
//! gates evolve each total-weight sector `ψ_Q` independently, so the engine labels the
//! right boundary with the total weight `Q` and stores the state `Σ_Q |ψ_Q⟩|Q⟩`. Because
//! `ψ_Q` only has weight-`Q` strings, the label is a function of the bitstring: every
//! amplitude, probability, marginal and sample equals that of `Σ_Q |ψ_Q⟩` **exactly**,
//! and the decomposition stays canonical. What differs is the Schmidt spectrum at a bond:
//! the labelled state is block-diagonal in the left charge, so its bonds are at least as
//! large as the dense MPS's, and a truncated run keeps a *different* (optimal for the
//! labelled state) set of singular values than the dense engine at the same χ. **Compare
//! truncated runs by their measurement statistics (marginals, probabilities, samples), not
//! by overlaps with a dense MPS.** For a fixed-weight input (unary, hwK) the label is
//! constant and both engines truncate identically.
//!
//! # When it pays (measured)
//! 128-qubit full Butterfly, cutoff 0, at **equal accuracy of marginals**
//! (`bfly_studies::bench::equal_accuracy`, `bfly bench mps --symmetry both --match-accuracy`,
//! one run on the idle 2-core machine, each run in its own process). hw3 input, exact
//! reference: 5.1× faster at χ = 256 (no truncation, bonds 130) and 4.3× at χ = 64
//! (identical truncation), with lower peak RSS (40 vs 80 MiB; blocks are `f64` while the
//! state is real, the dense engine's are `C64`). Angle input, against a
//! U(1) χ = 1536 reference: the label enlarges every bond, so equal accuracy needs a
//! larger χ. Dense χ = 64 is matched only by U(1) χ = 256, which is **1.7× slower**;
//! dense χ = 256 is matched by U(1) χ = 512, which is 4.8× faster. Prefer this engine for
//! fixed-weight inputs ([`fixed_input_weight`] tells; `bfly simulate --symmetry auto`
//! uses it). The sectors of one two-site update or centre move run as rayon tasks above
//! a size threshold, with the gate loop itself on a rayon worker; results do not depend
//! on the thread count.
//!
//! # Scope
//! - Built from any product state ([`U1Mps::from_product_state`]), any list of basis
//!   amplitudes, e.g. a weight-k state ([`U1Mps::from_amplitudes`]), or a dense MPS
//!   ([`U1Mps::from_dense`]); back to dense with [`U1Mps::to_dense`].
//! - [`run_mps_u1`] runs a circuit from `|0…0>`: single-qubit gates before a qubit's first
//!   two-qubit gate (the X of unary/hwK loaders, the RY of the angle loader) are folded
//!   into the initial product state; after that a gate that changes Hamming weight is a
//!   typed error ([`Error::NotChargeConserving`]) naming the op: run it with the dense
//!   engine, or convert with [`U1Mps::to_dense`] and continue there.
//! - Same layouts and routing ([`SiteOrdering`], [`Routing`](super::Routing)) as the dense engine, the
//!   same layer scheduling, the same [`Simulator`](crate::Simulator) interface,
//!   sampling, and versioned save/load. (Not ported from the dense engine: running
//!   independent chain segments on separate threads, which never applies to
//!   angle input here because the label leaves no bond of dimension 1; overlaps.)
//!
//! ```
//! use bfly_core::circuit::{ButterflyWorkload, loaders::Loader};
//! use bfly_sim::mps::u1::run_mps_u1;
//! use bfly_sim::mps::{run_mps, MpsConfig};
//! use bfly_sim::Simulator;
//! let circuit = ButterflyWorkload::full(16, Loader::Angle, 1).build().unwrap();
//! let config = MpsConfig::new(usize::MAX, 0.0).unwrap(); // no truncation
//! let u1 = run_mps_u1(&circuit, &circuit.parameters, &config).unwrap();
//! let dense = run_mps(&circuit, &circuit.parameters, &config).unwrap();
//! let (p, q) = (u1.marginals(), dense.marginals());
//! assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-10));
//! assert_eq!(u1.report().truncations, 0);
//! ```

mod blocks;
mod gates;
mod kernels;
mod measure;
mod persist;

pub use gates::fixed_input_weight;
pub use persist::{U1_FILE_MAGIC, U1_FILE_VERSION};

use num_complex::Complex64 as C64;
use rand_chacha::ChaCha8Rng;

use self::blocks::{BlockScalar, Blocks, Table};
use self::gates::conserves_weight;
use self::kernels::{conserves_weight4, on_rayon_worker, U1Workspace};
use super::chain::{SiteSplit, SiteStorage};
use super::{Chain, DenseSites, Mps, MpsConfig, SiteOrdering, Truncation};
use bfly_core::bits::BitString;
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// Amplitudes below this modulus are treated as absent when building product states.
const ZERO_AMPLITUDE: f64 = 0.0;

/// A charge-conserving (U(1)) matrix product state on `n` qubits; see the module docs.
///
/// ```
/// use bfly_core::circuit::BoundGate;
/// use bfly_core::circuit::gate::rbs_matrix;
/// use bfly_sim::mps::u1::U1Mps;
/// use bfly_sim::mps::MpsConfig;
/// use bfly_sim::Simulator;
/// use bfly_core::BitString;
/// // 1024 qubits, |1> on qubit 0, an RBS between qubits 0 and 1000 (routed by SWAPs).
/// let e0 = BitString::from_ones(1024, &[0]).unwrap();
/// let mut psi = U1Mps::from_bits(&e0, &MpsConfig::new(8, 0.0).unwrap()).unwrap();
/// psi.apply(&BoundGate::Two { qubits: [0, 1000], matrix: rbs_matrix(0.4) }).unwrap();
/// let p = psi.marginals();
/// assert!((p[1000] - 0.4f64.sin().powi(2)).abs() < 1e-12);
/// assert_eq!(psi.max_bond_dimension(), 2);
/// ```
pub type U1Mps = Chain<U1Sites>;

/// The charge blocks of the U(1) engine [`U1Mps`]: every bond carries charge sectors and
/// every site tensor is block-sparse (module docs); blocks are stored in `f64` while the
/// state is real.
#[derive(Clone, Debug)]
pub struct U1Sites {
    /// `dims[i][q]`: dimension of the charge-`q` sector of the bond left of site `i`
    /// (`n + 2` entries; `0` = absent). `dims[0]` = `{0: 1}`, `dims[n]` = `{Q: 1}` for
    /// every total weight `Q` present.
    pub(crate) dims: Vec<Vec<usize>>,
    /// `blocks[i][2q + s]`: the `dims[i][q] × dims[i+1][q+s]` block of site `i`,
    /// column-major; empty = zero block (in `f64` while the state is real).
    pub(crate) blocks: Blocks,
    pub(crate) work: U1Workspace,
}

impl U1Sites {
    /// `n` sites with every sector absent and every block zero.
    pub(crate) fn empty(n: usize) -> Self {
        U1Sites {
            dims: vec![vec![0; n + 2]; n + 1],
            blocks: Blocks::empty(n),
            work: U1Workspace::default(),
        }
    }

    /// The number of sites.
    pub(crate) fn len(&self) -> usize {
        self.dims.len() - 1
    }

    /// The product state of `amplitudes[site]` (normalised, site order). A site with both
    /// amplitudes non-zero mixes Hamming weights: the state is stored as `Σ_Q |ψ_Q⟩|Q⟩`
    /// (module docs), built directly in left-canonical form (bond `i` has one sector per
    /// weight the first `i` sites can hold), so the centre is the last site.
    fn product_state(amplitudes: &[[C64; 2]]) -> (Self, usize) {
        let n = amplitudes.len();
        let mut psi = Self::empty(n);
        // p[q]: probability that the sites left of the bond hold weight q.
        let mut p = vec![0.0f64; n + 2];
        p[0] = 1.0;
        psi.dims[0][0] = 1;
        let table = psi.blocks.complex_mut();
        for (site, (row, &amp)) in table.iter_mut().zip(amplitudes).enumerate() {
            let mut next = vec![0.0f64; n + 2];
            for q in 0..=site {
                if p[q] == 0.0 {
                    continue;
                }
                for s in 0..2 {
                    if amp[s].norm() > ZERO_AMPLITUDE {
                        next[q + s] += p[q] * amp[s].norm_sqr();
                    }
                }
            }
            let last = site + 1 == n;
            for (d, &w) in psi.dims[site + 1].iter_mut().zip(&next) {
                if w > 0.0 {
                    *d = 1;
                }
            }
            for q in 0..=site {
                if p[q] == 0.0 {
                    continue;
                }
                for s in 0..2 {
                    if amp[s].norm() > ZERO_AMPLITUDE && next[q + s] > 0.0 {
                        // Left-canonical: A = √p_q · amp_s / √p_{q+s}; the last site keeps
                        // the weights (it is the orthogonality centre).
                        let v = if last {
                            amp[s] * p[q].sqrt()
                        } else {
                            amp[s] * (p[q] / next[q + s]).sqrt()
                        };
                        row[2 * q + s] = vec![v];
                    }
                }
            }
            p = next;
        }
        psi.blocks.shrink_to_real();
        (psi, n.saturating_sub(1))
    }
}

impl U1Mps {
    /// The state `Σ_t amplitude_t |bits_t>` (any Hamming weights; repeated bitstrings add
    /// up), normalised, compressed to a canonical form with the config's truncation.
    /// Built as a direct sum (bond sizes up to the number of terms before compression), so
    /// meant for states with up to a few thousand terms, e.g. a weight-k state of a
    /// subspace simulator ([`crate::Simulator::explicit_amplitudes`]).
    pub fn from_amplitudes(
        n: usize,
        terms: &[(BitString, C64)],
        config: &MpsConfig,
    ) -> Result<Self> {
        let mut psi = Self::with_layout(n, config, U1Sites::empty(n))?;
        let norm: f64 = terms.iter().map(|t| t.1.norm_sqr()).sum::<f64>().sqrt();
        if terms.is_empty() || !norm.is_finite() || norm == 0.0 {
            return Err(Error::InvalidInput(
                "from_amplitudes needs at least one finite, non-zero amplitude".into(),
            ));
        }
        for (t, (bits, amp)) in terms.iter().enumerate() {
            if bits.len() != n {
                return Err(Error::InvalidInput(format!(
                    "term {t} has {} qubits, the state {n}",
                    bits.len()
                )));
            }
            if !amp.re.is_finite() || !amp.im.is_finite() {
                return Err(Error::InvalidInput(format!("term {t} has amplitude {amp}")));
            }
        }
        // pos[t]: index of term t inside its sector at the current bond.
        let mut weight = vec![0usize; terms.len()];
        let mut pos = vec![0usize; terms.len()];
        psi.sites.dims[0][0] = terms.len();
        let table = psi.sites.blocks.complex_mut();
        for (site, row) in table.iter_mut().enumerate() {
            let qubit = psi.qubit_at_site[site];
            let last = site + 1 == n;
            let mut new_pos = vec![0usize; terms.len()];
            let mut count = vec![0usize; n + 2];
            for (t, (bits, _)) in terms.iter().enumerate() {
                let q = weight[t] + usize::from(bits.get(qubit));
                new_pos[t] = if last { 0 } else { count[q] };
                count[q] = if last { 1 } else { count[q] + 1 };
            }
            psi.sites.dims[site + 1] = count;
            for (t, (bits, amp)) in terms.iter().enumerate() {
                let (q, s) = (weight[t], usize::from(bits.get(qubit)));
                let (rows, cols) = (psi.sites.dims[site][q], psi.sites.dims[site + 1][q + s]);
                let block = &mut row[2 * q + s];
                if block.is_empty() {
                    block.resize(rows * cols, C64::new(0.0, 0.0));
                }
                let v = if last {
                    *amp / norm
                } else {
                    C64::new(1.0, 0.0)
                };
                block[pos[t] + rows * new_pos[t]] += v;
            }
            for (t, (bits, _)) in terms.iter().enumerate() {
                weight[t] += usize::from(bits.get(qubit));
            }
            pos = new_pos;
        }
        // The left boundary is one state: all terms start from the same (empty) prefix.
        let rows = terms.len();
        for slot in table[0].iter_mut().take(2) {
            let block = std::mem::take(slot);
            if block.is_empty() {
                continue;
            }
            let cols = block.len() / rows;
            *slot = (0..cols)
                .map(|c| block[c * rows..(c + 1) * rows].iter().sum())
                .collect();
        }
        psi.sites.blocks.shrink_to_real();
        psi.sites.dims[0][0] = 1;
        psi.centre = n - 1;
        psi.compress()?;
        Ok(psi)
    }

    /// Convert a dense MPS: every dense bond index is copied into each charge sector it
    /// can carry, then the chain is compressed (blockwise SVDs, noise floor only; the
    /// target's truncation policy is the source's). Exact up to rounding.
    pub fn from_dense(dense: &Mps) -> Result<Self> {
        let n = dense.n;
        let config = MpsConfig {
            truncation: dense.truncation,
            ordering: SiteOrdering::Custom(dense.qubit_at_site.clone()),
            routing: dense.routing,
        };
        let mut psi = Self::with_layout(n, &config, U1Sites::empty(n))?;
        psi.home = dense.home.clone();
        for i in 0..=n {
            for q in 0..=i.min(n) {
                psi.sites.dims[i][q] = if i == n { 1 } else { dense.sites.bonds[i] };
            }
        }
        let table = psi.sites.blocks.complex_mut();
        for (site, row) in table.iter_mut().enumerate() {
            let (dl, dr) = (dense.sites.bonds[site], dense.sites.bonds[site + 1]);
            let t = &dense.sites.tensors[site];
            for s in 0..2 {
                let slice: Vec<C64> = (0..dr)
                    .flat_map(|r| t[dl * (s + 2 * r)..dl * (s + 2 * r + 1)].iter().copied())
                    .collect();
                for q in 0..=site {
                    row[2 * q + s] = slice.clone();
                }
            }
        }
        psi.sites.blocks.shrink_to_real();
        psi.centre = 0;
        psi.stats = dense.stats.clone();
        psi.compress()?;
        Ok(psi)
    }

    /// Canonicalise from scratch (QR sweep to the right end, then SVD sweep back to site 0
    /// dropping only numerical zeros), leaving the centre at site 0.
    fn compress(&mut self) -> Result<()> {
        self.centre = 0;
        self.move_centre_to(self.n - 1);
        // With every other site left-orthonormal, the centre's block ending in total weight
        // Q holds ‖ψ_Q‖²: drop the weights that are numerically absent (as the SVDs drop
        // singular values below the noise floor), so a weight-k state keeps charges 0..=k.
        let n = self.n;
        let weight: Vec<f64> = (0..=n)
            .map(|q| {
                let mut w = self.sites.blocks.norm_sqr(n - 1, 2 * q);
                if q > 0 {
                    w += self.sites.blocks.norm_sqr(n - 1, 2 * (q - 1) + 1);
                }
                w
            })
            .collect();
        let floor = weight.iter().copied().fold(0.0, f64::max).sqrt() * crate::linalg::NOISE_FLOOR;
        for (q, &w) in weight.iter().enumerate() {
            if self.sites.dims[n][q] > 0 && w.sqrt() <= floor {
                self.sites.dims[n][q] = 0;
                self.sites.blocks.clear(n - 1, 2 * q);
                if q > 0 {
                    self.sites.blocks.clear(n - 1, 2 * (q - 1) + 1);
                }
            }
        }
        let exact = Truncation::exact();
        for c in (1..self.n).rev() {
            let (dims, _) = match &mut self.sites.blocks {
                Blocks::Real(t) => {
                    svd_left_at(t, &mut self.sites.work, &self.sites.dims, c, &exact)?
                }
                Blocks::Complex(t) => {
                    svd_left_at(t, &mut self.sites.work, &self.sites.dims, c, &exact)?
                }
            };
            self.sites.dims[c] = dims;
            self.centre = c - 1;
        }
        Ok(())
    }

    /// The same state as a dense [`Mps`] (sectors stacked along each bond; the right
    /// boundary label is summed out, which is exact because each `ψ_Q` has weight `Q`),
    /// canonicalised by QR sweeps. Use it to continue with gates that change Hamming
    /// weight. Truncation statistics carry over.
    pub fn to_dense(&self) -> Result<Mps> {
        let n = self.n;
        let offsets: Vec<Vec<usize>> = self
            .sites
            .dims
            .iter()
            .map(|d| {
                let mut acc = 0;
                d.iter()
                    .map(|&x| {
                        let o = acc;
                        acc += x;
                        o
                    })
                    .collect()
            })
            .collect();
        let mut bonds: Vec<usize> = self.sites.dims.iter().map(|d| d.iter().sum()).collect();
        bonds[n] = 1;
        let table = self.sites.blocks.to_complex();
        let mut tensors = Vec::with_capacity(n);
        for site in 0..n {
            let (dl, dr) = (bonds[site], bonds[site + 1]);
            let mut t = vec![C64::new(0.0, 0.0); dl * 2 * dr];
            for q in 0..=n {
                for s in 0..2 {
                    let b = &table[site][2 * q + s];
                    if b.is_empty() {
                        continue;
                    }
                    let rows = self.sites.dims[site][q];
                    let cols = self.sites.dims[site + 1][q + s];
                    for c in 0..cols {
                        let r = if site + 1 == n {
                            0
                        } else {
                            offsets[site + 1][q + s] + c
                        };
                        for l in 0..rows {
                            let row = offsets[site][q] + l;
                            t[row + dl * (s + 2 * r)] += b[l + rows * c];
                        }
                    }
                }
            }
            tensors.push(t);
        }
        let mut dense = Mps::new(
            n,
            &MpsConfig {
                truncation: self.truncation,
                ordering: SiteOrdering::Custom(self.qubit_at_site.clone()),
                routing: self.routing,
            },
        )?;
        dense.sites = DenseSites::from_tensors(tensors, bonds, self.is_real());
        dense.home = self.home.clone();
        dense.stats = self.stats.clone();
        dense.centre = 0;
        dense.move_centre_to(n - 1);
        dense.centre = n - 1;
        dense.move_centre_to(0);
        Ok(dense)
    }

    /// The charge sectors of every bond in site order (`n + 1` bonds including both
    /// ends): `(charge, dimension)` pairs, charge = number of 1s left of the bond (at the
    /// right end: the total weight `Q`).
    pub fn bond_sectors(&self) -> Vec<Vec<(usize, usize)>> {
        self.sites
            .dims
            .iter()
            .map(|d| {
                d.iter()
                    .enumerate()
                    .filter(|(_, &x)| x > 0)
                    .map(|(q, &x)| (q, x))
                    .collect()
            })
            .collect()
    }
}

impl SiteStorage for U1Sites {
    const BACKEND_NAME: &'static str = "mps-u1";
    /// The right environments of every bond.
    type Sampler = Vec<measure::Env>;

    fn product(amplitudes: &[[C64; 2]]) -> (Self, usize) {
        Self::product_state(amplitudes)
    }

    fn bond(&self, i: usize) -> usize {
        self.dims[i].iter().sum()
    }

    fn is_real(&self) -> bool {
        self.blocks.is_real()
    }

    /// 8 bytes per number while the state is real, 16 once complex.
    fn bytes(&self) -> usize {
        self.blocks.bytes()
    }

    fn shift_right(&mut self, c: usize) {
        self.dims[c + 1] = match &mut self.blocks {
            Blocks::Real(t) => shift_right_at(t, &mut self.work, &self.dims, c),
            Blocks::Complex(t) => shift_right_at(t, &mut self.work, &self.dims, c),
        };
    }

    fn shift_left(&mut self, c: usize) {
        self.dims[c] = match &mut self.blocks {
            Blocks::Real(t) => shift_left_at(t, &mut self.work, &self.dims, c),
            Blocks::Complex(t) => shift_left_at(t, &mut self.work, &self.dims, c),
        };
    }

    fn two_site(&mut self, i: usize, g: &Mat4, t: &Truncation, right: bool) -> Result<SiteSplit> {
        self.two_site_update(i, g, t, right)
    }

    fn admit_two_qubit(qubits: [usize; 2], m: &Mat4) -> Result<()> {
        if conserves_weight4(m) {
            return Ok(());
        }
        Err(Error::NotChargeConserving {
            gate: format!("a two-qubit gate on qubits ({}, {})", qubits[0], qubits[1]),
        })
    }

    fn admits(gate: &BoundGate) -> bool {
        conserves_weight(gate)
    }

    fn one_qubit(&mut self, site: usize, qubit: usize, m: &Mat2) -> Result<()> {
        self.diagonal_one_qubit(site, qubit, m)
    }

    fn norm_at(&self, centre: usize) -> f64 {
        (0..2 * (self.len() + 1))
            .map(|idx| self.blocks.norm_sqr(centre, idx))
            .sum()
    }

    fn marginals_by_site(&self, _centre: usize) -> Vec<f64> {
        self.marginals()
    }

    fn amplitude(&self, physical: &[usize]) -> C64 {
        self.amplitude_along(physical)
    }

    /// Right environments: a `d × d` matrix per charge sector of every bond, and
    /// `(n + 2)` slots per bond.
    fn sampler_bytes(chain: &U1Mps) -> u64 {
        let n = chain.sites.len() as u128;
        let slots = (n + 1).saturating_mul(n + 2).saturating_mul(64);
        let blocks: u128 = chain
            .sites
            .dims
            .iter()
            .flatten()
            .map(|&d| (d as u128).pow(2) * 16)
            .sum();
        u64::try_from(slots.saturating_add(blocks)).unwrap_or(u64::MAX)
    }

    /// The normalised left vector and the charge (weight) of the prefix.
    type Prefix = (Vec<C64>, usize);

    fn first_prefix(&self) -> (Vec<C64>, usize) {
        (vec![C64::new(1.0, 0.0)], 0)
    }

    fn branches(
        &self,
        right: &Vec<measure::Env>,
        site: usize,
        prefix: &(Vec<C64>, usize),
    ) -> [(f64, (Vec<C64>, usize)); 2] {
        self.branches_at(right, site, prefix)
    }

    const CHARGE_TABLES: bool = true;

    const HISTOGRAM_ADVICE: &'static str = "";

    /// `Σ_Q C(n, Q)` over the weights `Q` the right boundary holds.
    fn outcome_bound(&self, n: usize) -> u128 {
        self.dims[n]
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d > 0)
            .fold(0u128, |acc, (q, _)| {
                acc.saturating_add(bfly_core::budget::binomial(n, q))
            })
    }

    fn sampler(chain: &U1Mps) -> Vec<measure::Env> {
        chain.sites.right_envs()
    }

    fn draw(
        &self,
        right: &Vec<measure::Env>,
        qubit_at_site: &[usize],
        rng: &mut ChaCha8Rng,
        bits: &mut BitString,
    ) {
        self.draw_one(right, qubit_at_site, rng, bits)
    }

    /// The gate loop runs on a rayon worker ([`kernels::on_rayon_worker`]).
    fn run_gate_loop<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        on_rayon_worker(f)
    }
}

/// [`kernels::shift_right`] from site `c` to `c + 1` of `table`.
fn shift_right_at<T: BlockScalar>(
    table: &mut Table<T>,
    work: &mut U1Workspace,
    dims: &[Vec<usize>],
    c: usize,
) -> Vec<usize> {
    let (a, b) = table.split_at_mut(c + 1);
    let (d0, d1, d2) = (&dims[c], &dims[c + 1], &dims[c + 2]);
    kernels::shift_right(T::bufs(work), &mut a[c], &mut b[0], d0, d1, d2)
}

/// [`kernels::shift_left`] from site `c` to `c − 1` of `table`.
fn shift_left_at<T: BlockScalar>(
    table: &mut Table<T>,
    work: &mut U1Workspace,
    dims: &[Vec<usize>],
    c: usize,
) -> Vec<usize> {
    let (a, b) = table.split_at_mut(c);
    let (d0, d1, d2) = (&dims[c - 1], &dims[c], &dims[c + 1]);
    kernels::shift_left(T::bufs(work), &mut b[0], &mut a[c - 1], d0, d1, d2)
}

/// [`kernels::svd_left`] of site `c` into `c − 1` of `table`.
fn svd_left_at<T: BlockScalar>(
    table: &mut Table<T>,
    work: &mut U1Workspace,
    dims: &[Vec<usize>],
    c: usize,
    policy: &Truncation,
) -> Result<(Vec<usize>, crate::linalg::TruncationChoice)> {
    let (a, b) = table.split_at_mut(c);
    let (d0, d1, d2) = (&dims[c - 1], &dims[c], &dims[c + 1]);
    kernels::svd_left(T::bufs(work), &mut b[0], &mut a[c - 1], d0, d1, d2, policy)
}

/// Run `circuit` from `|0…0>` on the U(1) engine (see the module docs for which gates
/// are accepted where). `SiteOrdering::Auto` is resolved for the circuit as in
/// [`super::run_mps`], and the peak memory at the bond cap is checked first as there.
pub fn run_mps_u1(circuit: &Circuit, values: &Parameters, config: &MpsConfig) -> Result<U1Mps> {
    super::check_budget(circuit, values, config, true)?;
    gates::run_from_zero(circuit, values, &config.resolved_for(circuit)?)
}
