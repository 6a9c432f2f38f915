//! K-nearest-neighbour imputation (as scikit-learn's `KNNImputer`): distances on
//! standardised columns over the cells both rows have (`nan-euclidean`: the squared
//! distance is scaled by `columns / shared columns`), and a missing cell gets the plain
//! mean of that column over the `k` nearest rows that have it.
//!
//! ```
//! use bfly_studies::impute::{Imputer, Incomplete, Knn};
//! use ndarray::array;
//! // Row 2 duplicates row 0 except for its missing cell: its nearest neighbour is row 0.
//! let data = Incomplete::new(vec!["a".into(), "b".into()],
//!     array![[1.0, 10.0], [5.0, 50.0], [1.0, f64::NAN], [6.0, 60.0]]).unwrap();
//! assert_eq!(Knn::new(1).impute(&data, 0).unwrap()[[2, 1]], 10.0);
//! ```

use ndarray::Array2;
use rayon::prelude::*;

use super::{Imputer, Incomplete};
use bfly_core::error::{Error, Result};

/// KNN imputation with `k` neighbours.
#[derive(Clone, Copy, Debug)]
pub struct Knn {
    /// Neighbours averaged per missing cell.
    pub k: usize,
}

impl Knn {
    /// `k` neighbours.
    pub fn new(k: usize) -> Self {
        Knn { k }
    }
}

impl Default for Knn {
    /// `k = 5` (scikit-learn's default).
    fn default() -> Self {
        Knn { k: 5 }
    }
}

impl Imputer for Knn {
    fn name(&self) -> String {
        format!("KNN (k = {})", self.k)
    }

    fn impute(&self, data: &Incomplete, _seed: u64) -> Result<Array2<f64>> {
        if self.k == 0 {
            return Err(Error::Imputation("KNN needs k ≥ 1 neighbours".into()));
        }
        let (n, p) = data.values.dim();
        let means = data.column_means()?;
        let sds = data.column_sds()?;
        // Standardised values, row-major, split into the columns without any missing
        // cell (a dense, branch-free block) and the others (NaN stays NaN).
        let complete: Vec<usize> = (0..p)
            .filter(|&c| data.values.column(c).iter().all(|v| !v.is_nan()))
            .collect();
        let partial: Vec<usize> = (0..p).filter(|c| !complete.contains(c)).collect();
        let (pd, pp) = (complete.len(), partial.len());
        let block = |cols: &[usize]| -> Vec<f64> {
            let mut out = Vec::with_capacity(n * cols.len());
            for r in 0..n {
                out.extend(
                    cols.iter()
                        .map(|&c| (data.values[[r, c]] - means[c]) / sds[c]),
                );
            }
            out
        };
        let (dense, sparse) = (block(&complete), block(&partial));
        let fills: Vec<Vec<(usize, f64)>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let si = &sparse[i * pp..(i + 1) * pp];
                let di = &dense[i * pd..(i + 1) * pd];
                let missing: Vec<usize> = (0..pp)
                    .filter(|&c| si[c].is_nan())
                    .map(|c| partial[c])
                    .collect();
                if missing.is_empty() {
                    return Vec::new();
                }
                let mut dist: Vec<(f64, usize)> = (0..n)
                    .filter(|&j| j != i)
                    .filter_map(|j| {
                        let dj = &dense[j * pd..(j + 1) * pd];
                        let mut s: f64 = di.iter().zip(dj).map(|(a, b)| (a - b) * (a - b)).sum();
                        let mut shared = pd;
                        for (a, b) in si.iter().zip(&sparse[j * pp..(j + 1) * pp]) {
                            let d = a - b;
                            if !d.is_nan() {
                                s += d * d;
                                shared += 1;
                            }
                        }
                        (shared > 0).then(|| (s * p as f64 / shared as f64, j))
                    })
                    .collect();
                dist.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                missing
                    .into_iter()
                    .map(|c| {
                        let donors: Vec<f64> = dist
                            .iter()
                            .map(|&(_, j)| data.values[[j, c]])
                            .filter(|v| !v.is_nan())
                            .take(self.k)
                            .collect();
                        let v = if donors.is_empty() {
                            means[c]
                        } else {
                            donors.iter().sum::<f64>() / donors.len() as f64
                        };
                        (c, v)
                    })
                    .collect()
            })
            .collect();
        let mut out = data.values.clone();
        for (i, row) in fills.into_iter().enumerate() {
            for (c, v) in row {
                out[[i, c]] = v;
            }
        }
        Ok(out)
    }
}
