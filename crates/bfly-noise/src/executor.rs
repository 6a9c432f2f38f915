//! [`NoisyExecutor`]: the noisy simulator behind the [`Executor`] trait, so training and
//! evaluation run under a noise model unchanged.

use rayon::prelude::*;
use std::sync::Arc;

use super::simulate::{simulate_noisy, NoisyConfig, NoisyOutcome};
use bfly_core::circuit::{Circuit, Param, Parameters};
use bfly_core::error::Result;
use bfly_core::progress::NoProgress;
use bfly_exec::{CircuitRun, Executor, RunResult, ShotPlan};

/// Turns a bound circuit (every parameter a number) into the circuit that is simulated,
/// e.g. the compiler to IonQ native gates.
pub type PrepareHook = Arc<dyn Fn(&Circuit) -> Result<Circuit> + Send + Sync>;

/// `circuit` with every slot replaced by its value in `values` (errors name the op).
pub fn bind_circuit(circuit: &Circuit, values: &Parameters) -> Result<Circuit> {
    let mut out = circuit.clone();
    for (i, g) in out.ops.iter_mut().enumerate() {
        let name = g.name();
        for p in g.params_mut() {
            *p = Param::Fixed(values.resolve(p, i, name)?);
        }
    }
    out.parameters = Parameters::default();
    Ok(out)
}

/// Noisy simulation of every circuit of a batch.
///
/// - Exact mode (`plan.shots == None`): the density matrix or the trajectory average.
/// - Sampled mode: `S` shots per circuit, seeded with [`ShotPlan::seed_of`].
/// - Trajectories are seeded from `config.seed` and the trajectory index only (the same
///   for every circuit and step; see [`super::simulate`]).
/// - With `config.postselect_weight = Some(k)`, [`RunResult::marginals`] are the
///   post-selected marginals `P(q_i = 1 | weight = k)` and the histogram holds **all**
///   shots (so shot counts stay honest); [`NoisyExecutor::run_detailed`] also returns the
///   kept fraction.
/// - With a [`PrepareHook`] (e.g. the native-gate compiler) the bound circuit is
///   transformed before simulation, so noise follows the compiled gates; without it noise
///   follows the IR gates as given.
///
/// ```
/// use bfly_core::circuit::{loaders::Loader, ButterflyWorkload};
/// use bfly_noise::{NoiseModel, NoisyConfig, NoisyExecutor};
/// use bfly_exec::{CircuitRun, Executor, ShotPlan};
/// let c = ButterflyWorkload::full(4, Loader::UnaryTree, 3).build().unwrap();
/// let exec = NoisyExecutor::new(NoisyConfig::new(NoiseModel::preset("forte-1").unwrap()));
/// assert_eq!(exec.name(), "noisy:forte-1");
/// let runs = [CircuitRun::new(&c, c.parameters.clone())];
/// let a = exec.execute(&runs, &ShotPlan::with_shots(500, 7, 0)).unwrap();
/// let b = exec.execute(&runs, &ShotPlan::with_shots(500, 7, 0)).unwrap();
/// assert_eq!(a, b); // deterministic per seed
/// ```
#[derive(Clone)]
pub struct NoisyExecutor {
    /// Model, engine, trajectories, seed, post-selection.
    pub config: NoisyConfig,
    prepare: Option<PrepareHook>,
}

impl std::fmt::Debug for NoisyExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoisyExecutor")
            .field("config", &self.config)
            .field("prepare", &self.prepare.as_ref().map(|_| "hook"))
            .finish()
    }
}

impl NoisyExecutor {
    /// Noise per IR gate, no preparation hook.
    pub fn new(config: NoisyConfig) -> Self {
        NoisyExecutor {
            config,
            prepare: None,
        }
    }

    /// Set the circuit-preparation hook (applied to each bound circuit before simulation).
    pub fn with_prepare(mut self, hook: PrepareHook) -> Self {
        self.prepare = Some(hook);
        self
    }

    /// The full outcome (distribution, kept fraction, …) of every run.
    pub fn run_detailed(
        &self,
        batch: &[CircuitRun<'_>],
        plan: &ShotPlan,
    ) -> Result<Vec<NoisyOutcome>> {
        self.config.validate()?;
        batch
            .par_iter()
            .enumerate()
            .map(|(i, run)| {
                let shots = plan.shots.map(|s| (s, plan.seed_of(i)));
                match &self.prepare {
                    Some(hook) => {
                        let prepared = hook(&bind_circuit(run.circuit, &run.values)?)?;
                        simulate_noisy(
                            &prepared,
                            &prepared.parameters,
                            &self.config,
                            shots,
                            &NoProgress,
                        )
                    }
                    None => {
                        simulate_noisy(run.circuit, &run.values, &self.config, shots, &NoProgress)
                    }
                }
            })
            .collect()
    }
}

impl Executor for NoisyExecutor {
    fn name(&self) -> String {
        format!("noisy:{}", self.config.model.name)
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        Ok(self
            .run_detailed(batch, plan)?
            .into_iter()
            .map(|o| RunResult {
                marginals: match o.postselection {
                    Some(ps) => ps.marginals,
                    None => o.marginals,
                },
                histogram: o.histogram,
            })
            .collect())
    }
}
