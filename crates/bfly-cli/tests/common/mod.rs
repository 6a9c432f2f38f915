//! Helpers shared by integration tests: an independent dense-matrix reference and random
#![allow(clippy::needless_range_loop)] // index loops mirror the matrix formulas
//! circuits.
#![allow(dead_code)]

use butterfly_mps::circuit::{BoundGate, Circuit, Gate, Mat2, Mat4, Param};
use num_complex::Complex64 as C64;
use rand::Rng;

/// Kronecker-product reference: the full 2^n × 2^n matrix of a bound gate, built entry by
/// entry from the convention "qubit q is bit q of the index; a two-qubit matrix is indexed
/// 2*q_a + q_b". Independent of the simulators' kernels.
pub fn full_matrix(n: usize, gate: &BoundGate) -> Vec<Vec<C64>> {
    let dim = 1usize << n;
    let mut m = vec![vec![C64::new(0.0, 0.0); dim]; dim];
    for col in 0..dim {
        for (row, entry) in m.iter_mut().enumerate() {
            entry[col] = match gate {
                BoundGate::One { qubit, matrix } => {
                    let rest_equal = (row & !(1 << qubit)) == (col & !(1 << qubit));
                    if rest_equal {
                        matrix[(row >> qubit) & 1][(col >> qubit) & 1]
                    } else {
                        C64::new(0.0, 0.0)
                    }
                }
                BoundGate::Two {
                    qubits: [a, b],
                    matrix,
                } => {
                    let mask = (1 << a) | (1 << b);
                    if (row & !mask) == (col & !mask) {
                        let r = 2 * ((row >> a) & 1) + ((row >> b) & 1);
                        let c = 2 * ((col >> a) & 1) + ((col >> b) & 1);
                        matrix[r][c]
                    } else {
                        C64::new(0.0, 0.0)
                    }
                }
            };
        }
    }
    m
}

/// Reference state after `circuit` from |0…0>, by dense matrix-vector products.
pub fn reference_state(circuit: &Circuit) -> Vec<C64> {
    let n = circuit.qubits;
    let mut psi = vec![C64::new(0.0, 0.0); 1 << n];
    psi[0] = C64::new(1.0, 0.0);
    for g in circuit.bind_defaults().unwrap() {
        let m = full_matrix(n, &g);
        psi = m
            .iter()
            .map(|row| row.iter().zip(&psi).map(|(a, b)| a * b).sum())
            .collect();
    }
    psi
}

pub fn random_unitary2(rng: &mut impl Rng) -> Mat2 {
    // exp(iα) · RZ(β) RY(γ) RZ(δ)
    let (a, b, c, d): (f64, f64, f64, f64) =
        (rng.random(), rng.random(), rng.random(), rng.random());
    let rz = |t: f64| -> Mat2 {
        [
            [C64::from_polar(1.0, -t), C64::new(0.0, 0.0)],
            [C64::new(0.0, 0.0), C64::from_polar(1.0, t)],
        ]
    };
    let ry = |t: f64| -> Mat2 {
        [
            [C64::new(t.cos(), 0.0), C64::new(-t.sin(), 0.0)],
            [C64::new(t.sin(), 0.0), C64::new(t.cos(), 0.0)],
        ]
    };
    let mul = |x: Mat2, y: Mat2| -> Mat2 {
        let mut z = [[C64::new(0.0, 0.0); 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                z[i][j] = x[i][0] * y[0][j] + x[i][1] * y[1][j];
            }
        }
        z
    };
    let u = mul(mul(rz(3.0 * b), ry(3.0 * c)), rz(3.0 * d));
    let ph = C64::from_polar(1.0, 6.0 * a);
    [[u[0][0] * ph, u[0][1] * ph], [u[1][0] * ph, u[1][1] * ph]]
}

/// A random 4×4 unitary that preserves Hamming weight: phases on |00>, |11> and a random
/// 2×2 unitary on {|01>, |10>}.
pub fn random_weight_preserving_unitary4(rng: &mut impl Rng) -> Mat4 {
    let u = random_unitary2(rng);
    let mut m = [[C64::new(0.0, 0.0); 4]; 4];
    m[0][0] = C64::from_polar(1.0, rng.random::<f64>() * 6.0);
    m[3][3] = C64::from_polar(1.0, rng.random::<f64>() * 6.0);
    m[1][1] = u[0][0];
    m[1][2] = u[0][1];
    m[2][1] = u[1][0];
    m[2][2] = u[1][1];
    m
}

/// A random general 4×4 unitary (product of local unitaries and an MS-like entangler).
pub fn random_unitary4(rng: &mut impl Rng) -> Mat4 {
    let a = random_unitary2(rng);
    let b = random_unitary2(rng);
    let e = random_weight_preserving_unitary4(rng);
    let mut local = [[C64::new(0.0, 0.0); 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            local[r][c] = a[r >> 1][c >> 1] * b[r & 1][c & 1];
        }
    }
    let mut m = [[C64::new(0.0, 0.0); 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            m[r][c] = (0..4).map(|k| e[r][k] * local[k][c]).sum();
        }
    }
    m
}

fn two_distinct(n: usize, rng: &mut impl Rng) -> [usize; 2] {
    let a = rng.random_range(0..n);
    let mut b = rng.random_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    [a, b]
}

/// A random Hamming-weight-preserving circuit: X on `k` distinct qubits, then `depth`
/// random RBS, SWAP, CZ, RZ, Z, ZZ and weight-preserving `unitary2` gates (any distance).
pub fn random_weight_preserving_circuit(
    n: usize,
    k: usize,
    depth: usize,
    rng: &mut impl Rng,
) -> Circuit {
    let mut c = Circuit::new(n);
    let mut qubits: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = rng.random_range(i..n);
        qubits.swap(i, j);
        c.push(Gate::X { qubit: qubits[i] }).unwrap();
    }
    for _ in 0..depth {
        let pair = two_distinct(n, rng);
        let angle: f64 = rng.random::<f64>() * 6.0 - 3.0;
        let gate = match rng.random_range(0..7) {
            0 | 1 => Gate::Rbs {
                qubits: pair,
                theta: Param::Fixed(angle),
            },
            2 => Gate::Swap { qubits: pair },
            3 => Gate::Cz { qubits: pair },
            4 => Gate::Rz {
                qubit: pair[0],
                theta: Param::Fixed(angle),
            },
            5 => Gate::Zz {
                qubits: pair,
                angle: Param::Fixed(angle),
            },
            _ => Gate::Unitary2 {
                qubits: pair,
                matrix: random_weight_preserving_unitary4(rng),
            },
        };
        c.push(gate).unwrap();
    }
    c
}

/// A random circuit using every gate type, including long-range two-qubit gates.
pub fn random_general_circuit(n: usize, depth: usize, rng: &mut impl Rng) -> Circuit {
    let mut c = Circuit::new(n);
    for _ in 0..depth {
        let q = rng.random_range(0..n);
        let pair = two_distinct(n, rng);
        let a: f64 = rng.random::<f64>() * 6.0 - 3.0;
        let b: f64 = rng.random::<f64>() - 0.5;
        let t: f64 = rng.random::<f64>() * 0.5;
        let gate = match rng.random_range(0..16) {
            0 => Gate::Rbs {
                qubits: pair,
                theta: a.into(),
            },
            1 => Gate::Rx {
                qubit: q,
                theta: a.into(),
            },
            2 => Gate::Ry {
                qubit: q,
                theta: a.into(),
            },
            3 => Gate::Rz {
                qubit: q,
                theta: a.into(),
            },
            4 => Gate::X { qubit: q },
            5 => Gate::Z { qubit: q },
            6 => Gate::H { qubit: q },
            7 => Gate::Cz { qubits: pair },
            8 => Gate::Cnot { qubits: pair },
            9 => Gate::Swap { qubits: pair },
            10 => Gate::Gpi {
                qubit: q,
                phase: b.into(),
            },
            11 => Gate::Gpi2 {
                qubit: q,
                phase: b.into(),
            },
            12 => Gate::Ms {
                qubits: pair,
                phases: [b.into(), (b * 0.7).into()],
                angle: t.into(),
            },
            13 => Gate::Zz {
                qubits: pair,
                angle: t.into(),
            },
            14 => Gate::Unitary1 {
                qubit: q,
                matrix: random_unitary2(rng),
            },
            _ => Gate::Unitary2 {
                qubits: pair,
                matrix: random_unitary4(rng),
            },
        };
        c.push(gate).unwrap();
    }
    c
}
