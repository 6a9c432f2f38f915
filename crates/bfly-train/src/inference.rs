//! Inference: run a trained [`HybridModel`] on a dataset through any [`Executor`] (exact
//! simulation, noisy simulation, the IonQ API or its local emulator), in batches, and score
//! the predictions against the targets and against exact simulation.
//!
//! ```
//! use bfly_train::data::Dataset;
//! use bfly_train::{HybridModel, ModelSpec, Task};
//! use bfly_exec::StateVectorExecutor;
//! use bfly_train::inference::{infer, InferenceSettings};
//! use bfly_core::progress::NoProgress;
//! let model = HybridModel::new(&ModelSpec::new(3, 1, 8, 3, Task::Regression), 1).unwrap();
//! let xs: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, 1.0, -(i as f64)]).collect();
//! let ys: Vec<Vec<f64>> = xs.iter().map(|x| vec![0.1 * x[0]]).collect();
//! let data = Dataset::new(vec!["a".into(), "b".into(), "c".into()], vec!["y".into()], xs, ys).unwrap();
//! let settings = InferenceSettings { shots: None, seed: 0, batch: 8 };
//! let out = infer(&model, &data, &StateVectorExecutor, &settings, &NoProgress).unwrap();
//! // Exact simulation on the state vector reproduces the model's own (unary) predictions.
//! assert!(out.max_deviation_from_exact < 1e-10);
//! assert_eq!(out.circuits, 20);
//! ```

use serde::Serialize;
use std::fmt;
use std::time::Instant;

use super::executor::{Executor, ShotPlan};
use super::loss::Task;
use super::model::HybridModel;
use crate::data::Dataset;
use bfly_core::error::{Error, Result};
use bfly_core::progress::{FinishOnDrop, Progress};

/// How to run inference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferenceSettings {
    /// Shots per circuit (`None`: exact marginals, simulators only).
    pub shots: Option<usize>,
    /// Seed of the shot sampling.
    pub seed: u64,
    /// Circuits per request to the executor (≥ 1).
    pub batch: usize,
}

/// Quality of predictions against targets.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum Metrics {
    /// Regression, in the targets' units (averaged over targets).
    Regression {
        /// Mean squared error.
        mse: f64,
        /// Mean absolute error.
        mae: f64,
        /// Coefficient of determination 1 − SSE/SST.
        r2: f64,
    },
    /// Binary classification (first target, labels 0/1).
    Classification {
        /// Fraction right at threshold 0.5.
        accuracy: f64,
        /// Area under the ROC curve (ties count one half); `None` when the targets hold
        /// one class only, so the AUC is undefined. Non-finite scores are an error.
        auc: Option<f64>,
        /// Mean binary cross-entropy.
        log_loss: f64,
    },
}

/// What [`infer`] returns.
#[derive(Clone, Debug, Serialize)]
pub struct Inference {
    /// The executor's name.
    pub executor: String,
    /// Rows scored.
    pub rows: usize,
    /// Shots per circuit (`None`: exact).
    pub shots: Option<usize>,
    /// Circuits submitted.
    pub circuits: u64,
    /// Shots over all circuits.
    pub total_shots: u64,
    /// Predictions on the executor (data units, or probabilities).
    #[serde(skip)]
    pub predictions: Vec<Vec<f64>>,
    /// Predictions in exact simulation (the reference).
    #[serde(skip)]
    pub exact_predictions: Vec<Vec<f64>>,
    /// Metrics of the executor's predictions.
    pub metrics: Metrics,
    /// Metrics of exact simulation on the same rows.
    pub exact_metrics: Metrics,
    /// Largest |prediction − exact prediction| over rows and outputs.
    pub max_deviation_from_exact: f64,
    /// Mean |prediction − exact prediction|.
    pub mean_deviation_from_exact: f64,
    /// Wall-clock seconds spent on the executor.
    pub seconds: f64,
}

/// Run `model` on every row of `data` through `executor`, `settings.batch` circuits per
/// request; `progress` counts rows and advances after each batch.
pub fn infer(
    model: &HybridModel,
    data: &Dataset,
    executor: &dyn Executor,
    settings: &InferenceSettings,
    progress: &dyn Progress,
) -> Result<Inference> {
    if settings.batch == 0 {
        return Err(Error::InvalidInput(
            "inference batch size must be at least 1".into(),
        ));
    }
    if settings.shots == Some(0) {
        return Err(Error::InvalidInput(
            "shots must be at least 1 (omit them for exact marginals)".into(),
        ));
    }
    if data.is_empty() {
        return Err(Error::InvalidInput("no rows to run inference on".into()));
    }
    if data.n_targets() != model.n_outputs() {
        return Err(Error::InvalidInput(format!(
            "the model has {} output(s) but the data has {} target column(s)",
            model.n_outputs(),
            data.n_targets()
        )));
    }
    progress.start(data.len() as u64, "rows");
    let _finish = FinishOnDrop(progress);
    let t0 = Instant::now();
    let mut predictions = Vec::with_capacity(data.len());
    let mut circuits = 0u64;
    for (b, chunk) in data.features.chunks(settings.batch).enumerate() {
        let plan = ShotPlan::new(settings.shots, settings.seed, b as u64);
        predictions.extend(model.predict_with(executor, chunk, &plan)?);
        circuits += chunk.len() as u64;
        progress.advance(chunk.len() as u64);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let exact_predictions = data
        .features
        .iter()
        .map(|x| model.predict(x))
        .collect::<Result<Vec<_>>>()?;
    let deviations: Vec<f64> = predictions
        .iter()
        .zip(&exact_predictions)
        .flat_map(|(p, e)| p.iter().zip(e).map(|(a, b)| (a - b).abs()))
        .collect();
    Ok(Inference {
        executor: executor.name(),
        rows: data.len(),
        shots: settings.shots,
        circuits,
        total_shots: circuits * settings.shots.unwrap_or(0) as u64,
        metrics: score(model.task, &predictions, &data.targets)?,
        exact_metrics: score(model.task, &exact_predictions, &data.targets)?,
        max_deviation_from_exact: deviations.iter().cloned().fold(0.0, f64::max),
        mean_deviation_from_exact: deviations.iter().sum::<f64>() / deviations.len() as f64,
        predictions,
        exact_predictions,
        seconds,
    })
}

/// Score predictions against targets for `task`.
pub fn score(task: Task, predictions: &[Vec<f64>], targets: &[Vec<f64>]) -> Result<Metrics> {
    let n = predictions.len();
    if n == 0 || n != targets.len() {
        return Err(Error::InvalidInput(format!(
            "cannot score {n} predictions against {} targets",
            targets.len()
        )));
    }
    Ok(match task {
        Task::Regression => {
            let k = targets[0].len();
            let (mut mse, mut mae, mut r2) = (0.0, 0.0, 0.0);
            for j in 0..k {
                let mean = targets.iter().map(|t| t[j]).sum::<f64>() / n as f64;
                let sse: f64 = predictions
                    .iter()
                    .zip(targets)
                    .map(|(p, t)| (p[j] - t[j]).powi(2))
                    .sum();
                let sst: f64 = targets.iter().map(|t| (t[j] - mean).powi(2)).sum();
                mse += sse / n as f64;
                mae += predictions
                    .iter()
                    .zip(targets)
                    .map(|(p, t)| (p[j] - t[j]).abs())
                    .sum::<f64>()
                    / n as f64;
                r2 += if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
            }
            Metrics::Regression {
                mse: mse / k as f64,
                mae: mae / k as f64,
                r2: r2 / k as f64,
            }
        }
        Task::Classification => {
            let labels: Vec<bool> = targets
                .iter()
                .map(|t| match t[0] {
                    0.0 => Ok(false),
                    1.0 => Ok(true),
                    v => Err(Error::InvalidInput(format!(
                        "classification targets must be 0 or 1, got {v}"
                    ))),
                })
                .collect::<Result<_>>()?;
            let p: Vec<f64> = predictions.iter().map(|p| p[0]).collect();
            let accuracy = p
                .iter()
                .zip(&labels)
                .filter(|(&p, &y)| (p >= 0.5) == y)
                .count() as f64
                / n as f64;
            let log_loss = p
                .iter()
                .zip(&labels)
                .map(|(&p, &y)| {
                    let p = p.clamp(1e-12, 1.0 - 1e-12);
                    if y {
                        -p.ln()
                    } else {
                        -(1.0 - p).ln()
                    }
                })
                .sum::<f64>()
                / n as f64;
            let both_classes = labels.iter().any(|&y| y) && labels.iter().any(|&y| !y);
            let auc = if both_classes {
                Some(crate::metrics::auc(&p, &labels)?)
            } else {
                None
            };
            Metrics::Classification {
                accuracy,
                auc,
                log_loss,
            }
        }
    })
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metrics::Regression { mse, mae, r2 } => {
                write!(f, "MSE {mse:.6}, MAE {mae:.6}, R² {r2:.4}")
            }
            Metrics::Classification {
                accuracy,
                auc,
                log_loss,
            } => {
                let auc = auc.map_or("n/a (one class only)".into(), |a| format!("{a:.4}"));
                write!(
                    f,
                    "accuracy {accuracy:.4}, AUC {auc}, log-loss {log_loss:.4}"
                )
            }
        }
    }
}

impl fmt::Display for Inference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "executor {}: {} rows, {} circuits, {} in {:.2} s",
            self.executor,
            self.rows,
            self.circuits,
            match self.shots {
                Some(s) => format!("{s} shots each ({} in all)", self.total_shots),
                None => "exact marginals".into(),
            },
            self.seconds
        )?;
        writeln!(f, "  on the executor:   {}", self.metrics)?;
        writeln!(f, "  exact simulation:  {}", self.exact_metrics)?;
        write!(
            f,
            "  |prediction − exact|: max {:.3e}, mean {:.3e}",
            self.max_deviation_from_exact, self.mean_deviation_from_exact
        )
    }
}
