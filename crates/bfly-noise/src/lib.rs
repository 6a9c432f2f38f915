//! Noisy simulation: IonQ-style noise models (depolarizing after every gate, readout
//! error), exact density matrices for small `n`, seeded Monte-Carlo trajectories on the
//! state vector or the MPS for large `n`, shot sampling, and post-selection on Hamming
//! weight — behind the training [`Executor`](bfly_exec::Executor) trait.
//!
//! | module | concept |
//! |---|---|
//! | [`model`] | [`NoiseModel`] (`p1`, `p2`, [`ReadoutError`]), presets `ideal`, `aria-1`, `aria-2`, `forte-1` |
//! | [`channel`] | the depolarizing convention (Pauli form), Pauli insertions of a trajectory |
//! | [`density`] | [`DensityMatrix`]: exact `ρ`, hand-written kernels, `n ≤ 12` |
//! | [`simulate`] | [`simulate_noisy`]: engine choice, trajectories, shots, readout, post-selection |
//! | [`readout`], [`postselect`], [`weight`] | readout error; post-selection; weight-resolved MPS statistics |
//! | [`metrics`] | total variation distance, mean absolute marginal error |
//! | [`compare`] | ideal vs noisy vs post-selected: the report of `bfly noisy` |
//! | [`executor`] | [`NoisyExecutor`] with an optional circuit-preparation hook (the compiler) |
//!
//! ```
//! use bfly_core::circuit::{loaders::Loader, ButterflyWorkload};
//! use bfly_noise::{metrics, simulate_noisy, NoiseModel, NoisyConfig};
//! use bfly_core::progress::NoProgress;
//! let c = ButterflyWorkload::full(8, Loader::UnaryTree, 1).build().unwrap();
//! let ideal = simulate_noisy(&c, &c.parameters, &NoisyConfig::new(NoiseModel::ideal()), None, &NoProgress).unwrap();
//! let mut config = NoisyConfig::new(NoiseModel::preset("forte-1").unwrap());
//! config.postselect_weight = Some(1);
//! let noisy = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap(); // exact ρ
//! let tvd = metrics::total_variation_distance(
//!     ideal.distribution.as_ref().unwrap(), noisy.distribution.as_ref().unwrap()).unwrap();
//! assert!(tvd > 0.0 && tvd < 0.2);
//! let kept = noisy.postselection.unwrap().kept_fraction;
//! assert!(kept > 0.8 && kept < 1.0);
//! ```

#![warn(missing_docs)]

pub mod channel;
pub mod compare;
pub mod density;
pub mod executor;
pub mod metrics;
pub mod model;
pub mod postselect;
pub mod readout;
pub mod simulate;
pub mod weight;

pub use density::DensityMatrix;
pub use executor::{bind_circuit, NoisyExecutor, PrepareHook};
pub use model::{NoiseModel, ReadoutError, PRESET_NAMES};
pub use postselect::PostSelection;
pub use simulate::{simulate_noisy, NoisyConfig, NoisyMethod, NoisyOutcome};
