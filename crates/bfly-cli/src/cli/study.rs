//! `bfly study imputation`: the clinical imputation study (downstream AUC of imputed ICU
//! data; classical imputers against hybrid Butterfly imputers) on any cohort CSV (flags,
//! a preset or a study.toml), with a progress bar over methods × seeds; prints and writes
//! the schema table, the resolved study.toml, markdown, CSV, JSON and an SVG plot.

use super::progress::{Bar, MessagesOnly};
use butterfly_mps::noise::NoisyMethod;
use butterfly_mps::sim::Engine;
use butterfly_mps::study::hardware::{run_hardware_rows, HardwareConfig, HardwareVariant};
use butterfly_mps::study::{
    run_study, ClassicalMethod, CohortSpec, MaskColumns, StudyEvent, DEFAULT_TARGET,
};
use butterfly_mps::{Error, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum Study {
    /// Impute 30 % MCAR-masked measurements of a cohort (default: the RHC preset) with
    /// mean, zero, KNN, MICE, MissForest, Deep MICE, hybrid Butterfly models and optional
    /// dense networks of the same shape; score by the downstream AUC of a binary outcome.
    /// Prints and saves the inferred schema and the resolved study.toml.
    Imputation(Box<ImputationArgs>),
    /// The hardware-faithful rows: the 16-qubit hybrid with its last layer trained (and
    /// its imputations measured) exactly, with shots, under forte-1 noise on the local
    /// noisy simulator, and through the IonQ API of the in-process emulator; next to
    /// MICE, MissForest and the plain hybrids. Writes hardware.md/.csv/.json and
    /// hardware_auc.svg.
    Hardware(Box<HardwareArgs>),
}

#[derive(clap::Args)]
pub struct HardwareArgs {
    /// The data file (RHC layout; see data/README.md).
    #[arg(long, default_value = "data/rhc.csv")]
    data: PathBuf,
    /// The column the hybrid models impute (one of the masked physiology columns).
    #[arg(long, default_value = DEFAULT_TARGET)]
    target_column: String,
    /// Seeds (each: a new mask and train/test split).
    #[arg(long, default_value_t = 5)]
    seeds: usize,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// MCAR missingness rate.
    #[arg(long, default_value_t = 0.3)]
    rate: f64,
    /// Variants of the hybrid's last layer (comma-separated): exact, shots, noisy, emulator.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "exact,shots,noisy,emulator"
    )]
    variants: Vec<String>,
    /// Classical rows reported (comma-separated): mean, zero, knn, mice, missforest,
    /// deep-mice. MICE runs anyway as the hybrids' base.
    #[arg(long, value_delimiter = ',', default_value = "mice,missforest")]
    classical: Vec<String>,
    /// Leave out the plain (all-exact) 16- and 32-qubit hybrids.
    #[arg(long)]
    no_plain_hybrids: bool,
    /// Qubits of the hybrid whose last layer moves to the executors.
    #[arg(long, default_value_t = 16)]
    qubits: usize,
    /// Noise model of the noisy and emulator rows: aria-1, aria-2, forte-1.
    #[arg(long, default_value = "forte-1")]
    noise: String,
    /// Shots per circuit (shots, noisy and emulator rows).
    #[arg(long, default_value_t = 1000)]
    shots: usize,
    /// Monte-Carlo trajectories per circuit (noisy and emulator rows).
    #[arg(long, default_value_t = 20)]
    trajectories: usize,
    /// Trajectory engine: mps (default; fast for unary circuits) or statevector.
    #[arg(long, default_value = "mps")]
    engine: String,
    /// Bond cap of the MPS trajectories.
    #[arg(long, default_value_t = 32)]
    chi: usize,
    /// Seed of the local noisy simulator's trajectories.
    #[arg(long, default_value_t = 1)]
    noise_seed: u64,
    /// Rows the last stage trains on (a seeded subsample), or "all".
    #[arg(long, default_value = "200")]
    train_rows: String,
    /// Epochs of the last stage.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Predict the imputed cells by exact simulation of the trained model instead of on
    /// each row's executor.
    #[arg(long)]
    predict_exact: bool,
    /// Keep only shots of this Hamming weight (noisy and emulator rows; 1 for unary).
    #[arg(long)]
    postselect_weight: Option<usize>,
    /// Output folder.
    #[arg(long, default_value = "results/imputation/hardware")]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct ImputationArgs {
    /// Start from a preset: rhc (the RHC set-up of data/README.md). The default when
    /// neither --outcome nor --config is given, so a bare run is the RHC study.
    #[arg(long)]
    preset: Option<String>,
    /// Start from a cohort file (TOML; the study.toml written next to earlier results
    /// repeats that run). Flags given as well override its entries.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The cohort CSV file (default: the preset's, data/rhc.csv).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The binary outcome column (0/1, yes/no or true/false). Giving it without --preset
    /// or --config starts from no preset: every other choice is inferred.
    #[arg(long)]
    outcome: Option<String>,
    /// The outcome value that means 1 when the outcome column holds other words (e.g.
    /// Expired for eICU's hospitaldischargestatus); every other value is 0.
    #[arg(long)]
    outcome_positive: Option<String>,
    /// The columns masked: "auto" (every column inferred numeric that is used) or
    /// comma-separated names.
    #[arg(long)]
    mask_columns: Option<String>,
    /// The column the hybrid models impute (one of the masked columns; default: the
    /// preset's, or the masked column that alone best separates the outcome).
    #[arg(long)]
    target_column: Option<String>,
    /// Columns never used, comma-separated (ids, dates, other outcomes, censoring times).
    #[arg(long, value_delimiter = ',')]
    exclude: Option<Vec<String>>,
    /// Columns read as categorical whatever their cells look like, comma-separated.
    #[arg(long, value_delimiter = ',')]
    categorical: Option<Vec<String>>,
    /// Cell texts that mean "missing", comma-separated (an empty cell always does).
    /// Default: NA,NaN,nan.
    #[arg(long, value_delimiter = ',')]
    missing_values: Option<Vec<String>>,
    /// Numeric columns where 0 means "not recorded", comma-separated.
    #[arg(long, value_delimiter = ',')]
    zero_missing: Option<Vec<String>>,
    /// Categorical columns where NA is a level (e.g. "no secondary diagnosis").
    #[arg(long, value_delimiter = ',')]
    na_level: Option<Vec<String>>,
    /// Qubits of the hybrid rows, comma-separated (default 16,32).
    #[arg(long, value_delimiter = ',')]
    qubits: Option<Vec<usize>>,
    /// Widths of classical networks with the Butterfly replaced by a dense layer (same
    /// pre-layer, head and training as the hybrids), comma-separated, e.g. 16,32.
    #[arg(long, value_delimiter = ',')]
    dense_widths: Option<Vec<usize>>,
    /// Retrain every hybrid and dense network with this many training seeds at the first
    /// seed's mask and split, and report the AUC spread next to the spread across seeds.
    #[arg(long)]
    training_seeds: Option<usize>,
    /// Seeds (each: a new mask and train/test split). Default 10 (3 with --quick).
    #[arg(long)]
    seeds: Option<usize>,
    /// The first seed.
    #[arg(long)]
    first_seed: Option<u64>,
    /// MCAR missingness rate (added on top of the file's own missing cells).
    #[arg(long)]
    rate: Option<f64>,
    /// Fraction of patients held out for the AUC.
    #[arg(long)]
    test_fraction: Option<f64>,
    /// Fewer seeds and lighter settings (the demo's configuration, ~1 minute on RHC).
    #[arg(long)]
    quick: bool,
    /// Print and save the schema and the resolved study.toml, then stop.
    #[arg(long)]
    schema_only: bool,
    /// Output folder for imputation.md/.csv/.json, imputation_auc.svg, schema.md/.csv and
    /// study.toml.
    #[arg(long, default_value = "results/imputation")]
    out: PathBuf,
}

/// The cohort spec from the preset or config file, then the flags.
fn cohort_spec(args: &ImputationArgs) -> Result<CohortSpec> {
    let mut spec = match (&args.config, &args.preset) {
        (Some(_), Some(_)) => {
            return Err(Error::Imputation(
                "give --config or --preset, not both".into(),
            ))
        }
        (Some(path), None) => CohortSpec::read_toml(path)?,
        (None, Some(p)) => CohortSpec::preset(p)?,
        (None, None) => match &args.outcome {
            Some(o) => CohortSpec::new(
                args.data.clone().ok_or_else(|| {
                    Error::Imputation("--outcome needs --data (the cohort CSV file)".into())
                })?,
                o,
            ),
            None => CohortSpec::rhc(),
        },
    };
    if let Some(d) = &args.data {
        spec.data = d.clone();
    }
    if let Some(o) = &args.outcome {
        spec.outcome = o.clone();
    }
    if let Some(p) = &args.outcome_positive {
        spec.outcome_positive = Some(p.clone());
    }
    if let Some(m) = &args.mask_columns {
        spec.mask_columns = m.parse::<MaskColumns>()?;
    }
    if let Some(t) = &args.target_column {
        spec.target_column = Some(t.clone());
    }
    let list = |v: &Vec<String>| {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
    };
    if let Some(v) = &args.exclude {
        spec.exclude = list(v);
    }
    if let Some(v) = &args.categorical {
        spec.categorical = list(v);
    }
    if let Some(v) = &args.missing_values {
        spec.missing_values = Some(v.iter().map(|s| s.trim().to_string()).collect());
    }
    if let Some(v) = &args.zero_missing {
        spec.zero_missing = list(v);
    }
    if let Some(v) = &args.na_level {
        spec.na_level = list(v);
    }
    if let Some(q) = &args.qubits {
        spec.qubits = q.clone();
    }
    if let Some(w) = &args.dense_widths {
        spec.dense_widths = w.clone();
    }
    if let Some(k) = args.training_seeds {
        spec.training_seeds = k;
    }
    if args.quick {
        spec.quick = true;
        if args.config.is_none() {
            spec.seeds = 3;
        }
    }
    if let Some(s) = args.seeds {
        spec.seeds = s;
    }
    if let Some(s) = args.first_seed {
        spec.first_seed = s;
    }
    if let Some(r) = args.rate {
        spec.missing_rate = r;
    }
    if let Some(t) = args.test_fraction {
        spec.test_fraction = t;
    }
    Ok(spec)
}

pub fn run(study: Study) -> Result<()> {
    match study {
        Study::Imputation(args) => run_imputation(*args),
        Study::Hardware(args) => run_hardware(*args),
    }
}

fn run_imputation(args: ImputationArgs) -> Result<()> {
    butterfly_mps::io::check_output_folder("--out", &args.out)?;
    let spec = cohort_spec(&args)?;
    let implied_rhc = args.preset.is_none() && args.config.is_none() && args.outcome.is_none();
    let resolved = spec.resolve().map_err(|e| match (&e, implied_rhc && args.data.is_some()) {
        (Error::Table { .. }, true) => Error::Imputation(format!(
            "{e}\n(no --outcome was given, so the RHC preset's columns were looked for; for your own cohort give --outcome COL and see --mask-columns, --exclude)"
        )),
        _ => e,
    })?;
    outln!("{}", resolved.schema.markdown());
    let config = resolved.config;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    for (name, text) in [
        ("schema.md", resolved.schema.markdown()),
        ("schema.csv", resolved.schema.csv()),
        ("study.toml", resolved.spec.to_toml()),
    ] {
        let path = args.out.join(name);
        butterfly_mps::io::write_atomic(&path, text.as_bytes())?;
        outln!("wrote {}", path.display());
    }
    if args.schema_only {
        return Ok(());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} method × seed · {elapsed} elapsed, ETA {eta} · {msg}",
        )
        .expect("valid template"),
    );
    let report = run_study(&config, &mut |event| match event {
        StudyEvent::Start { steps } => bar.set_length(*steps as u64),
        StudyEvent::Done { method, seed, auc } => {
            bar.set_message(format!("{method}, seed {seed}: AUC {auc:.4}"));
            bar.inc(1);
        }
    })?;
    bar.finish_and_clear();
    outln!("{}", report.markdown());
    let written = report.write_outputs(&args.out)?;
    for p in written {
        outln!("wrote {}", p.display());
    }
    outln!("total time {:.1} s", report.total_seconds);
    Ok(())
}

fn classical_method(name: &str) -> Result<ClassicalMethod> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "mean" => ClassicalMethod::Mean,
        "zero" => ClassicalMethod::Zero,
        "knn" => ClassicalMethod::Knn,
        "mice" => ClassicalMethod::Mice,
        "missforest" => ClassicalMethod::MissForest,
        "deep-mice" | "deepmice" => ClassicalMethod::DeepMice,
        other => {
            return Err(Error::HardwareRows(format!(
                "--classical: unknown method \"{other}\"; choose from mean, zero, knn, mice, missforest, deep-mice"
            )))
        }
    })
}

fn run_hardware(args: HardwareArgs) -> Result<()> {
    butterfly_mps::io::check_output_folder("--out", &args.out)?;
    let mut config = HardwareConfig::default();
    config.study = config.study.with_target(&args.target_column);
    config.study.data = args.data;
    config.study.seeds = args.seeds;
    config.study.first_seed = args.first_seed;
    config.study.missing_rate = args.rate;
    config.study.classical = args
        .classical
        .iter()
        .map(|c| classical_method(c))
        .collect::<Result<_>>()?;
    if args.no_plain_hybrids {
        config.study.hybrids.clear();
    }
    config.variants = args
        .variants
        .iter()
        .map(|v| v.parse::<HardwareVariant>())
        .collect::<Result<_>>()?;
    config.qubits = args.qubits;
    config.noise = args.noise;
    config.shots = args.shots;
    config.trajectories = args.trajectories;
    config.engine = match args.engine.parse::<NoisyMethod>() {
        Ok(NoisyMethod::Trajectories(Engine::Mps { .. })) => {
            NoisyMethod::Trajectories(Engine::Mps {
                chi: args.chi,
                cutoff: 1e-12,
            })
        }
        Ok(NoisyMethod::Trajectories(Engine::StateVector)) => {
            NoisyMethod::Trajectories(Engine::StateVector)
        }
        _ => {
            let other = &args.engine;
            return Err(Error::HardwareRows(format!(
                "--engine {other}: choose mps or statevector"
            )));
        }
    };
    config.noise_seed = args.noise_seed;
    config.train_rows = match args.train_rows.as_str() {
        "all" => None,
        n => Some(n.parse().map_err(|_| {
            Error::HardwareRows(format!(
                "--train-rows {n}: give a number of rows or \"all\""
            ))
        })?),
    };
    config.epochs = args.epochs;
    config.predict_on_executor = !args.predict_exact;
    config.postselect_weight = args.postselect_weight;
    config.validate()?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} method × seed · {elapsed} elapsed · {msg}",
        )
        .expect("valid template"),
    );
    let circuits = Arc::new(MessagesOnly(Bar::from(bar.clone())));
    let report = run_hardware_rows(&config, circuits, &mut |event| match event {
        StudyEvent::Start { steps } => bar.set_length(*steps as u64),
        StudyEvent::Done { method, seed, auc } => {
            bar.set_message(format!("{method}, seed {seed}: AUC {auc:.4}"));
            bar.inc(1);
        }
    })?;
    bar.finish_and_clear();
    outln!("{}", report.markdown());
    for p in report.write_outputs(&args.out)? {
        outln!("wrote {}", p.display());
    }
    Ok(())
}
