//! Exact references for sweep points, from the one exact-reference service
//! ([`bfly_sim::ExactReference`]), computed once per (family, n, layers, seed) and cached on
//! disk so the χ points of one circuit share it.
//!
//! - Weight-`k` inputs (unary, hwK) whose exact bond bound is at most
//!   [`MAX_REFERENCE_BOND`]: the service's untruncated MPS (beyond
//!   [`MAX_EXACT_QUBITS`]), saved as an MPS file with a JSON sidecar (its bonds stay small:
//!   66 for hw2 and 130 for hw3 at n = 128).
//! - Otherwise, on at most [`MAX_EXACT_QUBITS`] qubits: the **state vector** (recomputed per
//!   point; cheap at those sizes).
//! - Otherwise: no reference (`None`); the sweep records the true fidelity as absent.
//!
//! A reference that is not exact is never used: the sweep's true fidelity is exact or absent.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use super::PointSpec;
use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_sim::reference::{ReferenceState, MAX_REFERENCE_BOND};
use bfly_sim::{ChainLayout, ExactReference, Mps, MAX_EXACT_QUBITS};

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

/// The exact reference for `spec` (whose circuit is `circuit`), loaded from `dir` or
/// computed and (if it is an MPS) saved there; `None` where no exact reference exists.
pub fn load_or_compute(
    spec: &PointSpec,
    circuit: &Circuit,
    dir: &Path,
) -> Result<Option<ExactReference>> {
    let fixed_weight = spec.family.hamming_weight().is_some();
    if spec.qubits > MAX_EXACT_QUBITS
        && !(fixed_weight && spec.exact_bond_bound() <= MAX_REFERENCE_BOND)
    {
        return Ok(None);
    }
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
        return Ok(Some(ExactReference::from_mps(
            Mps::load(&mps_path)?,
            meta.description,
        )));
    }
    let config = spec.config()?;
    let layout = ChainLayout {
        ordering: config.ordering,
        routing: config.routing,
    };
    let Some(reference) = ExactReference::compute(circuit, &circuit.parameters, &layout)? else {
        return Ok(None);
    };
    if !reference.is_exact() {
        return Ok(None);
    }
    if let ReferenceState::Mps(state) = reference.state() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        state.save(&mps_path)?;
        let meta = Sidecar {
            description: reference.description().to_string(),
            max_marginal_error: reference.subspace_marginal_error().unwrap_or(0.0),
            max_bond: state.max_bond_dimension(),
        };
        bfly_core::io::write_atomic(
            &meta_path,
            &serde_json::to_vec_pretty(&meta).expect("sidecar serialises"),
        )?;
    }
    Ok(Some(reference))
}
