//! `--cutoff -0.1` (a negative number after the flag, with a space) reaches the library's
//! check and is refused for what it is, instead of clap's "unexpected argument '-0'".

use std::process::Command;

#[test]
fn a_negative_cutoff_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("c.json");
    let c = circuit.to_str().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(["butterfly", "-n", "8", "--loader", "hw2", "--out", c])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sweep_out = dir.path().join("sweep");
    for args in [
        vec![
            "simulate",
            "--circuit",
            c,
            "--backend",
            "mps",
            "--cutoff",
            "-0.1",
        ],
        vec![
            "noisy",
            "--circuit",
            c,
            "--noise",
            "ideal",
            "--engine",
            "mps",
            "--cutoff",
            "-0.1",
        ],
        vec![
            "sweep",
            "accuracy",
            "--families",
            "hw2",
            "--qubits",
            "16",
            "--chi",
            "4",
            "--cutoff",
            "-0.1",
            "--out",
            sweep_out.to_str().unwrap(),
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_bfly"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("unexpected argument"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("cutoff -0.1"), "{args:?}: {stderr}");
    }
}
