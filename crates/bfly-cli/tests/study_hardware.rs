//! The hardware-faithful rows of the imputation study: the variants are built on the
//! right executors, chunked execution changes nothing, a tiny run through the exact,
//! sampled, noisy and emulated (HTTP on loopback) executors gives labelled rows with
//! finite AUCs and the expected circuit counts, and bad options are typed errors.

mod study_common;

use std::sync::Arc;
use study_common::synthetic_rhc;

use butterfly_mps::circuit::{loaders::Loader, ButterflyWorkload, Parameters};
use butterfly_mps::compile::{executor_hook, Target};
use butterfly_mps::impute::mcar_mask;
use butterfly_mps::noise::{NoiseModel, NoisyConfig, NoisyExecutor, NoisyMethod};
use butterfly_mps::progress::{NoProgress, Tally};
use butterfly_mps::sim::Engine;
use butterfly_mps::study::hardware::{
    run_hardware_rows, ChunkedExecutor, HardwareConfig, HardwareVariant,
};
use butterfly_mps::study::{load_study_data, ClassicalMethod};
use butterfly_mps::train::executor::{CircuitRun, Executor, ShotPlan};
use butterfly_mps::train::GradientMethod;
use butterfly_mps::Error;

fn tiny_config(path: std::path::PathBuf) -> HardwareConfig {
    let mut c = HardwareConfig::default();
    c.study.data = path;
    c.study.seeds = 2;
    c.study.classical = vec![ClassicalMethod::Mice];
    c.study.hybrids.clear();
    c.qubits = 8;
    c.shots = 300;
    c.trajectories = 4;
    c.train_rows = Some(40);
    c.chunk = 16;
    c.emulator_in_flight = 2;
    c
}

#[test]
fn default_config_builds_each_variant_on_its_executor() {
    let config = HardwareConfig::default();
    assert_eq!(config.qubits, 16);
    assert_eq!(config.noise, "forte-1");
    assert_eq!(
        config.study.classical,
        [ClassicalMethod::Mice, ClassicalMethod::MissForest]
    );
    let built = config.build(Arc::new(NoProgress)).unwrap();
    let labels: Vec<&str> = built.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "16q LL exact",
            "16q LL shots",
            "16q LL noisy",
            "16q LL emulator"
        ]
    );
    let executors: Vec<&str> = built.rows.iter().map(|r| r.executor.as_str()).collect();
    assert_eq!(&executors[..3], ["unary", "unary", "noisy:forte-1"]);
    assert!(
        executors[3].starts_with("emulator@127.0.0.1:")
            && executors[3].ends_with("ionq(simulator, noise forte-1)"),
        "{}",
        executors[3]
    );
    // The plain 16- and 32-qubit hybrids stay, the four variants follow.
    let names: Vec<String> = built
        .study
        .hybrids
        .iter()
        .map(butterfly_mps::impute::Imputer::name)
        .collect();
    assert_eq!(names[..2], ["hybrid 16q", "hybrid 32q"]);
    assert_eq!(names[2..], labels);
    for (h, row) in built.study.hybrids[2..].iter().zip(&built.rows) {
        let fl = h
            .final_layer
            .as_ref()
            .expect("every variant moves its last layer");
        assert_eq!(h.config.qubits, 16);
        assert_eq!(fl.gradient, GradientMethod::ParallelShift);
        assert_eq!(fl.epochs, 1);
        assert_eq!(fl.train_rows, Some(200));
        assert!(fl.predict_on_executor);
        let expect_shots = (row.variant != HardwareVariant::Exact).then_some(1000);
        assert_eq!(fl.shots, expect_shots, "{}", row.label);
        assert_eq!(row.shots, expect_shots);
        let noisy = matches!(
            row.variant,
            HardwareVariant::Noisy | HardwareVariant::Emulator
        );
        assert_eq!(row.trajectories, noisy.then_some(20), "{}", row.label);
        assert_eq!(fl.executor.name(), row.executor);
    }
    assert!(built.rows[3].runs_on.contains("HTTP") && built.rows[2].runs_on.contains("Forte"));
}

#[test]
fn chunked_execution_equals_one_call() {
    let c = ButterflyWorkload::full(8, Loader::UnaryTree, 3)
        .build()
        .unwrap();
    let n_in = c.parameters.inputs.len();
    let values: Vec<Parameters> = (0..10)
        .map(|k| {
            let inputs = (0..n_in)
                .map(|i| 0.2 + 0.13 * ((i + 3 * k) % 7) as f64)
                .collect();
            Parameters::new(c.parameters.trainable.clone(), inputs)
        })
        .collect();
    let runs: Vec<CircuitRun> = values
        .iter()
        .map(|v| CircuitRun::new(&c, v.clone()))
        .collect();
    let mut config = NoisyConfig::new(NoiseModel::preset("forte-1").unwrap());
    config.engine = NoisyMethod::Trajectories(Engine::Mps {
        chi: 16,
        cutoff: 1e-12,
    });
    config.trajectories = 5;
    let noisy: Arc<dyn Executor> =
        Arc::new(NoisyExecutor::new(config).with_prepare(executor_hook(Target::Forte)));
    let plan = ShotPlan::with_shots(200, 9, 4);
    let whole = noisy.execute(&runs, &plan).unwrap();
    // Different circuits give different shots (the seeds follow the index).
    assert_ne!(whole[0].histogram, whole[1].histogram);
    for in_flight in [1, 3] {
        let seen = Arc::new(Tally::default());
        let chunked =
            ChunkedExecutor::new(noisy.clone(), 3, seen.clone()).with_in_flight(in_flight);
        assert_eq!(
            chunked.execute(&runs, &plan).unwrap(),
            whole,
            "in flight {in_flight}"
        );
        assert_eq!(chunked.circuits(), 10);
        assert_eq!(seen.done(), 10);
        let messages = seen.messages();
        assert_eq!(messages.len(), 4); // chunks of 3, 3, 3, 1
        assert!(messages.contains(&"noisy:forte-1: 10 circuits".to_string()));
    }
}

#[test]
fn tiny_run_through_every_executor_gives_labelled_finite_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rhc_small.csv");
    std::fs::write(&path, synthetic_rhc(200, 78)).unwrap();
    let config = tiny_config(path);
    let progress = Arc::new(Tally::default());
    let mut done = 0;
    let report = run_hardware_rows(&config, progress.clone(), &mut |e| {
        if let butterfly_mps::study::StudyEvent::Done { .. } = e {
            done += 1
        }
    })
    .unwrap();
    let names: Vec<&str> = report
        .study
        .methods
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "MICE",
            "8q LL exact",
            "8q LL shots",
            "8q LL noisy",
            "8q LL emulator"
        ]
    );
    assert_eq!(done, 5 * 2);
    for m in &report.study.methods {
        assert_eq!(m.auc.len(), 2);
        assert!(
            m.auc
                .iter()
                .all(|a| a.is_finite() && (0.5..=1.0).contains(a)),
            "{}: {:?}",
            m.name,
            m.auc
        );
        assert!(m.target_rmse.iter().all(|r| r.is_finite()), "{}", m.name);
    }
    // Circuits per variant: per seed, 5 per training row of the last stage (forward + 4
    // shifted) on 40 − 4 rows, 1 per validation row (4), and 1 per hidden target cell.
    let data = load_study_data(&config.study).unwrap();
    let expected: u64 = (1..=2u64)
        .map(|seed| {
            let (_, mask) = mcar_mask(&data.features, &data.masked, 0.3, seed).unwrap();
            let hidden = mask.cells.iter().filter(|c| c.1 == data.target).count() as u64;
            5 * 36 + 4 + hidden
        })
        .sum();
    assert_eq!(report.circuits, vec![expected; 4]);
    assert!(progress.messages().len() >= 4 * 2 * 2);
    assert!(progress.done() >= 4 * 2 * 2);
    // Noise and shots change the imputed values; the exact row is the reference.
    let rmse = |label: &str| {
        report
            .study
            .methods
            .iter()
            .find(|m| m.name == label)
            .unwrap()
            .target_rmse
            .clone()
    };
    assert_ne!(rmse("8q LL noisy"), rmse("8q LL exact"));
    assert_ne!(rmse("8q LL emulator"), rmse("8q LL noisy"));
    assert_ne!(rmse("8q LL shots"), rmse("8q LL exact"));
    let versus: Vec<&str> = report
        .versus_exact
        .iter()
        .map(|v| v.label.as_str())
        .collect();
    assert_eq!(versus, ["8q LL shots", "8q LL noisy", "8q LL emulator"]);
    assert!(report
        .versus_exact
        .iter()
        .all(|v| v.auc_difference.is_finite() && v.welch.is_some()));
    assert!(report.rows[3].executor.starts_with("emulator@127.0.0.1:"));
    let md = report.markdown();
    for needle in [
        "| 8q LL emulator |",
        "HTTP (loopback)",
        "300",
        "Against the exact last layer",
        "subsample of 40",
    ] {
        assert!(md.contains(needle), "{needle} missing from\n{md}");
    }
    let out = dir.path().join("hw");
    let written = report.write_outputs(&out).unwrap();
    let files: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        [
            "hardware.md",
            "hardware.csv",
            "hardware.json",
            "hardware_auc.svg"
        ]
    );
    let csv = std::fs::read_to_string(out.join("hardware.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5 * 2);
    assert!(std::fs::read_to_string(out.join("hardware_auc.svg"))
        .unwrap()
        .contains("8q LL noisy"));
}

#[test]
fn bad_options_are_typed_errors_naming_the_option() {
    let check = |config: HardwareConfig, needle: &str| {
        let e = config.validate().unwrap_err();
        assert!(matches!(e, Error::HardwareRows(_)), "{e:?}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
        // Building refuses the same way (no emulator is started).
        assert!(matches!(
            config.build(Arc::new(NoProgress)),
            Err(Error::HardwareRows(_))
        ));
    };
    let base = HardwareConfig::default;
    check(HardwareConfig { shots: 0, ..base() }, "shots = 0");
    check(
        HardwareConfig {
            trajectories: 0,
            ..base()
        },
        "trajectories = 0",
    );
    check(
        HardwareConfig {
            qubits: 12,
            ..base()
        },
        "qubits = 12",
    );
    check(
        HardwareConfig {
            train_rows: Some(5),
            ..base()
        },
        "train_rows = 5",
    );
    check(
        HardwareConfig {
            epochs: 0,
            ..base()
        },
        "epochs = 0",
    );
    check(
        HardwareConfig {
            noise: "ideal".into(),
            ..base()
        },
        "noise = ideal",
    );
    check(
        HardwareConfig {
            noise: "forte-9".into(),
            ..base()
        },
        "noise \"forte-9\"",
    );
    check(
        HardwareConfig {
            postselect_weight: Some(17),
            ..base()
        },
        "postselect_weight = 17",
    );
    check(
        HardwareConfig {
            variants: vec![HardwareVariant::Noisy, HardwareVariant::Noisy],
            ..base()
        },
        "listed twice",
    );
    check(
        HardwareConfig {
            variants: vec![],
            ..base()
        },
        "no variants",
    );
    // The ideal model is fine when only exact and sampled rows are asked for.
    HardwareConfig {
        noise: "ideal".into(),
        variants: vec![HardwareVariant::Exact, HardwareVariant::Shots],
        ..base()
    }
    .validate()
    .unwrap();
    let e = "emulated".parse::<HardwareVariant>().unwrap_err();
    assert!(matches!(e, Error::HardwareRows(_)) && e.to_string().contains("\"emulated\""));
    assert_eq!(
        "emulator".parse::<HardwareVariant>().unwrap(),
        HardwareVariant::Emulator
    );
}

#[test]
fn cli_refuses_bad_options_before_any_work() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args([
            "study",
            "hardware",
            "--variants",
            "exact,bogus",
            "--out",
            "/nonexistent/x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown variant \"bogus\""), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(["study", "hardware", "--shots", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shots = 0"));
}
