//! `bfly simulate`: run a circuit file on a chosen engine.

use super::engine_arg::{engines, SIMULATE_BACKENDS};
use butterfly_mps::budget::Need;
use butterfly_mps::circuit::{Circuit, Parameters};
use butterfly_mps::report::{SampleSummary, SimulationReport};
use butterfly_mps::sim::fidelity::true_fidelity;
use butterfly_mps::sim::mps::u1::{fixed_input_weight, run_mps_u1};
use butterfly_mps::sim::mps::{run_mps, MpsConfig, SiteOrdering, Truncation};
use butterfly_mps::sim::{simulate, Engine, Simulator};
use butterfly_mps::{Error, Result};
use clap::ValueEnum;
use std::path::PathBuf;
use std::time::Instant;

/// Initial qubit→site layout of the MPS chain.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SiteOrderingArg {
    /// Identity or bit-reversed, whichever needs fewer routing swaps for this circuit.
    Auto,
    /// Qubit q at site q.
    Identity,
    /// Qubit q at site bitreverse(q) (power-of-two n).
    BitReversed,
}

/// Conserved symmetry of the MPS engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SymmetryArg {
    /// Dense MPS (any gate).
    None,
    /// U(1) Hamming-weight block-sparse MPS (weight-preserving gates).
    U1,
    /// U(1) if the input has a fixed Hamming weight and every later gate conserves it
    /// (unary, hwK loaders), dense otherwise (angle loader, weight-changing gates).
    Auto,
}

#[derive(clap::Args)]
pub struct Args {
    /// Circuit JSON file (e.g. from `bfly butterfly`).
    #[arg(long, short = 'c')]
    circuit: PathBuf,
    /// Simulation engine.
    #[arg(long, short = 'b', default_value = "statevector", value_parser = engines(SIMULATE_BACKENDS))]
    backend: Engine,
    /// Parameter values JSON (`{"trainable": [...], "inputs": [...]}`) overriding the
    /// circuit's own defaults.
    #[arg(long)]
    params: Option<PathBuf>,
    /// MPS: largest bond dimension χ kept at every two-qubit gate.
    #[arg(long, default_value_t = 64)]
    chi: usize,
    /// MPS: largest relative discarded weight Σ s² per SVD (0 keeps every singular value).
    #[arg(long, default_value_t = 1e-12, allow_negative_numbers = true)]
    cutoff: f64,
    /// MPS: conserved symmetry. `u1` runs the Hamming-weight block-sparse engine
    /// (weight-preserving gates after each qubit's leading one-qubit gates; mixed-weight
    /// inputs are stored as Σ_Q |ψ_Q>|Q>, exact for every measurement statistic). `auto`
    /// picks u1 for fixed-weight inputs, where it truncates exactly as the dense engine and
    /// was measured 4–5× faster, and the dense engine otherwise.
    #[arg(long, value_enum, default_value = "none")]
    symmetry: SymmetryArg,
    /// MPS: initial qubit→site layout.
    #[arg(long, value_enum, default_value = "auto")]
    site_ordering: SiteOrderingArg,
    /// MPS: also measure the true fidelity against an exact reference (state vector for
    /// n ≤ 26, otherwise an untruncated MPS checked against the subspace simulator).
    #[arg(long)]
    reference: bool,
    /// MPS: save the final state to this file (.npz with a JSON header, readable by
    /// numpy; versioned, atomic write).
    #[arg(long)]
    save_state: Option<PathBuf>,
    /// Number of measurement shots to sample (0: none). Shots are aggregated into counts
    /// (memory grows with the distinct outcomes, not with the shots; any number up to
    /// 2^64 − 1): a multinomial draw from the exact engines' probabilities, binomial
    /// splits site by site on the MPS.
    #[arg(long, default_value_t = 0)]
    shots: u64,
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
    super::guard_outputs(
        &[
            ("--circuit", Some(&args.circuit)),
            ("--params", args.params.as_deref()),
        ],
        &[
            ("--save-state", args.save_state.as_deref()),
            ("--amplitudes", args.amplitudes.as_deref()),
        ],
    )?;
    let circuit = Circuit::load(&args.circuit)?;
    let values = match &args.params {
        Some(path) => Parameters::load(path)?,
        None => circuit.parameters.clone(),
    };
    let load_time = t0.elapsed().as_secs_f64();
    let mps_only = [
        (args.reference, "--reference"),
        (args.save_state.is_some(), "--save-state"),
        (args.symmetry == SymmetryArg::U1, "--symmetry u1"),
        (args.symmetry == SymmetryArg::Auto, "--symmetry auto"),
    ];
    if !matches!(args.backend, Engine::Mps { .. }) {
        if let Some((_, flag)) = mps_only.iter().find(|(set, _)| *set) {
            return Err(Error::InvalidInput(format!(
                "{flag} applies to the mps backend only; add --backend mps"
            )));
        }
    }
    let mut details = Vec::new();
    let mut extra_timings = Vec::new();
    let t1 = Instant::now();
    // Amplitudes an exact engine stores (what --amplitudes may list).
    let mut stored_amplitudes = None;
    let state: Box<dyn Simulator> = match args.backend {
        Engine::Mps { .. } => {
            let config = MpsConfig {
                truncation: Truncation::new(args.chi, args.cutoff)?,
                ordering: match args.site_ordering {
                    SiteOrderingArg::Auto => SiteOrdering::Auto,
                    SiteOrderingArg::Identity => SiteOrdering::Identity,
                    SiteOrderingArg::BitReversed => SiteOrdering::BitReversed,
                },
                ..Default::default()
            };
            let use_u1 = match args.symmetry {
                SymmetryArg::None => false,
                SymmetryArg::U1 => true,
                SymmetryArg::Auto => {
                    let weight = fixed_input_weight(&circuit, &values)?;
                    details.push(("symmetry_auto_input_weight", serde_json::to_value(weight)));
                    weight.is_some()
                }
            };
            if use_u1 {
                let mps = run_mps_u1(&circuit, &values, &config)?;
                let simulated = t1.elapsed().as_secs_f64();
                details.push(("mps_config", serde_json::to_value(&config)));
                details.push(("symmetry", serde_json::to_value("u1")));
                details.push(("truncation", serde_json::to_value(mps.report())));
                details.push((
                    "bond_sectors_max",
                    serde_json::to_value(mps.bond_sectors().iter().map(Vec::len).max()),
                ));
                if let Some(path) = &args.save_state {
                    mps.save(path)?;
                }
                if args.reference {
                    // Overlaps do not compare across engines for mixed-weight inputs (see
                    // sim::mps::u1): the check is on measurement statistics.
                    let t = Instant::now();
                    let mut run_circuit = circuit.clone();
                    run_circuit.parameters = values.clone();
                    let p = butterfly_mps::bench::reference_marginals(
                        &run_circuit,
                        butterfly_mps::bench::MarginalReference::Exact,
                    )?;
                    let err = mps
                        .marginals()
                        .iter()
                        .zip(&p)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max);
                    extra_timings.push(("reference", t.elapsed().as_secs_f64()));
                    details.push(("reference_max_marginal_error", serde_json::to_value(err)));
                }
                extra_timings.push(("simulate", simulated));
                Box::new(mps)
            } else {
                let mps = run_mps(&circuit, &values, &config)?;
                let simulated = t1.elapsed().as_secs_f64();
                details.push(("mps_config", serde_json::to_value(&config)));
                details.push(("symmetry", serde_json::to_value("none")));
                details.push(("truncation", serde_json::to_value(mps.report())));
                if let Some(path) = &args.save_state {
                    mps.save(path)?;
                }
                if args.reference {
                    let t = Instant::now();
                    let check = true_fidelity(&circuit, &values, &mps, &config)?;
                    extra_timings.push(("reference", t.elapsed().as_secs_f64()));
                    details.push(("true_fidelity", serde_json::to_value(check.fidelity)));
                    details.push(("reference", serde_json::to_value(&check)));
                }
                extra_timings.push(("simulate", simulated));
                Box::new(mps)
            }
        }
        other => {
            let state = simulate(&other, &circuit, &values)?;
            stored_amplitudes = state
                .as_state_vector()
                .map(|s| s.amplitudes().len())
                .or(state.as_subspace().map(|s| s.dimension()));
            Box::new(state)
        }
    };
    let sim_time = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let mut report = SimulationReport::from_state(state.as_ref(), circuit.ops.len());
    for (key, value) in details {
        report
            .details
            .insert(key.to_string(), value.expect("reports serialise to JSON"));
    }
    report.timings.insert("load".into(), load_time);
    report.timings.insert("simulate".into(), sim_time);
    // The MPS branch times the simulation alone (without reference or saving).
    for (key, seconds) in extra_timings {
        report.timings.insert(key.into(), seconds);
    }
    report
        .timings
        .insert("observables".into(), t2.elapsed().as_secs_f64());
    if args.shots > 0 {
        let t3 = Instant::now();
        let counts = state.sample_counts(args.shots, args.seed)?;
        report.samples = Some(SampleSummary::from_counts(counts, args.seed));
        report
            .timings
            .insert("sample".into(), t3.elapsed().as_secs_f64());
    }
    if let Some(path) = &args.amplitudes {
        if let Some(entries) = stored_amplitudes {
            Need::amplitude_listing(circuit.qubits, entries as u128).check()?;
        }
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
