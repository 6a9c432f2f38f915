//! Missing-value imputation: a matrix with holes ([`Incomplete`]), seeded MCAR masking
//! that keeps the hidden truth ([`mcar_mask`]), and imputers behind one trait
//! ([`Imputer`]): mean, zero, KNN, MICE (chained ridge regressions), MissForest (chained
//! random forests), Deep MICE (chained small MLPs), the hybrid quantum imputer (one
//! column by a Butterfly [`HybridModel`](bfly_train::HybridModel), the others by MICE) and
//! its classical counterpart with the Butterfly replaced by a dense layer ([`DenseNet`]).
//!
//! ```
//! use bfly_studies::impute::{mcar_mask, Imputer, Incomplete, Mean, Mice};
//! use ndarray::Array2;
//! // y = 2x + 1, 30 % of y hidden at random.
//! let values = Array2::from_shape_fn((200, 2), |(r, c)| if c == 0 { r as f64 } else { 2.0 * r as f64 + 1.0 });
//! let full = Incomplete::new(vec!["x".into(), "y".into()], values).unwrap();
//! let (holey, mask) = mcar_mask(&full, &[1], 0.3, 7).unwrap();
//! assert!(mask.cells.len() > 40 && mask.cells.iter().all(|&(r, c)| c == 1 && holey.is_missing(r, 1)));
//! let mice = Mice::default().impute(&holey, 0).unwrap();
//! let mean = Mean.impute(&holey, 0).unwrap();
//! // MICE recovers the line (up to clipping at the observed range); the mean cannot.
//! assert!(mask.rmse(&mice).unwrap() < 0.01 * mask.rmse(&mean).unwrap());
//! ```

pub mod deep_mice;
pub mod dense_net;
pub mod forest;
pub mod hybrid;
pub mod knn;
pub mod linear;
pub mod mean_zero;
pub mod mice;

pub use deep_mice::DeepMice;
pub use dense_net::DenseNet;
pub use forest::{MissForest, RegressionForest, RegressionTree, TreeParams};
pub use hybrid::{FinalLayer, HybridConfig, HybridImputer};
pub use knn::Knn;
pub use mean_zero::{Mean, Zero};
pub use mice::Mice;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use bfly_core::error::{Error, Result};
use bfly_train::data::Table;

/// A numeric matrix with missing cells (`NaN` marks a missing cell) and named columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Incomplete {
    /// Column names.
    pub names: Vec<String>,
    /// Rows × columns; `NaN` = missing, every other value finite.
    pub values: Array2<f64>,
}

impl Incomplete {
    /// Checks that there is one name per column and that present values are finite.
    pub fn new(names: Vec<String>, values: Array2<f64>) -> Result<Self> {
        if names.len() != values.ncols() {
            return Err(Error::Imputation(format!(
                "{} column names for a matrix of {} columns",
                names.len(),
                values.ncols()
            )));
        }
        if let Some(((r, c), v)) = values.indexed_iter().find(|(_, v)| v.is_infinite()) {
            return Err(Error::Imputation(format!(
                "row {r}, column \"{}\" is {v}; values must be finite (NaN marks a missing cell)",
                names[c]
            )));
        }
        Ok(Incomplete { names, values })
    }

    /// The listed columns of a table (`None` cells become missing).
    pub fn from_table(table: &Table, columns: &[String]) -> Result<Self> {
        let idx = columns
            .iter()
            .map(|c| table.column_index(c))
            .collect::<Result<Vec<_>>>()?;
        let values = Array2::from_shape_fn((table.rows.len(), idx.len()), |(r, c)| {
            table.rows[r][idx[c]].unwrap_or(f64::NAN)
        });
        Self::new(columns.to_vec(), values)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values.nrows()
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.values.ncols()
    }

    /// True if cell `(r, c)` is missing.
    pub fn is_missing(&self, r: usize, c: usize) -> bool {
        self.values[[r, c]].is_nan()
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            Error::Imputation(format!(
                "no column \"{name}\"; the columns are: {}",
                self.names.join(", ")
            ))
        })
    }

    /// Rows where column `c` is present.
    pub fn observed_rows(&self, c: usize) -> Vec<usize> {
        (0..self.n_rows())
            .filter(|&r| !self.is_missing(r, c))
            .collect()
    }

    /// Rows where column `c` is missing.
    pub fn missing_rows(&self, c: usize) -> Vec<usize> {
        (0..self.n_rows())
            .filter(|&r| self.is_missing(r, c))
            .collect()
    }

    /// Mean of the present cells of every column; an error names a column with none.
    pub fn column_means(&self) -> Result<Vec<f64>> {
        (0..self.n_cols())
            .map(|c| {
                let (s, n) = self
                    .values
                    .column(c)
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 {
                    Err(Error::Imputation(format!(
                        "column \"{}\" has no present value, so nothing can be imputed from it; drop the column",
                        self.names[c]
                    )))
                } else {
                    Ok(s / n as f64)
                }
            })
            .collect()
    }

    /// Population standard deviation of the present cells of every column (1 for a
    /// constant column).
    pub fn column_sds(&self) -> Result<Vec<f64>> {
        let means = self.column_means()?;
        Ok((0..self.n_cols())
            .map(|c| {
                let (s, n) = self
                    .values
                    .column(c)
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold((0.0, 0usize), |(s, n), v| {
                        (s + (v - means[c]).powi(2), n + 1)
                    });
                let sd = (s / n as f64).sqrt();
                if sd > 1e-12 * (1.0 + means[c].abs()) {
                    sd
                } else {
                    1.0
                }
            })
            .collect())
    }

    /// Every missing cell replaced by its column's mean.
    pub fn mean_filled(&self) -> Result<Array2<f64>> {
        let means = self.column_means()?;
        Ok(self.filled_with(&means))
    }

    /// Every missing cell of column `c` replaced by `fill[c]`.
    pub fn filled_with(&self, fill: &[f64]) -> Array2<f64> {
        let mut out = self.values.clone();
        for ((_, c), v) in out.indexed_iter_mut() {
            if v.is_nan() {
                *v = fill[c];
            }
        }
        out
    }

    /// Indices of the columns with at least one missing cell, fewest missing first
    /// (ties by column order): the visiting order of the chained imputers.
    pub fn incomplete_columns(&self) -> Vec<usize> {
        let mut cols: Vec<(usize, usize)> = (0..self.n_cols())
            .map(|c| (self.missing_rows(c).len(), c))
            .filter(|(m, _)| *m > 0)
            .collect();
        cols.sort();
        cols.into_iter().map(|(_, c)| c).collect()
    }

    /// Check that `imputed` has this shape, is finite and keeps every present cell.
    pub fn check_completed(&self, imputed: &Array2<f64>, who: &str) -> Result<()> {
        if imputed.dim() != self.values.dim() {
            return Err(Error::Imputation(format!(
                "{who} returned a {:?} matrix for {:?} data",
                imputed.dim(),
                self.values.dim()
            )));
        }
        for ((r, c), v) in imputed.indexed_iter() {
            if !v.is_finite() {
                return Err(Error::Imputation(format!(
                    "{who} left row {r}, column \"{}\" at {v}",
                    self.names[c]
                )));
            }
            let orig = self.values[[r, c]];
            if !orig.is_nan() && orig != *v {
                return Err(Error::Imputation(format!(
                    "{who} changed the present value at row {r}, column \"{}\"",
                    self.names[c]
                )));
            }
        }
        Ok(())
    }
}

/// Fills the missing cells of an [`Incomplete`] matrix.
///
/// Implementations must return a finite matrix of the same shape that keeps every present
/// cell, and be deterministic for a given `seed`.
pub trait Imputer: Send + Sync {
    /// Short name for reports ("MICE", "KNN (k = 5)").
    fn name(&self) -> String;

    /// The completed matrix.
    fn impute(&self, data: &Incomplete, seed: u64) -> Result<Array2<f64>>;
}

/// The cells an MCAR mask hid and their true values.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    /// `(row, column)` of every hidden cell, row-major order.
    pub cells: Vec<(usize, usize)>,
    /// The hidden values, in the order of `cells`.
    pub truth: Vec<f64>,
}

impl Mask {
    /// Root-mean-square error of `completed` over the hidden cells (0 if none were
    /// hidden). An error if `completed` does not cover every hidden cell.
    pub fn rmse(&self, completed: &Array2<f64>) -> Result<f64> {
        let (rows, cols) = completed.dim();
        if let Some(&(r, c)) = self.cells.iter().find(|&&(r, c)| r >= rows || c >= cols) {
            return Err(Error::Imputation(format!(
                "hidden cell ({r}, {c}) is outside the {rows}×{cols} completed matrix"
            )));
        }
        let sum: f64 = self
            .cells
            .iter()
            .zip(&self.truth)
            .map(|(&(r, c), t)| (completed[[r, c]] - t).powi(2))
            .sum();
        Ok((sum / self.cells.len().max(1) as f64).sqrt())
    }
}

/// Hide each present cell of the chosen columns independently with probability `rate`
/// (missing completely at random), seeded. Returns the masked matrix and what was hidden.
pub fn mcar_mask(
    data: &Incomplete,
    columns: &[usize],
    rate: f64,
    seed: u64,
) -> Result<(Incomplete, Mask)> {
    if !(0.0..1.0).contains(&rate) {
        return Err(Error::Imputation(format!(
            "the missingness rate must be in [0, 1), got {rate}"
        )));
    }
    if let Some(&c) = columns.iter().find(|&&c| c >= data.n_cols()) {
        return Err(Error::Imputation(format!(
            "mask column index {c} is out of range ({} columns)",
            data.n_cols()
        )));
    }
    let mut chosen = vec![false; data.n_cols()];
    for &c in columns {
        chosen[c] = true;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut masked = data.clone();
    let mut mask = Mask {
        cells: Vec::new(),
        truth: Vec::new(),
    };
    for r in 0..data.n_rows() {
        for (c, &is_chosen) in chosen.iter().enumerate() {
            // One draw per chosen cell, present or not, so a column's mask does not depend
            // on which other cells happen to be missing.
            if !is_chosen {
                continue;
            }
            let hide = rng.random::<f64>() < rate;
            if hide && !data.is_missing(r, c) {
                mask.cells.push((r, c));
                mask.truth.push(data.values[[r, c]]);
                masked.values[[r, c]] = f64::NAN;
            }
        }
    }
    Ok((masked, mask))
}
