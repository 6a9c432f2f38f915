//! Validation of a trained model's compiled circuits on random inputs: the model-level
//! wrapper around [`bfly_ionq::validate::validate_compilation`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use bfly_core::circuit::Parameters;
use bfly_core::error::{Error, Result};
use bfly_core::progress::{FinishOnDrop, Progress};
use bfly_core::sampling::standard_normal;
use bfly_ionq::compile::{CompileReport, Target};
use bfly_ionq::validate::{validate_compilation, Comparison, ValidateOptions};

use crate::HybridModel;

/// One random input of a model validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputResult {
    /// The features fed to the model.
    pub features: Vec<f64>,
    /// The comparison of compiled and source circuits for this input.
    pub comparison: Comparison,
}

/// The validation of a trained model's circuits on random inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelValidation {
    /// Target gate set.
    pub target: Target,
    /// Qubits of the model.
    pub qubits: usize,
    /// Compile statistics for the first input (every input has the same gate structure
    /// unless an angle hits a folding branch such as a multiple of π).
    pub report: CompileReport,
    /// One entry per input.
    pub inputs: Vec<InputResult>,
    /// Smallest fidelity over the inputs.
    pub min_fidelity: f64,
    /// Largest TVD over the inputs (`None` if an MPS run has none).
    pub max_tvd: Option<f64>,
}

/// Compile the circuit of `model` for `inputs` random feature vectors (standard normal,
/// seeded) and compare each compiled circuit with its source. `progress` counts the
/// inputs.
pub fn validate_model(
    model: &HybridModel,
    target: Target,
    inputs: usize,
    seed: u64,
    options: &ValidateOptions,
    progress: &dyn Progress,
) -> Result<ModelValidation> {
    if inputs == 0 {
        return Err(Error::InvalidInput(
            "the number of validation inputs must be at least 1".into(),
        ));
    }
    // One result per input is kept: refuse a count whose results cannot fit, before any
    // work (the time per input is reported by the progress bar).
    let per_input = std::mem::size_of::<InputResult>() as u64 + 8 * model.n_features() as u64;
    bfly_core::budget::Need::new(
        format!("the validation results of {inputs} random inputs"),
        (inputs as u64).saturating_mul(per_input),
        "validate fewer random inputs (--inputs)",
    )
    .check()?;
    let circuit = model.circuit()?;
    progress.start(inputs as u64, "inputs");
    let _finish = FinishOnDrop(progress);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut results = Vec::with_capacity(inputs.min(1024));
    let mut report = None;
    for _ in 0..inputs {
        let features: Vec<f64> = (0..model.n_features())
            .map(|_| standard_normal(&mut rng))
            .collect();
        let u = model.encode(&features)?.u;
        let values = Parameters::new(model.theta.clone(), model.loader.angles(model.qubits, &u)?);
        let (r, comparison) = validate_compilation(&circuit, &values, target, options)?;
        report.get_or_insert(r);
        results.push(InputResult {
            features,
            comparison,
        });
        progress.advance(1);
    }
    let min_fidelity = results
        .iter()
        .map(|r| r.comparison.fidelity)
        .fold(f64::INFINITY, f64::min);
    let max_tvd = results
        .iter()
        .map(|r| r.comparison.tvd)
        .try_fold(0.0f64, |acc, t| t.map(|t| acc.max(t)));
    Ok(ModelValidation {
        target,
        qubits: model.qubits,
        report: report.expect("at least one input"),
        inputs: results,
        min_fidelity,
        max_tvd,
    })
}
