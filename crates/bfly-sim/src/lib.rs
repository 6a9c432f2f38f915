//! Simulators: one trait for "apply gates, answer observables", several engines.
//!
//! | engine | exact? | scope |
//! |---|---|---|
//! | [`StateVector`] | yes | any circuit, `2^n` amplitudes (n ≲ 30 here) |
//! | [`SubspaceState`] | yes | Hamming-weight-preserving circuits, `C(n,k)` amplitudes |
//! | [`unary::UnaryMap`] | yes | RBS networks in the weight-1 subspace as an `n×n` matrix |
//! | [`Mps`] | truncated, reported | any circuit, any `n` |
//! | [`mps::u1::U1Mps`] | truncated, reported | Hamming-weight-preserving circuits, any `n` |
//!
//! Choose one with [`Engine`] (its `Auto` rule is documented in [`engine`]) and run it with
//! [`simulate`]: the [`State`] it returns answers every observable, and carries the truncation
//! report of the MPS engines. [`ExactReference`] is the one service that gives an exact
//! state to compare against, and says when it could not be exact.

#![warn(missing_docs)]

pub mod engine;
pub mod fidelity;
pub mod linalg;
pub mod mps;
pub mod reference;
pub mod report;
pub mod statevector;
pub mod subspace;
pub mod unary;

pub use engine::{simulate, simulate_with_layout, ChainLayout, Engine, State, MAX_EXACT_QUBITS};
pub use mps::{run_mps, Mps, MpsConfig, SiteOrdering, Truncation, TruncationReport};
pub use reference::ExactReference;
pub use statevector::StateVector;
pub use subspace::SubspaceState;

use num_complex::Complex64 as C64;
use std::fmt;

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

    /// `shots` measurement outcomes of all qubits, reproducible from `seed`. Memory grows
    /// with `shots`; for many shots use [`Simulator::sample_counts`].
    fn sample(&self, shots: usize, seed: u64) -> Vec<BitString>;

    /// Measurement counts of `shots` shots of all qubits, reproducible from `seed`:
    /// `(outcome, count)` for every outcome drawn (counts ≥ 1, summing to `shots`), sorted
    /// by outcome. Memory grows with the number of distinct outcomes, never with `shots`
    /// (any `u64`), and is checked against the [`bfly_core::budget`] first
    /// ([`Error::ResourceExceeded`]). The exact engines draw a multinomial from their
    /// probabilities ([`bfly_core::sampling::multinomial_counts`]); the MPS engines split
    /// the shots site by site with binomial draws, so identical prefixes are computed once.
    /// The random stream differs from [`Simulator::sample`]'s: the same seed gives other,
    /// equally distributed, counts.
    fn sample_counts(&self, shots: u64, seed: u64) -> Result<Vec<(BitString, u64)>>;

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

/// Multinomial counts of `shots` shots over explicit amplitudes (probabilities `|amps[i]|²`),
/// with basis state `outcome(i)` for entry `i`, checked against the memory budget; sorted
/// by outcome.
pub(crate) fn count_amplitudes(
    amps: &[C64],
    n: usize,
    shots: u64,
    seed: u64,
    outcome: impl Fn(usize) -> BitString,
) -> Result<Vec<(BitString, u64)>> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let counts = bfly_core::sampling::multinomial_counts(
        amps.len(),
        |i| amps[i].norm_sqr(),
        shots,
        &mut rng,
        |entries| bfly_core::budget::Need::histogram(n, shots, entries as u128).check(),
    )?;
    let mut out: Vec<(BitString, u64)> = counts.into_iter().map(|(i, c)| (outcome(i), c)).collect();
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Draw `shots` indices with probabilities `|amps[i]|²` (normalised by their sum), with a
/// seeded ChaCha stream: the sampler of every engine that stores amplitudes explicitly.
pub(crate) fn sample_amplitudes(amps: &[C64], shots: usize, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    let p: Vec<f64> = amps.iter().map(|a| a.norm_sqr()).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    bfly_core::sampling::sample_indices(&p, shots, &mut rng)
        .expect("a state's probabilities are finite, non-negative and not all zero")
}
