//! The hybrid quantum imputer: one target column is imputed by a regression
//! [`HybridModel`] (dense pre-layer → unary loader on `n` qubits → Butterfly → marginals →
//! dense head), every other column by MICE.
//!
//! 1. MICE completes the matrix (its values for the target column are then discarded).
//! 2. The model learns `target ~ all other (MICE-completed) columns` on the rows where the
//!    target is present, layer by layer with the crate's [`Trainer`]: stage `s` appends
//!    Butterfly layer `s` and trains it (the trailing layer) with the head and pre-layer.
//! 3. Its predictions fill the target's missing cells.
//!
//! By default everything runs in exact simulation (unary path, exact adjoint gradients).
//! A [`FinalLayer`] moves the **last** stage onto any [`Executor`] (a noisy simulator, an
//! emulator, hardware) with a shift-rule gradient and shots: stages `1..L-1` are trained
//! exactly, then training continues from that model with the last layer's circuits run on
//! the executor; optionally the final predictions are measured there too.
//!
//! ```
//! use bfly_studies::impute::{HybridImputer, Imputer, Incomplete};
//! use ndarray::Array2;
//! // c = a + b with a quarter of c hidden; the 8-qubit hybrid learns it from a and b.
//! let v = Array2::from_shape_fn((300, 3), |(r, j)| {
//!     let (a, b) = ((r % 13) as f64 / 6.0 - 1.0, (r % 7) as f64 / 3.0 - 1.0);
//!     match j { 0 => a, 1 => b, _ if r % 4 == 0 => f64::NAN, _ => a + b }
//! });
//! let data = Incomplete::new(vec!["a".into(), "b".into(), "c".into()], v).unwrap();
//! let mut hybrid = HybridImputer::new("c", 8);
//! hybrid.config.epochs_per_stage = 15;
//! let out = hybrid.impute(&data, 3).unwrap();
//! let rmse = ((0..300).step_by(4).map(|r| (out[[r, 2]] - out[[r, 0]] - out[[r, 1]]).powi(2)).sum::<f64>() / 75.0).sqrt();
//! assert!(rmse < 0.25, "rmse {rmse}"); // the column's standard deviation is ≈ 0.9
//! ```

use std::sync::Arc;

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use super::{Imputer, Incomplete, Mice};
use bfly_core::error::{Error, Result};
use bfly_exec::{derive_seed, CircuitRun, RunResult, ShotPlan};
use bfly_train::data::Dataset;
use bfly_train::{
    Executor, GradientMethod, HybridModel, Optimizer, RunControl, Task, TrainConfig, Trainer,
};

/// Size and training of the hybrid model.
#[derive(Clone, Debug, PartialEq)]
pub struct HybridConfig {
    /// Qubits `n` (a power of two).
    pub qubits: usize,
    /// Butterfly layers (`None`: the full `log₂ n`).
    pub layers: Option<usize>,
    /// Most epochs per layer-wise stage (early stopping on a validation split may end
    /// a stage sooner).
    pub epochs_per_stage: usize,
    /// Epochs of exact fine-tuning of all parameters at the end (exact runs only).
    pub finetune_epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Fraction of the training rows held out for early stopping.
    pub validation_fraction: f64,
    /// Epochs without validation improvement before a stage ends.
    pub patience: Option<usize>,
    /// Train on at most this many rows (seeded subsample; `None`: all observed rows).
    pub max_train_rows: Option<usize>,
}

impl HybridConfig {
    /// Defaults for `qubits`: full Butterfly, ≤ 10 epochs per stage, 5 fine-tuning epochs,
    /// batch 32, Adam(0.01), 10 % validation, patience 3.
    pub fn new(qubits: usize) -> Self {
        HybridConfig {
            qubits,
            layers: None,
            epochs_per_stage: 10,
            finetune_epochs: 5,
            batch_size: 32,
            learning_rate: 0.01,
            validation_fraction: 0.1,
            patience: Some(3),
            max_train_rows: None,
        }
    }

    /// Butterfly layers used.
    pub fn n_layers(&self) -> usize {
        self.layers
            .unwrap_or_else(|| self.qubits.max(2).ilog2() as usize)
    }
}

/// Train the last Butterfly layer (and optionally predict) on a given executor.
#[derive(Clone)]
pub struct FinalLayer {
    /// Where the last stage's circuits run.
    pub executor: Arc<dyn Executor>,
    /// Gradient of the last layer: [`GradientMethod::ParallelShift`] (4 circuits per
    /// sample) or [`GradientMethod::Shift`].
    pub gradient: GradientMethod,
    /// Shots per circuit (`None`: exact expectations from the executor).
    pub shots: Option<usize>,
    /// Most epochs of the last stage.
    pub epochs: usize,
    /// Also measure the final predictions on the executor (else exact simulation).
    pub predict_on_executor: bool,
    /// Train the last stage on at most this many of the exact stages' rows (a seeded
    /// subsample, drawn before its validation split; `None`: the same rows). The model
    /// keeps the input and target scaling fitted by the exact stages.
    pub train_rows: Option<usize>,
}

impl std::fmt::Debug for FinalLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinalLayer")
            .field("executor", &self.executor.name())
            .field("gradient", &self.gradient)
            .field("shots", &self.shots)
            .field("epochs", &self.epochs)
            .field("predict_on_executor", &self.predict_on_executor)
            .field("train_rows", &self.train_rows)
            .finish()
    }
}

/// An [`Executor`] shared behind an `Arc`, so one executor serves several trainings.
struct SharedExecutor(Arc<dyn Executor>);

impl Executor for SharedExecutor {
    fn name(&self) -> String {
        self.0.name()
    }
    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        self.0.execute(batch, plan)
    }
}

/// Hybrid quantum imputation of one column, MICE for the rest (see the module docs).
#[derive(Clone, Debug)]
pub struct HybridImputer {
    /// The column the hybrid model imputes.
    pub target: String,
    /// Model size and training.
    pub config: HybridConfig,
    /// The classical imputer of every other column (and the model's inputs).
    pub base: Mice,
    /// Run the last stage on an executor (`None`: all exact, in simulation).
    pub final_layer: Option<FinalLayer>,
    /// Name in reports (`None`: "hybrid {n}q").
    pub label: Option<String>,
}

impl HybridImputer {
    /// Exact hybrid on `qubits` qubits for column `target`, default settings.
    pub fn new(target: &str, qubits: usize) -> Self {
        HybridImputer {
            target: target.to_string(),
            config: HybridConfig::new(qubits),
            base: Mice::default(),
            final_layer: None,
            label: None,
        }
    }

    fn train_config(&self, layers: usize, seed: u64) -> TrainConfig {
        let c = &self.config;
        let mut t = TrainConfig::new(c.qubits, layers, Task::Regression);
        t.batch_size = c.batch_size;
        t.optimizer = Optimizer::adam(c.learning_rate);
        t.validation_fraction = c.validation_fraction;
        t.patience = c.patience;
        t.schedule.epochs_per_stage = c.epochs_per_stage;
        t.schedule.finetune_epochs = c.finetune_epochs;
        t.seed = seed;
        t
    }

    /// The training set: target ~ other columns of `base` on the rows where the target
    /// is present in `data` (seeded subsample if `max_train_rows` is set).
    fn dataset(
        &self,
        data: &Incomplete,
        base: &Array2<f64>,
        seed: u64,
    ) -> Result<(usize, Dataset)> {
        let t = data.column_index(&self.target)?;
        if data.n_cols() < 2 {
            return Err(Error::Imputation(
                "the hybrid imputer needs at least one column besides its target".into(),
            ));
        }
        let others: Vec<usize> = (0..data.n_cols()).filter(|&j| j != t).collect();
        let mut rows = data.observed_rows(t);
        if let Some(max) = self.config.max_train_rows {
            if rows.len() > max {
                let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
                    derive_seed(seed, 0x5ab5, 0),
                );
                bfly_train::data::dataset::shuffle(&mut rows, &mut rng);
                rows.truncate(max);
                rows.sort_unstable();
            }
        }
        if rows.len() < 10 {
            return Err(Error::Imputation(format!(
                "column \"{}\" has {} present values; the hybrid model needs at least 10 to learn from",
                self.target,
                rows.len()
            )));
        }
        let features = rows
            .iter()
            .map(|&r| others.iter().map(|&j| base[[r, j]]).collect())
            .collect();
        let targets = rows.iter().map(|&r| vec![data.values[[r, t]]]).collect();
        let names = others.iter().map(|&j| data.names[j].clone()).collect();
        Ok((
            t,
            Dataset::new(names, vec![self.target.clone()], features, targets)?,
        ))
    }

    /// Train the hybrid model on `base` (a completion of `data`, normally MICE's).
    pub fn train_model(
        &self,
        data: &Incomplete,
        base: &Array2<f64>,
        seed: u64,
    ) -> Result<HybridModel> {
        let (_, dataset) = self.dataset(data, base, seed)?;
        let layers = self.config.n_layers();
        let run = RunControl::default();
        let Some(fl) = &self.final_layer else {
            let mut trainer = Trainer::new(self.train_config(layers, seed), &dataset)?;
            trainer.run(&run, &mut |_| {})?;
            return Ok(trainer.model().clone());
        };
        if fl.gradient == GradientMethod::Exact {
            return Err(Error::Imputation(
                "the final layer on an executor needs a shift-rule gradient (parallel-shift or shift); exact gradients never run circuits".into(),
            ));
        }
        // The last stage on the executor: same split and seed, so the same scaling.
        let mut last = self.train_config(layers, seed);
        last.gradient = fl.gradient;
        last.shots = fl.shots;
        last.schedule.epochs_per_stage = fl.epochs;
        last.schedule.finetune_epochs = 0;
        let shared = || Box::new(SharedExecutor(fl.executor.clone())) as Box<dyn Executor>;
        let last_data = match fl.train_rows {
            Some(0) => {
                return Err(Error::Imputation(
                    "the final layer needs at least one training row (train_rows = 0)".into(),
                ))
            }
            Some(m) if m < dataset.len() => {
                let mut rows: Vec<usize> = (0..dataset.len()).collect();
                let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
                    derive_seed(seed, 0xf1a1, 0),
                );
                bfly_train::data::dataset::shuffle(&mut rows, &mut rng);
                rows.truncate(m);
                rows.sort_unstable();
                dataset.subset(&rows)
            }
            _ => dataset.clone(),
        };
        let mut trainer = Trainer::with_executor(last.clone(), &last_data, shared())?;
        if layers > 1 {
            // Stages 1..L-1 exactly, in simulation.
            let mut first = self.train_config(layers - 1, seed);
            first.schedule.finetune_epochs = 0;
            let mut exact = Trainer::new(first, &dataset)?;
            exact.run(&run, &mut |_| {})?;
            // Continue from that model at stage L: a resume state whose model is the
            // exactly trained one and whose next phase is the last stage.
            let mut state = trainer.checkpoint();
            state.state.model = exact.model().clone();
            state.state.phase_index = layers - 1;
            state.state.phase_ready = false;
            trainer = Trainer::resume_with_executor(last, &last_data, &state, shared())?;
        }
        trainer.run(&run, &mut |_| {})?;
        Ok(trainer.model().clone())
    }

    /// Impute the target column with the hybrid model, starting from `base` (a completion
    /// of `data`, normally MICE's, whose other columns are kept).
    pub fn complete(
        &self,
        data: &Incomplete,
        base: &Array2<f64>,
        seed: u64,
    ) -> Result<Array2<f64>> {
        data.check_completed(base, "the base imputer")?;
        let model = self.train_model(data, base, seed)?;
        let t = data.column_index(&self.target)?;
        let missing = data.missing_rows(t);
        let others: Vec<usize> = (0..data.n_cols()).filter(|&j| j != t).collect();
        let xs: Vec<Vec<f64>> = missing
            .iter()
            .map(|&r| {
                base.index_axis(Axis(0), r)
                    .select(Axis(0), &others)
                    .to_vec()
            })
            .collect();
        let preds: Vec<f64> = match &self.final_layer {
            Some(fl) if fl.predict_on_executor => {
                let plan = ShotPlan::new(fl.shots, derive_seed(seed, 0x9e1d, 0), u64::MAX);
                model
                    .predict_with(fl.executor.as_ref(), &xs, &plan)?
                    .into_iter()
                    .map(|v| v[0])
                    .collect()
            }
            _ => xs
                .par_iter()
                .map(|x| model.predict(x).map(|v| v[0]))
                .collect::<Result<Vec<_>>>()?,
        };
        let observed = data.observed_rows(t);
        let (lo, hi) = observed
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                (lo.min(data.values[[r, t]]), hi.max(data.values[[r, t]]))
            });
        let mut out = base.clone();
        for (&r, v) in missing.iter().zip(preds) {
            if !v.is_finite() {
                return Err(Error::Imputation(format!(
                    "the hybrid model predicted {v} for row {r}"
                )));
            }
            out[[r, t]] = v.clamp(lo, hi);
        }
        Ok(out)
    }
}

impl Imputer for HybridImputer {
    fn name(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("hybrid {}q", self.config.qubits))
    }

    fn impute(&self, data: &Incomplete, seed: u64) -> Result<Array2<f64>> {
        let base = self.base.impute(data, seed)?;
        self.complete(data, &base, seed)
    }
}
