//! Executors: "run this batch of circuits with S shots (or exactly) and give me the
//! single-qubit marginals, and the histograms when sampled".
//!
//! Training talks to an [`Executor`] only, so a noisy simulator or a hardware client
//! plugs in by implementing one method. Three simulators are provided:
//!
//! | executor | engine | scope |
//! |---|---|---|
//! | [`UnaryExecutor`] | weight-1 amplitudes, `O(#gates)` per circuit | one `X` then real weight-preserving gates (unary loaders + Butterfly), any `n` |
//! | [`StateVectorExecutor`] | dense state vector | any circuit, `n ≲ 30` |
//! | [`MpsExecutor`] | [`bfly_sim::mps::run_mps`] with a bond cap χ | any circuit, large `n` |
//!
//! Shots are sampled with a seed derived from `(run seed, step, circuit index)`
//! ([`derive_seed`]), so a run is reproducible whatever the batching and threading.
//! [`Counted`] wraps any executor and counts the circuits and shots it really ran.
//!
//! ```
//! use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering, Parameters};
//! use bfly_exec::{CircuitRun, Counted, Executor, ShotPlan, UnaryExecutor};
//! let n = 8;
//! let mut c = Loader::UnaryTree.circuit(n).unwrap();
//! Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap().append_to(&mut c, 0).unwrap();
//! let x = [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
//! let values = Parameters::new(vec![0.3; 12], Loader::UnaryTree.angles(n, &x).unwrap());
//! let exec = Counted::new(UnaryExecutor);
//! let runs = [CircuitRun::new(&c, values.clone()), CircuitRun::new(&c, values)];
//! let out = exec.execute(&runs, &ShotPlan::with_shots(1000, 42, 0)).unwrap();
//! assert_eq!(out[0].histogram.as_ref().unwrap().shots, 1000);
//! assert_ne!(out[0].histogram, out[1].histogram); // each circuit index gets its own seed
//! assert_eq!((exec.counts().circuits, exec.counts().shots), (2, 2000));
//! let exact = exec.execute(&runs[..1], &ShotPlan::exact()).unwrap();
//! assert!((exact[0].marginals.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! ```

#![warn(missing_docs)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bfly_core::bits::BitString;
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::Result;
use bfly_sim::mps::{run_mps, MpsConfig};
use bfly_sim::{simulate, simulate_with_layout, ChainLayout, Engine, Simulator};

/// One circuit to run: a (shared) circuit structure and the slot values for this run.
#[derive(Clone, Debug)]
pub struct CircuitRun<'a> {
    /// The circuit (shared by many runs).
    pub circuit: &'a Circuit,
    /// The values of its trainable and input slots for this run.
    pub values: Parameters,
}

impl<'a> CircuitRun<'a> {
    /// A run of `circuit` with `values`.
    pub fn new(circuit: &'a Circuit, values: Parameters) -> Self {
        CircuitRun { circuit, values }
    }
}

/// How to run a batch: exact expectations or `shots` samples, and where the seeds come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShotPlan {
    /// `None`: exact marginals. `Some(S)`: sample `S` shots per circuit.
    pub shots: Option<usize>,
    /// The run's seed.
    pub run_seed: u64,
    /// A number unique to this request within the run (the trainer counts them).
    pub step: u64,
    /// Index of the batch's first circuit within the request (for requests split into
    /// several batches); circuit `i` of the batch has index `index_offset + i`.
    pub index_offset: u64,
}

impl ShotPlan {
    /// Exact expectations.
    pub fn exact() -> Self {
        ShotPlan::default()
    }

    /// `shots` per circuit, seeds derived from `(run_seed, step, index)`.
    pub fn with_shots(shots: usize, run_seed: u64, step: u64) -> Self {
        ShotPlan {
            shots: Some(shots),
            run_seed,
            step,
            index_offset: 0,
        }
    }

    /// `shots` (or exact if `None`), seeds from `(run_seed, step, index)`.
    pub fn new(shots: Option<usize>, run_seed: u64, step: u64) -> Self {
        ShotPlan {
            shots,
            run_seed,
            step,
            index_offset: 0,
        }
    }

    /// The sampling seed of batch circuit `i`.
    pub fn seed_of(&self, i: usize) -> u64 {
        derive_seed(self.run_seed, self.step, self.index_offset + i as u64)
    }
}

/// SplitMix64 finaliser: a bijective 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sampling seed of circuit `index` of request `step` in run `run_seed`.
pub fn derive_seed(run_seed: u64, step: u64, index: u64) -> u64 {
    mix(mix(mix(run_seed) ^ step) ^ index)
}

/// Measurement counts of one sampled circuit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Number of shots.
    pub shots: usize,
    /// `(outcome, count)` for every outcome seen, sorted by outcome.
    pub counts: Vec<(BitString, u64)>,
}

impl Histogram {
    /// Counts of `samples`.
    pub fn from_samples(samples: &[BitString]) -> Self {
        let mut map: BTreeMap<&BitString, u64> = BTreeMap::new();
        for s in samples {
            *map.entry(s).or_default() += 1;
        }
        Histogram {
            shots: samples.len(),
            counts: map.into_iter().map(|(b, c)| (b.clone(), c)).collect(),
        }
    }

    /// Estimated `P(q_i = 1)` for every qubit: (shots with qubit `i` = 1) / shots.
    pub fn marginals(&self, n_qubits: usize) -> Vec<f64> {
        let mut ones = vec![0u64; n_qubits];
        for (bits, count) in &self.counts {
            for (q, o) in ones.iter_mut().enumerate() {
                if bits.get(q) {
                    *o += count;
                }
            }
        }
        let s = self.shots.max(1) as f64;
        ones.into_iter().map(|o| o as f64 / s).collect()
    }
}

/// What came back for one circuit.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// `P(q_i = 1)`: exact, or the shot estimate when sampled.
    pub marginals: Vec<f64>,
    /// The counts, when sampled.
    pub histogram: Option<Histogram>,
}

impl RunResult {
    /// Shots this result was estimated from (0 if exact).
    pub fn shots(&self) -> u64 {
        self.histogram.as_ref().map_or(0, |h| h.shots as u64)
    }
}

/// Runs batches of circuits. Implementations must return one result per run, in order,
/// and sample circuit `i` with the seed [`ShotPlan::seed_of`]`(i)` so results do not
/// depend on threading.
///
/// A custom executor plugs straight into training (see the `bfly_train` crate docs for one
/// that adds readout error to the unary simulator and trains through it).
pub trait Executor: Send + Sync {
    /// A short name for reports.
    fn name(&self) -> String;

    /// Run every circuit of `batch` (exactly, or with `plan.shots` shots each).
    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>>;
}

impl<E: Executor + ?Sized> Executor for Box<E> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        (**self).execute(batch, plan)
    }
}

/// Circuits and shots an executor really ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionCounts {
    /// Distinct circuit evaluations.
    pub circuits: u64,
    /// Shots over all of them.
    pub shots: u64,
}

/// Wraps an executor and counts what goes through it (thread-safe).
#[derive(Debug, Default)]
pub struct Counted<E> {
    inner: E,
    circuits: AtomicU64,
    shots: AtomicU64,
}

impl<E: Executor> Counted<E> {
    /// Start counting from zero.
    pub fn new(inner: E) -> Self {
        Counted {
            inner,
            circuits: AtomicU64::new(0),
            shots: AtomicU64::new(0),
        }
    }

    /// Totals so far.
    pub fn counts(&self) -> ExecutionCounts {
        ExecutionCounts {
            circuits: self.circuits.load(Ordering::SeqCst),
            shots: self.shots.load(Ordering::SeqCst),
        }
    }

    /// The wrapped executor.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<E: Executor> Executor for Counted<E> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        let out = self.inner.execute(batch, plan)?;
        self.circuits.fetch_add(out.len() as u64, Ordering::SeqCst);
        self.shots
            .fetch_add(out.iter().map(RunResult::shots).sum(), Ordering::SeqCst);
        Ok(out)
    }
}

/// Refuse, before sampling, shots whose outcomes would not fit in memory: the local
/// executors draw one outcome per shot (a stream that seeded training runs reproduce), for
/// as many circuits at once as rayon has threads.
fn check_shot_storage(batch: &[CircuitRun<'_>], shots: usize) -> Result<()> {
    let qubits = batch.iter().map(|r| r.circuit.qubits).max().unwrap_or(0);
    let at_once = batch.len().min(rayon::current_num_threads()).max(1);
    // A stored outcome: the bit vector's header and words, as in `Need::histogram_entry_bytes`.
    let per_shot = 48u128 + 8 * (qubits as u128).div_ceil(64);
    let bytes = (shots as u128)
        .saturating_mul(per_shot)
        .saturating_mul(at_once as u128)
        .min(u64::MAX as u128) as u64;
    bfly_core::budget::Need::new(
        format!(
            "sampling {shots} shots per circuit of {qubits} qubits, one stored outcome per shot ({at_once} circuits at once)"
        ),
        bytes,
        "use fewer shots per circuit (--shots), or exact expectations (no --shots)",
    )
    .check()
}

/// Run a batch in parallel with one closure per circuit (results in batch order).
fn par_runs(
    batch: &[CircuitRun<'_>],
    plan: &ShotPlan,
    f: impl Fn(&CircuitRun<'_>, Option<(usize, u64)>) -> Result<RunResult> + Sync,
) -> Result<Vec<RunResult>> {
    if let Some(shots) = plan.shots {
        check_shot_storage(batch, shots)?;
    }
    batch
        .par_iter()
        .enumerate()
        .map(|(i, run)| f(run, plan.shots.map(|s| (s, plan.seed_of(i)))))
        .collect()
}

/// Results from a general simulator state.
fn from_simulator(state: &dyn Simulator, shots: Option<(usize, u64)>) -> RunResult {
    match shots {
        None => RunResult {
            marginals: state.marginals(),
            histogram: None,
        },
        Some((s, seed)) => {
            let h = Histogram::from_samples(&state.sample(s, seed));
            RunResult {
                marginals: h.marginals(state.n_qubits()),
                histogram: Some(h),
            }
        }
    }
}

/// The exact unary fast path: simulates the weight-1 amplitudes directly (`O(1)` per
/// gate, no `2^n` state). Accepts circuits that start with one `X` (possibly after
/// diagonal gates) followed by gates that preserve Hamming weight and are real on the
/// weight-1 subspace — unary loaders followed by a Butterfly. Agrees with
/// [`UnaryMap`](bfly_sim::unary::UnaryMap) applied to the loaded vector (tested).
#[derive(Clone, Copy, Debug, Default)]
pub struct UnaryExecutor;

impl UnaryExecutor {
    /// The weight-1 amplitudes `y` (entry `i` = amplitude of "only qubit `i` is 1"); see
    /// [`bfly_sim::unary::weight_one_amplitudes`].
    pub fn amplitudes(circuit: &Circuit, values: &Parameters) -> Result<Vec<f64>> {
        bfly_sim::unary::weight_one_amplitudes(circuit, values)
    }

    fn run_one(run: &CircuitRun<'_>, shots: Option<(usize, u64)>) -> Result<RunResult> {
        let n = run.circuit.qubits;
        let y = Self::amplitudes(run.circuit, &run.values)?;
        let p: Vec<f64> = y.iter().map(|a| a * a).collect();
        let Some((s, seed)) = shots else {
            return Ok(RunResult {
                marginals: p,
                histogram: None,
            });
        };
        let mut counts = vec![0u64; n];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in bfly_core::sampling::sample_indices(&p, s, &mut rng)? {
            counts[i] += 1;
        }
        let marginals = counts.iter().map(|&c| c as f64 / s.max(1) as f64).collect();
        let counts = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| {
                let bits = BitString::from_ones(n, &[i]).expect("qubit in range");
                (bits, c)
            });
        let mut counts: Vec<(BitString, u64)> = counts.collect();
        counts.sort();
        Ok(RunResult {
            marginals,
            histogram: Some(Histogram { shots: s, counts }),
        })
    }
}

impl Executor for UnaryExecutor {
    fn name(&self) -> String {
        "unary".into()
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        par_runs(batch, plan, Self::run_one)
    }
}

/// Dense state-vector simulation of every circuit.
#[derive(Clone, Copy, Debug, Default)]
pub struct StateVectorExecutor;

impl Executor for StateVectorExecutor {
    fn name(&self) -> String {
        "statevector".into()
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        par_runs(batch, plan, |run, shots| {
            let state = simulate(&Engine::StateVector, run.circuit, &run.values)?;
            Ok(from_simulator(&state, shots))
        })
    }
}

/// Matrix-product-state simulation of every circuit with one truncation setting.
#[derive(Clone, Debug)]
pub struct MpsExecutor {
    /// Bond cap, cutoff, layout.
    pub config: MpsConfig,
}

impl MpsExecutor {
    /// MPS with bond cap `chi` and relative cutoff `cutoff`.
    pub fn new(chi: usize, cutoff: f64) -> Result<Self> {
        Ok(MpsExecutor {
            config: MpsConfig::new(chi, cutoff)?,
        })
    }
}

impl Executor for MpsExecutor {
    fn name(&self) -> String {
        format!("mps(χ={})", self.config.truncation.max_bond)
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        par_runs(batch, plan, |run, shots| {
            let state = run_mps(run.circuit, &run.values, &self.config)?;
            Ok(from_simulator(&state, shots))
        })
    }
}

/// Any [`Engine`] as an executor: every circuit is run with [`simulate_with_layout`] and
/// read through the [`Simulator`] observables. [`executor_for`] prefers the dedicated
/// executors where one exists.
#[derive(Clone, Debug)]
pub struct EngineExecutor {
    /// The engine ([`Engine::Auto`] resolves per circuit).
    pub engine: Engine,
    /// Layout and routing of the MPS engines.
    pub layout: ChainLayout,
}

impl Executor for EngineExecutor {
    fn name(&self) -> String {
        self.engine.to_string()
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        par_runs(batch, plan, |run, shots| {
            let state = simulate_with_layout(&self.engine, run.circuit, &run.values, &self.layout)?;
            Ok(from_simulator(&state, shots))
        })
    }
}

/// The executor of `engine`: [`UnaryExecutor`], [`StateVectorExecutor`] and
/// [`MpsExecutor`] for their engines, an [`EngineExecutor`] for the others.
pub fn executor_for(engine: &Engine) -> Result<Box<dyn Executor>> {
    Ok(match *engine {
        Engine::Unary => Box::new(UnaryExecutor),
        Engine::StateVector => Box::new(StateVectorExecutor),
        Engine::Mps { chi, cutoff } => Box::new(MpsExecutor::new(chi, cutoff)?),
        other => {
            other.mps_config(&ChainLayout::default())?;
            Box::new(EngineExecutor {
                engine: other,
                layout: ChainLayout::default(),
            })
        }
    })
}
