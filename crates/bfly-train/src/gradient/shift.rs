//! The per-parameter 4-term shift rule: exact for any RBS angle in any layer, four
//! circuits per angle.
//!
//! ```
//! use bfly_core::circuit::{Butterfly, LayerOrdering, loaders::Loader};
//! use bfly_exec::{ShotPlan, UnaryExecutor};
//! use bfly_train::gradient::{ExactAdjoint, GradientEstimator, QuantumProblem, ShiftRule};
//! let b = Butterfly::new(8, 3, LayerOrdering::CouplingLast).unwrap();
//! let theta: Vec<f64> = (0..12).map(|i| 0.3 * i as f64).collect();
//! let states = vec![vec![0.0, 0.6, 0.0, 0.0, 0.0, 0.0, 0.8, 0.0]];
//! let problem = QuantumProblem::new(b, Loader::UnaryTree, &theta, &states).unwrap();
//! let up = vec![vec![1.0, -1.0, 0.5, 0.0, 2.0, 0.0, 0.0, 1.0]];
//! let plan = ShotPlan::exact();
//! let shift = ShiftRule.gradient(&problem, &up, &[0, 1, 2], &UnaryExecutor, &plan).unwrap();
//! let exact = ExactAdjoint.gradient(&problem, &up, &[0, 1, 2], &UnaryExecutor, &plan).unwrap();
//! assert_eq!(shift.cost.circuits, 4 * 12);
//! for (a, b) in shift.values.iter().zip(&exact.values) {
//!     assert!((a - b).abs() < 1e-12);
//! }
//! ```

use super::{
    execute_chunked, four_term, GradientEstimator, GradientMethod, QuantumGradient, QuantumProblem,
    SHIFTS,
};
use bfly_core::circuit::Parameters;
use bfly_core::error::Result;
use bfly_exec::{Executor, ShotPlan};

/// The 4-term shift rule applied to one angle at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShiftRule;

impl GradientEstimator for ShiftRule {
    fn method(&self) -> GradientMethod {
        GradientMethod::Shift
    }

    fn gradient(
        &self,
        problem: &QuantumProblem<'_>,
        upstream: &[Vec<f64>],
        layers: &[usize],
        executor: &dyn Executor,
        plan: &ShotPlan,
    ) -> Result<QuantumGradient> {
        problem.check_upstream(upstream)?;
        problem.check_layers(layers)?;
        let b = problem.butterfly;
        let per_layer = b.params_per_layer();
        let slots: Vec<usize> = layers
            .iter()
            .flat_map(|&l| (0..per_layer).map(move |j| b.slot(0, l, j)))
            .collect();
        let circuit = problem.circuit()?;
        let inputs = problem.input_angles()?;
        let theta = problem.theta;
        // Runs: sample-major, then slot, then the four shifts.
        let n_runs = inputs.len() * slots.len() * 4;
        let values = inputs.iter().flat_map(|inp| {
            slots.iter().flat_map(move |&slot| {
                SHIFTS.iter().map(move |&delta| {
                    let mut t = theta.to_vec();
                    t[slot] += delta;
                    Parameters::new(t, inp.clone())
                })
            })
        });
        let values = ExactLen {
            inner: values,
            left: n_runs,
        };
        let (results, cost) = execute_chunked(executor, &circuit, values, plan)?;

        let n = b.qubits;
        let mut grad = vec![0.0; slots.len()];
        for (s, up) in upstream.iter().enumerate() {
            for (k, g) in grad.iter_mut().enumerate() {
                let base = 4 * (s * slots.len() + k);
                let r = &results[base..base + 4];
                let mut acc = 0.0;
                for (i, &u) in up.iter().enumerate().take(n) {
                    if u != 0.0 {
                        acc += u * four_term([
                            r[0].marginals[i],
                            r[1].marginals[i],
                            r[2].marginals[i],
                            r[3].marginals[i],
                        ]);
                    }
                }
                *g += acc;
            }
        }
        Ok(QuantumGradient {
            layers: layers.to_vec(),
            values: grad,
            cost,
        })
    }
}

/// An iterator with a known length (flat_map does not know its own).
struct ExactLen<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator> Iterator for ExactLen<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next();
        if item.is_some() {
            self.left -= 1;
        }
        item
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I: Iterator> ExactSizeIterator for ExactLen<I> {}
