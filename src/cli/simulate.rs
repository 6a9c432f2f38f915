//! `bfly simulate`: run a circuit file on a chosen engine.

use butterfly_mps::circuit::{Circuit, Parameters};
use butterfly_mps::report::{SampleSummary, SimulationReport};
use butterfly_mps::sim::{simulate, Backend};
use butterfly_mps::{Error, Result};
use clap::ValueEnum;
use std::path::PathBuf;
use std::time::Instant;

/// Simulation engine.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    /// Dense state vector (any circuit; 2^n amplitudes).
    Statevector,
    /// Fixed-Hamming-weight subspace (weight-preserving circuits; C(n,k) amplitudes).
    Subspace,
}

#[derive(clap::Args)]
pub struct Args {
    /// Circuit JSON file (e.g. from `bfly butterfly`).
    #[arg(long, short = 'c')]
    circuit: PathBuf,
    /// Simulation engine.
    #[arg(long, short = 'b', value_enum, default_value = "statevector")]
    backend: BackendArg,
    /// Parameter values JSON (`{"trainable": [...], "inputs": [...]}`) overriding the
    /// circuit's own defaults.
    #[arg(long)]
    params: Option<PathBuf>,
    /// Number of measurement shots to sample (0: none).
    #[arg(long, default_value_t = 0)]
    shots: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write every non-zero amplitude to this JSON file
    /// (`{"qubits": n, "amplitudes": [["0101…", re, im], …]}`, character i = qubit i);
    /// exact engines only.
    #[arg(long)]
    amplitudes: Option<PathBuf>,
    /// Print one JSON document instead of the readable summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    let circuit = Circuit::load(&args.circuit)?;
    let values = match &args.params {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            serde_json::from_str::<Parameters>(&text).map_err(|source| Error::Json {
                context: path.display().to_string(),
                source,
            })?
        }
        None => circuit.parameters.clone(),
    };
    let load_time = t0.elapsed().as_secs_f64();
    let backend = match args.backend {
        BackendArg::Statevector => Backend::StateVector,
        BackendArg::Subspace => Backend::Subspace,
    };
    let t1 = Instant::now();
    let state = simulate(backend, &circuit, &values)?;
    let sim_time = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let mut report = SimulationReport::from_state(state.as_ref(), circuit.ops.len());
    report.timings.insert("load".into(), load_time);
    report.timings.insert("simulate".into(), sim_time);
    report
        .timings
        .insert("observables".into(), t2.elapsed().as_secs_f64());
    if args.shots > 0 {
        let t3 = Instant::now();
        let samples = state.sample(args.shots, args.seed);
        report.samples = Some(SampleSummary::from_samples(&samples, args.seed));
        report
            .timings
            .insert("sample".into(), t3.elapsed().as_secs_f64());
    }
    if let Some(path) = &args.amplitudes {
        let amps = state.explicit_amplitudes().ok_or_else(|| {
            Error::InvalidInput(format!(
                "--amplitudes needs an engine that stores amplitudes explicitly (statevector or subspace), not {}",
                state.backend_name()
            ))
        })?;
        let doc = serde_json::json!({
            "qubits": circuit.qubits,
            "amplitudes": amps
                .iter()
                .map(|(b, a)| serde_json::json!([b.to_string(), a.re, a.im]))
                .collect::<Vec<_>>(),
        });
        butterfly_mps::io::write_atomic(path, doc.to_string().as_bytes())?;
    }
    super::emit(&report, args.json)
}
