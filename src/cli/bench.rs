//! `bfly bench`: time the standard workloads (medians over repeats, with a progress bar).

use butterfly_mps::bench::{
    compare_engines, process_peak_rss_bytes, run_case_on, EngineComparisonTable, MarginalReference,
    MpsBenchCase, MpsBenchTable, MpsEngine,
};
use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::Result;
use clap::{Subcommand, ValueEnum};
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
    /// Which MPS engine: `none` (dense), `u1` (Hamming-weight block-sparse), or `both`
    /// (timed alternately in this process, with speedup and marginal errors).
    #[arg(long, value_enum, default_value = "none")]
    symmetry: SymmetryArg,
    /// With `--symmetry both`: the marginals reference. `exact` (state vector n ≤ 20,
    /// subspace simulator otherwise: fixed-weight inputs), `u1:CHI` or `dense:CHI` (a
    /// large-χ run, for angle input at large n), or `none`.
    #[arg(long, default_value = "none")]
    reference: String,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    json: bool,
}

/// Which MPS engine(s) `bfly bench mps` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SymmetryArg {
    /// The dense MPS.
    None,
    /// The U(1) (Hamming-weight) block-sparse MPS.
    U1,
    /// Both, alternating in one process.
    Both,
}

fn parse_reference(s: &str) -> Result<Option<MarginalReference>> {
    let bad = || {
        butterfly_mps::Error::InvalidInput(format!(
            "--reference {s}: use none, exact, u1:CHI or dense:CHI (e.g. u1:1024)"
        ))
    };
    Ok(match s {
        "none" => None,
        "exact" => Some(MarginalReference::Exact),
        _ => {
            let (kind, chi) = s.split_once(':').ok_or_else(bad)?;
            let chi: usize = chi.parse().map_err(|_| bad())?;
            match kind {
                "u1" => Some(MarginalReference::U1Chi(chi)),
                "dense" => Some(MarginalReference::DenseChi(chi)),
                _ => return Err(bad()),
            }
        }
    })
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
    let reference = parse_reference(&args.reference)?;
    if args.symmetry == SymmetryArg::Both {
        let mut results = Vec::new();
        for case in cases {
            bar.set_message(format!(
                "{} n={} χ={} dense vs u1",
                case.input, case.qubits, case.chi
            ));
            results.push(compare_engines(case, args.repeats, args.seed, reference)?);
            bar.inc(1);
        }
        bar.finish_and_clear();
        let table = EngineComparisonTable {
            results,
            process_peak_rss_bytes: process_peak_rss_bytes(),
        };
        return super::emit(&table, args.json);
    }
    let engine = if args.symmetry == SymmetryArg::U1 {
        MpsEngine::U1
    } else {
        MpsEngine::Dense
    };
    let mut results = Vec::new();
    for case in cases {
        bar.set_message(format!(
            "{} n={} χ={} {engine}",
            case.input, case.qubits, case.chi
        ));
        results.push(run_case_on(case, engine, args.repeats, args.seed)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    super::emit(&MpsBenchTable { results }, args.json)
}
