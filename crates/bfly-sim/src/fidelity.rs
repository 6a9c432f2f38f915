//! True fidelity of a truncated MPS run against an exact reference.
//!
//! The MPS engine *estimates* its fidelity as `Π (1 − ε)` over truncations; this module
//! measures `|<ψ_exact|ψ_mps>|²` where an exact reference exists:
//! - **state vector** (any circuit, `n ≤` [`MAX_EXACT_QUBITS`]): the dense vector is contracted with the MPS
//!   site by site, `O(Σ_s χ_s χ_{s+1} 2^{n−s})`, never one amplitude at a time;
//! - **untruncated MPS** (Hamming-weight-preserving circuits): a weight-`k` state has
//!   Schmidt rank at most `Σ_c min(C(l,c), C(n−l,k−c))` across any cut (≈130 for
//!   `n = 128, k = 3`), so an MPS run without truncation *is* exact; it is cross-checked
//!   against the subspace simulator's marginals before it is trusted.
//!
//! Which reference is used is decided by [`ExactReference::compute`].

use num_complex::Complex64 as C64;
use serde::Serialize;

use crate::engine::{ChainLayout, MAX_EXACT_QUBITS};
use crate::mps::{Mps, MpsConfig};
use crate::reference::{max_abs_difference, ExactReference};
use crate::Simulator;
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::{Error, Result};

/// The measured fidelity and how it was obtained.
#[derive(Clone, Debug, Serialize)]
pub struct FidelityCheck {
    /// `|<ψ_exact|ψ_mps>|²`.
    pub fidelity: f64,
    /// Which reference was used.
    pub reference: String,
    /// Largest `|ΔP(q_i = 1)|` between the MPS run and the reference.
    pub max_marginal_error: f64,
    /// False if the reference itself had to truncate (see [`ExactReference::is_exact`]).
    pub reference_exact: bool,
    /// Total discarded weight of the reference run (0 when exact).
    pub reference_discarded_weight: f64,
}

/// `<mps|v>` for a dense vector `v` (index bit `q` = qubit `q`).
pub fn overlap_with_dense(mps: &Mps, v: &[C64]) -> Result<C64> {
    let n = mps.n_qubits();
    if v.len() != 1usize << n {
        return Err(Error::InvalidInput(format!(
            "dense vector has {} entries, a {n}-qubit MPS needs 2^{n}",
            v.len()
        )));
    }
    // Reorder v so that bit s of the index is the qubit at site s.
    let qubit_at: Vec<usize> = (0..n).map(|s| mps.qubit_at_site(s)).collect();
    let mut env: Vec<C64> = (0..v.len())
        .map(|j| {
            let i = (0..n).fold(0usize, |acc, s| acc | (((j >> s) & 1) << qubit_at[s]));
            v[i]
        })
        .collect();
    // env[l + χl·rest]: contract site s (conjugated) over its left bond and physical bit.
    let mut chi_l = 1;
    for s in 0..n {
        let (a, (dl, dr)) = mps
            .site_tensor(s)
            .expect("every site of an MPS has a tensor");
        debug_assert_eq!(dl, chi_l);
        let rest = env.len() / (chi_l * 2);
        let mut next = vec![C64::new(0.0, 0.0); dr * rest];
        for t in 0..rest {
            for b in 0..2 {
                let block = &env[chi_l * (b + 2 * t)..chi_l * (b + 2 * t + 1)];
                for r in 0..dr {
                    // tensor layout: l + χl·(s + 2·r)
                    let col = &a[dl * (b + 2 * r)..dl * (b + 2 * r + 1)];
                    let dot: C64 = col.iter().zip(block).map(|(x, y)| x.conj() * y).sum();
                    next[r + dr * t] += dot;
                }
            }
        }
        env = next;
        chi_l = dr;
    }
    Ok(env[0])
}

/// Measure the true fidelity of `mps` (a run of `circuit` with `config`) against the
/// reference of [`ExactReference::compute`] (the same qubit layout); errors if none exists.
/// The check says whether the reference itself was exact.
pub fn true_fidelity(
    circuit: &Circuit,
    values: &Parameters,
    mps: &Mps,
    config: &MpsConfig,
) -> Result<FidelityCheck> {
    let layout = ChainLayout {
        ordering: config.ordering.clone(),
        routing: config.routing,
    };
    let Some(reference) = ExactReference::compute(circuit, values, &layout)? else {
        return Err(Error::InvalidInput(format!(
            "no exact reference for this circuit: it changes Hamming weight and has {} > {MAX_EXACT_QUBITS} qubits",
            circuit.qubits
        )));
    };
    Ok(FidelityCheck {
        fidelity: reference.fidelity(mps)?,
        reference: reference.description().to_string(),
        max_marginal_error: max_abs_difference(&mps.marginals(), reference.marginals()),
        reference_exact: reference.is_exact(),
        reference_discarded_weight: reference.discarded_weight(),
    })
}
