//! Noisy simulation of one circuit: exact density matrix, or seeded Monte-Carlo trajectories
//! on the state vector or the MPS; then readout error, shots and post-selection.
//!
//! **Trajectories.** Trajectory `t` draws its Pauli insertions
//! ([`super::channel::draw_insertions`]) from a ChaCha8 stream seeded with
//! [`trajectory_seed`]`(seed, t)`, so a run is deterministic for a given seed whatever the
//! thread count, and the state-vector and MPS engines see identical errors for the same
//! seed. Trajectories run in parallel (rayon) in fixed-size batches; per-trajectory results
//! are summed in trajectory order, so even the floating-point sums do not depend on
//! threading. The same seeds are used for every circuit (common random numbers), so
//! differences between circuits (parameter shifts) are not swamped by trajectory noise.
//!
//! **Shots** are kept as counts (memory grows with the distinct outcomes, not the shots).
//! When a full distribution exists (density matrix, state-vector trajectories) they are
//! one multinomial draw from the (trajectory-averaged) distribution after readout error
//! ([`bfly_core::sampling::multinomial_counts`]). On the MPS, shots are split round-robin
//! over trajectories (trajectory `t` gets `⌊S/T⌋ + [t < S mod T]` of them), counted from
//! that trajectory's state ([`Simulator::sample_counts`]) and then flipped by readout
//! error ([`readout::apply_to_counts`]); a trajectory with no shot is not simulated.
//!
//! **Memory** is checked before anything is allocated ([`NoisyConfig::check_budget`]):
//! the density matrix, the state-vector trajectories' distributions, or one MPS per thread
//! at its peak; trajectories are summed as they finish, so their number costs no memory.

use bfly_core::progress::{FinishOnDrop, Progress};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::channel::{draw_insertions, trajectory_gates, NoisyGate};
use super::density::{DensityMatrix, MAX_DENSITY_QUBITS};
use super::model::NoiseModel;
use super::postselect::{
    check_weight, postselect_distribution, postselect_histogram, PostSelection,
};
use super::readout;
use bfly_core::bits::BitString;
use bfly_core::budget::Need;
use bfly_core::circuit::{BoundGate, Circuit, Gate, Parameters};
use bfly_core::error::{Error, Result};
use bfly_core::sampling::multinomial_counts;
use bfly_exec::{derive_seed, Histogram};
use bfly_sim::mps::{run_mps, MpsConfig};
use bfly_sim::{Engine, Simulator, StateVector};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Largest `n` for which [`NoisyMethod::Auto`] picks the density matrix (`4^10 · 16 B` = 16 MiB).
pub const AUTO_DENSITY_MAX_QUBITS: usize = 10;
/// Largest `n` for which trajectories on [`Engine::Auto`] run on the state vector (the
/// engines' one threshold).
pub const AUTO_STATEVECTOR_MAX_QUBITS: usize = bfly_sim::MAX_EXACT_QUBITS;
/// Bond cap of trajectories on [`Engine::Auto`] beyond the state vector.
pub const AUTO_MPS_CHI: usize = bfly_sim::engine::DEFAULT_CHI;

/// The engines trajectories run on (others give [`Error::UnsupportedEngine`]).
pub const TRAJECTORY_ENGINES: [&str; 3] = ["auto", "statevector", "mps"];

/// Stream tag of trajectory seeds (keeps them apart from shot seeds).
const TRAJECTORY_STREAM: u64 = 0x6e6f_6973_795f_7472; // "noisy_tr"

/// The seed of trajectory `t` of a run seeded `seed`.
pub fn trajectory_seed(seed: u64, t: u64) -> u64 {
    derive_seed(seed, TRAJECTORY_STREAM, t)
}

/// How the noise is simulated: the exact density matrix, or Monte-Carlo trajectories on
/// an engine of the one selector [`Engine`] (the state vector or the dense MPS).
///
/// Serialised as before the engines were unified: `{"kind": "auto"}`,
/// `{"kind": "density-matrix"}`, trajectories as their engine (`{"kind": "state-vector"}`,
/// `{"kind": "mps", "chi": 64, "cutoff": 1e-12}`), and trajectories on the automatic
/// engine as `{"kind": "auto-trajectories"}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "MethodRepr", into = "MethodRepr")]
pub enum NoisyMethod {
    /// Density matrix for `n ≤ 10`, else trajectories on [`Engine::Auto`] (the state
    /// vector for `n ≤ 24`, the MPS with χ = 64, cutoff 1e-12 beyond).
    #[default]
    Auto,
    /// Exact density matrix (`n ≤ 12`).
    DensityMatrix,
    /// Monte-Carlo trajectories on this engine: [`Engine::StateVector`], [`Engine::Mps`],
    /// or [`Engine::Auto`] (its rule for states without a fixed weight,
    /// [`Engine::resolve_without_weight`]).
    Trajectories(Engine),
}

/// The serialised form of [`NoisyMethod`] (see there).
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum MethodRepr {
    Method(MethodTag),
    Engine(Engine),
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
enum MethodTag {
    DensityMatrix,
    AutoTrajectories,
}

impl From<MethodRepr> for NoisyMethod {
    fn from(r: MethodRepr) -> Self {
        match r {
            MethodRepr::Method(MethodTag::DensityMatrix) => NoisyMethod::DensityMatrix,
            MethodRepr::Method(MethodTag::AutoTrajectories) => {
                NoisyMethod::Trajectories(Engine::Auto)
            }
            MethodRepr::Engine(Engine::Auto) => NoisyMethod::Auto,
            MethodRepr::Engine(e) => NoisyMethod::Trajectories(e),
        }
    }
}

impl From<NoisyMethod> for MethodRepr {
    fn from(m: NoisyMethod) -> Self {
        match m {
            NoisyMethod::Auto => MethodRepr::Engine(Engine::Auto),
            NoisyMethod::DensityMatrix => MethodRepr::Method(MethodTag::DensityMatrix),
            NoisyMethod::Trajectories(Engine::Auto) => {
                MethodRepr::Method(MethodTag::AutoTrajectories)
            }
            NoisyMethod::Trajectories(e) => MethodRepr::Engine(e),
        }
    }
}

impl NoisyMethod {
    /// The concrete method for `n` qubits: [`NoisyMethod::DensityMatrix`] or trajectories
    /// on the state vector or the MPS. An engine trajectories cannot run on is a typed
    /// [`Error::UnsupportedEngine`].
    pub fn resolve(&self, n: usize) -> Result<NoisyMethod> {
        let engine = match *self {
            NoisyMethod::Auto if n <= AUTO_DENSITY_MAX_QUBITS => {
                return Ok(NoisyMethod::DensityMatrix)
            }
            NoisyMethod::Auto => Engine::Auto,
            NoisyMethod::DensityMatrix => return Ok(NoisyMethod::DensityMatrix),
            NoisyMethod::Trajectories(e) => e,
        };
        match engine.resolve_without_weight(n) {
            e @ (Engine::StateVector | Engine::Mps { .. }) => Ok(NoisyMethod::Trajectories(e)),
            other => Err(other.unsupported("noisy trajectories", &TRAJECTORY_ENGINES)),
        }
    }

    /// Check the engine (one of [`TRAJECTORY_ENGINES`]) and an MPS's truncation.
    pub fn validate(&self) -> Result<()> {
        match *self {
            NoisyMethod::Trajectories(e @ Engine::Mps { .. }) => {
                e.mps_config(&Default::default())?;
            }
            NoisyMethod::Trajectories(Engine::Auto | Engine::StateVector)
            | NoisyMethod::Auto
            | NoisyMethod::DensityMatrix => {}
            NoisyMethod::Trajectories(other) => {
                return Err(other.unsupported("noisy trajectories", &TRAJECTORY_ENGINES))
            }
        }
        Ok(())
    }
}

impl FromStr for NoisyMethod {
    type Err = Error;
    /// `density-matrix`, or an engine name of [`Engine`] (trajectories on it; `auto` is
    /// [`NoisyMethod::Auto`]). The engine is not checked here ([`NoisyMethod::validate`]).
    fn from_str(s: &str) -> Result<Self> {
        if s == "density-matrix" {
            return Ok(NoisyMethod::DensityMatrix);
        }
        Ok(match s.parse::<Engine>()? {
            Engine::Auto => NoisyMethod::Auto,
            e => NoisyMethod::Trajectories(e),
        })
    }
}

impl std::fmt::Display for NoisyMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoisyMethod::Auto => write!(f, "auto"),
            NoisyMethod::DensityMatrix => write!(f, "density-matrix"),
            NoisyMethod::Trajectories(Engine::Mps { chi, cutoff }) => {
                write!(f, "mps-trajectories (χ = {chi}, cutoff {cutoff:e})")
            }
            NoisyMethod::Trajectories(e) => write!(f, "{}-trajectories", e.name()),
        }
    }
}

/// Everything that configures a noisy simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoisyConfig {
    /// Gate and readout error rates.
    pub model: NoiseModel,
    /// Density matrix or trajectories, and the trajectories' engine.
    #[serde(default)]
    pub engine: NoisyMethod,
    /// Monte-Carlo trajectories (ignored by the density matrix; 1 is used when the model
    /// has no gate error).
    pub trajectories: usize,
    /// Seed of the trajectories.
    pub seed: u64,
    /// Keep only outcomes of this Hamming weight (and report the kept fraction).
    #[serde(default)]
    pub postselect_weight: Option<usize>,
    /// How many times the 2-qubit channel follows an RBS gate. 1 applies noise per IR gate
    /// as given; 2 counts an RBS as the two native two-qubit gates it compiles to (two MS
    /// on Aria, two ZZ on Forte; SCIENCE.md §6), for use before the circuits are compiled.
    #[serde(default = "one")]
    pub rbs_two_qubit_gates: u32,
}

fn one() -> u32 {
    1
}

impl NoisyConfig {
    /// `model` with the automatic engine, 1000 trajectories, seed 0, no post-selection,
    /// noise per IR gate.
    pub fn new(model: NoiseModel) -> Self {
        NoisyConfig {
            model,
            engine: NoisyMethod::Auto,
            trajectories: 1000,
            seed: 0,
            postselect_weight: None,
            rbs_two_qubit_gates: 1,
        }
    }

    /// Check the settings (rates, trajectory count, RBS weighting).
    pub fn validate(&self) -> Result<()> {
        self.model.validate()?;
        if self.trajectories == 0 {
            return Err(Error::NoisySimulation(
                "0 trajectories; give at least 1 (hundreds for a stable average)".into(),
            ));
        }
        if self.rbs_two_qubit_gates == 0 {
            return Err(Error::NoisySimulation(
                "rbs_two_qubit_gates = 0 would make RBS gates noiseless; use 1 (per IR gate) or 2 (two native gates per RBS)".into(),
            ));
        }
        self.engine.validate()
    }

    /// Refuse, before anything is allocated, a run of `circuit` under this configuration
    /// that would not fit the memory budget ([`Error::ResourceExceeded`]): the density
    /// matrix and its probabilities, the state-vector trajectories (one state per thread,
    /// the ideal distribution, the running average and a batch of distributions), or the
    /// MPS trajectories (the ideal state and one per thread, each at the peak its bond cap
    /// allows). Shot histograms are checked when they are drawn. [`simulate_noisy`] calls
    /// this first.
    pub fn check_budget(&self, circuit: &Circuit) -> Result<()> {
        let n = circuit.qubits;
        let threads = rayon::current_num_threads();
        match self.engine.resolve(n)? {
            // Beyond MAX_DENSITY_QUBITS the engine refuses by name.
            NoisyMethod::DensityMatrix if n <= MAX_DENSITY_QUBITS => {
                Need::density_matrix(n).plus(8 << n).check()
            }
            NoisyMethod::Trajectories(Engine::StateVector) => {
                Need::state_vector(n).check()?;
                Need::statevector_trajectories(n, batch_size(n), threads).check()
            }
            NoisyMethod::Trajectories(Engine::Mps { chi, .. }) => {
                // Pauli insertions at most double the gates of a trajectory.
                let ops = circuit.ops.len().saturating_mul(2);
                Need::mps_trajectories(n, chi, ops, threads).check()
            }
            _ => Ok(()),
        }
    }
}

/// What a noisy run returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoisyOutcome {
    /// Number of qubits.
    pub n_qubits: usize,
    /// The method that ran (resolved from `auto`).
    pub engine: NoisyMethod,
    /// Trajectories averaged (0 for the density matrix).
    pub trajectories: usize,
    /// The exact (density matrix) or trajectory-averaged distribution over the `2^n` basis
    /// states after readout error (index bit `q` = qubit `q`); `None` on the MPS.
    pub distribution: Option<Vec<f64>>,
    /// `P(read 1)` per qubit after readout error: exact / trajectory average, or the shot
    /// estimate when sampled.
    pub marginals: Vec<f64>,
    /// The shots, when sampled (after readout error, before post-selection).
    pub histogram: Option<Histogram>,
    /// Post-selection result, when a weight was requested.
    pub postselection: Option<PostSelection>,
    /// Smallest MPS truncation fidelity estimate over trajectories (MPS only).
    pub mps_min_fidelity_estimate: Option<f64>,
}

/// The circuit's gates with their error rates (errors name the op index).
pub fn noisy_gates(
    circuit: &Circuit,
    values: &Parameters,
    config: &NoisyConfig,
) -> Result<Vec<NoisyGate>> {
    circuit
        .ops
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let gate = g.bind(i, values)?;
            let arity = gate.qubits().len();
            Ok(NoisyGate {
                gate,
                error: config.model.gate_error(arity),
                repeats: if matches!(g, Gate::Rbs { .. }) {
                    config.rbs_two_qubit_gates
                } else {
                    1
                },
            })
        })
        .collect()
}

/// `P(q_i = 1)` from a distribution over `2^n` states.
pub fn marginals_of_distribution(p: &[f64]) -> Vec<f64> {
    let n = p.len().trailing_zeros() as usize;
    let mut m = vec![0.0; n];
    for (i, &pi) in p.iter().enumerate() {
        let mut bits = i;
        while bits != 0 {
            m[bits.trailing_zeros() as usize] += pi;
            bits &= bits - 1;
        }
    }
    m
}

/// Counts of `shots` shots from `p` (over the `2^n` basis states, index bit `q` = qubit
/// `q`): one multinomial draw with a seeded ChaCha8 stream, its outcomes checked against
/// the memory budget first.
fn histogram_of_distribution(n: usize, p: &[f64], shots: u64, seed: u64) -> Result<Histogram> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // A density matrix's diagonal can carry round-off just below zero: such entries are
    // drawn as zero (NaN stays NaN and is refused).
    let counts = multinomial_counts(
        p.len(),
        |i| if p[i] < 0.0 { 0.0 } else { p[i] },
        shots,
        &mut rng,
        |entries| Need::histogram(n, shots, entries as u128).check(),
    )?;
    Ok(Histogram {
        shots: usize::try_from(shots).unwrap_or(usize::MAX),
        counts: counts
            .into_iter()
            .map(|(i, c)| (BitString::from_index(n, i as u64), c))
            .collect(),
    })
}

/// The exact density matrix after the noisy circuit (no readout error).
pub fn run_density_matrix(n: usize, gates: &[NoisyGate]) -> Result<DensityMatrix> {
    let mut rho = DensityMatrix::new(n)?;
    for g in gates {
        rho.apply_gate(&g.gate)?;
        let qubits = g.gate.qubits();
        for _ in 0..g.repeats {
            rho.depolarize(&qubits, g.error)?;
        }
    }
    Ok(rho)
}

/// The gate sequence (with Pauli insertions) of trajectory `t`.
pub fn trajectory_circuit(gates: &[NoisyGate], seed: u64, t: u64) -> Vec<BoundGate> {
    let mut rng = ChaCha8Rng::seed_from_u64(trajectory_seed(seed, t));
    let insertions = draw_insertions(gates, &mut rng);
    trajectory_gates(gates, &insertions)
}

/// The state vector of trajectory `t`.
pub fn statevector_trajectory(
    n: usize,
    gates: &[NoisyGate],
    seed: u64,
    t: u64,
) -> Result<StateVector> {
    let mut sv = StateVector::new(n)?;
    for g in trajectory_circuit(gates, seed, t) {
        sv.apply(&g)?;
    }
    Ok(sv)
}

/// Bound gates as a circuit of explicit unitaries (what the MPS scheduler runs).
fn unitary_circuit(n: usize, gates: &[BoundGate]) -> Result<Circuit> {
    let mut c = Circuit::new(n);
    for g in gates {
        c.push(match *g {
            BoundGate::One { qubit, matrix } => Gate::Unitary1 { qubit, matrix },
            BoundGate::Two { qubits, matrix } => Gate::Unitary2 { qubits, matrix },
        })?;
    }
    Ok(c)
}

/// The MPS of trajectory `t`.
pub fn mps_trajectory(
    n: usize,
    gates: &[NoisyGate],
    seed: u64,
    t: u64,
    config: &MpsConfig,
) -> Result<bfly_sim::Mps> {
    let circuit = unitary_circuit(n, &trajectory_circuit(gates, seed, t))?;
    run_mps(&circuit, &Parameters::default(), config)
}

/// Trajectories run per parallel batch for `n` qubits (fixed per `n`, never per thread
/// count, so the summation order is fixed).
fn batch_size(n: usize) -> usize {
    ((1usize << 22) >> n.min(22)).clamp(1, 64)
}

/// Simulate `circuit` with `values` under `config`; `shots = Some((S, seed))` samples `S`
/// shots with that seed. `progress` is started with the trajectory count and advances once
/// per trajectory.
///
/// ```
/// use bfly_core::circuit::{loaders::Loader, ButterflyWorkload};
/// use bfly_noise::{simulate_noisy, NoiseModel, NoisyConfig};
/// use bfly_core::progress::NoProgress;
/// let c = ButterflyWorkload::full(4, Loader::UnaryTree, 1).build().unwrap();
/// let mut config = NoisyConfig::new("aria-1".parse::<NoiseModel>().unwrap());
/// config.postselect_weight = Some(1);
/// let out = simulate_noisy(&c, &c.parameters, &config, None, &NoProgress).unwrap(); // density matrix
/// let ps = out.postselection.unwrap();
/// assert!(ps.kept_fraction > 0.9 && ps.kept_fraction < 1.0);
/// assert!((ps.marginals.iter().sum::<f64>() - 1.0).abs() < 1e-12);
/// ```
pub fn simulate_noisy(
    circuit: &Circuit,
    values: &Parameters,
    config: &NoisyConfig,
    shots: Option<(usize, u64)>,
    progress: &dyn Progress,
) -> Result<NoisyOutcome> {
    config.validate()?;
    let n = circuit.qubits;
    if let Some(k) = config.postselect_weight {
        check_weight(k, n)?;
    }
    config.check_budget(circuit)?;
    let gates = noisy_gates(circuit, values, config)?;
    let engine = config.engine.resolve(n)?;
    let trajectories = if config.model.gates_are_ideal() {
        1
    } else {
        config.trajectories
    };
    let readout_error = config.model.readout;
    progress.start(
        if engine == NoisyMethod::DensityMatrix {
            1
        } else {
            trajectories as u64
        },
        "trajectories",
    );
    let _finish = FinishOnDrop(progress);
    match engine {
        NoisyMethod::DensityMatrix => {
            if n > MAX_DENSITY_QUBITS {
                return Err(Error::NoisySimulation(format!(
                    "the density-matrix engine takes at most {MAX_DENSITY_QUBITS} qubits, the circuit has {n}; use the state-vector or MPS engine"
                )));
            }
            let rho = run_density_matrix(n, &gates)?;
            progress.advance(1);
            let mut p = rho.probabilities();
            readout::apply_to_distribution(&readout_error, &mut p);
            from_distribution(n, engine, 0, p, config, shots)
        }
        NoisyMethod::Trajectories(Engine::StateVector) => {
            // Trajectories without any Pauli error (most of them at hardware rates) all
            // give the ideal state: it is simulated once and reused.
            let mut ideal_sv = StateVector::new(n)?;
            for g in &gates {
                ideal_sv.apply(&g.gate)?;
            }
            let ideal: Vec<f64> = ideal_sv.amplitudes().iter().map(|a| a.norm_sqr()).collect();
            drop(ideal_sv);
            let batch = batch_size(n);
            let mut acc = vec![0.0; 1usize << n];
            let mut t0 = 0;
            while t0 < trajectories {
                let t1 = (t0 + batch).min(trajectories);
                let dists: Vec<Option<Vec<f64>>> = (t0..t1)
                    .into_par_iter()
                    .map(|t| {
                        let seq = trajectory_circuit(&gates, config.seed, t as u64);
                        let out = if seq.len() == gates.len() {
                            None
                        } else {
                            let mut sv = StateVector::new(n)?;
                            for g in &seq {
                                sv.apply(g)?;
                            }
                            Some(sv.amplitudes().iter().map(|a| a.norm_sqr()).collect())
                        };
                        progress.advance(1);
                        Ok(out)
                    })
                    .collect::<Result<_>>()?;
                for d in &dists {
                    let d = d.as_ref().unwrap_or(&ideal);
                    acc.iter_mut().zip(d).for_each(|(a, x)| *a += x);
                }
                t0 = t1;
            }
            let scale = 1.0 / trajectories as f64;
            acc.iter_mut().for_each(|a| *a *= scale);
            readout::apply_to_distribution(&readout_error, &mut acc);
            from_distribution(n, engine, trajectories, acc, config, shots)
        }
        NoisyMethod::Trajectories(Engine::Mps { chi, cutoff }) => {
            let mps_config = MpsConfig::new(chi, cutoff)?;
            run_mps_trajectories(
                n,
                &gates,
                engine,
                trajectories,
                &mps_config,
                config,
                shots,
                progress,
            )
        }
        other => Err(Error::NoisySimulation(format!(
            "method {other} did not resolve to the density matrix or trajectories on the state vector or the MPS"
        ))),
    }
}

/// Outcome from an (already readout-corrupted) distribution.
fn from_distribution(
    n: usize,
    engine: NoisyMethod,
    trajectories: usize,
    p: Vec<f64>,
    config: &NoisyConfig,
    shots: Option<(usize, u64)>,
) -> Result<NoisyOutcome> {
    let (marginals, histogram, postselection) = match shots {
        None => (
            marginals_of_distribution(&p),
            None,
            config
                .postselect_weight
                .map(|k| postselect_distribution(&p, k)),
        ),
        Some((s, seed)) => {
            let h = histogram_of_distribution(n, &p, s as u64, seed)?;
            let ps = config
                .postselect_weight
                .map(|k| postselect_histogram(&h, n, k));
            (h.marginals(n), Some(h), ps)
        }
    };
    Ok(NoisyOutcome {
        n_qubits: n,
        engine,
        trajectories,
        distribution: Some(p),
        marginals,
        histogram,
        postselection,
        mps_min_fidelity_estimate: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn run_mps_trajectories(
    n: usize,
    gates: &[NoisyGate],
    engine: NoisyMethod,
    trajectories: usize,
    mps_config: &MpsConfig,
    config: &NoisyConfig,
    shots: Option<(usize, u64)>,
    progress: &dyn Progress,
) -> Result<NoisyOutcome> {
    let readout_error = config.model.readout;
    let shots_of = |t: usize| -> usize {
        match shots {
            None => 0,
            Some((s, _)) => s / trajectories + usize::from(t < s % trajectories),
        }
    };
    // Exact mode with post-selection: P(weight = k) and P(q_i = 1, weight = k) per
    // trajectory from the MPS (readout error included), averaged like the marginals.
    let exact_weight = match shots {
        None => config.postselect_weight,
        Some(_) => None,
    };
    struct PerTrajectory {
        marginals: Vec<f64>,
        counts: Vec<(BitString, u64)>,
        weight: Option<(f64, Vec<f64>)>,
        fidelity: f64,
    }
    // The shot histograms: at most min(S, 2^n) outcomes merged, and as many again in
    // the batch of per-trajectory counts being merged (their shots sum to at most S).
    if let Some((s, _)) = shots {
        let outcomes = if n >= 128 { u128::MAX } else { 1u128 << n };
        let one = Need::histogram(n, s as u64, outcomes);
        one.clone().plus(one.bytes()).check()?;
    }
    let batch = 16;
    // Trajectories without any Pauli error (most of them at hardware rates) share one MPS.
    let plain: Vec<BoundGate> = gates.iter().map(|g| g.gate).collect();
    let ideal_mps = run_mps(
        &unitary_circuit(n, &plain)?,
        &Parameters::default(),
        mps_config,
    )?;
    // Running sums, in trajectory order (so they do not depend on the thread count).
    let mut marginal_sum = vec![0.0; n];
    let mut kept_sum = 0.0;
    let mut joint_sum = vec![0.0; n];
    let mut min_fidelity = f64::INFINITY;
    let mut merged: BTreeMap<BitString, u64> = BTreeMap::new();
    let mut t0 = 0;
    while t0 < trajectories {
        let t1 = (t0 + batch).min(trajectories);
        let part: Vec<PerTrajectory> = (t0..t1)
            .into_par_iter()
            .map(|t| {
                let s = shots_of(t);
                if shots.is_some() && s == 0 {
                    progress.advance(1);
                    return Ok(PerTrajectory {
                        marginals: vec![0.0; n],
                        counts: Vec::new(),
                        weight: None,
                        fidelity: 1.0,
                    });
                }
                let seq = trajectory_circuit(gates, config.seed, t as u64);
                let own;
                let mps = if seq.len() == gates.len() {
                    &ideal_mps
                } else {
                    own = run_mps(
                        &unitary_circuit(n, &seq)?,
                        &Parameters::default(),
                        mps_config,
                    )?;
                    &own
                };
                let mut counts = Vec::new();
                if let Some((_, seed)) = shots {
                    let shot_seed = derive_seed(seed, t as u64, 0);
                    counts = mps.sample_counts(s as u64, shot_seed)?;
                    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, t as u64, 1));
                    counts = readout::apply_to_counts(&readout_error, counts, &mut rng);
                }
                let weight = match exact_weight {
                    Some(k) => Some(super::weight::weight_resolved(mps, &readout_error, k)?),
                    None => None,
                };
                progress.advance(1);
                Ok(PerTrajectory {
                    marginals: if shots.is_none() {
                        mps.marginals()
                    } else {
                        Vec::new()
                    },
                    counts,
                    weight,
                    fidelity: mps.report().fidelity_estimate,
                })
            })
            .collect::<Result<_>>()?;
        for r in part {
            min_fidelity = min_fidelity.min(r.fidelity);
            marginal_sum
                .iter_mut()
                .zip(&r.marginals)
                .for_each(|(a, x)| *a += x);
            if let Some((w, j)) = &r.weight {
                kept_sum += w;
                joint_sum.iter_mut().zip(j).for_each(|(a, x)| *a += x);
            }
            for (bits, count) in r.counts {
                *merged.entry(bits).or_default() += count;
            }
        }
        t0 = t1;
    }
    let (marginals, histogram, postselection) = match shots {
        None => {
            let scale = 1.0 / trajectories as f64;
            marginal_sum.iter_mut().for_each(|a| *a *= scale);
            let ps = config.postselect_weight.map(|k| {
                joint_sum.iter_mut().for_each(|a| *a *= scale);
                super::postselect::finish(k, kept_sum * scale, joint_sum, None)
            });
            (
                readout::apply_to_marginals(&readout_error, &marginal_sum),
                None,
                ps,
            )
        }
        Some((s, _)) => {
            let h = Histogram {
                shots: s,
                counts: merged.into_iter().collect(),
            };
            let ps = config
                .postselect_weight
                .map(|k| postselect_histogram(&h, n, k));
            (h.marginals(n), Some(h), ps)
        }
    };
    Ok(NoisyOutcome {
        n_qubits: n,
        engine,
        trajectories,
        distribution: None,
        marginals,
        histogram,
        postselection,
        mps_min_fidelity_estimate: Some(min_fidelity),
    })
}
