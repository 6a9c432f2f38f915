//! `bfly compile`: compile a circuit to IonQ natives (Aria, Forte) or the QIS gate set,
//! write the compiled circuit JSON and/or OpenQASM 2.0, print gate counts and depth.

use butterfly_mps::circuit::{Circuit, Parameters};
use butterfly_mps::compile::qasm::to_qasm;
use butterfly_mps::compile::{compile, CompileOptions, Target, TrailingZ};
use butterfly_mps::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Source circuit JSON (e.g. from `bfly butterfly`).
    #[arg(long, short = 'c')]
    circuit: PathBuf,
    /// Target gate set: aria (MS + GPi/GPi2), forte (ZZ + GPi/GPi2) or qis.
    #[arg(long, short = 't')]
    target: String,
    /// Parameter values JSON (`{"trainable": [...], "inputs": [...]}`) overriding the
    /// circuit's own defaults; the compiled circuit has every parameter bound.
    #[arg(long)]
    params: Option<PathBuf>,
    /// Write the compiled circuit (circuit JSON) here.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Write the compiled circuit as OpenQASM 2.0 here.
    #[arg(long)]
    qasm: Option<PathBuf>,
    /// Leave out the trailing virtual-Z corrections (≤ 2 GPi per qubit): same measurement
    /// distribution, but the state then matches the source only up to a diagonal phase.
    #[arg(long)]
    drop_final_z: bool,
    /// Print the report as one JSON document.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let target: Target = args.target.parse()?;
    super::guard_outputs(
        &[
            ("--circuit", Some(&args.circuit)),
            ("--params", args.params.as_deref()),
        ],
        &[
            ("--out", args.out.as_deref()),
            ("--qasm", args.qasm.as_deref()),
        ],
    )?;
    let circuit = Circuit::load(&args.circuit)?;
    let values = match &args.params {
        Some(path) => Parameters::load(path)?,
        None => circuit.parameters.clone(),
    };
    let options = CompileOptions {
        trailing_z: if args.drop_final_z {
            TrailingZ::Drop
        } else {
            TrailingZ::Emit
        },
    };
    let compiled = compile(&circuit, &values, target, &options)?;
    if let Some(out) = &args.out {
        compiled.circuit.save(out)?;
    }
    if let Some(path) = &args.qasm {
        let text = to_qasm(&compiled.circuit, &compiled.circuit.parameters)?;
        butterfly_mps::io::write_atomic(path, text.as_bytes())?;
    }
    if args.json {
        let doc = serde_json::json!({
            "report": compiled.report,
            "dropped_final_z": compiled.dropped_frames,
            "out": args.out,
            "qasm": args.qasm,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serialisable")
        );
    } else {
        out!("{}", compiled.report);
        if !compiled.dropped_frames.is_empty() {
            outln!(
                "dropped trailing Z frames on {} qubits (probabilities unchanged; state equal up to a diagonal phase)",
                compiled.dropped_frames.len()
            );
        }
        for (what, path) in [("circuit", &args.out), ("qasm", &args.qasm)] {
            if let Some(p) = path {
                outln!("wrote {what} {}", p.display());
            }
        }
    }
    Ok(())
}
