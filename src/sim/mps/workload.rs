//! The benchmark workload shared by `bfly bench`, `benches/mps.rs` and peer scripts.

use crate::circuit::loaders::Loader;
use crate::circuit::{ButterflyWorkload, Circuit, Parameters};
use crate::error::Result;

/// A full coupling-first Butterfly on `n` qubits fed by `input`, with random data and
/// random Butterfly angles drawn from `seed` (ChaCha8): exactly
/// [`ButterflyWorkload::full`]`(n, input, seed)`, so every caller runs the same circuit.
/// Returns the circuit (its default parameters set) and the parameter values.
///
/// ```
/// use butterfly_mps::circuit::loaders::Loader;
/// use butterfly_mps::sim::mps::butterfly_workload;
/// let (c, p) = butterfly_workload(16, Loader::HammingWeight(2), 7).unwrap();
/// assert_eq!(c.qubits, 16);
/// assert_eq!(p.trainable.len(), 32); // 8 RBS per layer, 4 layers
/// assert_eq!(butterfly_workload(16, Loader::HammingWeight(2), 7).unwrap().1, p);
/// ```
pub fn butterfly_workload(n: usize, input: Loader, seed: u64) -> Result<(Circuit, Parameters)> {
    let circuit = ButterflyWorkload::full(n, input, seed).build()?;
    let params = circuit.parameters.clone();
    Ok((circuit, params))
}
