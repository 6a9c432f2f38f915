//! Gradient estimators for the quantum part of a hybrid model: `∂L/∂θ` for chosen
//! Butterfly layers, given the upstream `∂L/∂p_i` of every single-qubit marginal.
//!
//! | estimator | how | circuits per sample | runs on |
//! |---|---|---|---|
//! | [`ExactAdjoint`] | reverse mode through the unary map | 0 (simulation) | simulation only |
//! | [`ShiftRule`] | 4-term shift rule, one angle at a time | 4 per angle | any executor |
//! | [`ParallelShift`] | all angles of the trailing layer shifted together | 4 per layer | any executor |
//!
//! The 4-term rule (exact for RBS, whose generator has spectrum {−1, 0, 0, 1}):
//! `∂f/∂θ = [f(θ+π/4) − f(θ−π/4)] − ((√2−1)/2)·[f(θ+π/2) − f(θ−π/2)]`.
//!
//! Every estimator reports a [`GradientCost`]: circuit evaluations and shots it actually
//! submitted to the executor (counted from the batches it built and the histograms that
//! came back), so costs are measured, not computed by formula.

pub mod exact;
pub mod parallel;
pub mod shift;

pub use exact::ExactAdjoint;
pub use parallel::ParallelShift;
pub use shift::ShiftRule;

use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
use std::fmt;
use std::str::FromStr;

use bfly_core::circuit::{loaders::Loader, Butterfly, Circuit, Parameters};
use bfly_core::error::{Error, Result};
use bfly_exec::{CircuitRun, Executor, RunResult, ShotPlan};

/// The four shifts of the 4-term rule, in the order results are combined.
pub const SHIFTS: [f64; 4] = [FRAC_PI_4, -FRAC_PI_4, FRAC_PI_2, -FRAC_PI_2];

/// `(√2 − 1)/2`, the weight of the π/2 pair in the 4-term rule.
pub const SHIFT_WEIGHT: f64 = 0.207_106_781_186_547_5;

/// Combine `f(θ+π/4), f(θ−π/4), f(θ+π/2), f(θ−π/2)` into `∂f/∂θ`.
pub fn four_term(f: [f64; 4]) -> f64 {
    (f[0] - f[1]) - SHIFT_WEIGHT * (f[2] - f[3])
}

/// Which estimator computes the quantum gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GradientMethod {
    /// Reverse mode through the unary map (simulation only; all parameters).
    Exact,
    /// Per-parameter 4-term shift rule (any layer; 4 circuits per angle).
    Shift,
    /// Parallel shift of the trailing layer (4 circuits per layer).
    ParallelShift,
}

impl GradientMethod {
    /// The estimator implementing this method.
    pub fn estimator(&self) -> Box<dyn GradientEstimator> {
        match self {
            GradientMethod::Exact => Box::new(ExactAdjoint),
            GradientMethod::Shift => Box::new(ShiftRule),
            GradientMethod::ParallelShift => Box::new(ParallelShift),
        }
    }

    /// True for the estimators that run circuits on an executor.
    pub fn uses_executor(&self) -> bool {
        !matches!(self, GradientMethod::Exact)
    }
}

impl fmt::Display for GradientMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            GradientMethod::Exact => "exact",
            GradientMethod::Shift => "shift",
            GradientMethod::ParallelShift => "parallel-shift",
        })
    }
}

impl FromStr for GradientMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "exact" | "adjoint" => Ok(GradientMethod::Exact),
            "shift" | "parameter-shift" => Ok(GradientMethod::Shift),
            "parallel-shift" | "parallel" => Ok(GradientMethod::ParallelShift),
            _ => Err(Error::InvalidInput(format!(
                "unknown gradient method \"{s}\"; use exact, shift or parallel-shift"
            ))),
        }
    }
}

/// What a gradient evaluation cost, as counted from what it executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradientCost {
    /// Distinct circuits submitted to the executor.
    pub circuits: u64,
    /// Shots those circuits were sampled with (0 with exact expectations).
    pub shots: u64,
    /// Simulation-only passes (exact adjoint): not executable on hardware.
    pub simulations: u64,
}

impl std::ops::AddAssign for GradientCost {
    fn add_assign(&mut self, o: Self) {
        self.circuits += o.circuits;
        self.shots += o.shots;
        self.simulations += o.simulations;
    }
}

/// `∂L/∂θ` for the requested layers, summed over the samples.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantumGradient {
    /// The layers, in the order their gradients appear in `values`.
    pub layers: Vec<usize>,
    /// `n/2` values per layer: `values[k·n/2 + j]` is gate `j` of `layers[k]`.
    pub values: Vec<f64>,
    /// What it took.
    pub cost: GradientCost,
}

/// The quantum part of a batch: a loader feeding a Butterfly, one unit vector per sample.
#[derive(Clone, Debug)]
pub struct QuantumProblem<'a> {
    /// The Butterfly (its trainable slots are `0..n_params()`, layer-major).
    pub butterfly: Butterfly,
    /// The unary loader that prepares each sample's vector.
    pub loader: Loader,
    /// The Butterfly's angles.
    pub theta: &'a [f64],
    /// One real unit vector per sample (what the loader loads).
    pub states: &'a [Vec<f64>],
}

impl<'a> QuantumProblem<'a> {
    /// A problem; checks sizes, that the loader is unary, and that the states are unit
    /// vectors.
    pub fn new(
        butterfly: Butterfly,
        loader: Loader,
        theta: &'a [f64],
        states: &'a [Vec<f64>],
    ) -> Result<Self> {
        if loader.hamming_weight() != Some(1) {
            return Err(Error::InvalidInput(format!(
                "hybrid models load one unit vector with a unary loader (unary, unary-diagonal), got {loader}"
            )));
        }
        if theta.len() != butterfly.n_params() {
            return Err(Error::InvalidInput(format!(
                "a {}-layer Butterfly on {} qubits has {} angles, got {}",
                butterfly.layers,
                butterfly.qubits,
                butterfly.n_params(),
                theta.len()
            )));
        }
        for (s, u) in states.iter().enumerate() {
            if u.len() != butterfly.qubits {
                return Err(Error::InvalidInput(format!(
                    "sample {s}: state has {} entries, the circuit has {} qubits",
                    u.len(),
                    butterfly.qubits
                )));
            }
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            if (norm - 1.0).abs() > 1e-9 {
                return Err(Error::InvalidInput(format!(
                    "sample {s}: state has norm {norm}; the loader needs a unit vector"
                )));
            }
        }
        Ok(QuantumProblem {
            butterfly,
            loader,
            theta,
            states,
        })
    }

    /// Loader + Butterfly as one circuit (input slots = loader angles, trainable = θ).
    pub fn circuit(&self) -> Result<Circuit> {
        let mut c = self.loader.circuit(self.butterfly.qubits)?;
        self.butterfly.append_to(&mut c, 0)?;
        c.parameters = Parameters::new(self.theta.to_vec(), vec![]);
        Ok(c)
    }

    /// The loader's input angles for every sample.
    pub fn input_angles(&self) -> Result<Vec<Vec<f64>>> {
        self.states
            .iter()
            .map(|u| self.loader.angles(self.butterfly.qubits, u))
            .collect()
    }

    pub(crate) fn check_upstream(&self, upstream: &[Vec<f64>]) -> Result<()> {
        if upstream.len() != self.states.len() {
            return Err(Error::InvalidInput(format!(
                "{} upstream gradients for {} samples",
                upstream.len(),
                self.states.len()
            )));
        }
        if let Some(s) = upstream
            .iter()
            .position(|g| g.len() != self.butterfly.qubits)
        {
            return Err(Error::InvalidInput(format!(
                "sample {s}: upstream ∂L/∂p has {} entries, expected one per qubit ({})",
                upstream[s].len(),
                self.butterfly.qubits
            )));
        }
        Ok(())
    }

    pub(crate) fn check_layers(&self, layers: &[usize]) -> Result<()> {
        if layers.is_empty() {
            return Err(Error::InvalidInput(
                "ask for the gradient of at least one layer".into(),
            ));
        }
        for (i, &l) in layers.iter().enumerate() {
            if l >= self.butterfly.layers {
                return Err(Error::InvalidInput(format!(
                    "layer {l} does not exist; the Butterfly has layers 0..{}",
                    self.butterfly.layers
                )));
            }
            if layers[..i].contains(&l) {
                return Err(Error::InvalidInput(format!("layer {l} is listed twice")));
            }
        }
        Ok(())
    }
}

/// Circuits per `execute` call: keeps memory bounded for large per-parameter batches.
const CHUNK: usize = 4096;

/// Run `runs` through `executor` in chunks, with circuit indices continuing across chunks
/// (so seeds do not depend on the chunking); returns results and the measured cost.
pub(crate) fn execute_chunked(
    executor: &dyn Executor,
    circuit: &Circuit,
    values: impl ExactSizeIterator<Item = Parameters>,
    plan: &ShotPlan,
) -> Result<(Vec<RunResult>, GradientCost)> {
    let total = values.len();
    let mut results = Vec::with_capacity(total);
    let mut cost = GradientCost::default();
    let mut values = values.peekable();
    let mut offset = plan.index_offset;
    while values.peek().is_some() {
        let runs: Vec<CircuitRun<'_>> = values
            .by_ref()
            .take(CHUNK)
            .map(|v| CircuitRun::new(circuit, v))
            .collect();
        let chunk_plan = ShotPlan {
            index_offset: offset,
            ..*plan
        };
        let out = executor.execute(&runs, &chunk_plan)?;
        if out.len() != runs.len() {
            return Err(Error::InvalidInput(format!(
                "executor {} returned {} results for {} circuits",
                executor.name(),
                out.len(),
                runs.len()
            )));
        }
        cost.circuits += runs.len() as u64;
        cost.shots += out.iter().map(|r| r.shots()).sum::<u64>();
        offset += runs.len() as u64;
        results.extend(out);
    }
    Ok((results, cost))
}

/// Every estimator's interface: `∂L/∂θ` of `layers`, summed over samples, where the
/// loss depends on the circuit through the marginals `p_i` with `upstream[s][i] = ∂L/∂p_i`
/// for sample `s`.
///
/// ```
/// use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering};
/// use bfly_exec::{Counted, ShotPlan, UnaryExecutor};
/// use bfly_train::gradient::{GradientMethod, QuantumProblem};
/// let b = Butterfly::new(32, 5, LayerOrdering::CouplingFirst).unwrap();
/// let theta = vec![0.4; 80];
/// let mut u = vec![0.0; 32];
/// u[3] = 0.6;
/// u[20] = 0.8;
/// let states = vec![u];
/// let problem = QuantumProblem::new(b, Loader::UnaryTree, &theta, &states).unwrap();
/// let upstream = vec![(0..32).map(|i| (i % 3) as f64).collect::<Vec<f64>>()];
/// let exec = Counted::new(UnaryExecutor);
/// for method in [GradientMethod::ParallelShift, GradientMethod::Shift] {
///     let g = method.estimator()
///         .gradient(&problem, &upstream, &[4], &exec, &ShotPlan::with_shots(1000, 1, 0))
///         .unwrap();
///     println!("{method}: {} circuits, {} shots", g.cost.circuits, g.cost.shots);
/// }
/// assert_eq!(exec.counts().circuits, 4 + 4 * 16); // parallel: 4; per-parameter: 4 × 16 angles
/// ```
pub trait GradientEstimator: Send + Sync {
    /// Which method this is.
    fn method(&self) -> GradientMethod;

    /// The gradient of the listed layers (any order, no repeats).
    fn gradient(
        &self,
        problem: &QuantumProblem<'_>,
        upstream: &[Vec<f64>],
        layers: &[usize],
        executor: &dyn Executor,
        plan: &ShotPlan,
    ) -> Result<QuantumGradient>;
}
