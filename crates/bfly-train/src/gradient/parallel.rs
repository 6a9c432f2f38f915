//! The parallel shift rule: four circuits give `∂p_i/∂θ_j` for every gate of the
//! trailing layer at once.
//!
//! Shift **all** angles of the layer next to measurement together by `±π/4, ±π/2`. Gate
//! `j` acts on `(a_j, b_j)`, the gates of a layer are disjoint, and nothing acts after
//! them, so `p_{a_j}` and `p_{b_j}` depend on `θ_j` only: the 4-term rule applied to each
//! `p_i` of the four runs is `∂p_i/∂θ_{j(i)}`, and
//! `∂L/∂θ_j = Σ_{i∈{a_j,b_j}} (∂L/∂p_i)(∂p_i/∂θ_j)`.
//! For an earlier layer later gates mix its pairs and the rule is wrong, so the estimator
//! refuses with [`Error::ParallelShiftNotTrailing`].
//!
//! ```
//! use bfly_core::circuit::{Butterfly, LayerOrdering, loaders::Loader};
//! use bfly_exec::{ShotPlan, UnaryExecutor};
//! use bfly_train::gradient::{GradientEstimator, ParallelShift, QuantumProblem};
//! use bfly_core::Error;
//! let b = Butterfly::new(8, 3, LayerOrdering::CouplingFirst).unwrap();
//! let theta = vec![0.2; 12];
//! let states = vec![vec![0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]];
//! let problem = QuantumProblem::new(b, Loader::UnaryTree, &theta, &states).unwrap();
//! let up = vec![vec![1.0; 8]];
//! // Layer 2 is the trailing one: fine. Layer 1 is not: a typed error.
//! let plan = ShotPlan::with_shots(1000, 7, 0);
//! let g = ParallelShift.gradient(&problem, &up, &[2], &UnaryExecutor, &plan).unwrap();
//! assert_eq!((g.cost.circuits, g.cost.shots), (4, 4000));
//! let err = ParallelShift.gradient(&problem, &up, &[1], &UnaryExecutor, &plan).unwrap_err();
//! assert!(matches!(err, Error::ParallelShiftNotTrailing { layer: 1, layers: 3, following: 1 }));
//! ```

use super::{
    execute_chunked, four_term, GradientEstimator, GradientMethod, QuantumGradient, QuantumProblem,
    SHIFTS,
};
use bfly_core::circuit::Parameters;
use bfly_core::error::{Error, Result};
use bfly_exec::{Executor, ShotPlan};

/// Parallel shift of the trailing layer: 4 circuits per sample, whatever `n`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParallelShift;

impl GradientEstimator for ParallelShift {
    fn method(&self) -> GradientMethod {
        GradientMethod::ParallelShift
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
        let last = b.layers - 1;
        if let Some(&layer) = layers.iter().find(|&&l| l != last) {
            return Err(Error::ParallelShiftNotTrailing {
                layer,
                layers: b.layers,
                following: last - layer,
            });
        }
        let circuit = problem.circuit()?;
        let inputs = problem.input_angles()?;
        let per_layer = b.params_per_layer();
        let slots = b.slot(0, last, 0)..b.slot(0, last, 0) + per_layer;
        let theta = problem.theta;
        // Runs: sample-major, then the four shifts.
        let values = inputs.iter().flat_map(|inp| {
            let slots = slots.clone();
            SHIFTS.iter().map(move |&delta| {
                let mut t = theta.to_vec();
                for v in &mut t[slots.clone()] {
                    *v += delta;
                }
                Parameters::new(t, inp.clone())
            })
        });
        let values: Vec<Parameters> = values.collect();
        let (results, cost) = execute_chunked(executor, &circuit, values.into_iter(), plan)?;

        let pairs = b.layer_pairs(last);
        let mut grad = vec![0.0; per_layer];
        for (s, up) in upstream.iter().enumerate() {
            let r = &results[4 * s..4 * s + 4];
            for (j, &(qa, qb)) in pairs.iter().enumerate() {
                for q in [qa, qb] {
                    let dp = four_term([
                        r[0].marginals[q],
                        r[1].marginals[q],
                        r[2].marginals[q],
                        r[3].marginals[q],
                    ]);
                    grad[j] += up[q] * dp;
                }
            }
        }
        Ok(QuantumGradient {
            layers: vec![last],
            values: grad,
            cost,
        })
    }
}
