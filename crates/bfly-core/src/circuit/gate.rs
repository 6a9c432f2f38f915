//! Gates of the circuit IR and their matrices.
//!
//! Conventions (pinned by tests in `tests/conventions.rs`):
//! - A two-qubit gate on `qubits: [a, b]` acts on the basis `|q_a q_b>` ordered
//!   `|00>, |01>, |10>, |11>`: matrix index `2*q_a + q_b` (first listed qubit is the high bit).
//! - `RBS(θ) = [[1,0,0,0],[0,cos θ, sin θ,0],[0,-sin θ, cos θ,0],[0,0,0,1]]`.
//! - Rotations: `RY(θ) = exp(-iθY/2)`, etc. (radians).
//! - IonQ natives take phases and angles in **turns** (1 turn = 2π), as IonQ's API does.

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_1_SQRT_2, PI};

use super::param::{Param, Parameters};
use crate::error::Result;

/// A 2×2 complex matrix, row-major.
pub type Mat2 = [[C64; 2]; 2];
/// A 4×4 complex matrix, row-major, basis `|q_a q_b>` = `|00>,|01>,|10>,|11>`.
pub type Mat4 = [[C64; 4]; 4];

const ZERO: C64 = C64::new(0.0, 0.0);
const ONE: C64 = C64::new(1.0, 0.0);
const I: C64 = C64::new(0.0, 1.0);

/// One operation of a circuit. Serialised with a `"gate"` tag, e.g.
/// `{"gate":"rbs","qubits":[0,4],"theta":0.3}` or `{"gate":"ry","qubit":2,"theta":{"input":2}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the variant docs name each field
pub enum Gate {
    /// Reconfigurable beam splitter, a Hamming-weight-preserving Givens rotation.
    Rbs { qubits: [usize; 2], theta: Param },
    /// `exp(-iθX/2)`.
    Rx { qubit: usize, theta: Param },
    /// `exp(-iθY/2)`.
    Ry { qubit: usize, theta: Param },
    /// `exp(-iθZ/2)`.
    Rz { qubit: usize, theta: Param },
    /// Pauli X.
    X { qubit: usize },
    /// Pauli Z.
    Z { qubit: usize },
    /// Hadamard.
    H { qubit: usize },
    /// Controlled Z.
    Cz { qubits: [usize; 2] },
    /// Controlled NOT, `qubits = [control, target]`.
    Cnot { qubits: [usize; 2] },
    /// Swap.
    Swap { qubits: [usize; 2] },
    /// IonQ GPi(φ) = `[[0, e^{-2πiφ}], [e^{2πiφ}, 0]]`, φ in turns.
    Gpi { qubit: usize, phase: Param },
    /// IonQ GPi2(φ) = `exp(-iπ/4 σ_φ)`, φ in turns.
    Gpi2 { qubit: usize, phase: Param },
    /// IonQ Mølmer–Sørensen `exp(-iπ t σ_φ0 ⊗ σ_φ1)`, phases and angle in turns.
    Ms {
        qubits: [usize; 2],
        phases: [Param; 2],
        angle: Param,
    },
    /// IonQ Forte `ZZ(t) = exp(-iπ t Z⊗Z)`, t in turns.
    Zz { qubits: [usize; 2], angle: Param },
    /// Arbitrary single-qubit unitary; entries are `[re, im]` pairs.
    Unitary1 { qubit: usize, matrix: Mat2 },
    /// Arbitrary two-qubit unitary on `|q_a q_b>`; entries are `[re, im]` pairs.
    Unitary2 { qubits: [usize; 2], matrix: Mat4 },
}

/// Every gate name accepted in circuit JSON.
pub const GATE_NAMES: &[&str] = &[
    "rbs", "rx", "ry", "rz", "x", "z", "h", "cz", "cnot", "swap", "gpi", "gpi2", "ms", "zz",
    "unitary1", "unitary2",
];

/// A gate with every parameter resolved to a number: what simulators consume.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(missing_docs)] // the variant docs name each field
pub enum BoundGate {
    /// Single-qubit unitary on `qubit`.
    One { qubit: usize, matrix: Mat2 },
    /// Two-qubit unitary on `|q_a q_b>`.
    Two { qubits: [usize; 2], matrix: Mat4 },
}

impl BoundGate {
    /// Qubits the gate acts on.
    pub fn qubits(&self) -> Vec<usize> {
        match self {
            BoundGate::One { qubit, .. } => vec![*qubit],
            BoundGate::Two { qubits, .. } => qubits.to_vec(),
        }
    }

    /// True if the gate maps every computational basis state of Hamming weight w into the
    /// span of weight-w basis states (tolerance 1e-12).
    pub fn preserves_hamming_weight(&self) -> bool {
        const TOL: f64 = 1e-12;
        match self {
            BoundGate::One { matrix, .. } => matrix[0][1].norm() < TOL && matrix[1][0].norm() < TOL,
            BoundGate::Two { matrix, .. } => {
                let weight = |i: usize| (i & 1) + (i >> 1);
                (0..4).all(|r| (0..4).all(|c| weight(r) == weight(c) || matrix[r][c].norm() < TOL))
            }
        }
    }
}

impl Gate {
    /// The JSON name of the gate.
    pub fn name(&self) -> &'static str {
        match self {
            Gate::Rbs { .. } => "rbs",
            Gate::Rx { .. } => "rx",
            Gate::Ry { .. } => "ry",
            Gate::Rz { .. } => "rz",
            Gate::X { .. } => "x",
            Gate::Z { .. } => "z",
            Gate::H { .. } => "h",
            Gate::Cz { .. } => "cz",
            Gate::Cnot { .. } => "cnot",
            Gate::Swap { .. } => "swap",
            Gate::Gpi { .. } => "gpi",
            Gate::Gpi2 { .. } => "gpi2",
            Gate::Ms { .. } => "ms",
            Gate::Zz { .. } => "zz",
            Gate::Unitary1 { .. } => "unitary1",
            Gate::Unitary2 { .. } => "unitary2",
        }
    }

    /// Qubits the gate acts on, in matrix order.
    pub fn qubits(&self) -> Vec<usize> {
        match self {
            Gate::Rx { qubit, .. }
            | Gate::Ry { qubit, .. }
            | Gate::Rz { qubit, .. }
            | Gate::X { qubit }
            | Gate::Z { qubit }
            | Gate::H { qubit }
            | Gate::Gpi { qubit, .. }
            | Gate::Gpi2 { qubit, .. }
            | Gate::Unitary1 { qubit, .. } => vec![*qubit],
            Gate::Rbs { qubits, .. }
            | Gate::Cz { qubits }
            | Gate::Cnot { qubits }
            | Gate::Swap { qubits }
            | Gate::Ms { qubits, .. }
            | Gate::Zz { qubits, .. }
            | Gate::Unitary2 { qubits, .. } => qubits.to_vec(),
        }
    }

    /// Named parameters of the gate, in a fixed order.
    pub fn params(&self) -> Vec<(&'static str, &Param)> {
        match self {
            Gate::Rbs { theta, .. }
            | Gate::Rx { theta, .. }
            | Gate::Ry { theta, .. }
            | Gate::Rz { theta, .. } => vec![("theta", theta)],
            Gate::Gpi { phase, .. } | Gate::Gpi2 { phase, .. } => vec![("phase", phase)],
            Gate::Ms { phases, angle, .. } => {
                vec![
                    ("phases[0]", &phases[0]),
                    ("phases[1]", &phases[1]),
                    ("angle", angle),
                ]
            }
            Gate::Zz { angle, .. } => vec![("angle", angle)],
            _ => vec![],
        }
    }

    /// Mutable access to the parameters, same order as [`Gate::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match self {
            Gate::Rbs { theta, .. }
            | Gate::Rx { theta, .. }
            | Gate::Ry { theta, .. }
            | Gate::Rz { theta, .. } => vec![theta],
            Gate::Gpi { phase, .. } | Gate::Gpi2 { phase, .. } => vec![phase],
            Gate::Ms { phases, angle, .. } => {
                let [p0, p1] = phases;
                vec![p0, p1, angle]
            }
            Gate::Zz { angle, .. } => vec![angle],
            _ => vec![],
        }
    }

    /// Resolve the parameters against `values` and return the gate's matrix.
    /// `op` is the op index, used in error messages.
    pub fn bind(&self, op: usize, values: &Parameters) -> Result<BoundGate> {
        let p = |param: &Param| values.resolve(param, op, self.name());
        let one = |qubit: usize, matrix: Mat2| BoundGate::One { qubit, matrix };
        let two = |qubits: [usize; 2], matrix: Mat4| BoundGate::Two { qubits, matrix };
        Ok(match self {
            Gate::Rbs { qubits, theta } => two(*qubits, rbs_matrix(p(theta)?)),
            Gate::Rx { qubit, theta } => one(*qubit, rx_matrix(p(theta)?)),
            Gate::Ry { qubit, theta } => one(*qubit, ry_matrix(p(theta)?)),
            Gate::Rz { qubit, theta } => one(*qubit, rz_matrix(p(theta)?)),
            Gate::X { qubit } => one(*qubit, [[ZERO, ONE], [ONE, ZERO]]),
            Gate::Z { qubit } => one(*qubit, [[ONE, ZERO], [ZERO, -ONE]]),
            Gate::H { qubit } => {
                let h = C64::new(FRAC_1_SQRT_2, 0.0);
                one(*qubit, [[h, h], [h, -h]])
            }
            Gate::Cz { qubits } => two(*qubits, diag4([ONE, ONE, ONE, -ONE])),
            Gate::Cnot { qubits } => {
                let mut m = diag4([ONE, ONE, ZERO, ZERO]);
                m[2][3] = ONE;
                m[3][2] = ONE;
                two(*qubits, m)
            }
            Gate::Swap { qubits } => {
                let mut m = diag4([ONE, ZERO, ZERO, ONE]);
                m[1][2] = ONE;
                m[2][1] = ONE;
                two(*qubits, m)
            }
            Gate::Gpi { qubit, phase } => one(*qubit, gpi_matrix(p(phase)?)),
            Gate::Gpi2 { qubit, phase } => one(*qubit, gpi2_matrix(p(phase)?)),
            Gate::Ms {
                qubits,
                phases,
                angle,
            } => two(
                *qubits,
                ms_matrix(p(&phases[0])?, p(&phases[1])?, p(angle)?),
            ),
            Gate::Zz { qubits, angle } => two(*qubits, zz_matrix(p(angle)?)),
            Gate::Unitary1 { qubit, matrix } => one(*qubit, *matrix),
            Gate::Unitary2 { qubits, matrix } => two(*qubits, *matrix),
        })
    }
}

fn diag4(d: [C64; 4]) -> Mat4 {
    let mut m = [[ZERO; 4]; 4];
    for (i, v) in d.into_iter().enumerate() {
        m[i][i] = v;
    }
    m
}

/// `RBS(θ)`, see the module docs for the convention.
pub fn rbs_matrix(theta: f64) -> Mat4 {
    let (s, c) = theta.sin_cos();
    let mut m = diag4([ONE, C64::new(c, 0.0), C64::new(c, 0.0), ONE]);
    m[1][2] = C64::new(s, 0.0);
    m[2][1] = C64::new(-s, 0.0);
    m
}

/// `RX(θ) = exp(-iθX/2)`.
pub fn rx_matrix(theta: f64) -> Mat2 {
    let (s, c) = (theta / 2.0).sin_cos();
    [
        [C64::new(c, 0.0), C64::new(0.0, -s)],
        [C64::new(0.0, -s), C64::new(c, 0.0)],
    ]
}

/// `RY(θ) = exp(-iθY/2)`.
pub fn ry_matrix(theta: f64) -> Mat2 {
    let (s, c) = (theta / 2.0).sin_cos();
    [
        [C64::new(c, 0.0), C64::new(-s, 0.0)],
        [C64::new(s, 0.0), C64::new(c, 0.0)],
    ]
}

/// `RZ(θ) = exp(-iθZ/2)`.
pub fn rz_matrix(theta: f64) -> Mat2 {
    [
        [C64::from_polar(1.0, -theta / 2.0), ZERO],
        [ZERO, C64::from_polar(1.0, theta / 2.0)],
    ]
}

/// IonQ `GPi(φ)`, φ in turns.
pub fn gpi_matrix(phi: f64) -> Mat2 {
    let a = 2.0 * PI * phi;
    [
        [ZERO, C64::from_polar(1.0, -a)],
        [C64::from_polar(1.0, a), ZERO],
    ]
}

/// IonQ `GPi2(φ)`, φ in turns.
pub fn gpi2_matrix(phi: f64) -> Mat2 {
    let a = 2.0 * PI * phi;
    let h = C64::new(FRAC_1_SQRT_2, 0.0);
    [
        [h, -I * C64::from_polar(1.0, -a) * h],
        [-I * C64::from_polar(1.0, a) * h, h],
    ]
}

/// IonQ `MS(φ0, φ1, t) = exp(-iπ t σ_φ0 ⊗ σ_φ1)`, all in turns.
pub fn ms_matrix(phi0: f64, phi1: f64, t: f64) -> Mat4 {
    // σ_φa ⊗ σ_φb is an involution, so exp(-iπtP) = cos(πt)·1 - i sin(πt)·P.
    let sa = gpi_matrix(phi0);
    let sb = gpi_matrix(phi1);
    let (s, c) = (PI * t).sin_cos();
    let mut m = [[ZERO; 4]; 4];
    for r in 0..4 {
        for col in 0..4 {
            let p = sa[r >> 1][col >> 1] * sb[r & 1][col & 1];
            m[r][col] = -I * s * p + if r == col { C64::new(c, 0.0) } else { ZERO };
        }
    }
    m
}

/// IonQ `ZZ(t) = exp(-iπ t Z⊗Z)`, t in turns.
pub fn zz_matrix(t: f64) -> Mat4 {
    let a = PI * t;
    let (minus, plus) = (C64::from_polar(1.0, -a), C64::from_polar(1.0, a));
    diag4([minus, plus, plus, minus])
}

/// Largest entry of `|M Mᴴ - 1|` for a square matrix given as rows; infinite if any entry
/// is NaN or infinite (so a non-finite matrix never passes a tolerance check).
pub fn unitarity_defect<const N: usize>(m: &[[C64; N]; N]) -> f64 {
    if m.iter()
        .flatten()
        .any(|z| !z.re.is_finite() || !z.im.is_finite())
    {
        return f64::INFINITY;
    }
    let mut worst: f64 = 0.0;
    for r in 0..N {
        for c in 0..N {
            let dot: C64 = (0..N).map(|k| m[r][k] * m[c][k].conj()).sum();
            let target = if r == c { 1.0 } else { 0.0 };
            worst = worst.max((dot - target).norm());
        }
    }
    worst
}
