//! True fidelity of a truncated MPS run against an exact reference.
//!
//! The MPS engine *estimates* its fidelity as `Π (1 − ε)` over truncations; this module
//! measures `|<ψ_exact|ψ_mps>|²` where an exact reference exists:
//! - **state vector** (any circuit, `n ≤ 26`): the dense vector is contracted with the MPS
//!   site by site, `O(Σ_s χ_s χ_{s+1} 2^{n−s})`, never one amplitude at a time;
//! - **untruncated MPS** (Hamming-weight-preserving circuits): a weight-`k` state has
//!   Schmidt rank at most `Σ_c min(C(l,c), C(n−l,k−c))` across any cut (≈130 for
//!   `n = 128, k = 3`), so an MPS run without truncation *is* exact; it is cross-checked
//!   against the subspace simulator's marginals before it is trusted.

use num_complex::Complex64 as C64;
use serde::Serialize;

use super::mps::{run_mps, Mps, MpsConfig, Truncation};
use super::{simulate, Backend, Simulator, StateVector};
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::{Error, Result};

/// Largest qubit count for a state-vector reference.
pub const MAX_DENSE_REFERENCE_QUBITS: usize = 26;

/// Tolerance for accepting an untruncated MPS as the exact reference.
pub const REFERENCE_MARGINAL_TOLERANCE: f64 = 1e-10;

/// The measured fidelity and how it was obtained.
#[derive(Clone, Debug, Serialize)]
pub struct FidelityCheck {
    /// `|<ψ_exact|ψ_mps>|²`.
    pub fidelity: f64,
    /// Which reference was used.
    pub reference: String,
    /// Largest `|ΔP(q_i = 1)|` between the MPS run and the reference.
    pub max_marginal_error: f64,
}

/// `<mps|v>` for a dense vector `v` (index bit `q` = qubit `q`).
pub fn overlap_with_dense(mps: &Mps, v: &[C64]) -> Result<C64> {
    let n = mps.len();
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

fn max_marginal_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Measure the true fidelity of `mps` (a run of `circuit` with `config`) against the best
/// exact reference available; errors if none exists.
pub fn true_fidelity(
    circuit: &Circuit,
    values: &Parameters,
    mps: &Mps,
    config: &MpsConfig,
) -> Result<FidelityCheck> {
    let n = circuit.qubits;
    let marginals = mps.marginals();
    if n <= MAX_DENSE_REFERENCE_QUBITS && StateVector::new(n).is_ok() {
        let sv = simulate(Backend::StateVector, circuit, values)?;
        let dense = sv
            .explicit_amplitudes()
            .expect("state vectors are explicit");
        let mut v = vec![C64::new(0.0, 0.0); 1usize << n];
        for (bits, a) in dense {
            v[bits.to_index().expect("n ≤ 26") as usize] = a;
        }
        let overlap = overlap_with_dense(mps, &v)?;
        return Ok(FidelityCheck {
            fidelity: overlap.norm_sqr() / mps.norm_squared(),
            reference: "state vector".into(),
            max_marginal_error: max_marginal_error(&marginals, &sv.marginals()),
        });
    }
    // The subspace simulator accepts leading basis-state preparation (loaders' X gates)
    // followed by weight-preserving gates; anything else has no reference here.
    let subspace = match simulate(Backend::Subspace, circuit, values) {
        Ok(s) => Some(s),
        Err(Error::NotWeightPreserving { .. }) => None,
        Err(e) => return Err(e),
    };
    if let Some(subspace) = subspace {
        let exact_config = MpsConfig {
            truncation: Truncation::exact(),
            ..config.clone()
        };
        let reference = run_mps(circuit, values, &exact_config)?;
        let reference_error = max_marginal_error(&reference.marginals(), &subspace.marginals());
        if reference_error > REFERENCE_MARGINAL_TOLERANCE {
            return Err(Error::InvalidInput(format!(
                "the untruncated MPS reference differs from the subspace simulator by {reference_error:.3e} in marginals; no trustworthy exact reference"
            )));
        }
        let overlap = reference.overlap(mps)?;
        return Ok(FidelityCheck {
            fidelity: overlap.norm_sqr() / (reference.norm_squared() * mps.norm_squared()),
            reference: format!(
                "untruncated MPS (max bond {}), checked against the subspace simulator to {reference_error:.1e}",
                reference.max_bond_dimension()
            ),
            max_marginal_error: max_marginal_error(&marginals, &subspace.marginals()),
        });
    }
    Err(Error::InvalidInput(format!(
        "no exact reference for this circuit: it changes Hamming weight and has {n} > {MAX_DENSE_REFERENCE_QUBITS} qubits"
    )))
}
