//! The `bfly` binary end to end: generate, simulate, report, fail clearly.

use std::process::{Command, Output};

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn butterfly_then_subspace_simulation_at_128_qubits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b128.json");
    let f = file.to_str().unwrap();
    let o = bfly(&[
        "butterfly",
        "--qubits",
        "128",
        "--layers",
        "7",
        "--loader",
        "hw2",
        "--seed",
        "3",
        "--out",
        f,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("448 trainable angles"),
        "{}",
        stdout(&o)
    );

    let o = bfly(&[
        "simulate",
        "--circuit",
        f,
        "--backend",
        "subspace",
        "--json",
        "--shots",
        "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let marginals: Vec<f64> = serde_json::from_value(report["marginals"].clone()).unwrap();
    assert_eq!(marginals.len(), 128);
    assert!((marginals.iter().sum::<f64>() - 2.0).abs() < 1e-10);
    assert_eq!(report["samples"]["shots"], 100);
    assert!(report["timings"]["simulate"].as_f64().unwrap() > 0.0);

    // Readable summary by default.
    let o = bfly(&["simulate", "--circuit", f, "--backend", "subspace"]);
    let text = stdout(&o);
    assert!(text.contains("Σ = 2.000000000000"), "{text}");
    assert!(text.contains("backend subspace · 128 qubits"), "{text}");
}

#[test]
fn statevector_and_subspace_agree_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    let f = file.to_str().unwrap();
    assert!(bfly(&[
        "butterfly",
        "-n",
        "8",
        "--loader",
        "hw3",
        "--seed",
        "1",
        "-o",
        f
    ])
    .status
    .success());
    let get = |backend: &str| -> Vec<f64> {
        let o = bfly(&["simulate", "-c", f, "-b", backend, "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        serde_json::from_value(v["marginals"].clone()).unwrap()
    };
    let (a, b) = (get("statevector"), get("subspace"));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-12);
    }
}

#[test]
fn errors_exit_non_zero_with_actionable_messages() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"qubits":2,"ops":[{"gate":"rbs","qubits":[0,5],"theta":0.1}]}"#,
    )
    .unwrap();
    let o = bfly(&["simulate", "--circuit", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("error: op #0 (rbs): qubit 5 is out of range"),
        "{}",
        stderr(&o)
    );

    let out = dir.path().join("x.json");
    let o = bfly(&[
        "butterfly",
        "--qubits",
        "12",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("nearest valid sizes: 8 and 16"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing written on error");

    let angle = dir.path().join("angle.json");
    assert!(bfly(&[
        "butterfly",
        "-n",
        "8",
        "--loader",
        "angle",
        "-o",
        angle.to_str().unwrap()
    ])
    .status
    .success());
    let o = bfly(&["simulate", "-c", angle.to_str().unwrap(), "-b", "subspace"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("does not preserve Hamming weight"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec!["--help"],
        vec!["butterfly", "--help"],
        vec!["simulate", "--help"],
        vec!["demo", "--help"],
    ] {
        let o = bfly(&cmd);
        assert!(o.status.success());
        assert!(stdout(&o).contains("Usage: bfly"), "{}", stdout(&o));
    }
}

#[test]
fn demo_runs_and_cross_checks_agree() {
    let o = bfly(&["demo", "--json", "--simulation-only"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["headline"]["qubits"], 128);
    assert!((v["headline"]["expected_weight"].as_f64().unwrap() - 2.0).abs() < 1e-10);
    let mps = v["mps"].as_array().unwrap();
    assert_eq!(mps.len(), 2);
    let hw2 = &mps[0];
    let (estimate, truth) = (
        hw2["truncation"]["fidelity_estimate"].as_f64().unwrap(),
        hw2["true_fidelity"].as_f64().unwrap(),
    );
    assert!(
        truth > 0.5 && (estimate - truth).abs() / truth < 0.1,
        "{estimate} vs {truth}"
    );
    assert_eq!(mps[1]["truncation"]["max_bond_reached"], 64);
    let checks = v["cross_checks"].as_array().unwrap();
    assert!(checks.len() >= 4);
    for c in checks {
        assert!(c["max_abs_difference"].as_f64().unwrap() < 1e-12, "{c}");
    }
}

#[test]
fn mps_backend_reports_truncation_and_true_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a16.json");
    let f = file.to_str().unwrap();
    assert!(bfly(&[
        "butterfly",
        "-n",
        "16",
        "--loader",
        "angle",
        "--seed",
        "4",
        "-o",
        f
    ])
    .status
    .success());
    let run = |chi: &str| -> serde_json::Value {
        let o = bfly(&[
            "simulate",
            "-c",
            f,
            "-b",
            "mps",
            "--chi",
            chi,
            "--cutoff",
            "0",
            "--reference",
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    // Untruncated: exact.
    let exact = run("256");
    let t = &exact["details"]["truncation"];
    assert_eq!(t["total_discarded_weight"].as_f64().unwrap(), 0.0);
    assert!((exact["details"]["true_fidelity"].as_f64().unwrap() - 1.0).abs() < 1e-10);
    assert!(
        exact["details"]["reference"]["max_marginal_error"]
            .as_f64()
            .unwrap()
            < 1e-10
    );
    // Truncated: the estimate tracks the measured fidelity.
    let cut = run("4");
    let estimate = cut["details"]["truncation"]["fidelity_estimate"]
        .as_f64()
        .unwrap();
    let truth = cut["details"]["true_fidelity"].as_f64().unwrap();
    assert!(truth < 0.999 && truth > 0.0, "{truth}");
    assert!(
        (estimate - truth).abs() / truth < 0.2,
        "estimate {estimate} vs true {truth}"
    );
    assert_eq!(cut["details"]["reference"]["reference"], "state vector");

    // hw2 at 128 qubits: the reference is an untruncated MPS checked against the subspace.
    let hw = dir.path().join("h128.json");
    let h = hw.to_str().unwrap();
    assert!(bfly(&[
        "butterfly",
        "-n",
        "128",
        "--loader",
        "hw2",
        "--seed",
        "4",
        "-o",
        h
    ])
    .status
    .success());
    let o = bfly(&[
        "simulate",
        "-c",
        h,
        "-b",
        "mps",
        "--chi",
        "8",
        "--cutoff",
        "0",
        "--reference",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let reference = v["details"]["reference"]["reference"].as_str().unwrap();
    assert!(reference.starts_with("untruncated MPS"), "{reference}");
    let truth = v["details"]["true_fidelity"].as_f64().unwrap();
    let estimate = v["details"]["truncation"]["fidelity_estimate"]
        .as_f64()
        .unwrap();
    assert!(
        truth > 0.0 && truth < 1.0 && (estimate - truth).abs() < 0.1,
        "{estimate} vs {truth}"
    );
}

#[test]
fn mps_flags_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    let f = file.to_str().unwrap();
    assert!(bfly(&["butterfly", "-n", "8", "-o", f]).status.success());
    let o = bfly(&["simulate", "-c", f, "-b", "mps", "--chi", "0"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("χ = 0"), "{}", stderr(&o));
    let o = bfly(&["simulate", "-c", f, "--reference"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--reference applies to the mps backend only"),
        "{}",
        stderr(&o)
    );
    let state = dir.path().join("s.mps");
    let o = bfly(&[
        "simulate",
        "-c",
        f,
        "-b",
        "mps",
        "--save-state",
        state.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(state.exists());
}

#[test]
#[ignore = "slow tier: scripts/test_all.sh runs it (cargo test --release -- --include-ignored)"]
fn full_demo_runs_the_study_and_the_ionq_stage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = bfly(&["demo", "--json", "--out", out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["simulation"]["headline"]["qubits"], 128);
    // The quick imputation study: every method scored on every seed.
    let methods = v["imputation"]["methods"].as_array().unwrap();
    assert!(methods.len() >= 8, "{}", v["imputation"]);
    for m in methods {
        let aucs = m["auc"].as_array().unwrap();
        assert_eq!(aucs.len(), 3);
        assert!(
            aucs.iter()
                .all(|a| (0.6..0.9).contains(&a.as_f64().unwrap())),
            "{m}"
        );
    }
    assert!(dir.path().join("imputation").read_dir().unwrap().count() >= 3);
    // The IonQ stage: Forte natives only, validated to 1e-10, job body written.
    let ionq = &v["ionq"];
    assert!(
        1.0 - ionq["worst_fidelity"].as_f64().unwrap() < 1e-10,
        "{ionq}"
    );
    assert_eq!(ionq["inputs_validated"], 20);
    let job: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("job.forte-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(job["backend"], "qpu.forte-1");
    assert_eq!(job["input"]["gateset"], "native");
    assert_eq!(job["input"]["qubits"], 16);
    let gates = job["input"]["circuit"].as_array().unwrap();
    assert!(gates
        .iter()
        .all(|g| ["gpi", "gpi2", "zz"].contains(&g["gate"].as_str().unwrap())));
}
