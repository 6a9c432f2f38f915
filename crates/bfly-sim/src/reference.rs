//! The exact-reference service: the one place that decides how an exact state for a
//! circuit is obtained, and that says so when it is not exact.
//!
//! The rule uses the engines' one size threshold ([`MAX_EXACT_QUBITS`]):
//! - `n ≤ MAX_EXACT_QUBITS`: the dense **state vector** (exact);
//! - beyond, for circuits of fixed Hamming weight ([`fixed_input_weight`]): an MPS run with
//!   **no cutoff** and bond cap [`MAX_REFERENCE_BOND`]. A weight-`k` state has Schmidt
//!   rank at most `Σ_c min(C(l,c), C(n−l,k−c))` across any cut (≈130 for `n = 128, k = 3`),
//!   so below the cap nothing is discarded and the run *is* exact; its marginals are
//!   cross-checked against the subspace simulator where that fits. Above the cap the
//!   reference is truncated: [`ExactReference::is_exact`] is false and
//!   [`ExactReference::discarded_weight`] says by how much;
//! - anything else: no reference (`None`).

use num_complex::Complex64 as C64;

use crate::engine::{simulate_with_layout, ChainLayout, Engine, MAX_EXACT_QUBITS};
use crate::fidelity::overlap_with_dense;
use crate::mps::u1::fixed_input_weight;
use crate::mps::{run_mps, Mps, MpsConfig, Truncation};
use crate::subspace::binomial;
use crate::Simulator;
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::{Error, Result};

/// Bond cap of an MPS reference: below it an MPS run without cutoff is exact.
pub const MAX_REFERENCE_BOND: usize = 1024;

/// Largest disagreement in marginals between an MPS reference and the subspace simulator
/// before the reference is refused.
pub const REFERENCE_MARGINAL_TOLERANCE: f64 = 1e-10;

/// How the reference state is held.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ReferenceState {
    /// Dense amplitudes, index bit `q` = qubit `q`.
    Dense(Vec<C64>),
    /// An MPS run without cutoff.
    Mps(Box<Mps>),
}

/// A reference state for a circuit, with how it was obtained and whether it is exact.
#[derive(Clone, Debug)]
pub struct ExactReference {
    state: ReferenceState,
    description: String,
    discarded_weight: f64,
    truncated: bool,
    marginals: Vec<f64>,
    subspace_marginal_error: Option<f64>,
}

impl ExactReference {
    /// The reference for `circuit` with `values` by the module's rule (MPS references laid
    /// out by `layout`, bond cap [`MAX_REFERENCE_BOND`]); `None` where no reference exists.
    pub fn compute(
        circuit: &Circuit,
        values: &Parameters,
        layout: &ChainLayout,
    ) -> Result<Option<Self>> {
        Self::compute_with_bond_cap(circuit, values, layout, MAX_REFERENCE_BOND)
    }

    /// [`ExactReference::compute`] with an MPS bond cap of `bond_cap` instead of
    /// [`MAX_REFERENCE_BOND`] (a reference that needs more is marked not exact).
    pub fn compute_with_bond_cap(
        circuit: &Circuit,
        values: &Parameters,
        layout: &ChainLayout,
        bond_cap: usize,
    ) -> Result<Option<Self>> {
        let n = circuit.qubits;
        if n <= MAX_EXACT_QUBITS && bfly_core::budget::Need::state_vector(n).check().is_ok() {
            let sv = simulate_with_layout(&Engine::StateVector, circuit, values, layout)?;
            let amplitudes = sv
                .as_state_vector()
                .expect("the state-vector engine gives a state vector")
                .amplitudes()
                .to_vec();
            return Ok(Some(ExactReference {
                marginals: sv.marginals(),
                state: ReferenceState::Dense(amplitudes),
                description: "state vector".into(),
                discarded_weight: 0.0,
                truncated: false,
                subspace_marginal_error: None,
            }));
        }
        let Some(k) = fixed_input_weight(circuit, values)? else {
            return Ok(None);
        };
        circuit.validate()?;
        let config = MpsConfig {
            truncation: Truncation::new(bond_cap, 0.0)?,
            ordering: layout.ordering.resolve(circuit),
            routing: layout.routing,
        };
        let state = run_mps(circuit, values, &config)?;
        let marginals = state.marginals();
        let report = state.report();
        let discarded_weight = report.total_discarded_weight;
        let truncated = report.truncations > 0;
        let mut description = format!("untruncated MPS (max bond {})", state.max_bond_dimension());
        let mut subspace_marginal_error = None;
        if binomial(n, k) <= (1u64 << MAX_EXACT_QUBITS) as f64 {
            let subspace = simulate_with_layout(&Engine::Subspace, circuit, values, layout)?;
            let error = max_abs_difference(&marginals, &subspace.marginals());
            if error > REFERENCE_MARGINAL_TOLERANCE && !truncated {
                return Err(Error::InvalidInput(format!(
                    "the untruncated MPS reference differs from the subspace simulator by {error:.3e} in marginals; no trustworthy exact reference"
                )));
            }
            description += &format!(", checked against the subspace simulator to {error:.1e}");
            subspace_marginal_error = Some(error);
        }
        if truncated {
            description = format!(
                "MPS at bond cap {bond_cap}, NOT exact: {} truncations discarded weight {discarded_weight:.3e}",
                report.truncations
            );
        }
        Ok(Some(ExactReference {
            state: ReferenceState::Mps(Box::new(state)),
            description,
            discarded_weight,
            truncated,
            marginals,
            subspace_marginal_error,
        }))
    }

    /// A reference from its parts (for example an MPS reference loaded from a cache).
    pub fn from_mps(state: Mps, description: String) -> Self {
        let report = state.report();
        let discarded_weight = report.total_discarded_weight;
        ExactReference {
            truncated: report.truncations > 0,
            marginals: state.marginals(),
            state: ReferenceState::Mps(Box::new(state)),
            description,
            discarded_weight,
            subspace_marginal_error: None,
        }
    }

    /// How the reference was obtained (says "NOT exact" when it is not).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// True if nothing above the SVD noise floor was discarded to obtain it (the MPS
    /// reference made no truncation; see [`crate::mps::TruncationReport::truncations`]).
    pub fn is_exact(&self) -> bool {
        !self.truncated
    }

    /// Total discarded weight of the reference run (rounding-level, ≲ 1e-20, when exact:
    /// the SVDs always drop numerical zeros).
    pub fn discarded_weight(&self) -> f64 {
        self.discarded_weight
    }

    /// `P(q_i = 1)` of the reference.
    pub fn marginals(&self) -> &[f64] {
        &self.marginals
    }

    /// Largest marginal disagreement with the subspace simulator, where the MPS reference
    /// was cross-checked against it.
    pub fn subspace_marginal_error(&self) -> Option<f64> {
        self.subspace_marginal_error
    }

    /// The reference state.
    pub fn state(&self) -> &ReferenceState {
        &self.state
    }

    /// `|<ψ_ref|ψ>|² / (‖ψ_ref‖² ‖ψ‖²)` for an MPS `psi`.
    pub fn fidelity(&self, psi: &Mps) -> Result<f64> {
        match &self.state {
            ReferenceState::Mps(state) => {
                let overlap = state.overlap(psi)?;
                Ok(overlap.norm_sqr() / (state.norm_squared() * psi.norm_squared()))
            }
            ReferenceState::Dense(amplitudes) => {
                let overlap = overlap_with_dense(psi, amplitudes)?;
                let norm: f64 = amplitudes.iter().map(|a| a.norm_sqr()).sum();
                Ok(overlap.norm_sqr() / (norm * psi.norm_squared()))
            }
        }
    }
}

/// An upper bound on the Schmidt rank of an `n`-qubit state across any cut: for states of
/// fixed Hamming weight `k`, `max_l Σ_c min(C(l,c), C(n−l,k−c))`; otherwise
/// `2^⌊n/2⌋`. Saturates at `usize::MAX`. An MPS without cutoff whose bond cap is at least
/// this bound is exact.
pub fn exact_bond_bound(n: usize, weight: Option<usize>) -> usize {
    let bound = (0..=n)
        .map(|l| match weight {
            Some(k) => (0..=k)
                .map(|c| binomial(l, c).min(binomial(n - l, k.saturating_sub(c))))
                .sum::<f64>(),
            None => 2f64.powi(l.min(n - l) as i32),
        })
        .fold(1.0, f64::max);
    if bound >= usize::MAX as f64 {
        usize::MAX
    } else {
        bound.round() as usize
    }
}

/// Largest `|a_i − b_i|`.
pub fn max_abs_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
