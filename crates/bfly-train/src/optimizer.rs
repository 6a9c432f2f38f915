//! Optimisers: Adam and SGD (with momentum), with their state as plain data so a
//! checkpoint can hold it and a resumed run continues bit-identically.
//!
//! ```
//! use bfly_train::{Optimizer, OptimizerState};
//! // Minimise (x − 3)² with Adam.
//! let opt = Optimizer::adam(0.1);
//! let mut state = OptimizerState::new(1);
//! let mut x = vec![0.0];
//! for _ in 0..500 {
//!     let g = vec![2.0 * (x[0] - 3.0)];
//!     opt.step(&mut state, &mut x, &g).unwrap();
//! }
//! assert!((x[0] - 3.0).abs() < 1e-3);
//! ```

use serde::{Deserialize, Serialize};

use bfly_core::error::{Error, Result};

/// An update rule and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Optimizer {
    /// Adam (Kingma & Ba) with bias correction.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Denominator guard.
        eps: f64,
    },
    /// Stochastic gradient descent with (heavy-ball) momentum.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0 = plain SGD).
        momentum: f64,
    },
}

impl Optimizer {
    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn adam(lr: f64) -> Self {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Plain SGD.
    pub fn sgd(lr: f64) -> Self {
        Optimizer::Sgd { lr, momentum: 0.0 }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Adam { lr, .. } | Optimizer::Sgd { lr, .. } => *lr,
        }
    }

    /// Check hyper-parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64| {
            Err(Error::InvalidInput(format!(
                "optimizer {what} = {v} is out of range"
            )))
        };
        match *self {
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                if !(lr > 0.0 && lr.is_finite()) {
                    return bad("learning rate", lr);
                }
                if !(0.0..1.0).contains(&beta1) {
                    return bad("beta1", beta1);
                }
                if !(0.0..1.0).contains(&beta2) {
                    return bad("beta2", beta2);
                }
                if !(eps > 0.0 && eps.is_finite()) {
                    return bad("eps", eps);
                }
            }
            Optimizer::Sgd { lr, momentum } => {
                if !(lr > 0.0 && lr.is_finite()) {
                    return bad("learning rate", lr);
                }
                if !(0.0..1.0).contains(&momentum) {
                    return bad("momentum", momentum);
                }
            }
        }
        Ok(())
    }

    /// One update of `params` with gradient `grad` (`lr_scale` multiplies the rate).
    pub fn step(&self, state: &mut OptimizerState, params: &mut [f64], grad: &[f64]) -> Result<()> {
        self.step_scaled(state, params, grad, 1.0)
    }

    /// One update with the learning rate multiplied by `lr_scale`.
    pub fn step_scaled(
        &self,
        state: &mut OptimizerState,
        params: &mut [f64],
        grad: &[f64],
        lr_scale: f64,
    ) -> Result<()> {
        if params.len() != grad.len() || state.m.len() != params.len() {
            return Err(Error::InvalidInput(format!(
                "optimizer: {} parameters, {} gradients, state for {}",
                params.len(),
                grad.len(),
                state.m.len()
            )));
        }
        if let Some(i) = grad.iter().position(|g| !g.is_finite()) {
            return Err(Error::Training(format!(
                "gradient entry {i} is {}; lower the learning rate or check the data",
                grad[i]
            )));
        }
        state.t += 1;
        match *self {
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let lr = lr * lr_scale;
                let t = state.t as i32;
                let c1 = 1.0 - beta1.powi(t);
                let c2 = 1.0 - beta2.powi(t);
                for i in 0..params.len() {
                    let g = grad[i];
                    state.m[i] = beta1 * state.m[i] + (1.0 - beta1) * g;
                    state.v[i] = beta2 * state.v[i] + (1.0 - beta2) * g * g;
                    let mh = state.m[i] / c1;
                    let vh = state.v[i] / c2;
                    params[i] -= lr * mh / (vh.sqrt() + eps);
                }
            }
            Optimizer::Sgd { lr, momentum } => {
                let lr = lr * lr_scale;
                for i in 0..params.len() {
                    state.m[i] = momentum * state.m[i] + grad[i];
                    params[i] -= lr * state.m[i];
                }
            }
        }
        Ok(())
    }
}

/// Moments and step count (Adam uses `m`, `v`; SGD uses `m` as velocity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Steps taken.
    pub t: u64,
    /// First moment / velocity.
    pub m: Vec<f64>,
    /// Second moment.
    pub v: Vec<f64>,
}

impl OptimizerState {
    /// Zero state for `len` parameters.
    pub fn new(len: usize) -> Self {
        OptimizerState {
            t: 0,
            m: vec![0.0; len],
            v: vec![0.0; len],
        }
    }
}
