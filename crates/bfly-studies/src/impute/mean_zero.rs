//! The two baselines: fill with the column mean, or with zero.
//!
//! ```
//! use bfly_studies::impute::{Imputer, Incomplete, Mean, Zero};
//! use ndarray::array;
//! let data = Incomplete::new(vec!["a".into(), "b".into()],
//!     array![[1.0, f64::NAN], [3.0, 4.0], [f64::NAN, 8.0]]).unwrap();
//! assert_eq!(Mean.impute(&data, 0).unwrap(), array![[1.0, 6.0], [3.0, 4.0], [2.0, 8.0]]);
//! assert_eq!(Zero.impute(&data, 0).unwrap(), array![[1.0, 0.0], [3.0, 4.0], [0.0, 8.0]]);
//! ```

use ndarray::Array2;

use super::{Imputer, Incomplete};
use bfly_core::error::Result;

/// Fill every missing cell with the mean of its column's present cells.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mean;

impl Imputer for Mean {
    fn name(&self) -> String {
        "mean".into()
    }

    fn impute(&self, data: &Incomplete, _seed: u64) -> Result<Array2<f64>> {
        data.mean_filled()
    }
}

/// Fill every missing cell with 0 (in the data's own units).
#[derive(Clone, Copy, Debug, Default)]
pub struct Zero;

impl Imputer for Zero {
    fn name(&self) -> String {
        "zero".into()
    }

    fn impute(&self, data: &Incomplete, _seed: u64) -> Result<Array2<f64>> {
        Ok(data.filled_with(&vec![0.0; data.n_cols()]))
    }
}
