//! The imputation study on a cohort of any schema (issue 17): schema inference, roles,
//! leakage warnings, real-file robustness, errors naming file, line and column, the RHC
//! preset, the TOML spec, and the CLI run with flags only.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use butterfly_mps::data::{ColumnKind, TypedTable};
use butterfly_mps::impute::mcar_mask;
use butterfly_mps::study::cohort::{CohortSpec, MaskColumns};
use butterfly_mps::study::imputation::{load_study_data, RHC_EXCLUDED};
use butterfly_mps::study::schema::{ColumnType, Role};
use butterfly_mps::study::StudyConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small ICU-like cohort with a schema unlike RHC's: an id, padded text, a constant
/// column, a yes/no and an M/F column, native missing values written `?`, a 0/1
/// outcome and a "days to death" column that exists only for those who died.
fn cohort(rows: usize, seed: u64, eol: &str) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::from(
        "subject_id,\"unit\",weekday,site,gender,vent,age,heart_rate,sbp,lactate,gcs,hospital_expire_flag,days_to_death",
    );
    s.push_str(eol);
    for r in 0..rows {
        let sev: f64 = rng.random::<f64>() * 2.0 - 1.0;
        let noise = |rng: &mut ChaCha8Rng| rng.random::<f64>() - 0.5;
        let died = sev + 0.6 * noise(&mut rng) > 0.3;
        let lactate = if rng.random::<f64>() < 0.2 {
            "?".to_string()
        } else {
            format!("{:.2}", 2.0 + 1.5 * sev + 0.3 * noise(&mut rng))
        };
        write!(
            s,
            "{},\"{}\",{},A,{},{},{:.1},{:.0},{:.0},{},{:.0},{},{}{eol}",
            1000 + r,
            ["MICU", "SICU, east", "CCU"][r % 3],
            ["Friday   ", "  Monday", "Sunday"][r % 3],
            ["M", "F"][r % 2],
            ["yes", "no"][usize::from(sev < 0.0)],
            60.0 + 15.0 * noise(&mut rng) + 5.0 * sev,
            90.0 + 20.0 * sev + 5.0 * noise(&mut rng),
            120.0 - 25.0 * sev + 8.0 * noise(&mut rng),
            lactate,
            (12.0 - 3.0 * sev + noise(&mut rng)).round(),
            u8::from(died),
            if died {
                format!("{}", 1 + r % 20)
            } else {
                "?".into()
            },
        )
        .unwrap();
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn spec(path: &Path) -> CohortSpec {
    let mut s = CohortSpec::new(path, "hospital_expire_flag");
    s.missing_values = Some(vec!["?".into(), "NA".into()]);
    s
}

#[test]
fn line_endings_bom_quotes_and_padding_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let lf = cohort(80, 5, "\n");
    let variants = [
        ("lf.csv", lf.clone()),
        ("crlf.csv", cohort(80, 5, "\r\n")),
        ("cr.csv", cohort(80, 5, "\r")),
        ("bom.csv", format!("\u{feff}{}", cohort(80, 5, "\r\n"))),
    ];
    let mut schemas = Vec::new();
    for (name, text) in &variants {
        let path = write(dir.path(), name, text);
        let r = spec(&path).resolve().unwrap();
        assert_eq!(r.schema.rows, 80, "{name}");
        let mut s = r.schema.clone();
        s.data = String::new();
        schemas.push(s);
        let t = TypedTable::read(&path, &spec(&path).table_spec()).unwrap();
        // Padded text is trimmed; a quoted comma stays inside its cell.
        match &t.column("weekday").unwrap().kind {
            ColumnKind::Categorical { levels } => {
                assert_eq!(levels, &["Friday", "Monday", "Sunday"], "{name}")
            }
            k => panic!("{name}: weekday read as {k:?}"),
        }
        match &t.column("unit").unwrap().kind {
            ColumnKind::Categorical { levels } => {
                assert!(levels.contains(&"SICU, east".to_string()), "{name}")
            }
            k => panic!("{name}: unit read as {k:?}"),
        }
        // Lines are counted in the file's own line ends: row r is on line r + 2.
        assert_eq!(t.lines[79], 81, "{name}");
    }
    assert!(schemas.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn schema_says_types_roles_missing_and_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.csv", &cohort(200, 9, "\n"));
    let r = spec(&path).resolve().unwrap();
    let col = |n: &str| r.schema.columns.iter().find(|c| c.name == n).unwrap();
    let expect = [
        ("subject_id", ColumnType::IdentifierLike, Role::Excluded),
        ("unit", ColumnType::Categorical, Role::Feature),
        ("weekday", ColumnType::Categorical, Role::Feature),
        ("site", ColumnType::Constant, Role::Excluded),
        ("gender", ColumnType::Binary, Role::Feature),
        ("vent", ColumnType::Binary, Role::Feature),
        ("age", ColumnType::Numeric, Role::Masked),
        ("heart_rate", ColumnType::Numeric, Role::Masked),
        ("lactate", ColumnType::Numeric, Role::Masked),
        ("hospital_expire_flag", ColumnType::Binary, Role::Outcome),
        ("days_to_death", ColumnType::Numeric, Role::Masked),
    ];
    for (name, t, role) in expect {
        assert_eq!((col(name).column_type, col(name).role), (t, role), "{name}");
    }
    let lac = col("lactate").missing_fraction;
    assert!(lac > 0.1 && lac < 0.3, "{lac}");
    // The leak: a time to death that exists only for those who died, by name and by
    // its missingness.
    let w = r
        .schema
        .warnings
        .iter()
        .find(|w| w.column == "days_to_death")
        .expect("days_to_death flagged");
    assert!(
        w.reason.contains("missing") && w.reason.contains("death"),
        "{}",
        w.reason
    );
    assert!(r.schema.warnings.iter().all(|w| w.column != "age"));
    // The markdown and CSV say the same.
    let md = r.schema.markdown();
    assert!(md.contains("| subject_id | identifier-like |") && md.contains("days_to_death"));
    let csv = r.schema.csv();
    assert_eq!(csv.lines().count(), 14);
    assert!(
        csv.contains("\"site\",constant,1,0,excluded,\"constant\""),
        "{csv}"
    );
    // Excluding the leak takes it out of the study and out of the warnings.
    let mut s = spec(&path);
    s.exclude = vec!["days_to_death".into()];
    let r2 = s.resolve().unwrap();
    assert!(r2
        .schema
        .warnings
        .iter()
        .all(|w| w.column != "days_to_death"));
    assert!(!r2.config.masked.contains(&"days_to_death".to_string()));
    assert!(r2.config.excluded.contains(&"days_to_death".to_string()));
}

#[test]
fn native_missing_cells_are_kept_and_only_hidden_cells_scored() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.csv", &cohort(200, 9, "\n"));
    let mut s = spec(&path);
    s.exclude = vec!["days_to_death".into()];
    let r = s.resolve().unwrap();
    let data = load_study_data(&r.config).unwrap();
    let lac = data.features.column_index("lactate").unwrap();
    let native = data.features.missing_rows(lac).len();
    assert!(native > 20, "{native}");
    let (masked, mask) = mcar_mask(&data.features, &data.masked, 0.3, 4).unwrap();
    // Every hidden cell was present, and is now missing on top of the native ones.
    assert!(mask
        .cells
        .iter()
        .all(|&(row, c)| !data.features.is_missing(row, c) && masked.is_missing(row, c)));
    let hidden_lac = mask.cells.iter().filter(|&&(_, c)| c == lac).count();
    assert_eq!(masked.missing_rows(lac).len(), native + hidden_lac);
    assert!(mask.truth.iter().all(|v| v.is_finite()));
}

#[test]
fn errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = cohort(60, 3, "\n");
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    // Outcome 2 on file line 5 (row 4).
    let mut bad = lines.clone();
    let cells: Vec<&str> = bad[4].split(',').collect();
    let n = cells.len();
    let mut cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
    cells[n - 2] = "2".into();
    bad[4] = cells.join(",");
    let p = write(dir.path(), "bad_outcome.csv", &(bad.join("\n") + "\n"));
    let e = spec(&p).resolve().unwrap_err().to_string();
    assert!(
        e.contains("bad_outcome.csv:5, column \"hospital_expire_flag\"") && e.contains("binary"),
        "{e}"
    );
    // Outcome missing on line 7.
    let mut cells: Vec<String> = lines[6].split(',').map(String::from).collect();
    cells[n - 2] = "?".into();
    lines[6] = cells.join(",");
    let p = write(dir.path(), "no_outcome.csv", &(lines.join("\n") + "\n"));
    let e = spec(&p).resolve().unwrap_err().to_string();
    assert!(
        e.contains("no_outcome.csv:7, column \"hospital_expire_flag\"") && e.contains("missing"),
        "{e}"
    );
    let p = write(dir.path(), "c.csv", &good);
    // Unknown columns, wherever they are named.
    let mut s = spec(&p);
    s.exclude = vec!["wtkilo1".into()];
    let e = s.resolve().unwrap_err().to_string();
    assert!(
        e.contains("c.csv:1, column \"wtkilo1\"") && e.contains("named in exclude"),
        "{e}"
    );
    let mut s = spec(&p);
    s.outcome = "dth30".into();
    let e = s.resolve().unwrap_err().to_string();
    assert!(
        e.contains("column \"dth30\"") && e.contains("outcome"),
        "{e}"
    );
    let mut s = spec(&p);
    s.mask_columns = MaskColumns::List(vec!["age".into(), "sbp ".into()]);
    let e = s.resolve().unwrap_err().to_string();
    assert!(
        e.contains("column \"sbp \"") && e.contains("mask_columns"),
        "{e}"
    );
    // A masked column that is text.
    let mut s = spec(&p);
    s.mask_columns = MaskColumns::List(vec!["age".into(), "weekday".into()]);
    let e = s.resolve().unwrap_err().to_string();
    assert!(
        e.contains("c.csv:1, column \"weekday\"") && e.contains("must be numeric"),
        "{e}"
    );
    // A target that is not masked.
    let mut s = spec(&p);
    s.target_column = Some("vent".into());
    let e = s.resolve().unwrap_err().to_string();
    assert!(e.contains("column \"vent\"") && e.contains("masked"), "{e}");
    // A cohort too small for the split.
    let p = write(dir.path(), "tiny.csv", &cohort(25, 3, "\n"));
    let e = spec(&p).resolve().unwrap_err().to_string();
    assert!(
        e.contains("tiny.csv") && e.contains("too small for the split") && e.contains("8 test"),
        "{e}"
    );
    // Bad settings before any reading.
    let mut s = spec(&p);
    s.qubits = vec![12];
    assert!(s
        .resolve()
        .unwrap_err()
        .to_string()
        .contains("powers of two"));
    // Without the `?` marker, `?` is text in a numeric column: named with its line.
    let mut s = spec(&dir.path().join("c.csv"));
    s.missing_values = None;
    let e = s.resolve().unwrap_err().to_string();
    assert!(
        e.contains("c.csv:") && e.contains("\"?\" is not a number"),
        "{e}"
    );
}

#[test]
fn toml_round_trip_repeats_the_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.csv", &cohort(120, 2, "\n"));
    let r = spec(&path).resolve().unwrap();
    let text = r.spec.to_toml();
    assert!(
        text.contains("mask_columns = [") && text.contains("target_column ="),
        "{text}"
    );
    let again = CohortSpec::from_toml(&text, Path::new("study.toml")).unwrap();
    assert_eq!(again, r.spec);
    let r2 = again.resolve().unwrap();
    assert_eq!(r2.spec, r.spec);
    assert_eq!(
        (
            &r2.config.masked,
            &r2.config.excluded,
            &r2.config.target_column
        ),
        (
            &r.config.masked,
            &r.config.excluded,
            &r.config.target_column
        )
    );
    // "auto" and unknown keys.
    let auto = CohortSpec::from_toml(
        "data = \"x.csv\"\noutcome = \"y\"\nmask_columns = \"auto\"\n",
        Path::new("a.toml"),
    )
    .unwrap();
    assert_eq!(auto.mask_columns, MaskColumns::Auto);
    assert_eq!(auto.seeds, 10);
    let e = CohortSpec::from_toml(
        "data = \"x\"\noutcome = \"y\"\nseed = 3\n",
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("a.toml") && e.contains("seed"), "{e}");
    let e = CohortSpec::from_toml(
        "data = \"x\"\noutcome = \"y\"\nmask_columns = \"all\"\n",
        Path::new("a.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("auto"), "{e}");
}

#[test]
fn rhc_preset_is_the_default_study() {
    let mut preset = CohortSpec::rhc();
    preset.data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/rhc.csv").into();
    for quick in [false, true] {
        let mut p = preset.clone();
        p.quick = quick;
        let r = p.resolve().unwrap();
        let mut d = if quick {
            StudyConfig::quick()
        } else {
            StudyConfig::default()
        };
        d.data = p.data.clone();
        let c = &r.config;
        assert_eq!(
            (&c.data, &c.spec, &c.outcome),
            (&d.data, &d.spec, &d.outcome)
        );
        assert_eq!((&c.masked, &c.target_column), (&d.masked, &d.target_column));
        let mut a = c.excluded.clone();
        a.push("dth30".into());
        a.sort();
        let mut b: Vec<String> = RHC_EXCLUDED.iter().map(|s| s.to_string()).collect();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(d.excluded.len(), b.len());
        assert_eq!(c.hybrids.len(), d.hybrids.len());
        for (h, g) in c.hybrids.iter().zip(&d.hybrids) {
            assert_eq!((&h.target, &h.config), (&g.target, &g.config));
            assert_eq!(format!("{:?}", h.base), format!("{:?}", g.base));
            assert!(h.final_layer.is_none() && h.label.is_none());
        }
        assert_eq!(
            (c.seeds, c.first_seed, c.missing_rate, c.test_fraction),
            (10, d.first_seed, d.missing_rate, d.test_fraction)
        );
        assert_eq!(
            format!("{:?}", (c.knn, c.mice, c.forest, c.deep_mice)),
            format!("{:?}", (d.knn, d.mice, d.forest, d.deep_mice))
        );
        assert_eq!(c.classical, d.classical);
        assert!(r.schema.warnings.is_empty(), "{:?}", r.schema.warnings);
    }
}

fn bfly(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_runs_another_cohort_with_flags_only_and_repeats_it_from_its_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "icu.csv", &cohort(120, 8, "\r"));
    let out1 = dir.path().join("run1");
    let o = bfly(&[
        "study",
        "imputation",
        "--data",
        path.to_str().unwrap(),
        "--outcome",
        "hospital_expire_flag",
        "--exclude",
        "days_to_death",
        "--missing-values",
        "?,NA",
        "--mask-columns",
        "auto",
        "--target-column",
        "lactate",
        "--qubits",
        "4",
        "--quick",
        "--seeds",
        "2",
        "--out",
        out1.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("| subject_id | identifier-like |"),
        "{stdout}"
    );
    assert!(stdout.contains("| hybrid 4q |"), "{stdout}");
    for f in [
        "schema.md",
        "schema.csv",
        "study.toml",
        "imputation.csv",
        "imputation.md",
    ] {
        assert!(out1.join(f).exists(), "{f}");
    }
    let toml = std::fs::read_to_string(out1.join("study.toml")).unwrap();
    assert!(toml.contains("target_column = \"lactate\"") && toml.contains("quick = true"));
    // The same run from the written file alone.
    let out2 = dir.path().join("run2");
    let o = bfly(&[
        "study",
        "imputation",
        "--config",
        out1.join("study.toml").to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let strip = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(
        strip(&out1.join("imputation.csv")),
        strip(&out2.join("imputation.csv"))
    );
    assert_eq!(
        std::fs::read_to_string(out1.join("study.toml")).unwrap(),
        std::fs::read_to_string(out2.join("study.toml")).unwrap()
    );
    // Without --outcome the RHC preset is looked for, and the error says so.
    let o = bfly(&[
        "study",
        "imputation",
        "--data",
        path.to_str().unwrap(),
        "--schema-only",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("icu.csv:1") && err.contains("--outcome"),
        "{err}"
    );
}

#[test]
fn dense_networks_model_variance_and_equal_width_tests() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.csv", &cohort(160, 6, "\n"));
    let mut s = spec(&path);
    s.exclude = vec!["days_to_death".into()];
    s.target_column = Some("lactate".into());
    s.quick = true;
    s.seeds = 3;
    s.qubits = vec![4, 8];
    s.dense_widths = vec![4];
    s.training_seeds = 3;
    let r = s.resolve().unwrap();
    let mut steps = 0;
    let mut done = 0;
    let report = butterfly_mps::study::run_study(&r.config, &mut |e| match e {
        butterfly_mps::study::StudyEvent::Start { steps: k } => steps = *k,
        butterfly_mps::study::StudyEvent::Done { .. } => done += 1,
    })
    .unwrap();
    // 6 classical + 2 hybrids + 1 dense, 3 seeds; 3 models × 3 training seeds.
    assert_eq!((steps, done), (9 * 3 + 9, 9 * 3 + 9));
    let dense = report
        .methods
        .iter()
        .find(|m| m.name == "dense NN 4")
        .unwrap();
    assert!(!dense.quantum && dense.auc.len() == 3);
    assert!(dense.target_rmse.iter().all(|v| v.is_finite() && *v > 0.0));
    // The hybrid of width 4 is compared with the dense network of width 4; the 8-qubit
    // hybrid has no partner.
    assert_eq!(report.equal_width.len(), 1);
    assert_eq!(
        (
            report.equal_width[0].hybrid.as_str(),
            report.equal_width[0].classical.as_str()
        ),
        ("hybrid 4q", "dense NN 4")
    );
    assert_eq!(report.comparisons.len(), 2);
    assert_eq!(report.model_variance.len(), 3);
    for v in &report.model_variance {
        let m = report.methods.iter().find(|m| m.name == v.method).unwrap();
        // Training seed 0 is the study's own run at the first seed: the same AUC.
        assert_eq!(v.auc[0], m.auc[0], "{}", v.method);
        assert_eq!(v.auc.len(), 3);
        assert!(v.std_training.is_finite() && v.std_masks.is_finite());
    }
    let md = report.markdown();
    assert!(
        md.contains("Model variance") && md.contains("same width"),
        "{md}"
    );
}

#[test]
fn shipped_second_cohort_reads_to_its_committed_schema_with_flags_only() {
    use sha2::{Digest, Sha256};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bytes = std::fs::read(root.join("data/pn2012.csv")).unwrap();
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "8f848f613109fcd152002e55a46c0971083fe2f1d03337456d1c785ff7f2d0bc"
    );
    // The committed study.toml resolves to the committed schema (its target now named,
    // not chosen, so the notes are left out of the comparison).
    let mut spec = CohortSpec::read_toml(&root.join("docs/imputation/pn2012/study.toml")).unwrap();
    spec.data = root.join(&spec.data);
    let r = spec.resolve().unwrap();
    let no_notes = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(
        no_notes(&r.schema.csv()),
        no_notes(&std::fs::read_to_string(root.join("docs/imputation/pn2012/schema.csv")).unwrap())
    );
    assert_eq!(
        (r.config.outcome.as_str(), r.config.target_column.as_str()),
        ("death", "Age")
    );
    // Flags only, from the repository root, as the README shows.
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .current_dir(&root)
        .args([
            "study",
            "imputation",
            "--data",
            "data/pn2012.csv",
            "--outcome",
            "death",
        ])
        .args(["--exclude", "LOS", "--schema-only", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("schema.md")).unwrap(),
        std::fs::read_to_string(root.join("docs/imputation/pn2012/schema.md")).unwrap()
    );
    // Without the exclusion, LOS is flagged.
    let o = bfly(&[
        "study",
        "imputation",
        "--data",
        root.join("data/pn2012.csv").to_str().unwrap(),
        "--outcome",
        "death",
        "--schema-only",
        "--out",
        dir.path().join("b").to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("- `LOS`: its name contains \"los\""), "{out}");
}

#[test]
fn wide_text_columns_are_refused_before_encoding_and_excluded_ones_never_encoded() {
    let dir = tempfile::tempdir().unwrap();
    // 6,000 distinct free-text values in a column declared categorical: one-hot would
    // give 6,000 feature columns.
    let mut csv = String::from("note,x,y,o\n");
    for r in 0..6000 {
        writeln!(csv, "text {r},{},{},{}", r % 17, (r * 7) % 23, r % 2).unwrap();
    }
    let path = write(dir.path(), "wide.csv", &csv);
    let mut c = StudyConfig::quick().with_target("x");
    c.data = path.clone();
    c.outcome = "o".into();
    c.excluded = vec![];
    c.masked = vec!["x".into(), "y".into()];
    c.spec = Default::default();
    let e = load_study_data(&c).unwrap_err().to_string();
    assert!(
        e.contains("\"note\" (6000 columns)") && e.contains("at most"),
        "{e}"
    );
    // Excluded, it costs nothing.
    c.excluded = vec!["note".into()];
    let d = load_study_data(&c).unwrap();
    assert_eq!(d.features.names, vec!["x", "y"]);
    // Through the cohort spec the column is inferred identifier-like and excluded.
    let r = CohortSpec::new(&path, "o").resolve().unwrap();
    assert!(r.config.excluded.contains(&"note".to_string()));
}
