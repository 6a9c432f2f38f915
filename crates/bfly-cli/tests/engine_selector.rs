//! The one engine selector (`sim::Engine`), its run entry point (`sim::simulate`), the
//! state it returns, and the one exact-reference service (`sim::ExactReference`).

use butterfly_mps::circuit::gate::Gate;
use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::workload::ButterflyWorkload;
use butterfly_mps::circuit::{Circuit, Parameters};
use butterfly_mps::compile::{compile, CompileOptions, Target};
use butterfly_mps::exec::{executor_for, CircuitRun, ShotPlan};
use butterfly_mps::sim::reference::{exact_bond_bound, ExactReference, MAX_REFERENCE_BOND};
use butterfly_mps::sim::{simulate, ChainLayout, Engine, Simulator, State, MAX_EXACT_QUBITS};
use butterfly_mps::validate::{compare, Engine as ValidationEngine, ValidateOptions};
use butterfly_mps::Error;

fn workload(n: usize, loader: Loader, seed: u64) -> Circuit {
    ButterflyWorkload::full(n, loader, seed).build().unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_auto_rule_picks_the_documented_engine() {
    let cases = [
        (8, Loader::HammingWeight(2), Engine::Subspace),
        (8, Loader::Angle, Engine::StateVector),
        (16, Loader::UnaryTree, Engine::Subspace),
        // C(128, 4) ≈ 1.07e7 ≤ 2^24 amplitudes: still the subspace.
        (128, Loader::HammingWeight(4), Engine::Subspace),
        // C(128, 5) ≈ 2.5e8 > 2^24: the U(1) MPS.
        (
            128,
            Loader::HammingWeight(5),
            Engine::u1_mps(64, 1e-12).unwrap(),
        ),
        (32, Loader::Angle, Engine::mps(64, 1e-12).unwrap()),
    ];
    for (n, loader, expected) in cases {
        let c = workload(n, loader, 1);
        let got = Engine::Auto.resolve(&c, &c.parameters).unwrap();
        assert_eq!(got, expected, "n = {n}, {loader}");
    }
    // A concrete engine resolves to itself.
    let c = workload(8, Loader::Angle, 1);
    assert_eq!(
        Engine::Subspace.resolve(&c, &c.parameters).unwrap(),
        Engine::Subspace
    );
    assert_eq!(MAX_EXACT_QUBITS, 24);
}

#[test]
fn every_engine_agrees_with_the_state_vector() {
    let c = workload(8, Loader::HammingWeight(2), 3);
    let exact = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    for engine in [
        Engine::Auto,
        Engine::Subspace,
        Engine::mps(256, 0.0).unwrap(),
        Engine::u1_mps(256, 0.0).unwrap(),
    ] {
        let state = simulate(&engine, &c, &c.parameters).unwrap();
        let err = max_diff(&state.marginals(), &exact.marginals());
        assert!(err <= 1e-10, "{engine}: marginal error {err:e}");
        for bits in ["11000000", "00100100", "00000011"] {
            let b = bits.parse().unwrap();
            let a = state.amplitude(&b).unwrap();
            let e = exact.amplitude(&b).unwrap();
            assert!((a - e).norm() <= 1e-10, "{engine}: amplitude of {bits}");
        }
        assert!(state.is_exact(), "{engine} untruncated must be exact");
    }
    // The unary engine: a unary loader followed by a Butterfly.
    let u = workload(16, Loader::UnaryTree, 5);
    let exact = simulate(&Engine::StateVector, &u, &u.parameters).unwrap();
    let unary = simulate(&Engine::Unary, &u, &u.parameters).unwrap();
    assert!(max_diff(&unary.marginals(), &exact.marginals()) <= 1e-12);
    assert!(matches!(unary, State::Subspace(_)));
}

#[test]
fn the_state_carries_the_mps_truncation_report() {
    let c = workload(16, Loader::Angle, 2);
    let sv = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    assert!(sv.truncation_report().is_none());
    assert!(sv.as_state_vector().is_some());
    let tight = simulate(&Engine::mps(2, 0.0).unwrap(), &c, &c.parameters).unwrap();
    let report = tight.truncation_report().expect("an MPS reports");
    assert!(report.truncations > 0 && report.total_discarded_weight > 1e-6);
    assert!(!tight.is_exact());
    assert_eq!(report.svd_fallbacks, 0);
    assert!(tight.as_mps().is_some());
    assert_eq!(tight.to_dense_mps().unwrap().unwrap().n_qubits(), 16);
    let u1 = simulate(
        &Engine::u1_mps(64, 0.0).unwrap(),
        &workload(16, Loader::HammingWeight(2), 2),
        &workload(16, Loader::HammingWeight(2), 2).parameters,
    )
    .unwrap();
    assert!(u1.as_u1_mps().is_some() && u1.is_exact());
}

#[test]
fn simulate_validates_the_circuit_first() {
    // A CZ on qubits [3, 3] cannot be pushed, but a deserialised or hand-built circuit can
    // hold one: every engine must refuse it.
    let mut c = Circuit::new(4);
    c.ops.push(Gate::Cz { qubits: [3, 3] });
    for engine in [
        Engine::StateVector,
        Engine::Subspace,
        Engine::Auto,
        Engine::mps(8, 0.0).unwrap(),
    ] {
        let err = simulate(&engine, &c, &Parameters::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("op 0") || text.contains("distinct"),
            "{engine}: {text}"
        );
    }
}

#[test]
fn bad_engine_settings_are_typed_errors() {
    assert!(matches!(
        Engine::mps(0, 1e-12),
        Err(Error::InvalidTruncation(_))
    ));
    assert!(Engine::u1_mps(8, f64::NAN).is_err());
    let e = "quantum".parse::<Engine>().unwrap_err().to_string();
    assert!(e.contains("auto") && e.contains("u1-mps"), "{e}");
    // A non-weight-preserving circuit on the subspace engine.
    let c = workload(8, Loader::Angle, 1);
    assert!(simulate(&Engine::Subspace, &c, &c.parameters).is_err());
}

#[test]
fn engine_json_is_the_training_config_format() {
    let cases = [
        (r#"{"kind":"unary"}"#, Engine::Unary),
        (r#"{"kind":"state-vector"}"#, Engine::StateVector),
        (
            r#"{"kind":"mps","chi":32,"cutoff":1e-10}"#,
            Engine::mps(32, 1e-10).unwrap(),
        ),
        (r#"{"kind":"auto"}"#, Engine::Auto),
    ];
    for (text, engine) in cases {
        let parsed: Engine = serde_json::from_str(text).unwrap();
        assert_eq!(parsed, engine);
        let back: Engine = serde_json::from_str(&serde_json::to_string(&engine).unwrap()).unwrap();
        assert_eq!(back, engine);
    }
    assert_eq!(
        Engine::mps(64, 1e-12).unwrap().to_string(),
        "mps (χ = 64, cutoff 1e-12)"
    );
}

#[test]
fn every_engine_runs_as_an_executor() {
    let c = workload(8, Loader::HammingWeight(2), 4);
    let exact = simulate(&Engine::StateVector, &c, &c.parameters).unwrap();
    let batch = [CircuitRun::new(&c, c.parameters.clone())];
    for engine in [
        Engine::StateVector,
        Engine::Subspace,
        Engine::Auto,
        Engine::mps(64, 0.0).unwrap(),
        Engine::u1_mps(64, 0.0).unwrap(),
    ] {
        let executor = executor_for(&engine).unwrap();
        let out = executor.execute(&batch, &ShotPlan::exact()).unwrap();
        let err = max_diff(&out[0].marginals, &exact.marginals());
        assert!(err <= 1e-10, "{}: {err:e}", executor.name());
    }
}

#[test]
fn the_exact_reference_uses_one_threshold_and_says_when_it_is_not_exact() {
    let layout = ChainLayout::default();
    // Small: the state vector, exact.
    let small = workload(8, Loader::Angle, 1);
    let r = ExactReference::compute(&small, &small.parameters, &layout)
        .unwrap()
        .unwrap();
    assert_eq!(r.description(), "state vector");
    assert!(r.is_exact());
    // Beyond the state vector, fixed weight: an untruncated MPS checked against the
    // subspace simulator.
    let big = workload(32, Loader::HammingWeight(3), 1);
    assert!(exact_bond_bound(32, Some(3)) <= MAX_REFERENCE_BOND);
    let r = ExactReference::compute(&big, &big.parameters, &layout)
        .unwrap()
        .unwrap();
    assert!(r.is_exact(), "{}", r.description());
    assert!(r.description().contains("subspace"), "{}", r.description());
    assert!(r.subspace_marginal_error().unwrap() <= 1e-10);
    let sub = simulate(&Engine::Subspace, &big, &big.parameters).unwrap();
    assert!(max_diff(r.marginals(), &sub.marginals()) <= 1e-10);
    let mps = simulate(&Engine::mps(1024, 0.0).unwrap(), &big, &big.parameters).unwrap();
    assert!((r.fidelity(mps.as_mps().unwrap()).unwrap() - 1.0).abs() <= 1e-10);
    // The same circuit with a bond cap below its Schmidt rank: marked NOT exact.
    let capped = ExactReference::compute_with_bond_cap(&big, &big.parameters, &layout, 4)
        .unwrap()
        .unwrap();
    assert!(!capped.is_exact());
    assert!(capped.discarded_weight() > 1e-8);
    assert!(
        capped.description().contains("NOT exact"),
        "{}",
        capped.description()
    );
    // Beyond the state vector, weight not fixed: no reference.
    let angle = workload(32, Loader::Angle, 1);
    assert!(ExactReference::compute(&angle, &angle.parameters, &layout)
        .unwrap()
        .is_none());
}

#[test]
fn a_truncated_mps_validation_is_refused_not_passed() {
    let c = workload(16, Loader::Angle, 6);
    let out = compile(&c, &c.parameters, Target::Forte, &CompileOptions::default()).unwrap();
    let options = ValidateOptions {
        engine: ValidationEngine::Mps {
            chi: 2,
            cutoff: 0.0,
        },
        chi: 2,
    };
    let cmp = compare(
        &c,
        &c.parameters,
        &out.circuit,
        &out.circuit.parameters,
        &options,
    )
    .unwrap();
    assert!(!cmp.exact);
    assert!(matches!(
        cmp.verdict(0.0),
        Err(Error::ValidationInexact { .. })
    ));
    // With a bond cap above the Schmidt rank the same comparison is exact and passes.
    let options = ValidateOptions {
        engine: ValidationEngine::Mps {
            chi: 256,
            cutoff: 0.0,
        },
        chi: 256,
    };
    let cmp = compare(
        &c,
        &c.parameters,
        &out.circuit,
        &out.circuit.parameters,
        &options,
    )
    .unwrap();
    assert!(cmp.exact);
    cmp.verdict(1.0 - 1e-10).unwrap();
}

#[test]
fn noisy_simulation_takes_its_trajectory_engine_from_the_one_selector() {
    use butterfly_mps::noise::{NoiseModel, NoisyConfig, NoisyMethod};
    // The serialised form of the method is the one the noisy reports always had.
    for (method, json) in [
        (NoisyMethod::Auto, r#"{"kind":"auto"}"#),
        (NoisyMethod::DensityMatrix, r#"{"kind":"density-matrix"}"#),
        (
            NoisyMethod::Trajectories(Engine::StateVector),
            r#"{"kind":"state-vector"}"#,
        ),
        (
            NoisyMethod::Trajectories(Engine::mps(8, 1e-10).unwrap()),
            r#"{"kind":"mps","chi":8,"cutoff":1e-10}"#,
        ),
        (
            NoisyMethod::Trajectories(Engine::Auto),
            r#"{"kind":"auto-trajectories"}"#,
        ),
    ] {
        assert_eq!(serde_json::to_string(&method).unwrap(), json);
        assert_eq!(serde_json::from_str::<NoisyMethod>(json).unwrap(), method);
    }
    // Trajectories on the automatic engine follow the engines' one rule (no fixed weight:
    // noise breaks it): the state vector to MAX_EXACT_QUBITS, the MPS beyond.
    // (Butterfly workloads come in powers of two: 16 and 32 lie on either side.)
    for n in [16, 32] {
        assert_eq!(n <= MAX_EXACT_QUBITS, n == 16);
        let c = workload(n, Loader::Angle, 1);
        let engine = Engine::Auto.resolve(&c, &c.parameters).unwrap();
        assert_eq!(
            NoisyMethod::Trajectories(Engine::Auto).resolve(n).unwrap(),
            NoisyMethod::Trajectories(engine)
        );
        assert_eq!(
            NoisyMethod::Auto.resolve(n).unwrap(),
            NoisyMethod::Trajectories(engine)
        );
    }
    assert_eq!(
        NoisyMethod::Auto.resolve(10).unwrap(),
        NoisyMethod::DensityMatrix
    );
    // Engines trajectories do not run on: typed, naming the ones they do, no flags.
    let c = workload(4, Loader::UnaryTree, 1);
    for engine in [
        Engine::Subspace,
        Engine::Unary,
        Engine::u1_mps(8, 0.0).unwrap(),
    ] {
        let mut config = NoisyConfig::new(NoiseModel::preset("forte-1").unwrap());
        config.engine = NoisyMethod::Trajectories(engine);
        let e = butterfly_mps::noise::simulate_noisy(
            &c,
            &c.parameters,
            &config,
            None,
            &butterfly_mps::progress::NoProgress,
        )
        .unwrap_err();
        match &e {
            Error::UnsupportedEngine {
                engine: name,
                supported,
                ..
            } => {
                assert_eq!(name, engine.name());
                assert_eq!(supported, "auto, statevector, mps");
            }
            other => panic!("{engine}: {other:?}"),
        }
        assert!(!e.to_string().contains("--"), "{e}");
    }
    // Every engine name parses into a method the same way as into an engine.
    for name in [
        "auto",
        "statevector",
        "sv",
        "state-vector",
        "mps",
        "u1-mps",
        "unary",
    ] {
        let method: NoisyMethod = name.parse().unwrap();
        let engine: Engine = name.parse().unwrap();
        match method {
            NoisyMethod::Auto => assert_eq!(engine, Engine::Auto),
            NoisyMethod::Trajectories(e) => assert_eq!(e, engine),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(
        "density-matrix".parse::<NoisyMethod>().unwrap(),
        NoisyMethod::DensityMatrix
    );
}
