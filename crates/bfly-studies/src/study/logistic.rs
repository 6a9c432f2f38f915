//! L2-regularised logistic regression, fitted by Newton's method (iteratively reweighted
//! least squares) on standardised features; the intercept is not penalised. The penalty
//! follows scikit-learn's `LogisticRegression(C)`: minimise `Σ log-loss + |w|² / (2C)`.
//!
//! ```
//! use bfly_studies::study::logistic::Logistic;
//! use ndarray::Array2;
//! let x = Array2::from_shape_fn((200, 1), |(r, _)| r as f64 / 20.0 - 5.0);
//! // Positives get more frequent as x grows.
//! let y: Vec<bool> = (0..200).map(|r| (r * 37) % 100 < r / 2).collect();
//! let fit = Logistic::fit(x.view(), &y, None, 1.0).unwrap();
//! assert!(fit.probability(x.row(199)) > fit.probability(x.row(0)));
//! ```

use ndarray::{ArrayView1, ArrayView2};

use crate::impute::linear::standardisation;
use bfly_core::error::{Error, Result};
use bfly_train::model::sigmoid;

/// A fitted logistic model on standardised features.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    /// Feature means (standardisation).
    pub mean: Vec<f64>,
    /// Feature standard deviations.
    pub scale: Vec<f64>,
    /// Weights on the standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
}

impl Logistic {
    /// Fit on `rows` (all if `None`) with inverse regularisation strength `c > 0`.
    pub fn fit(x: ArrayView2<f64>, y: &[bool], rows: Option<&[usize]>, c: f64) -> Result<Logistic> {
        if !(c > 0.0 && c.is_finite()) {
            return Err(Error::Imputation(format!(
                "logistic regression needs a finite C > 0, got {c}"
            )));
        }
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
                "logistic regression needs training rows".into(),
            ));
        }
        let p = x.ncols();
        let (mean, scale) = standardisation(x, Some(rows));
        let n = rows.len();
        let q = p + 1;
        // Design with a leading column of ones.
        let mut z = Vec::with_capacity(n * q);
        for &r in rows {
            z.push(1.0);
            z.extend(
                x.row(r)
                    .iter()
                    .zip(&mean)
                    .zip(&scale)
                    .map(|((v, m), s)| (v - m) / s),
            );
        }
        let t: Vec<f64> = rows.iter().map(|&r| f64::from(u8::from(y[r]))).collect();
        let mut penalty = vec![1.0 / c; q];
        penalty[0] = 1e-10;
        let mut beta = vec![0.0; q];
        for _ in 0..50 {
            let eta: Vec<f64> = (0..n)
                .map(|i| {
                    z[i * q..(i + 1) * q]
                        .iter()
                        .zip(&beta)
                        .map(|(a, b)| a * b)
                        .sum()
                })
                .collect();
            let mu: Vec<f64> = eta.iter().map(|&e| sigmoid(e)).collect();
            let w: Vec<f64> = mu.iter().map(|m| (m * (1.0 - m)).max(1e-12)).collect();
            // Newton step: (ZᵀWZ + P) δ = Zᵀ(t − μ) − Pβ.
            let g: Vec<f64> = (0..q)
                .map(|j| {
                    (0..n).map(|i| z[i * q + j] * (t[i] - mu[i])).sum::<f64>()
                        - penalty[j] * beta[j]
                })
                .collect();
            let delta = solve_penalised(&z, n, q, &w, &penalty, &g)?;
            let step = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            for (b, d) in beta.iter_mut().zip(&delta) {
                *b += d;
            }
            if step < 1e-9 {
                break;
            }
        }
        if beta.iter().any(|b| !b.is_finite()) {
            return Err(Error::Numerical(
                "logistic regression diverged (non-finite weights); increase the regularisation"
                    .into(),
            ));
        }
        Ok(Logistic {
            mean,
            scale,
            intercept: beta[0],
            weights: beta[1..].to_vec(),
        })
    }

    /// `P(y = 1 | x)`.
    pub fn probability(&self, x: ArrayView1<f64>) -> f64 {
        let eta: f64 = x
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .zip(&self.weights)
            .map(|(((v, m), s), w)| w * (v - m) / s)
            .sum::<f64>()
            + self.intercept;
        sigmoid(eta)
    }
}

/// `(ZᵀWZ + P)⁻¹ g`.
fn solve_penalised(
    z: &[f64],
    n: usize,
    q: usize,
    w: &[f64],
    penalty: &[f64],
    g: &[f64],
) -> Result<Vec<f64>> {
    use faer::linalg::solvers::Solve;
    let zm = faer::Mat::<f64>::from_fn(n, q, |r, c| z[r * q + c] * w[r].sqrt());
    let mut h = zm.transpose() * &zm;
    for j in 0..q {
        h[(j, j)] += penalty[j];
    }
    let llt = h
        .llt(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("logistic Hessian not positive definite ({e:?})")))?;
    let rhs = faer::Mat::<f64>::from_fn(q, 1, |j, _| g[j]);
    let x = llt.solve(&rhs);
    Ok((0..q).map(|j| x[(j, 0)]).collect())
}
