//! Training hybrid Butterfly models layer by layer, with exact, per-parameter-shift and
//! parallel-shift gradients.
//!
//! - [`model`]: [`HybridModel`] (dense → normalise → unary loader → Butterfly →
//!   marginals → dense head), its JSON file format.
//! - [`executor`]: the [`Executor`] trait (batches of circuits, exact or with seeded
//!   shots) and the unary, state-vector and MPS implementations; [`Counted`] measures cost.
//! - [`gradient`]: [`ExactAdjoint`], [`ShiftRule`], [`ParallelShift`].
//! - [`step`]: loss and gradient of one mini-batch; [`optimizer`]: Adam and SGD;
//!   [`schedule`]: the layer-wise phases; [`trainer`]: the loop, early stopping,
//!   checkpoints and resume ([`checkpoint`]).
//! - [`cost`]: the circuit-evaluation table; [`noise_floor`]: the shot-noise floor;
//!   [`teacher`]: synthetic data from a hidden random Butterfly.
//!
//! ```
//! use bfly_train::{teacher, RunControl, TrainConfig, Trainer, Task};
//! let (_, data) = teacher::teacher_dataset(&teacher::TeacherSpec::new(8, 3, 128, 5)).unwrap();
//! let mut config = TrainConfig::new(8, 3, Task::Regression);
//! config.schedule.epochs_per_stage = 5;
//! let mut trainer = Trainer::new(config, &data).unwrap();
//! trainer.run(&RunControl::default(), &mut |_| {}).unwrap();
//! let h = trainer.history();
//! assert!(h.last().unwrap().train_loss_exact < h[0].train_loss_exact);
//! ```
//!
//! A custom executor (here: ideal unary simulation followed by symmetric readout error,
//! the shape a noisy simulator or a hardware client takes) plugs straight into training:
//!
//! ```
//! use bfly_exec::{CircuitRun, Executor, RunResult, ShotPlan, UnaryExecutor};
//! use bfly_train::{teacher, GradientMethod, RunControl, TrainConfig, Trainer, Task};
//!
//! struct ReadoutError(f64);
//! impl Executor for ReadoutError {
//!     fn name(&self) -> String { format!("unary + readout error {}", self.0) }
//!     fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> bfly_core::Result<Vec<RunResult>> {
//!         let mut out = UnaryExecutor.execute(batch, plan)?;
//!         for r in &mut out {
//!             for p in &mut r.marginals { *p = (1.0 - self.0) * *p + self.0 * (1.0 - *p); }
//!         }
//!         Ok(out)
//!     }
//! }
//!
//! let (_, data) = teacher::teacher_dataset(&teacher::TeacherSpec::new(8, 3, 32, 1)).unwrap();
//! let mut config = TrainConfig::new(8, 3, Task::Regression);
//! config.gradient = GradientMethod::ParallelShift;
//! config.schedule.epochs_per_stage = 1;
//! let mut trainer = Trainer::with_executor(config, &data, Box::new(ReadoutError(0.01))).unwrap();
//! trainer.run(&RunControl::default(), &mut |_| {}).unwrap();
//! assert!(trainer.executor_counts().circuits > 0);
//! ```

#![warn(missing_docs)]

pub mod checkpoint;
pub mod cost;
pub mod data;
pub mod metrics;
pub mod validation;
/// The execution layer this crate trains through (re-exported from `bfly_exec`).
pub use bfly_exec as executor;
pub mod gradient;
pub mod inference;
pub mod loss;
pub mod model;
pub mod noise_floor;
pub mod optimizer;
pub mod schedule;
pub mod step;
pub mod teacher;
pub mod trainer;

pub use checkpoint::{Checkpoint, RngState};
pub use cost::{gradient_cost_table, CostRow, CostTable};
pub use executor::{
    executor_for, CircuitRun, Counted, ExecutionCounts, Executor, Histogram, MpsExecutor,
    RunResult, ShotPlan, StateVectorExecutor, UnaryExecutor,
};
pub use gradient::{
    ExactAdjoint, GradientCost, GradientEstimator, GradientMethod, ParallelShift, QuantumGradient,
    QuantumProblem, ShiftRule,
};
pub use loss::Task;
pub use model::{Dense, HybridModel, ModelSpec, PreInit, Scaling};
pub use optimizer::{Optimizer, OptimizerState};
pub use schedule::{ClassicalTraining, Phase, Schedule};
pub use trainer::{
    Counters, EpochRecord, RunControl, RunOutcome, TrainConfig, TrainEvent, TrainReport,
    TrainState, Trainer,
};
pub use validation::{validate_model, InputResult, ModelValidation};
