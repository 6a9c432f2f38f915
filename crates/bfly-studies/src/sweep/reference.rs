//! Exact references for sweep points, computed once per (family, n, layers, seed) and
//! cached on disk, so the χ points of one circuit share it.
//!
//! - Weight-`k` inputs (unary, hwK): an **untruncated MPS**, accepted only after its
//!   marginals match the subspace simulator's to [`REFERENCE_MARGINAL_TOLERANCE`]; saved as
//!   an MPS file (its bonds stay small: 66 for hw2 and 130 for hw3 at n = 128). Used when
//!   the exact bond bound is at most [`MAX_EXACT_MPS_BOND`].
//! - Otherwise, on at most [`MAX_DENSE_REFERENCE_QUBITS`] qubits: the **state vector**
//!   (recomputed per point; cheap at those sizes).
//! - Otherwise: no reference (`None`); the sweep records the true fidelity as absent.

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::PointSpec;
use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_sim::fidelity::{
    overlap_with_dense, MAX_DENSE_REFERENCE_QUBITS, REFERENCE_MARGINAL_TOLERANCE,
};
use bfly_sim::mps::{run_mps, Mps, MpsConfig, Truncation};
use bfly_sim::{simulate, Backend, Simulator, StateVector};

/// Largest exact bond for which an untruncated MPS serves as the reference.
pub const MAX_EXACT_MPS_BOND: usize = 1024;

/// An exact state to measure truncated runs against.
#[allow(missing_docs)] // fields: the state and a one-line description of how it was made
pub enum ExactReference {
    /// An untruncated MPS, checked against the subspace simulator.
    Mps {
        state: Box<Mps>,
        description: String,
    },
    /// The dense state vector (index bit `q` = qubit `q`).
    Dense {
        amplitudes: Vec<C64>,
        description: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    description: String,
    max_marginal_error: f64,
    max_bond: usize,
}

fn cache_stem(spec: &PointSpec, dir: &Path) -> PathBuf {
    dir.join(format!(
        "{}-n{}-L{}-s{}",
        spec.family, spec.qubits, spec.layers, spec.seed
    ))
}

impl ExactReference {
    /// The reference for `spec` (whose circuit is `circuit`), loaded from `dir` or computed
    /// and saved there; `None` where no exact reference exists.
    pub fn load_or_compute(
        spec: &PointSpec,
        circuit: &Circuit,
        dir: &Path,
    ) -> Result<Option<Self>> {
        let n = spec.qubits;
        if spec.family.hamming_weight().is_some() && spec.exact_bond_bound() <= MAX_EXACT_MPS_BOND {
            let stem = cache_stem(spec, dir);
            let mps_path = stem.with_extension("mps");
            let meta_path = stem.with_extension("json");
            if mps_path.exists() && meta_path.exists() {
                let meta: Sidecar = serde_json::from_slice(
                    &std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?,
                )
                .map_err(|source| Error::Json {
                    context: meta_path.display().to_string(),
                    source,
                })?;
                let state = Mps::load(&mps_path)?;
                return Ok(Some(ExactReference::Mps {
                    state: Box::new(state),
                    description: meta.description,
                }));
            }
            let subspace = simulate(Backend::Subspace, circuit, &circuit.parameters)?;
            let config = MpsConfig {
                truncation: Truncation::exact(),
                ..spec.config()?
            };
            let state = run_mps(circuit, &circuit.parameters, &config)?;
            let error = state
                .marginals()
                .iter()
                .zip(subspace.marginals())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            if error > REFERENCE_MARGINAL_TOLERANCE {
                return Err(Error::InvalidInput(format!(
                    "the untruncated MPS reference for {} differs from the subspace simulator by {error:.3e} in marginals; no trustworthy exact reference",
                    spec.key()
                )));
            }
            let description = format!(
                "untruncated MPS (max bond {}), checked against the subspace simulator to {error:.1e}",
                state.max_bond_dimension()
            );
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            state.save(&mps_path)?;
            let meta = Sidecar {
                description: description.clone(),
                max_marginal_error: error,
                max_bond: state.max_bond_dimension(),
            };
            bfly_core::io::write_atomic(
                &meta_path,
                &serde_json::to_vec_pretty(&meta).expect("sidecar serialises"),
            )?;
            return Ok(Some(ExactReference::Mps {
                state: Box::new(state),
                description,
            }));
        }
        if n <= MAX_DENSE_REFERENCE_QUBITS && StateVector::new(n).is_ok() {
            let sv = simulate(Backend::StateVector, circuit, &circuit.parameters)?;
            let mut amplitudes = vec![C64::new(0.0, 0.0); 1usize << n];
            for (bits, a) in sv
                .explicit_amplitudes()
                .expect("state vectors are explicit")
            {
                amplitudes[bits.to_index().expect("n ≤ 26") as usize] = a;
            }
            return Ok(Some(ExactReference::Dense {
                amplitudes,
                description: "state vector".into(),
            }));
        }
        Ok(None)
    }

    /// Which reference this is.
    pub fn description(&self) -> &str {
        match self {
            ExactReference::Mps { description, .. } | ExactReference::Dense { description, .. } => {
                description
            }
        }
    }

    /// `|<ψ_exact|ψ>|² / (‖ψ_exact‖² ‖ψ‖²)`.
    pub fn fidelity(&self, psi: &Mps) -> Result<f64> {
        match self {
            ExactReference::Mps { state, .. } => {
                let overlap = state.overlap(psi)?;
                Ok(overlap.norm_sqr() / (state.norm_squared() * psi.norm_squared()))
            }
            ExactReference::Dense { amplitudes, .. } => {
                let overlap = overlap_with_dense(psi, amplitudes)?;
                let norm: f64 = amplitudes.iter().map(|a| a.norm_sqr()).sum();
                Ok(overlap.norm_sqr() / (norm * psi.norm_squared()))
            }
        }
    }
}
