//! The hybrid model's file format, predictions through executors, settings validation.

use butterfly_mps::circuit::{loaders::Loader, LayerOrdering};
use butterfly_mps::sim::Engine;
use butterfly_mps::train::executor::{MpsExecutor, ShotPlan, StateVectorExecutor, UnaryExecutor};
use butterfly_mps::train::model::MODEL_FORMAT_VERSION;
use butterfly_mps::train::teacher::{teacher_dataset, TeacherSpec};
use butterfly_mps::train::{
    GradientMethod, HybridModel, ModelSpec, RunControl, Task, TrainConfig, Trainer,
};
use butterfly_mps::Error;

fn trained() -> (HybridModel, butterfly_mps::data::Dataset) {
    let (_, data) = teacher_dataset(&TeacherSpec::new(8, 3, 64, 2)).unwrap();
    let mut c = TrainConfig::new(8, 3, Task::Regression);
    c.schedule.epochs_per_stage = 2;
    c.ordering = LayerOrdering::CouplingLast;
    let mut t = Trainer::new(c, &data).unwrap();
    t.run(&RunControl::default(), &mut |_| {}).unwrap();
    (t.model().clone(), data)
}

#[test]
fn a_trained_model_round_trips_bit_exactly() {
    let (model, data) = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    model.save(&path).unwrap();
    let back = HybridModel::load(&path).unwrap();
    assert_eq!(back, model);
    for x in &data.features[..10] {
        let (a, b) = (model.predict(x).unwrap(), back.predict(x).unwrap());
        assert_eq!(a[0].to_bits(), b[0].to_bits());
    }
    let text = std::fs::read_to_string(&path).unwrap();
    for field in [
        "\"format_version\": 1",
        "\"ordering\": \"coupling-last\"",
        "\"loader\": \"unary-tree\"",
        "\"conventions\"",
        "\"input_scaling\"",
        "\"feature_names\"",
    ] {
        assert!(text.contains(field), "model file lacks {field}");
    }
    assert_eq!(model.feature_names, data.feature_names);
}

#[test]
fn damaged_model_files_give_clear_errors() {
    let (model, _) = trained();
    let dir = tempfile::tempdir().unwrap();
    let good = model.to_json();
    let cases: Vec<(&str, String, &str)> = vec![
        ("truncated", good[..good.len() / 3].to_string(), "truncated"),
        ("not json", "hello".into(), "invalid JSON"),
        (
            "other format",
            good.replace(
                "butterfly-mps/hybrid-model",
                "butterfly-mps/train-checkpoint",
            ),
            "not a hybrid model",
        ),
        (
            "theta short",
            {
                let mut m = model.clone();
                m.theta.pop();
                m.to_json()
            },
            "Butterfly angles",
        ),
        (
            "head shape",
            {
                let mut m = model.clone();
                m.head.cols += 1;
                m.to_json()
            },
            "head has",
        ),
        (
            "conventions",
            good.replace("p_i = P(qubit i reads 1)", "p_i = P(qubit i reads 0)"),
            "conventions",
        ),
        (
            "loader",
            good.replace("\"unary-tree\"", "\"angle\""),
            "not a unary loader",
        ),
        (
            "unknown field",
            good.replacen("{", "{\"surprise\": 1,", 1),
            "unknown field",
        ),
    ];
    for (name, text, expect) in cases {
        let path = dir.path().join(format!("{}.json", name.replace(' ', "_")));
        std::fs::write(&path, &text).unwrap();
        let err = HybridModel::load(&path).unwrap_err();
        assert!(matches!(err, Error::CorruptFile { .. }), "{name}: {err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(expect) && msg.contains(path.to_str().unwrap()),
            "{name}: {msg}"
        );
    }
    let path = dir.path().join("v2.json");
    std::fs::write(
        &path,
        good.replace("\"format_version\": 1", "\"format_version\": 2"),
    )
    .unwrap();
    match HybridModel::load(&path).unwrap_err() {
        Error::UnsupportedFileVersion {
            found: 2,
            supported,
            ..
        } => assert_eq!(supported, MODEL_FORMAT_VERSION),
        other => panic!("{other:?}"),
    }
    let missing = HybridModel::load(dir.path().join("nope.json")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
}

/// A model or checkpoint holding a non-finite number is never written (JSON would store
/// `null`, which `load` then rejects), and the file already at the path is kept.
#[test]
fn non_finite_models_and_checkpoints_are_refused_before_writing() {
    let (model, data) = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    model.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    for poison in [f64::NAN, f64::INFINITY] {
        let mut bad = model.clone();
        bad.theta[1] = poison;
        let err = bad.save(&path).unwrap_err().to_string();
        assert!(
            err.contains("refusing to write") && err.contains("theta"),
            "{err}"
        );
        let mut bad = model.clone();
        bad.input_scaling.scale[0] = poison;
        let err = bad.save(&path).unwrap_err().to_string();
        assert!(err.contains("input_scaling.scale"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
    let mut c = TrainConfig::new(8, 3, Task::Regression);
    c.schedule.epochs_per_stage = 1;
    c.ordering = LayerOrdering::CouplingLast;
    let trainer = Trainer::new(c, &data).unwrap();
    let mut checkpoint = trainer.checkpoint();
    let cp_path = dir.path().join("cp.json");
    checkpoint.save(&cp_path).unwrap();
    let cp_before = std::fs::read(&cp_path).unwrap();
    checkpoint.state.model.theta[0] = f64::NAN;
    let err = checkpoint.save(&cp_path).unwrap_err().to_string();
    assert!(err.contains("refusing to write checkpoint"), "{err}");
    assert_eq!(std::fs::read(&cp_path).unwrap(), cp_before);
}

#[test]
fn predictions_through_every_executor_agree() {
    let (model, data) = trained();
    let xs = data.features[..6].to_vec();
    let exact: Vec<Vec<f64>> = xs.iter().map(|x| model.predict(x).unwrap()).collect();
    for (name, preds) in [
        (
            "unary",
            model
                .predict_with(&UnaryExecutor, &xs, &ShotPlan::exact())
                .unwrap(),
        ),
        (
            "statevector",
            model
                .predict_with(&StateVectorExecutor, &xs, &ShotPlan::exact())
                .unwrap(),
        ),
        (
            "mps",
            model
                .predict_with(&MpsExecutor::new(4, 0.0).unwrap(), &xs, &ShotPlan::exact())
                .unwrap(),
        ),
    ] {
        for (a, b) in preds.iter().zip(&exact) {
            assert!((a[0] - b[0]).abs() < 1e-10, "{name}: {} vs {}", a[0], b[0]);
        }
    }
    // With shots: close, not equal, and reproducible.
    let plan = ShotPlan::with_shots(20_000, 1, 0);
    let s1 = model.predict_with(&UnaryExecutor, &xs, &plan).unwrap();
    assert_eq!(s1, model.predict_with(&UnaryExecutor, &xs, &plan).unwrap());
    let worst = s1
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a[0] - b[0]).abs())
        .fold(0.0, f64::max);
    let scale = model.target_scaling.scale[0];
    assert!(worst > 0.0 && worst < 0.05 * scale.max(1.0), "{worst}");
    // The circuit export carries the angles as trainable defaults.
    let c = model.circuit().unwrap();
    assert_eq!(c.parameters.trainable, model.theta);
    assert_eq!(c.n_inputs(), 7);
}

#[test]
fn impossible_settings_are_refused_with_actionable_errors() {
    let (_, data) = teacher_dataset(&TeacherSpec::new(8, 3, 32, 2)).unwrap();
    let check = |f: &dyn Fn(&mut TrainConfig), expect: &str| {
        let mut c = TrainConfig::new(8, 3, Task::Regression);
        f(&mut c);
        let err = Trainer::new(c, &data)
            .err()
            .expect("should be refused")
            .to_string();
        assert!(err.contains(expect), "expected \"{expect}\" in: {err}");
    };
    check(&|c| c.shots = Some(100), "take no shots");
    check(&|c| c.backend = Engine::StateVector, "unary adjoint");
    check(
        &|c| {
            c.gradient = GradientMethod::ParallelShift;
            c.schedule.layerwise = false;
        },
        "trailing layer",
    );
    check(&|c| c.qubits = 12, "n = 2^d");
    check(&|c| c.layers = 4, "1..=3 layers");
    check(&|c| c.loader = Loader::HammingWeight(2), "unary loader");
    check(&|c| c.batch_size = 0, "batch size");
    check(
        &|c| {
            c.gradient = GradientMethod::Shift;
            c.shots = Some(0);
        },
        "at least 1",
    );
    check(
        &|c| {
            c.gradient = GradientMethod::Shift;
            c.backend = Engine::Mps {
                chi: 0,
                cutoff: 0.0,
            };
        },
        "χ = 0",
    );
    check(&|c| c.validation_fraction = 1.0, "validation fraction");
    check(
        &|c| c.task = Task::Classification,
        "classification targets must be 0/1",
    );
    // A model spec with a non-unary loader is refused too.
    let mut spec = ModelSpec::new(3, 1, 8, 2, Task::Regression);
    spec.loader = Loader::Angle;
    assert!(HybridModel::new(&spec, 0)
        .unwrap_err()
        .to_string()
        .contains("unary"));
}

#[test]
fn non_finite_features_are_refused_not_loaded_as_e0() {
    let (model, data) = trained();
    let mut x = data.features[0].clone();
    x[1] = f64::NAN;
    match model.encode(&x) {
        Err(Error::NonFiniteEncoding { detail }) => {
            assert!(detail.contains("NaN or infinite"), "{detail}")
        }
        other => panic!("expected NonFiniteEncoding, got {other:?}"),
    }
    x[1] = f64::INFINITY;
    assert!(matches!(
        model.predict(&x),
        Err(Error::NonFiniteEncoding { .. })
    ));
    // Large but finite features do not overflow the norm.
    let big: Vec<f64> = data.features[0].iter().map(|v| v * 1e200).collect();
    let e = model.encode(&big).unwrap();
    assert!(
        e.z.iter().map(|v| v * v).sum::<f64>().is_infinite(),
        "the case must overflow Σz²"
    );
    assert!(e.norm.is_finite() && e.norm > 1e150, "{}", e.norm);
    let unit: f64 = e.u.iter().map(|v| v * v).sum();
    assert!((unit - 1.0).abs() < 1e-12, "{unit}");
}

#[test]
fn auc_is_none_with_one_class_and_an_error_for_non_finite_scores() {
    use butterfly_mps::train::inference::{score, Metrics};
    let targets = vec![vec![1.0]; 4];
    let preds = vec![vec![0.2], vec![0.7], vec![0.9], vec![0.4]];
    let m = score(Task::Classification, &preds, &targets).unwrap();
    match &m {
        Metrics::Classification { auc, .. } => assert_eq!(*auc, None),
        other => panic!("{other:?}"),
    }
    assert!(m.to_string().contains("AUC n/a (one class only)"), "{m}");
    let targets = vec![vec![1.0], vec![0.0], vec![1.0], vec![0.0]];
    let m = score(Task::Classification, &preds, &targets).unwrap();
    match m {
        Metrics::Classification { auc, .. } => assert_eq!(auc, Some(0.5)),
        other => panic!("{other:?}"),
    }
    let bad = vec![vec![f64::NAN], vec![0.7], vec![0.9], vec![0.4]];
    assert!(score(Task::Classification, &bad, &targets).is_err());
}
