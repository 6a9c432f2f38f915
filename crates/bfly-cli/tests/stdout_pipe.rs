//! `bfly simulate … | head`: a reader that goes away ends bfly quietly (status 0), as
//! `cat` or `grep` would, instead of a "failed printing to stdout: Broken pipe" panic.

use std::process::{Command, Stdio};

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("c.json");
    let c = circuit.to_str().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(["butterfly", "-n", "64", "--loader", "hw2", "--out", c])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for args in [
        vec!["simulate", "--circuit", c, "--backend", "subspace"],
        vec![
            "simulate",
            "--circuit",
            c,
            "--backend",
            "subspace",
            "--json",
        ],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bfly"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before bfly has printed anything: every write sees EPIPE.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
