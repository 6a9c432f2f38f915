//! Data loaders: circuits that prepare a data-dependent state from `|0…0>`.
//!
//! Each loader builds a circuit whose angles are **input slots**, and computes the angles
//! for a data vector, so one circuit serves every sample.
//!
//! ```
//! use bfly_core::circuit::loaders::Loader;
//! let x = [0.5, -0.5, 0.5, 0.5];
//! let circuit = Loader::UnaryTree.circuit(4).unwrap();
//! let angles = Loader::UnaryTree.angles(4, &x).unwrap();
//! assert_eq!(circuit.n_inputs(), angles.len());
//! ```

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::{Circuit, Gate, Param};
use crate::error::{Error, Result};
use crate::sampling::standard_normal;

/// A state-preparation scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loader {
    /// Unary parallel (tree) loader: `n-1` RBS, depth `log2 n`; `n` a power of two.
    UnaryTree,
    /// Unary diagonal loader: `n-1` nearest-neighbour RBS, depth `n-1`; any `n ≥ 2`.
    UnaryDiagonal,
    /// Hamming-weight-`k` loader: the qubits are cut into `k` contiguous blocks and each
    /// block gets a unary loader of its own unit vector. The result is a weight-`k` state,
    /// entangled inside every block; its data is the `k` block vectors concatenated.
    HammingWeight(usize),
    /// Angle (product) encoding: `RY(x_i)` on qubit `i`; mixes all Hamming weights.
    Angle,
}

impl fmt::Display for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loader::UnaryTree => write!(f, "unary"),
            Loader::UnaryDiagonal => write!(f, "unary-diagonal"),
            Loader::HammingWeight(k) => write!(f, "hw{k}"),
            Loader::Angle => write!(f, "angle"),
        }
    }
}

impl FromStr for Loader {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "unary" | "unary-tree" => Ok(Loader::UnaryTree),
            "unary-diagonal" => Ok(Loader::UnaryDiagonal),
            "angle" => Ok(Loader::Angle),
            _ => match s.strip_prefix("hw").map(str::parse::<usize>) {
                Some(Ok(1)) => Ok(Loader::UnaryTree),
                Some(Ok(k)) if k >= 2 => Ok(Loader::HammingWeight(k)),
                _ => Err(Error::InvalidInput(format!(
                    "unknown loader \"{s}\"; use unary, unary-diagonal, angle, or hwK with K ≥ 2 (hw2, hw3, …)"
                ))),
            },
        }
    }
}

impl Loader {
    /// The Hamming weight of the prepared state, if fixed.
    pub fn hamming_weight(&self) -> Option<usize> {
        match self {
            Loader::UnaryTree | Loader::UnaryDiagonal => Some(1),
            Loader::HammingWeight(k) => Some(*k),
            Loader::Angle => None,
        }
    }

    /// Length of the data vector this loader takes on `n` qubits.
    pub fn data_len(&self, n: usize) -> usize {
        n
    }

    fn check_size(&self, n: usize) -> Result<()> {
        let ok = match self {
            Loader::UnaryTree => n >= 2 && n.is_power_of_two(),
            Loader::UnaryDiagonal => n >= 2,
            Loader::HammingWeight(k) => *k >= 1 && n >= 2 * k,
            Loader::Angle => n >= 1,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidInput(match self {
                Loader::UnaryTree => format!(
                    "the unary tree loader needs a power-of-two number of qubits ≥ 2, got {n}; use unary-diagonal for other sizes"
                ),
                Loader::HammingWeight(k) => format!(
                    "the hw{k} loader needs at least {} qubits (blocks of ≥ 2), got {n}",
                    2 * k
                ),
                _ => format!("the {self} loader cannot run on {n} qubits"),
            }))
        }
    }

    /// The loader circuit on `n` qubits; its angles are input slots `0..`.
    pub fn circuit(&self, n: usize) -> Result<Circuit> {
        self.check_size(n)?;
        let mut c = Circuit::new(n);
        let mut slot = 0;
        match self {
            Loader::UnaryTree => {
                c.push(Gate::X { qubit: 0 })?;
                push_tree(&mut c, 0, n, &mut slot)?;
            }
            Loader::UnaryDiagonal => {
                c.push(Gate::X { qubit: 0 })?;
                push_diagonal(&mut c, 0, n, &mut slot)?;
            }
            Loader::HammingWeight(k) => {
                let blocks = blocks(n, *k);
                for &(lo, _) in &blocks {
                    c.push(Gate::X { qubit: lo })?;
                }
                for &(lo, size) in &blocks {
                    if size.is_power_of_two() {
                        push_tree(&mut c, lo, size, &mut slot)?;
                    } else {
                        push_diagonal(&mut c, lo, size, &mut slot)?;
                    }
                }
            }
            Loader::Angle => {
                for q in 0..n {
                    c.push(Gate::Ry {
                        qubit: q,
                        theta: Param::input(q),
                    })?;
                }
            }
        }
        Ok(c)
    }

    /// Input-slot values that make [`Loader::circuit`] prepare `data`.
    ///
    /// Unary loaders take a real unit vector of length `n` (signs included); `hwK` takes
    /// `k` unit vectors, one per block, concatenated; `angle` takes the `n` RY angles.
    pub fn angles(&self, n: usize, data: &[f64]) -> Result<Vec<f64>> {
        self.check_size(n)?;
        if data.len() != self.data_len(n) {
            return Err(Error::InvalidInput(format!(
                "the {self} loader on {n} qubits takes {} numbers, got {}",
                self.data_len(n),
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "loader data[{i}] is {}; data must be finite",
                data[i]
            )));
        }
        match self {
            Loader::UnaryTree => {
                check_unit(data, "data")?;
                Ok(tree_angles(data))
            }
            Loader::UnaryDiagonal => {
                check_unit(data, "data")?;
                Ok(diagonal_angles(data))
            }
            Loader::HammingWeight(k) => {
                let mut out = Vec::with_capacity(n - k);
                for (b, (lo, size)) in blocks(n, *k).into_iter().enumerate() {
                    let x = &data[lo..lo + size];
                    check_unit(x, &format!("block {b} (qubits {lo}..{})", lo + size))?;
                    out.extend(if size.is_power_of_two() {
                        tree_angles(x)
                    } else {
                        diagonal_angles(x)
                    });
                }
                Ok(out)
            }
            Loader::Angle => Ok(data.to_vec()),
        }
    }

    /// Random data this loader accepts (unit Gaussian vectors per block, or angles in
    /// `[0, π)`), for demos, benchmarks and tests.
    pub fn random_data(&self, n: usize, rng: &mut impl Rng) -> Vec<f64> {
        match self {
            Loader::Angle => (0..n)
                .map(|_| rng.random::<f64>() * std::f64::consts::PI)
                .collect(),
            Loader::UnaryTree | Loader::UnaryDiagonal => random_unit_vector(n, rng),
            Loader::HammingWeight(k) => blocks(n, *k)
                .into_iter()
                .flat_map(|(_, size)| random_unit_vector(size, rng))
                .collect(),
        }
    }
}

/// The `k` contiguous blocks `(start, size)` of the `hwK` loader: sizes differ by ≤ 1.
pub fn blocks(n: usize, k: usize) -> Vec<(usize, usize)> {
    let (base, extra) = (n / k, n % k);
    let mut lo = 0;
    (0..k)
        .map(|b| {
            let size = base + usize::from(b < extra);
            let block = (lo, size);
            lo += size;
            block
        })
        .collect()
}

/// A uniformly random real unit vector (normalised Gaussian).
pub fn random_unit_vector(n: usize, rng: &mut impl Rng) -> Vec<f64> {
    loop {
        let v: Vec<f64> = (0..n).map(|_| standard_normal(rng)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-6 {
            return v.into_iter().map(|x| x / norm).collect();
        }
    }
}

fn check_unit(x: &[f64], what: &str) -> Result<()> {
    let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > 1e-9 {
        return Err(Error::InvalidInput(format!(
            "{what} must be a unit vector for amplitude loading, but its norm is {norm:.12}; divide by the norm first"
        )));
    }
    Ok(())
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Tree loader gates on `[lo, lo+size)`, level by level (depth log2 size).
fn push_tree(c: &mut Circuit, lo: usize, size: usize, slot: &mut usize) -> Result<()> {
    let mut block = size;
    while block >= 2 {
        for start in (lo..lo + size).step_by(block) {
            c.push(Gate::Rbs {
                qubits: [start, start + block / 2],
                theta: Param::input(*slot),
            })?;
            *slot += 1;
        }
        block /= 2;
    }
    Ok(())
}

/// Tree-loader angles, in the gate order of [`push_tree`].
///
/// The RBS on `(start, start+h)` sends the block's amplitude `r` to `r cos θ` on the left
/// half and `r sin θ` on the right half, so `θ = atan2(‖right‖, ‖left‖)`; at the leaves
/// `θ = atan2(x_{lo+1}, x_lo)` carries the signs.
fn tree_angles(x: &[f64]) -> Vec<f64> {
    let size = x.len();
    let mut out = Vec::with_capacity(size - 1);
    let mut block = size;
    while block >= 2 {
        let h = block / 2;
        for start in (0..size).step_by(block) {
            out.push(if block == 2 {
                x[start + 1].atan2(x[start])
            } else {
                norm(&x[start + h..start + block]).atan2(norm(&x[start..start + h]))
            });
        }
        block /= 2;
    }
    out
}

fn push_diagonal(c: &mut Circuit, lo: usize, size: usize, slot: &mut usize) -> Result<()> {
    for i in 0..size - 1 {
        c.push(Gate::Rbs {
            qubits: [lo + i, lo + i + 1],
            theta: Param::input(*slot),
        })?;
        *slot += 1;
    }
    Ok(())
}

/// Diagonal-loader angles: `α_i = atan2(‖x_{i+1..}‖, x_i)`, last `atan2(x_{n-1}, x_{n-2})`.
fn diagonal_angles(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    // Tail norms ‖x_{i..}‖, accumulated from the end for accuracy.
    let mut tail = vec![0.0f64; n + 1];
    for i in (0..n).rev() {
        tail[i] = tail[i + 1].hypot(x[i]);
    }
    (0..n - 1)
        .map(|i| {
            if i == n - 2 {
                x[n - 1].atan2(x[n - 2])
            } else {
                tail[i + 1].atan2(x[i])
            }
        })
        .collect()
}
