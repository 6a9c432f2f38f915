//! Imputers and the typed table loader on data with a known answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use butterfly_mps::data::{ColumnKind, Table, TableSpec, TypedTable};
use butterfly_mps::impute::{
    mcar_mask, DeepMice, FinalLayer, HybridImputer, Imputer, Incomplete, Knn, Mask, Mean, Mice,
    MissForest, RegressionForest, TreeParams, Zero,
};
use butterfly_mps::train::executor::{CircuitRun, RunResult, ShotPlan, UnaryExecutor};
use butterfly_mps::train::{Executor, GradientMethod};
use butterfly_mps::Error;
use ndarray::{array, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

fn names(k: usize) -> Vec<String> {
    (0..k).map(|i| format!("c{i}")).collect()
}

/// Hide cells of `col` in every row where `hide(r)`.
fn hide(values: &Array2<f64>, col: usize, hide: impl Fn(usize) -> bool) -> Incomplete {
    let mut v = values.clone();
    for r in 0..v.nrows() {
        if hide(r) {
            v[[r, col]] = f64::NAN;
        }
    }
    Incomplete::new(names(v.ncols()), v).unwrap()
}

// ---------------------------------------------------------------- data files

#[test]
fn committed_rhc_file_has_the_documented_sha256_and_shape() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/rhc.csv")).unwrap();
    assert_eq!(bytes.len(), 2_281_372);
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "ffc6c015cbad6c0d21dee36d73a41a0e11f83d295644915dae403b0a621868f6"
    );
    let spec = TableSpec {
        zero_missing: vec!["wtkilo1".into()],
        na_level: vec!["cat2".into()],
        categorical: vec![],
        missing_values: None,
    };
    let t = TypedTable::read(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/rhc.csv"),
        &spec,
    )
    .unwrap();
    assert_eq!((t.n_rows(), t.columns.len()), (5735, 62));
    let dth30 = t.column("dth30").unwrap();
    assert_eq!(dth30.kind, ColumnKind::YesNo);
    assert_eq!(
        dth30.cells.iter().filter(|c| **c == Some(1.0)).count(),
        1918
    );
    // wtkilo1 = 0 means "not recorded".
    let wt = t.column("wtkilo1").unwrap();
    assert_eq!(wt.cells.iter().filter(|c| c.is_none()).count(), 515);
    // cat2's NA is a level of its own; urin1's NA is missing.
    match &t.column("cat2").unwrap().kind {
        ColumnKind::Categorical { levels } => assert!(levels.contains(&"NA".to_string())),
        k => panic!("cat2 read as {k:?}"),
    }
    let na = t.column("cat2").unwrap();
    assert!(na.cells.iter().all(|c| c.is_some()));
    assert_eq!(
        t.column("urin1")
            .unwrap()
            .cells
            .iter()
            .filter(|c| c.is_none())
            .count(),
        3028
    );
    // dnr1 has cells written ` "No"` (a space before the quote): still yes/no.
    assert_eq!(t.column("dnr1").unwrap().kind, ColumnKind::YesNo);
    assert_eq!(t.column("age").unwrap().cells[0], Some(70.25098));
}

#[test]
fn typed_table_reads_real_world_quirks() {
    let csv = "\u{feff}\"id\",\"smoker\",\"dept\",\"sec\",\"w\"\r\n\
               1, \"Yes\",\"ICU\",NA, 0\r\n\
               2,No,\"ward, east\",\"A\",  71.5\r\n\
               3,NA,ICU,B,NA\r\n";
    let spec = TableSpec {
        zero_missing: vec!["w".into()],
        na_level: vec!["sec".into()],
        categorical: vec![],
        missing_values: None,
    };
    let typed = TypedTable::parse(csv, "q.csv", &spec).unwrap();
    let t = typed.to_table();
    assert_eq!(
        t.columns,
        vec![
            "id",
            "smoker",
            "dept=ICU",
            "dept=ward, east",
            "sec=A",
            "sec=B",
            "sec=NA",
            "w"
        ]
    );
    assert_eq!(
        t.rows,
        vec![
            vec![
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(0.0),
                Some(0.0),
                Some(0.0),
                Some(1.0),
                None
            ],
            vec![
                Some(2.0),
                Some(0.0),
                Some(0.0),
                Some(1.0),
                Some(1.0),
                Some(0.0),
                Some(0.0),
                Some(71.5)
            ],
            vec![
                Some(3.0),
                None,
                Some(1.0),
                Some(0.0),
                Some(0.0),
                Some(1.0),
                Some(0.0),
                None
            ],
        ]
    );
    assert_eq!(t.lines, vec![2, 3, 4]);
    // A missing categorical cell leaves all its indicators missing.
    let typed = TypedTable::parse("a,b\n1,x\n2,NA\n", "m.csv", &TableSpec::default()).unwrap();
    assert_eq!(typed.to_table().rows[1], vec![Some(2.0), None]);
}

#[test]
fn typed_table_errors_name_file_line_and_column() {
    let spec = TableSpec::default();
    let err = |text: &str, spec: &TableSpec| {
        TypedTable::parse(text, "t.csv", spec)
            .unwrap_err()
            .to_string()
    };
    let e = err("a,b\n1,2\n3,x7\n4,5\n", &spec);
    assert!(
        e.starts_with("t.csv:3, column \"b\": \"x7\" is not a number"),
        "{e}"
    );
    assert!(e.contains("first at line 2"), "{e}");
    let e = err("a,b\n1,2\n3\n", &spec);
    assert!(
        e.starts_with("t.csv:3:") && e.contains("1 cells but the header has 2"),
        "{e}"
    );
    let e = err("a,b\n1,\"2\n", &spec);
    assert!(
        e.starts_with("t.csv:2:") && e.contains("never closed"),
        "{e}"
    );
    let e = err("a,a\n1,2\n", &spec);
    assert!(e.contains("column \"a\"") && e.contains("twice"), "{e}");
    let zero = TableSpec {
        zero_missing: vec!["nope".into()],
        ..Default::default()
    };
    let e = err("a,b\n1,2\n", &zero);
    assert!(
        e.contains("column \"nope\"") && e.contains("not in the header"),
        "{e}"
    );
    let zero = TableSpec {
        zero_missing: vec!["b".into()],
        ..Default::default()
    };
    let e = err("a,b\n1,x\n", &zero);
    assert!(
        e.contains("column \"b\"") && e.contains("not numeric"),
        "{e}"
    );
    // Declared categorical: numbers and words are levels.
    let cat = TableSpec {
        categorical: vec!["b".into()],
        ..Default::default()
    };
    let t = TypedTable::parse("a,b\n1,2\n3,x\n", "t.csv", &cat).unwrap();
    assert_eq!(t.to_table().columns, vec!["a", "b=2", "b=x"]);
    // The numeric Table API is unchanged.
    let plain = Table::parse("\"x\", y\n 1, NA\n", "p.csv").unwrap();
    assert_eq!(plain.rows, vec![vec![Some(1.0), None]]);
}

// ---------------------------------------------------------------- masking

#[test]
fn mcar_mask_is_seeded_keeps_truth_and_touches_only_chosen_columns() {
    let v = Array2::from_shape_fn((2000, 3), |(r, c)| (r * 3 + c) as f64);
    let full = Incomplete::new(names(3), v.clone()).unwrap();
    let (a, ma) = mcar_mask(&full, &[0, 2], 0.3, 11).unwrap();
    let (b, mb) = mcar_mask(&full, &[0, 2], 0.3, 11).unwrap();
    let (_, mc) = mcar_mask(&full, &[0, 2], 0.3, 12).unwrap();
    assert_eq!(ma, mb);
    let bits = |m: &Incomplete| m.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    assert_ne!(ma.cells, mc.cells);
    let rate = ma.cells.len() as f64 / 4000.0;
    assert!((rate - 0.3).abs() < 0.03, "rate {rate}");
    for (&(r, c), &t) in ma.cells.iter().zip(&ma.truth) {
        assert!(c == 0 || c == 2);
        assert_eq!(t, v[[r, c]]);
        assert!(a.is_missing(r, c));
    }
    assert_eq!(a.values.column(1), v.column(1));
    assert!(mcar_mask(&full, &[3], 0.3, 1).is_err());
    assert!(mcar_mask(&full, &[0], 1.0, 1).is_err());
    // RMSE over the hidden cells: errors 1 and 2 → √2.5; the truth itself scores 0.
    let mask = Mask {
        cells: vec![(0, 0), (1, 1)],
        truth: vec![1.0, 2.0],
    };
    assert!((mask.rmse(&array![[2.0, 9.0], [9.0, 4.0]]).unwrap() - 2.5f64.sqrt()).abs() < 1e-15);
    assert_eq!(mask.rmse(&array![[1.0, 0.0], [0.0, 2.0]]).unwrap(), 0.0);
    let e = mask.rmse(&array![[1.0]]).unwrap_err().to_string();
    assert!(e.contains("(1, 1)") && e.contains("1×1"), "{e}");
}

// ---------------------------------------------------------------- imputers

#[test]
fn mean_and_zero_fill_exactly() {
    let d = Incomplete::new(
        names(2),
        array![
            [1.0, f64::NAN],
            [f64::NAN, -2.0],
            [5.0, 4.0],
            [f64::NAN, 1.0]
        ],
    )
    .unwrap();
    assert_eq!(
        Mean.impute(&d, 0).unwrap(),
        array![[1.0, 1.0], [3.0, -2.0], [5.0, 4.0], [3.0, 1.0]]
    );
    assert_eq!(
        Zero.impute(&d, 0).unwrap(),
        array![[1.0, 0.0], [0.0, -2.0], [5.0, 4.0], [0.0, 1.0]]
    );
    let empty = Incomplete::new(names(2), array![[f64::NAN, 1.0], [f64::NAN, 2.0]]).unwrap();
    let e = Mean.impute(&empty, 0).unwrap_err().to_string();
    assert!(
        e.contains("\"c0\"") && e.contains("no present value"),
        "{e}"
    );
}

#[test]
fn mice_recovers_linear_relations() {
    // c2 = 2 c0 - 3 c1 + 1 and c3 = c0 + c1; a quarter of c2 and of c3 hidden.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let v = Array2::from_shape_fn((400, 4), |_| 0.0);
    let mut v = v;
    for r in 0..400 {
        let (a, b): (f64, f64) = (rng.random::<f64>() * 4.0 - 2.0, rng.random::<f64>() * 2.0);
        v[[r, 0]] = a;
        v[[r, 1]] = b;
        v[[r, 2]] = 2.0 * a - 3.0 * b + 1.0;
        v[[r, 3]] = a + b;
    }
    let full = Incomplete::new(names(4), v.clone()).unwrap();
    let (holey, mask) = mcar_mask(&full, &[2, 3], 0.25, 3).unwrap();
    let mice = Mice {
        max_iterations: 50,
        tolerance: 1e-9,
        ridge: 1e-10,
    };
    let out = mice.impute(&holey, 0).unwrap();
    holey.check_completed(&out, "MICE").unwrap();
    // Imputations are clipped to the column's observed range; inside it they are exact.
    let mut exact = 0;
    for (&(r, c), &t) in mask.cells.iter().zip(&mask.truth) {
        let present = holey.observed_rows(c);
        let lo = present
            .iter()
            .map(|&i| v[[i, c]])
            .fold(f64::INFINITY, f64::min);
        let hi = present
            .iter()
            .map(|&i| v[[i, c]])
            .fold(f64::NEG_INFINITY, f64::max);
        let expected = t.clamp(lo, hi);
        assert!(
            (out[[r, c]] - expected).abs() < 1e-4,
            "row {r} col {c}: {} vs {t} (range {lo}..{hi})",
            out[[r, c]]
        );
        exact += usize::from(t == expected);
    }
    assert!(exact as f64 > 0.95 * mask.cells.len() as f64);
    // Mean imputation is far off on the same cells (the test can fail).
    let mean = Mean.impute(&holey, 0).unwrap();
    let mean_worst = mask
        .cells
        .iter()
        .zip(&mask.truth)
        .map(|(&(r, c), t)| (mean[[r, c]] - t).abs())
        .fold(0.0, f64::max);
    assert!(mean_worst > 1.0);
}

#[test]
fn knn_is_exact_on_duplicated_rows() {
    // 40 prototypes, each repeated 6 times; one cell hidden in one copy of some of them.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let protos: Vec<[f64; 4]> = (0..40)
        .map(|_| std::array::from_fn(|_| rng.random::<f64>() * 10.0))
        .collect();
    let v = Array2::from_shape_fn((240, 4), |(r, c)| protos[r / 6][c]);
    let data = hide(&v, 2, |r| r % 6 == 0 && r % 12 == 0);
    let out = Knn::new(5).impute(&data, 0).unwrap();
    for r in (0..240).step_by(12) {
        assert!((out[[r, 2]] - v[[r, 2]]).abs() < 1e-12, "row {r}");
    }
    assert_eq!(out.column(0), v.column(0));
    // With k = 10 the neighbours include other prototypes: no longer exact.
    let far = Knn::new(10).impute(&data, 0).unwrap();
    assert!((0..240)
        .step_by(12)
        .any(|r| (far[[r, 2]] - v[[r, 2]]).abs() > 1e-3));
    assert!(Knn::new(0).impute(&data, 0).is_err());
}

#[test]
fn regression_tree_and_forest_find_a_step() {
    // 20 distinct x0 values (fewer than the 32 bins, so every midpoint is a candidate).
    let x = Array2::from_shape_fn((300, 2), |(r, c)| {
        if c == 0 {
            (r % 20) as f64
        } else {
            (r / 100) as f64
        }
    });
    // Step at x0 = 8.5 of height 10, plus 5 per level of x1 (three levels).
    let y: Vec<f64> = (0..300)
        .map(|r| if x[[r, 0]] > 8.0 { 10.0 } else { 0.0 } + 5.0 * x[[r, 1]])
        .collect();
    let params = TreeParams {
        max_features: Some(2),
        ..Default::default()
    };
    let forest = RegressionForest::fit(x.view(), &y, None, &params, 25, 1).unwrap();
    for r in 0..300 {
        let p = forest.predict(&[x[[r, 0]], x[[r, 1]]]);
        assert!((p - y[r]).abs() < 1e-9, "row {r}: {p} vs {}", y[r]);
    }
    // Between the training values the split sits at the midpoint 8.5.
    assert!((forest.predict(&[8.4, 0.0]) - 0.0).abs() < 1e-9);
    assert!((forest.predict(&[8.6, 0.0]) - 10.0).abs() < 1e-9);
    assert!(forest.trees.iter().all(|t| t.leaves() >= 6));
}

#[test]
fn missforest_recovers_a_step_function_that_mice_cannot() {
    // c1 = 10·[c0 > 0] + noise-free; c2 unrelated. 30 % of c1 hidden.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut v = Array2::zeros((600, 3));
    for r in 0..600 {
        let a: f64 = rng.random::<f64>() * 2.0 - 1.0;
        v[[r, 0]] = a;
        v[[r, 1]] = if a > 0.0 { 10.0 } else { 0.0 };
        v[[r, 2]] = rng.random::<f64>();
    }
    let full = Incomplete::new(names(3), v.clone()).unwrap();
    let (holey, mask) = mcar_mask(&full, &[1], 0.3, 4).unwrap();
    let rmse = |out: &Array2<f64>| mask.rmse(out).unwrap();
    let forest = MissForest {
        max_iterations: 3,
        n_trees: 20,
        tree: TreeParams {
            max_features: Some(2),
            ..Default::default()
        },
    };
    let out = forest.impute(&holey, 1).unwrap();
    let mice = Mice::default().impute(&holey, 1).unwrap();
    // All but cells in or next to the quantile bin that straddles the step (1/64 of the
    // rows; a leaf needs 5 bootstrap rows, so a thin bin can share a leaf) are exact.
    let exact = mask
        .cells
        .iter()
        .zip(&mask.truth)
        .filter(|(&(r, c), t)| (out[[r, c]] - **t).abs() < 1e-9)
        .count();
    assert!(
        exact as f64 >= 0.9 * mask.cells.len() as f64,
        "{exact} of {}",
        mask.cells.len()
    );
    assert!(
        rmse(&out) < 0.3 * rmse(&mice),
        "forest {} mice {}",
        rmse(&out),
        rmse(&mice)
    );
    // Seeded: the same seed gives the same matrix.
    assert_eq!(out, forest.impute(&holey, 1).unwrap());
}

#[test]
fn deep_mice_fits_a_nonlinear_relation_better_than_mice() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut v = Array2::zeros((800, 2));
    for r in 0..800 {
        let a: f64 = rng.random::<f64>() * 4.0 - 2.0;
        v[[r, 0]] = a;
        v[[r, 1]] = a * a;
    }
    let full = Incomplete::new(names(2), v).unwrap();
    let (holey, mask) = mcar_mask(&full, &[1], 0.3, 5).unwrap();
    let rmse = |out: &Array2<f64>| mask.rmse(out).unwrap();
    let deep = DeepMice {
        epochs: 40,
        patience: 8,
        ..Default::default()
    };
    let d = deep.impute(&holey, 3).unwrap();
    let m = Mice::default().impute(&holey, 3).unwrap();
    assert!(
        rmse(&d) < 0.35 * rmse(&m),
        "deep {} mice {}",
        rmse(&d),
        rmse(&m)
    );
    assert_eq!(d, deep.impute(&holey, 3).unwrap());
}

/// c2 = c0 + c1 on a grid; a quarter of c2 hidden.
fn sum_data() -> (Incomplete, Vec<usize>, Array2<f64>) {
    let v = Array2::from_shape_fn((320, 3), |(r, j)| {
        let (a, b) = ((r % 13) as f64 / 6.0 - 1.0, (r % 7) as f64 / 3.0 - 1.0);
        match j {
            0 => a,
            1 => b,
            _ => a + b,
        }
    });
    let hidden: Vec<usize> = (0..320).step_by(4).collect();
    (hide(&v, 2, |r| r % 4 == 0), hidden, v)
}

#[test]
fn hybrid_imputer_learns_its_target_column() {
    let (data, hidden, truth) = sum_data();
    let mut h = HybridImputer::new("c2", 8);
    h.config.epochs_per_stage = 15;
    let out = h.impute(&data, 3).unwrap();
    data.check_completed(&out, "hybrid").unwrap();
    let err = |out: &Array2<f64>| {
        (hidden
            .iter()
            .map(|&r| (out[[r, 2]] - truth[[r, 2]]).powi(2))
            .sum::<f64>()
            / hidden.len() as f64)
            .sqrt()
    };
    let mean = Mean.impute(&data, 0).unwrap();
    assert!(
        err(&out) < 0.25 * err(&mean),
        "hybrid {} mean {}",
        err(&out),
        err(&mean)
    );
    assert_eq!(h.name(), "hybrid 8q");
    let e = HybridImputer::new("nope", 8).impute(&data, 1).unwrap_err();
    assert!(
        matches!(e, Error::Imputation(_)) && e.to_string().contains("\"nope\""),
        "{e}"
    );
}

/// An executor that counts the circuits it runs and delegates to the exact unary path.
struct Counting(AtomicU64);

impl Executor for Counting {
    fn name(&self) -> String {
        "counting unary".into()
    }
    fn execute(
        &self,
        batch: &[CircuitRun<'_>],
        plan: &ShotPlan,
    ) -> butterfly_mps::Result<Vec<RunResult>> {
        self.0.fetch_add(batch.len() as u64, Ordering::SeqCst);
        UnaryExecutor.execute(batch, plan)
    }
}

#[test]
fn hybrid_final_layer_runs_on_the_given_executor() {
    let (data, hidden, truth) = sum_data();
    let exec = Arc::new(Counting(AtomicU64::new(0)));
    let mut h = HybridImputer::new("c2", 8);
    h.config.epochs_per_stage = 10;
    h.config.finetune_epochs = 0;
    h.label = Some("8q on executor".into());
    h.final_layer = Some(FinalLayer {
        executor: exec.clone(),
        gradient: GradientMethod::ParallelShift,
        shots: None,
        epochs: 3,
        predict_on_executor: true,
        train_rows: None,
    });
    let out = h.impute(&data, 2).unwrap();
    let ran = exec.0.load(Ordering::SeqCst);
    // ≥ 4 shifted circuits per training row per epoch of the last stage, plus the
    // predictions of the 80 hidden cells.
    let train_rows = 240 - 24; // 10 % validation
    assert!(
        ran >= 4 * train_rows as u64 + 80,
        "executor ran {ran} circuits"
    );
    let rmse = (hidden
        .iter()
        .map(|&r| (out[[r, 2]] - truth[[r, 2]]).powi(2))
        .sum::<f64>()
        / hidden.len() as f64)
        .sqrt();
    assert!(rmse < 0.4, "rmse {rmse}");
    assert_eq!(h.name(), "8q on executor");
    // Exact gradients never touch an executor: refused with a reason.
    h.final_layer.as_mut().unwrap().gradient = GradientMethod::Exact;
    let e = h.impute(&data, 2).unwrap_err().to_string();
    assert!(e.contains("shift-rule gradient"), "{e}");
}
