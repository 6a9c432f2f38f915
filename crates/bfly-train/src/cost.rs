//! The cost of one full gradient over all Butterfly layers, counted from what the
//! estimators actually executed.
//!
//! For each `n`, with `L = log₂ n` layers and one data point:
//! - **parallel shift, layer-wise**: for every stage `s = 1..=L` the `s`-layer Butterfly's
//!   trailing layer gets its gradient from the parallel shift rule (4 circuits);
//! - **per-parameter shift**: the 4-term rule for each of the `n/2 · L` angles of the
//!   full Butterfly.
//!
//! Both run through a [`Counted`] executor and the counts are cross-checked against the
//! estimators' own reports. The forward circuit that gives `p` (needed for `∂L/∂p` and
//! shared by both methods) is not included.
//!
//! ```
//! use bfly_train::cost::gradient_cost_table;
//! let t = gradient_cost_table(&[16], None, 1).unwrap();
//! assert_eq!((t.rows[0].parallel_circuits, t.rows[0].per_parameter_circuits), (16, 128));
//! println!("{t}");
//! ```

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

use super::executor::{Counted, ShotPlan, UnaryExecutor};
use super::gradient::{GradientEstimator, ParallelShift, QuantumProblem, ShiftRule};
use super::model::{random_state, uniform_vec};
use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering};
use bfly_core::error::{Error, Result};

/// One size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    /// Qubits.
    pub qubits: usize,
    /// Layers (`log₂ n`).
    pub layers: usize,
    /// Angles (`n/2 · L`).
    pub params: usize,
    /// Circuits executed by the layer-wise parallel shift (all stages).
    pub parallel_circuits: u64,
    /// Circuits executed by the per-parameter 4-term rule (all angles).
    pub per_parameter_circuits: u64,
    /// Shots of the parallel shift (0 if exact).
    pub parallel_shots: u64,
    /// Shots of the per-parameter rule (0 if exact).
    pub per_parameter_shots: u64,
}

/// Rows for several sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostTable {
    /// Shots per circuit (`None`: exact expectations).
    pub shots: Option<usize>,
    /// One row per size.
    pub rows: Vec<CostRow>,
}

/// Run both estimators on one random sample per size and count their circuits.
pub fn gradient_cost_table(qubits: &[usize], shots: Option<usize>, seed: u64) -> Result<CostTable> {
    let mut rows = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for &n in qubits {
        let full = Butterfly::full(n, LayerOrdering::CouplingFirst)?;
        let layers = full.layers;
        let theta = uniform_vec(&mut rng, full.n_params(), std::f64::consts::PI);
        let states = vec![random_state(n, &mut rng)];
        let upstream = vec![uniform_vec(&mut rng, n, 1.0)];
        let plan = ShotPlan::new(shots, seed, 0);

        let parallel = Counted::new(UnaryExecutor);
        let mut reported = 0;
        let mut parallel_shots = 0;
        for s in 1..=layers {
            let b = Butterfly::new(n, s, LayerOrdering::CouplingFirst)?;
            let problem =
                QuantumProblem::new(b, Loader::UnaryTree, &theta[..b.n_params()], &states)?;
            let plan = ShotPlan {
                step: s as u64,
                ..plan
            };
            let g = ParallelShift.gradient(&problem, &upstream, &[s - 1], &parallel, &plan)?;
            reported += g.cost.circuits;
            parallel_shots += g.cost.shots;
        }

        let per_param = Counted::new(UnaryExecutor);
        let problem = QuantumProblem::new(full, Loader::UnaryTree, &theta, &states)?;
        let all: Vec<usize> = (0..layers).collect();
        let g = ShiftRule.gradient(&problem, &upstream, &all, &per_param, &plan)?;

        let (pc, qc) = (parallel.counts(), per_param.counts());
        if pc.circuits != reported || qc.circuits != g.cost.circuits {
            return Err(Error::Numerical(format!(
                "cost bookkeeping mismatch at n = {n}: executor counted {} / {}, estimators reported {reported} / {}",
                pc.circuits, qc.circuits, g.cost.circuits
            )));
        }
        rows.push(CostRow {
            qubits: n,
            layers,
            params: full.n_params(),
            parallel_circuits: pc.circuits,
            per_parameter_circuits: qc.circuits,
            parallel_shots,
            per_parameter_shots: g.cost.shots,
        });
    }
    Ok(CostTable { shots, rows })
}

impl fmt::Display for CostTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "circuit evaluations for one full gradient over all layers (one data point, {}; counted by the executor)",
            self.shots
                .map_or("exact expectations".into(), |s| format!("{s} shots per circuit"))
        )?;
        writeln!(
            f,
            "{:>6} {:>6} {:>6} {:>22} {:>22} {:>7}",
            "qubits", "layers", "params", "parallel (layer-wise)", "per-parameter 4-term", "ratio"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:>6} {:>6} {:>6} {:>22} {:>22} {:>6.0}x",
                r.qubits,
                r.layers,
                r.params,
                r.parallel_circuits,
                r.per_parameter_circuits,
                r.per_parameter_circuits as f64 / r.parallel_circuits.max(1) as f64
            )?;
        }
        Ok(())
    }
}
