//! One mini-batch: loss and gradient of the selected parameters.
//!
//! - Exact path (simulation): per sample, forward through the classical front, the unary
//!   map and the head, then reverse mode through all of it. Samples run in parallel
//!   (rayon) and are summed **in sample order**, so results are bit-reproducible.
//! - Shift path (`shift`, `parallel-shift` for quantum layers): the marginals come from
//!   the executor (exactly or with shots), the head and its gradient are classical, the
//!   quantum gradient comes from the estimator, and a trainable pre-layer gets its
//!   gradient from exact simulation ("classical layers trained in simulation").
//!
//! ```
//! use bfly_train::data::Dataset;
//! use bfly_exec::UnaryExecutor;
//! use bfly_train::step::{batch_gradient, Selection, Seeds};
//! use bfly_train::{GradientMethod, HybridModel, ModelSpec, Task};
//! let model = HybridModel::new(&ModelSpec::new(2, 1, 8, 2, Task::Regression), 1).unwrap();
//! let data = Dataset::new(vec!["a".into(), "b".into()], vec!["y".into()],
//!     vec![vec![0.3, -1.0], vec![1.2, 0.4]], vec![vec![0.5], vec![-0.5]]).unwrap();
//! let sel = Selection { pre: false, layers: vec![1], head: true };
//! let mut seeds = Seeds::new(Some(1000), 7);
//! let g = batch_gradient(&model, &data, &[0, 1], &sel, GradientMethod::ParallelShift,
//!     &UnaryExecutor, &mut seeds).unwrap();
//! assert_eq!(g.cost.circuits, 2 + 2 * 4); // forward + 4 shifted circuits per sample
//! assert_eq!(g.cost.shots, 10 * 1000);
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::executor::{CircuitRun, Executor, ShotPlan};
use super::gradient::exact::{Rotations, UnaryButterfly};
use super::gradient::{GradientCost, GradientMethod, QuantumProblem};
use super::model::{Encoded, HybridModel, ParamLayout};
use crate::data::Dataset;
use bfly_core::circuit::Parameters;
use bfly_core::error::{Error, Result};

/// Which parameter groups a step trains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The classical pre-layer.
    pub pre: bool,
    /// These Butterfly layers.
    pub layers: Vec<usize>,
    /// The classical head.
    pub head: bool,
}

impl Selection {
    /// Everything.
    pub fn all(layers: usize) -> Self {
        Selection {
            pre: true,
            layers: (0..layers).collect(),
            head: true,
        }
    }

    /// Flat indices (into [`HybridModel::params`]) of the selected parameters, ascending.
    pub fn indices(&self, layout: &ParamLayout) -> Vec<usize> {
        let mut idx = Vec::new();
        if self.pre {
            idx.extend(layout.pre.0..layout.pre.1);
        }
        let mut layers = self.layers.clone();
        layers.sort_unstable();
        for l in layers {
            let (a, b) = layout.layer(l);
            idx.extend(a..b);
        }
        if self.head {
            idx.extend(layout.head.0..layout.head.1);
        }
        idx
    }
}

/// Where shot seeds come from: the run's seed and a counter of executor requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    /// Shots per circuit (`None`: exact expectations).
    pub shots: Option<usize>,
    /// The run's seed.
    pub run_seed: u64,
    /// Requests made so far (each request gets the next number).
    pub next_step: u64,
}

impl Seeds {
    /// Start counting requests at 0.
    pub fn new(shots: Option<usize>, run_seed: u64) -> Self {
        Seeds {
            shots,
            run_seed,
            next_step: 0,
        }
    }

    /// The plan of the next request.
    pub fn next_plan(&mut self) -> ShotPlan {
        let plan = ShotPlan::new(self.shots, self.run_seed, self.next_step);
        self.next_step += 1;
        plan
    }
}

/// Loss and gradient of one mini-batch.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchGradient {
    /// Mean loss over the batch (measured from the executor's marginals on the shift path).
    pub loss: f64,
    /// `∂(mean loss)/∂params`, full length; zero outside the selection.
    pub grad: Vec<f64>,
    /// What it cost (circuits and shots include the forward evaluations).
    pub cost: GradientCost,
    /// Circuits and shots spent on the quantum gradient alone.
    pub gradient_cost: GradientCost,
}

/// Per-model precomputation for exact passes.
pub(crate) struct ExactPass {
    kernel: UnaryButterfly,
    rot: Rotations,
}

impl ExactPass {
    pub(crate) fn new(model: &HybridModel) -> Result<Self> {
        let kernel = UnaryButterfly::new(&model.butterfly());
        let rot = kernel.rotations(&model.theta)?;
        Ok(ExactPass { kernel, rot })
    }

    /// Exact head outputs of one sample.
    pub(crate) fn outputs(&self, model: &HybridModel, x: &[f64]) -> Result<Vec<f64>> {
        let e = model.encode(x)?;
        let p = super::model::marginals_with(&self.kernel, &self.rot, &e.u);
        Ok(model.head_outputs(&p, e.norm))
    }

    /// Loss of one sample; adds `weight · ∂loss/∂params` into `grad` (full layout).
    pub(crate) fn sample_gradient(
        &self,
        model: &HybridModel,
        x: &[f64],
        t: &[f64],
        weight: f64,
        grad: &mut [f64],
    ) -> Result<f64> {
        let layout = model.layout();
        let n = model.qubits;
        let Encoded { x: xs, norm, u, .. } = model.encode(x)?;
        let mut y = u.clone();
        self.kernel.forward(&self.rot, &mut y);
        let mut h: Vec<f64> = y.iter().map(|v| v * v).collect();
        h.push(norm);
        let o = model.head.apply(&h);
        let t = target_units(model, t);
        let loss = model.task.loss(&o, &t);
        let dout: Vec<f64> = model
            .task
            .loss_grad(&o, &t)
            .into_iter()
            .map(|d| d * weight)
            .collect();
        // Head.
        let cols = model.head.cols;
        let (hw, hb) = (layout.head.0, layout.head.0 + model.head.rows * cols);
        for (k, &d) in dout.iter().enumerate() {
            for (c, &hc) in h.iter().enumerate() {
                grad[hw + k * cols + c] += d * hc;
            }
            grad[hb + k] += d;
        }
        // ∂L/∂h = W₂ᵀ dout.
        let mut dh = vec![0.0; cols];
        for (k, &d) in dout.iter().enumerate() {
            for (c, w) in model.head.weights[k * cols..(k + 1) * cols]
                .iter()
                .enumerate()
            {
                dh[c] += w * d;
            }
        }
        // Quantum: p = y², reverse mode through the Butterfly.
        let mut g: Vec<f64> = (0..n).map(|i| 2.0 * y[i] * dh[i]).collect();
        let dtheta = &mut grad[layout.theta.0..layout.theta.1];
        self.kernel.adjoint(&self.rot, &mut y, &mut g, dtheta);
        // Normalisation u = z/r and norm feature r: ∂L/∂z = (g − u(u·g))/r + (∂L/∂r) u.
        if norm > 0.0 && norm.is_finite() {
            let ug: f64 = u.iter().zip(&g).map(|(a, b)| a * b).sum();
            let dr = dh[n];
            let m = model.pre.cols;
            let (pw, pb) = (layout.pre.0, layout.pre.0 + n * m);
            for i in 0..n {
                let dz = (g[i] - u[i] * ug) / norm + dr * u[i];
                for (j, &xj) in xs.iter().enumerate() {
                    grad[pw + i * m + j] += dz * xj;
                }
                grad[pb + i] += dz;
            }
        }
        Ok(loss)
    }
}

/// Targets in the model's output units (standardised for regression).
pub(crate) fn target_units(model: &HybridModel, t: &[f64]) -> Vec<f64> {
    match model.task {
        super::Task::Regression => model.target_scaling.forward(t),
        super::Task::Classification => t.to_vec(),
    }
}

fn check_batch(model: &HybridModel, data: &Dataset, batch: &[usize]) -> Result<()> {
    if batch.is_empty() {
        return Err(Error::InvalidInput("empty mini-batch".into()));
    }
    if data.n_features() != model.n_features() || data.n_targets() != model.n_outputs() {
        return Err(Error::InvalidInput(format!(
            "data has {} features and {} targets; the model takes {} and predicts {}",
            data.n_features(),
            data.n_targets(),
            model.n_features(),
            model.n_outputs()
        )));
    }
    if let Some(&i) = batch.iter().find(|&&i| i >= data.len()) {
        return Err(Error::InvalidInput(format!(
            "row {i} is out of range ({} rows)",
            data.len()
        )));
    }
    Ok(())
}

/// Exact mean loss and full gradient over `batch` (simulation; bit-reproducible).
pub fn exact_batch_gradient(
    model: &HybridModel,
    data: &Dataset,
    batch: &[usize],
) -> Result<(f64, Vec<f64>)> {
    check_batch(model, data, batch)?;
    let pass = ExactPass::new(model)?;
    let len = model.layout().len();
    let weight = 1.0 / batch.len() as f64;
    let per_sample: Vec<(f64, Vec<f64>)> = batch
        .par_iter()
        .map(|&i| {
            let mut g = vec![0.0; len];
            let l =
                pass.sample_gradient(model, &data.features[i], &data.targets[i], weight, &mut g)?;
            Ok((l, g))
        })
        .collect::<Result<_>>()?;
    let mut grad = vec![0.0; len];
    let mut loss = 0.0;
    for (l, g) in &per_sample {
        loss += l;
        for (a, b) in grad.iter_mut().zip(g) {
            *a += b;
        }
    }
    Ok((loss * weight, grad))
}

/// Loss and gradient of the `selection` over rows `batch` of `data`.
///
/// `method` applies to the selected Butterfly layers; classical parameters always get
/// exact gradients (the head from the marginals actually used, the pre-layer by
/// simulation). Each executor request takes the next plan from `seeds`.
pub fn batch_gradient(
    model: &HybridModel,
    data: &Dataset,
    batch: &[usize],
    selection: &Selection,
    method: GradientMethod,
    executor: &dyn Executor,
    seeds: &mut Seeds,
) -> Result<BatchGradient> {
    check_batch(model, data, batch)?;
    if !method.uses_executor() || selection.layers.is_empty() {
        let (loss, mut grad) = exact_batch_gradient(model, data, batch)?;
        mask(&mut grad, selection, &model.layout());
        return Ok(BatchGradient {
            loss,
            grad,
            cost: GradientCost {
                simulations: batch.len() as u64,
                ..Default::default()
            },
            gradient_cost: GradientCost::default(),
        });
    }

    let layout = model.layout();
    let n = model.qubits;
    let weight = 1.0 / batch.len() as f64;
    let enc: Vec<Encoded> = batch
        .iter()
        .map(|&i| model.encode(&data.features[i]))
        .collect::<Result<_>>()?;
    let states: Vec<Vec<f64>> = enc.iter().map(|e| e.u.clone()).collect();
    let problem = QuantumProblem::new(model.butterfly(), model.loader, &model.theta, &states)?;

    // Forward: one circuit per sample.
    let circuit = problem.circuit()?;
    let angles = problem.input_angles()?;
    let runs: Vec<CircuitRun<'_>> = angles
        .into_iter()
        .map(|a| CircuitRun::new(&circuit, Parameters::new(model.theta.clone(), a)))
        .collect();
    let forward = executor.execute(&runs, &seeds.next_plan())?;
    let mut cost = GradientCost {
        circuits: forward.len() as u64,
        shots: forward.iter().map(|r| r.shots()).sum(),
        simulations: 0,
    };

    // Head (classical), loss, upstream ∂L/∂p.
    let mut grad = vec![0.0; layout.len()];
    let cols = model.head.cols;
    let (hw, hb) = (layout.head.0, layout.head.0 + model.head.rows * cols);
    let mut loss = 0.0;
    let mut upstream = Vec::with_capacity(batch.len());
    for ((r, e), &i) in forward.iter().zip(&enc).zip(batch) {
        let o = model.head_outputs(&r.marginals, e.norm);
        let t = target_units(model, &data.targets[i]);
        loss += model.task.loss(&o, &t);
        let dout: Vec<f64> = model
            .task
            .loss_grad(&o, &t)
            .into_iter()
            .map(|d| d * weight)
            .collect();
        if selection.head {
            for (k, &d) in dout.iter().enumerate() {
                for c in 0..n {
                    grad[hw + k * cols + c] += d * r.marginals[c];
                }
                grad[hw + k * cols + n] += d * e.norm;
                grad[hb + k] += d;
            }
        }
        let up: Vec<f64> = (0..n)
            .map(|c| {
                dout.iter()
                    .enumerate()
                    .map(|(k, d)| model.head.weights[k * cols + c] * d)
                    .sum()
            })
            .collect();
        upstream.push(up);
    }

    // Quantum layers by the estimator.
    let estimator = method.estimator();
    let qg = estimator.gradient(
        &problem,
        &upstream,
        &selection.layers,
        executor,
        &seeds.next_plan(),
    )?;
    for (k, &l) in qg.layers.iter().enumerate() {
        let (a, _) = layout.layer(l);
        for j in 0..layout.per_layer {
            grad[a + j] += qg.values[k * layout.per_layer + j];
        }
    }
    cost += qg.cost;

    // Pre-layer by exact simulation.
    if selection.pre {
        let (_, exact) = exact_batch_gradient(model, data, batch)?;
        grad[layout.pre.0..layout.pre.1].copy_from_slice(&exact[layout.pre.0..layout.pre.1]);
        cost.simulations += batch.len() as u64;
    }
    Ok(BatchGradient {
        loss: loss * weight,
        grad,
        cost,
        gradient_cost: qg.cost,
    })
}

/// Zero the gradient outside the selection.
fn mask(grad: &mut [f64], selection: &Selection, layout: &ParamLayout) {
    let keep = selection.indices(layout);
    let mut k = 0;
    for (i, g) in grad.iter_mut().enumerate() {
        if k < keep.len() && keep[k] == i {
            k += 1;
        } else {
            *g = 0.0;
        }
    }
}

/// Mean loss over `rows` of `data` in exact simulation.
pub fn exact_loss(model: &HybridModel, data: &Dataset, rows: &[usize]) -> Result<f64> {
    if rows.is_empty() {
        return Ok(0.0);
    }
    let pass = ExactPass::new(model)?;
    let losses: Vec<f64> = rows
        .par_iter()
        .map(|&i| {
            let o = pass.outputs(model, &data.features[i])?;
            Ok(model.task.loss(&o, &target_units(model, &data.targets[i])))
        })
        .collect::<Result<_>>()?;
    Ok(losses.iter().sum::<f64>() / rows.len() as f64)
}

/// Mean loss over `rows` with the marginals measured by `executor` (one request).
pub fn measured_loss(
    model: &HybridModel,
    data: &Dataset,
    rows: &[usize],
    executor: &dyn Executor,
    plan: &ShotPlan,
) -> Result<(f64, GradientCost)> {
    if rows.is_empty() {
        return Ok((0.0, GradientCost::default()));
    }
    let circuit = model.circuit()?;
    let enc: Vec<Encoded> = rows
        .iter()
        .map(|&i| model.encode(&data.features[i]))
        .collect::<Result<_>>()?;
    let runs = enc
        .iter()
        .map(|e| {
            Ok(CircuitRun::new(
                &circuit,
                Parameters::new(
                    model.theta.clone(),
                    model.loader.angles(model.qubits, &e.u)?,
                ),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = executor.execute(&runs, plan)?;
    let loss: f64 = out
        .iter()
        .zip(&enc)
        .zip(rows)
        .map(|((r, e), &i)| {
            let o = model.head_outputs(&r.marginals, e.norm);
            model.task.loss(&o, &target_units(model, &data.targets[i]))
        })
        .sum();
    Ok((
        loss / rows.len() as f64,
        GradientCost {
            circuits: out.len() as u64,
            shots: out.iter().map(|r| r.shots()).sum(),
            simulations: 0,
        },
    ))
}
