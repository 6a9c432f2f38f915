//! `bfly demo`: the project's main job on embedded defaults.
//!
//! Builds a 128-qubit Butterfly fed by a Hamming-weight-2 loader, simulates it exactly in
//! the weight-2 subspace, runs 128-qubit Butterflies on the MPS engine with their
//! truncation reports (and the true fidelity where an exact reference exists), and
//! cross-checks the exact engines against each other at 16
//! qubits (subspace vs state vector vs the unary n×n orthogonal map).
//!
//! Then the rest of the story on the RHC ICU data shipped in `data/`: the clinical
//! imputation study in its quick configuration (3 seeds), a 16-qubit hybrid model trained
//! layer-wise, its circuit compiled to IonQ Forte natives and written as an IonQ job body,
//! and the compiled circuits validated against exact simulation on 20 inputs.

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{Butterfly, ButterflyWorkload, LayerOrdering, Parameters};
use butterfly_mps::progress::NoProgress;
use butterfly_mps::report::{format_seconds, SimulationReport};
use butterfly_mps::sim::fidelity::true_fidelity;
use butterfly_mps::sim::mps::{run_mps, MpsConfig, TruncationReport};
use butterfly_mps::sim::unary::UnaryMap;
use butterfly_mps::sim::{simulate, Engine, Simulator};
use butterfly_mps::study::imputation::{run_study, StudyConfig, StudyEvent, StudyReport};
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
    /// Where the demo writes its files (study table and plot, the IonQ job body).
    #[arg(long, default_value = "results/demo")]
    out: std::path::PathBuf,
    /// The ICU data (default: the copy shipped in data/).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// Skip the imputation study and the IonQ stage (simulation only, ≈ 8 s).
    #[arg(long)]
    simulation_only: bool,
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
    butterfly_mps::io::check_output_folder("--out", &args.out)?;
    // Headline: 128 qubits, weight 2, exact.
    let t0 = Instant::now();
    let circuit = ButterflyWorkload::full(128, Loader::HammingWeight(2), args.seed).build()?;
    let build = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let state = simulate(&Engine::Subspace, &circuit, &circuit.parameters)?;
    let sim = t1.elapsed().as_secs_f64();
    let mut headline = SimulationReport::from_state(&state, circuit.ops.len());
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
        let sv = simulate(&Engine::StateVector, &c, &c.parameters)?;
        let sub = simulate(&Engine::Subspace, &c, &c.parameters)?;
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
    let sv = simulate(&Engine::StateVector, &c, &values)?;
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
    if args.simulation_only {
        super::emit(&report, args.json)?;
        if !args.json {
            outln!("\ntotal {}", format_seconds(t0.elapsed().as_secs_f64()));
        }
        return Ok(());
    }
    if !args.json {
        outln!("== 1. Simulation: 128-qubit Butterflies, exact and MPS\n{report}");
    }
    let data = args.data.clone().unwrap_or_else(|| {
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/rhc.csv"))
    });
    let study = imputation_stage(&data, &args)?;
    let ionq = ionq_stage(&data, &args)?;
    if args.json {
        let doc = serde_json::json!({ "simulation": report, "imputation": study, "ionq": ionq });
        outln!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("reports serialise")
        );
    } else {
        outln!("\ntotal {}", format_seconds(t0.elapsed().as_secs_f64()));
    }
    Ok(())
}

/// The clinical imputation study, quick configuration (3 seeds), with a progress bar.
fn imputation_stage(data: &std::path::Path, args: &Args) -> Result<StudyReport> {
    let mut config = StudyConfig::quick();
    config.data = data.to_path_buf();
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} methods × seeds · {elapsed} (ETA {eta}) · {msg}",
        )
        .expect("valid template"),
    );
    if args.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let report = run_study(&config, &mut |e| match e {
        StudyEvent::Start { steps } => bar.set_length(*steps as u64),
        StudyEvent::Done { method, auc, .. } => {
            bar.inc(1);
            bar.set_message(format!("{method}: AUC {auc:.4}"));
        }
    })?;
    bar.finish_and_clear();
    let written = report.write_outputs(&args.out.join("imputation"))?;
    if !args.json {
        outln!(
            "== 2. Clinical imputation study (quick: {} seeds)",
            config.seeds
        );
        outln!("{}", report.markdown());
        for p in written {
            outln!("wrote {}", p.display());
        }
    }
    Ok(report)
}

/// What the IonQ stage did.
#[derive(Serialize)]
struct IonqStage {
    train_seconds: f64,
    validation_loss: Option<f64>,
    compiled: butterfly_mps::compile::CircuitStats,
    job_file: std::path::PathBuf,
    inputs_validated: usize,
    worst_fidelity: f64,
    engine: String,
}

/// Train a 16-qubit hybrid on the data, compile a sample's circuit to Forte natives,
/// write its IonQ job body, and validate the compiled circuits on 20 inputs.
fn ionq_stage(data: &std::path::Path, args: &Args) -> Result<IonqStage> {
    use butterfly_mps::compile::{compile, CompileOptions, Target};
    use butterfly_mps::data::{TableSpec, TypedTable};
    use butterfly_mps::ionq::{ApiVersion, IonqInput, JobSpec};
    use butterfly_mps::train::{RunControl, Task, TrainConfig, Trainer};
    use butterfly_mps::validate::{validate_model, ValidateOptions};

    let spec = TableSpec {
        zero_missing: vec!["wtkilo1".into()],
        ..Default::default()
    };
    let table = TypedTable::read(data, &spec)?.to_table();
    let features: Vec<String> = DEMO_FEATURES.iter().map(|s| s.to_string()).collect();
    let selection = table.select(&features, &["aps1".to_string()])?;
    let mut config = TrainConfig::new(16, 4, Task::Regression);
    config.schedule.epochs_per_stage = 4;
    config.seed = args.seed;
    let t = Instant::now();
    let mut trainer = Trainer::new(config, &selection.dataset)?;
    trainer.run(&RunControl::default(), &mut |_| {})?;
    let train_seconds = t.elapsed().as_secs_f64();
    let model = trainer.model().clone();
    let validation_loss = trainer.history().last().and_then(|r| r.val_loss_exact);

    let v = validate_model(
        &model,
        Target::Forte,
        20,
        args.seed,
        &ValidateOptions::default(),
        &NoProgress,
    )?;
    let first = v.inputs.first().expect("20 inputs");
    let circuit = model.circuit()?;
    let values = Parameters::new(
        model.theta.clone(),
        model
            .loader
            .angles(model.qubits, &model.encode(&first.features)?.u)?,
    );
    let compiled = compile(&circuit, &values, Target::Forte, &CompileOptions::default())?;
    let job = JobSpec::new(
        "qpu.forte-1",
        IonqInput::from_circuit(&compiled.circuit, "qpu.forte-1")?,
    )
    .with_name("bfly demo: 16-qubit hybrid, one RHC sample");
    let job_file = args.out.join("job.forte-1.json");
    butterfly_mps::io::write_atomic(
        &job_file,
        serde_json::to_string_pretty(&job.to_body(ApiVersion::V0_4))
            .expect("JSON")
            .as_bytes(),
    )?;
    let stage = IonqStage {
        train_seconds,
        validation_loss,
        compiled: compiled.report.compiled.clone(),
        job_file,
        inputs_validated: v.inputs.len(),
        worst_fidelity: v.min_fidelity,
        engine: first.comparison.engine.name().to_string(),
    };
    if !args.json {
        outln!(
            "== 3. IonQ: 16-qubit hybrid (4 layers) trained on {} rows in {}, exact validation loss {}",
            selection.dataset.len(),
            format_seconds(train_seconds),
            validation_loss.map_or("n/a".into(), |l| format!("{l:.4e}"))
        );
        out!("{}", compiled.report);
        outln!(
            "wrote the IonQ job body (API v0.4, qpu.forte-1): {}",
            stage.job_file.display()
        );
        outln!(
            "validated against exact simulation ({}), {} inputs: worst fidelity {:.15} (1 − F = {:.2e})",
            stage.engine, stage.inputs_validated, stage.worst_fidelity, 1.0 - stage.worst_fidelity
        );
    }
    Ok(stage)
}

/// The 15 day-1 physiology columns the demo's 16-qubit model reads.
const DEMO_FEATURES: [&str; 15] = [
    "age", "meanbp1", "hrt1", "resp1", "temp1", "pafi1", "alb1", "hema1", "bili1", "crea1", "sod1",
    "pot1", "paco21", "ph1", "wblc1",
];
