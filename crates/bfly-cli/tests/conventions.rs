//! One test per convention: gate matrices, qubit order, bit order.
#![allow(clippy::needless_range_loop)] // index loops mirror the matrix formulas

mod common;

use approx::assert_abs_diff_eq;
use butterfly_mps::circuit::gate::{gpi2_matrix, gpi_matrix, ms_matrix, rbs_matrix, zz_matrix};
use butterfly_mps::circuit::{Butterfly, Circuit, Gate, LayerOrdering, Mat4, Param, Parameters};
use butterfly_mps::sim::{simulate, Engine, Simulator, StateVector};
use butterfly_mps::BitString;
use num_complex::Complex64 as C64;
use std::f64::consts::PI;

fn mat4_mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut m = [[C64::new(0.0, 0.0); 4]; 4];
    for r in 0..4 {
        for c in 0..4 {
            m[r][c] = (0..4).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    m
}

fn assert_mat4_eq(a: &Mat4, b: &Mat4, tol: f64) {
    for r in 0..4 {
        for c in 0..4 {
            assert!(
                (a[r][c] - b[r][c]).norm() < tol,
                "entry ({r},{c}): {} vs {}",
                a[r][c],
                b[r][c]
            );
        }
    }
}

#[test]
fn rbs_matrix_is_pinned() {
    let t = 0.3f64;
    let m = rbs_matrix(t);
    let (c, s) = (t.cos(), t.sin());
    let expected = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, c, s, 0.0],
        [0.0, -s, c, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    for r in 0..4 {
        for col in 0..4 {
            assert_abs_diff_eq!(m[r][col].re, expected[r][col], epsilon = 1e-15);
            assert_abs_diff_eq!(m[r][col].im, 0.0, epsilon = 1e-15);
        }
    }
}

#[test]
fn rbs_on_unary_basis_rotates_a_towards_b() {
    // e_a → cos θ e_a + sin θ e_b (qubit a = first listed qubit).
    let theta = 0.7f64;
    let mut c = Circuit::new(3);
    c.push(Gate::X { qubit: 2 }).unwrap();
    c.push(Gate::Rbs {
        qubits: [2, 0],
        theta: theta.into(),
    })
    .unwrap();
    let s = simulate(&Engine::StateVector, &c, &Parameters::default()).unwrap();
    let amp = |q: usize| {
        s.amplitude(&BitString::from_ones(3, &[q]).unwrap())
            .unwrap()
    };
    assert_abs_diff_eq!(amp(2).re, theta.cos(), epsilon = 1e-15);
    assert_abs_diff_eq!(amp(0).re, theta.sin(), epsilon = 1e-15);
}

#[test]
fn qubit_zero_is_the_least_significant_bit_and_first_character() {
    let mut c = Circuit::new(3);
    c.push(Gate::X { qubit: 0 }).unwrap();
    let mut s = StateVector::new(3).unwrap();
    s.run(&c, &Parameters::default()).unwrap();
    // index 1 = qubit 0 set
    assert_abs_diff_eq!(s.amplitudes()[1].re, 1.0);
    let bits: BitString = "100".parse().unwrap();
    assert_eq!(bits.to_index(), Some(1));
    assert_eq!(BitString::from_index(3, 1).to_string(), "100");
    assert_abs_diff_eq!(s.probability(&bits).unwrap(), 1.0);
    assert_eq!(s.sample(3, 0)[0].to_string(), "100");
}

#[test]
fn two_qubit_matrices_index_the_first_listed_qubit_as_high_bit() {
    // CNOT [control, target]: control = first listed = high bit of the 4×4 index.
    for (control, target) in [(0, 2), (2, 0)] {
        let mut c = Circuit::new(3);
        c.push(Gate::X { qubit: control }).unwrap();
        c.push(Gate::Cnot {
            qubits: [control, target],
        })
        .unwrap();
        let s = simulate(&Engine::StateVector, &c, &Parameters::default()).unwrap();
        let expect = BitString::from_ones(3, &[control, target]).unwrap();
        assert_abs_diff_eq!(s.probability(&expect).unwrap(), 1.0, epsilon = 1e-15);
    }
}

#[test]
fn ionq_native_matrices_match_their_definitions() {
    let phi = 0.13;
    let a = 2.0 * PI * phi;
    let g = gpi_matrix(phi);
    assert!((g[0][1] - C64::from_polar(1.0, -a)).norm() < 1e-15);
    assert!((g[1][0] - C64::from_polar(1.0, a)).norm() < 1e-15);
    let g2 = gpi2_matrix(phi);
    let h = std::f64::consts::FRAC_1_SQRT_2;
    assert!((g2[0][0] - C64::new(h, 0.0)).norm() < 1e-15);
    assert!((g2[0][1] - C64::new(0.0, -h) * C64::from_polar(1.0, -a)).norm() < 1e-15);
    // GPi2(φ)† = GPi2(φ + ½)
    let g2d = gpi2_matrix(phi + 0.5);
    for r in 0..2 {
        for c in 0..2 {
            let prod: C64 = (0..2).map(|k| g2[r][k] * g2d[k][c]).sum();
            assert!((prod - if r == c { 1.0 } else { 0.0 }).norm() < 1e-14);
        }
    }
    // ZZ(t) = exp(-iπ t Z⊗Z)
    let zz = zz_matrix(0.1);
    assert!((zz[0][0] - C64::from_polar(1.0, -PI * 0.1)).norm() < 1e-15);
    assert!((zz[1][1] - C64::from_polar(1.0, PI * 0.1)).norm() < 1e-15);
    // MS(0,0,¼) = exp(-iπ/4 X⊗X): (1 - i X⊗X)/√2
    let ms = ms_matrix(0.0, 0.0, 0.25);
    assert!((ms[0][0] - C64::new(h, 0.0)).norm() < 1e-15);
    assert!((ms[0][3] - C64::new(0.0, -h)).norm() < 1e-15);
}

#[test]
fn rbs_equals_two_commuting_ms_gates() {
    // SCIENCE.md §6: RBS(θ) = MS(0, 0.25, a) · MS(0.75, 0, a), a = θ/2π, no global phase.
    for theta in [0.3, -1.1, 2.5] {
        let a = theta / (2.0 * PI);
        let m1 = ms_matrix(0.0, 0.25, a);
        let m2 = ms_matrix(0.75, 0.0, a);
        assert_mat4_eq(&mat4_mul(&m1, &m2), &rbs_matrix(theta), 1e-14);
        assert_mat4_eq(&mat4_mul(&m2, &m1), &rbs_matrix(theta), 1e-14);
    }
}

#[test]
fn butterfly_pairs_match_the_documented_n8_example() {
    let b = Butterfly::new(8, 3, LayerOrdering::CouplingFirst).unwrap();
    assert_eq!(b.layer_pairs(0), vec![(0, 4), (1, 5), (2, 6), (3, 7)]);
    assert_eq!(b.layer_pairs(1), vec![(0, 2), (1, 3), (4, 6), (5, 7)]);
    assert_eq!(b.layer_pairs(2), vec![(0, 1), (2, 3), (4, 5), (6, 7)]);
    let last = Butterfly::new(8, 3, LayerOrdering::CouplingLast).unwrap();
    assert_eq!(last.layer_pairs(0), b.layer_pairs(2));
    assert_eq!(last.layer_pairs(2), b.layer_pairs(0));
    for (n, layers, params) in [(16, 4, 32), (32, 5, 80), (128, 7, 448)] {
        let b = Butterfly::full(n, LayerOrdering::CouplingFirst).unwrap();
        assert_eq!((b.layers, b.n_params()), (layers, params));
        assert_eq!(b.circuit().n_trainable(), params);
    }
    // A partial Butterfly is a prefix of the full one (layer-wise growth).
    let two = Butterfly::new(16, 2, LayerOrdering::CouplingFirst)
        .unwrap()
        .circuit();
    let full = Butterfly::full(16, LayerOrdering::CouplingFirst)
        .unwrap()
        .circuit();
    assert_eq!(two.ops[..], full.ops[..16]);
    assert!(matches!(
        full.ops[16],
        Gate::Rbs {
            theta: Param::Trainable { trainable: 16 },
            ..
        }
    ));
}

#[test]
fn circuit_json_round_trips_every_gate_type() {
    let mut rng = rand::rng();
    let mut c = common::random_general_circuit(5, 60, &mut rng);
    c.push(Gate::Rbs {
        qubits: [0, 3],
        theta: Param::trainable(0),
    })
    .unwrap();
    c.push(Gate::Ry {
        qubit: 1,
        theta: Param::input(0),
    })
    .unwrap();
    c.parameters = Parameters::new(vec![0.5], vec![0.25]);
    let back = Circuit::from_json(&c.to_json()).unwrap();
    assert_eq!(back, c);
    let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
    let last = &json["ops"][c.ops.len() - 1];
    assert_eq!(last["gate"], "ry");
    assert_eq!(last["theta"]["input"], 0);
}
