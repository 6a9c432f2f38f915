//! # butterfly-mps
//!
//! Simulation, training and IonQ export of Butterfly quantum neural networks built from
//! RBS (reconfigurable beam splitter) gates.
//!
//! - [`circuit`]: the circuit IR (gates, parameter slots, JSON), the Butterfly builder and
//!   data loaders.
//! - [`sim`]: simulators behind one [`sim::Simulator`] trait (dense state vector,
//!   fixed-Hamming-weight subspace, unary fast path, dense and U(1) MPS), chosen with one
//!   [`sim::Engine`] and run with [`sim::simulate`]; [`sim::ExactReference`] gives exact
//!   references and says when one is not exact.
//! - [`bits`]: bitstrings of any length.
//! - [`budget`]: the memory budget every engine checks before it allocates.
//! - [`exec`]: executors, shot plans and histograms, through which training, noise and
//!   IonQ runs go.
//! - [`noise`]: noise models (IonQ presets), density-matrix and trajectory simulation,
//!   post-selection, and the noisy executor.
//! - [`ionq`]: IonQ's wire format, API client, local IonQ-compatible emulator, and an
//!   executor running training circuits as IonQ jobs.
//! - [`train`], [`study`], [`sweep`], [`mod@bench`], [`impute`], [`plot`]: training and studies.
//!
//! Simulate a 128-qubit Butterfly on the MPS and read its marginals and truncation report:
//!
//! ```
//! use butterfly_mps::circuit::{loaders::Loader, workload::ButterflyWorkload};
//! use butterfly_mps::sim::{simulate, Engine, Simulator};
//! let circuit = ButterflyWorkload::full(128, Loader::HammingWeight(2), 7).build()?;
//! let state = simulate(&Engine::mps(64, 1e-12)?, &circuit, &circuit.parameters)?;
//! let marginals = state.marginals();
//! let report = state.truncation_report().expect("MPS runs report their truncation");
//! println!("P(q0 = 1) = {:.4}, discarded weight {:.2e}, fidelity estimate {:.6}",
//!     marginals[0], report.total_discarded_weight, report.fidelity_estimate);
//! # assert!((marginals.iter().sum::<f64>() - 2.0).abs() < 1e-6);
//! # Ok::<(), butterfly_mps::Error>(())
//! ```

#![warn(missing_docs)]

pub use bfly_core::{bits, budget, circuit, error, io, progress, BitString, Error, Result};
pub use bfly_exec as exec;
pub use bfly_ionq as ionq;
pub use bfly_ionq::compile;
pub use bfly_noise as noise;
pub use bfly_sim as sim;
pub use bfly_sim::{linalg, report};
pub use bfly_studies::{bench, impute, plot, study, sweep};
pub use bfly_train as train;
pub use bfly_train::data;

/// Validation of compiled circuits against exact simulation (`bfly_ionq::validate`), and of
/// a trained model's circuits on random inputs (`bfly_train::validation`).
pub mod validate {
    pub use bfly_ionq::validate::*;
    pub use bfly_train::validation::{validate_model, InputResult, ModelValidation};
}
