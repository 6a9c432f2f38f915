//! Exact gradients by reverse mode through the unary orthogonal map (simulation only).
//!
//! On the weight-1 subspace a Butterfly is `y = W u` with `W` a product of 2×2 rotations:
//! gate `j` on `(a, b)` maps `(y_a, y_b) → (c y_a − s y_b, s y_a + c y_b)` (the RBS
//! convention, `e_a → cos θ e_a + sin θ e_b`). With `g = ∂L/∂y` after the gate,
//! `∂L/∂θ_j = −g_a y'_b + g_b y'_a`, and `g` is pulled back by the transpose rotation.
//! Walking the gates backwards and undoing each rotation on `y` (orthogonal: exact up to
//! rounding) gives every `∂L/∂θ` and `∂L/∂u` in `O(n log n)` time and `O(n)` memory.
//!
//! ```
//! use bfly_core::circuit::{Butterfly, LayerOrdering};
//! use bfly_train::gradient::exact::UnaryButterfly;
//! let b = Butterfly::new(8, 3, LayerOrdering::CouplingFirst).unwrap();
//! let kernel = UnaryButterfly::new(&b);
//! let theta: Vec<f64> = (0..12).map(|i| 0.1 * i as f64).collect();
//! let rot = kernel.rotations(&theta).unwrap();
//! let mut y = vec![0.0; 8];
//! y[0] = 1.0;
//! kernel.forward(&rot, &mut y);
//! // L = y_3: the adjoint gives ∂L/∂θ for all 12 angles and ∂L/∂u.
//! let mut g = vec![0.0; 8];
//! g[3] = 1.0;
//! let mut dtheta = vec![0.0; 12];
//! kernel.adjoint(&rot, &mut y, &mut g, &mut dtheta);
//! assert!((y[0] - 1.0).abs() < 1e-14); // y is restored to the input
//! ```

use super::{GradientCost, GradientEstimator, GradientMethod, QuantumGradient, QuantumProblem};
use bfly_core::circuit::Butterfly;
use bfly_core::error::{Error, Result};
use bfly_exec::{Executor, ShotPlan};

/// A Butterfly's gate list on the unary subspace, in application (= slot) order.
#[derive(Clone, Debug, PartialEq)]
pub struct UnaryButterfly {
    n: usize,
    /// `(a, b)` of every gate; gate `k` uses trainable slot `k`.
    pairs: Vec<(usize, usize)>,
}

/// `cos θ` and `sin θ` of every gate, computed once per parameter update.
#[derive(Clone, Debug, PartialEq)]
pub struct Rotations {
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl UnaryButterfly {
    /// The kernel of `butterfly` (slots `0..n_params()`, layer-major).
    pub fn new(butterfly: &Butterfly) -> Self {
        let pairs = (0..butterfly.layers)
            .flat_map(|l| butterfly.layer_pairs(l))
            .collect();
        UnaryButterfly {
            n: butterfly.qubits,
            pairs,
        }
    }

    /// Number of qubits (vector length).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of gates (= trainable angles).
    pub fn n_gates(&self) -> usize {
        self.pairs.len()
    }

    /// Precompute the rotations for angles `theta` (one per gate).
    pub fn rotations(&self, theta: &[f64]) -> Result<Rotations> {
        if theta.len() != self.pairs.len() {
            return Err(Error::InvalidInput(format!(
                "the Butterfly has {} angles, got {}",
                self.pairs.len(),
                theta.len()
            )));
        }
        let (sin, cos) = theta.iter().map(|t| t.sin_cos()).unzip();
        Ok(Rotations { cos, sin })
    }

    /// `y ← W y` in place.
    pub fn forward(&self, rot: &Rotations, y: &mut [f64]) {
        for (k, &(a, b)) in self.pairs.iter().enumerate() {
            let (c, s) = (rot.cos[k], rot.sin[k]);
            let (ya, yb) = (y[a], y[b]);
            y[a] = c * ya - s * yb;
            y[b] = s * ya + c * yb;
        }
    }

    /// Reverse mode. On entry `y = W u` (the output) and `g = ∂L/∂y`; on exit `y = u`,
    /// `g = ∂L/∂u`, and `∂L/∂θ_k` has been **added** to `dtheta[k]`.
    pub fn adjoint(&self, rot: &Rotations, y: &mut [f64], g: &mut [f64], dtheta: &mut [f64]) {
        for (k, &(a, b)) in self.pairs.iter().enumerate().rev() {
            let (c, s) = (rot.cos[k], rot.sin[k]);
            let (ya, yb) = (y[a], y[b]);
            let (ga, gb) = (g[a], g[b]);
            dtheta[k] += gb * ya - ga * yb;
            y[a] = c * ya + s * yb;
            y[b] = c * yb - s * ya;
            g[a] = c * ga + s * gb;
            g[b] = c * gb - s * ga;
        }
    }
}

/// The exact estimator: reverse mode through the unary map, per sample, in simulation.
///
/// It never calls the executor (it is not a hardware procedure); its cost reports one
/// simulated forward+adjoint pass per sample and zero circuit evaluations.
///
/// ```
/// use bfly_core::circuit::{Butterfly, LayerOrdering, loaders::Loader};
/// use bfly_exec::{Executor, ShotPlan, UnaryExecutor};
/// use bfly_train::gradient::{ExactAdjoint, GradientEstimator, ParallelShift, QuantumProblem};
/// let b = Butterfly::new(16, 4, LayerOrdering::CouplingFirst).unwrap();
/// let theta: Vec<f64> = (0..32).map(|i| (0.37 * i as f64).sin()).collect();
/// let u: Vec<f64> = (0..16).map(|i| if i == 5 { 0.8 } else if i == 9 { -0.6 } else { 0.0 }).collect();
/// let states = vec![u];
/// let problem = QuantumProblem::new(b, Loader::UnaryTree, &theta, &states).unwrap();
/// let upstream = vec![(0..16).map(|i| i as f64 / 16.0).collect::<Vec<f64>>()];
/// let exec = UnaryExecutor;
/// let plan = ShotPlan::exact();
/// let exact = ExactAdjoint.gradient(&problem, &upstream, &[3], &exec, &plan).unwrap();
/// let shift = ParallelShift.gradient(&problem, &upstream, &[3], &exec, &plan).unwrap();
/// for (a, b) in exact.values.iter().zip(&shift.values) {
///     assert!((a - b).abs() < 1e-12);
/// }
/// assert_eq!(shift.cost.circuits, 4); // 4 circuits for all 8 gates of the trailing layer
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ExactAdjoint;

impl GradientEstimator for ExactAdjoint {
    fn method(&self) -> GradientMethod {
        GradientMethod::Exact
    }

    fn gradient(
        &self,
        problem: &QuantumProblem<'_>,
        upstream: &[Vec<f64>],
        layers: &[usize],
        _executor: &dyn Executor,
        _plan: &ShotPlan,
    ) -> Result<QuantumGradient> {
        problem.check_upstream(upstream)?;
        problem.check_layers(layers)?;
        let kernel = UnaryButterfly::new(&problem.butterfly);
        let rot = kernel.rotations(problem.theta)?;
        let n = problem.butterfly.qubits;
        let mut dtheta = vec![0.0; kernel.n_gates()];
        let mut y = vec![0.0; n];
        let mut g = vec![0.0; n];
        for (u, up) in problem.states.iter().zip(upstream) {
            y.copy_from_slice(u);
            kernel.forward(&rot, &mut y);
            // p_i = y_i², so ∂L/∂y_i = 2 y_i ∂L/∂p_i.
            for i in 0..n {
                g[i] = 2.0 * y[i] * up[i];
            }
            kernel.adjoint(&rot, &mut y, &mut g, &mut dtheta);
        }
        let per_layer = problem.butterfly.params_per_layer();
        let values = layers
            .iter()
            .flat_map(|&l| dtheta[l * per_layer..(l + 1) * per_layer].iter().copied())
            .collect();
        Ok(QuantumGradient {
            layers: layers.to_vec(),
            values,
            cost: GradientCost {
                circuits: 0,
                shots: 0,
                simulations: problem.states.len() as u64,
            },
        })
    }
}
