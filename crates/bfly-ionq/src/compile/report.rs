//! Gate counts and depth of a circuit, and the before/after report of a compilation.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::Target;
use bfly_core::circuit::Circuit;

/// Size of a circuit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitStats {
    /// Single-qubit ops.
    pub one_qubit: usize,
    /// Two-qubit ops.
    pub two_qubit: usize,
    /// Layers of the as-soon-as-possible schedule (every op takes one time step).
    pub depth: usize,
    /// Layers counting only two-qubit ops.
    pub two_qubit_depth: usize,
    /// Ops per gate name.
    pub by_gate: BTreeMap<String, usize>,
}

/// Counts and ASAP depth of `circuit`.
///
/// ```
/// use bfly_core::circuit::{Circuit, Gate};
/// use bfly_ionq::compile::circuit_stats;
/// let mut c = Circuit::new(3);
/// c.push(Gate::H { qubit: 0 }).unwrap();
/// c.push(Gate::Cnot { qubits: [0, 1] }).unwrap();
/// c.push(Gate::X { qubit: 2 }).unwrap();
/// let s = circuit_stats(&c);
/// assert_eq!((s.one_qubit, s.two_qubit, s.depth, s.two_qubit_depth), (2, 1, 2, 1));
/// ```
pub fn circuit_stats(circuit: &Circuit) -> CircuitStats {
    let mut s = CircuitStats::default();
    let mut level = vec![0usize; circuit.qubits];
    let mut level2 = vec![0usize; circuit.qubits];
    for g in &circuit.ops {
        let qs = g.qubits();
        *s.by_gate.entry(g.name().to_string()).or_default() += 1;
        let l = qs.iter().map(|&q| level[q]).max().unwrap_or(0) + 1;
        for &q in &qs {
            level[q] = l;
        }
        if qs.len() == 2 {
            s.two_qubit += 1;
            let l2 = qs.iter().map(|&q| level2[q]).max().unwrap_or(0) + 1;
            for &q in &qs {
                level2[q] = l2;
            }
        } else {
            s.one_qubit += 1;
        }
    }
    s.depth = level.into_iter().max().unwrap_or(0);
    s.two_qubit_depth = level2.into_iter().max().unwrap_or(0);
    s
}

/// What a compilation produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompileReport {
    /// The target gate set.
    pub target: Target,
    /// The input circuit.
    pub source: CircuitStats,
    /// The compiled circuit.
    pub compiled: CircuitStats,
}

impl fmt::Display for CompileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, name: &str, s: &CircuitStats| {
            let gates: Vec<String> = s.by_gate.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(
                f,
                "{name:>9}: {:>6} 1q  {:>6} 2q  depth {:>5}  2q depth {:>4}  ({})",
                s.one_qubit,
                s.two_qubit,
                s.depth,
                s.two_qubit_depth,
                gates.join(", ")
            )
        };
        writeln!(f, "target {}", self.target)?;
        row(f, "source", &self.source)?;
        row(f, "compiled", &self.compiled)
    }
}
