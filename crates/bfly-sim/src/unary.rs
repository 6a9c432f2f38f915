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

/// The weight-1 amplitudes of a circuit that prepares one basis state `|e_q>` with an `X`
/// (after diagonal gates) and then applies gates that preserve Hamming weight and are real
/// on the weight-1 subspace (unary loaders followed by a Butterfly): `O(1)` per gate, no
/// `2^n` state. The unary engine.
///
/// The weight-1 amplitudes `y` (entry `i` = amplitude of "only qubit `i` is 1").
pub fn weight_one_amplitudes(circuit: &Circuit, values: &Parameters) -> Result<Vec<f64>> {
    let n = circuit.qubits;
    let mut y: Option<Vec<f64>> = None;
    let unsupported = |op: usize, why: &str| Error::InvalidOp {
        op,
        message: format!(
            "the unary engine {why}; use the state-vector or an MPS engine for this circuit"
        ),
    };
    for (op, g) in circuit.ops.iter().enumerate() {
        let bound = g.bind(op, values)?;
        let real = |z: num_complex::Complex64| -> Result<f64> {
            if z.im.abs() > 1e-12 {
                Err(unsupported(
                    op,
                    "needs gates that are real on the weight-1 subspace",
                ))
            } else {
                Ok(z.re)
            }
        };
        match (&mut y, bound) {
            (None, BoundGate::One { qubit, matrix }) => {
                if matrix[0][1].norm() > 1e-12 || matrix[1][0].norm() > 1e-12 {
                    // Off-diagonal: must be an X-like flip from |0…0> to e_qubit.
                    let amp = real(matrix[1][0])?;
                    if matrix[0][0].norm() > 1e-12 || (amp.abs() - 1.0).abs() > 1e-12 {
                        return Err(unsupported(
                            op,
                            "can only prepare one basis state |e_q> from |0…0> (an X gate)",
                        ));
                    }
                    let mut v = vec![0.0; n];
                    v[qubit] = amp;
                    y = Some(v);
                }
                // Diagonal gates on |0…0> only add a global phase: ignored if real.
                else {
                    real(matrix[0][0])?;
                }
            }
            (None, BoundGate::Two { matrix, .. }) => {
                if !bound.preserves_hamming_weight() {
                    return Err(unsupported(op, "met a gate that changes Hamming weight"));
                }
                real(matrix[0][0])?;
            }
            (Some(v), BoundGate::One { qubit, matrix }) => {
                if !bound.preserves_hamming_weight() {
                    return Err(Error::NotWeightPreserving {
                        op,
                        gate: format!("{} on qubit {qubit}", g.name()),
                    });
                }
                let (d0, d1) = (real(matrix[0][0])?, real(matrix[1][1])?);
                for (i, a) in v.iter_mut().enumerate() {
                    *a *= if i == qubit { d1 } else { d0 };
                }
            }
            (
                Some(v),
                BoundGate::Two {
                    qubits: [a, b],
                    matrix,
                },
            ) => {
                if !bound.preserves_hamming_weight() {
                    return Err(Error::NotWeightPreserving {
                        op,
                        gate: format!("{} on qubits [{a}, {b}]", g.name()),
                    });
                }
                // e_a = |q_a=1 q_b=0> is index 2, e_b is index 1.
                let (maa, mab) = (real(matrix[2][2])?, real(matrix[2][1])?);
                let (mba, mbb) = (real(matrix[1][2])?, real(matrix[1][1])?);
                let d00 = real(matrix[0][0])?;
                if (d00 - 1.0).abs() > 1e-12 {
                    for (i, x) in v.iter_mut().enumerate() {
                        if i != a && i != b {
                            *x *= d00;
                        }
                    }
                }
                let (xa, xb) = (v[a], v[b]);
                v[a] = maa * xa + mab * xb;
                v[b] = mba * xa + mbb * xb;
            }
        }
    }
    y.ok_or_else(|| {
        Error::InvalidInput(
            "the unary engine needs a circuit that prepares a weight-1 state (an X gate then weight-preserving gates); this one never leaves |0…0>".into(),
        )
    })
}
