//! `bfly ionq-emulator` and `bfly ionq …` with careless input (issue 20): an empty or
//! missing emulator key, limits on the command line, bodies IonQ would reject, a job that
//! fails inside the emulator while `submit --wait` waits, credentials in a base URL.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use butterfly_mps::circuit::Circuit;
use butterfly_mps::ionq::emulator::{Emulator, EmulatorConfig, JobRunner};
use butterfly_mps::ionq::format::{ApiVersion, NoiseRequest, Probabilities};
use butterfly_mps::Result;

const NATIVE: &str = r#"{"qubits": 2, "ops": [
  {"gate": "gpi2", "qubit": 0, "phase": 0.0},
  {"gate": "ms", "qubits": [0, 1], "phases": [0, 0.25], "angle": 0.25}]}"#;

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .env_remove("IONQ_API_KEY")
        .output()
        .unwrap()
}

/// Run `bfly` with a deadline: a hang is a test failure, not a hung test.
fn bfly_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .env_remove("IONQ_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bfly {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn circuit_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("native.json");
    std::fs::write(&path, NATIVE).unwrap();
    path.to_str().unwrap().to_string()
}

/// `bfly ionq-emulator` as a child: its start-up lines, killed when dropped.
struct Child2 {
    child: Child,
    lines: Vec<String>,
    // Kept open for the child's lifetime, so its stdout never hits a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Drop for Child2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_emulator(args: &[&str], env_key: Option<&str>) -> Child2 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bfly"));
    cmd.arg("ionq-emulator").args(["--port", "0"]).args(args);
    cmd.env_remove("IONQ_API_KEY");
    if let Some(k) = env_key {
        cmd.env("IONQ_API_KEY", k);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    // The banner is three lines (address, what it is, limits); a refused start none.
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        lines.push(l);
    }
    Child2 {
        child,
        lines,
        _stdout: out,
    }
}

#[test]
fn the_emulator_refuses_an_empty_or_missing_key_and_no_auth_is_explicit() {
    for (args, env) in [
        (vec!["ionq-emulator", "--port", "0", "--api-key", ""], None),
        (
            vec!["ionq-emulator", "--port", "0", "--api-key", "   "],
            None,
        ),
        (vec!["ionq-emulator", "--port", "0"], Some("")),
        (vec!["ionq-emulator", "--port", "0"], None),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bfly"));
        cmd.args(&args).env_remove("IONQ_API_KEY");
        if let Some(k) = env {
            cmd.env("IONQ_API_KEY", k);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("{args:?} (IONQ_API_KEY {env:?}) started an emulator");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("--no-auth"), "{args:?}: {err}");
    }
    // --no-auth starts it, and says so.
    let emu = spawn_emulator(&["--no-auth"], None);
    let text = emu.lines.concat();
    assert!(
        text.contains("any API key is accepted (--no-auth)"),
        "{text}"
    );
    assert!(text.contains("Limits: 1000000 shots"), "{text}");
    // A key and --no-auth contradict each other.
    let out = bfly(&[
        "ionq-emulator",
        "--port",
        "0",
        "--no-auth",
        "--api-key",
        "k",
    ]);
    assert!(!out.status.success());
}

fn base_of(emu: &Child2) -> String {
    let addr = emu.lines[0]
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {:?}", emu.lines))
        .to_string();
    format!("{addr}/v0.4")
}

#[test]
fn emulator_limits_are_set_on_the_command_line() {
    let emu = spawn_emulator(
        &["--api-key", "k", "--max-shots", "10", "--max-gates", "1"],
        None,
    );
    let base = base_of(&emu);
    let dir = tempfile::tempdir().unwrap();
    let c = circuit_file(&dir);
    let out = bfly_within(
        &[
            "ionq",
            "submit",
            "-c",
            &c,
            "--backend",
            "qpu.aria-1",
            "--shots",
            "5",
            "--base-url",
            &base,
            "--api-key",
            "k",
        ],
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("HTTP 400") && stderr(&out).contains("max_gates"),
        "{}",
        stderr(&out)
    );
    let out = bfly(&[
        "ionq-emulator",
        "--port",
        "0",
        "--api-key",
        "k",
        "--job-workers",
        "0",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("job_workers"), "{}", stderr(&out));
}

#[test]
fn export_and_submit_refuse_shots_the_api_rejects_before_writing_or_sending() {
    let dir = tempfile::tempdir().unwrap();
    let c = circuit_file(&dir);
    for shots in ["0", "1000001", "18446744073709551615"] {
        let out_file = dir.path().join(format!("job-{shots}.json"));
        let out = bfly(&[
            "ionq",
            "export",
            "-c",
            &c,
            "--backend",
            "qpu.aria-1",
            "--shots",
            shots,
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "shots {shots}");
        assert!(stderr(&out).contains("shots"), "{}", stderr(&out));
        assert!(!out_file.exists(), "shots {shots}: a body was written");
    }
    // Submitting 2^64 − 1 shots: refused at once, nothing sent (the address is closed,
    // so a sent request would be a connection error instead).
    let t = Instant::now();
    let out = bfly_within(
        &[
            "ionq",
            "submit",
            "-c",
            &c,
            "--shots",
            "18446744073709551615",
            "--wait",
            "--base-url",
            "http://127.0.0.1:9/v0.4",
            "--api-key",
            "k",
        ],
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at most 1000000 shots"),
        "{}",
        stderr(&out)
    );
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// A simulator that panics on every job.
struct Panics;
impl JobRunner for Panics {
    fn name(&self) -> String {
        "panics".into()
    }
    fn run(
        &self,
        _: &Circuit,
        _: Option<u64>,
        _: Option<&NoiseRequest>,
        _: u64,
    ) -> Result<Probabilities> {
        panic!("simulator bug")
    }
}

#[test]
fn submit_wait_ends_with_the_failed_job_error_when_the_simulator_panics() {
    let mut config = EmulatorConfig::new("k");
    config.runner = Arc::new(Panics);
    config.stage_delay = Duration::from_millis(1);
    let emu = Emulator::start(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = circuit_file(&dir);
    let base = emu.base_url(ApiVersion::V0_4);
    let out = bfly_within(
        &[
            "ionq",
            "submit",
            "-c",
            &c,
            "--wait",
            "--base-url",
            &base,
            "--api-key",
            "k",
        ],
        Duration::from_secs(60),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("failed (InternalError)") && err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn credentials_in_the_base_url_are_never_echoed() {
    // An unusable URL: a typed error at once, not 11 s of retries.
    let t = Instant::now();
    let out = bfly_within(
        &[
            "ionq",
            "backends",
            "--base-url",
            "ftp://alice:s3cret@api.example/v0.4",
            "--api-key",
            "k",
        ],
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("base URL") && err.contains("***@"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // A live server's 404 names the URL: redacted.
    let emu = Emulator::start(EmulatorConfig::new("k")).unwrap();
    let base = format!("http://alice:s3cret@{}/v9", emu.addr());
    let out = bfly(&[
        "ionq",
        "status",
        "00000000-0000-4000-8000-000000000000",
        "--base-url",
        &base,
        "--api-key",
        "k",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("404") && !err.contains("s3cret"), "{err}");
}
