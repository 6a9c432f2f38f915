//! The imputation study: metrics against hand-computed references, the logistic
//! regression's optimality conditions, and the driver end to end on a small synthetic
//! file (including an extra hybrid variant, the hook for hardware-faithful rows).

mod study_common;

use std::sync::Arc;
use study_common::synthetic_rhc;

use butterfly_mps::impute::{FinalLayer, HybridImputer, Knn, MissForest};
use butterfly_mps::study::logistic::Logistic;
use butterfly_mps::study::metrics::{
    auc, ln_gamma, mean_std, regularized_incomplete_beta, rmse, student_t_two_sided_p, welch_t_test,
};
use butterfly_mps::study::{run_study, StudyConfig, StudyEvent};
use butterfly_mps::train::executor::UnaryExecutor;
use butterfly_mps::train::GradientMethod;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn auc_matches_hand_counts_with_ties() {
    // Positives 0.4, 0.8; negatives 0.1, 0.35, 0.4. Pairs won: 0.4 beats 0.1 and 0.35
    // and ties 0.4 (½); 0.8 beats all three: (2 + ½ + 3) / 6.
    let a = auc(
        &[0.1, 0.4, 0.35, 0.8, 0.4],
        &[false, true, false, true, false],
    )
    .unwrap();
    assert!((a - 5.5 / 6.0).abs() < 1e-15, "{a}");
    // All tied: ½. Perfect: 1. Reversed: 0.
    assert_eq!(auc(&[1.0; 4], &[true, false, true, false]).unwrap(), 0.5);
    assert_eq!(auc(&[0.9, 0.8, 0.2], &[true, true, false]).unwrap(), 1.0);
    assert_eq!(auc(&[0.1, 0.8, 0.9], &[true, false, false]).unwrap(), 0.0);
    assert!(auc(&[0.1, 0.2], &[true, true]).is_err());
    assert!(auc(&[0.1, f64::NAN], &[true, false]).is_err());
    assert!(auc(&[0.1], &[true, false]).is_err());
}

#[test]
fn rmse_and_mean_std_by_hand() {
    assert_eq!(
        rmse(&[1.0, 2.0, 3.0], &[1.0, 4.0, 3.0]),
        (4.0f64 / 3.0).sqrt()
    );
    let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
    assert_eq!(m, 5.0);
    assert!((s - (32.0f64 / 7.0).sqrt()).abs() < 1e-15);
}

#[test]
fn student_t_p_values_match_closed_forms() {
    // dof = 1 (Cauchy): p = 1 − (2/π) atan|t|. dof = 2: p = 1 − |t|/√(2 + t²).
    for t in [0.0, 0.3, 1.0, 2.5, 12.0, -4.0] {
        let p1 = 1.0 - 2.0 / std::f64::consts::PI * f64::atan(f64::abs(t));
        let p2 = 1.0 - t.abs() / (2.0 + t * t).sqrt();
        assert!((student_t_two_sided_p(t, 1.0) - p1).abs() < 1e-12, "t {t}");
        assert!((student_t_two_sided_p(t, 2.0) - p2).abs() < 1e-12, "t {t}");
    }
    // ln Γ at integers and ½.
    assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
    assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    // I_x(1, 1) = x; I_x(a, 1) = x^a.
    assert!((regularized_incomplete_beta(0.3, 1.0, 1.0) - 0.3).abs() < 1e-14);
    assert!((regularized_incomplete_beta(0.6, 3.0, 1.0) - 0.216).abs() < 1e-14);
}

#[test]
fn welch_t_test_matches_an_mpmath_reference() {
    let a = [
        0.7176, 0.7210, 0.7143, 0.7189, 0.7165, 0.7201, 0.7158, 0.7180,
    ];
    let b = [
        0.7147, 0.7139, 0.7152, 0.7150, 0.7141, 0.7155, 0.7149, 0.7146, 0.7151, 0.7144,
    ];
    // Computed with mpmath 1.3 at 30 digits: Welch t and dof, then
    // p = betainc(dof/2, 1/2, 0, dof/(dof + t²), regularized=True).
    let w = welch_t_test(&a, &b).unwrap();
    assert!((w.t - 3.776_732_393_458_922).abs() < 1e-10, "t {}", w.t);
    assert!(
        (w.dof - 7.569_284_816_963_606).abs() < 1e-9,
        "dof {}",
        w.dof
    );
    assert!(
        (w.p_value - 0.005_991_806_599_994_154).abs() < 1e-11,
        "p {}",
        w.p_value
    );
    // Swapping the samples flips t only.
    let s = welch_t_test(&b, &a).unwrap();
    assert_eq!((s.t, s.dof, s.p_value), (-w.t, w.dof, w.p_value));
    assert!(welch_t_test(&[1.0], &b).is_err());
    assert!(welch_t_test(&[1.0, 1.0], &[2.0, 2.0]).is_err());
}

#[test]
fn logistic_regression_meets_its_optimality_conditions() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let n = 500;
    let x = Array2::from_shape_fn((n, 3), |_| rng.random::<f64>() * 4.0 - 2.0);
    let y: Vec<bool> = (0..n)
        .map(|r| {
            let eta = 1.5 * x[[r, 0]] - x[[r, 1]] + 0.3;
            rng.random::<f64>() < 1.0 / (1.0 + (-eta).exp())
        })
        .collect();
    let c = 0.5;
    let fit = Logistic::fit(x.view(), &y, None, c).unwrap();
    // Gradient of Σ log-loss + |w|²/(2C) on standardised features vanishes:
    // Σ (y − p) z_j = w_j / C and Σ (y − p) = 0.
    let mut g = [0.0; 4];
    for r in 0..n {
        let p = fit.probability(x.row(r));
        let e = f64::from(u8::from(y[r])) - p;
        g[0] += e;
        for j in 0..3 {
            g[j + 1] += e * (x[[r, j]] - fit.mean[j]) / fit.scale[j];
        }
    }
    assert!(g[0].abs() < 1e-8, "intercept gradient {}", g[0]);
    for j in 0..3 {
        assert!(
            (g[j + 1] - fit.weights[j] / c).abs() < 1e-8,
            "weight {j}: {} vs {}",
            g[j + 1],
            fit.weights[j] / c
        );
    }
    // The signal is found: positive on x0, negative on x1, small on x2.
    assert!(fit.weights[0] > 0.5 && fit.weights[1] < -0.3 && fit.weights[2].abs() < 0.3);
    assert!(Logistic::fit(x.view(), &y, None, 0.0).is_err());
}

fn small_config(path: std::path::PathBuf) -> StudyConfig {
    let mut c = StudyConfig::quick();
    c.data = path;
    c.seeds = 2;
    c.knn = Knn::new(3);
    c.forest = MissForest {
        n_trees: 5,
        max_iterations: 1,
        ..Default::default()
    };
    c.deep_mice.epochs = 3;
    for h in &mut c.hybrids {
        h.config.epochs_per_stage = 2;
        h.config.finetune_epochs = 0;
    }
    c
}

#[test]
fn study_runs_end_to_end_with_an_extra_hybrid_variant() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rhc_small.csv");
    std::fs::write(&path, synthetic_rhc(240, 77)).unwrap();
    let mut config = small_config(path);
    // The hook for hardware-faithful rows: a labelled variant whose last layer is
    // trained and measured on a given executor (here the exact unary one, with shots).
    let mut variant = HybridImputer::new(&config.target_column, 16);
    variant.label = Some("16q shots".into());
    variant.config.epochs_per_stage = 2;
    variant.config.finetune_epochs = 0;
    variant.final_layer = Some(FinalLayer {
        executor: Arc::new(UnaryExecutor),
        gradient: GradientMethod::ParallelShift,
        shots: Some(200),
        epochs: 1,
        predict_on_executor: true,
        train_rows: None,
    });
    config.hybrids.push(variant);
    let mut steps = 0;
    let mut done = 0;
    let report = run_study(&config, &mut |e| match e {
        StudyEvent::Start { steps: s } => steps = *s,
        StudyEvent::Done { .. } => done += 1,
    })
    .unwrap();
    let names: Vec<&str> = report.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mean",
            "zero",
            "KNN (k = 3)",
            "MICE",
            "MissForest",
            "Deep MICE",
            "hybrid 16q",
            "hybrid 32q",
            "16q shots"
        ]
    );
    assert_eq!((steps, done), (18, 18));
    assert_eq!(report.rows, 240);
    // 21 physiology columns + sex (2 levels) + cat2 (2 levels, NA one of them).
    assert_eq!(report.features, 25);
    for m in &report.methods {
        assert_eq!(m.auc.len(), 2);
        assert!(
            m.auc.iter().all(|a| (0.5..=1.0).contains(a)),
            "{}: {:?}",
            m.name,
            m.auc
        );
    }
    // The structure is strong: MICE's normalised error is far below the mean's.
    let nrmse = |name: &str| {
        mean_std(
            &report
                .methods
                .iter()
                .find(|m| m.name == name)
                .unwrap()
                .nrmse,
        )
        .0
    };
    assert!(nrmse("MICE") < 0.5 * nrmse("mean"));
    assert_eq!(report.comparisons.len(), 3);
    assert!(report
        .comparisons
        .iter()
        .all(|c| c.classical == report.best_classical));
    let md = report.markdown();
    assert!(md.contains("| 16q shots |") && md.contains("Welch"), "{md}");
    let csv = report.csv();
    assert_eq!(csv.lines().count(), 1 + 9 * 2);
    let out = dir.path().join("out");
    let written = report.write_outputs(&out).unwrap();
    assert_eq!(written.len(), 4);
    let svg = std::fs::read_to_string(out.join("imputation_auc.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("16q shots"),
        "{}",
        &svg[..200]
    );
}

#[test]
fn study_refuses_bad_settings_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rhc_small.csv");
    std::fs::write(&path, synthetic_rhc(60, 77)).unwrap();
    let e = run_study(&small_config(path.clone()).with_target("sex"), &mut |_| {}).unwrap_err();
    assert!(
        e.to_string().contains("must be one of the masked columns"),
        "{e}"
    );
    let mut c = small_config(path.clone());
    c.hybrids.push(HybridImputer::new(&c.target_column, 16));
    let e = run_study(&c, &mut |_| {}).unwrap_err();
    assert!(
        e.to_string()
            .contains("two methods are named \"hybrid 16q\""),
        "{e}"
    );
    let e = run_study(&small_config(dir.path().join("missing.csv")), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("missing.csv"), "{e}");
    let mut c = small_config(path);
    c.seeds = 0;
    assert!(run_study(&c, &mut |_| {}).is_err());
}
