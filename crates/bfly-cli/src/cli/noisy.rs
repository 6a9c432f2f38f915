//! `bfly noisy`: simulate a circuit file under a noise model and compare with the ideal run.

use super::engine_arg::{possible_values, EngineValues};
use super::progress::{self, Bar};
use butterfly_mps::circuit::{Circuit, Parameters};
use butterfly_mps::noise::compare::{ideal_reference, NoiseComparison};
use butterfly_mps::noise::{simulate_noisy, NoiseModel, NoisyConfig, NoisyMethod, ReadoutError};
use butterfly_mps::sim::Engine;
use butterfly_mps::Result;
use std::path::PathBuf;
use std::time::Instant;

/// The values of `--engine` (parsed by `NoisyMethod`'s `FromStr`).
const NOISY_ENGINES: EngineValues = &[
    (
        "auto",
        "Density matrix for n ≤ 10, state-vector trajectories for n ≤ 24, MPS beyond",
    ),
    ("density-matrix", "Exact density matrix (n ≤ 12)"),
    (
        "statevector",
        "Monte-Carlo trajectories on the state vector",
    ),
    (
        "mps",
        "Monte-Carlo trajectories on the MPS (--chi, --cutoff)",
    ),
];

#[derive(clap::Args)]
pub struct Args {
    /// Circuit JSON file (e.g. from `bfly butterfly`).
    #[arg(long, short = 'c')]
    circuit: PathBuf,
    /// Parameter values JSON overriding the circuit's defaults.
    #[arg(long)]
    params: Option<PathBuf>,
    /// Noise model: ideal, aria-1, aria-2, forte-1. --p1/--p2/--readout override its rates
    /// (the model is then named "custom").
    #[arg(long, default_value = "forte-1")]
    noise: String,
    /// Error probability of the 1-qubit depolarizing channel after each 1-qubit gate.
    #[arg(long)]
    p1: Option<f64>,
    /// Error probability of the 2-qubit depolarizing channel after each 2-qubit gate.
    #[arg(long)]
    p2: Option<f64>,
    /// Readout error: p (symmetric) or p(1|0),p(0|1).
    #[arg(long)]
    readout: Option<String>,
    /// Engine.
    #[arg(long, default_value = "auto", value_parser = possible_values(NOISY_ENGINES))]
    engine: String,
    /// MPS: bond cap χ (also used for the ideal reference when n > 24).
    #[arg(long, default_value_t = 64)]
    chi: usize,
    /// MPS: relative discarded-weight cutoff.
    #[arg(long, default_value_t = 1e-12, allow_negative_numbers = true)]
    cutoff: f64,
    /// Monte-Carlo trajectories (ignored by the density matrix).
    #[arg(long, default_value_t = 1000)]
    trajectories: usize,
    /// Seed of the trajectories.
    #[arg(long, default_value_t = 0)]
    noise_seed: u64,
    /// Shots to sample (0: exact probabilities), kept as counts: memory grows with the
    /// distinct outcomes, not with the shots.
    #[arg(long, default_value_t = 0)]
    shots: usize,
    /// Seed of the shot sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep only outcomes with this Hamming weight (1 for unary circuits) and report the
    /// kept fraction.
    #[arg(long)]
    postselect_weight: Option<usize>,
    /// Times the 2-qubit channel follows each RBS: 1 = per IR gate; 2 = as the two native
    /// two-qubit gates an RBS compiles to (MS/ZZ).
    #[arg(long, default_value_t = 1)]
    rbs_two_qubit_gates: u32,
    /// Print one JSON document instead of the readable summary.
    #[arg(long)]
    json: bool,
}

/// The model named by `--noise`, with `--p1/--p2/--readout` overrides.
fn model(args: &Args) -> Result<NoiseModel> {
    let mut m = NoiseModel::preset(&args.noise)?;
    if args.p1.is_none() && args.p2.is_none() && args.readout.is_none() {
        return Ok(m);
    }
    if let Some(p1) = args.p1 {
        m.p1 = p1;
    }
    if let Some(p2) = args.p2 {
        m.p2 = p2;
    }
    if let Some(r) = &args.readout {
        m.readout = r.parse::<ReadoutError>()?;
    }
    NoiseModel::custom(m.p1, m.p2, m.readout)
}

pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    let circuit = Circuit::load(&args.circuit)?;
    let values = match &args.params {
        Some(path) => Parameters::load(path)?,
        None => circuit.parameters.clone(),
    };
    let model = model(&args)?;
    let mps = NoisyMethod::Trajectories(Engine::Mps {
        chi: args.chi,
        cutoff: args.cutoff,
    });
    let config = NoisyConfig {
        model: model.clone(),
        engine: match args.engine.parse::<NoisyMethod>()? {
            // Auto, but with this command's --chi/--cutoff when it picks the MPS.
            NoisyMethod::Auto => match NoisyMethod::Auto.resolve(circuit.qubits)? {
                NoisyMethod::Trajectories(Engine::Mps { .. }) => mps,
                other => other,
            },
            NoisyMethod::Trajectories(Engine::Mps { .. }) => mps,
            other => other,
        },
        trajectories: args.trajectories,
        seed: args.noise_seed,
        postselect_weight: args.postselect_weight,
        rbs_two_qubit_gates: args.rbs_two_qubit_gates,
    };
    let load = t0.elapsed().as_secs_f64();
    // Refuse a noisy run that cannot fit before spending time on the ideal reference.
    config.check_budget(&circuit)?;
    let t1 = Instant::now();
    let ideal = ideal_reference(&circuit, &values, args.chi)?;
    let ideal_time = t1.elapsed().as_secs_f64();
    let engine = config.engine.resolve(circuit.qubits)?;
    let bar = if matches!(engine, NoisyMethod::DensityMatrix) || model.gates_are_ideal() {
        Bar::hidden()
    } else {
        Bar::new(progress::COUNT)
    };
    let t2 = Instant::now();
    let shots = (args.shots > 0).then_some((args.shots, args.seed));
    let outcome = simulate_noisy(&circuit, &values, &config, shots, &bar)?;
    let noisy_time = t2.elapsed().as_secs_f64();
    let label = format!(
        "{model}, RBS counted as {} two-qubit gate(s)",
        args.rbs_two_qubit_gates
    );
    let mut report = NoiseComparison::new(label, &ideal, &outcome)?;
    report.timings.insert("load".into(), load);
    report.timings.insert("ideal".into(), ideal_time);
    report.timings.insert("noisy".into(), noisy_time);
    super::emit(&report, args.json)
}
