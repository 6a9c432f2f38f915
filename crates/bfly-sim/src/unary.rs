//! The unary fast path: a weight-preserving network with real amplitudes, restricted to
//! the weight-1 subspace, is an `n×n` orthogonal matrix `W`.
//!
//! With a unary loader preparing `x`, the output amplitudes are `y = W x` and
//! `P(qubit i reads 1) = y_i²`. This is what training uses: `O(n²)` memory, no simulator.
//!
//! ```
//! use bfly_core::circuit::{Butterfly, LayerOrdering, Parameters};
//! use bfly_sim::unary::UnaryMap;
//! let b = Butterfly::full(4, LayerOrdering::CouplingFirst).unwrap();
//! let values = Parameters::new(vec![0.1, 0.2, 0.3, 0.4], vec![]);
//! let w = UnaryMap::from_circuit(&b.circuit(), &values).unwrap();
//! let y = w.apply(&[1.0, 0.0, 0.0, 0.0]).unwrap();
//! assert!((y.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
//! ```

use ndarray::{Array1, Array2};

use bfly_core::circuit::{BoundGate, Circuit, Parameters};
use bfly_core::error::{Error, Result};

const TOL: f64 = 1e-12;

/// The orthogonal matrix `W` of a real weight-preserving network on the unary subspace.
#[derive(Clone, Debug, PartialEq)]
pub struct UnaryMap {
    w: Array2<f64>,
}

fn real(z: num_complex::Complex64, op: usize) -> Result<f64> {
    if z.im.abs() > TOL {
        return Err(Error::InvalidOp {
            op,
            message: "gate has complex entries on the unary subspace; the real unary fast path cannot represent it (use the subspace backend)".into(),
        });
    }
    Ok(z.re)
}

impl UnaryMap {
    /// Identity on `n` qubits.
    pub fn identity(n: usize) -> Self {
        UnaryMap { w: Array2::eye(n) }
    }

    /// `W` of `circuit` (every gate weight-preserving and real on the unary subspace, e.g. a
    /// Butterfly; loaders are *not* part of it — pass the loaded vector to [`UnaryMap::apply`]).
    pub fn from_circuit(circuit: &Circuit, values: &Parameters) -> Result<Self> {
        let mut map = Self::identity(circuit.qubits);
        for (i, g) in circuit.ops.iter().enumerate() {
            let bound = g.bind(i, values)?;
            map.apply_gate(&bound, i)?;
        }
        Ok(map)
    }

    /// Left-multiply `W` by one gate's action on the unary subspace (`op` for errors).
    pub fn apply_gate(&mut self, gate: &BoundGate, op: usize) -> Result<()> {
        if !gate.preserves_hamming_weight() {
            return Err(Error::NotWeightPreserving {
                op,
                gate: format!("gate on qubits {:?}", gate.qubits()),
            });
        }
        let n = self.w.nrows();
        match gate {
            BoundGate::One { qubit, matrix } => {
                let (d0, d1) = (real(matrix[0][0], op)?, real(matrix[1][1], op)?);
                for r in 0..n {
                    let f = if r == *qubit { d1 } else { d0 };
                    self.w.row_mut(r).mapv_inplace(|v| v * f);
                }
            }
            BoundGate::Two {
                qubits: [a, b],
                matrix,
            } => {
                // e_a is |q_a=1 q_b=0> (index 2), e_b is index 1; other e_j see |00>.
                let (maa, mab) = (real(matrix[2][2], op)?, real(matrix[2][1], op)?);
                let (mba, mbb) = (real(matrix[1][2], op)?, real(matrix[1][1], op)?);
                let d00 = real(matrix[0][0], op)?;
                if (d00 - 1.0).abs() > TOL {
                    for r in (0..n).filter(|r| r != a && r != b) {
                        self.w.row_mut(r).mapv_inplace(|v| v * d00);
                    }
                }
                for c in 0..n {
                    let (xa, xb) = (self.w[[*a, c]], self.w[[*b, c]]);
                    self.w[[*a, c]] = maa * xa + mab * xb;
                    self.w[[*b, c]] = mba * xa + mbb * xb;
                }
            }
        }
        Ok(())
    }

    /// The matrix `W`.
    pub fn matrix(&self) -> &Array2<f64> {
        &self.w
    }

    /// `y = W x`.
    pub fn apply(&self, x: &[f64]) -> Result<Array1<f64>> {
        if x.len() != self.w.ncols() {
            return Err(Error::InvalidInput(format!(
                "input has {} entries, the unary map acts on {}",
                x.len(),
                self.w.ncols()
            )));
        }
        Ok(self.w.dot(&Array1::from(x.to_vec())))
    }

    /// `P(qubit i reads 1) = y_i²` for the loaded vector `x`.
    pub fn marginals(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self.apply(x)?.iter().map(|y| y * y).collect())
    }
}
