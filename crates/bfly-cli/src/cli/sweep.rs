//! `bfly sweep`: accuracy-vs-χ and scaling studies (resumable, one process per point).

use super::progress::{self, Bar};
use butterfly_mps::sweep::accuracy::{replot_accuracy, run_accuracy};
use butterfly_mps::sweep::scaling::{run_scaling, ScalingSpec};
use butterfly_mps::sweep::worker::{child_main, ChildCommand};
use butterfly_mps::sweep::{grid, parse_families};
use butterfly_mps::{Error, Result};
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum Target {
    /// Every point of families × qubits × layers × χ × seeds: true fidelity (where an exact
    /// reference exists), estimate, discarded weight, largest bond, time, peak memory.
    /// Resumable: finished points are skipped on re-run. Writes CSV, JSON and plots.
    Accuracy(AccuracyArgs),
    /// Per family, the largest n reaching a target fidelity within a time budget per point,
    /// with time and memory against n. Resumable.
    Scaling(ScalingArgs),
    /// Redraw an accuracy sweep's tables and plots from its results file, running nothing.
    Plot(PlotArgs),
    /// Run one point and print its record (used by the sweeps; one process per point).
    #[command(hide = true)]
    Point(PointArgs),
}

#[derive(clap::Args)]
pub struct AccuracyArgs {
    /// Input families (unary, hw2, hw3, hw4, angle), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = ["hw2".to_string(), "hw3".to_string(), "angle".to_string()])]
    families: Vec<String>,
    /// Qubit counts (powers of two), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 32, 64, 128])]
    qubits: Vec<usize>,
    /// Bond dimensions χ, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [2, 4, 8, 16, 32, 64, 128, 256])]
    chi: Vec<usize>,
    /// Butterfly layers (depth), comma-separated; default: full depth log2 n for each n.
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<usize>>,
    /// Seeds of data and angles, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1])]
    seeds: Vec<u64>,
    /// Relative SVD cutoff (0 = keep everything up to χ).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    cutoff: f64,
    /// Kill a point whose MPS run exceeds this many seconds (recorded as a timeout).
    #[arg(long)]
    time_budget: Option<f64>,
    /// Output folder (store, CSV, JSON, plots, cached references).
    #[arg(long, default_value = "results/sweeps/accuracy")]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ScalingArgs {
    /// Input families, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = ["hw2".to_string(), "hw3".to_string(), "angle".to_string()])]
    families: Vec<String>,
    /// Qubit counts to try, comma-separated (ascending).
    #[arg(long, value_delimiter = ',', default_values_t = [16, 32, 64, 128, 256])]
    qubits: Vec<usize>,
    /// χ values to try at each n, comma-separated (ascending).
    #[arg(long, value_delimiter = ',', default_values_t = [2, 4, 8, 16, 32, 64, 128, 256, 512])]
    chi: Vec<usize>,
    /// Fidelity to reach (true where an exact reference exists, else the estimate).
    #[arg(long, default_value_t = 0.99)]
    target: f64,
    /// Time budget of one MPS run, seconds (the run is killed past it).
    #[arg(long, default_value_t = 60.0)]
    time_budget: f64,
    /// Seed of data and angles.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Relative SVD cutoff.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    cutoff: f64,
    /// Output folder.
    #[arg(long, default_value = "results/sweeps/scaling")]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct PlotArgs {
    /// The accuracy sweep's output folder.
    #[arg(long, default_value = "results/sweeps/accuracy")]
    out: PathBuf,
}

/// The point comes on stdin as a JSON `PointRequest` (see `sweep::worker`).
#[derive(clap::Args)]
pub struct PointArgs {}

fn budget(seconds: f64) -> Result<Duration> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(Error::SweepSpec(format!(
            "time budget {seconds} s is not a positive number of seconds; use e.g. --time-budget 60"
        )))
    }
}

/// The sweeps run each point as `<this executable> sweep point`.
fn point_command() -> Result<ChildCommand> {
    Ok(ChildCommand {
        program: std::env::current_exe().map_err(|e| Error::io("bfly", e))?,
        args: vec!["sweep".into(), "point".into()],
    })
}

pub fn run(target: Target) -> Result<()> {
    match target {
        Target::Accuracy(a) => {
            butterfly_mps::io::check_output_folder("--out", &a.out)?;
            let families = parse_families(&a.families)?;
            let points = grid(
                &families,
                &a.qubits,
                a.layers.as_deref(),
                &a.chi,
                &a.seeds,
                a.cutoff,
            )?;
            let time_budget = a.time_budget.map(budget).transpose()?;
            let bar = Bar::new(progress::PERCENT);
            let summary = run_accuracy(&points, &a.out, &point_command()?, time_budget, &bar)?;
            super::emit(&summary, a.json)
        }
        Target::Scaling(a) => {
            butterfly_mps::io::check_output_folder("--out", &a.out)?;
            let spec = ScalingSpec {
                families: parse_families(&a.families)?,
                qubits: a.qubits,
                chis: a.chi,
                seed: a.seed,
                cutoff: a.cutoff,
                target: a.target,
                time_budget: budget(a.time_budget)?,
            };
            let bar = Bar::new(progress::COUNT);
            let summary = run_scaling(&spec, &a.out, &point_command()?, &bar)?;
            super::emit(&summary, a.json)
        }
        Target::Plot(a) => {
            for path in replot_accuracy(&a.out)? {
                outln!("wrote {}", path.display());
            }
            Ok(())
        }
        Target::Point(PointArgs {}) => {
            child_main(std::io::stdin().lock(), &mut std::io::stdout().lock())
        }
    }
}
