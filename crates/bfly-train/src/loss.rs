//! Tasks and their losses, per sample, averaged over outputs.
//!
//! - Regression: `L = (1/k) Σ (o − t)²` (MSE), `∂L/∂o = 2(o − t)/k`.
//! - Classification: `L = (1/k) Σ [softplus(o) − t·o]` (binary cross-entropy on the
//!   logit `o`, numerically stable), `∂L/∂o = (σ(o) − t)/k`; targets in `[0, 1]`.
//!
//! ```
//! use bfly_train::Task;
//! assert_eq!(Task::Regression.loss(&[1.0, 3.0], &[0.0, 3.0]), 0.5);
//! let l = Task::Classification.loss(&[0.0], &[1.0]);
//! assert!((l - std::f64::consts::LN_2).abs() < 1e-15);
//! assert_eq!(Task::Classification.loss_grad(&[0.0], &[1.0]), vec![-0.5]);
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::model::sigmoid;
use bfly_core::error::{Error, Result};

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Real outputs, mean squared error.
    Regression,
    /// Probabilities via a sigmoid head, binary cross-entropy.
    Classification,
}

impl Task {
    /// Loss of one sample (outputs `o`, targets `t`), averaged over outputs.
    pub fn loss(&self, o: &[f64], t: &[f64]) -> f64 {
        let k = o.len() as f64;
        match self {
            Task::Regression => o.iter().zip(t).map(|(o, t)| (o - t) * (o - t)).sum::<f64>() / k,
            Task::Classification => {
                o.iter()
                    .zip(t)
                    .map(|(&o, &t)| o.max(0.0) - o * t + (-o.abs()).exp().ln_1p())
                    .sum::<f64>()
                    / k
            }
        }
    }

    /// `∂L/∂o` of one sample.
    pub fn loss_grad(&self, o: &[f64], t: &[f64]) -> Vec<f64> {
        let k = o.len() as f64;
        match self {
            Task::Regression => o.iter().zip(t).map(|(o, t)| 2.0 * (o - t) / k).collect(),
            Task::Classification => o
                .iter()
                .zip(t)
                .map(|(&o, t)| (sigmoid(o) - t) / k)
                .collect(),
        }
    }

    /// Check that targets suit the task (classification: values in `[0, 1]`).
    pub fn check_targets(&self, targets: &[Vec<f64>]) -> Result<()> {
        if let Task::Classification = self {
            for (r, row) in targets.iter().enumerate() {
                if let Some(v) = row.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                    return Err(Error::InvalidInput(format!(
                        "classification targets must be 0/1 (or probabilities in [0, 1]); row {r} has {v}"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Task::Regression => "regression",
            Task::Classification => "classification",
        })
    }
}

impl FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "regression" | "mse" => Ok(Task::Regression),
            "classification" | "bce" => Ok(Task::Classification),
            _ => Err(Error::InvalidInput(format!(
                "unknown task \"{s}\"; use regression or classification"
            ))),
        }
    }
}
