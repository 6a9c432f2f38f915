//! The compiler: every IR gate on every target equals its matrix up to global phase, RBS
//! across all angle-folding branches, API ranges, merging and identity removal, the
//! count/depth report, and the OpenQASM exporter.

mod common;

use butterfly_mps::circuit::gate::rbs_matrix;
use butterfly_mps::circuit::{Circuit, Gate, Mat2, Mat4, Param};
use butterfly_mps::compile::qasm::to_qasm;
use butterfly_mps::compile::{
    check_target, circuit_stats, compile, CompileOptions, Target, TrailingZ,
};
use butterfly_mps::Error;
use num_complex::Complex64 as C64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TARGETS: [Target; 3] = [Target::Aria, Target::Forte, Target::Qis];

/// Full 2^n unitary of a circuit (its default parameters), by the dense reference.
fn unitary(c: &Circuit) -> Vec<Vec<C64>> {
    let dim = 1usize << c.qubits;
    let mut u: Vec<Vec<C64>> = (0..dim)
        .map(|r| {
            (0..dim)
                .map(|k| C64::new((r == k) as u8 as f64, 0.0))
                .collect()
        })
        .collect();
    for g in c.bind_defaults().unwrap() {
        let m = common::full_matrix(c.qubits, &g);
        u = (0..dim)
            .map(|r| {
                (0..dim)
                    .map(|k| (0..dim).map(|j| m[r][j] * u[j][k]).sum())
                    .collect()
            })
            .collect();
    }
    u
}

/// `min_γ max |a − e^{iγ} b|`, γ aligned by the Frobenius overlap.
fn distance_up_to_phase(a: &[Vec<C64>], b: &[Vec<C64>]) -> f64 {
    let overlap: C64 = a
        .iter()
        .zip(b)
        .flat_map(|(ra, rb)| ra.iter().zip(rb).map(|(x, y)| y.conj() * x))
        .sum();
    let phase = overlap / overlap.norm();
    a.iter()
        .zip(b)
        .flat_map(|(ra, rb)| ra.iter().zip(rb).map(move |(x, y)| (x - phase * y).norm()))
        .fold(0.0, f64::max)
}

fn compiled(c: &Circuit, target: Target) -> Circuit {
    let out = compile(c, &c.parameters, target, &CompileOptions::default()).unwrap();
    check_target(&out.circuit, target).unwrap();
    out.circuit
}

fn one_gate(n: usize, g: Gate) -> Circuit {
    let mut c = Circuit::new(n);
    c.push(g).unwrap();
    c
}

/// RBS(θ) through every folding branch of a = θ/2π: negative, (0, ¼], (¼, ½), ½, > ½,
/// and multiples of π (no two-qubit gate at all).
#[test]
fn rbs_compiles_to_the_rbs_matrix_in_every_folding_branch() {
    use std::f64::consts::PI;
    let angles = [
        -7.0,
        -3.0 * PI,
        -2.0,
        -PI / 2.0,
        -0.3,
        -1e-13,
        0.0,
        1e-3,
        0.3,
        PI / 2.0,
        1.9,
        3.0,
        PI,
        2.0 * PI,
        3.0 * PI,
        4.0,
        5.5,
        7.0 * PI / 4.0,
        100.0,
    ];
    for theta in angles {
        let c = one_gate(
            2,
            Gate::Rbs {
                qubits: [0, 1],
                theta: Param::Fixed(theta),
            },
        );
        let reference = unitary(&c);
        // The dense reference itself is the RBS matrix (qubit 0 = low bit of the index).
        let r = rbs_matrix(theta);
        let swapped = |i: usize| ((i & 1) << 1) | (i >> 1);
        for (row, entries) in reference.iter().enumerate() {
            for (col, z) in entries.iter().enumerate() {
                assert!((z - r[swapped(row)][swapped(col)]).norm() < 1e-15);
            }
        }
        for target in TARGETS {
            let out = compiled(&c, target);
            let d = distance_up_to_phase(&unitary(&out), &reference);
            assert!(d < 1e-12, "θ = {theta}, {target}: distance {d:e}");
            let two = circuit_stats(&out).two_qubit;
            let multiple_of_pi = ((theta / PI).round() * PI - theta).abs() < 1e-12;
            let expected = match target {
                _ if multiple_of_pi => 0,
                _ => 2,
            };
            assert_eq!(two, expected, "θ = {theta} on {target}: {out:?}");
        }
    }
}

fn random_unitary1(rng: &mut impl Rng) -> Mat2 {
    let (a, b, c, d): (f64, f64, f64, f64) =
        (rng.random(), rng.random(), rng.random(), rng.random());
    let (s, co) = (std::f64::consts::PI * a).sin_cos();
    let e = |x: f64| C64::from_polar(1.0, std::f64::consts::TAU * x);
    [
        [e(b) * co, -e(c) * s],
        [e(d) * s, e(b).conj() * e(c) * e(d) * co],
    ]
}

#[test]
fn every_ir_gate_compiles_and_matches_its_matrix() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for round in 0..8 {
        let mut r = || Param::Fixed(rng.random_range(-10.0..10.0));
        let gates = vec![
            Gate::Rbs {
                qubits: [2, 0],
                theta: r(),
            },
            Gate::Rx {
                qubit: 1,
                theta: r(),
            },
            Gate::Ry {
                qubit: 0,
                theta: r(),
            },
            Gate::Rz {
                qubit: 2,
                theta: r(),
            },
            Gate::X { qubit: 1 },
            Gate::Z { qubit: 0 },
            Gate::H { qubit: 2 },
            Gate::Cz { qubits: [1, 2] },
            Gate::Cnot { qubits: [0, 1] },
            Gate::Cnot { qubits: [2, 0] },
            Gate::Swap { qubits: [1, 0] },
            Gate::Gpi {
                qubit: 0,
                phase: r(),
            },
            Gate::Gpi2 {
                qubit: 1,
                phase: r(),
            },
            Gate::Ms {
                qubits: [0, 2],
                phases: [r(), r()],
                angle: r(),
            },
            Gate::Zz {
                qubits: [2, 1],
                angle: r(),
            },
        ];
        let mut all = Circuit::new(3);
        for g in gates {
            let c = one_gate(3, g.clone());
            let reference = unitary(&c);
            for target in TARGETS {
                let out = compiled(&c, target);
                let d = distance_up_to_phase(&unitary(&out), &reference);
                assert!(d < 1e-12, "round {round}: {} on {target}: {d:e}", g.name());
            }
            all.push(g).unwrap();
        }
        let m = random_unitary1(&mut rng);
        let c = one_gate(
            3,
            Gate::Unitary1 {
                qubit: 1,
                matrix: m,
            },
        );
        for target in TARGETS {
            let d = distance_up_to_phase(&unitary(&compiled(&c, target)), &unitary(&c));
            assert!(d < 1e-12, "unitary1 on {target}: {d:e}");
        }
        // The whole sequence at once (merging across gate kinds).
        for target in TARGETS {
            let d = distance_up_to_phase(&unitary(&compiled(&all, target)), &unitary(&all));
            assert!(d < 1e-11, "round {round}, whole circuit on {target}: {d:e}");
        }
    }
}

#[test]
fn a_generic_unitary2_is_a_typed_error_naming_the_op() {
    let mut m: Mat4 = [[C64::new(0.0, 0.0); 4]; 4];
    for (i, row) in m.iter_mut().enumerate() {
        row[3 - i] = C64::new(1.0, 0.0);
    }
    let mut c = Circuit::new(2);
    c.push(Gate::H { qubit: 0 }).unwrap();
    c.push(Gate::Unitary2 {
        qubits: [0, 1],
        matrix: m,
    })
    .unwrap();
    for target in TARGETS {
        match compile(&c, &c.parameters, target, &CompileOptions::default()) {
            Err(Error::CannotCompile { op: 1, gate, .. }) => assert_eq!(gate, "unitary2"),
            other => panic!("expected CannotCompile, got {other:?}"),
        }
    }
    let e = to_qasm(&c, &c.parameters).unwrap_err().to_string();
    assert!(e.contains("op #1 (unitary2)"), "{e}");
}

#[test]
fn natives_only_and_every_parameter_in_the_api_range() {
    use butterfly_mps::circuit::loaders::Loader;
    use butterfly_mps::circuit::ButterflyWorkload;
    let c = ButterflyWorkload::full(16, Loader::UnaryTree, 3)
        .build()
        .unwrap();
    for target in [Target::Aria, Target::Forte] {
        let out = compile(&c, &c.parameters, target, &CompileOptions::default()).unwrap();
        check_target(&out.circuit, target).unwrap();
        let names = &out.report.compiled.by_gate;
        assert_eq!(target == Target::Forte, names.contains_key("zz"));
        assert_eq!(target == Target::Aria, names.contains_key("ms"));
        assert!(!names.contains_key(if target == Target::Aria { "zz" } else { "ms" }));
        for g in &out.circuit.ops {
            for (name, p) in g.params() {
                let Param::Fixed(v) = *p else {
                    panic!("unbound {name}")
                };
                if name == "angle" {
                    assert!(v > 0.0 && v <= 0.25, "{g:?}");
                } else {
                    assert!((0.0..1.0).contains(&v), "{g:?}");
                }
            }
        }
    }
    // check_target rejects what does not belong.
    let mut bad = Circuit::new(2);
    bad.push(Gate::Ms {
        qubits: [0, 1],
        phases: [Param::Fixed(0.0), Param::Fixed(0.0)],
        angle: Param::Fixed(0.3),
    })
    .unwrap();
    assert!(matches!(
        check_target(&bad, Target::Forte),
        Err(Error::CannotCompile { op: 0, .. })
    ));
    let e = check_target(&bad, Target::Aria).unwrap_err().to_string();
    assert!(e.contains("outside the API range"), "{e}");
}

#[test]
fn merging_and_identity_removal_reduce_counts_and_keep_the_state() {
    let mut c = Circuit::new(2);
    for g in [
        Gate::X { qubit: 0 },
        Gate::H { qubit: 1 },
        Gate::H { qubit: 1 }, // H·H = 1
        Gate::Rz {
            qubit: 0,
            theta: Param::Fixed(0.7),
        },
        Gate::Rz {
            qubit: 0,
            theta: Param::Fixed(-0.7),
        },
        Gate::Ry {
            qubit: 0,
            theta: Param::Fixed(0.4),
        },
        Gate::Rx {
            qubit: 0,
            theta: Param::Fixed(0.3),
        },
        Gate::Rz {
            qubit: 0,
            theta: Param::Fixed(1.1),
        },
        Gate::Rbs {
            qubits: [0, 1],
            theta: Param::Fixed(0.0),
        },
        Gate::Rbs {
            qubits: [0, 1],
            theta: Param::Fixed(2.0 * std::f64::consts::PI),
        },
        Gate::Rbs {
            qubits: [0, 1],
            theta: Param::Fixed(0.5),
        },
        Gate::Z { qubit: 1 },
        Gate::Rz {
            qubit: 1,
            theta: Param::Fixed(0.2),
        },
    ] {
        c.push(g).unwrap();
    }
    let source = circuit_stats(&c);
    assert_eq!((source.one_qubit, source.two_qubit), (10, 3));
    let reference = common::reference_state(&c);
    for target in TARGETS {
        let out = compile(&c, &c.parameters, target, &CompileOptions::default()).unwrap();
        let s = &out.report.compiled;
        // Without merging: each source gate compiled on its own.
        let separate: usize = c
            .ops
            .iter()
            .map(|g| {
                let single = one_gate(2, g.clone());
                let o = compile(
                    &single,
                    &single.parameters,
                    target,
                    &CompileOptions::default(),
                );
                o.unwrap().report.compiled.one_qubit
            })
            .sum();
        assert!(
            s.one_qubit < separate / 2,
            "{target}: {} merged vs {separate}",
            s.one_qubit
        );
        if target == Target::Aria {
            assert!(s.one_qubit < source.one_qubit, "{target}: {s:?}");
        }
        // RBS(0) and RBS(2π) vanish; RBS(0.5) stays.
        assert_eq!(s.two_qubit, 2, "{target}: {s:?}");
        let psi = common::reference_state(&out.circuit);
        let f = fidelity(&reference, &psi);
        assert!(f > 1.0 - 1e-12, "{target}: fidelity {f}");
    }
    // An identity circuit compiles to nothing.
    let mut id = Circuit::new(1);
    for g in [
        Gate::H { qubit: 0 },
        Gate::Z { qubit: 0 },
        Gate::H { qubit: 0 },
        Gate::X { qubit: 0 },
    ] {
        id.push(g).unwrap();
    }
    for target in TARGETS {
        let out = compile(&id, &id.parameters, target, &CompileOptions::default()).unwrap();
        assert!(
            out.circuit.ops.is_empty(),
            "{target}: {:?}",
            out.circuit.ops
        );
    }
}

fn fidelity(a: &[C64], b: &[C64]) -> f64 {
    let dot: C64 = a.iter().zip(b).map(|(x, y)| x.conj() * y).sum();
    dot.norm_sqr()
}

#[test]
fn dropping_the_trailing_frames_keeps_probabilities_not_the_state() {
    let mut c = Circuit::new(2);
    c.push(Gate::H { qubit: 0 }).unwrap();
    c.push(Gate::Rz {
        qubit: 0,
        theta: Param::Fixed(0.9),
    })
    .unwrap();
    c.push(Gate::Rbs {
        qubits: [0, 1],
        theta: Param::Fixed(0.3),
    })
    .unwrap();
    c.push(Gate::Rz {
        qubit: 1,
        theta: Param::Fixed(-1.3),
    })
    .unwrap();
    let reference = common::reference_state(&c);
    let opts = CompileOptions {
        trailing_z: TrailingZ::Drop,
    };
    for target in [Target::Aria, Target::Forte] {
        let out = compile(&c, &c.parameters, target, &opts).unwrap();
        assert!(!out.dropped_frames.is_empty());
        let psi = common::reference_state(&out.circuit);
        for (x, y) in reference.iter().zip(&psi) {
            assert!((x.norm_sqr() - y.norm_sqr()).abs() < 1e-12);
        }
        assert!(fidelity(&reference, &psi) < 0.999, "{target}");
        let kept = compile(&c, &c.parameters, target, &CompileOptions::default()).unwrap();
        assert!(kept.report.compiled.one_qubit > out.report.compiled.one_qubit);
    }
}

/// X on qubit 0, then RBS(0.4) on (0, 1). Aria, by hand: the X is anti-diagonal, so it
/// becomes qubit 0's virtual frame F = X; MS(0, 0.25, a) and MS(0.75, 0, a), a = 0.4/2π,
/// are emitted conjugated by it (X σ_φ X = σ_{-φ}: phases 0 → 0 and 0.75 → 0.25); at the
/// end F = X is emitted exactly as one GPi(0).
/// Forte, per qubit: one GPi2 before the first ZZ (basis change, on qubit 0 merged with
/// the X), one between the ZZs (a π/2 turn from one MS factor's axis to the other's), one
/// after, and up to two GPi for the trailing frame.
#[test]
fn report_on_a_known_small_circuit() {
    let mut c = Circuit::new(2);
    c.push(Gate::X { qubit: 0 }).unwrap();
    c.push(Gate::Rbs {
        qubits: [0, 1],
        theta: Param::Fixed(0.4),
    })
    .unwrap();
    let aria = compile(&c, &c.parameters, Target::Aria, &CompileOptions::default()).unwrap();
    let r = &aria.report;
    assert_eq!(
        (r.source.one_qubit, r.source.two_qubit, r.source.depth),
        (1, 1, 2)
    );
    assert_eq!(
        (r.compiled.one_qubit, r.compiled.two_qubit, r.compiled.depth),
        (1, 2, 3)
    );
    assert_eq!(r.compiled.two_qubit_depth, 2);
    let a = 0.4 / std::f64::consts::TAU;
    assert_eq!(
        aria.circuit.ops,
        vec![
            Gate::Ms {
                qubits: [0, 1],
                phases: [Param::Fixed(0.0), Param::Fixed(0.25)],
                angle: Param::Fixed(a)
            },
            Gate::Ms {
                qubits: [0, 1],
                phases: [Param::Fixed(0.25), Param::Fixed(0.0)],
                angle: Param::Fixed(a)
            },
            Gate::Gpi {
                qubit: 0,
                phase: Param::Fixed(0.0)
            },
        ]
    );
    let forte = compile(&c, &c.parameters, Target::Forte, &CompileOptions::default()).unwrap();
    let f = &forte.report.compiled;
    assert_eq!(
        (f.one_qubit, f.two_qubit, f.depth, f.two_qubit_depth),
        (10, 2, 7, 2)
    );
    let text = format!("{}", forte.report);
    assert!(text.contains("target forte"), "{text}");
}

#[test]
fn qasm_of_a_small_circuit_is_pinned_and_well_formed() {
    let mut c = Circuit::new(2);
    c.push(Gate::X { qubit: 0 }).unwrap();
    c.push(Gate::Rbs {
        qubits: [0, 1],
        theta: Param::Fixed(0.4),
    })
    .unwrap();
    let aria = compile(&c, &c.parameters, Target::Aria, &CompileOptions::default()).unwrap();
    let text = to_qasm(&aria.circuit, &aria.circuit.parameters).unwrap();
    let expected = "OPENQASM 2.0;
include \"qelib1.inc\";
// IonQ native gates, phases and angles in turns (exact up to global phase)
gate gpi(phi) a { u3(pi, 2*pi*phi, pi - 2*pi*phi) a; }
gate zz(t) a, b { cx a, b; rz(2*pi*t) b; cx a, b; }
gate ms(phi0, phi1, t) a, b { rz(-2*pi*phi0) a; rz(-2*pi*phi1) b; h a; h b; zz(t) a, b; h a; h b; rz(2*pi*phi0) a; rz(2*pi*phi1) b; }
qreg q[2];
creg c[2];
ms(0, 0.25, 0.06366197723675814) q[0], q[1];
ms(0.25, 0, 0.06366197723675814) q[0], q[1];
gpi(0) q[0];
measure q -> c;
";
    assert_eq!(text, expected);
    // Structure: every statement ends with ';', every gate used is qelib1 or defined
    // above its first use, every qubit index is in range.
    let mut defined: Vec<String> = ["u3", "cx", "rz", "h", "rx", "ry", "x", "z", "cz", "swap"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for qis in [Target::Qis, Target::Forte] {
        let out = compile(&c, &c.parameters, qis, &CompileOptions::default()).unwrap();
        check_qasm(
            &to_qasm(&out.circuit, &out.circuit.parameters).unwrap(),
            2,
            &mut defined.clone(),
        );
    }
    check_qasm(&text, 2, &mut defined);
    // The uncompiled circuit exports too (rbs defined through ms).
    let src = to_qasm(&c, &c.parameters).unwrap();
    assert!(src.contains("gate rbs(theta) a, b"), "{src}");
    assert!(src.contains("rbs(0.4) q[0], q[1];"), "{src}");
}

fn check_qasm(text: &str, n: usize, defined: &mut Vec<String>) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("OPENQASM 2.0;"));
    assert_eq!(lines.next(), Some("include \"qelib1.inc\";"));
    for line in lines {
        if line.starts_with("//") {
            continue;
        }
        assert!(line.ends_with(';') || line.ends_with('}'), "{line}");
        let word: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if word == "gate" {
            let name: String = line[5..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let body = &line[line.find('{').unwrap() + 1..line.rfind('}').unwrap()];
            for stmt in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let g: String = stmt
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                assert!(defined.contains(&g), "{g} used before definition in {line}");
            }
            defined.push(name);
        } else if word == "qreg" || word == "creg" {
            assert!(line.contains(&format!("[{n}]")));
        } else if word == "measure" {
            assert_eq!(line, "measure q -> c;");
        } else {
            assert!(defined.contains(&word), "unknown gate {word} in {line}");
            for part in line.split("q[").skip(1) {
                let idx: usize = part[..part.find(']').unwrap()].parse().unwrap();
                assert!(idx < n, "{line}");
            }
        }
    }
}

#[test]
fn unknown_targets_are_typed_errors() {
    match "sycamore".parse::<Target>() {
        Err(Error::UnknownTarget { name }) => assert_eq!(name, "sycamore"),
        other => panic!("{other:?}"),
    }
    assert_eq!("qpu.forte-1".parse::<Target>().unwrap(), Target::Forte);
    assert_eq!("Aria".parse::<Target>().unwrap(), Target::Aria);
}

#[test]
fn unbound_slots_are_bound_by_the_values_and_missing_ones_are_errors() {
    let mut c = Circuit::new(2);
    c.push(Gate::Rbs {
        qubits: [0, 1],
        theta: Param::trainable(0),
    })
    .unwrap();
    match compile(&c, &c.parameters, Target::Aria, &CompileOptions::default()) {
        Err(Error::MissingParameter { op: 0, slot: 0, .. }) => {}
        other => panic!("{other:?}"),
    }
    c.parameters.trainable = vec![0.8];
    let out = compile(&c, &c.parameters, Target::Aria, &CompileOptions::default()).unwrap();
    assert_eq!(out.circuit.n_trainable(), 0);
    assert_eq!(out.circuit.n_inputs(), 0);
}
