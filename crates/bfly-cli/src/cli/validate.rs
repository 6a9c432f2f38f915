//! `bfly validate`: check compiled circuits against their source by exact simulation.

use super::progress::{self, Bar};
use butterfly_mps::circuit::{Circuit, Parameters};
use butterfly_mps::compile::Target;
use butterfly_mps::train::HybridModel;
use butterfly_mps::validate::{
    compare, validate_compilation, validate_model, Comparison, Engine, ValidateOptions,
    DEFAULT_MIN_FIDELITY,
};
use butterfly_mps::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Source circuit JSON (with --compiled, or with --target to compile it here).
    #[arg(long, short = 'c', conflicts_with = "model")]
    circuit: Option<PathBuf>,
    /// Compiled circuit JSON to check against --circuit.
    #[arg(long, conflicts_with = "target")]
    compiled: Option<PathBuf>,
    /// Trained model JSON (from `bfly train`): its circuit is compiled and checked for
    /// --inputs random feature vectors.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Target to compile for: aria, forte or qis.
    #[arg(long, short = 't')]
    target: Option<String>,
    /// Parameter values JSON for --circuit (default: the circuit's own defaults).
    #[arg(long)]
    params: Option<PathBuf>,
    /// Number of random inputs (--model).
    #[arg(long, default_value_t = 20)]
    inputs: usize,
    /// Seed of the random inputs (--model).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Engine: auto (subspace for weight-preserving sources, else state vector up to 24
    /// qubits, else MPS), statevector, subspace or mps.
    #[arg(long, default_value = "auto")]
    engine: String,
    /// MPS bond cap χ (engine mps).
    #[arg(long, default_value_t = 256)]
    chi: usize,
    /// Fail (non-zero exit) if any state fidelity is below this.
    #[arg(long, default_value_t = DEFAULT_MIN_FIDELITY)]
    min_fidelity: f64,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    /// With --model: write the model's circuit for the first random input (every slot
    /// bound) to this circuit JSON, ready for `bfly compile` / `bfly ionq export`.
    #[arg(long, requires = "model")]
    save_circuit: Option<PathBuf>,
}

fn line(c: &Comparison) -> String {
    let tvd = match c.tvd {
        Some(t) => format!("{t:.3e}"),
        None => format!("n/a (≤ {:.3e})", c.tvd_bound),
    };
    let mut s = format!(
        "engine {}: fidelity {:.15} (1 − F = {:.3e}), TVD {tvd}",
        c.engine.name(),
        c.fidelity,
        1.0 - c.fidelity
    );
    if let Some((a, b)) = c.mps_discarded_weight {
        s.push_str(&format!(
            ", MPS discarded weight {a:.3e} / {b:.3e}{}",
            if c.exact {
                " (exact)"
            } else {
                " (NOT exact: truncated)"
            }
        ));
    }
    s
}

fn load_values(path: &Option<PathBuf>, circuit: &Circuit) -> Result<Parameters> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            serde_json::from_str(&text).map_err(|source| Error::Json {
                context: p.display().to_string(),
                source,
            })
        }
        None => Ok(circuit.parameters.clone()),
    }
}

pub fn run(args: Args) -> Result<()> {
    super::guard_outputs(
        &[
            ("--circuit", args.circuit.as_deref()),
            ("--compiled", args.compiled.as_deref()),
            ("--model", args.model.as_deref()),
            ("--params", args.params.as_deref()),
        ],
        &[("--save-circuit", args.save_circuit.as_deref())],
    )?;
    let options = ValidateOptions {
        engine: match args.engine.parse::<Engine>()? {
            // --chi is the bond cap of every validation MPS; validation never cuts off.
            Engine::Mps { .. } => Engine::Mps {
                chi: args.chi,
                cutoff: 0.0,
            },
            other => other,
        },
        chi: args.chi,
    };
    if !(args.min_fidelity.is_finite() && args.min_fidelity <= 1.0) {
        return Err(Error::InvalidInput(format!(
            "--min-fidelity must be a number ≤ 1, got {}",
            args.min_fidelity
        )));
    }
    let target = args
        .target
        .as_deref()
        .map(str::parse::<Target>)
        .transpose()?;
    let fidelities: Vec<f64>;
    let inexact: Option<Comparison>;
    if let Some(path) = &args.model {
        let target = target
            .ok_or_else(|| Error::InvalidInput("--model needs --target aria|forte|qis".into()))?;
        let model = HybridModel::load(path)?;
        let bar = if args.json {
            Bar::hidden()
        } else {
            Bar::new(progress::COUNT)
        };
        let v = validate_model(&model, target, args.inputs, args.seed, &options, &bar)?;
        if let (Some(out), Some(first)) = (&args.save_circuit, v.inputs.first()) {
            let mut c = model.circuit()?;
            let u = model.encode(&first.features)?.u;
            c.parameters =
                Parameters::new(model.theta.clone(), model.loader.angles(model.qubits, &u)?);
            c.save(out)?;
        }
        fidelities = v.inputs.iter().map(|r| r.comparison.fidelity).collect();
        inexact = v
            .inputs
            .iter()
            .find(|r| !r.comparison.exact)
            .map(|r| r.comparison.clone());
        if args.json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&v).expect("serialisable")
            );
        } else {
            outln!(
                "model {}: {} qubits, target {target}, {} random inputs (seed {})",
                path.display(),
                v.qubits,
                v.inputs.len(),
                args.seed
            );
            out!("{}", v.report);
            for (i, r) in v.inputs.iter().enumerate() {
                outln!("input {i:>3}: {}", line(&r.comparison));
            }
            outln!(
                "worst fidelity {:.15} (1 − F = {:.3e}); worst TVD {}",
                v.min_fidelity,
                1.0 - v.min_fidelity,
                v.max_tvd.map_or("n/a".into(), |t| format!("{t:.3e}"))
            );
        }
    } else {
        let source_path = args.circuit.as_ref().ok_or_else(|| {
            Error::InvalidInput(
                "give --circuit source.json with --compiled compiled.json or --target, or --model model.json --target".into(),
            )
        })?;
        let source = Circuit::load(source_path)?;
        let values = load_values(&args.params, &source)?;
        let (report, cmp) = match (&args.compiled, target) {
            (Some(path), _) => {
                let compiled = Circuit::load(path)?;
                let cmp = compare(&source, &values, &compiled, &compiled.parameters, &options)?;
                (None, cmp)
            }
            (None, Some(t)) => {
                let (r, c) = validate_compilation(&source, &values, t, &options)?;
                (Some(r), c)
            }
            (None, None) => {
                return Err(Error::InvalidInput(
                    "--circuit needs --compiled compiled.json or --target aria|forte|qis".into(),
                ))
            }
        };
        fidelities = vec![cmp.fidelity];
        inexact = (!cmp.exact).then(|| cmp.clone());
        if args.json {
            let doc = serde_json::json!({"report": report, "comparison": cmp});
            outln!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("serialisable")
            );
        } else {
            if let Some(r) = &report {
                out!("{r}");
            }
            outln!("{}", line(&cmp));
        }
    }
    if let Some(c) = inexact {
        c.verdict(args.min_fidelity)?;
    }
    let failed = fidelities
        .iter()
        .filter(|&&f| f.is_nan() || f < args.min_fidelity)
        .count();
    if failed > 0 {
        return Err(Error::ValidationFailed {
            fidelity: fidelities.iter().cloned().fold(f64::INFINITY, f64::min),
            min_fidelity: args.min_fidelity,
            failed,
            total: fidelities.len(),
        });
    }
    Ok(())
}
