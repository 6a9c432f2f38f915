//! `bfly bench`: time the standard workloads (medians over repeats, with a progress bar).

use butterfly_mps::bench::equal_accuracy::{
    compare_at_equal_accuracy, run_in_process, EqualAccuracyTable, RunRecord,
};
use butterfly_mps::bench::{
    compare_engines, process_peak_rss_bytes, reference_marginals, run_case_on,
    EngineComparisonTable, MarginalReference, MpsBenchCase, MpsBenchTable, MpsEngine,
};
use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::Result;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum Target {
    /// Full Butterfly (all layers) on the MPS engine, over qubits × χ × inputs.
    Mps(MpsArgs),
    /// One run of one engine, printed as JSON with this process's peak RSS (used by
    /// `bfly bench mps --match-accuracy`, which runs every timed run in its own process).
    #[command(hide = true)]
    RunOnce(RunOnceArgs),
}

#[derive(clap::Args)]
pub struct RunOnceArgs {
    /// `dense` or `u1` (MpsEngine's FromStr).
    #[arg(long)]
    engine: MpsEngine,
    #[arg(long)]
    input: String,
    #[arg(long)]
    qubits: usize,
    #[arg(long)]
    chi: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
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
    /// With `--symmetry both`: the marginals reference. `exact` (state vector n ≤ 24,
    /// subspace simulator otherwise: fixed-weight inputs), `u1:CHI` or `dense:CHI` (a
    /// large-χ run, for angle input at large n), or `none`. With `--match-accuracy`, a
    /// comma-separated list: each input takes the first that applies (`exact,u1:2048`).
    #[arg(long, default_value = "none")]
    reference: String,
    /// With `--symmetry both`: compare at equal accuracy instead of equal χ. The dense
    /// engine runs at each χ; the U(1) engine climbs `--ladder` until its largest marginal
    /// error against `--reference` (required) is no larger; that pair is then timed
    /// alternately, each run in its own child process (clean peak RSS per engine).
    #[arg(long)]
    match_accuracy: bool,
    /// With `--match-accuracy`: the U(1) bond caps tried, as multiples of χ.
    #[arg(long, value_delimiter = ',', default_values_t = [1.0, 1.5, 2.0, 3.0, 4.0])]
    ladder: Vec<f64>,
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
        Target::Mps(args) if args.match_accuracy => run_equal_accuracy(args),
        Target::Mps(args) => run_mps(args),
        Target::RunOnce(args) => run_once(args),
    }
}

fn run_once(args: RunOnceArgs) -> Result<()> {
    let case = MpsBenchCase {
        input: args.input.parse()?,
        qubits: args.qubits,
        chi: args.chi,
    };
    let circuit = case.circuit(args.seed)?;
    let mut record = run_in_process(&circuit, args.engine, args.chi)?;
    record.peak_rss_bytes = process_peak_rss_bytes();
    let json = serde_json::to_string(&record).map_err(|source| butterfly_mps::Error::Json {
        context: "bench run-once record".into(),
        source,
    })?;
    outln!("{json}");
    Ok(())
}

/// One run in a child `bfly bench run-once` process.
fn run_in_child(case: MpsBenchCase, engine: MpsEngine, chi: usize, seed: u64) -> Result<RunRecord> {
    let exe =
        std::env::current_exe().map_err(|e| butterfly_mps::Error::io("bfly executable", e))?;
    let out = std::process::Command::new(&exe)
        .args(["bench", "run-once", "--engine"])
        .arg(engine.to_string())
        .args(["--input", &case.input.to_string()])
        .args(["--qubits", &case.qubits.to_string()])
        .args(["--chi", &chi.to_string()])
        .args(["--seed", &seed.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| butterfly_mps::Error::io(&exe, e))?;
    if !out.status.success() {
        return Err(butterfly_mps::Error::InvalidInput(format!(
            "the child run ({engine}, {} n={} χ={chi}) failed with {}",
            case.input, case.qubits, out.status
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|source| butterfly_mps::Error::Json {
        context: format!("output of the child run ({engine}, χ={chi})"),
        source,
    })
}

fn run_equal_accuracy(args: MpsArgs) -> Result<()> {
    if args.symmetry != SymmetryArg::Both {
        return Err(butterfly_mps::Error::InvalidInput(
            "--match-accuracy compares the two engines: add --symmetry both".into(),
        ));
    }
    // A comma-separated list: per input and size, the first that applies (e.g.
    // `exact,u1:2048`: exact for fixed-weight inputs, the large-χ U(1) run for angle).
    let references: Vec<MarginalReference> = args
        .reference
        .split(',')
        .map(parse_reference)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    if references.is_empty() {
        return Err(butterfly_mps::Error::InvalidInput(
            "--match-accuracy needs a reference: --reference exact, u1:CHI or dense:CHI, or a list such as exact,u1:2048".into(),
        ));
    }
    if args.ladder.is_empty() || args.ladder.iter().any(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(butterfly_mps::Error::InvalidInput(format!(
            "--ladder takes positive multiples of χ (e.g. 1,1.5,2,3,4), got {:?}",
            args.ladder
        )));
    }
    let inputs: Vec<Loader> = args
        .inputs
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_>>()?;
    let total = inputs.len() * args.qubits.len() * args.chi.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cases · {elapsed} elapsed · {msg}")
            .expect("valid template"),
    );
    let mut results = Vec::new();
    let mut reference_seconds = Vec::new();
    let mut reference_labels = Vec::new();
    for &input in &inputs {
        for &qubits in &args.qubits {
            let Some(&reference) = references.iter().find(|r| r.applies_to(input, qubits)) else {
                return Err(butterfly_mps::Error::InvalidInput(format!(
                    "--reference {}: none applies to {input} input on {qubits} qubits (exact needs a fixed-weight input or n ≤ {}); add u1:CHI or dense:CHI",
                    args.reference,
                    butterfly_mps::bench::EXACT_STATE_VECTOR_MAX_QUBITS
                )));
            };
            bar.set_message(format!("{input} n={qubits}: reference {reference}"));
            let circuit = MpsBenchCase {
                input,
                qubits,
                chi: 1,
            }
            .circuit(args.seed)?;
            let t = std::time::Instant::now();
            let p = reference_marginals(&circuit, reference)?;
            let mut first = Some(t.elapsed().as_secs_f64());
            for &chi in &args.chi {
                let case = MpsBenchCase { input, qubits, chi };
                let mut ladder: Vec<usize> = args
                    .ladder
                    .iter()
                    .map(|m| ((chi as f64) * m).round().max(1.0) as usize)
                    .collect();
                ladder.dedup();
                bar.set_message(format!(
                    "{input} n={qubits} χ={chi}: dense, then u1 ladder {ladder:?}"
                ));
                let c = compare_at_equal_accuracy(case, &ladder, args.repeats, &p, |engine, x| {
                    run_in_child(case, engine, x, args.seed)
                })?;
                reference_seconds.push(first.take());
                reference_labels.push(reference.to_string());
                results.push(c);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let table = EqualAccuracyTable {
        references: reference_labels,
        reference_seconds,
        results,
    };
    super::emit(&table, args.json)
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
