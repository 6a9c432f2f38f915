//! The classical counterpart of the hybrid imputer: the same network with the Butterfly
//! replaced by a dense layer.
//!
//! The hybrid model is `x → standardise → pre-layer z = W₁x + b₁ (n units) → u = z/|z|
//! → p = (B u)² (B the Butterfly, orthogonal) → head w·[p, |z|] + b`. This network is
//! the same with `B` an unconstrained dense `n × n` matrix `V` (started at the identity
//! plus uniform noise of ±0.1, as the Butterfly starts near the identity with angles
//! drawn from ±0.1): same width `n`, same pre-layer and head and their initialisation,
//! same data (the target's present rows of the MICE completion, the same subsample
//! cap), same optimiser (Adam, the hybrid's learning rate and batch size), same
//! validation split and patience. The hybrid trains layer-wise for at most
//! `epochs_per_stage` per Butterfly layer and then fine-tunes; with no layers to add,
//! this network trains every parameter for at most
//! `layers · epochs_per_stage + finetune_epochs` epochs, the same total, with early
//! stopping keeping the best validation epoch. Every other column is MICE's.
//!
//! ```
//! use bfly_studies::impute::{DenseNet, Imputer, Incomplete};
//! use ndarray::Array2;
//! // c = a + b with a quarter of c hidden.
//! let v = Array2::from_shape_fn((300, 3), |(r, j)| {
//!     let (a, b) = ((r % 13) as f64 / 6.0 - 1.0, (r % 7) as f64 / 3.0 - 1.0);
//!     match j { 0 => a, 1 => b, _ if r % 4 == 0 => f64::NAN, _ => a + b }
//! });
//! let data = Incomplete::new(vec!["a".into(), "b".into(), "c".into()], v).unwrap();
//! let mut net = DenseNet::new("c", 8);
//! net.config.epochs_per_stage = 15;
//! let out = net.impute(&data, 3).unwrap();
//! let rmse = ((0..300).step_by(4).map(|r| (out[[r, 2]] - out[[r, 0]] - out[[r, 1]]).powi(2)).sum::<f64>() / 75.0).sqrt();
//! assert!(rmse < 0.25, "rmse {rmse}");
//! ```

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::hybrid::HybridConfig;
use super::{Imputer, Incomplete, Mice};
use bfly_core::error::{Error, Result};
use bfly_exec::derive_seed;
use bfly_train::data::dataset::shuffle;
use bfly_train::{Optimizer, OptimizerState};

/// The dense-layer network of the hybrid's width imputing one column (see the [module
/// docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct DenseNet {
    /// The column it imputes.
    pub target: String,
    /// Width and training, shared with the hybrid it is compared with (`qubits` is the
    /// width `n`; `layers` sets the epoch budget).
    pub config: HybridConfig,
    /// Name in reports (`None`: "dense NN {n}").
    pub label: Option<String>,
}

/// Flat parameters: `[W₁ (n×m), b₁ (n), V (n×n), w (n+1), b]`.
struct Net {
    n: usize,
    m: usize,
    params: Vec<f64>,
}

impl Net {
    fn offsets(&self) -> (usize, usize, usize, usize) {
        let (n, m) = (self.n, self.m);
        let b1 = n * m;
        let v = b1 + n;
        let w = v + n * n;
        (b1, v, w, w + n + 1)
    }

    fn new(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Net {
        let len = n * m + n + n * n + n + 2;
        let mut net = Net {
            n,
            m,
            params: vec![0.0; len],
        };
        let (b1, v, w, _) = net.offsets();
        let sd = 1.0 / (m as f64).sqrt();
        for p in &mut net.params[..b1] {
            // Box–Muller: a standard normal from two uniforms.
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
            *p = sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        }
        for i in 0..n {
            for j in 0..n {
                net.params[v + i * n + j] =
                    f64::from(i == j) + 0.1 * (2.0 * rng.random::<f64>() - 1.0);
            }
        }
        for p in &mut net.params[w..w + n + 1] {
            *p = 0.1 * (2.0 * rng.random::<f64>() - 1.0);
        }
        net
    }

    /// Output, and the intermediate values the gradient needs: `(z, r, u, a)`.
    fn forward(&self, x: &[f64]) -> (f64, Vec<f64>, f64, Vec<f64>, Vec<f64>) {
        let (n, m) = (self.n, self.m);
        let (b1, v, w, b) = self.offsets();
        let p = &self.params;
        let z: Vec<f64> = (0..n)
            .map(|i| {
                p[i * m..(i + 1) * m]
                    .iter()
                    .zip(x)
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    + p[b1 + i]
            })
            .collect();
        let r = z.iter().map(|t| t * t).sum::<f64>().sqrt();
        let u: Vec<f64> = if r > 0.0 {
            z.iter().map(|t| t / r).collect()
        } else {
            (0..n).map(|i| f64::from(i == 0)).collect()
        };
        let a: Vec<f64> = (0..n)
            .map(|i| {
                p[v + i * n..v + (i + 1) * n]
                    .iter()
                    .zip(&u)
                    .map(|(s, t)| s * t)
                    .sum()
            })
            .collect();
        let y = a
            .iter()
            .zip(&p[w..w + n])
            .map(|(ai, wi)| wi * ai * ai)
            .sum::<f64>()
            + p[w + n] * r
            + p[b];
        (y, z, r, u, a)
    }

    /// Adds the gradient of `½(y − t)²` into `g`; returns the loss.
    fn backward(&self, x: &[f64], t: f64, g: &mut [f64]) -> f64 {
        let (n, m) = (self.n, self.m);
        let (b1, v, w, b) = self.offsets();
        let p = &self.params;
        let (y, _z, r, u, a) = self.forward(x);
        let d = y - t;
        let mut du = vec![0.0; n];
        for i in 0..n {
            g[w + i] += d * a[i] * a[i];
            let da = d * p[w + i] * 2.0 * a[i];
            for j in 0..n {
                g[v + i * n + j] += da * u[j];
                du[j] += p[v + i * n + j] * da;
            }
        }
        g[w + n] += d * r;
        g[b] += d;
        let dr = d * p[w + n];
        if r > 0.0 {
            let udu: f64 = u.iter().zip(&du).map(|(a, b)| a * b).sum();
            for i in 0..n {
                let dz = (du[i] - u[i] * udu) / r + dr * u[i];
                g[b1 + i] += dz;
                for (gw, xv) in g[i * m..(i + 1) * m].iter_mut().zip(x) {
                    *gw += dz * xv;
                }
            }
        }
        0.5 * d * d
    }
}

impl DenseNet {
    /// The network of width `n` for column `target`, with the hybrid's default training
    /// ([`HybridConfig::new`]).
    pub fn new(target: &str, n: usize) -> Self {
        DenseNet {
            target: target.to_string(),
            config: HybridConfig::new(n),
            label: None,
        }
    }

    /// Impute the target column starting from `base` (a completion of `data`, normally
    /// MICE's, whose other columns are kept).
    pub fn complete(
        &self,
        data: &Incomplete,
        base: &Array2<f64>,
        seed: u64,
    ) -> Result<Array2<f64>> {
        data.check_completed(base, "the base imputer")?;
        let c = &self.config;
        if c.qubits == 0
            || c.batch_size == 0
            || !(c.learning_rate.is_finite() && c.learning_rate > 0.0)
        {
            return Err(Error::Imputation(format!(
                "{}: needs width ≥ 1, batch size ≥ 1 and a positive learning rate",
                self.name()
            )));
        }
        let t = data.column_index(&self.target)?;
        let others: Vec<usize> = (0..data.n_cols()).filter(|&j| j != t).collect();
        if others.is_empty() {
            return Err(Error::Imputation(format!(
                "{}: needs at least one column besides its target",
                self.name()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0xde45, 0));
        let mut rows = data.observed_rows(t);
        if let Some(max) = c.max_train_rows {
            if rows.len() > max {
                shuffle(&mut rows, &mut rng);
                rows.truncate(max);
                rows.sort_unstable();
            }
        }
        if rows.len() < 10 {
            return Err(Error::Imputation(format!(
                "column \"{}\" has {} present values; {} needs at least 10 to learn from",
                self.target,
                rows.len(),
                self.name()
            )));
        }
        let x_all = base.select(Axis(1), &others);
        let m = others.len();
        // Standardisation fitted on the training rows, as the hybrid's scaling.
        let (mean, sd): (Vec<f64>, Vec<f64>) = (0..m)
            .map(|j| {
                let mu = rows.iter().map(|&r| x_all[[r, j]]).sum::<f64>() / rows.len() as f64;
                let var = rows
                    .iter()
                    .map(|&r| (x_all[[r, j]] - mu).powi(2))
                    .sum::<f64>()
                    / rows.len() as f64;
                (mu, if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 })
            })
            .unzip();
        let xs =
            |r: usize| -> Vec<f64> { (0..m).map(|j| (x_all[[r, j]] - mean[j]) / sd[j]).collect() };
        let ym = rows.iter().map(|&r| base[[r, t]]).sum::<f64>() / rows.len() as f64;
        let ys = (rows
            .iter()
            .map(|&r| (base[[r, t]] - ym).powi(2))
            .sum::<f64>()
            / rows.len() as f64)
            .sqrt()
            .max(1e-12);
        let mut order = rows.clone();
        shuffle(&mut order, &mut rng);
        let n_val = (c.validation_fraction * order.len() as f64).round() as usize;
        let (val, train) = order.split_at(n_val.min(order.len() - 1));
        let data_of = |rs: &[usize]| -> Vec<(Vec<f64>, f64)> {
            rs.iter()
                .map(|&r| (xs(r), (base[[r, t]] - ym) / ys))
                .collect()
        };
        let train = data_of(train);
        let val = data_of(val);
        let mut net = Net::new(c.qubits, m, &mut rng);
        let adam = Optimizer::adam(c.learning_rate);
        let mut state = OptimizerState::new(net.params.len());
        let mut g = vec![0.0; net.params.len()];
        let val_loss = |net: &Net| {
            val.iter()
                .map(|(x, y)| (net.forward(x).0 - y).powi(2))
                .sum::<f64>()
                / val.len().max(1) as f64
        };
        let mut best = (val_loss(&net), net.params.clone());
        let mut stale = 0;
        let epochs = c.n_layers() * c.epochs_per_stage + c.finetune_epochs;
        let mut idx: Vec<usize> = (0..train.len()).collect();
        for _ in 0..epochs {
            shuffle(&mut idx, &mut rng);
            for batch in idx.chunks(c.batch_size) {
                g.iter_mut().for_each(|v| *v = 0.0);
                for &i in batch {
                    net.backward(&train[i].0, train[i].1, &mut g);
                }
                let scale = 1.0 / batch.len() as f64;
                g.iter_mut().for_each(|v| *v *= scale);
                adam.step(&mut state, &mut net.params, &g)
                    .map_err(|e| Error::Imputation(format!("{}: {e}", self.name())))?;
            }
            if val.is_empty() {
                continue;
            }
            let loss = val_loss(&net);
            if loss < best.0 {
                best = (loss, net.params.clone());
                stale = 0;
            } else {
                stale += 1;
                if c.patience.is_some_and(|p| stale >= p) {
                    break;
                }
            }
        }
        if !val.is_empty() {
            net.params = best.1;
        }
        let observed = data.observed_rows(t);
        let (lo, hi) = observed
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                (lo.min(data.values[[r, t]]), hi.max(data.values[[r, t]]))
            });
        let mut out = base.clone();
        for r in data.missing_rows(t) {
            let v = net.forward(&xs(r)).0 * ys + ym;
            if !v.is_finite() {
                return Err(Error::Imputation(format!(
                    "{} predicted {v} for row {r}",
                    self.name()
                )));
            }
            out[[r, t]] = v.clamp(lo, hi);
        }
        Ok(out)
    }
}

impl Imputer for DenseNet {
    fn name(&self) -> String {
        self.label
            .clone()
            .unwrap_or_else(|| format!("dense NN {}", self.config.qubits))
    }

    fn impute(&self, data: &Incomplete, seed: u64) -> Result<Array2<f64>> {
        let base = Mice::default().impute(data, seed)?;
        self.complete(data, &base, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written gradient matches central differences.
    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let net = Net::new(4, 3, &mut rng);
        let x = [0.3, -1.2, 0.7];
        let t = 0.4;
        let mut g = vec![0.0; net.params.len()];
        net.backward(&x, t, &mut g);
        let loss = |p: &[f64]| {
            let n2 = Net {
                n: 4,
                m: 3,
                params: p.to_vec(),
            };
            0.5 * (n2.forward(&x).0 - t).powi(2)
        };
        for i in 0..net.params.len() {
            let mut p = net.params.clone();
            p[i] += 1e-6;
            let up = loss(&p);
            p[i] -= 2e-6;
            let down = loss(&p);
            let fd = (up - down) / 2e-6;
            assert!(
                (fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "param {i}: {fd} vs {}",
                g[i]
            );
        }
    }
}
