//! One parser for the commands' engine options (`--backend`, `--engine`): the names of
//! [`Engine`]'s `FromStr` (the library's one parser of engine names), restricted to the
//! ones a command offers, each with its help line.

use butterfly_mps::sim::Engine;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

/// `(name, help)` of each value an option offers.
pub type EngineValues = &'static [(&'static str, &'static str)];

/// The engines of `bfly train --backend` and `bfly infer --backend`.
pub const SHIFT_BACKENDS: EngineValues = &[
    ("unary", "Weight-1 amplitudes, exact, any n"),
    ("mps", "Matrix product state with bond cap --chi"),
    ("statevector", "Dense state vector (n ≲ 30)"),
];

/// The engines of `bfly simulate --backend`.
pub const SIMULATE_BACKENDS: EngineValues = &[
    (
        "statevector",
        "Dense state vector (any circuit; 2^n amplitudes)",
    ),
    (
        "subspace",
        "Fixed-Hamming-weight subspace (weight-preserving circuits; C(n,k) amplitudes)",
    ),
    (
        "mps",
        "Matrix product state with SVD truncation (any circuit, any n; accuracy reported)",
    ),
];

/// The possible values of an option offering `values`, with their help.
pub fn possible_values(values: EngineValues) -> PossibleValuesParser {
    PossibleValuesParser::new(
        values
            .iter()
            .map(|&(name, help)| PossibleValue::new(name).help(help)),
    )
}

/// A value parser of the engines `values` names, into [`Engine`] (the MPS engines with
/// the library's default χ and cutoff: [`with_truncation`] sets the command's own).
pub fn engines(values: EngineValues) -> impl TypedValueParser<Value = Engine> {
    possible_values(values).try_map(|name| name.parse::<Engine>())
}

/// `engine` with bond cap `chi` and cutoff `cutoff` if it is an MPS engine.
pub fn with_truncation(engine: Engine, chi: usize, cutoff: f64) -> Engine {
    match engine {
        Engine::Mps { .. } => Engine::Mps { chi, cutoff },
        Engine::U1Mps { .. } => Engine::U1Mps { chi, cutoff },
        other => other,
    }
}
