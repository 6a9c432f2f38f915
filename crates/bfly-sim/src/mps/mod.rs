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
//! - Running a circuit ([`run_mps`], [`Mps::run_scheduled`]) reorders commuting gates to
//!   shorten centre moves, restores the initial layout between layers while bonds are
//!   tiny, and runs layers on several threads where the chain splits into independent
//!   segments (bonds of dimension 1).
//! - Real circuits (RBS, RY, X, H, CZ, CNOT, SWAP…) run their SVDs and QRs in `f64`.
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

mod canonical;
mod gates;
mod kernels;
mod measure;
pub mod ordering;
mod parallel;
mod persist;
pub mod truncation;
pub mod u1;

pub use ordering::{Routing, SiteOrdering};
pub use persist::{FILE_MAGIC, FILE_VERSION};
pub use truncation::{Truncation, TruncationReport};

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};

use self::kernels::Workspace;
use self::truncation::TruncationStats;
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
    /// A config with bond cap `max_bond`, relative cutoff `cutoff`, default layout/routing.
    pub fn new(max_bond: usize, cutoff: f64) -> Result<Self> {
        Ok(MpsConfig {
            truncation: Truncation::new(max_bond, cutoff)?,
            ..Default::default()
        })
    }
}

/// A matrix product state on `n` qubits.
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
#[derive(Clone, Debug)]
pub struct Mps {
    n: usize,
    /// Site tensors, layout `l + χl·(s + 2·r)`.
    tensors: Vec<Vec<C64>>,
    /// `bonds[i]` = dimension of the bond left of site `i`; `bonds[0] = bonds[n] = 1`.
    bonds: Vec<usize>,
    /// Orthogonality centre: sites left of it are left-orthonormal, right of it
    /// right-orthonormal.
    centre: usize,
    qubit_at_site: Vec<usize>,
    site_of_qubit: Vec<usize>,
    /// The initial layout, restored by [`Mps::run_scheduled`] while the state is cheap.
    home: Vec<usize>,
    truncation: Truncation,
    routing: Routing,
    stats: TruncationStats,
    /// All tensors (and every gate so far) are real: SVD/QR may run in `f64`.
    real: bool,
    work: Workspace,
    /// Spare workspaces for the threads of [`Mps::run_scheduled`] (never serialised).
    pool: Vec<Workspace>,
}

impl Mps {
    /// `|0…0>` on `n ≥ 1` qubits with the config's truncation, layout and routing.
    pub fn new(n: usize, config: &MpsConfig) -> Result<Self> {
        let zero = [C64::new(1.0, 0.0), C64::new(0.0, 0.0)];
        Self::from_product_state(&vec![zero; n], config)
    }

    /// The product state `⊗_q (a_q|0> + b_q|1>)`; `states[q] = [a_q, b_q]` is given in qubit
    /// order and normalised here (it must be finite and non-zero).
    pub fn from_product_state(states: &[[C64; 2]], config: &MpsConfig) -> Result<Self> {
        let n = states.len();
        if n == 0 {
            return Err(Error::InvalidInput(
                "an MPS needs at least 1 qubit, got 0".into(),
            ));
        }
        config.truncation.validate()?;
        let qubit_at_site = config.ordering.qubit_at_site(n)?;
        let mut site_of_qubit = vec![0; n];
        for (s, &q) in qubit_at_site.iter().enumerate() {
            site_of_qubit[q] = s;
        }
        let mut tensors = Vec::with_capacity(n);
        let mut real = true;
        for &q in &qubit_at_site {
            let [a, b] = states[q];
            let norm = (a.norm_sqr() + b.norm_sqr()).sqrt();
            if !norm.is_finite() || norm == 0.0 {
                return Err(Error::InvalidInput(format!(
                    "product state of qubit {q} is [{a}, {b}]; each qubit needs a finite, non-zero 2-vector"
                )));
            }
            real &= a.im == 0.0 && b.im == 0.0;
            tensors.push(vec![a / norm, b / norm]);
        }
        Ok(Mps {
            n,
            tensors,
            bonds: vec![1; n + 1],
            centre: 0,
            home: qubit_at_site.clone(),
            qubit_at_site,
            site_of_qubit,
            truncation: config.truncation,
            routing: config.routing,
            stats: TruncationStats::new(n),
            real,
            work: Workspace::default(),
            pool: Vec::new(),
        })
    }

    /// The computational basis state `|bits>`.
    pub fn from_bits(bits: &bfly_core::BitString, config: &MpsConfig) -> Result<Self> {
        let one = C64::new(1.0, 0.0);
        let zero = C64::new(0.0, 0.0);
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

    /// Number of qubits.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false (an MPS has at least one qubit); for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Site currently holding `qubit`.
    ///
    /// # Panics
    /// If `qubit >= n` (use [`Mps::site_of_qubits`] for the whole map).
    pub fn site_of_qubit(&self, qubit: usize) -> usize {
        self.site_of_qubit[qubit]
    }

    /// Qubit currently at `site`.
    ///
    /// # Panics
    /// If `site >= n` (use [`Mps::qubit_order`] for the whole map).
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

    /// Bond dimensions in site order (`n − 1` entries).
    pub fn bond_dimensions(&self) -> Vec<usize> {
        self.bonds[1..self.n].to_vec()
    }

    /// Largest current bond dimension (1 for a product state).
    pub fn max_bond_dimension(&self) -> usize {
        self.bonds.iter().copied().max().unwrap_or(1)
    }

    /// The site tensor at `site`: data (layout `l + χl·(s + 2·r)`) and `(χl, χr)`.
    pub fn site_tensor(&self, site: usize) -> Option<(&[C64], (usize, usize))> {
        (site < self.n).then(|| {
            (
                self.tensors[site].as_slice(),
                (self.bonds[site], self.bonds[site + 1]),
            )
        })
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

    /// True while every tensor is real (real gates on a real initial state).
    pub fn is_real(&self) -> bool {
        self.real
    }

    /// Bytes held by the site tensors.
    pub fn tensor_bytes(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| t.len() * std::mem::size_of::<C64>())
            .sum()
    }

    /// What truncation has discarded so far, with the current bond dimensions.
    pub fn report(&self) -> TruncationReport {
        self.stats.report(self.truncation, self.bond_dimensions())
    }
}

/// Run `circuit` with slot `values` from `|0…0>` as an MPS (gates scheduled as in
/// [`Mps::run_scheduled`]). `SiteOrdering::Auto` is resolved for this circuit.
pub fn run_mps(circuit: &Circuit, values: &Parameters, config: &MpsConfig) -> Result<Mps> {
    if circuit.qubits == 0 {
        return Err(Error::InvalidInput(
            "the circuit has 0 qubits; an MPS needs at least 1".into(),
        ));
    }
    let resolved = MpsConfig {
        ordering: config.ordering.resolve(circuit),
        ..config.clone()
    };
    let mut state = Mps::new(circuit.qubits, &resolved)?;
    crate::Simulator::run(&mut state, circuit, values)?;
    Ok(state)
}
