//! `bfly infer`: run a trained model on a CSV table through an executor and print metrics.

use super::progress::{self, Bar};
use butterfly_mps::data::TypedTable;
use butterfly_mps::sim::Engine;
use butterfly_mps::train::inference::{infer, InferenceSettings};
use butterfly_mps::train::HybridModel;
use butterfly_mps::{Error, Result};
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
    super::guard_outputs(
        &[("--model", Some(&args.model)), ("--data", Some(&args.data))],
        &[("--out", args.out.as_deref())],
    )?;
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
        let table = predictions_csv(
            &model.target_names,
            &result.predictions,
            &result.exact_predictions,
        )
        .map_err(|e| Error::io(path, e.into()))?;
        butterfly_mps::io::write_atomic(path, &table)?;
    }
    super::emit(&result, args.json)
}

/// The predictions table: a `{target}_predicted` column per target, then a
/// `{target}_exact` column per target, one row per data row (written by the csv crate,
/// which quotes a name holding a comma or a quote).
fn predictions_csv(
    targets: &[String],
    predicted: &[Vec<f64>],
    exact: &[Vec<f64>],
) -> csv::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(
        targets
            .iter()
            .map(|t| format!("{t}_predicted"))
            .chain(targets.iter().map(|t| format!("{t}_exact"))),
    )?;
    for (p, e) in predicted.iter().zip(exact) {
        writer.write_record(p.iter().chain(e).map(f64::to_string))?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::predictions_csv;

    #[test]
    fn predictions_table_keeps_its_format_and_quotes_odd_names() {
        let rows = [vec![0.25, 1.0], vec![-3.5, 1e-7]];
        let exact = [vec![0.5, 0.0], vec![f64::NAN, 2e20]];
        let names = ["y".to_string(), "risk".to_string()];
        let bytes = predictions_csv(&names, &rows, &exact).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "y_predicted,risk_predicted,y_exact,risk_exact\n\
             0.25,1,0.5,0\n\
             -3.5,0.0000001,NaN,200000000000000000000\n"
        );
        let names = ["risk, %".to_string(), "say \"hi\"".to_string()];
        let bytes = predictions_csv(&names, &rows[..1], &exact[..1]).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            [
                "risk, %_predicted",
                "say \"hi\"_predicted",
                "risk, %_exact",
                "say \"hi\"_exact"
            ]
        );
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(row.iter().collect::<Vec<_>>(), ["0.25", "1", "0.5", "0"]);
    }
}
