//! The shot-noise floor: the loss a perfect model still measures because its outputs are
//! estimated from a finite number of shots.
//!
//! With a unary loader the state has Hamming weight 1, so each shot reads exactly one
//! qubit as 1 and the counts are multinomial: `Cov(p̂_i, p̂_j) = (p_i δ_ij − p_i p_j)/S`.
//! A head output `o = Σ_i w_i p̂_i + w_r r + b` then has
//! `Var(ô) = (Σ_i w_i² p_i − (Σ_i w_i p_i)²)/S`, and the measured MSE is
//! `E[(ô − t)²] = (o − t)² + Var(ô)`: its floor is the mean of `Var(ô)` over samples and
//! outputs (in the model's output units, like the training loss).
//!
//! ```
//! use bfly_train::noise_floor::shot_noise_floor;
//! use bfly_train::teacher::{teacher_dataset, TeacherSpec};
//! let (teacher, data) = teacher_dataset(&TeacherSpec::new(16, 4, 50, 1)).unwrap();
//! let rows: Vec<usize> = (0..50).collect();
//! let f1000 = shot_noise_floor(&teacher, &data, &rows, 1000).unwrap();
//! let f4000 = shot_noise_floor(&teacher, &data, &rows, 4000).unwrap();
//! assert!((f1000 / f4000 - 4.0).abs() < 1e-9); // ∝ 1/S
//! ```

use super::loss::Task;
use super::model::HybridModel;
use crate::data::Dataset;
use bfly_core::error::{Error, Result};

/// Mean variance of the shot-estimated outputs of `model` on `rows` with `shots` shots
/// per circuit (regression, noiseless weight-1 states).
pub fn shot_noise_floor(
    model: &HybridModel,
    data: &Dataset,
    rows: &[usize],
    shots: usize,
) -> Result<f64> {
    if model.task != Task::Regression {
        return Err(Error::InvalidInput(
            "the shot-noise floor is computed for regression (MSE) models".into(),
        ));
    }
    if shots == 0 || rows.is_empty() {
        return Err(Error::InvalidInput(
            "the shot-noise floor needs shots ≥ 1 and at least one row".into(),
        ));
    }
    let n = model.qubits;
    let cols = model.head.cols;
    let mut total = 0.0;
    for &r in rows {
        let e = model.encode(&data.features[r])?;
        let p = model.marginals_exact(&e.u)?;
        for k in 0..model.n_outputs() {
            let w = &model.head.weights[k * cols..k * cols + n];
            let m2: f64 = w.iter().zip(&p).map(|(w, p)| w * w * p).sum();
            let m1: f64 = w.iter().zip(&p).map(|(w, p)| w * p).sum();
            total += (m2 - m1 * m1) / shots as f64;
        }
    }
    Ok(total / (rows.len() * model.n_outputs()) as f64)
}
