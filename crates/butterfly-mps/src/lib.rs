//! # butterfly-mps
//!
//! Simulation, training and IonQ export of Butterfly quantum neural networks built from
//! RBS (reconfigurable beam splitter) gates.
//!
//! - [`circuit`]: the circuit IR (gates, parameter slots, JSON), the Butterfly builder and
//!   data loaders.
//! - [`sim`]: simulators behind one [`sim::Simulator`] trait: dense state vector,
//!   fixed-Hamming-weight subspace, and the unary fast path.
//! - [`bits`]: bitstrings of any length.
//! - [`noise`]: noise models (IonQ presets), density-matrix and trajectory simulation,
//!   post-selection, and the noisy executor.
//! - [`ionq`]: IonQ's wire format, API client, local IonQ-compatible emulator, and an
//!   executor running training circuits as IonQ jobs.
//!
//! ```
//! use butterfly_mps::circuit::{Butterfly, LayerOrdering, loaders::Loader};
//! use butterfly_mps::sim::{simulate, Backend};
//! // A 128-qubit Butterfly fed by a Hamming-weight-2 loader, simulated exactly.
//! let n = 128;
//! let loader = Loader::HammingWeight(2);
//! let mut c = loader.circuit(n).unwrap();
//! let b = Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap();
//! b.append_to(&mut c, 0).unwrap();
//! c.parameters.trainable = (0..b.n_params()).map(|i| 0.01 * i as f64).collect();
//! let data: Vec<f64> = (0..n).map(|i| if i % 64 == 0 { 1.0 } else { 0.0 }).collect();
//! c.parameters.inputs = loader.angles(n, &data).unwrap();
//! let state = simulate(Backend::Subspace, &c, &c.parameters).unwrap();
//! assert!((state.marginals().iter().sum::<f64>() - 2.0).abs() < 1e-12);
//! ```

#![warn(missing_docs)]

pub use bfly_core::{bits, circuit, error, io, BitString, Error, Result};
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
