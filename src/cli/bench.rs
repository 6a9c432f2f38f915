//! `bfly bench`: time the standard workloads (medians over repeats, with a progress bar).

use butterfly_mps::bench::{run_case, MpsBenchCase, MpsBenchTable};
use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::Result;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum Target {
    /// Full Butterfly (all layers) on the MPS engine, over qubits × χ × inputs.
    Mps(MpsArgs),
}

#[derive(clap::Args)]
pub struct MpsArgs {
    /// Qubit counts (powers of two), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 32, 64, 128])]
    qubits: Vec<usize>,
    /// Bond dimensions χ, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64, 256])]
    chi: Vec<usize>,
    /// Input families (unary, hw2, hw3, angle, …), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = ["unary".to_string(), "hw2".to_string(), "hw3".to_string(), "angle".to_string()])]
    inputs: Vec<String>,
    /// Timed runs per case (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Seed of the workloads' data and angles.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(target: Target) -> Result<()> {
    match target {
        Target::Mps(args) => run_mps(args),
    }
}

fn run_mps(args: MpsArgs) -> Result<()> {
    let inputs: Vec<Loader> = args
        .inputs
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_>>()?;
    let mut cases = Vec::new();
    for &input in &inputs {
        for &qubits in &args.qubits {
            for &chi in &args.chi {
                cases.push(MpsBenchCase { input, qubits, chi });
            }
        }
    }
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} cases · {elapsed} elapsed, ETA {eta} · {msg}",
        )
        .expect("valid template"),
    );
    let mut results = Vec::new();
    for case in cases {
        bar.set_message(format!("{} n={} χ={}", case.input, case.qubits, case.chi));
        results.push(run_case(case, args.repeats, args.seed)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    super::emit(&MpsBenchTable { results }, args.json)
}
