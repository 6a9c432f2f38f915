//! The **hardware-faithful rows** of the clinical imputation study: the 16-qubit hybrid
//! imputer with its last Butterfly layer (and head) trained — and its predictions measured —
//! on different executors, next to the best classical method and the plain hybrids, as the
//! preprint compared its last layer trained on hardware with the ideal one.
//!
//! Every variant trains layers `1..L-1` exactly in simulation (the same as the plain
//! hybrid, without the final all-parameter fine-tuning), then the last stage with a
//! parallel-shift gradient on its executor:
//!
//! | variant | last stage runs on |
//! |---|---|
//! | [`HardwareVariant::Exact`] | the exact unary simulator, exact expectations (the ideal reference) |
//! | [`HardwareVariant::Shots`] | the exact unary simulator with `shots` per circuit (shot noise only) |
//! | [`HardwareVariant::Noisy`] | [`NoisyExecutor`](bfly_noise::NoisyExecutor): compiled to Forte natives, the noise model after every native gate, Monte-Carlo trajectories, `shots` |
//! | [`HardwareVariant::Emulator`] | [`IonqExecutor`](bfly_ionq::IonqExecutor): compiled to Forte natives → IonQ job JSON → HTTP → the in-process emulator ([`EmulatedIonq`](bfly_ionq::EmulatedIonq) on loopback) with its noisy runner → IonQ result JSON |
//!
//! Every row's executor is built from an [`ExecutorSpec`]
//! ([`HardwareConfig::executor_spec`]), the same builder as the command line's executors.
//!
//! Noisy evaluation is expensive (about 20 ms per 16-qubit circuit with 20 MPS
//! trajectories on this project's 2-core machine), so the last stage trains on a seeded
//! subsample of rows ([`HardwareConfig::train_rows`]) for few epochs; the subsample, the
//! seeds, trajectories and shots are stated in the report. Batches are run in chunks
//! ([`ChunkedExecutor`]) so long runs report progress; chunking does not change any
//! result (the shot seeds follow the circuit's index in the whole batch).
//!
//! ```no_run
//! use bfly_core::progress::NoProgress;
//! use bfly_studies::study::hardware::{run_hardware_rows, HardwareConfig};
//! use std::sync::Arc;
//! let mut config = HardwareConfig::default();
//! config.study.seeds = 3;
//! let report = run_hardware_rows(&config, Arc::new(NoProgress), &mut |_| {}).unwrap();
//! println!("{}", report.markdown());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::imputation::{run_study, ClassicalMethod, StudyConfig, StudyEvent, StudyReport};
use super::metrics::{mean_std, welch_t_test, WelchTest};
use crate::impute::{FinalLayer, HybridImputer};
use bfly_core::error::{Error, Result};
use bfly_core::progress::Progress;
use bfly_exec::{CircuitRun, Executor, RunResult, ShotPlan};
use bfly_ionq::compile::Target;
use bfly_ionq::executor_spec::{ExecutorKind, ExecutorSpec};
use bfly_noise::{NoiseModel, NoisyMethod};
use bfly_sim::Engine;
use bfly_train::GradientMethod;

/// Where the last layer of a hardware-faithful row is trained and measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HardwareVariant {
    /// Exact unary simulation, exact expectations: the ideal reference.
    Exact,
    /// Exact unary simulation sampled with the configured shots (shot noise only).
    Shots,
    /// The local noisy simulator on Forte-compiled circuits, with shots.
    Noisy,
    /// IonQ jobs over HTTP to the in-process emulator with its noise model, with shots.
    Emulator,
}

impl HardwareVariant {
    /// All four, in report order.
    pub const ALL: [HardwareVariant; 4] = [
        HardwareVariant::Exact,
        HardwareVariant::Shots,
        HardwareVariant::Noisy,
        HardwareVariant::Emulator,
    ];

    /// The option name (`exact`, `shots`, `noisy`, `emulator`).
    pub fn as_str(self) -> &'static str {
        match self {
            HardwareVariant::Exact => "exact",
            HardwareVariant::Shots => "shots",
            HardwareVariant::Noisy => "noisy",
            HardwareVariant::Emulator => "emulator",
        }
    }
}

impl fmt::Display for HardwareVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HardwareVariant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        HardwareVariant::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| {
                Error::HardwareRows(format!(
                    "unknown variant \"{s}\"; choose from exact, shots, noisy, emulator"
                ))
            })
    }
}

/// Everything the hardware-faithful rows need (defaults: [`HardwareConfig::default`]).
#[derive(Clone, Debug)]
pub struct HardwareConfig {
    /// The underlying study: data, seeds, masking, the classical methods and the plain
    /// hybrids reported alongside (the variants are appended to its hybrids).
    pub study: StudyConfig,
    /// Qubits of the hybrid whose last layer moves to the executors.
    pub qubits: usize,
    /// The variants, in report order.
    pub variants: Vec<HardwareVariant>,
    /// Noise model of the noisy and emulator variants (`aria-1`, `aria-2`, `forte-1`).
    pub noise: String,
    /// Shots per circuit (every variant but `exact`).
    pub shots: usize,
    /// Monte-Carlo trajectories per circuit (noisy and emulator variants).
    pub trajectories: usize,
    /// Trajectory engine (noisy and emulator variants).
    pub engine: NoisyMethod,
    /// Seed of the local noisy executor's trajectories (the emulator seeds each job from
    /// its shot seed instead).
    pub noise_seed: u64,
    /// Rows the last stage trains on (seeded subsample of the observed target rows;
    /// `None`: all of them, as the exact stages).
    pub train_rows: Option<usize>,
    /// Epochs of the last stage.
    pub epochs: usize,
    /// Measure the imputed cells' predictions on the executor too (else exact
    /// simulation of the trained model).
    pub predict_on_executor: bool,
    /// Keep only shots of this Hamming weight (noisy and emulator variants): error
    /// mitigation, off by default.
    pub postselect_weight: Option<usize>,
    /// Circuits per executor call (progress granularity; results do not depend on it).
    pub chunk: usize,
    /// Chunks the emulator row keeps in flight at once (its jobs compute while another
    /// chunk is submitted and polled; results do not depend on it).
    pub emulator_in_flight: usize,
}

impl Default for HardwareConfig {
    /// The RHC study with 5 seeds, MICE and MissForest as the classical rows, the plain
    /// 16- and 32-qubit hybrids, and all four variants of the 16-qubit hybrid: forte-1,
    /// 1,000 shots, 20 MPS trajectories (χ = 32), last stage on 200 rows for 1 epoch,
    /// predictions on the executor, no post-selection.
    fn default() -> Self {
        let mut study = StudyConfig {
            seeds: 5,
            ..Default::default()
        };
        study.classical = vec![ClassicalMethod::Mice, ClassicalMethod::MissForest];
        HardwareConfig {
            study,
            qubits: 16,
            variants: HardwareVariant::ALL.to_vec(),
            noise: "forte-1".into(),
            shots: 1000,
            trajectories: 20,
            engine: NoisyMethod::Trajectories(Engine::Mps {
                chi: 32,
                cutoff: 1e-12,
            }),
            noise_seed: 1,
            train_rows: Some(200),
            epochs: 1,
            predict_on_executor: true,
            postselect_weight: None,
            chunk: 32,
            emulator_in_flight: 3,
        }
    }
}

/// Runs an executor's batches in chunks of at most `chunk` circuits, counting them and
/// reporting after each chunk (`advance` by its circuits, and a `message` such as
/// `noisy:forte-1: 30 circuits`); with `in_flight > 1`, that many chunks run at once (for
/// executors that wait on a server: the emulator's jobs of one chunk compute while
/// another chunk is submitted or polled). Chunk `k` gets the plan's `index_offset`
/// advanced to its first circuit, so seeds and results equal an unchunked call's.
pub struct ChunkedExecutor {
    inner: Arc<dyn Executor>,
    chunk: usize,
    in_flight: usize,
    done: AtomicU64,
    progress: Arc<dyn Progress>,
}

impl ChunkedExecutor {
    /// Wrap `inner`, one chunk at a time; `chunk` ≥ 1.
    pub fn new(inner: Arc<dyn Executor>, chunk: usize, progress: Arc<dyn Progress>) -> Self {
        ChunkedExecutor {
            inner,
            chunk: chunk.max(1),
            in_flight: 1,
            done: AtomicU64::new(0),
            progress,
        }
    }

    /// Run up to `n` chunks at once (≥ 1).
    pub fn with_in_flight(mut self, n: usize) -> Self {
        self.in_flight = n.max(1);
        self
    }

    /// Circuits run so far.
    pub fn circuits(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    fn run_chunk(
        &self,
        k: usize,
        part: &[CircuitRun<'_>],
        plan: &ShotPlan,
    ) -> Result<Vec<RunResult>> {
        let mut p = *plan;
        p.index_offset = plan.index_offset + (k * self.chunk) as u64;
        let out = self.inner.execute(part, &p)?;
        let done = self.done.fetch_add(part.len() as u64, Ordering::SeqCst) + part.len() as u64;
        self.progress.advance(part.len() as u64);
        self.progress
            .message(&format!("{}: {done} circuits", self.inner.name()));
        Ok(out)
    }
}

impl Executor for ChunkedExecutor {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        let chunks: Vec<&[CircuitRun<'_>]> = batch.chunks(self.chunk).collect();
        if self.in_flight <= 1 || chunks.len() <= 1 {
            let mut out = Vec::with_capacity(batch.len());
            for (k, part) in chunks.iter().enumerate() {
                out.extend(self.run_chunk(k, part, plan)?);
            }
            return Ok(out);
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<Vec<RunResult>>>>> =
            chunks.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..self.in_flight.min(chunks.len()) {
                scope.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    if k >= chunks.len() {
                        break;
                    }
                    let r = self.run_chunk(k, chunks[k], plan);
                    let failed = r.is_err();
                    *results[k].lock().expect("not poisoned") = Some(r);
                    if failed {
                        // Let the other workers stop early too.
                        next.store(chunks.len(), Ordering::SeqCst);
                        break;
                    }
                });
            }
        });
        let mut out = Vec::with_capacity(batch.len());
        for r in results {
            match r.into_inner().expect("not poisoned") {
                Some(r) => out.extend(r?),
                None => {
                    return Err(Error::HardwareRows(
                        "a chunk did not run because an earlier one failed".into(),
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// What one hardware-faithful row ran, for the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HardwareRow {
    /// The variant.
    pub variant: HardwareVariant,
    /// Its method name in the study table.
    pub label: String,
    /// The executor's own name.
    pub executor: String,
    /// Where the last stage ran, in words.
    pub runs_on: String,
    /// Shots per circuit (`None`: exact expectations).
    pub shots: Option<usize>,
    /// Trajectories per circuit (`None`: no gate noise simulated).
    pub trajectories: Option<usize>,
}

impl HardwareConfig {
    /// The method label of `variant` in tables and plots.
    pub fn label(&self, variant: HardwareVariant) -> String {
        format!("{}q LL {}", self.qubits, variant.as_str())
    }

    /// Check the settings (typed [`Error::HardwareRows`] naming the option).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::HardwareRows(m));
        if self.variants.is_empty() {
            return bad("no variants; give at least one of exact, shots, noisy, emulator".into());
        }
        for (i, v) in self.variants.iter().enumerate() {
            if self.variants[..i].contains(v) {
                return bad(format!("variant \"{v}\" is listed twice"));
            }
        }
        if !self.qubits.is_power_of_two() || self.qubits < 4 {
            return bad(format!(
                "qubits = {} must be a power of two ≥ 4 (the Butterfly needs ≥ 2 layers so the last one can move to an executor)",
                self.qubits
            ));
        }
        if self.shots == 0 {
            return bad("shots = 0: the shots, noisy and emulator variants sample; give at least 1 (1000 as the paper)".into());
        }
        if self.trajectories == 0 {
            return bad(
                "trajectories = 0: give at least 1 Monte-Carlo trajectory per circuit".into(),
            );
        }
        if self.epochs == 0 {
            return bad("epochs = 0: the last stage needs at least one epoch".into());
        }
        if let Some(r) = self.train_rows {
            if r < 10 {
                return bad(format!(
                    "train_rows = {r}: the last stage needs at least 10 rows (10 % of them are its validation split)"
                ));
            }
        }
        if self.chunk == 0 || self.emulator_in_flight == 0 {
            return bad("chunk and emulator_in_flight must be at least 1".into());
        }
        if let Some(k) = self.postselect_weight {
            if k == 0 || k > self.qubits {
                return bad(format!(
                    "postselect_weight = {k} must be in 1..={} (1 for the unary models)",
                    self.qubits
                ));
            }
        }
        let model: NoiseModel = self
            .noise
            .parse()
            .map_err(|e: Error| Error::HardwareRows(format!("noise \"{}\": {e}", self.noise)))?;
        if model.gates_are_ideal()
            && self
                .variants
                .iter()
                .any(|v| matches!(v, HardwareVariant::Noisy | HardwareVariant::Emulator))
        {
            return bad(format!(
                "noise = {}: the noisy and emulator rows need a noise model with gate errors (aria-1, aria-2, forte-1)",
                self.noise
            ));
        }
        if let NoisyMethod::Trajectories(Engine::Mps { chi, cutoff }) = self.engine {
            bfly_sim::mps::MpsConfig::new(chi, cutoff)
                .map_err(|e| Error::HardwareRows(format!("MPS engine: {e}")))?;
        }
        Ok(())
    }

    fn compile_target(&self) -> Target {
        if self.noise.starts_with("aria") {
            Target::Aria
        } else {
            Target::Forte
        }
    }

    /// Where `variant` runs, as an [`ExecutorSpec`].
    pub fn executor_spec(&self, variant: HardwareVariant) -> ExecutorSpec {
        let kind = match variant {
            HardwareVariant::Exact | HardwareVariant::Shots => {
                return ExecutorSpec::local(Engine::Unary)
            }
            HardwareVariant::Noisy => ExecutorKind::Noisy,
            HardwareVariant::Emulator => ExecutorKind::Emulator,
        };
        ExecutorSpec {
            noise: Some(self.noise.clone()),
            trajectories: self.trajectories,
            noisy_method: self.engine,
            noise_seed: self.noise_seed,
            postselect_weight: self.postselect_weight,
            compile_target: Some(self.compile_target()),
            ..ExecutorSpec::new(kind)
        }
    }

    /// The executor of `variant` (the emulator is started here, on loopback).
    pub fn executor(&self, variant: HardwareVariant) -> Result<Arc<dyn Executor>> {
        Ok(Arc::from(self.executor_spec(variant).build()?))
    }

    fn describe(&self, variant: HardwareVariant) -> (String, Option<usize>, Option<usize>) {
        let target = match self.compile_target() {
            Target::Aria => "Aria natives (MS + GPi/GPi2)",
            _ => "Forte natives (ZZ + GPi/GPi2)",
        };
        let ps = match self.postselect_weight {
            Some(k) => format!(", post-selected on Hamming weight {k}"),
            None => String::new(),
        };
        match variant {
            HardwareVariant::Exact => (
                "exact unary simulation, exact expectations (ideal)".into(),
                None,
                None,
            ),
            HardwareVariant::Shots => (
                format!("exact unary simulation, {} shots", self.shots),
                Some(self.shots),
                None,
            ),
            HardwareVariant::Noisy => (
                format!(
                    "local NoisyExecutor: {target}, {} after every native gate + readout, {} trajectories per circuit ({}; the same trajectory seeds for every circuit), {} shots{ps}",
                    self.noise,
                    self.trajectories,
                    self.engine,
                    self.shots
                ),
                Some(self.shots),
                Some(self.trajectories),
            ),
            HardwareVariant::Emulator => (
                format!(
                    "IonQ API path: {target} → v0.4 job JSON → HTTP (loopback) → emulator `simulator` with noise {} ({} trajectories per job, {}, seeded per job) → result JSON, {} shots{ps}",
                    self.noise,
                    self.trajectories,
                    self.engine,
                    self.shots
                ),
                Some(self.shots),
                Some(self.trajectories),
            ),
        }
    }

    /// The study configuration with the variants appended to its hybrids (executors
    /// built, the emulator started), what each row runs, and each row's executor (for
    /// its circuit count). `progress` sees every chunk of circuits the variants run.
    pub fn build(&self, progress: Arc<dyn Progress>) -> Result<BuiltRows> {
        self.validate()?;
        let mut study = self.study.clone();
        let mut rows = Vec::new();
        let mut executors = Vec::new();
        for &variant in &self.variants {
            let inner = self.executor(variant)?;
            let executor_name = inner.name();
            let in_flight = match variant {
                HardwareVariant::Emulator => self.emulator_in_flight,
                _ => 1,
            };
            let chunked = Arc::new(
                ChunkedExecutor::new(inner, self.chunk, progress.clone()).with_in_flight(in_flight),
            );
            let mut h = HybridImputer::new(&study.target_column, self.qubits);
            let label = self.label(variant);
            h.label = Some(label.clone());
            h.final_layer = Some(FinalLayer {
                executor: chunked.clone(),
                gradient: GradientMethod::ParallelShift,
                shots: match variant {
                    HardwareVariant::Exact => None,
                    _ => Some(self.shots),
                },
                epochs: self.epochs,
                predict_on_executor: self.predict_on_executor,
                train_rows: self.train_rows,
            });
            study.hybrids.push(h);
            let (runs_on, shots, trajectories) = self.describe(variant);
            rows.push(HardwareRow {
                variant,
                label,
                executor: executor_name,
                runs_on,
                shots,
                trajectories,
            });
            executors.push(chunked);
        }
        Ok(BuiltRows {
            study,
            rows,
            executors,
        })
    }
}

/// What [`HardwareConfig::build`] returns.
pub struct BuiltRows {
    /// The study with the variants appended to its hybrids.
    pub study: StudyConfig,
    /// What each variant runs.
    pub rows: Vec<HardwareRow>,
    /// Each variant's executor (same order), counting its circuits.
    pub executors: Vec<Arc<ChunkedExecutor>>,
}

/// A variant against the exact (ideal) last layer, paired by seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersusExact {
    /// The variant's label.
    pub label: String,
    /// Mean over seeds of (variant AUC − exact AUC), same mask and split per seed.
    pub auc_difference: f64,
    /// Standard deviation over seeds of that difference.
    pub auc_difference_sd: f64,
    /// Welch's t-test of the two AUC samples (a = variant, b = exact), as the main study.
    pub welch: Option<WelchTest>,
    /// Mean over seeds of (variant − exact) RMSE of the target column's hidden cells.
    pub target_rmse_difference: f64,
}

/// Settings the report states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HardwareSettings {
    /// Qubits.
    pub qubits: usize,
    /// Butterfly layers (the last one is the one moved).
    pub layers: usize,
    /// Shots per circuit.
    pub shots: usize,
    /// Trajectories per circuit.
    pub trajectories: usize,
    /// Engine of the trajectories.
    pub engine: String,
    /// Noise model.
    pub noise: String,
    /// Rows of the last stage (`None`: all observed target rows).
    pub train_rows: Option<usize>,
    /// Epochs of the last stage.
    pub epochs: usize,
    /// Predictions on the executor.
    pub predict_on_executor: bool,
    /// Post-selection weight.
    pub postselect_weight: Option<usize>,
}

/// The hardware-faithful rows: the study report plus what each row ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HardwareReport {
    /// Settings.
    pub settings: HardwareSettings,
    /// The variants' rows.
    pub rows: Vec<HardwareRow>,
    /// Circuits each variant's executor ran over the whole study (same order as `rows`).
    pub circuits: Vec<u64>,
    /// The study (classical rows, plain hybrids, variants).
    pub study: StudyReport,
    /// Each variant but the exact one against the exact one.
    pub versus_exact: Vec<VersusExact>,
}

/// Run the study with the hardware-faithful rows. `progress` sees every chunk of
/// circuits run by the variants' executors, `observer` every (method, seed).
pub fn run_hardware_rows(
    config: &HardwareConfig,
    progress: Arc<dyn Progress>,
    observer: &mut dyn FnMut(&StudyEvent<'_>),
) -> Result<HardwareReport> {
    let BuiltRows {
        study,
        rows,
        executors,
    } = config.build(progress)?;
    let report = run_study(&study, observer)?;
    let circuits = executors.iter().map(|e| e.circuits()).collect();
    let find = |label: &str| report.methods.iter().find(|m| m.name == label);
    let exact_label = config.label(HardwareVariant::Exact);
    let mut versus_exact = Vec::new();
    if let Some(exact) = find(&exact_label) {
        for row in rows.iter().filter(|r| r.variant != HardwareVariant::Exact) {
            let m = find(&row.label).expect("every variant is a method of the study");
            let diffs: Vec<f64> = m.auc.iter().zip(&exact.auc).map(|(a, b)| a - b).collect();
            let (d, dsd) = mean_std(&diffs);
            let rmse: Vec<f64> = m
                .target_rmse
                .iter()
                .zip(&exact.target_rmse)
                .map(|(a, b)| a - b)
                .collect();
            versus_exact.push(VersusExact {
                label: row.label.clone(),
                auc_difference: d,
                auc_difference_sd: dsd,
                welch: welch_t_test(&m.auc, &exact.auc).ok(),
                target_rmse_difference: mean_std(&rmse).0,
            });
        }
    }
    let layers = HybridImputer::new(&config.study.target_column, config.qubits)
        .config
        .n_layers();
    Ok(HardwareReport {
        settings: HardwareSettings {
            qubits: config.qubits,
            layers,
            shots: config.shots,
            trajectories: config.trajectories,
            engine: config.engine.to_string(),
            noise: config.noise.clone(),
            train_rows: config.train_rows,
            epochs: config.epochs,
            predict_on_executor: config.predict_on_executor,
            postselect_weight: config.postselect_weight,
        },
        rows,
        circuits,
        study: report,
        versus_exact,
    })
}

impl HardwareReport {
    /// Settings, what each row ran, the study table and the comparison with the exact
    /// last layer, as markdown.
    pub fn markdown(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let rows_used = match s.train_rows {
            Some(r) => format!(
                "a seeded subsample of {r} of the rows with `{}` observed (10 % of them its validation split)",
                self.study.target_column
            ),
            None => format!("every row with `{}` observed", self.study.target_column),
        };
        out.push_str(&format!(
            "Hardware-faithful rows: the {q}-qubit hybrid ({l} Butterfly layers) with layers 1–{lm} trained exactly in simulation and layer {l} (with the head) trained for {e} epoch(s) with parallel-shift gradients on {rows_used}; the imputed cells are predicted {pred}. Rows `{q}q LL …` differ only in where that last stage runs.\n\n",
            q = s.qubits,
            l = s.layers,
            lm = s.layers - 1,
            e = s.epochs,
            pred = if s.predict_on_executor {
                "on the same executor (every hidden cell of the target column)"
            } else {
                "by exact simulation of the trained model"
            },
        ));
        out.push_str("| row | last layer trained and measured on | shots | trajectories | circuits run |\n|---|---|---:|---:|---:|\n");
        for (row, circuits) in self.rows.iter().zip(&self.circuits) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                row.label,
                row.runs_on,
                row.shots.map_or("exact".into(), |s| s.to_string()),
                row.trajectories.map_or("—".into(), |t| t.to_string()),
                circuits
            ));
        }
        out.push('\n');
        out.push_str(&self.study.markdown());
        if !self.versus_exact.is_empty() {
            out.push_str(&format!(
                "\nAgainst the exact last layer ({}q LL exact), paired by seed (same mask and split):\n\n| row | ΔAUC mean ± std over seeds | Welch t | p | ΔRMSE `{}` |\n|---|---:|---:|---:|---:|\n",
                s.qubits, self.study.target_column
            ));
            for v in &self.versus_exact {
                let (t, p) = v.welch.as_ref().map_or(("—".into(), "—".into()), |w| {
                    (format!("{:.3}", w.t), format!("{:.3}", w.p_value))
                });
                out.push_str(&format!(
                    "| {} | {:+.4} ± {:.4} | {t} | {p} | {:+.2} |\n",
                    v.label, v.auc_difference, v.auc_difference_sd, v.target_rmse_difference
                ));
            }
        }
        out.push_str(&format!(
            "\nTotal time {:.1} s.\n",
            self.study.total_seconds
        ));
        out
    }

    /// Write `hardware.md`, `hardware.csv` (one row per method × seed), `hardware.json`
    /// and `hardware_auc.svg` into `dir`. Returns the paths written.
    pub fn write_outputs(&self, dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
        let json = serde_json::to_string_pretty(self).expect("a report always serialises");
        self.study
            .write_outputs_as(dir, "hardware", &self.markdown(), &json)
    }
}
