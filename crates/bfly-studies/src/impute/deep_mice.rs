//! Deep MICE: chained equations whose regressions are small multilayer perceptrons.
//!
//! Starts from the MICE imputation (linear chained equations), then runs `sweeps` more
//! sweeps in which each incomplete column (fewest missing first) is predicted from all
//! the others by a one-hidden-layer ReLU network with a linear skip connection (a ridge
//! regression; the network learns its residual and starts near zero), trained with Adam
//! ([`bfly_train::Optimizer`], the training stack's optimiser)
//! on the rows where the column is present (standardised inputs and target, 10 % of those
//! rows held out for early stopping, which keeps the best epoch, the start included).
//! Each column keeps its network across sweeps (warm start).
//!
//! ```
//! use bfly_studies::impute::{DeepMice, Imputer, Incomplete};
//! use ndarray::Array2;
//! // b = a², which a linear regression cannot represent; a third of b is hidden.
//! let v = Array2::from_shape_fn((600, 2), |(r, c)| {
//!     let a = (r % 41) as f64 / 10.0 - 2.0;
//!     if c == 0 { a } else if r % 3 == 0 { f64::NAN } else { a * a }
//! });
//! let data = Incomplete::new(vec!["a".into(), "b".into()], v).unwrap();
//! let deep = DeepMice { epochs: 40, patience: 8, ..Default::default() };
//! let out = deep.impute(&data, 1).unwrap();
//! let err = |m: &Array2<f64>| (0..600).step_by(3).map(|r| (m[[r, 1]] - m[[r, 0]].powi(2)).abs()).sum::<f64>() / 200.0;
//! let linear = bfly_studies::impute::Mice::default().impute(&data, 1).unwrap();
//! assert!(err(&out) < 0.5 * err(&linear), "deep {} vs linear {}", err(&out), err(&linear));
//! ```

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::linear::{standardisation, Ridge};
use super::{Imputer, Incomplete, Mice};
use bfly_core::error::{Error, Result};
use bfly_exec::derive_seed;
use bfly_train::data::dataset::shuffle;
use bfly_train::{Optimizer, OptimizerState};

/// Chained one-hidden-layer MLPs, started from MICE.
#[derive(Clone, Copy, Debug)]
pub struct DeepMice {
    /// MLP sweeps after the MICE start.
    pub sweeps: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Most epochs per fit (early stopping may end sooner).
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// L2 penalty on the weights.
    pub weight_decay: f64,
    /// Epochs without validation improvement before a fit stops.
    pub patience: usize,
    /// The linear start.
    pub start: Mice,
}

impl Default for DeepMice {
    /// 2 sweeps, 32 hidden units, ≤ 12 epochs, batch 64, Adam(3e-3), decay 1e-4,
    /// patience 3.
    fn default() -> Self {
        DeepMice {
            sweeps: 2,
            hidden: 32,
            epochs: 12,
            batch_size: 64,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            patience: 3,
            start: Mice::default(),
        }
    }
}

/// `y = w2 · relu(W1 x + b1) + b2`.
#[derive(Clone, Debug)]
struct Mlp {
    inputs: usize,
    hidden: usize,
    /// `[W1 (hidden × inputs), b1, w2, b2]`, flat.
    params: Vec<f64>,
}

impl Mlp {
    fn new(inputs: usize, hidden: usize, rng: &mut ChaCha8Rng) -> Mlp {
        let len = hidden * inputs + hidden + hidden + 1;
        let mut params = vec![0.0; len];
        let s1 = (6.0 / inputs as f64).sqrt();
        let s2 = (6.0 / hidden as f64).sqrt() * 0.05;
        for w in &mut params[..hidden * inputs] {
            *w = s1 * (2.0 * rng.random::<f64>() - 1.0);
        }
        let w2 = hidden * inputs + hidden;
        for w in &mut params[w2..w2 + hidden] {
            *w = s2 * (2.0 * rng.random::<f64>() - 1.0);
        }
        Mlp {
            inputs,
            hidden,
            params,
        }
    }

    fn forward(&self, x: &[f64], h: &mut [f64]) -> f64 {
        let (m, hn) = (self.inputs, self.hidden);
        let (w1, rest) = self.params.split_at(hn * m);
        let (b1, rest) = rest.split_at(hn);
        let (w2, b2) = rest.split_at(hn);
        let mut out = b2[0];
        for j in 0..hn {
            let a: f64 = w1[j * m..(j + 1) * m]
                .iter()
                .zip(x)
                .map(|(w, v)| w * v)
                .sum::<f64>()
                + b1[j];
            h[j] = a.max(0.0);
            out += w2[j] * h[j];
        }
        out
    }

    /// Adds the gradient of `½(y − t)²` at `x` into `g`.
    fn backward(&self, x: &[f64], t: f64, h: &mut [f64], g: &mut [f64]) -> f64 {
        let (m, hn) = (self.inputs, self.hidden);
        let y = self.forward(x, h);
        let d = y - t;
        let w2 = &self.params[hn * m + hn..hn * m + 2 * hn];
        for j in 0..hn {
            g[hn * m + hn + j] += d * h[j];
            if h[j] > 0.0 {
                let dj = d * w2[j];
                g[hn * m + j] += dj;
                for (gw, v) in g[j * m..(j + 1) * m].iter_mut().zip(x) {
                    *gw += dj * v;
                }
            }
        }
        g[hn * m + 2 * hn] += d;
        0.5 * d * d
    }
}

impl DeepMice {
    #[allow(clippy::too_many_arguments)]
    fn train(
        &self,
        net: &mut Mlp,
        z: &Array2<f64>,
        t: &[f64],
        train: &[usize],
        val: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> Result<()> {
        let len = net.params.len();
        let adam = Optimizer::adam(self.learning_rate);
        let mut state = OptimizerState::new(len);
        let mut grad = vec![0.0; len];
        let mut h = vec![0.0; net.hidden];
        let mut g = vec![0.0; len];
        let val_loss = |net: &Mlp, h: &mut [f64]| -> f64 {
            val.iter()
                .map(|&r| {
                    let y = net.forward(z.row(r).as_slice().expect("standard layout"), h);
                    (y - t[r]).powi(2)
                })
                .sum::<f64>()
                / val.len().max(1) as f64
        };
        let mut best = (val_loss(net, &mut h), net.params.clone());
        let mut stale = 0;
        let mut order = train.to_vec();
        let n_weights = net.hidden * net.inputs;
        for _ in 0..self.epochs {
            shuffle(&mut order, rng);
            for batch in order.chunks(self.batch_size) {
                g.iter_mut().for_each(|v| *v = 0.0);
                for &r in batch {
                    net.backward(
                        z.row(r).as_slice().expect("standard layout"),
                        t[r],
                        &mut h,
                        &mut g,
                    );
                }
                // Mean gradient of the batch, plus the L2 penalty on the weights.
                let scale = 1.0 / batch.len() as f64;
                for (i, (gi, sum)) in grad.iter_mut().zip(&g).enumerate() {
                    *gi = sum * scale;
                    if i < n_weights {
                        *gi += self.weight_decay * net.params[i];
                    }
                }
                adam.step(&mut state, &mut net.params, &grad)
                    .map_err(|e| Error::Imputation(format!("Deep MICE: {e}")))?;
            }
            if val.is_empty() {
                continue;
            }
            let loss = val_loss(net, &mut h);
            if loss < best.0 {
                best = (loss, net.params.clone());
                stale = 0;
            } else {
                stale += 1;
                if stale >= self.patience {
                    break;
                }
            }
        }
        if !val.is_empty() {
            net.params = best.1;
        }
        Ok(())
    }
}

impl Imputer for DeepMice {
    fn name(&self) -> String {
        "Deep MICE".into()
    }

    fn impute(&self, data: &Incomplete, seed: u64) -> Result<Array2<f64>> {
        if self.hidden == 0 || self.batch_size == 0 || self.epochs == 0 {
            return Err(Error::Imputation(
                "Deep MICE needs ≥ 1 hidden unit, batch size ≥ 1 and ≥ 1 epoch".into(),
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(Error::Imputation(format!(
                "Deep MICE learning rate must be positive, got {}",
                self.learning_rate
            )));
        }
        let start = self.start.impute(data, seed)?;
        self.refine(data, start, seed)
    }
}

impl DeepMice {
    /// The MLP sweeps from an existing completion `filled` of `data` (normally MICE's).
    pub fn refine(
        &self,
        data: &Incomplete,
        mut filled: Array2<f64>,
        seed: u64,
    ) -> Result<Array2<f64>> {
        data.check_completed(&filled, "the Deep MICE start")?;
        let columns = data.incomplete_columns();
        let p = data.n_cols();
        let mut nets: Vec<Option<Mlp>> = vec![None; p];
        for sweep in 0..self.sweeps {
            for (k, &c) in columns.iter().enumerate() {
                let mut rng =
                    ChaCha8Rng::seed_from_u64(derive_seed(seed, 0xdee9 + sweep as u64, k as u64));
                let others: Vec<usize> = (0..p).filter(|&j| j != c).collect();
                let x = filled.select(Axis(1), &others);
                let observed = data.observed_rows(c);
                let (mean, sd) = standardisation(x.view(), Some(&observed));
                let z = Array2::from_shape_fn(x.dim(), |(r, j)| (x[[r, j]] - mean[j]) / sd[j]);
                let y = filled.column(c);
                let ym = observed.iter().map(|&r| y[r]).sum::<f64>() / observed.len() as f64;
                let ys = (observed.iter().map(|&r| (y[r] - ym).powi(2)).sum::<f64>()
                    / observed.len() as f64)
                    .sqrt()
                    .max(1e-12);
                let mut rows = observed.clone();
                shuffle(&mut rows, &mut rng);
                let n_val = rows.len() / 10;
                let (val, train) = rows.split_at(n_val);
                // Linear skip connection: the network learns the residual of a ridge
                // regression fitted on the training rows, so it starts at (and early
                // stopping keeps it no worse than) the linear chained equation.
                let ys_vec: Vec<f64> = y.iter().map(|v| (v - ym) / ys).collect();
                let linear = Ridge::fit(z.view(), &ys_vec, Some(train), self.start.ridge)?;
                let base: Vec<f64> = (0..z.nrows()).map(|r| linear.predict(z.row(r))).collect();
                let t: Vec<f64> = ys_vec.iter().zip(&base).map(|(v, b)| v - b).collect();
                let net = nets[c].get_or_insert_with(|| Mlp::new(p - 1, self.hidden, &mut rng));
                self.train(net, &z, &t, train, val, &mut rng)?;
                let (lo, hi) = observed
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                        (lo.min(y[r]), hi.max(y[r]))
                    });
                let mut h = vec![0.0; self.hidden];
                let preds: Vec<(usize, f64)> = data
                    .missing_rows(c)
                    .into_iter()
                    .map(|r| {
                        let v = base[r]
                            + net.forward(z.row(r).as_slice().expect("standard layout"), &mut h);
                        (r, (v * ys + ym).clamp(lo, hi))
                    })
                    .collect();
                for (r, v) in preds {
                    filled[[r, c]] = v;
                }
            }
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small seeded fit: a few imputed cells and a fold of every cell's bits.
    fn small_fit() -> (Vec<u64>, u64) {
        let v = Array2::from_shape_fn((240, 3), |(r, c)| {
            let a = (r % 37) as f64 / 9.0 - 2.0;
            let b = ((r * 7) % 23) as f64 / 5.0 - 2.3;
            match c {
                0 => a,
                1 if r % 4 == 1 => f64::NAN,
                1 => a * a - 0.5 * b,
                _ if r % 5 == 2 => f64::NAN,
                _ => b + (a * b).sin(),
            }
        });
        let data = Incomplete::new(vec!["a".into(), "b".into(), "c".into()], v).unwrap();
        let deep = DeepMice {
            hidden: 6,
            epochs: 6,
            batch_size: 16,
            patience: 2,
            ..Default::default()
        };
        let out = deep.impute(&data, 7).unwrap();
        let cells = [(1, 1), (5, 1), (2, 2), (237, 2), (233, 1)]
            .iter()
            .map(|&(r, c)| out[[r, c]].to_bits())
            .collect();
        let fold = out.iter().fold(0u64, |h, v| h.rotate_left(5) ^ v.to_bits());
        (cells, fold)
    }

    /// The values were recorded with Deep MICE's former Adam of its own; the project's
    /// `Optimizer::adam` (same β₁, β₂, ε, bias correction and operation order) reproduces
    /// them bit for bit.
    #[test]
    fn the_shared_adam_reproduces_the_former_fit_bit_for_bit() {
        let (cells, fold) = small_fit();
        assert_eq!(
            cells,
            [
                4612105978959123020,
                4611546665345211023,
                13825392378503997322,
                13820399331570998381,
                4607532723957353299
            ]
        );
        assert_eq!(fold, 11213948225780181310);
    }
}
