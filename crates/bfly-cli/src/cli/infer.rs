//! `bfly infer`: run a trained model on a CSV table through an executor and print metrics.

use super::progress::{self, Bar};
use butterfly_mps::data::TypedTable;
use butterfly_mps::sim::Engine;
use butterfly_mps::train::inference::{infer, Inference, InferenceSettings};
use butterfly_mps::train::HybridModel;
use butterfly_mps::{Error, Result};
use std::fmt::Write as _;
use std::path::PathBuf;

use super::engine_arg::{engines, with_truncation, SHIFT_BACKENDS};

#[derive(clap::Args)]
pub struct Args {
    /// Trained model (JSON written by `bfly train`).
    #[arg(long)]
    model: PathBuf,
    /// CSV table with the model's feature columns (and its target columns, for metrics).
    #[arg(long)]
    data: PathBuf,
    /// Where the circuits run.
    #[command(flatten)]
    executor: super::executor::ExecutorArgs,
    /// Local simulator for `--executor local`.
    #[arg(long, default_value = "unary", value_parser = engines(SHIFT_BACKENDS))]
    backend: Engine,
    /// MPS bond cap χ (--backend mps).
    #[arg(long, default_value_t = 64)]
    chi: usize,
    /// Shots per circuit (omit for exact marginals; simulators only).
    #[arg(long)]
    shots: Option<usize>,
    /// Circuits per request to the executor.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Use only the first N complete rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Seed of shot sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write predictions (and exact-simulation predictions) to this CSV file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the report as one JSON document.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let model = HybridModel::load(&args.model)?;
    if model.feature_names.is_empty() || model.target_names.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: the model does not record its feature/target column names; retrain it with `bfly train`",
            args.model.display()
        )));
    }
    let table = TypedTable::read(&args.data, &Default::default())?.to_table();
    let selection = table.select(&model.feature_names, &model.target_names)?;
    let mut data = selection.dataset;
    if let Some(limit) = args.limit {
        let keep: Vec<usize> = (0..data.len().min(limit)).collect();
        data = data.subset(&keep);
    }
    let local = with_truncation(args.backend, args.chi, 0.0);
    let executor = args.executor.build(&local)?;
    let bar = Bar::new(progress::COUNT);
    let settings = InferenceSettings {
        shots: args.shots,
        seed: args.seed,
        batch: args.batch,
    };
    let result = infer(&model, &data, executor.as_ref(), &settings, &bar);
    let result = result?;
    if selection.dropped > 0 {
        eprintln!(
            "{}: skipped {} rows with a missing feature or target",
            args.data.display(),
            selection.dropped
        );
    }
    if let Some(path) = &args.out {
        butterfly_mps::io::write_atomic(path, predictions_csv(&model, &result).as_bytes())?;
    }
    super::emit(&result, args.json)
}

fn predictions_csv(model: &HybridModel, r: &Inference) -> String {
    let mut s = String::new();
    let names = &model.target_names;
    let header: Vec<String> = names
        .iter()
        .map(|t| format!("{t}_predicted"))
        .chain(names.iter().map(|t| format!("{t}_exact")))
        .collect();
    s.push_str(&header.join(","));
    s.push('\n');
    for (p, e) in r.predictions.iter().zip(&r.exact_predictions) {
        let cells: Vec<String> = p.iter().chain(e).map(|v| format!("{v}")).collect();
        let _ = writeln!(s, "{}", cells.join(","));
    }
    s
}
