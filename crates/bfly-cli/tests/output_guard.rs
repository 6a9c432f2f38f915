//! "Never destroy what the user gave us": a command whose output path names one of its
//! inputs (or another of its outputs) is refused before any work, with rc 1 and a message
//! naming both options, and the input is left byte for byte as it was. The first four
//! cases are the ones of the reliability issue.

use std::path::Path;
use std::process::{Command, Output};

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

/// Run `args`, expect the refusal naming `options`, and check `kept` is unchanged.
fn refused(args: &[&str], options: &[&str], kept: &Path) {
    let before = std::fs::read(kept).unwrap();
    let o = bfly(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.contains("same file"), "{args:?}: {stderr}");
    for option in options {
        assert!(
            stderr.contains(option),
            "{args:?} should name {option}: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read(kept).unwrap(),
        before,
        "{args:?} changed {kept:?}"
    );
}

fn table(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("x.csv");
    let mut csv = String::from("a,b,y\n");
    for i in 0..40 {
        let (a, b) = (i as f64 / 40.0, (i % 7) as f64);
        csv.push_str(&format!("{a},{b},{}\n", a + 0.1 * b));
    }
    std::fs::write(&path, csv).unwrap();
    path
}

/// `bfly train` on `data` (target `y`) writing `out` and logging to `log`.
fn train_with_log<'a>(data: &'a Path, out: &'a Path, log: &'a Path) -> Vec<&'a str> {
    let path = |p: &'a Path| p.to_str().unwrap();
    vec![
        "train",
        "--data",
        path(data),
        "--target",
        "y",
        "--out",
        path(out),
        "--log-json",
        path(log),
    ]
}

#[test]
fn train_out_equal_to_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x = table(dir.path());
    let x = x.to_str().unwrap();
    refused(
        &["train", "--data", x, "--target", "y", "--out", x],
        &["--out", "--data"],
        Path::new(x),
    );
}

#[test]
fn train_log_json_equal_to_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x = table(dir.path());
    let model = dir.path().join("m.json");
    // The same file spelled differently: through `sub/..`.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let alias = dir.path().join("sub").join("..").join("x.csv");
    refused(
        &train_with_log(&x, &model, &alias),
        &["--log-json", "--data"],
        &x,
    );
    assert!(!model.exists(), "nothing is trained before the check");
}

#[test]
fn infer_out_equal_to_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x = table(dir.path());
    let x = x.to_str().unwrap();
    // The check comes first: the model is not even read.
    let model = dir.path().join("no-model.json");
    refused(
        &[
            "infer",
            "--model",
            model.to_str().unwrap(),
            "--data",
            x,
            "--out",
            x,
        ],
        &["--out", "--data"],
        Path::new(x),
    );
}

#[test]
fn compile_out_equal_to_circuit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("c.json");
    let c = circuit.to_str().unwrap();
    let o = bfly(&["butterfly", "-n", "4", "--out", c]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    refused(
        &["compile", "--target", "forte", "--circuit", c, "--out", c],
        &["--out", "--circuit"],
        &circuit,
    );
    #[cfg(unix)]
    {
        // Through a symlink, and for the QASM output too.
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&circuit, &link).unwrap();
        refused(
            &[
                "compile",
                "--target",
                "forte",
                "--circuit",
                c,
                "--qasm",
                link.to_str().unwrap(),
            ],
            &["--qasm", "--circuit"],
            &circuit,
        );
    }
}

#[test]
fn two_outputs_on_one_file_and_state_over_circuit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("c.json");
    let c = circuit.to_str().unwrap();
    assert!(bfly(&["butterfly", "-n", "4", "--out", c]).status.success());
    refused(
        &[
            "simulate",
            "--circuit",
            c,
            "--backend",
            "mps",
            "--save-state",
            c,
        ],
        &["--save-state", "--circuit"],
        &circuit,
    );
    let x = table(dir.path());
    let model = dir.path().join("m.json");
    let o = bfly(&train_with_log(&x, &model, &model));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--out") && stderr.contains("--log-json") && stderr.contains("overwrite"),
        "{stderr}"
    );
    assert!(!model.exists());
    // Distinct paths still work: a real compile writes its output.
    let out = dir.path().join("compiled.json");
    let o = bfly(&[
        "compile",
        "--target",
        "forte",
        "--circuit",
        c,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.exists());
}
