//! `bfly study imputation`: the clinical imputation study (downstream AUC of imputed ICU
//! data; classical imputers against hybrid Butterfly imputers), with a progress bar over
//! methods × seeds; writes markdown, CSV, JSON and an SVG plot and prints the table.

use butterfly_mps::study::{run_study, StudyConfig, StudyEvent, DEFAULT_TARGET};
use butterfly_mps::Result;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Study {
    /// Impute 30 % MCAR-masked physiology with mean, zero, KNN, MICE, MissForest, Deep
    /// MICE and 16-/32-qubit hybrid Butterfly models; score by 30-day-death AUC.
    Imputation(ImputationArgs),
}

#[derive(clap::Args)]
pub struct ImputationArgs {
    /// The data file (RHC layout; see data/README.md).
    #[arg(long, default_value = "data/rhc.csv")]
    data: PathBuf,
    /// The column the hybrid models impute (one of the masked physiology columns).
    #[arg(long, default_value = DEFAULT_TARGET)]
    target_column: String,
    /// Seeds (each: a new mask and train/test split). Default 10 (3 with --quick).
    #[arg(long)]
    seeds: Option<usize>,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    first_seed: u64,
    /// MCAR missingness rate.
    #[arg(long, default_value_t = 0.3)]
    rate: f64,
    /// Fewer seeds and lighter settings (the demo's configuration, ~1 minute).
    #[arg(long)]
    quick: bool,
    /// Output folder for imputation.md/.csv/.json and imputation_auc.svg.
    #[arg(long, default_value = "results/imputation")]
    out: PathBuf,
}

pub fn run(study: Study) -> Result<()> {
    match study {
        Study::Imputation(args) => run_imputation(args),
    }
}

fn run_imputation(args: ImputationArgs) -> Result<()> {
    let base = if args.quick {
        StudyConfig::quick()
    } else {
        StudyConfig::default()
    };
    let mut config = base.with_target(&args.target_column);
    config.data = args.data;
    if let Some(s) = args.seeds {
        config.seeds = s;
    }
    config.first_seed = args.first_seed;
    config.missing_rate = args.rate;
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
    println!("{}", report.markdown());
    let written = report.write_outputs(&args.out)?;
    for p in written {
        println!("wrote {}", p.display());
    }
    println!("total time {:.1} s", report.total_seconds);
    Ok(())
}
