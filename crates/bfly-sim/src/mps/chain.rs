//! The MPS chain core shared by both engines: one [`Chain`] type holds what does not
//! depend on how the site tensors are stored, and a [`SiteStorage`] supplies the block
//! kernels.
//!
//! - **Chain** (written once, here): the qubit↔site permutation and its home layout, the
//!   orthogonality centre, the truncation and routing policies, the truncation
//!   statistics and report; constructors from product states; gate checks, routing by
//!   SWAPs ([`super::gates`]), the layer-scheduled run driver; the measurement
//!   scaffolding (site→qubit order, normalisation, the seeded sampling loop) and the
//!   [`Simulator`] impl.
//! - **Storage** (per engine): the dense tensors ([`DenseSites`](super::DenseSites), engine
//!   [`Mps`](super::Mps)) or the U(1) charge blocks ([`U1Sites`](super::u1::U1Sites),
//!   engine [`U1Mps`](super::u1::U1Mps)). A storage supplies the two-site update and
//!   split, the QR centre moves, one-qubit gates, the environment sweeps behind marginals
//!   and amplitudes, and the draw of one sample.
//!
//! The storage is a type parameter, not a trait object: every kernel call is
//! monomorphised, as it was when the two engines were separate types.

use num_complex::Complex64 as C64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::gates::{
    bind_in_layers, check_one_qubit_gate, check_two_qubit_gate, order_layer, route_and_apply,
    SwapChain,
};
use super::truncation::TruncationStats;
use super::{MpsConfig, Routing, Truncation, TruncationReport};
use crate::linalg::TruncationChoice;
use crate::{check_bits, Simulator};
use bfly_core::bits::BitString;
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Circuit, Mat2, Mat4, Parameters};
use bfly_core::error::{Error, Result};

/// What a storage's two-site update produced.
#[derive(Clone, Copy, Debug)]
pub struct SiteSplit {
    /// New (total) dimension of the bond between the two sites.
    pub bond: usize,
    /// What the truncation kept and dropped.
    pub choice: TruncationChoice,
    /// SVDs of this update that needed the divide-and-conquer fallback.
    pub svd_fallbacks: usize,
}

/// The block storage of a [`Chain`]: the per-engine kernels. Sites are indexed `0..n`;
/// bond `i` is the bond left of site `i` (`0..=n`).
pub trait SiteStorage: Clone + std::fmt::Debug + Send + Sync + Sized {
    /// The [`Simulator::backend_name`] of the engine.
    const BACKEND_NAME: &'static str;
    /// What [`SiteStorage::draw`] reads besides the storage (prepared once per
    /// [`Simulator::sample`] call).
    type Sampler: Sync;

    /// The product state of `amplitudes[site]` (normalised, in site order) and the site
    /// of its orthogonality centre.
    fn product(amplitudes: &[[C64; 2]]) -> (Self, usize);
    /// Total dimension of bond `i`.
    fn bond(&self, i: usize) -> usize;
    /// True while every stored number is real.
    fn is_real(&self) -> bool;
    /// Bytes held by the site tensors.
    fn bytes(&self) -> usize;
    /// Move the orthogonality centre from site `c` to `c + 1` by a QR step.
    fn shift_right(&mut self, c: usize);
    /// Move the orthogonality centre from site `c` to `c − 1` by a QR (LQ) step.
    fn shift_left(&mut self, c: usize);
    /// Apply `g` (site order) to sites `i`, `i + 1` (the centre is one of them), split by
    /// SVD truncated with `t`, singular values to the right site if `right`.
    fn two_site(&mut self, i: usize, g: &Mat4, t: &Truncation, right: bool) -> Result<SiteSplit>;
    /// Refuse a checked two-qubit gate on `qubits` the storage cannot hold (default:
    /// accept every gate).
    fn admit_two_qubit(_qubits: [usize; 2], _m: &Mat4) -> Result<()> {
        Ok(())
    }
    /// True for the U(1) storage, whose per-site charge tables grow with `n` (the memory
    /// budget counts them).
    const CHARGE_TABLES: bool = false;
    /// Whether a whole run may contain `gate` (checked up front, before any work).
    fn admits(_gate: &BoundGate) -> bool {
        true
    }
    /// Apply the checked unitary `m` of `qubit` to `site`.
    fn one_qubit(&mut self, site: usize, qubit: usize, m: &Mat2) -> Result<()>;
    /// `<ψ|ψ>` read at the orthogonality centre `centre`.
    fn norm_at(&self, centre: usize) -> f64;
    /// `P(site reads 1)` for every site, normalised by `<ψ|ψ>`.
    fn marginals_by_site(&self, centre: usize) -> Vec<f64>;
    /// `<bits|ψ>` with `physical[site]` the bit read at each site.
    fn amplitude(&self, physical: &[usize]) -> C64;
    /// Prepare sampling from `chain` (e.g. move its centre or build environments).
    fn sampler(chain: &Chain<Self>) -> Self::Sampler;
    /// Bytes [`SiteStorage::sampler`] will allocate for `chain` (checked against the
    /// memory budget before sampling).
    fn sampler_bytes(chain: &Chain<Self>) -> u64;
    /// An upper bound on the number of basis states the state can be measured in: `2^n`,
    /// or fewer where the storage knows the possible Hamming weights.
    fn outcome_bound(&self, n: usize) -> u128 {
        if n >= 128 {
            u128::MAX
        } else {
            1u128 << n
        }
    }
    /// What to advise when a histogram of the possible outcomes does not fit.
    const HISTOGRAM_ADVICE: &'static str = "; for a Hamming-weight-preserving circuit, --symmetry u1 (or auto) bounds the outcomes by the input's weight";
    /// What a conditional sample carries from one site to the next (the normalised left
    /// vector, and for the U(1) engine its charge).
    type Prefix;
    /// The prefix before site 0.
    fn first_prefix(&self) -> Self::Prefix;
    /// Both outcomes of `site` after `prefix`: `(p_s, prefix_s)` for `s = 0, 1`, with
    /// `p_s` proportional to the conditional probability of reading `s` (as
    /// [`SiteStorage::draw`] computes it) and `prefix_s` normalised.
    fn branches(
        &self,
        sampler: &Self::Sampler,
        site: usize,
        prefix: &Self::Prefix,
    ) -> [(f64, Self::Prefix); 2];
    /// One conditional sample, written into `bits` (qubit order via `qubit_at_site`).
    fn draw(
        &self,
        sampler: &Self::Sampler,
        qubit_at_site: &[usize],
        rng: &mut ChaCha8Rng,
        bits: &mut BitString,
    );
    /// Apply a layer on several threads if the storage can; `false` if it did nothing.
    fn apply_layer_in_parallel(
        _chain: &mut Chain<Self>,
        _layer: &[usize],
        _bound: &[BoundGate],
    ) -> Result<bool> {
        Ok(false)
    }
    /// Run the gate loop of a circuit (default: on this thread).
    fn run_gate_loop<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        f()
    }
}

/// A matrix product state on `n` qubits with block storage `S`: the engines are
/// [`Mps`](super::Mps) (dense) and [`U1Mps`](super::u1::U1Mps) (U(1) blocks). See the
/// module docs of [`crate::mps`].
#[derive(Clone, Debug)]
pub struct Chain<S> {
    pub(crate) n: usize,
    /// The site tensors.
    pub(crate) sites: S,
    /// Orthogonality centre: sites left of it are left-orthonormal, right of it
    /// right-orthonormal.
    pub(crate) centre: usize,
    pub(crate) qubit_at_site: Vec<usize>,
    pub(crate) site_of_qubit: Vec<usize>,
    /// The initial layout, restored between layers while the state is cheap.
    pub(crate) home: Vec<usize>,
    pub(crate) truncation: Truncation,
    pub(crate) routing: Routing,
    pub(crate) stats: TruncationStats,
}

impl<S: SiteStorage> Chain<S> {
    /// A chain of `n` sites holding `sites`, laid out by `config` (validated), centre 0.
    pub(crate) fn with_layout(n: usize, config: &MpsConfig, sites: S) -> Result<Self> {
        let qubit_at_site = validated_layout(n, config)?;
        Ok(Self::assemble(config, qubit_at_site, sites, 0))
    }

    fn assemble(config: &MpsConfig, qubit_at_site: Vec<usize>, sites: S, centre: usize) -> Self {
        let n = qubit_at_site.len();
        let mut site_of_qubit = vec![0; n];
        for (s, &q) in qubit_at_site.iter().enumerate() {
            site_of_qubit[q] = s;
        }
        Chain {
            n,
            sites,
            centre,
            home: qubit_at_site.clone(),
            qubit_at_site,
            site_of_qubit,
            truncation: config.truncation,
            routing: config.routing,
            stats: TruncationStats::new(n),
        }
    }

    /// `|0…0>` on `n ≥ 1` qubits with the config's truncation, layout and routing.
    /// Refused with [`Error::ResourceExceeded`] if even the product state does not fit the
    /// memory budget.
    pub fn new(n: usize, config: &MpsConfig) -> Result<Self> {
        Need::mps_product_state(n, S::CHARGE_TABLES).check()?;
        let zero = [C64::new(1.0, 0.0), C64::new(0.0, 0.0)];
        Self::from_product_state(&vec![zero; n], config)
    }

    /// The computational basis state `|bits>`.
    pub fn from_bits(bits: &BitString, config: &MpsConfig) -> Result<Self> {
        let (one, zero) = (C64::new(1.0, 0.0), C64::new(0.0, 0.0));
        let states: Vec<[C64; 2]> = (0..bits.len())
            .map(|q| {
                if bits.get(q) {
                    [zero, one]
                } else {
                    [one, zero]
                }
            })
            .collect();
        Self::from_product_state(&states, config)
    }

    /// The product state `⊗_q (a_q|0> + b_q|1>)`; `states[q] = [a_q, b_q]` is given in qubit
    /// order and normalised here (it must be finite and non-zero). The U(1) engine stores
    /// a qubit with both amplitudes non-zero as a mix of Hamming weights (see
    /// [`crate::mps::u1`]).
    pub fn from_product_state(states: &[[C64; 2]], config: &MpsConfig) -> Result<Self> {
        Need::mps_product_state(states.len(), S::CHARGE_TABLES).check()?;
        let qubit_at_site = validated_layout(states.len(), config)?;
        let mut amplitudes = Vec::with_capacity(states.len());
        for &q in &qubit_at_site {
            let [a, b] = states[q];
            let norm = (a.norm_sqr() + b.norm_sqr()).sqrt();
            if !norm.is_finite() || norm == 0.0 {
                return Err(Error::InvalidInput(format!(
                    "product state of qubit {q} is [{a}, {b}]; each qubit needs a finite, non-zero 2-vector"
                )));
            }
            amplitudes.push([a / norm, b / norm]);
        }
        let (sites, centre) = S::product(&amplitudes);
        Ok(Self::assemble(config, qubit_at_site, sites, centre))
    }

    /// Site currently holding `qubit`.
    ///
    /// # Panics
    /// If `qubit >= n` (use [`Chain::site_of_qubits`] for the whole map).
    pub fn site_of_qubit(&self, qubit: usize) -> usize {
        self.site_of_qubit[qubit]
    }

    /// Qubit currently at `site`.
    ///
    /// # Panics
    /// If `site >= n` (use [`Chain::qubit_order`] for the whole map).
    pub fn qubit_at_site(&self, site: usize) -> usize {
        self.qubit_at_site[site]
    }

    /// `site_of_qubits()[q]` = site of qubit `q`.
    pub fn site_of_qubits(&self) -> &[usize] {
        &self.site_of_qubit
    }

    /// `qubit_order()[s]` = qubit at site `s` (the chain read left to right).
    pub fn qubit_order(&self) -> &[usize] {
        &self.qubit_at_site
    }

    /// The initial layout (`home_order()[s]` = qubit at site `s` when the state was made).
    pub fn home_order(&self) -> &[usize] {
        &self.home
    }

    /// Current orthogonality centre (a site index).
    pub fn centre(&self) -> usize {
        self.centre
    }

    /// Bond dimensions in site order (`n − 1` entries; totals over charge sectors in the
    /// U(1) engine).
    pub fn bond_dimensions(&self) -> Vec<usize> {
        (1..self.n).map(|i| self.sites.bond(i)).collect()
    }

    /// Largest current bond dimension (1 for a product state).
    pub fn max_bond_dimension(&self) -> usize {
        (1..self.n).map(|i| self.sites.bond(i)).max().unwrap_or(1)
    }

    /// The truncation policy in force.
    pub fn truncation(&self) -> Truncation {
        self.truncation
    }

    /// Change the truncation policy for later gates.
    pub fn set_truncation(&mut self, truncation: Truncation) -> Result<()> {
        truncation.validate()?;
        self.truncation = truncation;
        Ok(())
    }

    /// The routing policy for long-range gates.
    pub fn routing(&self) -> Routing {
        self.routing
    }

    /// Change the routing policy for later gates.
    pub fn set_routing(&mut self, routing: Routing) {
        self.routing = routing;
    }

    /// True while every stored number is real (real gates on a real initial state); the
    /// factorisations then run in `f64`.
    pub fn is_real(&self) -> bool {
        self.sites.is_real()
    }

    /// Bytes held by the site tensors.
    pub fn tensor_bytes(&self) -> usize {
        self.sites.bytes()
    }

    /// What truncation has discarded so far, with the current bond dimensions.
    pub fn report(&self) -> TruncationReport {
        self.stats.report(self.truncation, self.bond_dimensions())
    }

    /// Move the orthogonality centre to `site` by QR steps (bonds may shrink to their
    /// exact rank bound on the way). Does nothing if `site >= n`.
    pub fn move_centre_to(&mut self, site: usize) {
        if site >= self.n {
            return;
        }
        while self.centre < site {
            self.sites.shift_right(self.centre);
            self.centre += 1;
        }
        while self.centre > site {
            self.sites.shift_left(self.centre);
            self.centre -= 1;
        }
    }

    /// Apply `g` (site order) to sites `i, i+1` with an SVD split and truncation; the
    /// centre ends on `i + 1` if `centre_right`, else on `i`.
    pub(crate) fn two_site_update(&mut self, i: usize, g: &Mat4, centre_right: bool) -> Result<()> {
        if i + 1 >= self.n {
            return Err(Error::InvalidInput(format!(
                "two-site update at sites ({i}, {}) but the chain has {} sites",
                i + 1,
                self.n
            )));
        }
        if self.centre < i {
            self.move_centre_to(i);
        } else if self.centre > i + 1 {
            self.move_centre_to(i + 1);
        }
        let split = self.sites.two_site(i, g, &self.truncation, centre_right)?;
        self.centre = if centre_right { i + 1 } else { i };
        let c = split.choice;
        let eps = if c.total_weight > 0.0 {
            c.discarded_weight / c.total_weight
        } else {
            0.0
        };
        self.stats
            .record(i, eps, c.truncated, split.bond, split.svd_fallbacks);
        Ok(())
    }

    /// Contract a unitary 2×2 matrix into the site of `qubit` (a unitary leaves the
    /// canonical form intact; non-unitary or non-finite matrices are refused, and so are
    /// gates the storage cannot hold, e.g. weight-changing ones in the U(1) engine).
    pub fn apply_one_qubit(&mut self, qubit: usize, m: &Mat2) -> Result<()> {
        check_one_qubit_gate(self.n, qubit, m)?;
        let site = self.site_of_qubit[qubit];
        self.sites.one_qubit(site, qubit, m)
    }

    /// Apply a 4×4 matrix on `|q_a q_b>` (index `2·q_a + q_b`). If the qubits are not
    /// adjacent on the chain, one walks to the other by SWAPs (see [`Routing`]); the
    /// permutation is tracked, not undone.
    pub fn apply_two_qubit(&mut self, qa: usize, qb: usize, m: &Mat4) -> Result<()> {
        check_two_qubit_gate(self.n, qa, qb, m)?;
        S::admit_two_qubit([qa, qb], m)?;
        route_and_apply(self, qa, qb, m)
    }

    /// Swap the contents of sites `i` and `i + 1` (a routing SWAP; the permutation follows).
    pub fn swap_sites(&mut self, i: usize, centre_right: bool) -> Result<()> {
        self.swap(i, centre_right)
    }

    /// Permute the chain so that site `s` holds qubit `order[s]`, by adjacent SWAPs (with
    /// the current truncation policy, so this may truncate if χ is tight).
    pub fn reorder(&mut self, order: &[usize]) -> Result<()> {
        self.reorder_to(order)
    }

    /// Reorder the chain back to its initial layout if that is cheap: every bond is at most
    /// 8 (`RESTORE_MAX_BOND`) and at most a quarter of χ
    /// (so the SWAPs cannot truncate anything that matters). Routing drifts the layout
    /// away from home; early in a circuit (e.g. during a data loader, whose gates the
    /// bit-reversed layout makes long-range) the drift would otherwise scramble the layout
    /// the rest of the circuit was laid out for. Undoing it costs at most as many SWAPs
    /// as caused it (each SWAP changes the number of inversions by one), all on tiny
    /// bonds. True if it reordered.
    pub fn restore_home_if_cheap(&mut self) -> Result<bool> {
        self.restore_home()
    }

    /// Run bound gates grouped in `layers` (see [`Simulator::run`] on this type): refuse up
    /// front a gate the storage cannot hold, then per layer restore the home layout while
    /// cheap, order the layer by site, and apply it (on several threads if the storage
    /// can). Errors name the op index in circuit order.
    pub(crate) fn run_layers(
        &mut self,
        circuit: &Circuit,
        bound: &[BoundGate],
        layers: Vec<Vec<usize>>,
    ) -> Result<()> {
        for layer in &layers {
            for &i in layer {
                if !S::admits(&bound[i]) {
                    return Err(Error::NotChargeConserving {
                        gate: describe(circuit, i),
                    });
                }
            }
        }
        S::run_gate_loop(|| {
            for (index, mut layer) in layers.into_iter().enumerate() {
                if index > 0 {
                    self.restore_home_if_cheap()?;
                }
                order_layer(self, &mut layer, bound);
                if S::apply_layer_in_parallel(self, &layer, bound)? {
                    continue;
                }
                for i in layer {
                    self.apply(&bound[i]).map_err(|e| match e {
                        Error::InvalidInput(msg) => Error::InvalidOp {
                            op: i,
                            message: msg,
                        },
                        Error::NotChargeConserving { .. } => Error::NotChargeConserving {
                            gate: describe(circuit, i),
                        },
                        other => other,
                    })?;
                }
            }
            Ok(())
        })
    }
}

/// The validated initial layout (`qubit_at_site`) of `n ≥ 1` qubits under `config`.
fn validated_layout(n: usize, config: &MpsConfig) -> Result<Vec<usize>> {
    if n == 0 {
        return Err(Error::InvalidInput(
            "an MPS needs at least 1 qubit, got 0".into(),
        ));
    }
    config.truncation.validate()?;
    config.ordering.qubit_at_site(n)
}

/// A name for gate errors: "op #i (name on qubits …)".
pub(crate) fn describe(circuit: &Circuit, i: usize) -> String {
    format!(
        "op #{i} ({} on qubits {:?})",
        circuit.ops[i].name(),
        circuit.ops[i].qubits()
    )
}

impl<S: SiteStorage> SwapChain for Chain<S> {
    fn layout(&self) -> (&[usize], &[usize]) {
        (&self.qubit_at_site, &self.site_of_qubit)
    }
    fn layout_mut(&mut self) -> (&mut [usize], &mut [usize]) {
        (&mut self.qubit_at_site, &mut self.site_of_qubit)
    }
    fn home_layout(&self) -> &[usize] {
        &self.home
    }
    fn centre_site(&self) -> usize {
        self.centre
    }
    fn routing_policy(&self) -> Routing {
        self.routing
    }
    fn bond_and_cap(&self) -> (usize, usize) {
        (self.max_bond_dimension(), self.truncation.max_bond)
    }
    fn update(&mut self, i: usize, g: &Mat4, centre_right: bool) -> Result<()> {
        self.two_site_update(i, g, centre_right)
    }
    fn stats_mut(&mut self) -> &mut TruncationStats {
        &mut self.stats
    }
}

impl<S: SiteStorage> Simulator for Chain<S> {
    fn backend_name(&self) -> &'static str {
        S::BACKEND_NAME
    }

    fn n_qubits(&self) -> usize {
        self.n
    }

    /// Apply a gate (qubit indices, not sites); see [`Chain::apply_one_qubit`] and
    /// [`Chain::apply_two_qubit`].
    fn apply(&mut self, gate: &BoundGate) -> Result<()> {
        match gate {
            BoundGate::One { qubit, matrix } => self.apply_one_qubit(*qubit, matrix),
            BoundGate::Two { qubits, matrix } => self.apply_two_qubit(qubits[0], qubits[1], matrix),
        }
    }

    /// Run a circuit, reordering gates that commute trivially (disjoint qubits) so the
    /// orthogonality centre travels less: maximal runs of consecutive gates on pairwise
    /// disjoint qubits (a Butterfly layer, a loader level) are applied in order of the
    /// gates' current sites (left to right, or right to left under
    /// [`Routing::MoveLowerThrough`]). The state is exactly the one the circuit order
    /// gives; on a coupling-first Butterfly this cuts the QR steps of centre moves by ~5×
    /// (26,145 → 4,791 at n = 128), because a layer's gates in circuit order jump around
    /// the bit-reversed chain. Between layers the initial layout is restored while that is
    /// cheap ([`Chain::restore_home_if_cheap`]). In the dense engine, layers whose gates
    /// fall into independent segments of the chain (bonds of dimension 1 between them)
    /// run on several threads (see `parallel.rs`); the U(1) engine refuses a circuit with
    /// a weight-changing gate before doing any work.
    ///
    /// Errors name the op index in circuit order.
    fn run(&mut self, circuit: &Circuit, values: &Parameters) -> Result<()> {
        if circuit.qubits != self.n {
            return Err(Error::InvalidInput(format!(
                "circuit has {} qubits but the MPS has {}",
                circuit.qubits, self.n
            )));
        }
        let (bound, layers) = bind_in_layers(circuit, values, self.n)?;
        self.run_layers(circuit, &bound, layers)
    }

    /// `<bits|ψ>` in O(nχ²) (`bits` in qubit order).
    fn amplitude(&self, bits: &BitString) -> Result<C64> {
        check_bits(bits, self.n)?;
        let physical: Vec<usize> = self
            .qubit_at_site
            .iter()
            .map(|&q| usize::from(bits.get(q)))
            .collect();
        Ok(self.sites.amplitude(&physical))
    }

    /// `P(q = 1)` for every qubit (normalised by `<ψ|ψ>`), in one O(nχ³) sweep.
    fn marginals(&self) -> Vec<f64> {
        let by_site = self.sites.marginals_by_site(self.centre);
        let mut out = vec![0.0; self.n];
        for (s, p) in by_site.into_iter().enumerate() {
            out[self.qubit_at_site[s]] = p;
        }
        out
    }

    /// `<ψ|ψ>`, read at the centre in O(χ²).
    fn norm_squared(&self) -> f64 {
        self.sites.norm_at(self.centre)
    }

    /// `shots` measurement outcomes of all qubits (qubit order), by conditional sampling
    /// site by site: O(nχ²) per shot after one O(nχ³) preparation. Reproducible from
    /// `seed` whatever the thread count (shot `i` uses ChaCha8 stream `i`).
    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString> {
        let sampler = S::sampler(self);
        let sampler = &sampler;
        (0..shots)
            .into_par_iter()
            .with_min_len(64)
            .map(|shot| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(shot as u64);
                let mut bits = BitString::zeros(self.n);
                self.sites
                    .draw(sampler, &self.qubit_at_site, &mut rng, &mut bits);
                bits
            })
            .collect()
    }

    /// Counts by binomial splitting, site by site: the shots that read the same prefix
    /// are split between its two continuations by one binomial draw, depth first, so each
    /// distinct prefix is computed once (`O(nχ²)` per node of the outcome tree, at most
    /// `n · min(shots, 2^n)` nodes, and usually far fewer). One ChaCha8 stream seeded with
    /// `seed`; the result does not depend on the thread count. Before anything is
    /// allocated, the sampler's memory and a histogram of `min(shots, possible outcomes)`
    /// entries are checked against the budget (the possible outcomes are `2^n` for the
    /// dense engine, the states of the weights present for the U(1) engine).
    fn sample_counts(&self, shots: u64, seed: u64) -> Result<Vec<(BitString, u64)>> {
        let n = self.n;
        Need::new(
            format!("sampling an MPS of {n} qubits (its measurement environments)"),
            S::sampler_bytes(self),
            "ask for the exact marginals and expectation values (no --shots), or lower --chi",
        )
        .check()?;
        let histogram = Need::histogram(n, shots, self.sites.outcome_bound(n));
        let advice = format!("{}{}", histogram.advice(), S::HISTOGRAM_ADVICE);
        Need::new(histogram.what(), histogram.bytes(), advice).check()?;
        let mut out = Vec::new();
        if shots == 0 {
            return Ok(out);
        }
        let sampler = S::sampler(self);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut bits = BitString::zeros(n);
        // (next site, prefix, shots, outcome of the previous site): at most n + 1 frames.
        let mut stack = vec![(0usize, self.sites.first_prefix(), shots, false)];
        while let Some((site, prefix, count, bit)) = stack.pop() {
            if site > 0 {
                bits.set(self.qubit_at_site[site - 1], bit);
            }
            if site == n {
                out.push((bits.clone(), count));
                continue;
            }
            let [(p0, w0), (p1, w1)] = self.sites.branches(&sampler, site, &prefix);
            let total = p0 + p1;
            let ones = if !(total > 0.0 && p1 > 0.0) {
                0
            } else if p0 <= 0.0 {
                count
            } else {
                bfly_core::sampling::binomial(count, p1 / total, &mut rng)
            };
            if ones > 0 {
                stack.push((site + 1, w1, ones, true));
            }
            if ones < count {
                stack.push((site + 1, w0, count - ones, false));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}
