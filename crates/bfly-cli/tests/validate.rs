//! Validation of compiled circuits by exact simulation: trained-model circuits at 16 and 32
//! qubits on Aria and Forte, the 128-qubit hw2 Butterfly through the fused subspace path,
//! agreement of the engines, a deliberately wrong compilation, typed errors, and the CLI.

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{ButterflyWorkload, Circuit, Gate, Param};
use butterfly_mps::compile::{compile, CompileOptions, Target};
use butterfly_mps::progress::{NoProgress, Tally};
use butterfly_mps::train::{HybridModel, ModelSpec, Task};
use butterfly_mps::validate::{
    compare, fuse_blocks, validate_model, Engine, ValidateOptions, DEFAULT_MIN_FIDELITY,
};
use butterfly_mps::Error;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::process::{Command, Output};

fn opts(engine: Engine) -> ValidateOptions {
    ValidateOptions { engine, chi: 256 }
}

/// A model with trained-looking angles: every Butterfly angle uniform in [-π, π] (so all
/// folding branches occur), pre-layer and head from the seeded initialisation.
fn model(qubits: usize, layers: usize, seed: u64) -> HybridModel {
    let mut m = HybridModel::new(
        &ModelSpec::new(5, 1, qubits, layers, Task::Regression),
        seed,
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for t in &mut m.theta {
        *t = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
    }
    m
}

#[test]
fn model_circuits_at_16_and_32_qubits_match_on_aria_and_forte() {
    for (qubits, layers) in [(16, 4), (32, 5)] {
        let m = model(qubits, layers, qubits as u64);
        for target in [Target::Aria, Target::Forte] {
            let progress = Tally::default();
            let v =
                validate_model(&m, target, 20, 7, &ValidateOptions::default(), &progress).unwrap();
            assert_eq!(v.inputs.len(), 20);
            assert_eq!((progress.total(), progress.done()), (20, 20));
            assert!(progress.finished());
            assert!(
                v.min_fidelity >= DEFAULT_MIN_FIDELITY,
                "{qubits} {target}: {}",
                v.min_fidelity
            );
            assert!(v.max_tvd.unwrap() < 1e-10);
            assert!(v
                .inputs
                .iter()
                .all(|r| r.comparison.engine == Engine::Subspace));
            let names = &v.report.compiled.by_gate;
            assert!(!names.contains_key(if target == Target::Aria { "zz" } else { "ms" }));
            assert_eq!(v.report.compiled.two_qubit, 2 * v.report.source.two_qubit);
            // Different seeds, different inputs.
            assert_ne!(v.inputs[0].features, v.inputs[1].features);
        }
        // The state vector agrees on a few inputs at 16 qubits.
        if qubits == 16 {
            let v = validate_model(
                &m,
                Target::Forte,
                2,
                7,
                &opts(Engine::StateVector),
                &NoProgress,
            )
            .unwrap();
            assert!(v.min_fidelity >= DEFAULT_MIN_FIDELITY);
            assert!(v
                .inputs
                .iter()
                .all(|r| r.comparison.engine == Engine::StateVector));
        }
    }
}

#[test]
fn the_128_qubit_hw2_butterfly_is_validated_in_the_subspace() {
    let c = ButterflyWorkload::full(128, Loader::HammingWeight(2), 1)
        .build()
        .unwrap();
    for target in [Target::Aria, Target::Forte] {
        let out = compile(&c, &c.parameters, target, &CompileOptions::default()).unwrap();
        let cmp = compare(
            &c,
            &c.parameters,
            &out.circuit,
            &out.circuit.parameters,
            &ValidateOptions::default(),
        )
        .unwrap();
        assert_eq!(cmp.engine, Engine::Subspace);
        assert!(
            cmp.fidelity >= DEFAULT_MIN_FIDELITY,
            "{target}: {}",
            cmp.fidelity
        );
        assert!(cmp.tvd.unwrap() < 1e-10, "{target}");
        // Natives alone are not weight-preserving; the fused blocks are.
        let natives = out.circuit.bind_defaults().unwrap();
        assert!(natives.iter().any(|g| !g.preserves_hamming_weight()));
        let fused = fuse_blocks(&out.circuit, &out.circuit.parameters).unwrap();
        assert!(fused
            .iter()
            .skip_while(|g| !g.preserves_hamming_weight())
            .all(|g| g.preserves_hamming_weight()));
        // A wrong final phase: the subspace path sees it in the state (not in the TVD).
        let bad = last_gpi_perturbed(&out.circuit);
        let cmp = compare(
            &c,
            &c.parameters,
            &bad,
            &bad.parameters,
            &ValidateOptions::default(),
        )
        .unwrap();
        assert_eq!(cmp.engine, Engine::Subspace);
        assert!(cmp.fidelity < 1.0 - 1e-5, "{target}: {}", cmp.fidelity);
        assert!(cmp.tvd.unwrap() < 1e-10);
    }
}

/// Perturb the first MS/ZZ angle or phase of a compiled circuit.
fn perturbed(c: &Circuit, by: f64) -> Circuit {
    let mut bad = c.clone();
    let g = bad
        .ops
        .iter_mut()
        .find(|g| matches!(g, Gate::Ms { .. } | Gate::Zz { .. }))
        .unwrap();
    if let Some(Param::Fixed(v)) = g.params_mut().into_iter().next() {
        *v += by;
    }
    bad
}

/// Perturb the phase of the last GPi (a trailing frame correction: still diagonal in
/// total, so weight-preserving, but the state's phases are wrong; probabilities are not).
fn last_gpi_perturbed(c: &Circuit) -> Circuit {
    let mut bad = c.clone();
    let g = bad
        .ops
        .iter_mut()
        .rev()
        .find(|g| matches!(g, Gate::Gpi { .. }))
        .unwrap();
    if let Gate::Gpi {
        phase: Param::Fixed(v),
        ..
    } = g
    {
        *v = (*v + 0.01) % 1.0;
    }
    bad
}

#[test]
fn fused_subspace_and_state_vector_agree_and_a_wrong_compilation_fails() {
    let c = ButterflyWorkload::full(16, Loader::HammingWeight(2), 4)
        .build()
        .unwrap();
    for target in [Target::Aria, Target::Forte] {
        let out = compile(&c, &c.parameters, target, &CompileOptions::default()).unwrap();
        for (k, circuit) in [
            out.circuit.clone(),
            perturbed(&out.circuit, 0.01),
            last_gpi_perturbed(&out.circuit),
        ]
        .into_iter()
        .enumerate()
        {
            let sub = compare(
                &c,
                &c.parameters,
                &circuit,
                &circuit.parameters,
                &opts(Engine::Subspace),
            );
            let sv = compare(
                &c,
                &c.parameters,
                &circuit,
                &circuit.parameters,
                &opts(Engine::StateVector),
            )
            .unwrap();
            let mps = compare(
                &c,
                &c.parameters,
                &circuit,
                &circuit.parameters,
                &opts(Engine::Mps {
                    chi: 256,
                    cutoff: 0.0,
                }),
            )
            .unwrap();
            if k == 1 {
                // A wrong two-qubit angle leaves the weight-preserving set: typed refusal.
                assert!(matches!(sub, Err(Error::UnfusableBlock { .. })), "{sub:?}");
                assert!(sv.fidelity < 1.0 - 1e-5);
            } else {
                let sub = sub.unwrap();
                assert!(
                    (sub.fidelity - sv.fidelity).abs() < 1e-12,
                    "{target}: {sub:?} {sv:?}"
                );
                assert!((sub.tvd.unwrap() - sv.tvd.unwrap()).abs() < 1e-12);
            }
            assert!(
                (mps.fidelity - sv.fidelity).abs() < 1e-10,
                "{target}: {mps:?} {sv:?}"
            );
            let (da, db) = mps.mps_discarded_weight.unwrap();
            assert!(
                da < 1e-20 && db < 1e-20,
                "χ = 256 holds these states: {da:e} {db:e}"
            );
            assert!(mps.tvd.is_none());
        }
        for bad in [
            perturbed(&out.circuit, 0.01),
            last_gpi_perturbed(&out.circuit),
        ] {
            let f = compare(
                &c,
                &c.parameters,
                &bad,
                &bad.parameters,
                &ValidateOptions::default(),
            )
            .unwrap();
            assert!(
                f.fidelity < 1.0 - 1e-5,
                "{target}: a 0.01-turn error must show: {}",
                f.fidelity
            );
        }
    }
}

#[test]
fn non_weight_preserving_sources_use_the_state_vector_or_mps() {
    // Angle loader: every weight mixes, so no subspace; 10 qubits → state vector.
    let c = ButterflyWorkload::full(8, Loader::Angle, 2)
        .build()
        .unwrap();
    let out = compile(&c, &c.parameters, Target::Forte, &CompileOptions::default()).unwrap();
    let auto = compare(
        &c,
        &c.parameters,
        &out.circuit,
        &out.circuit.parameters,
        &ValidateOptions::default(),
    )
    .unwrap();
    assert_eq!(auto.engine, Engine::StateVector);
    assert!(auto.fidelity >= DEFAULT_MIN_FIDELITY);
    let mps = compare(
        &c,
        &c.parameters,
        &out.circuit,
        &out.circuit.parameters,
        &opts(Engine::Mps {
            chi: 256,
            cutoff: 0.0,
        }),
    )
    .unwrap();
    assert!(mps.fidelity >= DEFAULT_MIN_FIDELITY);
    match compare(
        &c,
        &c.parameters,
        &out.circuit,
        &out.circuit.parameters,
        &opts(Engine::Subspace),
    ) {
        Err(Error::NotWeightPreserving { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let c = ButterflyWorkload::full(4, Loader::HammingWeight(2), 1)
        .build()
        .unwrap();
    let out = compile(&c, &c.parameters, Target::Aria, &CompileOptions::default()).unwrap();
    let cc = &out.circuit;
    // χ = 0.
    let zero = ValidateOptions {
        engine: Engine::Mps {
            chi: 0,
            cutoff: 0.0,
        },
        chi: 0,
    };
    assert!(matches!(
        compare(&c, &c.parameters, cc, &cc.parameters, &zero),
        Err(Error::InvalidTruncation(_))
    ));
    // An engine validation does not run on: typed, naming the ones it does.
    for engine in [Engine::Unary, Engine::u1_mps(8, 0.0).unwrap()] {
        match compare(&c, &c.parameters, cc, &cc.parameters, &opts(engine)) {
            Err(e @ Error::UnsupportedEngine { .. }) => {
                let text = e.to_string();
                assert!(text.contains(engine.name()), "{text}");
                assert!(text.contains("statevector, subspace, mps"), "{text}");
                assert!(!text.contains("--"), "{text}");
            }
            other => panic!("{engine}: {other:?}"),
        }
    }
    // Unknown engine.
    assert!(matches!(
        "tensor".parse::<Engine>(),
        Err(Error::InvalidInput(_))
    ));
    // A block that no local basis change makes weight-preserving.
    let mut bad = Circuit::new(4);
    bad.push(Gate::Gpi2 {
        qubit: 0,
        phase: Param::Fixed(0.0),
    })
    .unwrap();
    bad.push(Gate::Ms {
        qubits: [0, 1],
        phases: [Param::Fixed(0.0), Param::Fixed(0.0)],
        angle: Param::Fixed(0.1),
    })
    .unwrap();
    match compare(
        &c,
        &c.parameters,
        &bad,
        &bad.parameters,
        &opts(Engine::Subspace),
    ) {
        Err(Error::UnfusableBlock {
            qubits,
            first_op: 0,
            last_op: 1,
        }) => assert_eq!(qubits, vec![0, 1]),
        other => panic!("{other:?}"),
    }
    let e = fuse_blocks(&bad, &bad.parameters).unwrap_err().to_string();
    assert!(e.contains("state-vector engine"), "{e}");
    // A lone superposing gate is not weight-preserving either.
    let mut lone = Circuit::new(2);
    lone.push(Gate::H { qubit: 1 }).unwrap();
    assert!(matches!(
        fuse_blocks(&lone, &lone.parameters),
        Err(Error::UnfusableBlock { .. })
    ));
    // Qubit count mismatch.
    let other = Circuit::new(5);
    assert!(matches!(
        compare(
            &c,
            &c.parameters,
            &other,
            &other.parameters,
            &ValidateOptions::default()
        ),
        Err(Error::InvalidInput(_))
    ));
}

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn cli_train_compile_validate_and_a_failing_validation() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let mut csv = String::from("a,b,c,y\n");
    for i in 0..120 {
        let (a, b, c) = (
            (i * 37 % 100) as f64 / 10.0 - 5.0,
            (i * 53 % 89) as f64 / 20.0 - 2.0,
            (i * 11 % 61) as f64 / 15.0 - 2.0,
        );
        csv.push_str(&format!("{a},{b},{c},{}\n", (0.5 * a).sin() + 0.3 * b * c));
    }
    std::fs::write(p("d.csv"), csv).unwrap();
    let o = bfly(&[
        "train",
        "--data",
        &p("d.csv"),
        "--target",
        "y",
        "--features",
        "a,b,c",
        "--qubits",
        "16",
        "--epochs",
        "2",
        "--seed",
        "3",
        "--out",
        &p("m.json"),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for target in ["aria", "forte"] {
        let o = bfly(&[
            "validate",
            "--model",
            &p("m.json"),
            "--target",
            target,
            "--inputs",
            "20",
            "--seed",
            "1",
        ]);
        let out = text(&o.stdout);
        assert!(o.status.success(), "{out}{}", text(&o.stderr));
        assert!(
            out.contains("20 random inputs") && out.contains("worst fidelity"),
            "{out}"
        );
        assert_eq!(out.matches("engine subspace").count(), 20, "{out}");
    }
    // compile → files → validate --compiled.
    let o = bfly(&[
        "butterfly",
        "--qubits",
        "32",
        "--loader",
        "hw2",
        "--seed",
        "2",
        "--out",
        &p("b.json"),
    ]);
    assert!(o.status.success());
    let o = bfly(&[
        "compile",
        "--circuit",
        &p("b.json"),
        "--target",
        "forte",
        "--out",
        &p("f.json"),
        "--qasm",
        &p("f.qasm"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // hw2 loader: two 16-qubit trees of 15 RBS; Butterfly: 5 layers of 16 RBS; 2 ZZ each.
    assert_eq!(
        report["report"]["compiled"]["by_gate"]["zz"],
        2 * (2 * 15) + 2 * 80
    );
    assert!(std::fs::read_to_string(p("f.qasm"))
        .unwrap()
        .contains("zz("));
    let o = bfly(&[
        "validate",
        "--circuit",
        &p("b.json"),
        "--compiled",
        &p("f.json"),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("engine subspace"));
    // One phase perturbed: non-zero exit, the fidelity and the threshold named.
    let mut bad: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("f.json")).unwrap()).unwrap();
    let ops = bad["ops"].as_array_mut().unwrap();
    let g = ops.iter_mut().find(|g| g["gate"] == "gpi2").unwrap();
    g["phase"] = serde_json::json!(g["phase"].as_f64().unwrap() + 0.02);
    std::fs::write(p("bad.json"), serde_json::to_string(&bad).unwrap()).unwrap();
    let o = bfly(&[
        "validate",
        "--circuit",
        &p("b.json"),
        "--compiled",
        &p("bad.json"),
    ]);
    assert!(!o.status.success());
    let e = text(&o.stderr);
    assert!(
        e.contains("validation failed") && e.contains("below the threshold"),
        "{e}"
    );
    // Unknown target; χ = 0.
    let o = bfly(&["compile", "--circuit", &p("b.json"), "--target", "sycamore"]);
    assert!(!o.status.success() && text(&o.stderr).contains("unknown compile target \"sycamore\""));
    let o = bfly(&[
        "validate",
        "--circuit",
        &p("b.json"),
        "--target",
        "aria",
        "--engine",
        "mps",
        "--chi",
        "0",
    ]);
    assert!(
        !o.status.success() && text(&o.stderr).contains("invalid MPS truncation"),
        "{}",
        text(&o.stderr)
    );
}
