//! `bfly butterfly`: write a loader + Butterfly circuit to JSON.

use butterfly_mps::budget::Need;
use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{Butterfly, ButterflyWorkload, LayerOrdering};
use butterfly_mps::Result;
use clap::ValueEnum;
use std::path::PathBuf;

/// Stride order of the layers.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OrderingArg {
    /// Strides n/2, n/4, …, 1.
    CouplingFirst,
    /// Strides 1, 2, …, n/2.
    CouplingLast,
}

impl From<OrderingArg> for LayerOrdering {
    fn from(o: OrderingArg) -> Self {
        match o {
            OrderingArg::CouplingFirst => LayerOrdering::CouplingFirst,
            OrderingArg::CouplingLast => LayerOrdering::CouplingLast,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Number of qubits, a power of two (2, 4, …, 128, …).
    #[arg(long, short = 'n')]
    qubits: usize,
    /// Number of Butterfly layers, 1..=log2(qubits) [default: all].
    #[arg(long, short = 'l')]
    layers: Option<usize>,
    /// State preparation: unary (tree), unary-diagonal, hw2, hw3, … (Hamming weight k),
    /// angle (RY product), or none.
    #[arg(long, default_value = "unary")]
    loader: String,
    /// Stride order of the layers.
    #[arg(long, value_enum, default_value = "coupling-first")]
    ordering: OrderingArg,
    /// Seed of the random data and Butterfly angles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file (circuit JSON).
    #[arg(long, short = 'o')]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    butterfly_mps::io::check_output_file("--out", &args.out)?;
    let loader = match args.loader.as_str() {
        "none" => None,
        other => Some(other.parse::<Loader>()?),
    };
    if args.qubits < 2 || !args.qubits.is_power_of_two() {
        // Let the builder produce the typed error with nearest valid sizes.
        Butterfly::new(args.qubits, 1, args.ordering.into())?;
    }
    let workload = ButterflyWorkload {
        qubits: args.qubits,
        layers: args
            .layers
            .unwrap_or_else(|| Butterfly::max_layers(args.qubits)),
        ordering: args.ordering.into(),
        loader,
        seed: args.seed,
    };
    // The Butterfly checks its own size; with the loader (at most one gate, one input and
    // one data value per qubit) the whole circuit must fit too.
    let butterfly = Butterfly::new(workload.qubits, workload.layers, workload.ordering)?;
    let n = workload.qubits as u128;
    let ops = n + butterfly.n_params() as u128;
    Need::circuit(
        format!(
            "a circuit of {} qubits with its loader ({ops} operations)",
            workload.qubits
        ),
        workload.qubits,
        ops,
        ops + n,
        "use fewer qubits (--qubits) or layers (--layers)",
    )
    .check()?;
    let circuit = workload.build()?;
    circuit.save(&args.out)?;
    let two_qubit = circuit.ops.iter().filter(|g| g.qubits().len() == 2).count();
    outln!(
        "wrote {}: {} qubits, {} ops ({} two-qubit), {} trainable angles, {} loader inputs{}",
        args.out.display(),
        circuit.qubits,
        circuit.ops.len(),
        two_qubit,
        circuit.n_trainable(),
        circuit.n_inputs(),
        match loader.and_then(|l| l.hamming_weight()) {
            Some(k) => format!(", Hamming weight {k}"),
            None => String::new(),
        }
    );
    Ok(())
}
