//! `bfly train`: train a hybrid Butterfly model on a CSV table, layer by layer, with exact,
//! per-parameter-shift or parallel-shift gradients; checkpoints, resume, JSON logs; or
//! print the measured circuit-evaluation cost table (`--cost-table`).

use super::engine_arg::{engines, with_truncation, SHIFT_BACKENDS};
use butterfly_mps::circuit::{loaders::Loader, Butterfly, LayerOrdering};
use butterfly_mps::data::TypedTable;
use butterfly_mps::sim::Engine;
use butterfly_mps::train::{
    gradient_cost_table, Checkpoint, ClassicalTraining, GradientMethod, Optimizer, PreInit,
    RunControl, RunOutcome, Schedule, Task, TrainConfig, TrainEvent, TrainReport, Trainer,
};
use butterfly_mps::{Error, Result};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Quantum gradient method.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GradientArg {
    /// Reverse mode through the unary map (simulation only; all parameters).
    Exact,
    /// Per-parameter 4-term shift rule (4 circuits per angle).
    Shift,
    /// Parallel shift of the trailing layer (4 circuits per layer; layer-wise only).
    ParallelShift,
}

/// Regression or classification.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TaskArg {
    /// Real outputs, mean squared error.
    Regression,
    /// 0/1 targets, sigmoid head, binary cross-entropy.
    Classification,
}

/// Butterfly stride order.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OrderingArg {
    /// Strides n/2, …, 1.
    CouplingFirst,
    /// Strides 1, …, n/2.
    CouplingLast,
}

/// Unary loader.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LoaderArg {
    /// Tree loader, depth log2 n.
    Unary,
    /// Nearest-neighbour loader, depth n-1.
    UnaryDiagonal,
}

/// How the classical pre-layer is trained.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PreArg {
    /// Trained in every phase (exact, in simulation).
    Alongside,
    /// Trained only in --pretrain-epochs / --finetune-epochs.
    Before,
    /// Never trained.
    Frozen,
}

/// Optimiser.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerArg {
    /// Adam (β₁ 0.9, β₂ 0.999).
    Adam,
    /// SGD with --momentum.
    Sgd,
}

#[derive(clap::Args)]
pub struct Args {
    /// CSV file: header row, numeric cells, NA/empty for missing values.
    #[arg(long, required_unless_present = "cost_table")]
    data: Option<PathBuf>,
    /// Target column(s), comma-separated.
    #[arg(long, value_delimiter = ',', required_unless_present = "cost_table")]
    target: Vec<String>,
    /// Feature columns, comma-separated (default: every other column).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Regression (MSE) or classification (binary cross-entropy).
    #[arg(long, value_enum, default_value = "regression")]
    task: TaskArg,
    /// Qubits n (a power of two).
    #[arg(long, default_value_t = 16)]
    qubits: usize,
    /// Butterfly layers at the end of training (default: log2 n).
    #[arg(long)]
    layers: Option<usize>,
    /// Butterfly stride order.
    #[arg(long, value_enum, default_value = "coupling-first")]
    ordering: OrderingArg,
    /// Unary loader.
    #[arg(long, value_enum, default_value = "unary")]
    loader: LoaderArg,
    /// Gradient method for the quantum layers.
    #[arg(long, value_enum, default_value = "exact")]
    gradient: GradientArg,
    /// Shots per circuit for shift/parallel-shift (omit for exact expectations).
    #[arg(long)]
    shots: Option<usize>,
    /// Where shift methods run their circuits (--executor local).
    #[arg(long, default_value = "unary", value_parser = engines(SHIFT_BACKENDS))]
    backend: Engine,
    /// Where the shift methods' circuits run: local simulators, noisy simulation, the IonQ
    /// API through the local emulator, or IonQ (with --executor-from-stage = --layers, only
    /// the final layer goes there, as in the paper).
    #[command(flatten)]
    executor: super::executor::ExecutorArgs,
    /// MPS bond cap χ (--backend mps).
    #[arg(long, default_value_t = 16)]
    chi: usize,
    /// MPS relative truncation cutoff (--backend mps).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    cutoff: f64,
    /// Epochs per layer-wise stage (or of the joint phase with --joint). 0 is refused for
    /// layer-wise training of several layers (the stages add the layers); with --joint, 0
    /// writes the untrained initial model.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Epochs of classical-only training before the first stage.
    #[arg(long, default_value_t = 0)]
    pretrain_epochs: usize,
    /// Epochs of exact fine-tuning of every parameter at the end (simulation).
    #[arg(long, default_value_t = 0)]
    finetune_epochs: usize,
    /// Train stages before this one (1-based) exactly in simulation, and only this stage
    /// and later ones with --gradient on the executor (e.g. = --layers: the final layer on
    /// hardware or its emulator, as the paper did).
    #[arg(long)]
    executor_from_stage: Option<usize>,
    /// Train all layers at once instead of layer by layer.
    #[arg(long)]
    joint: bool,
    /// How the classical pre-layer is trained.
    #[arg(long, value_enum, default_value = "alongside")]
    pre: PreArg,
    /// Start the pre-layer at [I; 0] instead of random.
    #[arg(long)]
    pre_identity: bool,
    /// Optimiser.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerArg,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    momentum: f64,
    /// Learning-rate factor per epoch within each phase.
    #[arg(long, default_value_t = 1.0)]
    lr_decay: f64,
    /// Mini-batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Fraction of rows held out for validation (seeded).
    #[arg(long, default_value_t = 0.2)]
    validation: f64,
    /// Early stopping: end a phase after this many epochs without improvement.
    #[arg(long)]
    patience: Option<usize>,
    /// Smallest validation-loss decrease that counts as improvement.
    #[arg(long, default_value_t = 0.0)]
    min_delta: f64,
    /// Do not standardise features and regression targets.
    #[arg(long)]
    no_standardize: bool,
    /// Range of new Butterfly angles, uniform in [-s, s].
    #[arg(long, default_value_t = 0.1)]
    init_scale: f64,
    /// Seed of initialisation, split, shuffling and shots.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the trained model (JSON).
    #[arg(long, short = 'o', required_unless_present = "cost_table")]
    out: Option<PathBuf>,
    /// Checkpoint file, written atomically after every epoch.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue the run saved in --checkpoint (same settings and data).
    #[arg(long, requires = "checkpoint", conflicts_with = "force")]
    resume: bool,
    /// Start over even though --checkpoint names an existing file, which is replaced (by
    /// default an existing checkpoint is refused, so an unfinished run is never lost).
    #[arg(long, requires = "checkpoint")]
    force: bool,
    /// Append one JSON line per epoch to this file (created if missing; existing lines are
    /// kept, and runs sharing the file interleave whole lines).
    #[arg(long)]
    log_json: Option<PathBuf>,
    /// Print the report as one JSON document.
    #[arg(long)]
    json: bool,
    /// Print the measured circuit-evaluation table (parallel vs per-parameter shift) and exit.
    #[arg(long)]
    cost_table: bool,
    /// Qubit counts for --cost-table.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 32, 128])]
    cost_qubits: Vec<usize>,
}

/// What `bfly train` prints.
#[derive(Serialize)]
struct CliReport {
    data: PathBuf,
    rows: usize,
    dropped_rows: usize,
    features: Vec<String>,
    targets: Vec<String>,
    resumed_from_epoch: Option<usize>,
    model: PathBuf,
    seconds: f64,
    samples_per_second: f64,
    training: TrainReport,
}

impl fmt::Display for CliReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "data: {} ({} rows used, {} dropped for missing values); features: {}; target: {}",
            self.data.display(),
            self.rows,
            self.dropped_rows,
            self.features.join(", "),
            self.targets.join(", ")
        )?;
        if let Some(e) = self.resumed_from_epoch {
            writeln!(f, "resumed after epoch {e}")?;
        }
        writeln!(f, "{}", self.training)?;
        write!(
            f,
            "{:.2} s, {:.0} samples/s; model written to {}",
            self.seconds,
            self.samples_per_second,
            self.model.display()
        )
    }
}

fn config(args: &Args) -> TrainConfig {
    let layers = args
        .layers
        .unwrap_or_else(|| Butterfly::max_layers(args.qubits.max(2)));
    let task = match args.task {
        TaskArg::Regression => Task::Regression,
        TaskArg::Classification => Task::Classification,
    };
    let mut c = TrainConfig::new(args.qubits, layers, task);
    c.ordering = match args.ordering {
        OrderingArg::CouplingFirst => LayerOrdering::CouplingFirst,
        OrderingArg::CouplingLast => LayerOrdering::CouplingLast,
    };
    c.loader = match args.loader {
        LoaderArg::Unary => Loader::UnaryTree,
        LoaderArg::UnaryDiagonal => Loader::UnaryDiagonal,
    };
    c.gradient = match args.gradient {
        GradientArg::Exact => GradientMethod::Exact,
        GradientArg::Shift => GradientMethod::Shift,
        GradientArg::ParallelShift => GradientMethod::ParallelShift,
    };
    c.backend = with_truncation(args.backend, args.chi, args.cutoff);
    c.shots = args.shots;
    c.optimizer = match args.optimizer {
        OptimizerArg::Adam => Optimizer::adam(args.lr),
        OptimizerArg::Sgd => Optimizer::Sgd {
            lr: args.lr,
            momentum: args.momentum,
        },
    };
    c.lr_decay = args.lr_decay;
    c.batch_size = args.batch_size;
    c.schedule = Schedule {
        layerwise: !args.joint,
        pretrain_epochs: args.pretrain_epochs,
        epochs_per_stage: args.epochs,
        finetune_epochs: args.finetune_epochs,
        pre: match args.pre {
            PreArg::Alongside => ClassicalTraining::Alongside,
            PreArg::Before => ClassicalTraining::Before,
            PreArg::Frozen => ClassicalTraining::Frozen,
        },
        configured_method_from_stage: args.executor_from_stage,
    };
    c.validation_fraction = args.validation;
    c.patience = args.patience;
    c.min_delta = args.min_delta;
    c.standardize = !args.no_standardize;
    c.pre_init = if args.pre_identity {
        PreInit::Identity
    } else {
        PreInit::Random
    };
    c.quantum_init_scale = args.init_scale;
    c.seed = args.seed;
    c
}

/// A new run (no `--resume`, no `--force`) must not replace a checkpoint that exists: it
/// may hold hours of an unfinished run. The message says which of the two flags to use.
fn refuse_existing_checkpoint(path: &std::path::Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let what = match Checkpoint::load(path) {
        Ok(cp) if !cp.state.finished => format!(
            "holds an unfinished run (after epoch {}); pass --resume to continue it, or --force to start over and replace it",
            cp.state.epoch
        ),
        Ok(_) => "holds a finished run; pass --force to start over and replace it, or choose another --checkpoint".to_string(),
        Err(_) => "exists and is not a checkpoint of this version; choose another --checkpoint, or pass --force to replace it".to_string(),
    };
    Err(Error::Training(format!(
        "--checkpoint {} {what}",
        path.display()
    )))
}

pub fn run(args: Args) -> Result<()> {
    if args.cost_table {
        let table = gradient_cost_table(&args.cost_qubits, args.shots, args.seed)?;
        return super::emit(&table, args.json);
    }
    let (Some(data_path), Some(out)) = (args.data.clone(), args.out.clone()) else {
        return Err(Error::InvalidInput(
            "--data, --target and --out are required (or use --cost-table)".into(),
        ));
    };
    if let (true, Some(path)) = (args.resume, args.checkpoint.as_deref()) {
        if !path.exists() {
            return Err(Error::Training(format!(
                "{}: no checkpoint to resume from; run without --resume to start training",
                path.display()
            )));
        }
    }
    super::guard_outputs(
        &[("--data", Some(&data_path))],
        &[
            ("--out", Some(&out)),
            ("--log-json", args.log_json.as_deref()),
            ("--checkpoint", args.checkpoint.as_deref()),
        ],
    )?;
    if let Some(path) = args.checkpoint.as_deref() {
        if !args.resume && !args.force {
            refuse_existing_checkpoint(path)?;
        }
    }
    let table = TypedTable::read(&data_path, &Default::default())?.to_table();
    let features: Vec<String> = if args.features.is_empty() {
        table
            .columns
            .iter()
            .filter(|c| !args.target.contains(c))
            .cloned()
            .collect()
    } else {
        args.features.clone()
    };
    let selection = table.select(&features, &args.target)?;
    if selection.dropped > 0 {
        eprintln!(
            "{}: dropped {} of {} rows with a missing value in the selected columns",
            data_path.display(),
            selection.dropped,
            table.rows.len()
        );
    }
    let data = selection.dataset;
    let config = config(&args);

    let (mut trainer, resumed_from_epoch) = if args.resume {
        let path = args
            .checkpoint
            .as_ref()
            .expect("clap: --resume requires --checkpoint");
        let cp = Checkpoint::load(path)?;
        let epoch = cp.state.epoch;
        let executor = args.executor.build(&config.backend)?;
        (
            Trainer::resume_with_executor(config, &data, &cp, executor)?,
            Some(epoch),
        )
    } else {
        let executor = args.executor.build(&config.backend)?;
        (Trainer::with_executor(config, &data, executor)?, None)
    };

    // Always appended, never truncated: a log the user already has keeps its records, and
    // two runs sharing one log interleave whole lines (each record is one `write` to a file
    // opened with O_APPEND, so the kernel places it at the end atomically).
    let mut log = match &args.log_json {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?,
        ),
        None => None,
    };

    let total = trainer
        .config()
        .schedule
        .total_epochs(trainer.config().layers) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs · {elapsed} · {msg}")
            .expect("valid template"),
    );
    bar.set_position(trainer.state().epoch as u64);
    let layers_total = trainer.config().layers;
    let t0 = Instant::now();
    let samples_before = trainer.state().epoch;
    let mut log_error: Option<Error> = None;
    let control = RunControl {
        checkpoint: args.checkpoint.clone(),
        stop_after_epochs: None,
    };
    let log_path = args.log_json.clone();
    let outcome = trainer.run(&control, &mut |event| match event {
        TrainEvent::PhaseStart { phase, layers, method } => {
            bar.set_message(format!("{phase} ({layers}/{layers_total} layers, {method})"));
        }
        TrainEvent::Batch {
            phase,
            epoch,
            batch,
            batches,
            loss,
            circuits,
        } => {
            bar.set_message(format!(
                "{phase} · epoch {epoch} · batch {batch}/{batches} · loss {loss:.4e} · {circuits} circuits"
            ));
        }
        TrainEvent::Epoch(r) => {
            bar.set_position(r.epoch as u64);
            bar.set_message(format!(
                "{} · epoch {} · loss {:.4e}{} · {} circuits",
                r.phase,
                r.epoch,
                r.train_loss,
                r.val_loss.map_or(String::new(), |v| format!(" (val {v:.4e})")),
                r.counters.circuits
            ));
            if let (Some(file), None) = (log.as_mut(), &log_error) {
                let mut line = serde_json::to_value(r).expect("records serialise");
                line["elapsed_s"] = serde_json::json!(t0.elapsed().as_secs_f64());
                let record = format!("{line}\n");
                if let Err(e) = file.write_all(record.as_bytes()) {
                    log_error = Some(Error::io(log_path.clone().unwrap_or_default(), e));
                }
            }
        }
    });
    bar.finish_and_clear();
    let outcome = outcome?;
    if let Some(e) = log_error {
        return Err(e);
    }
    debug_assert_eq!(outcome, RunOutcome::Finished);
    trainer.model().save(&out)?;
    let seconds = t0.elapsed().as_secs_f64();
    let epochs_run = trainer.state().epoch - samples_before;
    let samples = epochs_run * trainer.train_data().len();
    let report = CliReport {
        data: data_path,
        rows: data.len(),
        dropped_rows: selection.dropped,
        features: data.feature_names.clone(),
        targets: data.target_names.clone(),
        resumed_from_epoch,
        model: out,
        seconds,
        samples_per_second: if seconds > 0.0 {
            samples as f64 / seconds
        } else {
            0.0
        },
        training: trainer.report(),
    };
    super::emit(&report, args.json)
}
