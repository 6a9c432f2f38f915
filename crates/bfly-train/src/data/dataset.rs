//! Features and targets, row by row: what a model trains on.
//!
//! ```
//! use bfly_train::data::Dataset;
//! let d = Dataset::new(
//!     vec!["a".into()], vec!["y".into()],
//!     (0..10).map(|i| vec![i as f64]).collect(),
//!     (0..10).map(|i| vec![(i % 2) as f64]).collect(),
//! ).unwrap();
//! let (train, val) = d.split(0.2, 7).unwrap();
//! assert_eq!((train.len(), val.len()), (8, 2));
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use bfly_core::error::{Error, Result};

/// A table of numeric features and targets, all finite, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Names of the feature columns.
    pub feature_names: Vec<String>,
    /// Names of the target columns.
    pub target_names: Vec<String>,
    /// One feature vector per row.
    pub features: Vec<Vec<f64>>,
    /// One target vector per row.
    pub targets: Vec<Vec<f64>>,
}

impl Dataset {
    /// A dataset; checks that every row has the named number of finite values.
    pub fn new(
        feature_names: Vec<String>,
        target_names: Vec<String>,
        features: Vec<Vec<f64>>,
        targets: Vec<Vec<f64>>,
    ) -> Result<Self> {
        if features.len() != targets.len() {
            return Err(Error::InvalidInput(format!(
                "dataset has {} feature rows but {} target rows",
                features.len(),
                targets.len()
            )));
        }
        for (what, names, rows) in [
            ("feature", &feature_names, &features),
            ("target", &target_names, &targets),
        ] {
            for (r, row) in rows.iter().enumerate() {
                if row.len() != names.len() {
                    return Err(Error::InvalidInput(format!(
                        "dataset row {r} has {} {what} values but {} {what} names",
                        row.len(),
                        names.len()
                    )));
                }
                if let Some(c) = row.iter().position(|v| !v.is_finite()) {
                    return Err(Error::InvalidInput(format!(
                        "dataset row {r}, {what} \"{}\" is {}; values must be finite",
                        names[c], row[c]
                    )));
                }
            }
        }
        Ok(Dataset {
            feature_names,
            target_names,
            features,
            targets,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Number of target columns.
    pub fn n_targets(&self) -> usize {
        self.target_names.len()
    }

    /// The rows at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            target_names: self.target_names.clone(),
            features: indices.iter().map(|&i| self.features[i].clone()).collect(),
            targets: indices.iter().map(|&i| self.targets[i].clone()).collect(),
        }
    }

    /// Seeded random split into (train, validation); `fraction` of the rows (rounded)
    /// go to validation. `fraction = 0` gives an empty validation set.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(Error::InvalidInput(format!(
                "validation fraction must be in [0, 1), got {fraction}"
            )));
        }
        let mut idx: Vec<usize> = (0..self.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        shuffle(&mut idx, &mut rng);
        let n_val = (fraction * self.len() as f64).round() as usize;
        let (val, train) = idx.split_at(n_val);
        let (mut train, mut val) = (train.to_vec(), val.to_vec());
        train.sort_unstable();
        val.sort_unstable();
        Ok((self.subset(&train), self.subset(&val)))
    }

    /// A 64-bit fingerprint of names and values (bit-exact), to tie checkpoints to data.
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |x: u64| {
            h ^= x;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            h ^= h >> 29;
        };
        for name in self.feature_names.iter().chain(&self.target_names) {
            for b in name.bytes() {
                eat(b as u64);
            }
            eat(0xff);
        }
        for row in self.features.iter().chain(&self.targets) {
            for v in row {
                eat(v.to_bits());
            }
            eat(0xfe);
        }
        h
    }
}

/// Fisher–Yates shuffle driven by `rng` (identical on every platform for a given stream).
pub fn shuffle<T>(items: &mut [T], rng: &mut impl Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}
