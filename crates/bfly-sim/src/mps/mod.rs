//! Matrix-product-state (MPS) simulation with truncation, for circuits far beyond the
//! state vector's reach (n ≥ 1024 works; nothing uses 64-bit qubit masks).
//!
//! - The state is a chain of site tensors `A[l, s, r]` (`χl × 2 × χr`, contiguous
//!   `Complex64`, stored with `l` fastest: offset `l + χl·(s + 2·r)`) kept in **mixed
//!   canonical form** around a tracked orthogonality centre; the centre moves by QR.
//!   Every truncation is an SVD at the centre, so it is optimal in 2-norm.
//! - One [`Truncation`] value (bond cap χ and relative cutoff) is applied at every
//!   two-site SVD; [`Mps::report`] returns the discarded weight per bond, the fidelity
//!   estimate `Π (1 − ε)` and bond dimensions. The state is renormalised after each
//!   truncation.
//! - Qubits and sites differ: long-range gates are routed by SWAPs and the qubit→site
//!   permutation is tracked ([`Mps::site_of_qubit`], [`Mps::qubit_at_site`]), not undone
//!   after each gate ([`Routing`], [`SiteOrdering`]). Everything the API returns
//!   (amplitudes, marginals, samples) is in **qubit** order.
//! - Running a circuit ([`run_mps`], [`Simulator::run`](crate::Simulator::run)) reorders
//!   commuting gates to shorten centre moves, restores the initial layout between layers while bonds are
//!   tiny, and runs layers on several threads where the chain splits into independent
//!   segments (bonds of dimension 1).
//! - Real circuits (RBS, RY, X, H, CZ, CNOT, SWAP…) run their SVDs and QRs in `f64`.
//!
//! # One chain core, two storages
//! Both engines are one generic type, [`Chain<S>`](Chain): [`Mps`] is `Chain<DenseSites>`
//! and [`u1::U1Mps`] is `Chain<U1Sites>`. The chain (`chain.rs`) holds the layout, the
//! centre, the policies and statistics, the constructors, the run driver, the measurement
//! scaffolding and the [`Simulator`](crate::Simulator) impl, written once; a storage
//! (`dense.rs`, `u1/`) supplies only its block kernels: the two-site update and split, QR
//! centre moves, one-qubit gates, environment sweeps and the draw of one sample. The
//! storage is a type parameter, so every kernel call is monomorphised. Observables use
//! the [`Simulator`](crate::Simulator) names (`amplitude`, `marginals`, `norm_squared`,
//! `sample`, `run`, `apply`, `n_qubits`); the dense engine adds `expectation_z_of`,
//! `expectation_zz`, `unary_probabilities` and `overlap`.
//!
//! Measured on this 2-core machine (release, cutoff 0, full coupling-first Butterfly on
//! 128 qubits, `examples/mps_timing.rs`): angle input χ = 64 in 5.5–6.0 s (3,872 SWAPs,
//! 4,320 two-site SVDs; qiskit-aer takes ~160 s), Hamming-weight-3 input χ = 256 in 17 s
//! (exact: bonds reach 130), angle input χ = 256 in 203 s.
//!
//! ```
//! use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering};
//! use bfly_sim::mps::{run_mps, MpsConfig, Truncation};
//! use bfly_sim::Simulator;
//! let n = 16;
//! let mut c = Loader::Angle.circuit(n).unwrap();
//! Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap().append_to(&mut c, 0).unwrap();
//! c.parameters.inputs = vec![0.7; n];
//! c.parameters.trainable = vec![0.3; 32];
//! let config = MpsConfig { truncation: Truncation::new(16, 0.0).unwrap(), ..Default::default() };
//! let state = run_mps(&c, &c.parameters, &config).unwrap();
//! let report = state.report();
//! assert!(report.max_bond_reached <= 16);
//! assert!(report.fidelity_estimate > 0.0 && report.fidelity_estimate <= 1.0);
//! assert!((state.norm_squared() - 1.0).abs() < 1e-10); // renormalised
//! ```

mod chain;
mod dense;
mod gates;
mod kernels;
mod measure;
pub mod ordering;
mod parallel;
mod persist;
pub mod truncation;
pub mod u1;

pub use chain::Chain;
pub use dense::DenseSites;
pub use ordering::{Routing, SiteOrdering};
pub use persist::{FILE_MAGIC, FILE_VERSION};
pub use truncation::{Truncation, TruncationReport};

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};

use bfly_core::budget::Need;
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::{Error, Result};

/// Everything that configures an MPS run (serialisable, so the CLI can record it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MpsConfig {
    /// Bond cap and cutoff.
    pub truncation: Truncation,
    /// Initial qubit→site layout ([`SiteOrdering::Auto`] by default).
    #[serde(default)]
    pub ordering: SiteOrdering,
    /// Which qubit of a long-range gate walks ([`Routing::MoveHigher`] by default).
    #[serde(default)]
    pub routing: Routing,
}

impl MpsConfig {
    /// This config with [`SiteOrdering::Auto`] resolved for `circuit` (which needs at
    /// least one qubit): what [`run_mps`] and [`u1::run_mps_u1`] start from.
    pub(crate) fn resolved_for(&self, circuit: &Circuit) -> Result<MpsConfig> {
        if circuit.qubits == 0 {
            return Err(Error::InvalidInput(
                "the circuit has 0 qubits; an MPS needs at least 1".into(),
            ));
        }
        Ok(MpsConfig {
            ordering: self.ordering.resolve(circuit),
            ..self.clone()
        })
    }

    /// A config with bond cap `max_bond`, relative cutoff `cutoff`, default layout/routing.
    pub fn new(max_bond: usize, cutoff: f64) -> Result<Self> {
        Ok(MpsConfig {
            truncation: Truncation::new(max_bond, cutoff)?,
            ..Default::default()
        })
    }
}

/// The dense matrix product state on `n` qubits: a [`Chain`] of [`DenseSites`]; every
/// method is documented on [`Chain`].
///
/// ```
/// use bfly_core::circuit::BoundGate;
/// use bfly_core::circuit::gate::{rbs_matrix, ry_matrix};
/// use bfly_sim::mps::{Mps, MpsConfig};
/// use bfly_sim::Simulator;
/// use bfly_core::BitString;
/// // 1024 qubits: |1> on qubit 0, then an RBS between qubits 0 and 1000 (routed by SWAPs).
/// let mut psi = Mps::new(1024, &MpsConfig::new(8, 0.0).unwrap()).unwrap();
/// psi.apply(&BoundGate::One { qubit: 0, matrix: ry_matrix(std::f64::consts::PI) }).unwrap();
/// psi.apply(&BoundGate::Two { qubits: [0, 1000], matrix: rbs_matrix(0.4) }).unwrap();
/// let p = psi.marginals();
/// assert!((p[0] - 0.4f64.cos().powi(2)).abs() < 1e-12);
/// assert!((p[1000] - 0.4f64.sin().powi(2)).abs() < 1e-12);
/// let e1000 = BitString::from_ones(1024, &[1000]).unwrap();
/// assert!((psi.amplitude(&e1000).unwrap().re - 0.4f64.sin()).abs() < 1e-12);
/// assert_ne!(psi.site_of_qubit(1000), 1000); // the qubit moved and stays moved
/// ```
pub type Mps = Chain<DenseSites>;

impl Mps {
    /// The site tensor at `site`: data (layout `l + χl·(s + 2·r)`) and `(χl, χr)`.
    pub fn site_tensor(&self, site: usize) -> Option<(&[C64], (usize, usize))> {
        (site < self.n).then(|| {
            (
                self.sites.tensors[site].as_slice(),
                (self.sites.bonds[site], self.sites.bonds[site + 1]),
            )
        })
    }
}

/// Run `circuit` with slot `values` from `|0…0>` as an MPS (gates scheduled as in
/// [`Simulator::run`](crate::Simulator::run)). `SiteOrdering::Auto` is resolved for this circuit.
///
/// Before anything is allocated, the peak memory the run may reach at the config's bond
/// cap χ ([`bfly_core::budget::Need::mps`]) is checked against the memory budget: a run
/// that may not fit is refused with [`Error::ResourceExceeded`].
pub fn run_mps(circuit: &Circuit, values: &Parameters, config: &MpsConfig) -> Result<Mps> {
    check_budget(circuit, values, config, false)?;
    let resolved = config.resolved_for(circuit)?;
    let mut state = Mps::new(circuit.qubits, &resolved)?;
    crate::Simulator::run(&mut state, circuit, values)?;
    Ok(state)
}

/// Refuse an MPS run of `circuit` whose peak at the config's bond cap may not fit the
/// memory budget (`symmetric`: the U(1) engine). The circuit's fixed Hamming weight, if
/// any, tightens the bond bounds; finding it allocates nothing per qubit.
pub(crate) fn check_budget(
    circuit: &Circuit,
    values: &Parameters,
    config: &MpsConfig,
    symmetric: bool,
) -> Result<()> {
    let n = circuit.qubits;
    let chi = config.truncation.max_bond;
    let ops = circuit.ops.len();
    // Without a weight the bound is larger: if that fits, no need to look for one.
    if Need::mps(n, chi, None, symmetric, ops).check().is_ok() {
        return Ok(());
    }
    let weight = u1::fixed_input_weight(circuit, values)?;
    Need::mps(n, chi, weight, symmetric, ops).check()
}
