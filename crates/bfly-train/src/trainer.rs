//! The training loop: phases of the layer-wise [`Schedule`], mini-batches with seeded
//! shuffling, an [`Optimizer`], early stopping on a validation split, a checkpoint after
//! every epoch, and resume that ends bit-identical to an uninterrupted run.
//!
//! ```
//! use bfly_train::{teacher, GradientMethod, RunControl, TrainConfig, Trainer, Task};
//! let (_, data) = teacher::teacher_dataset(&teacher::TeacherSpec::new(8, 2, 64, 1)).unwrap();
//! let mut config = TrainConfig::new(8, 3, Task::Regression);
//! config.gradient = GradientMethod::ParallelShift;
//! config.shots = Some(500);
//! config.schedule.epochs_per_stage = 2;
//! let mut trainer = Trainer::new(config, &data).unwrap();
//! trainer.run(&RunControl::default(), &mut |_| {}).unwrap();
//! let report = trainer.report();
//! assert_eq!(report.epochs, 6); // 3 stages × 2 epochs
//! assert_eq!(trainer.model().layers, 3);
//! assert!(report.counters.gradient_circuits > 0);
//! ```

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

use super::checkpoint::{Checkpoint, RngState, CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION};
use super::executor::{Counted, ExecutionCounts, Executor};
use super::gradient::GradientMethod;
use super::loss::Task;
use super::model::{uniform_vec, HybridModel, ModelSpec, PreInit, Scaling};
use super::optimizer::{Optimizer, OptimizerState};
use super::schedule::{Phase, Schedule};
use super::step::{batch_gradient, exact_loss, measured_loss, Seeds};
use crate::data::dataset::shuffle;
use crate::data::Dataset;
use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering};
use bfly_core::error::{Error, Result};
use bfly_sim::Engine;

/// Everything that defines a training run (a resume must use the same values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Qubits `n` (power of two).
    pub qubits: usize,
    /// Butterfly layers at the end of training, `1..=log₂ n`.
    pub layers: usize,
    /// Stride order.
    pub ordering: LayerOrdering,
    /// Unary loader.
    pub loader: Loader,
    /// Regression (MSE) or classification (BCE).
    pub task: Task,
    /// Quantum gradient method for the stages.
    pub gradient: GradientMethod,
    /// Where circuits run (shift methods).
    pub backend: Engine,
    /// Shots per circuit for the shift methods (`None`: exact expectations).
    pub shots: Option<usize>,
    /// Update rule.
    pub optimizer: Optimizer,
    /// Learning rate multiplied by `lr_decay^e` in epoch `e` of each phase.
    pub lr_decay: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Phases and their lengths.
    pub schedule: Schedule,
    /// Fraction of rows held out for validation (seeded split); 0 = none.
    pub validation_fraction: f64,
    /// Stop a phase after this many epochs without improvement (`None`: never).
    pub patience: Option<usize>,
    /// Improvement smaller than this does not count.
    pub min_delta: f64,
    /// Standardise features (and regression targets) with training-split statistics.
    pub standardize: bool,
    /// Pre-layer initialisation.
    pub pre_init: PreInit,
    /// New Butterfly angles uniform in `[-s, s]`.
    pub quantum_init_scale: f64,
    /// Head weights uniform in `[-s, s]`.
    pub head_init_scale: f64,
    /// Seed of everything random (initialisation, split, shuffling, shots).
    pub seed: u64,
}

impl TrainConfig {
    /// Defaults: coupling-first, unary tree loader, exact gradients, unary backend,
    /// Adam(0.01), batch 32, layer-wise with 20 epochs per stage, 20 % validation,
    /// standardised inputs, seed 0.
    pub fn new(qubits: usize, layers: usize, task: Task) -> Self {
        TrainConfig {
            qubits,
            layers,
            ordering: LayerOrdering::CouplingFirst,
            loader: Loader::UnaryTree,
            task,
            gradient: GradientMethod::Exact,
            backend: Engine::Unary,
            shots: None,
            optimizer: Optimizer::adam(0.01),
            lr_decay: 1.0,
            batch_size: 32,
            schedule: Schedule::default(),
            validation_fraction: 0.2,
            patience: None,
            min_delta: 0.0,
            standardize: true,
            pre_init: PreInit::Random,
            quantum_init_scale: 0.1,
            head_init_scale: 0.1,
            seed: 0,
        }
    }

    /// Check that the settings can work together; errors say what to change.
    pub fn validate(&self) -> Result<()> {
        Butterfly::new(self.qubits, self.layers, self.ordering)?;
        if self.loader.hamming_weight() != Some(1) {
            return Err(Error::Training(format!(
                "the hybrid model needs a unary loader (unary or unary-diagonal), got {}",
                self.loader
            )));
        }
        if self.batch_size == 0 {
            return Err(Error::Training("batch size must be at least 1".into()));
        }
        if self.shots == Some(0) {
            return Err(Error::Training(
                "shots must be at least 1 (omit it for exact expectations)".into(),
            ));
        }
        if self.gradient == GradientMethod::Exact && self.shots.is_some() {
            return Err(Error::Training(
                "exact gradients are computed in simulation and take no shots; use the shift or parallel-shift gradient to train with shots".into(),
            ));
        }
        if self.gradient == GradientMethod::Exact && self.backend != Engine::Unary {
            return Err(Error::Training(format!(
                "exact gradients always use the unary adjoint; the {} backend applies to the shift methods (use the unary backend or a shift method)",
                self.backend
            )));
        }
        if let Some(first) = self.schedule.configured_method_from_stage {
            if !self.schedule.layerwise || first == 0 || first > self.layers {
                return Err(Error::Training(format!(
                    "the first stage on the executor must be one of the layer-wise stages 1..={} (got {first}{})",
                    self.layers,
                    if self.schedule.layerwise { "" } else { " with joint training" }
                )));
            }
        }
        if self.gradient == GradientMethod::ParallelShift
            && !self.schedule.layerwise
            && self.layers > 1
            && self.schedule.epochs_per_stage > 0
        {
            return Err(Error::ParallelShiftNotTrailing {
                layer: 0,
                layers: self.layers,
                following: self.layers - 1,
            });
        }
        if self.schedule.layerwise
            && self.schedule.epochs_per_stage == 0
            && self.schedule.finetune_epochs == 0
            && self.layers > 1
        {
            // The layer-wise stages are what add layers 2..=L: without them the model
            // would keep 1 of the requested layers.
            return Err(Error::Training(format!(
                "0 epochs per layer-wise stage would add none of layers 2..={} and write a 1-layer model; \
                 give at least 1 epoch per stage, or fine-tune epochs (which train all {} layers), \
                 or use joint training with 0 epochs for the untrained initial model of all layers",
                self.layers, self.layers
            )));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(Error::Training(format!(
                "validation fraction must be in [0, 1), got {}",
                self.validation_fraction
            )));
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return Err(Error::Training(format!(
                "lr_decay must be in (0, 1], got {}",
                self.lr_decay
            )));
        }
        if !(self.min_delta >= 0.0 && self.min_delta.is_finite()) {
            return Err(Error::Training(format!(
                "min_delta must be a finite number ≥ 0, got {}",
                self.min_delta
            )));
        }
        if self.patience == Some(0) {
            return Err(Error::Training(
                "patience must be at least 1 epoch (omit it to disable early stopping)".into(),
            ));
        }
        if let Engine::Mps { chi, cutoff } = self.backend {
            bfly_sim::mps::Truncation::new(chi, cutoff)?;
        }
        self.optimizer.validate()
    }

    fn model_spec(&self, data: &Dataset) -> ModelSpec {
        ModelSpec {
            features: data.n_features(),
            outputs: data.n_targets(),
            qubits: self.qubits,
            layers: self.schedule.initial_layers(self.layers),
            ordering: self.ordering,
            loader: self.loader,
            task: self.task,
            pre_init: self.pre_init,
            quantum_init_scale: self.quantum_init_scale,
            head_init_scale: self.head_init_scale,
        }
    }
}

/// Measured costs so far (restored from checkpoints, so they cover the whole run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Circuits the executor ran (forward, gradient and validation).
    pub circuits: u64,
    /// Shots over all of them.
    pub shots: u64,
    /// Circuits the quantum-gradient estimators submitted.
    pub gradient_circuits: u64,
    /// Shots of those.
    pub gradient_shots: u64,
    /// Exact (simulation-only) per-sample passes.
    pub simulations: u64,
}

/// Best validation loss of the current phase and the parameters that reached it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// The loss early stopping watches.
    pub loss: f64,
    /// Global epoch number where it was reached.
    pub epoch: usize,
    /// All parameters at that point.
    pub params: Vec<f64>,
}

/// One epoch's numbers (also the `--log-json` line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Global epoch, 1-based.
    pub epoch: usize,
    /// The phase.
    pub phase: Phase,
    /// Butterfly layers in the model.
    pub layers: usize,
    /// Epoch within the phase, 1-based.
    pub phase_epoch: usize,
    /// Method used for the quantum layers in this phase.
    pub method: GradientMethod,
    /// Learning rate used.
    pub lr: f64,
    /// Mean mini-batch loss (as the estimator saw it: with shots if any).
    pub train_loss: f64,
    /// Validation loss at the end of the epoch, as measured (with shots if any).
    pub val_loss: Option<f64>,
    /// Training loss at the end of the epoch, exact (simulation).
    pub train_loss_exact: f64,
    /// Validation loss at the end of the epoch, exact (simulation).
    pub val_loss_exact: Option<f64>,
    /// Cumulative counters after this epoch.
    pub counters: Counters,
    /// The epoch improved the phase's best.
    pub improved: bool,
    /// The phase ends after this epoch (last epoch or early stop).
    pub phase_done: bool,
}

/// Where a run is, saved in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// The model being trained.
    pub model: HybridModel,
    /// Index into the schedule's phases.
    pub phase_index: usize,
    /// The current phase has been set up (layer appended, optimiser reset).
    pub phase_ready: bool,
    /// Epochs done in the current phase.
    pub phase_epoch: usize,
    /// The current phase is over (its best parameters still to be restored).
    pub phase_done: bool,
    /// Epochs done in total.
    pub epoch: usize,
    /// Optimiser moments of the current phase.
    pub optimizer: OptimizerState,
    /// The training RNG (initialisation of new layers, shuffling).
    pub rng: RngState,
    /// Best of the current phase.
    pub best: Option<Best>,
    /// Epochs since the last improvement.
    pub stale_epochs: usize,
    /// Shot-seed request counter.
    pub seeds: Seeds,
    /// Costs so far.
    pub counters: Counters,
    /// Every epoch so far.
    pub history: Vec<EpochRecord>,
    /// All phases are done.
    pub finished: bool,
}

/// Stop conditions and the checkpoint file for [`Trainer::run`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunControl {
    /// Write a checkpoint here after every epoch.
    pub checkpoint: Option<PathBuf>,
    /// Return once this many epochs (in total) are done, as if killed after the checkpoint.
    pub stop_after_epochs: Option<usize>,
}

/// How [`Trainer::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// Every phase is done.
    Finished,
    /// Stopped by [`RunControl::stop_after_epochs`].
    Stopped,
}

/// What the trainer tells its observer (progress bars, logs).
#[derive(Clone, Debug)]
pub enum TrainEvent<'a> {
    /// A phase starts.
    PhaseStart {
        /// The phase.
        phase: Phase,
        /// Butterfly layers.
        layers: usize,
        /// Quantum gradient method.
        method: GradientMethod,
    },
    /// A mini-batch was applied.
    Batch {
        /// The phase.
        phase: Phase,
        /// Global epoch being run (1-based).
        epoch: usize,
        /// Batch index within the epoch (1-based).
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Its loss.
        loss: f64,
        /// Circuits run so far.
        circuits: u64,
    },
    /// An epoch finished (after its checkpoint was written).
    Epoch(&'a EpochRecord),
}

/// Trains a [`HybridModel`] on a dataset according to a [`TrainConfig`].
pub struct Trainer {
    config: TrainConfig,
    train: Dataset,
    val: Dataset,
    fingerprint: u64,
    executor: Counted<Box<dyn Executor>>,
    phases: Vec<Phase>,
    state: TrainState,
}

/// Seed-stream tags, so the split, initialisation and shots never share a stream.
const SPLIT_TAG: u64 = 0x5b11_7000;

impl Trainer {
    /// A new run on `data` with the executor named by `config.backend`.
    pub fn new(config: TrainConfig, data: &Dataset) -> Result<Self> {
        let executor = bfly_exec::executor_for(&config.backend)?;
        Self::with_executor(config, data, executor)
    }

    /// A new run with a caller-supplied executor (noisy simulators, hardware clients).
    pub fn with_executor(
        config: TrainConfig,
        data: &Dataset,
        executor: Box<dyn Executor>,
    ) -> Result<Self> {
        config.validate()?;
        let (train, val) = Self::split(&config, data)?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut model = HybridModel::with_rng(&config.model_spec(data), &mut rng)?;
        model.feature_names = data.feature_names.clone();
        model.target_names = data.target_names.clone();
        if config.standardize {
            model.input_scaling = Scaling::fit(&train.features, data.n_features());
            if config.task == Task::Regression {
                model.target_scaling = Scaling::fit(&train.targets, data.n_targets());
            }
        }
        let state = TrainState {
            model,
            phase_index: 0,
            phase_ready: false,
            phase_epoch: 0,
            phase_done: false,
            epoch: 0,
            optimizer: OptimizerState::new(0),
            rng: RngState::capture(&rng),
            best: None,
            stale_epochs: 0,
            seeds: Seeds::new(config.shots, config.seed),
            counters: Counters::default(),
            history: Vec::new(),
            finished: false,
        };
        Ok(Trainer {
            phases: config.schedule.phases(config.layers),
            fingerprint: data.fingerprint(),
            config,
            train,
            val,
            executor: Counted::new(executor),
            state,
        })
    }

    /// Continue the run saved in `checkpoint`; `config` and `data` must be the ones it
    /// was started with (differences are named in the error).
    pub fn resume(config: TrainConfig, data: &Dataset, checkpoint: &Checkpoint) -> Result<Self> {
        let executor = bfly_exec::executor_for(&config.backend)?;
        Self::resume_with_executor(config, data, checkpoint, executor)
    }

    /// [`Trainer::resume`] with a caller-supplied executor.
    pub fn resume_with_executor(
        config: TrainConfig,
        data: &Dataset,
        checkpoint: &Checkpoint,
        executor: Box<dyn Executor>,
    ) -> Result<Self> {
        config.validate()?;
        if checkpoint.config != config {
            let saved = serde_json::to_value(&checkpoint.config).expect("config serialises");
            let now = serde_json::to_value(&config).expect("config serialises");
            let differing: Vec<String> = match (saved, now) {
                (serde_json::Value::Object(a), serde_json::Value::Object(b)) => a
                    .iter()
                    .filter(|(k, v)| b.get(*k) != Some(*v))
                    .map(|(k, v)| format!("{k} (checkpoint: {v}, now: {})", b[k]))
                    .collect(),
                _ => vec![],
            };
            return Err(Error::Training(format!(
                "the checkpoint was written with other settings; resume with the same ones. Differing: {}",
                differing.join("; ")
            )));
        }
        if checkpoint.data_fingerprint != data.fingerprint() {
            return Err(Error::Training(
                "the checkpoint was trained on different data (fingerprint mismatch); resume with the same file, columns and rows".into(),
            ));
        }
        let (train, val) = Self::split(&config, data)?;
        Ok(Trainer {
            phases: config.schedule.phases(config.layers),
            fingerprint: checkpoint.data_fingerprint,
            config,
            train,
            val,
            executor: Counted::new(executor),
            state: checkpoint.state.clone(),
        })
    }

    fn split(config: &TrainConfig, data: &Dataset) -> Result<(Dataset, Dataset)> {
        config.task.check_targets(&data.targets)?;
        let (train, val) = data.split(config.validation_fraction, config.seed ^ SPLIT_TAG)?;
        if train.is_empty() {
            return Err(Error::Training(format!(
                "no training rows ({} rows in total, {} held out for validation)",
                data.len(),
                val.len()
            )));
        }
        Ok((train, val))
    }

    /// The model as it is now.
    pub fn model(&self) -> &HybridModel {
        &self.state.model
    }

    /// The full state (what a checkpoint holds).
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// The settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Every epoch so far.
    pub fn history(&self) -> &[EpochRecord] {
        &self.state.history
    }

    /// The training split.
    pub fn train_data(&self) -> &Dataset {
        &self.train
    }

    /// The validation split.
    pub fn validation_data(&self) -> &Dataset {
        &self.val
    }

    /// The phases of this run.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// Circuits and shots the executor ran in this process (not restored on resume;
    /// [`TrainState::counters`] covers the whole run).
    pub fn executor_counts(&self) -> ExecutionCounts {
        self.executor.counts()
    }

    /// The state as a checkpoint.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            format_version: CHECKPOINT_FORMAT_VERSION,
            config: self.config.clone(),
            data_fingerprint: self.fingerprint,
            state: self.state.clone(),
        }
    }

    /// Train until every phase is done (or `control` says stop), checkpointing after
    /// each epoch. `observer` sees phase starts, batches and epochs.
    pub fn run(
        &mut self,
        control: &RunControl,
        observer: &mut dyn FnMut(&TrainEvent<'_>),
    ) -> Result<RunOutcome> {
        loop {
            if self.state.finished {
                return Ok(RunOutcome::Finished);
            }
            if self.state.phase_index >= self.phases.len() {
                self.state.finished = true;
                if let Some(path) = &control.checkpoint {
                    self.checkpoint().save(path)?;
                }
                continue;
            }
            if !self.state.phase_ready {
                self.start_phase(observer)?;
                continue;
            }
            if self.state.phase_done {
                self.end_phase()?;
                continue;
            }
            if control
                .stop_after_epochs
                .is_some_and(|k| self.state.epoch >= k)
            {
                return Ok(RunOutcome::Stopped);
            }
            let record = self.run_epoch(observer)?;
            if !record.train_loss.is_finite() {
                return Err(Error::Training(format!(
                    "diverged: the training loss is {} after epoch {} ({}); \
                     nothing was saved for this epoch (an earlier checkpoint stays as it was). \
                     Standardise features and targets (drop --no-standardize / keep \
                     standardize on) or lower the learning rate",
                    record.train_loss, record.epoch, record.phase
                )));
            }
            self.state.history.push(record);
            if let Some(path) = &control.checkpoint {
                self.checkpoint().save(path)?;
            }
            observer(&TrainEvent::Epoch(
                self.state.history.last().expect("just pushed"),
            ));
        }
    }

    fn current_phase(&self) -> Phase {
        self.phases[self.state.phase_index]
    }

    fn start_phase(&mut self, observer: &mut dyn FnMut(&TrainEvent<'_>)) -> Result<()> {
        let phase = self.current_phase();
        let target = match phase {
            Phase::Stage(s) => s,
            Phase::Joint | Phase::Finetune => self.config.layers,
            Phase::Pretrain => self.state.model.layers,
        };
        if self.state.model.layers < target {
            let mut rng = self.state.rng.restore();
            while self.state.model.layers < target {
                let angles = uniform_vec(
                    &mut rng,
                    self.config.qubits / 2,
                    self.config.quantum_init_scale,
                );
                self.state.model.append_layer(&angles)?;
            }
            self.state.rng = RngState::capture(&rng);
        }
        let (selection, method) =
            self.config
                .schedule
                .plan(phase, self.state.model.layers, self.config.gradient);
        let n = selection.indices(&self.state.model.layout()).len();
        self.state.optimizer = OptimizerState::new(n);
        self.state.best = None;
        self.state.stale_epochs = 0;
        self.state.phase_epoch = 0;
        self.state.phase_done = false;
        self.state.phase_ready = true;
        observer(&TrainEvent::PhaseStart {
            phase,
            layers: self.state.model.layers,
            method,
        });
        Ok(())
    }

    fn end_phase(&mut self) -> Result<()> {
        if let Some(best) = self.state.best.take() {
            self.state.model.set_params(&best.params)?;
        }
        self.state.phase_index += 1;
        self.state.phase_ready = false;
        self.state.phase_done = false;
        Ok(())
    }

    fn run_epoch(&mut self, observer: &mut dyn FnMut(&TrainEvent<'_>)) -> Result<EpochRecord> {
        let phase = self.current_phase();
        let (selection, method) =
            self.config
                .schedule
                .plan(phase, self.state.model.layers, self.config.gradient);
        let uses_executor = method.uses_executor() && !selection.layers.is_empty();
        let layout = self.state.model.layout();
        let indices = selection.indices(&layout);
        let lr_scale = self.config.lr_decay.powi(self.state.phase_epoch as i32);
        let before = self.executor.counts();

        let mut rng = self.state.rng.restore();
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        shuffle(&mut order, &mut rng);
        self.state.rng = RngState::capture(&rng);

        let batches = order.len().div_ceil(self.config.batch_size);
        let mut loss_sum = 0.0;
        for (b, batch) in order.chunks(self.config.batch_size).enumerate() {
            let g = batch_gradient(
                &self.state.model,
                &self.train,
                batch,
                &selection,
                method,
                &self.executor,
                &mut self.state.seeds,
            )?;
            let mut params = self.state.model.params();
            let mut p: Vec<f64> = indices.iter().map(|&i| params[i]).collect();
            let gsel: Vec<f64> = indices.iter().map(|&i| g.grad[i]).collect();
            self.config.optimizer.step_scaled(
                &mut self.state.optimizer,
                &mut p,
                &gsel,
                lr_scale,
            )?;
            for (&i, v) in indices.iter().zip(p) {
                params[i] = v;
            }
            self.state.model.set_params(&params)?;
            loss_sum += g.loss * batch.len() as f64;
            self.state.counters.gradient_circuits += g.gradient_cost.circuits;
            self.state.counters.gradient_shots += g.gradient_cost.shots;
            self.state.counters.simulations += g.cost.simulations;
            observer(&TrainEvent::Batch {
                phase,
                epoch: self.state.epoch + 1,
                batch: b + 1,
                batches,
                loss: g.loss,
                circuits: self.state.counters.circuits
                    + (self.executor.counts().circuits - before.circuits),
            });
        }
        let train_loss = loss_sum / self.train.len() as f64;

        let val_rows: Vec<usize> = (0..self.val.len()).collect();
        let train_rows: Vec<usize> = (0..self.train.len()).collect();
        let model = &self.state.model;
        let val_loss_exact = if self.val.is_empty() {
            None
        } else {
            Some(exact_loss(model, &self.val, &val_rows)?)
        };
        let train_loss_exact = exact_loss(model, &self.train, &train_rows)?;
        let val_loss = if self.val.is_empty() {
            None
        } else if uses_executor {
            let plan = self.state.seeds.next_plan();
            Some(measured_loss(model, &self.val, &val_rows, &self.executor, &plan)?.0)
        } else {
            val_loss_exact
        };
        let after = self.executor.counts();
        self.state.counters.circuits += after.circuits - before.circuits;
        self.state.counters.shots += after.shots - before.shots;

        // Early stopping watches the measured validation loss (training loss without one).
        let metric = val_loss.unwrap_or(train_loss);
        self.state.epoch += 1;
        self.state.phase_epoch += 1;
        let improved = self
            .state
            .best
            .as_ref()
            .is_none_or(|b| metric < b.loss - self.config.min_delta);
        if improved {
            self.state.best = Some(Best {
                loss: metric,
                epoch: self.state.epoch,
                params: self.state.model.params(),
            });
            self.state.stale_epochs = 0;
        } else {
            self.state.stale_epochs += 1;
        }
        self.state.phase_done = self.state.phase_epoch >= self.config.schedule.epochs(phase)
            || self
                .config
                .patience
                .is_some_and(|p| self.state.stale_epochs >= p);
        Ok(EpochRecord {
            epoch: self.state.epoch,
            phase,
            layers: self.state.model.layers,
            phase_epoch: self.state.phase_epoch,
            method,
            lr: self.config.optimizer.lr() * lr_scale,
            train_loss,
            val_loss,
            train_loss_exact,
            val_loss_exact,
            counters: self.state.counters,
            improved,
            phase_done: self.state.phase_done,
        })
    }

    /// A summary of the run so far.
    pub fn report(&self) -> TrainReport {
        let model = &self.state.model;
        let train_rows: Vec<usize> = (0..self.train.len()).collect();
        let val_rows: Vec<usize> = (0..self.val.len()).collect();
        let final_train_loss_exact = exact_loss(model, &self.train, &train_rows).ok();
        let final_val_loss_exact = if self.val.is_empty() {
            None
        } else {
            exact_loss(model, &self.val, &val_rows).ok()
        };
        let mut phases: Vec<PhaseSummary> = Vec::new();
        for r in &self.state.history {
            match phases.last_mut() {
                Some(p) if p.phase == r.phase => {
                    p.epochs += 1;
                    p.last_train_loss = r.train_loss;
                    p.last_val_loss = r.val_loss;
                }
                _ => phases.push(PhaseSummary {
                    phase: r.phase,
                    method: r.method,
                    layers: r.layers,
                    epochs: 1,
                    last_train_loss: r.train_loss,
                    last_val_loss: r.val_loss,
                }),
            }
        }
        TrainReport {
            qubits: self.config.qubits,
            layers: model.layers,
            task: self.config.task,
            gradient: self.config.gradient,
            backend: self.config.backend,
            shots: self.config.shots,
            train_rows: self.train.len(),
            validation_rows: self.val.len(),
            parameters: model.layout().len(),
            epochs: self.state.epoch,
            finished: self.state.finished,
            phases,
            final_train_loss_exact,
            final_val_loss_exact,
            counters: self.state.counters,
        }
    }
}

/// One phase in a [`TrainReport`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// The phase.
    pub phase: Phase,
    /// Quantum gradient method.
    pub method: GradientMethod,
    /// Butterfly layers.
    pub layers: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Training loss of its last epoch.
    pub last_train_loss: f64,
    /// Validation loss of its last epoch.
    pub last_val_loss: Option<f64>,
}

/// What a run did, as data (printed by the CLI).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Qubits.
    pub qubits: usize,
    /// Butterfly layers of the final model.
    pub layers: usize,
    /// Task.
    pub task: Task,
    /// Quantum gradient method.
    pub gradient: GradientMethod,
    /// Backend of the shift methods.
    pub backend: Engine,
    /// Shots per circuit.
    pub shots: Option<usize>,
    /// Training rows.
    pub train_rows: usize,
    /// Validation rows.
    pub validation_rows: usize,
    /// Parameters in the model.
    pub parameters: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Every phase is done.
    pub finished: bool,
    /// Per phase.
    pub phases: Vec<PhaseSummary>,
    /// Exact training loss of the final model.
    pub final_train_loss_exact: Option<f64>,
    /// Exact validation loss of the final model.
    pub final_val_loss_exact: Option<f64>,
    /// Measured costs.
    pub counters: Counters,
}

impl fmt::Display for TrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} on {} qubits, {} Butterfly layer(s), {} parameters; gradient {}, backend {}, shots {}",
            self.task,
            self.qubits,
            self.layers,
            self.parameters,
            self.gradient,
            self.backend,
            self.shots.map_or("exact".into(), |s| s.to_string())
        )?;
        writeln!(
            f,
            "rows: {} train, {} validation; {} epoch(s){}",
            self.train_rows,
            self.validation_rows,
            self.epochs,
            if self.finished { "" } else { " (not finished)" }
        )?;
        writeln!(
            f,
            "{:<10} {:<15} {:>6} {:>6} {:>14} {:>14}",
            "phase", "method", "layers", "epochs", "train loss", "val loss"
        )?;
        for p in &self.phases {
            writeln!(
                f,
                "{:<10} {:<15} {:>6} {:>6} {:>14.6e} {:>14}",
                p.phase.to_string(),
                p.method.to_string(),
                p.layers,
                p.epochs,
                p.last_train_loss,
                p.last_val_loss.map_or("-".into(), |v| format!("{v:.6e}"))
            )?;
        }
        let opt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.6e}"));
        writeln!(
            f,
            "final exact loss: train {}, validation {}",
            opt(self.final_train_loss_exact),
            opt(self.final_val_loss_exact)
        )?;
        write!(
            f,
            "circuit evaluations: {} ({} for gradients), shots: {} ({} for gradients), exact simulation passes: {}",
            self.counters.circuits,
            self.counters.gradient_circuits,
            self.counters.shots,
            self.counters.gradient_shots,
            self.counters.simulations
        )
    }
}
