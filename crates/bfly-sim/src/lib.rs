//! Simulators: one trait for "apply gates, answer observables", several engines.
//!
//! | engine | exact? | scope |
//! |---|---|---|
//! | [`StateVector`] | yes | any circuit, `2^n` amplitudes (n ≲ 30 here) |
//! | [`SubspaceState`] | yes | Hamming-weight-preserving circuits, `C(n,k)` amplitudes |
//! | [`unary::UnaryMap`] | yes | RBS networks in the weight-1 subspace as an `n×n` matrix |
//!
//! ```
//! use bfly_core::circuit::{Butterfly, LayerOrdering, loaders::Loader};
//! use bfly_sim::{Backend, simulate};
//! let n = 8;
//! let mut c = Loader::HammingWeight(2).circuit(n).unwrap();
//! Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap().append_to(&mut c, 0).unwrap();
//! c.parameters.trainable = vec![0.3; 12];
//! c.parameters.inputs = Loader::HammingWeight(2)
//!     .angles(n, &[0.6, 0.8, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]).unwrap();
//! let state = simulate(Backend::Subspace, &c, &c.parameters).unwrap();
//! let total: f64 = state.marginals().iter().sum();
//! assert!((total - 2.0).abs() < 1e-12); // weight 2: marginals sum to k
//! ```

#![warn(missing_docs)]

pub mod fidelity;
pub mod linalg;
pub mod mps;
pub mod report;
pub mod statevector;
pub mod subspace;
pub mod unary;

pub use mps::{run_mps, Mps, MpsConfig, SiteOrdering, Truncation, TruncationReport};
pub use statevector::StateVector;
pub use subspace::SubspaceState;

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use bfly_core::bits::BitString;
use bfly_core::circuit::{BoundGate, Circuit, Parameters};
use bfly_core::error::{Error, Result};

/// A quantum state that gates act on and observables read.
///
/// Every backend (state vector, subspace, MPS, noisy) implements this, so callers and
/// tests treat them alike.
pub trait Simulator: Send + Sync {
    /// Short engine name for reports.
    fn backend_name(&self) -> &'static str;

    /// Number of qubits.
    fn n_qubits(&self) -> usize;

    /// Apply one gate. Errors if the engine cannot represent the result.
    fn apply(&mut self, gate: &BoundGate) -> Result<()>;

    /// Apply a circuit's gates with the given slot values; errors name the op index.
    fn run(&mut self, circuit: &Circuit, values: &Parameters) -> Result<()> {
        if circuit.qubits != self.n_qubits() {
            return Err(Error::InvalidInput(format!(
                "circuit has {} qubits but the simulator has {}",
                circuit.qubits,
                self.n_qubits()
            )));
        }
        for (i, g) in circuit.ops.iter().enumerate() {
            let bound = g.bind(i, values)?;
            self.apply(&bound).map_err(|e| match e {
                Error::NotWeightPreserving { .. } => Error::NotWeightPreserving {
                    op: i,
                    gate: format!("{} on qubits {:?}", g.name(), g.qubits()),
                },
                other => other,
            })?;
        }
        Ok(())
    }

    /// Amplitude `<bits|ψ>`.
    fn amplitude(&self, bits: &BitString) -> Result<C64>;

    /// Probability of measuring `bits`.
    fn probability(&self, bits: &BitString) -> Result<f64> {
        Ok(self.amplitude(bits)?.norm_sqr())
    }

    /// `P(q_i = 1)` for every qubit.
    fn marginals(&self) -> Vec<f64>;

    /// `<Z_i>` for every qubit (`1 - 2 P(q_i = 1)`).
    fn expectation_z(&self) -> Vec<f64> {
        self.marginals()
            .into_iter()
            .map(|p| 1.0 - 2.0 * p)
            .collect()
    }

    /// `<ψ|ψ>` (1 for exact engines, up to rounding).
    fn norm_squared(&self) -> f64;

    /// `shots` measurement outcomes of all qubits, reproducible from `seed`.
    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString>;

    /// Every basis state with a non-zero amplitude, for engines that store amplitudes
    /// explicitly (state vector, subspace); `None` for compressed engines (MPS).
    fn explicit_amplitudes(&self) -> Option<Vec<(BitString, C64)>> {
        None
    }
}

impl fmt::Debug for dyn Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} state on {} qubits",
            self.backend_name(),
            self.n_qubits()
        )
    }
}

/// Check a bitstring's length against the simulator.
pub(crate) fn check_bits(bits: &BitString, n: usize) -> Result<()> {
    if bits.len() != n {
        return Err(Error::InvalidInput(format!(
            "bitstring has {} qubits but the state has {n}",
            bits.len()
        )));
    }
    Ok(())
}

/// The exact engines, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Dense state vector.
    StateVector,
    /// Fixed-Hamming-weight subspace.
    Subspace,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::StateVector => "statevector",
            Backend::Subspace => "subspace",
        })
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "statevector" | "state-vector" | "sv" => Ok(Backend::StateVector),
            "subspace" => Ok(Backend::Subspace),
            _ => Err(Error::InvalidInput(format!(
                "unknown backend \"{s}\"; use statevector or subspace"
            ))),
        }
    }
}

/// Run `circuit` from `|0…0>` on `backend`.
pub fn simulate(
    backend: Backend,
    circuit: &Circuit,
    values: &Parameters,
) -> Result<Box<dyn Simulator>> {
    let mut state: Box<dyn Simulator> = match backend {
        Backend::StateVector => Box::new(StateVector::new(circuit.qubits)?),
        Backend::Subspace => Box::new(SubspaceState::new(circuit.qubits)),
    };
    state.run(circuit, values)?;
    Ok(state)
}

/// Draw `shots` indices with probabilities `|amps[i]|²` (normalised by their sum), with a
/// seeded ChaCha stream: the sampler of every engine that stores amplitudes explicitly.
pub(crate) fn sample_amplitudes(amps: &[C64], shots: usize, seed: u64) -> Vec<usize> {
    use rand::{Rng, SeedableRng};
    let mut acc = 0.0;
    let cumulative: Vec<f64> = amps
        .iter()
        .map(|a| {
            acc += a.norm_sqr();
            acc
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let total = *cumulative.last().unwrap_or(&0.0);
    (0..shots)
        .map(|_| {
            let u = rng.random::<f64>() * total;
            cumulative
                .partition_point(|&c| c <= u)
                .min(cumulative.len() - 1)
        })
        .collect()
}
