//! Ridge regression on standardised predictors, solved through the normal equations with
//! faer's Cholesky factorisation (the predictors number tens, the rows thousands, so the
//! `p × p` Gram matrix is the cheap route). Shared by MICE and the logistic regression of
//! the study.
//!
//! ```
//! use bfly_studies::impute::linear::Ridge;
//! use ndarray::{array, Array2};
//! let x = Array2::from_shape_fn((50, 2), |(r, c)| ((r * (c + 3)) % 17) as f64);
//! let y: Vec<f64> = x.rows().into_iter().map(|r| 3.0 * r[0] - 0.5 * r[1] + 2.0).collect();
//! let fit = Ridge::fit(x.view(), &y, None, 1e-9).unwrap();
//! assert!((fit.weights[0] - 3.0).abs() < 1e-6 && (fit.intercept - 2.0).abs() < 1e-5);
//! assert!((fit.predict(array![1.0, 4.0].view()) - 3.0).abs() < 1e-5);
//! ```

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use ndarray::{ArrayView1, ArrayView2};

use bfly_core::error::{Error, Result};

/// A fitted linear model `y = w·x + b` (in the data's units).
#[derive(Clone, Debug, PartialEq)]
pub struct Ridge {
    /// Weights, one per predictor.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
}

/// Column means and standard deviations (1 for constant columns) of `x` restricted to
/// `rows` (all rows if `None`).
pub fn standardisation(x: ArrayView2<f64>, rows: Option<&[usize]>) -> (Vec<f64>, Vec<f64>) {
    let p = x.ncols();
    let all: Vec<usize>;
    let rows = match rows {
        Some(r) => r,
        None => {
            all = (0..x.nrows()).collect();
            &all
        }
    };
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0; p];
    for &r in rows {
        for (m, v) in mean.iter_mut().zip(x.row(r)) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; p];
    for &r in rows {
        for ((s, v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
            *s += (v - m).powi(2);
        }
    }
    let sd = var
        .iter()
        .zip(&mean)
        .map(|(s, m)| {
            let sd = (s / n).sqrt();
            if sd > 1e-12 * (1.0 + m.abs()) {
                sd
            } else {
                1.0
            }
        })
        .collect();
    (mean, sd)
}

/// Solve `(ZᵀDZ + diag(penalty)) β = Zᵀ D t` where `Z` is `rows × p` (row-major in `z`),
/// `D` the diagonal `weights` (all 1 if `None`).
pub fn weighted_ridge_solve(
    z: &[f64],
    n_rows: usize,
    p: usize,
    t: &[f64],
    weights: Option<&[f64]>,
    penalty: &[f64],
) -> Result<Vec<f64>> {
    let w = |r: usize| weights.map_or(1.0, |w| w[r]);
    let zm = Mat::<f64>::from_fn(n_rows, p, |r, c| z[r * p + c] * w(r).sqrt());
    let mut gram = zm.transpose() * &zm;
    for j in 0..p {
        gram[(j, j)] += penalty[j];
    }
    let rhs = Mat::<f64>::from_fn(p, 1, |j, _| {
        (0..n_rows).map(|r| z[r * p + j] * w(r) * t[r]).sum()
    });
    let llt = gram.llt(Side::Lower).map_err(|e| {
        Error::Numerical(format!(
            "ridge normal equations are not positive definite ({e:?}); increase the ridge penalty"
        ))
    })?;
    let beta = llt.solve(&rhs);
    let out: Vec<f64> = (0..p).map(|j| beta[(j, 0)]).collect();
    if out.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(
            "ridge regression produced non-finite weights".into(),
        ));
    }
    Ok(out)
}

impl Ridge {
    /// Least squares with an L2 penalty `ridge · n` on the standardised weights (the
    /// intercept is not penalised). `rows` selects the training rows (all if `None`).
    pub fn fit(x: ArrayView2<f64>, y: &[f64], rows: Option<&[usize]>, ridge: f64) -> Result<Ridge> {
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..x.nrows()).collect();
                &all
            }
        };
        if rows.is_empty() {
            return Err(Error::Imputation(
                "a regression needs at least one training row".into(),
            ));
        }
        if !(ridge >= 0.0 && ridge.is_finite()) {
            return Err(Error::Imputation(format!(
                "the ridge penalty must be finite and ≥ 0, got {ridge}"
            )));
        }
        let p = x.ncols();
        let (mean, sd) = standardisation(x, Some(rows));
        let n = rows.len();
        let y_mean = rows.iter().map(|&r| y[r]).sum::<f64>() / n as f64;
        let mut z = Vec::with_capacity(n * p);
        for &r in rows {
            z.extend(
                x.row(r)
                    .iter()
                    .zip(&mean)
                    .zip(&sd)
                    .map(|((v, m), s)| (v - m) / s),
            );
        }
        let t: Vec<f64> = rows.iter().map(|&r| y[r] - y_mean).collect();
        // A tiny floor keeps exactly collinear predictors (one-hot groups) solvable.
        let lambda = (ridge * n as f64).max(1e-10 * n as f64);
        let beta = weighted_ridge_solve(&z, n, p, &t, None, &vec![lambda; p])?;
        let weights: Vec<f64> = beta.iter().zip(&sd).map(|(b, s)| b / s).collect();
        let intercept = y_mean - weights.iter().zip(&mean).map(|(w, m)| w * m).sum::<f64>();
        Ok(Ridge { weights, intercept })
    }

    /// `w·x + b`.
    pub fn predict(&self, x: ArrayView1<f64>) -> f64 {
        self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>() + self.intercept
    }
}
