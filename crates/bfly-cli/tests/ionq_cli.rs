//! `bfly ionq-emulator` and `bfly ionq …` end to end: the emulator runs as a child process
//! on an ephemeral loopback port; the CLI submits, waits, reads results, exports.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use butterfly_mps::bits::BitString;
use butterfly_mps::circuit::Circuit;
use butterfly_mps::sim::{simulate, Engine, Simulator};

const NATIVE: &str = r#"{"qubits": 3, "ops": [
  {"gate": "gpi", "qubit": 0, "phase": 0.0},
  {"gate": "gpi2", "qubit": 1, "phase": 0.1},
  {"gate": "ms", "qubits": [1, 2], "phases": [0, 0.25], "angle": 0.07}]}"#;

/// The emulator child; killed (by its own handle) when dropped.
struct EmulatorProcess {
    child: Child,
    base: String,
    // Kept open for the child's lifetime, so its stdout never hits a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(key: &str) -> EmulatorProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(["ionq-emulator", "--port", "0", "--api-key", key])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    EmulatorProcess {
        child,
        base: format!("{addr}/v0.4"),
        _stdout: stdout,
    }
}

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .env_remove("IONQ_API_KEY")
        .output()
        .unwrap()
}

#[test]
fn submit_wait_results_and_export_through_the_cli() {
    let emu = start_emulator("cli-key");
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("native.json");
    std::fs::write(&circuit, NATIVE).unwrap();
    let c = circuit.to_str().unwrap();

    let out = bfly(&[
        "ionq",
        "submit",
        "-c",
        c,
        "--backend",
        "simulator",
        "--wait",
        "--json",
        "--base-url",
        &emu.base,
        "--api-key",
        "cli-key",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ir = Circuit::from_json(NATIVE).unwrap();
    let state = simulate(&Engine::StateVector, &ir, &ir.parameters).unwrap();
    for i in 0..8u64 {
        let exact = state.probability(&BitString::from_index(3, i)).unwrap();
        let got = p.get(i.to_string()).and_then(|v| v.as_f64()).unwrap_or(0.0);
        assert!((got - exact).abs() < 1e-12, "state {i}: {got} vs {exact}");
    }

    // Submit without waiting, then status and results by id.
    let out = bfly(&[
        "ionq",
        "submit",
        "-c",
        c,
        "--base-url",
        &emu.base,
        "--api-key",
        "cli-key",
    ]);
    assert!(out.status.success());
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut status = String::new();
    for _ in 0..200 {
        let out = bfly(&[
            "ionq",
            "status",
            &id,
            "--base-url",
            &emu.base,
            "--api-key",
            "cli-key",
        ]);
        status = String::from_utf8(out.stdout).unwrap();
        if status.contains("completed") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(status.contains("completed"), "{status}");
    let out = bfly(&[
        "ionq",
        "results",
        &id,
        "--shots",
        "100",
        "--base-url",
        &emu.base,
        "--api-key",
        "cli-key",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("100  key      1"), "{text}"); // qubit 0 set: key 1, printed "100"

    // Wrong key: a clean error, exit code 1, the key not echoed.
    let out = bfly(&[
        "ionq",
        "backends",
        "--base-url",
        &emu.base,
        "--api-key",
        "not-the-key",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("401") && !err.contains("not-the-key"), "{err}");

    // Export: the v0.4 body, and Forte refusing MS before anything is written.
    let job = dir.path().join("job.json");
    let out = bfly(&[
        "ionq",
        "export",
        "-c",
        c,
        "--backend",
        "qpu.aria-1",
        "--shots",
        "1024",
        "--out",
        job.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&job).unwrap()).unwrap();
    assert_eq!(body["type"], "ionq.circuit.v1");
    assert_eq!(body["backend"], "qpu.aria-1");
    assert_eq!(
        body["input"]["circuit"][2]["phases"],
        serde_json::json!([0.0, 0.25])
    );
    let forte = dir.path().join("forte.json");
    let out = bfly(&[
        "ionq",
        "export",
        "-c",
        c,
        "--backend",
        "qpu.forte-1",
        "--out",
        forte.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("op #2 (ms)"));
    assert!(!forte.exists());
}
