//! The weak cases of the reliability issue, as a careless user meets them: each is either
//! done right or refused before any work with rc 1 and a message that says what to change,
//! and nothing the user gave or saved is changed by a refusal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// rc 1, a message containing every one of `needles`, and no panic.
fn refused(o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    for needle in needles {
        assert!(e.contains(needle), "should contain {needle:?}: {e}");
    }
}

/// A small regression table `a,b,y` of `rows` rows (line ends `eol`), with `cell` as the
/// `a` of row 3.
fn table(dir: &Path, name: &str, rows: usize, eol: &str, cell: Option<&str>) -> PathBuf {
    let path = dir.join(name);
    let mut csv = format!("a,b,y{eol}");
    for i in 0..rows {
        let (a, b) = (i as f64 / rows as f64, (i % 7) as f64);
        let a_text = match (i, cell) {
            (3, Some(c)) => c.to_string(),
            _ => a.to_string(),
        };
        csv.push_str(&format!("{a_text},{b},{}{eol}", a + 0.1 * b));
    }
    std::fs::write(&path, csv).unwrap();
    path
}

fn train<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--data",
        data,
        "--target",
        "y",
        "--out",
        out,
        "--qubits",
        "4",
        "--layers",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "8",
    ];
    args.extend_from_slice(extra);
    args
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// "an unfinished checkpoint is overwritten by a run without --resume".
#[test]
fn an_existing_checkpoint_is_never_replaced_without_resume_or_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 40, "\n", None);
    let (out, cp) = (dir.path().join("m.json"), dir.path().join("cp.json"));
    // An unfinished run's checkpoint: a finished one, marked as stopped after epoch 1 (the
    // state a killed run leaves; train_cli.rs kills real runs).
    let first = bfly(&train(s(&data), s(&out), &["--checkpoint", s(&cp)]));
    assert!(first.status.success(), "{}", stderr(&first));
    let mut finished_cp = butterfly_mps::train::Checkpoint::load(&cp).unwrap();
    assert!(finished_cp.state.finished);
    finished_cp.state.finished = false;
    finished_cp.state.epoch = 1;
    finished_cp.save(&cp).unwrap();
    let before = std::fs::read(&cp).unwrap();

    let o = bfly(&train(s(&data), s(&out), &["--checkpoint", s(&cp)]));
    refused(
        &o,
        &["unfinished run (after epoch 1)", "--resume", "--force"],
    );
    assert_eq!(
        std::fs::read(&cp).unwrap(),
        before,
        "the checkpoint changed"
    );

    // A finished run's checkpoint is kept too, and a file that is no checkpoint at all.
    let o = bfly(&train(s(&data), s(&out), &["--checkpoint", s(&out)]));
    refused(&o, &["same file"]);
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    let o = bfly(&train(s(&data), s(&out), &["--checkpoint", s(&notes)]));
    refused(&o, &["is not a checkpoint", "--force"]);
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes");

    // --force starts over on purpose, and --resume with --force is a contradiction.
    let o = bfly(&train(
        s(&data),
        s(&out),
        &["--checkpoint", s(&cp), "--force"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        butterfly_mps::train::Checkpoint::load(&cp)
            .unwrap()
            .state
            .finished
    );
    let o = bfly(&train(
        s(&data),
        s(&out),
        &["--checkpoint", s(&cp), "--force", "--resume"],
    ));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// "`--epochs 0` writes a 1-layer model".
#[test]
fn zero_epochs_per_stage_is_refused_for_layerwise_training_and_documented_for_joint() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 40, "\n", None);
    let out = dir.path().join("m.json");
    let mut args = train(s(&data), s(&out), &[]);
    let epochs = args.iter().position(|a| *a == "--epochs").unwrap();
    args[epochs + 1] = "0";
    let o = bfly(&args);
    refused(&o, &["0 epochs per layer-wise stage", "1-layer model"]);
    assert!(!out.exists());
    // With --joint the initial model of all layers is written untrained, as documented.
    args.push("--joint");
    let o = bfly(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        butterfly_mps::train::HybridModel::load(&out)
            .unwrap()
            .layers,
        2
    );
}

/// "`train` exits 0 with a model that cannot be loaded": a cell of 1e308 overflowed the
/// variance of the standardisation and the scale was written as `null`.
#[test]
fn a_huge_finite_cell_gives_a_model_that_loads_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 40, "\n", Some("1e308"));
    let out = dir.path().join("m.json");
    let o = bfly(&train(s(&data), s(&out), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("null"), "{text}");
    let model = butterfly_mps::train::HybridModel::load(&out).unwrap();
    assert!(model
        .input_scaling
        .scale
        .iter()
        .all(|v| v.is_finite() && *v > 0.0));
    let o = bfly(&["infer", "--model", s(&out), "--data", s(&data)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A run whose loss overflows (an unstandardised target of 1e300) stops with the cause and
/// writes no model, instead of a file of NaN.
#[test]
fn a_diverging_training_writes_nothing_and_says_what_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 40, "\n", None);
    let mut csv = std::fs::read_to_string(&data).unwrap();
    csv.push_str("0.5,1,1e300\n");
    std::fs::write(&data, csv).unwrap();
    let out = dir.path().join("m.json");
    let o = bfly(&train(s(&data), s(&out), &["--no-standardize"]));
    refused(&o, &["diverged", "training loss is inf", "standardize"]);
    assert!(!out.exists());
}

/// "path checks come after the work (`--save-state /nodir/x`, a study whose `--out` is a
/// file)": both refused at once, before any simulation or training.
#[test]
fn output_locations_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("c.json");
    let o = bfly(&["butterfly", "--qubits", "8", "--out", s(&circuit)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t0 = Instant::now();
    let o = bfly(&[
        "simulate",
        "--circuit",
        s(&circuit),
        "--save-state",
        "/nonexistent-folder/x.npz",
    ]);
    refused(
        &o,
        &["--save-state", "/nonexistent-folder", "does not exist"],
    );
    let file = dir.path().join("results");
    std::fs::write(&file, "keep me").unwrap();
    let o = bfly(&["study", "imputation", "--quick", "--out", s(&file)]);
    refused(&o, &["--out", "is a file"]);
    let o = bfly(&["sweep", "scaling", "--out", s(&file.join("sub"))]);
    refused(&o, &["--out", "is a file"]);
    let o = bfly(&["butterfly", "--qubits", "8", "--out", s(dir.path())]);
    refused(&o, &["--out", "is a folder"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
}

/// "`--params` silently ignores typo'd and extra keys"; "untagged-enum messages".
#[test]
fn parameter_typos_and_malformed_angles_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("c.json");
    assert!(bfly(&["butterfly", "--qubits", "4", "--out", s(&circuit)])
        .status
        .success());
    let params = dir.path().join("p.json");
    std::fs::write(&params, r#"{"trainable": [0.1], "inptus": [1]}"#).unwrap();
    let o = bfly(&["simulate", "--circuit", s(&circuit), "--params", s(&params)]);
    refused(&o, &["unknown field `inptus`", "`inputs`"]);
    let nan = dir.path().join("nan.json");
    std::fs::write(
        &nan,
        r#"{"qubits":2,"ops":[{"gate":"rbs","qubits":[0,1],"theta":"NaN"}]}"#,
    )
    .unwrap();
    let o = bfly(&["simulate", "--circuit", s(&nan)]);
    refused(
        &o,
        &[
            "op #0",
            r#"found the string "NaN""#,
            r#"{"trainable": slot}"#,
        ],
    );
    assert!(!stderr(&o).contains("untagged"));
}

/// "a CR-only CSV gives 'column name appears twice'": old-Mac line ends train like any
/// other file, to the same model.
#[test]
fn cr_only_line_ends_read_like_lf() {
    let dir = tempfile::tempdir().unwrap();
    let lf = table(dir.path(), "lf.csv", 40, "\n", None);
    let cr = table(dir.path(), "cr.csv", 40, "\r", None);
    let (m_lf, m_cr) = (dir.path().join("lf.json"), dir.path().join("cr.json"));
    assert!(bfly(&train(s(&lf), s(&m_lf), &[])).status.success());
    let o = bfly(&train(s(&cr), s(&m_cr), &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&m_lf).unwrap(),
        std::fs::read_to_string(&m_cr).unwrap()
    );
}

/// "Ctrl-C leaves `.name.tmp-<pid>` files": an interrupt ends the run with status 130, the
/// checkpoint on disk is a whole one, and no temporary is left in the folder.
#[test]
fn ctrl_c_ends_with_130_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 400, "\n", None);
    let (out, cp) = (dir.path().join("m.json"), dir.path().join("cp.json"));
    let mut args = train(s(&data), s(&out), &["--checkpoint", s(&cp)]);
    let epochs = args.iter().position(|a| *a == "--epochs").unwrap();
    args[epochs + 1] = "100000";
    for wait_ms in [0u64, 150, 400] {
        let _ = std::fs::remove_file(&cp);
        let child = Command::new(env!("CARGO_BIN_EXE_bfly"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while !cp.exists() && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(wait_ms));
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(130),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporaries left: {left:?}");
        let saved = butterfly_mps::train::Checkpoint::load(&cp).unwrap();
        assert!(!saved.state.finished);
        assert!(!out.exists());
    }
}

/// Shots of training and inference go through the local executors, which store one
/// outcome per shot: shots that cannot fit are refused with the memory needed, not an
/// abort.
#[test]
fn training_and_inference_shots_that_cannot_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 40, "\n", None);
    let out = dir.path().join("m.json");
    let shots = "1000000000000";
    let o = bfly(&train(
        s(&data),
        s(&out),
        &["--gradient", "parallel-shift", "--shots", shots],
    ));
    refused(
        &o,
        &[
            "sampling 1000000000000 shots per circuit",
            "needs",
            "fewer shots",
        ],
    );
    assert!(!out.exists());
    assert!(bfly(&train(s(&data), s(&out), &[])).status.success());
    let o = bfly(&[
        "infer",
        "--model",
        s(&out),
        "--data",
        s(&data),
        "--shots",
        shots,
    ]);
    refused(&o, &["sampling 1000000000000 shots per circuit", "needs"]);
}

/// `validate --model … --inputs 10^12` kept one result per input: refused up front.
#[test]
fn validation_inputs_that_cannot_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "x.csv", 40, "\n", None);
    let out = dir.path().join("m.json");
    assert!(bfly(&train(s(&data), s(&out), &[])).status.success());
    let o = bfly(&[
        "validate",
        "--model",
        s(&out),
        "--target",
        "aria",
        "--inputs",
        "1000000000000",
    ]);
    refused(
        &o,
        &["validation results of 1000000000000 random inputs", "needs"],
    );
}
