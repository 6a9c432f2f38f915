//! Bad input gives a typed error whose message says what is wrong and where.

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{Butterfly, Circuit, Gate, LayerOrdering, Param, Parameters};
use butterfly_mps::sim::{simulate, Engine, StateVector};
use butterfly_mps::Error;

fn err_json(json: &str) -> Error {
    Circuit::from_json(json).expect_err("must be rejected")
}

#[test]
fn qubit_out_of_range_names_op_and_qubit() {
    let e = err_json(
        r#"{"qubits":4,"ops":[{"gate":"x","qubit":0},{"gate":"rbs","qubits":[1,7],"theta":0.1}]}"#,
    );
    assert!(matches!(
        e,
        Error::QubitOutOfRange {
            op: 1,
            qubit: 7,
            n_qubits: 4,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "op #1 (rbs): qubit 7 is out of range; the circuit has 4 qubits (valid: 0..=3)"
    );
}

#[test]
fn repeated_qubit_names_op() {
    let e = err_json(r#"{"qubits":4,"ops":[{"gate":"cnot","qubits":[2,2]}]}"#);
    assert!(matches!(
        e,
        Error::RepeatedQubit {
            op: 0,
            qubit: 2,
            ..
        }
    ));
    assert!(
        e.to_string()
            .contains("op #0 (cnot): qubit 2 appears twice"),
        "{e}"
    );
}

#[test]
fn non_finite_angles_are_rejected() {
    let mut c = Circuit::new(2);
    let e = c
        .push(Gate::Ry {
            qubit: 0,
            theta: Param::Fixed(f64::NAN),
        })
        .unwrap_err();
    assert!(matches!(e, Error::NonFiniteAngle { op: 0, .. }));
    assert_eq!(
        e.to_string(),
        "op #0 (ry): parameter `theta` is NaN; angles must be finite numbers"
    );
    let e = c
        .push(Gate::Ms {
            qubits: [0, 1],
            phases: [0.0.into(), 0.0.into()],
            angle: f64::INFINITY.into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("parameter `angle` is inf"), "{e}");
    // A NaN bound into a slot at run time.
    c.push(Gate::Rbs {
        qubits: [0, 1],
        theta: Param::trainable(0),
    })
    .unwrap();
    let e = simulate(
        &Engine::StateVector,
        &c,
        &Parameters::new(vec![f64::NAN], vec![]),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("op #0 (rbs)") && e.to_string().contains("NaN"),
        "{e}"
    );
    // JSON cannot spell NaN; an overflowing literal is rejected by the parser.
    let e = err_json(r#"{"qubits":2,"ops":[{"gate":"ry","qubit":0,"theta":1e999}]}"#);
    assert!(
        e.to_string()
            .contains("number out of range at line 1 column 55"),
        "{e}"
    );
    let e = err_json(r#"{"qubits":2,"ops":[],"parameters":{"trainable":[1e999]}}"#);
    assert!(e.to_string().contains("invalid JSON"), "{e}");
}

#[test]
fn unknown_gate_lists_known_gates() {
    let e = err_json(
        r#"{"qubits":2,"ops":[{"gate":"x","qubit":0},{"gate":"toffoli","qubits":[0,1]}]}"#,
    );
    assert!(matches!(&e, Error::UnknownGate { op: 1, name, .. } if name == "toffoli"));
    assert!(
        e.to_string()
            .starts_with("op #1: unknown gate \"toffoli\"; known gates: rbs, rx"),
        "{e}"
    );
}

#[test]
fn malformed_json_and_ops_are_reported() {
    let e = err_json(r#"{"qubits":2,"ops":[{"gate":"x","qubit":0}"#);
    assert!(matches!(e, Error::Json { .. }));
    assert!(e.to_string().starts_with("circuit: invalid JSON"), "{e}");
    let e = err_json(r#"{"qubits":2,"ops":[{"qubit":0}]}"#);
    assert!(
        e.to_string()
            .contains("op #0: missing string field \"gate\""),
        "{e}"
    );
    let e = err_json(r#"{"qubits":2,"ops":[{"gate":"rbs","qubits":[0,1]}]}"#);
    assert!(
        e.to_string()
            .contains("op #0: malformed \"rbs\" gate: missing field `theta`"),
        "{e}"
    );
    let e = err_json(r#"{"qubits":0,"ops":[]}"#);
    assert!(e.to_string().contains("at least 1"), "{e}");
    let e = err_json(
        r#"{"qubits":1,"ops":[{"gate":"unitary1","qubit":0,"matrix":[[[1,0],[1,0]],[[0,0],[1,0]]]}]}"#,
    );
    assert!(e.to_string().contains("not unitary"), "{e}");
    // A NaN entry is not "close to unitary" (f64::max would silently skip it).
    let mut c = Circuit::new(1);
    let nan = num_complex::Complex64::new(f64::NAN, 0.0);
    let one = num_complex::Complex64::new(1.0, 0.0);
    let zero = num_complex::Complex64::new(0.0, 0.0);
    let e = c
        .push(Gate::Unitary1 {
            qubit: 0,
            matrix: [[nan, zero], [zero, one]],
        })
        .unwrap_err();
    assert!(
        e.to_string().contains("not unitary") && e.to_string().contains("inf"),
        "{e}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let e = Circuit::load("/nonexistent/circuit.json").unwrap_err();
    assert!(
        e.to_string().starts_with("/nonexistent/circuit.json:"),
        "{e}"
    );
}

#[test]
fn butterfly_sizes_are_checked() {
    let e = Butterfly::new(12, 2, LayerOrdering::CouplingFirst).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a Butterfly circuit needs n = 2^d qubits (2, 4, 8, ..., 1024, ...), got n = 12; nearest valid sizes: 8 and 16"
    );
    let e = Butterfly::new(16, 5, LayerOrdering::CouplingFirst).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a Butterfly on 16 qubits has 1..=4 layers, got 5"
    );
    assert!(Butterfly::new(16, 0, LayerOrdering::CouplingFirst).is_err());
    assert!(Butterfly::new(1, 1, LayerOrdering::CouplingFirst).is_err());
}

#[test]
fn state_vector_refuses_with_the_memory_needed() {
    let e = StateVector::new(40).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("a state vector of 40 qubits needs 16.0 TiB"),
        "{msg}"
    );
    assert!(
        msg.contains("use the subspace backend") && msg.contains("MPS"),
        "{msg}"
    );
}

#[test]
fn subspace_refuses_weight_changing_gates_naming_the_op() {
    let mut c = Loader::UnaryTree.circuit(4).unwrap();
    c.push(Gate::Ry {
        qubit: 2,
        theta: 0.3.into(),
    })
    .unwrap();
    let values = Parameters::new(vec![], Loader::UnaryTree.angles(4, &[0.5; 4]).unwrap());
    let e = simulate(&Engine::Subspace, &c, &values).unwrap_err();
    assert!(matches!(e, Error::NotWeightPreserving { op: 4, .. }));
    assert_eq!(
        e.to_string(),
        "op #4 (ry on qubits [2]) does not preserve Hamming weight, so the fixed-Hamming-weight subspace simulator cannot run it; use the statevector or mps backend"
    );
}

#[test]
fn subspace_refuses_huge_dimensions() {
    let mut c = Circuit::new(200);
    for q in 0..6 {
        c.push(Gate::X { qubit: q }).unwrap();
    }
    let e = simulate(&Engine::Subspace, &c, &Parameters::default()).unwrap_err();
    assert!(
        e.to_string().contains("weight-5 subspace of 200 qubits"),
        "{e}"
    );
}

#[test]
fn loaders_reject_bad_data() {
    let e = Loader::UnaryTree
        .angles(4, &[1.0, 1.0, 0.0, 0.0])
        .unwrap_err();
    assert!(
        e.to_string().contains("must be a unit vector") && e.to_string().contains("1.414"),
        "{e}"
    );
    let e = Loader::UnaryTree.angles(4, &[1.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("takes 4 numbers, got 2"), "{e}");
    let e = Loader::UnaryTree.circuit(6).unwrap_err();
    assert!(
        e.to_string().contains("power-of-two") && e.to_string().contains("unary-diagonal"),
        "{e}"
    );
    let e = Loader::Angle.angles(2, &[0.1, f64::NAN]).unwrap_err();
    assert!(e.to_string().contains("data[1] is NaN"), "{e}");
    let e = "hw0".parse::<Loader>().unwrap_err();
    assert!(e.to_string().contains("unknown loader"), "{e}");
}

#[test]
fn missing_parameter_slot_names_op_and_slot() {
    let c = Butterfly::full(4, LayerOrdering::CouplingFirst)
        .unwrap()
        .circuit();
    let e = simulate(
        &Engine::StateVector,
        &c,
        &Parameters::new(vec![0.1; 3], vec![]),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "op #3 (rbs): trainable parameter slot 3 has no value (3 trainable values given)"
    );
}

/// A UTF-8 byte-order mark before circuit or parameter JSON is skipped, as before a CSV
/// header; a BOM anywhere else is still an error.
#[test]
fn a_byte_order_mark_before_json_is_accepted() {
    let json = r#"{"qubits":2,"ops":[{"gate":"rbs","qubits":[0,1],"theta":0.3}]}"#;
    let plain = Circuit::from_json(json).unwrap();
    assert_eq!(
        Circuit::from_json(&format!("\u{feff}{json}")).unwrap(),
        plain
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, format!("\u{feff}{json}")).unwrap();
    assert_eq!(Circuit::load(&path).unwrap(), plain);
    let params = dir.path().join("p.json");
    std::fs::write(&params, "\u{feff}{\"trainable\": [0.5]}").unwrap();
    assert_eq!(Parameters::load(&params).unwrap().trainable, [0.5]);
    assert!(Circuit::from_json(&format!("\u{feff}\u{feff}{json}")).is_err());
}
