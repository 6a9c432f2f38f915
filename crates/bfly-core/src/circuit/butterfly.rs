//! The Butterfly circuit: `d = log2 n` layers of `n/2` disjoint RBS gates.
//!
//! ```
//! use bfly_core::circuit::{Butterfly, LayerOrdering};
//! let b = Butterfly::new(8, 3, LayerOrdering::CouplingFirst).unwrap();
//! assert_eq!(b.layer_pairs(0), vec![(0, 4), (1, 5), (2, 6), (3, 7)]);
//! assert_eq!(b.n_params(), 12);
//! ```

use serde::{Deserialize, Serialize};

use super::{Circuit, Gate, Param};
use crate::budget::Need;
use crate::error::{Error, Result};

/// Order of the strides across layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LayerOrdering {
    /// Strides n/2, n/4, …, 1: the long-range coupling layer comes first.
    #[default]
    CouplingFirst,
    /// Strides 1, 2, …, n/2: the long-range coupling layer comes last.
    CouplingLast,
}

/// Shape of a Butterfly network (no angles: those are trainable slots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Butterfly {
    /// Number of qubits, a power of two ≥ 2.
    pub qubits: usize,
    /// Number of layers, 1..=log2(qubits).
    pub layers: usize,
    /// Stride order.
    pub ordering: LayerOrdering,
}

impl Butterfly {
    /// A Butterfly with `layers` layers; errors if `qubits` is not a power of two ≥ 2 or
    /// `layers` is not in `1..=log2(qubits)`, or ([`Error::ResourceExceeded`]) if its
    /// `qubits/2 · layers` gates and angles would not fit in memory as a circuit
    /// ([`Need::circuit`]).
    pub fn new(qubits: usize, layers: usize, ordering: LayerOrdering) -> Result<Self> {
        if qubits < 2 || !qubits.is_power_of_two() {
            let above = qubits.max(2).next_power_of_two();
            let below = if qubits <= 2 { 2 } else { above / 2 };
            return Err(Error::NotPowerOfTwo {
                n: qubits,
                below,
                above,
            });
        }
        let max = Self::max_layers(qubits);
        if layers == 0 || layers > max {
            return Err(Error::InvalidLayerCount {
                n: qubits,
                layers,
                max,
            });
        }
        let gates = (qubits / 2) as u128 * layers as u128;
        Need::circuit(
            format!("a Butterfly of {qubits} qubits and {layers} layers ({gates} gates)"),
            qubits,
            gates,
            gates,
            "use fewer qubits or layers",
        )
        .check()?;
        Ok(Butterfly {
            qubits,
            layers,
            ordering,
        })
    }

    /// A full Butterfly (all `log2 n` layers).
    pub fn full(qubits: usize, ordering: LayerOrdering) -> Result<Self> {
        let layers = if qubits.is_power_of_two() && qubits >= 2 {
            Self::max_layers(qubits)
        } else {
            1
        };
        Self::new(qubits, layers, ordering)
    }

    /// `log2 n`, the number of layers of a full Butterfly.
    pub fn max_layers(qubits: usize) -> usize {
        qubits.trailing_zeros() as usize
    }

    /// Stride of layer `layer` (0-based).
    pub fn stride(&self, layer: usize) -> usize {
        let d = Self::max_layers(self.qubits);
        match self.ordering {
            LayerOrdering::CouplingFirst => 1 << (d - 1 - layer),
            LayerOrdering::CouplingLast => 1 << layer,
        }
    }

    /// The `n/2` qubit pairs of layer `layer`: `(start + j, start + j + s)`.
    pub fn layer_pairs(&self, layer: usize) -> Vec<(usize, usize)> {
        let s = self.stride(layer);
        (0..self.qubits)
            .step_by(2 * s)
            .flat_map(|start| (0..s).map(move |j| (start + j, start + j + s)))
            .collect()
    }

    /// Trainable parameters per layer (`n/2`).
    pub fn params_per_layer(&self) -> usize {
        self.qubits / 2
    }

    /// Total trainable parameters (`n/2 · layers`).
    pub fn n_params(&self) -> usize {
        self.params_per_layer() * self.layers
    }

    /// Trainable slot of gate `j` in layer `layer` (slots are layer-major, from `offset`).
    pub fn slot(&self, offset: usize, layer: usize, j: usize) -> usize {
        offset + layer * self.params_per_layer() + j
    }

    /// Append the Butterfly's RBS gates to `circuit`, trainable slots from `offset`.
    pub fn append_to(&self, circuit: &mut Circuit, offset: usize) -> Result<()> {
        for layer in 0..self.layers {
            for (j, (a, b)) in self.layer_pairs(layer).into_iter().enumerate() {
                circuit.push(Gate::Rbs {
                    qubits: [a, b],
                    theta: Param::trainable(self.slot(offset, layer, j)),
                })?;
            }
        }
        Ok(())
    }

    /// The Butterfly alone as a circuit, trainable slots `0..n_params()`.
    pub fn circuit(&self) -> Circuit {
        let mut c = Circuit::new(self.qubits);
        self.append_to(&mut c, 0)
            .expect("Butterfly pairs are always valid");
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_butterfly_too_large_for_memory_is_refused_before_any_gate() {
        let n = 1usize << 40;
        let e = Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap_err();
        assert!(matches!(e, Error::ResourceExceeded { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with(
                "a Butterfly of 1099511627776 qubits and 40 layers (21990232555520 gates) needs"
            ),
            "{text}"
        );
        assert!(text.contains("use fewer qubits or layers"), "{text}");
        // The largest power of two: the gate count saturates nothing.
        let top = 1usize << (usize::BITS - 1);
        assert!(matches!(
            Butterfly::new(top, 63, LayerOrdering::CouplingLast),
            Err(Error::ResourceExceeded { .. })
        ));
        assert_eq!(
            Butterfly::full(1024, LayerOrdering::CouplingFirst)
                .unwrap()
                .n_params(),
            5120
        );
    }
}
