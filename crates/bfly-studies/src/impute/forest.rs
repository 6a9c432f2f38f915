//! Random-forest regression and MissForest imputation (Stekhoven & Bühlmann 2012).
//!
//! Written here rather than taken from a crate: smartcore 0.4's `RandomForestRegressor`
//! (the maintained Rust forest with regression) builds quickly but took 4.2 s for one
//! 30-tree fit on 4,000 × 60 rows on this machine, and MissForest needs ~80 such fits per
//! seed (37 minutes for the 10-seed study); linfa-trees has classification trees only.
//! These trees use the histogram method of LightGBM / scikit-learn's
//! `HistGradientBoosting`: every predictor is cut once into at most [`TreeParams::bins`]
//! quantile bins, and a node's best split is found from per-bin sums in one pass.
//!
//! A split sends `x ≤ threshold` left. With at most `bins` distinct values the thresholds
//! are midpoints between consecutive values, so step functions are found exactly.
//!
//! ```
//! use bfly_studies::impute::{RegressionForest, TreeParams};
//! use ndarray::Array2;
//! // y = 1 above x = 0.5, 0 below: a single split recovers it.
//! let x = Array2::from_shape_fn((200, 1), |(r, _)| r as f64 / 200.0);
//! let y: Vec<f64> = x.column(0).iter().map(|&v| if v > 0.5 { 1.0 } else { 0.0 }).collect();
//! let forest = RegressionForest::fit(x.view(), &y, None, &TreeParams::default(), 20, 3).unwrap();
//! assert_eq!(forest.predict(&[0.2]), 0.0);
//! assert_eq!(forest.predict(&[0.8]), 1.0);
//! ```

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{Imputer, Incomplete};
use bfly_core::error::{Error, Result};
use bfly_exec::derive_seed;

/// Shape of each tree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeParams {
    /// Deepest level (the root is depth 0).
    pub max_depth: usize,
    /// Fewest (bootstrap) rows in a leaf.
    pub min_leaf: usize,
    /// Predictors tried per split (`None`: a third of them, at least one — the usual
    /// regression-forest default).
    pub max_features: Option<usize>,
    /// Quantile bins per predictor (2..=256).
    pub bins: usize,
}

impl Default for TreeParams {
    /// Depth 12, 5 rows per leaf, p/3 predictors per split, 64 bins.
    fn default() -> Self {
        TreeParams {
            max_depth: 12,
            min_leaf: 5,
            max_features: None,
            bins: 64,
        }
    }
}

/// A node of a [`RegressionTree`].
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Leaf(f64),
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
}

/// One regression tree (nodes in a flat vector, root first).
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionTree {
    nodes: Vec<Node>,
}

impl RegressionTree {
    /// Prediction for one row of predictors.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            match self.nodes[i] {
                Node::Leaf(v) => return v,
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => i = if x[feature] <= threshold { left } else { right },
            }
        }
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf(_)))
            .count()
    }
}

/// Predictors cut into bins once per fit.
struct Binned {
    /// `codes[f][r]`: bin of row `r` (of the training rows) for predictor `f`.
    codes: Vec<Vec<u8>>,
    /// `cuts[f][b]`: upper edge of bin `b` (bins beyond the last cut are open-ended).
    cuts: Vec<Vec<f64>>,
}

impl Binned {
    fn new(x: ArrayView2<f64>, rows: &[usize], bins: usize) -> Binned {
        let (codes, cuts) = (0..x.ncols())
            .into_par_iter()
            .map(|f| {
                let mut v: Vec<f64> = rows.iter().map(|&r| x[[r, f]]).collect();
                v.sort_by(f64::total_cmp);
                let mut distinct = v.clone();
                distinct.dedup();
                let cuts: Vec<f64> = if distinct.len() <= bins {
                    distinct.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect()
                } else {
                    let mut c: Vec<f64> = (1..bins)
                        .map(|k| v[(k * v.len() / bins).min(v.len() - 1)])
                        .collect();
                    c.dedup();
                    // A cut equal to the maximum would leave an empty last bin.
                    if c.last() == v.last() {
                        c.pop();
                    }
                    c
                };
                let codes: Vec<u8> = rows
                    .iter()
                    .map(|&r| cuts.partition_point(|&c| c < x[[r, f]]) as u8)
                    .collect();
                (codes, cuts)
            })
            .unzip();
        Binned { codes, cuts }
    }
}

fn grow_tree(
    binned: &Binned,
    y: &[f64],
    sample: Vec<usize>,
    params: &TreeParams,
    rng: &mut ChaCha8Rng,
) -> RegressionTree {
    let p = binned.codes.len();
    let mtry = params.max_features.unwrap_or((p / 3).max(1)).clamp(1, p);
    let mut nodes = vec![Node::Leaf(0.0)];
    // (node index, rows, depth)
    let mut stack = vec![(0usize, sample, 0usize)];
    let mut features: Vec<usize> = (0..p).collect();
    let nb = params.bins;
    let mut sums = vec![0.0; nb];
    let mut counts = vec![0usize; nb];
    while let Some((id, rows, depth)) = stack.pop() {
        let n = rows.len();
        let total: f64 = rows.iter().map(|&r| y[r]).sum();
        let mean = total / n as f64;
        let constant = rows.iter().all(|&r| y[r] == y[rows[0]]);
        if depth >= params.max_depth || n < 2 * params.min_leaf || constant {
            nodes[id] = Node::Leaf(mean);
            continue;
        }
        // Partial Fisher–Yates: the first `mtry` entries are a random subset.
        for i in 0..mtry {
            let j = rng.random_range(i..p);
            features.swap(i, j);
        }
        // Best split maximises S_L²/n_L + S_R²/n_R (equivalently, least squared error).
        let mut best: Option<(f64, usize, usize)> = None;
        for &f in &features[..mtry] {
            let n_bins = binned.cuts[f].len() + 1;
            if n_bins < 2 {
                continue;
            }
            sums[..n_bins].iter_mut().for_each(|s| *s = 0.0);
            counts[..n_bins].iter_mut().for_each(|c| *c = 0);
            let codes = &binned.codes[f];
            for &r in &rows {
                let b = codes[r] as usize;
                sums[b] += y[r];
                counts[b] += 1;
            }
            let (mut sl, mut nl) = (0.0, 0usize);
            for b in 0..n_bins - 1 {
                sl += sums[b];
                nl += counts[b];
                let nr = n - nl;
                if nl < params.min_leaf || nr < params.min_leaf {
                    continue;
                }
                let sr = total - sl;
                let gain = sl * sl / nl as f64 + sr * sr / nr as f64;
                if best.is_none_or(|(g, _, _)| gain > g + 1e-12 * gain.abs()) {
                    best = Some((gain, f, b));
                }
            }
        }
        let parent = total * total / n as f64;
        match best {
            Some((gain, f, b)) if gain > parent + 1e-12 * parent.abs() => {
                let codes = &binned.codes[f];
                let (left, right): (Vec<usize>, Vec<usize>) =
                    rows.into_iter().partition(|&r| (codes[r] as usize) <= b);
                let (l, r) = (nodes.len(), nodes.len() + 1);
                nodes.push(Node::Leaf(0.0));
                nodes.push(Node::Leaf(0.0));
                nodes[id] = Node::Split {
                    feature: f,
                    threshold: binned.cuts[f][b],
                    left: l,
                    right: r,
                };
                stack.push((r, right, depth + 1));
                stack.push((l, left, depth + 1));
            }
            _ => nodes[id] = Node::Leaf(mean),
        }
    }
    RegressionTree { nodes }
}

/// A bagged forest of [`RegressionTree`]s; the prediction is the mean over trees.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionForest {
    /// The trees.
    pub trees: Vec<RegressionTree>,
}

impl RegressionForest {
    /// Fit `n_trees` trees on bootstrap samples of `rows` (all rows if `None`) of `x`
    /// against `y` (indexed like `x`'s rows), seeded; trees grow in parallel.
    pub fn fit(
        x: ArrayView2<f64>,
        y: &[f64],
        rows: Option<&[usize]>,
        params: &TreeParams,
        n_trees: usize,
        seed: u64,
    ) -> Result<RegressionForest> {
        if n_trees == 0 || params.min_leaf == 0 || !(2..=256).contains(&params.bins) {
            return Err(Error::Imputation(format!(
                "a forest needs ≥ 1 tree, min_leaf ≥ 1 and 2..=256 bins (got {n_trees} trees, min_leaf {}, {} bins)",
                params.min_leaf, params.bins
            )));
        }
        if x.ncols() == 0 {
            return Err(Error::Imputation(
                "a forest needs at least one predictor".into(),
            ));
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
                "a forest needs at least one training row".into(),
            ));
        }
        let binned = Binned::new(x, rows, params.bins);
        let ys: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
        let n = rows.len();
        let trees = (0..n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0xf0e5, t as u64));
                let sample: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
                grow_tree(&binned, &ys, sample, params, &mut rng)
            })
            .collect();
        Ok(RegressionForest { trees })
    }

    /// Mean prediction of the trees for one row of predictors.
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.trees.iter().map(|t| t.predict(x)).sum::<f64>() / self.trees.len() as f64
    }
}

/// MissForest: start from the column means; then, sweep after sweep, fit a random forest
/// for each incomplete column (fewest missing first) on the rows where it is present,
/// using all other columns, and replace its missing cells by the forest's predictions.
/// Stops when the normalised change `Σ(new − old)² / Σ new²` over the imputed cells grows
/// (returning the previous sweep, as the original algorithm) or after `max_iterations`.
#[derive(Clone, Copy, Debug)]
pub struct MissForest {
    /// Most sweeps.
    pub max_iterations: usize,
    /// Trees per forest.
    pub n_trees: usize,
    /// Tree shape.
    pub tree: TreeParams,
}

impl Default for MissForest {
    /// 4 sweeps of 25-tree forests with [`TreeParams::default`] (missForest's defaults
    /// are 10 sweeps of 100 trees; its stopping rule usually ends by sweep 4, and 25 trees
    /// keep the 10-seed study within minutes).
    fn default() -> Self {
        MissForest {
            max_iterations: 4,
            n_trees: 25,
            tree: TreeParams::default(),
        }
    }
}

impl Imputer for MissForest {
    fn name(&self) -> String {
        "MissForest".into()
    }

    fn impute(&self, data: &Incomplete, seed: u64) -> Result<Array2<f64>> {
        if self.max_iterations == 0 {
            return Err(Error::Imputation(
                "MissForest needs at least one iteration".into(),
            ));
        }
        let mut filled = data.mean_filled()?;
        let columns = data.incomplete_columns();
        let p = data.n_cols();
        let sds = data.column_sds()?;
        let mut previous_change = f64::INFINITY;
        for sweep in 0..self.max_iterations {
            let before = filled.clone();
            for (k, &c) in columns.iter().enumerate() {
                let observed = data.observed_rows(c);
                let others: Vec<usize> = (0..p).filter(|&j| j != c).collect();
                let x = filled.select(Axis(1), &others);
                let y: Vec<f64> = filled.column(c).to_vec();
                let forest = RegressionForest::fit(
                    x.view(),
                    &y,
                    Some(&observed),
                    &self.tree,
                    self.n_trees,
                    derive_seed(seed, sweep as u64, k as u64),
                )?;
                for r in data.missing_rows(c) {
                    let row: Vec<f64> = x.row(r).to_vec();
                    filled[[r, c]] = forest.predict(&row);
                }
            }
            // Change over the imputed cells, each column in its own standard deviations.
            let (mut num, mut den) = (0.0, 0.0);
            for &c in &columns {
                for r in data.missing_rows(c) {
                    num += ((filled[[r, c]] - before[[r, c]]) / sds[c]).powi(2);
                    den += (filled[[r, c]] / sds[c]).powi(2);
                }
            }
            let change = if den > 0.0 { num / den } else { 0.0 };
            if change > previous_change {
                return Ok(before);
            }
            previous_change = change;
        }
        Ok(filled)
    }
}
