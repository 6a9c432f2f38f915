//! `bfly demo`: the project's main job on embedded defaults.
//!
//! Builds a 128-qubit Butterfly fed by a Hamming-weight-2 loader, simulates it exactly in
//! the weight-2 subspace, runs 128-qubit Butterflies on the MPS engine with their
//! truncation reports (and the true fidelity where an exact reference exists), and
//! cross-checks the exact engines against each other at 16
//! qubits (subspace vs state vector vs the unary n×n orthogonal map).

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{Butterfly, ButterflyWorkload, LayerOrdering, Parameters};
use butterfly_mps::report::{format_seconds, SimulationReport};
use butterfly_mps::sim::fidelity::true_fidelity;
use butterfly_mps::sim::mps::{run_mps, MpsConfig, TruncationReport};
use butterfly_mps::sim::unary::UnaryMap;
use butterfly_mps::sim::{simulate, Backend};
use butterfly_mps::Result;
use rand::SeedableRng;
use serde::Serialize;
use std::fmt;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Seed of the random data and angles.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print one JSON document instead of the readable summary.
    #[arg(long)]
    json: bool,
}

/// One agreement check between two engines.
#[derive(Serialize)]
struct CrossCheck {
    what: String,
    max_abs_difference: f64,
}

/// A 128-qubit MPS run and what its truncation cost.
#[derive(Serialize)]
struct MpsRun {
    input: String,
    chi: usize,
    seconds: f64,
    truncation: TruncationReport,
    /// Measured against the exact reference, where one exists.
    true_fidelity: Option<f64>,
}

#[derive(Serialize)]
struct DemoReport {
    headline: SimulationReport,
    mps: Vec<MpsRun>,
    cross_checks: Vec<CrossCheck>,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "== 128-qubit Butterfly (7 layers, 448 RBS), hw2 loader, exact subspace simulation =="
        )?;
        writeln!(f, "{}", self.headline)?;
        writeln!(
            f,
            "\n== 128-qubit Butterfly on the MPS engine (cutoff 0) =="
        )?;
        for m in &self.mps {
            writeln!(
                f,
                "  {:<6} χ={:<4} {:>10}  max bond {:>4}  discarded Σε {:.3e}  fidelity estimate {:.6}{}",
                m.input,
                m.chi,
                format_seconds(m.seconds),
                m.truncation.max_bond_reached,
                m.truncation.total_discarded_weight,
                m.truncation.fidelity_estimate,
                m.true_fidelity
                    .map(|t| format!("  true fidelity {t:.6}"))
                    .unwrap_or_default()
            )?;
        }
        writeln!(f, "\n== cross-checks between exact engines ==")?;
        for c in &self.cross_checks {
            writeln!(f, "  {:<62} max |Δ| = {:.2e}", c.what, c.max_abs_difference)?;
        }
        Ok(())
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

pub fn run(args: Args) -> Result<()> {
    // Headline: 128 qubits, weight 2, exact.
    let t0 = Instant::now();
    let circuit = ButterflyWorkload::full(128, Loader::HammingWeight(2), args.seed).build()?;
    let build = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let state = simulate(Backend::Subspace, &circuit, &circuit.parameters)?;
    let sim = t1.elapsed().as_secs_f64();
    let mut headline = SimulationReport::from_state(state.as_ref(), circuit.ops.len());
    headline.timings.insert("build".into(), build);
    headline.timings.insert("simulate".into(), sim);

    // The MPS engine at 128 qubits: hw2 (exact reference exists) and angle input.
    let mut mps = Vec::new();
    for (loader, chi) in [(Loader::HammingWeight(2), 16), (Loader::Angle, 64)] {
        let c = ButterflyWorkload::full(128, loader, args.seed).build()?;
        let config = MpsConfig::new(chi, 0.0)?;
        let t = Instant::now();
        let state = run_mps(&c, &c.parameters, &config)?;
        let seconds = t.elapsed().as_secs_f64();
        let true_fidelity = match loader {
            Loader::Angle => None,
            _ => Some(true_fidelity(&c, &c.parameters, &state, &config)?.fidelity),
        };
        mps.push(MpsRun {
            input: loader.to_string(),
            chi,
            seconds,
            truncation: state.report(),
            true_fidelity,
        });
    }

    // Cross-checks at 16 qubits.
    let n = 16;
    let mut checks = Vec::new();
    for loader in [
        Loader::UnaryTree,
        Loader::HammingWeight(2),
        Loader::HammingWeight(3),
    ] {
        let c = ButterflyWorkload::full(n, loader, args.seed).build()?;
        let sv = simulate(Backend::StateVector, &c, &c.parameters)?;
        let sub = simulate(Backend::Subspace, &c, &c.parameters)?;
        checks.push(CrossCheck {
            what: format!("n={n} {loader}: marginals, subspace vs state vector"),
            max_abs_difference: max_diff(&sv.marginals(), &sub.marginals()),
        });
    }
    // Unary fast path: y = W x, P_i = y_i².
    let butterfly = Butterfly::full(n, LayerOrdering::CouplingFirst)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let x = butterfly_mps::circuit::loaders::random_unit_vector(n, &mut rng);
    let angles: Vec<f64> = (0..butterfly.n_params()).map(|i| 0.37 * i as f64).collect();
    let values = Parameters::new(angles.clone(), Loader::UnaryTree.angles(n, &x)?);
    let mut c = Loader::UnaryTree.circuit(n)?;
    butterfly.append_to(&mut c, 0)?;
    let sv = simulate(Backend::StateVector, &c, &values)?;
    let w = UnaryMap::from_circuit(&butterfly.circuit(), &Parameters::new(angles, vec![]))?;
    checks.push(CrossCheck {
        what: format!("n={n} unary: marginals, n×n orthogonal map vs state vector"),
        max_abs_difference: max_diff(&w.marginals(&x)?, &sv.marginals()),
    });

    let report = DemoReport {
        headline,
        mps,
        cross_checks: checks,
    };
    super::emit(&report, args.json)?;
    if !args.json {
        println!("\ntotal {}", format_seconds(t0.elapsed().as_secs_f64()));
    }
    Ok(())
}
