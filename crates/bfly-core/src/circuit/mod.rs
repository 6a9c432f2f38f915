//! The circuit IR: gates, parameter slots, and a validated JSON format.
//!
//! ```
//! use bfly_core::circuit::{Circuit, Gate, Param};
//! let mut c = Circuit::new(2);
//! c.push(Gate::X { qubit: 0 }).unwrap();
//! c.push(Gate::Rbs { qubits: [0, 1], theta: Param::trainable(0) }).unwrap();
//! let json = c.to_json();
//! assert_eq!(Circuit::from_json(&json).unwrap(), c);
//! ```

pub mod butterfly;
pub mod gate;
pub mod loaders;
pub mod param;
pub mod workload;

pub use butterfly::{Butterfly, LayerOrdering};
pub use gate::{BoundGate, Gate, Mat2, Mat4, GATE_NAMES};
pub use param::{Param, Parameters};
pub use workload::ButterflyWorkload;

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};

/// A quantum circuit on `qubits` qubits, starting from `|0…0>`.
///
/// `parameters` holds default values for the slots, so a circuit file can be simulated as
/// it is; callers may bind other values with [`Circuit::bind`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Circuit {
    /// Number of qubits.
    pub qubits: usize,
    /// Operations in application order.
    pub ops: Vec<Gate>,
    /// Default slot values (may be empty).
    #[serde(default, skip_serializing_if = "parameters_empty")]
    pub parameters: Parameters,
}

fn parameters_empty(p: &Parameters) -> bool {
    p.trainable.is_empty() && p.inputs.is_empty()
}

/// Raw file shape, parsed before the ops are checked one by one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCircuit {
    qubits: usize,
    ops: Vec<serde_json::Value>,
    #[serde(default)]
    parameters: Parameters,
}

impl Circuit {
    /// An empty circuit.
    pub fn new(qubits: usize) -> Self {
        Circuit {
            qubits,
            ops: Vec::new(),
            parameters: Parameters::default(),
        }
    }

    /// Append a gate after checking it (qubit range, distinct qubits, finite angles).
    pub fn push(&mut self, gate: Gate) -> Result<()> {
        validate_gate(self.ops.len(), &gate, self.qubits)?;
        self.ops.push(gate);
        Ok(())
    }

    /// Append all gates of `other` (which must have the same number of qubits).
    pub fn extend(&mut self, other: &Circuit) -> Result<()> {
        if other.qubits != self.qubits {
            return Err(Error::InvalidInput(format!(
                "cannot append a {}-qubit circuit to a {}-qubit circuit",
                other.qubits, self.qubits
            )));
        }
        for g in &other.ops {
            self.push(g.clone())?;
        }
        Ok(())
    }

    /// Number of trainable slots referenced (highest slot + 1).
    pub fn n_trainable(&self) -> usize {
        self.slot_count(|p| match p {
            Param::Trainable { trainable } => Some(*trainable),
            _ => None,
        })
    }

    /// Number of input slots referenced (highest slot + 1).
    pub fn n_inputs(&self) -> usize {
        self.slot_count(|p| match p {
            Param::Input { input } => Some(*input),
            _ => None,
        })
    }

    fn slot_count(&self, f: impl Fn(&Param) -> Option<usize>) -> usize {
        self.ops
            .iter()
            .flat_map(|g| g.params().into_iter().filter_map(|(_, p)| f(p)))
            .map(|s| s + 1)
            .max()
            .unwrap_or(0)
    }

    /// Check every op: qubits in range and distinct, fixed angles finite, unitaries unitary.
    pub fn validate(&self) -> Result<()> {
        for (i, g) in self.ops.iter().enumerate() {
            validate_gate(i, g, self.qubits)?;
        }
        Ok(())
    }

    /// Resolve all parameters with `values`, giving the gate matrices in order.
    pub fn bind(&self, values: &Parameters) -> Result<Vec<BoundGate>> {
        self.ops
            .iter()
            .enumerate()
            .map(|(i, g)| g.bind(i, values))
            .collect()
    }

    /// Resolve all parameters with the circuit's own default values.
    pub fn bind_defaults(&self) -> Result<Vec<BoundGate>> {
        self.bind(&self.parameters)
    }

    /// True if every gate (with these values) preserves Hamming weight.
    pub fn preserves_hamming_weight(&self, values: &Parameters) -> Result<bool> {
        Ok(self
            .bind(values)?
            .iter()
            .all(|g| g.preserves_hamming_weight()))
    }

    /// Pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a circuit always serialises")
    }

    /// Parse and validate circuit JSON (a leading UTF-8 byte-order mark is skipped). Each
    /// malformed op is reported with its index.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_with_context(text, "circuit")
    }

    fn from_json_with_context(text: &str, context: &str) -> Result<Self> {
        // A UTF-8 byte-order mark (some Windows editors write one) is not JSON; skip it, as
        // the CSV reader does.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw: RawCircuit = serde_json::from_str(text).map_err(|source| Error::Json {
            context: context.to_string(),
            source,
        })?;
        let mut ops = Vec::with_capacity(raw.ops.len());
        for (i, value) in raw.ops.into_iter().enumerate() {
            let name = value
                .get("gate")
                .and_then(|g| g.as_str())
                .map(str::to_string);
            match name {
                None => {
                    return Err(Error::InvalidOp {
                        op: i,
                        message: "missing string field \"gate\" (e.g. \"gate\": \"rbs\")".into(),
                    })
                }
                Some(n) if !GATE_NAMES.contains(&n.as_str()) => {
                    return Err(Error::UnknownGate {
                        op: i,
                        name: n,
                        known: GATE_NAMES.join(", "),
                    })
                }
                Some(n) => {
                    let gate: Gate =
                        serde_json::from_value(value).map_err(|e| Error::InvalidOp {
                            op: i,
                            message: format!("malformed \"{n}\" gate: {e}"),
                        })?;
                    ops.push(gate);
                }
            }
        }
        let circuit = Circuit {
            qubits: raw.qubits,
            ops,
            parameters: raw.parameters,
        };
        if circuit.qubits == 0 {
            return Err(Error::InvalidInput(format!(
                "{context}: \"qubits\" must be at least 1"
            )));
        }
        circuit.validate()?;
        for (kind, values) in [
            ("trainable", &circuit.parameters.trainable),
            ("input", &circuit.parameters.inputs),
        ] {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidInput(format!(
                    "{context}: parameters.{kind}[{i}] is {}; values must be finite",
                    values[i]
                )));
            }
        }
        Ok(circuit)
    }

    /// Read and validate a circuit file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_with_context(&text, &path.display().to_string())
    }

    /// Write the circuit as JSON, atomically (temporary file, then rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), self.to_json().as_bytes())
    }
}

fn validate_gate(op: usize, gate: &Gate, n_qubits: usize) -> Result<()> {
    let qubits = gate.qubits();
    for &q in &qubits {
        if q >= n_qubits {
            return Err(Error::QubitOutOfRange {
                op,
                gate: gate.name().into(),
                qubit: q,
                n_qubits,
            });
        }
    }
    if qubits.len() == 2 && qubits[0] == qubits[1] {
        return Err(Error::RepeatedQubit {
            op,
            gate: gate.name().into(),
            qubit: qubits[0],
        });
    }
    for (name, p) in gate.params() {
        if let Param::Fixed(v) = p {
            if !v.is_finite() {
                return Err(Error::NonFiniteAngle {
                    op,
                    gate: gate.name().into(),
                    name: name.into(),
                    value: *v,
                });
            }
        }
    }
    let defect = match gate {
        Gate::Unitary1 { matrix, .. } => gate::unitarity_defect(matrix),
        Gate::Unitary2 { matrix, .. } => gate::unitarity_defect(matrix),
        _ => 0.0,
    };
    if defect.is_nan() || defect > 1e-8 {
        return Err(Error::InvalidOp {
            op,
            message: format!(
                "{} matrix is not unitary (max |U U† - 1| = {defect:.3e}, tolerance 1e-8)",
                gate.name()
            ),
        });
    }
    Ok(())
}
