//! One engine selector ([`Engine`]), one run entry point ([`simulate`]) and one concrete state
//! type ([`State`]) on which every observable is available.
//!
//! # The automatic rule
//! [`Engine::Auto`] resolves, for a circuit and its parameter values, to the first of:
//! 1. **subspace** if the circuit prepares a basis state of weight `k` and every later gate
//!    conserves Hamming weight (as [`fixed_input_weight`] decides, gate by gate, never from
//!    the output), and `C(n, k) ≤ 2^`[`MAX_EXACT_QUBITS`] amplitudes;
//! 2. **state vector** if `n ≤` [`MAX_EXACT_QUBITS`];
//! 3. **U(1) MPS** (χ = [`DEFAULT_CHI`], cutoff [`DEFAULT_CUTOFF`]) for fixed-weight
//!    circuits beyond that;
//! 4. **dense MPS** with the same truncation otherwise.
//!
//! The same threshold decides when [`crate::reference::ExactReference`] can give an exact
//! reference without an MPS.
//!
//! ```
//! use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering};
//! use bfly_sim::{simulate, Engine, Simulator};
//! let n = 8;
//! let mut c = Loader::HammingWeight(2).circuit(n).unwrap();
//! Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap().append_to(&mut c, 0).unwrap();
//! c.parameters.trainable = vec![0.3; 12];
//! c.parameters.inputs = Loader::HammingWeight(2)
//!     .angles(n, &[0.6, 0.8, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]).unwrap();
//! assert_eq!(Engine::Auto.resolve(&c, &c.parameters).unwrap(), Engine::Subspace);
//! let state = simulate(&Engine::Auto, &c, &c.parameters).unwrap();
//! let total: f64 = state.marginals().iter().sum();
//! assert!((total - 2.0).abs() < 1e-12); // weight 2: marginals sum to k
//! assert!(state.truncation_report().is_none()); // exact engines truncate nothing
//! ```

use std::fmt;
use std::str::FromStr;

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};

use crate::mps::u1::{fixed_input_weight, run_mps_u1, U1Mps};
use crate::mps::{run_mps, Mps, MpsConfig, Routing, SiteOrdering, Truncation, TruncationReport};
use crate::subspace::binomial;
use crate::{Simulator, StateVector, SubspaceState};
use bfly_core::bits::BitString;
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Circuit, Parameters};
use bfly_core::error::{Error, Result};

/// The one size threshold of the exact engines: a state vector up to this many qubits, a
/// subspace up to `2^MAX_EXACT_QUBITS` amplitudes (256 MiB of `Complex64`).
pub const MAX_EXACT_QUBITS: usize = 24;

/// Bond cap χ of the MPS that [`Engine::Auto`] picks beyond the exact engines.
pub const DEFAULT_CHI: usize = 64;

/// Relative cutoff of the MPS that [`Engine::Auto`] picks beyond the exact engines.
pub const DEFAULT_CUTOFF: f64 = 1e-12;

/// Which simulator runs a circuit.
///
/// Serialised with a `kind` tag (`{"kind": "mps", "chi": 64, "cutoff": 1e-12}`), the
/// format training configurations have always used for their backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum Engine {
    /// The documented automatic rule (module docs).
    #[default]
    Auto,
    /// Dense state vector: any circuit, `2^n` amplitudes.
    StateVector,
    /// Fixed-Hamming-weight subspace: weight-preserving circuits, `C(n, k)` amplitudes.
    Subspace,
    /// Weight-1 amplitudes only: one `X` then gates real on the weight-1 subspace (unary
    /// loaders followed by a Butterfly), `n` amplitudes.
    Unary,
    /// Dense MPS with SVD truncation.
    Mps {
        /// Bond cap χ.
        chi: usize,
        /// Relative discarded-weight cutoff per SVD.
        cutoff: f64,
    },
    /// U(1)-symmetric (Hamming-weight block-sparse) MPS with SVD truncation.
    U1Mps {
        /// Bond cap χ.
        chi: usize,
        /// Relative discarded-weight cutoff per SVD.
        cutoff: f64,
    },
}

/// How an MPS lays out and routes qubits (ignored by the other engines).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLayout {
    /// Initial qubit→site layout.
    pub ordering: SiteOrdering,
    /// Which qubit of a long-range gate walks.
    pub routing: Routing,
}

impl Engine {
    /// The dense MPS with bond cap `chi` and relative cutoff `cutoff` (both checked).
    pub fn mps(chi: usize, cutoff: f64) -> Result<Self> {
        Truncation::new(chi, cutoff)?;
        Ok(Engine::Mps { chi, cutoff })
    }

    /// The U(1) MPS with bond cap `chi` and relative cutoff `cutoff` (both checked).
    pub fn u1_mps(chi: usize, cutoff: f64) -> Result<Self> {
        Truncation::new(chi, cutoff)?;
        Ok(Engine::U1Mps { chi, cutoff })
    }

    /// The concrete engine for this circuit: [`Engine::Auto`] by the module's rule, any
    /// other engine as it is.
    pub fn resolve(&self, circuit: &Circuit, values: &Parameters) -> Result<Engine> {
        if *self != Engine::Auto {
            return Ok(*self);
        }
        let n = circuit.qubits;
        let weight = fixed_input_weight(circuit, values)?;
        Ok(match weight {
            Some(k) if binomial(n, k) <= (1u64 << MAX_EXACT_QUBITS) as f64 => Engine::Subspace,
            _ if n <= MAX_EXACT_QUBITS => Engine::StateVector,
            Some(_) => Engine::U1Mps {
                chi: DEFAULT_CHI,
                cutoff: DEFAULT_CUTOFF,
            },
            None => Engine::Auto.resolve_without_weight(n),
        })
    }

    /// The concrete engine for `n` qubits of a state with no fixed Hamming weight (steps 2
    /// and 4 of the module's rule: the state vector up to [`MAX_EXACT_QUBITS`], else the
    /// dense MPS with [`DEFAULT_CHI`] and [`DEFAULT_CUTOFF`]); any other engine as it is.
    /// Callers whose states never keep a weight (noisy trajectories) resolve with this.
    pub fn resolve_without_weight(&self, n: usize) -> Engine {
        match self {
            Engine::Auto if n <= MAX_EXACT_QUBITS => Engine::StateVector,
            Engine::Auto => Engine::Mps {
                chi: DEFAULT_CHI,
                cutoff: DEFAULT_CUTOFF,
            },
            other => *other,
        }
    }

    /// The engine's name as [`Engine::from_str`](FromStr) spells it (`auto`,
    /// `statevector`, `subspace`, `unary`, `mps`, `u1-mps`), without its parameters.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::StateVector => "statevector",
            Engine::Subspace => "subspace",
            Engine::Unary => "unary",
            Engine::Mps { .. } => "mps",
            Engine::U1Mps { .. } => "u1-mps",
        }
    }

    /// The typed error of a function (`operation`) that cannot run on this engine, naming
    /// the engines it `supported`s.
    ///
    /// ```
    /// use bfly_sim::Engine;
    /// let e = Engine::Unary.unsupported("validation", &["auto", "statevector", "subspace", "mps"]);
    /// assert!(matches!(e, bfly_core::error::Error::UnsupportedEngine { .. }));
    /// assert_eq!(e.to_string(), "validation cannot run on the unary engine; it supports auto, statevector, subspace, mps");
    /// ```
    pub fn unsupported(&self, operation: &str, supported: &[&str]) -> Error {
        Error::UnsupportedEngine {
            engine: self.name().to_string(),
            operation: operation.to_string(),
            supported: supported.join(", "),
        }
    }

    /// True for the engines whose result is exact by construction (no truncation).
    pub fn is_exact(&self) -> bool {
        matches!(self, Engine::StateVector | Engine::Subspace | Engine::Unary)
    }

    /// The MPS configuration of an MPS engine with `layout`; `None` for the others.
    pub fn mps_config(&self, layout: &ChainLayout) -> Result<Option<MpsConfig>> {
        Ok(match *self {
            Engine::Mps { chi, cutoff } | Engine::U1Mps { chi, cutoff } => Some(MpsConfig {
                truncation: Truncation::new(chi, cutoff)?,
                ordering: layout.ordering.clone(),
                routing: layout.routing,
            }),
            _ => None,
        })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Auto => f.write_str("auto"),
            Engine::StateVector => f.write_str("statevector"),
            Engine::Subspace => f.write_str("subspace"),
            Engine::Unary => f.write_str("unary"),
            Engine::Mps { chi, cutoff } => write!(f, "mps (χ = {chi}, cutoff {cutoff:e})"),
            Engine::U1Mps { chi, cutoff } => write!(f, "u1-mps (χ = {chi}, cutoff {cutoff:e})"),
        }
    }
}

impl FromStr for Engine {
    type Err = Error;
    /// `auto`, `statevector`, `subspace`, `unary`, `mps` or `u1-mps` (the MPS engines with
    /// [`DEFAULT_CHI`] and [`DEFAULT_CUTOFF`]).
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Engine::Auto,
            "statevector" | "state-vector" | "sv" => Engine::StateVector,
            "subspace" => Engine::Subspace,
            "unary" => Engine::Unary,
            "mps" => Engine::Mps {
                chi: DEFAULT_CHI,
                cutoff: DEFAULT_CUTOFF,
            },
            "u1-mps" | "u1" => Engine::U1Mps {
                chi: DEFAULT_CHI,
                cutoff: DEFAULT_CUTOFF,
            },
            _ => {
                return Err(Error::InvalidInput(format!(
                    "unknown engine \"{s}\"; use auto, statevector, subspace, unary, mps or u1-mps"
                )))
            }
        })
    }
}

/// A simulated state, whichever engine made it. Every [`Simulator`] observable works on
/// it; the engine-specific parts (truncation report, MPS tensors) are reached through
/// [`State::truncation_report`] and the `as_*` accessors.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum State {
    /// From [`Engine::StateVector`].
    StateVector(StateVector),
    /// From [`Engine::Subspace`] and [`Engine::Unary`] (weight 1).
    Subspace(SubspaceState),
    /// From [`Engine::Mps`].
    Mps(Box<Mps>),
    /// From [`Engine::U1Mps`].
    U1Mps(Box<U1Mps>),
}

impl State {
    fn inner(&self) -> &dyn Simulator {
        match self {
            State::StateVector(s) => s,
            State::Subspace(s) => s,
            State::Mps(s) => s.as_ref(),
            State::U1Mps(s) => s.as_ref(),
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Simulator {
        match self {
            State::StateVector(s) => s,
            State::Subspace(s) => s,
            State::Mps(s) => s.as_mut(),
            State::U1Mps(s) => s.as_mut(),
        }
    }

    /// The MPS truncation report; `None` for the exact engines.
    pub fn truncation_report(&self) -> Option<TruncationReport> {
        match self {
            State::Mps(s) => Some(s.report()),
            State::U1Mps(s) => Some(s.report()),
            _ => None,
        }
    }

    /// Total discarded weight Σ ε of the run (0 for the exact engines).
    pub fn discarded_weight(&self) -> f64 {
        self.truncation_report()
            .map_or(0.0, |r| r.total_discarded_weight)
    }

    /// True if nothing above the SVD noise floor was discarded: an exact engine, or an
    /// MPS that never truncated.
    pub fn is_exact(&self) -> bool {
        self.truncation_report().is_none_or(|r| r.truncations == 0)
    }

    /// The dense MPS, if this is one.
    pub fn as_mps(&self) -> Option<&Mps> {
        match self {
            State::Mps(s) => Some(s),
            _ => None,
        }
    }

    /// The U(1) MPS, if this is one.
    pub fn as_u1_mps(&self) -> Option<&U1Mps> {
        match self {
            State::U1Mps(s) => Some(s),
            _ => None,
        }
    }

    /// The state vector, if this is one.
    pub fn as_state_vector(&self) -> Option<&StateVector> {
        match self {
            State::StateVector(s) => Some(s),
            _ => None,
        }
    }

    /// The subspace state, if this is one.
    pub fn as_subspace(&self) -> Option<&SubspaceState> {
        match self {
            State::Subspace(s) => Some(s),
            _ => None,
        }
    }

    /// The state as a dense MPS: itself, or the U(1) MPS converted (exact). `None` for
    /// the amplitude engines.
    pub fn to_dense_mps(&self) -> Result<Option<Mps>> {
        Ok(match self {
            State::Mps(s) => Some((**s).clone()),
            State::U1Mps(s) => Some(s.to_dense()?),
            _ => None,
        })
    }
}

impl Simulator for State {
    fn backend_name(&self) -> &'static str {
        self.inner().backend_name()
    }
    fn n_qubits(&self) -> usize {
        self.inner().n_qubits()
    }
    fn apply(&mut self, gate: &BoundGate) -> Result<()> {
        self.inner_mut().apply(gate)
    }
    fn run(&mut self, circuit: &Circuit, values: &Parameters) -> Result<()> {
        self.inner_mut().run(circuit, values)
    }
    fn amplitude(&self, bits: &BitString) -> Result<C64> {
        self.inner().amplitude(bits)
    }
    fn probability(&self, bits: &BitString) -> Result<f64> {
        self.inner().probability(bits)
    }
    fn marginals(&self) -> Vec<f64> {
        self.inner().marginals()
    }
    fn expectation_z(&self) -> Vec<f64> {
        self.inner().expectation_z()
    }
    fn norm_squared(&self) -> f64 {
        self.inner().norm_squared()
    }
    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString> {
        self.inner().sample(shots, seed)
    }
    fn sample_counts(&self, shots: u64, seed: u64) -> Result<Vec<(BitString, u64)>> {
        self.inner().sample_counts(shots, seed)
    }
    fn explicit_amplitudes(&self) -> Option<Vec<(BitString, C64)>> {
        self.inner().explicit_amplitudes()
    }
}

/// Run `circuit` from `|0…0>` with `values` on `engine` (MPS engines with the default
/// [`ChainLayout`]). The circuit is validated first.
pub fn simulate(engine: &Engine, circuit: &Circuit, values: &Parameters) -> Result<State> {
    simulate_with_layout(engine, circuit, values, &ChainLayout::default())
}

/// [`simulate`] with an explicit MPS chain layout.
pub fn simulate_with_layout(
    engine: &Engine,
    circuit: &Circuit,
    values: &Parameters,
    layout: &ChainLayout,
) -> Result<State> {
    circuit.validate()?;
    let engine = engine.resolve(circuit, values)?;
    let config = engine.mps_config(layout)?;
    Ok(match (engine, config) {
        (Engine::StateVector, _) => {
            let mut s = StateVector::new(circuit.qubits)?;
            s.run(circuit, values)?;
            State::StateVector(s)
        }
        (Engine::Subspace, _) => {
            let mut s = SubspaceState::new(circuit.qubits);
            s.run(circuit, values)?;
            State::Subspace(s)
        }
        (Engine::Unary, _) => {
            // The weight-1 amplitudes (8 bytes per qubit), then the weight-1 subspace.
            Need::subspace(circuit.qubits, 1)
                .plus((circuit.qubits as u64).saturating_mul(8))
                .check()?;
            let y = crate::unary::weight_one_amplitudes(circuit, values)?;
            State::Subspace(SubspaceState::from_weight_one(&y)?)
        }
        (Engine::Mps { .. }, Some(config)) => {
            State::Mps(Box::new(run_mps(circuit, values, &config)?))
        }
        (Engine::U1Mps { .. }, Some(config)) => {
            State::U1Mps(Box::new(run_mps_u1(circuit, values, &config)?))
        }
        (other, _) => {
            return Err(Error::InvalidInput(format!(
                "engine {other} did not resolve to a concrete engine"
            )))
        }
    })
}
