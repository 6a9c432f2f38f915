//! `bfly noisy` end to end: metrics printed, JSON document, typed errors.

use std::process::{Command, Output};

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn unary_circuit(dir: &std::path::Path, n: usize) -> String {
    let file = dir.join(format!("u{n}.json"));
    let f = file.to_str().unwrap().to_string();
    let n = n.to_string();
    let o = bfly(&[
        "butterfly",
        "--qubits",
        &n,
        "--loader",
        "unary",
        "--seed",
        "2",
        "--out",
        &f,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    f
}

#[test]
fn noisy_prints_tvd_marginal_error_and_kept_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let f = unary_circuit(dir.path(), 4);
    let o = bfly(&[
        "noisy",
        "--circuit",
        &f,
        "--noise",
        "forte-1",
        "--postselect-weight",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("forte-1"), "{out}");
    assert!(out.contains("density-matrix"), "{out}");
    assert!(out.contains("post-select w=1"), "{out}");
    // JSON: the metrics are numbers in range, post-selection reduces the error.
    let o = bfly(&[
        "noisy",
        "--circuit",
        &f,
        "--noise",
        "aria-1",
        "--postselect-weight",
        "1",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tvd = v["tvd"].as_f64().unwrap();
    let kept = v["postselection"]["kept_fraction"].as_f64().unwrap();
    let tvd_ps = v["postselection"]["tvd"].as_f64().unwrap();
    assert!(tvd > 0.0 && tvd < 0.5, "{tvd}");
    assert!(kept > 0.5 && kept < 1.0, "{kept}");
    assert!(
        tvd_ps < tvd,
        "post-selection should help a unary circuit: {tvd_ps} vs {tvd}"
    );
    // The ideal model gives zero distance.
    let o = bfly(&["noisy", "--circuit", &f, "--noise", "ideal", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["tvd"].as_f64().unwrap() < 1e-12);
    // Sampled trajectories with custom rates.
    let o = bfly(&[
        "noisy",
        "--circuit",
        &f,
        "--engine",
        "statevector",
        "--p2",
        "0.02",
        "--readout",
        "0.01,0.02",
        "--trajectories",
        "50",
        "--shots",
        "300",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["shots"].as_u64(), Some(300));
    assert!(v["model"].as_str().unwrap().starts_with("custom"));
}

#[test]
fn noisy_rejects_unknown_models_and_bad_rates() {
    let dir = tempfile::tempdir().unwrap();
    let f = unary_circuit(dir.path(), 4);
    let o = bfly(&["noisy", "--circuit", &f, "--noise", "forte-2"]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("unknown noise model \"forte-2\""), "{err}");
    assert!(err.contains("aria-1, aria-2, forte-1"), "{err}");
    let o = bfly(&["noisy", "--circuit", &f, "--p2", "1.5"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("not a probability"),
        "{}",
        text(&o.stderr)
    );
    let o = bfly(&["noisy", "--circuit", &f, "--postselect-weight", "9"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("post-selection weight 9"),
        "{}",
        text(&o.stderr)
    );
}
