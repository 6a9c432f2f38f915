//! MICE: multiple imputation by chained equations, in its single-imputation form
//! (scikit-learn's `IterativeImputer` with `sample_posterior = False`). Start from the
//! column means; then, sweep after sweep, regress each incomplete column on all the
//! others (ridge regression on the rows where it is present) and replace its missing
//! cells by the predictions, clipped to the column's observed range. Stops when no imputed
//! value moves by more than `tolerance` column standard deviations, or after
//! `max_iterations` sweeps.
//!
//! ```
//! use bfly_studies::impute::{Imputer, Incomplete, Mice};
//! use ndarray::Array2;
//! // c = a - 2b, with c hidden in every fifth row.
//! let v = Array2::from_shape_fn((60, 3), |(r, c)| {
//!     let (a, b) = ((r % 7) as f64, (r % 11) as f64 * 0.5);
//!     match c { 0 => a, 1 => b, _ if r % 5 == 1 => f64::NAN, _ => a - 2.0 * b }
//! });
//! let data = Incomplete::new(vec!["a".into(), "b".into(), "c".into()], v).unwrap();
//! let out = Mice::default().impute(&data, 0).unwrap();
//! // Row 1: c = 1 - 2·0.5 = 0; row 6: c = 6 - 2·3 = 0.
//! assert!(out[[1, 2]].abs() < 1e-4 && out[[6, 2]].abs() < 1e-4); // ridge 1e-6 shrinks a little
//! ```

use ndarray::{Array2, Axis};

use super::linear::Ridge;
use super::{Imputer, Incomplete};
use bfly_core::error::{Error, Result};

/// Chained ridge regressions.
#[derive(Clone, Copy, Debug)]
pub struct Mice {
    /// Most sweeps over the incomplete columns.
    pub max_iterations: usize,
    /// Stop once no imputed cell moves by more than this many column standard deviations.
    pub tolerance: f64,
    /// Ridge penalty on the standardised weights (per row).
    pub ridge: f64,
}

impl Default for Mice {
    /// 10 sweeps, tolerance 1e-3, ridge 1e-6.
    fn default() -> Self {
        Mice {
            max_iterations: 10,
            tolerance: 1e-3,
            ridge: 1e-6,
        }
    }
}

impl Mice {
    /// Refine an already completed matrix `filled` (missing cells of `data` hold the
    /// current guesses) with chained ridge sweeps; returns the number of sweeps run.
    pub fn refine(&self, data: &Incomplete, filled: &mut Array2<f64>) -> Result<usize> {
        if self.max_iterations == 0 {
            return Err(Error::Imputation(
                "MICE needs at least one iteration".into(),
            ));
        }
        let sds = data.column_sds()?;
        let columns = data.incomplete_columns();
        let p = data.n_cols();
        for sweep in 1..=self.max_iterations {
            let mut largest_move: f64 = 0.0;
            for &c in &columns {
                let observed = data.observed_rows(c);
                let missing = data.missing_rows(c);
                if observed.is_empty() {
                    return Err(Error::Imputation(format!(
                        "column \"{}\" has no present value to learn from",
                        data.names[c]
                    )));
                }
                let others: Vec<usize> = (0..p).filter(|&j| j != c).collect();
                let x = filled.select(Axis(1), &others);
                let y: Vec<f64> = filled.column(c).to_vec();
                let fit = Ridge::fit(x.view(), &y, Some(&observed), self.ridge)?;
                let (lo, hi) = observed
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                        (lo.min(y[r]), hi.max(y[r]))
                    });
                for &r in &missing {
                    let v = fit.predict(x.row(r)).clamp(lo, hi);
                    largest_move = largest_move.max((v - filled[[r, c]]).abs() / sds[c]);
                    filled[[r, c]] = v;
                }
            }
            if largest_move <= self.tolerance {
                return Ok(sweep);
            }
        }
        Ok(self.max_iterations)
    }
}

impl Imputer for Mice {
    fn name(&self) -> String {
        "MICE".into()
    }

    fn impute(&self, data: &Incomplete, _seed: u64) -> Result<Array2<f64>> {
        let mut filled = data.mean_filled()?;
        self.refine(data, &mut filled)?;
        Ok(filled)
    }
}
