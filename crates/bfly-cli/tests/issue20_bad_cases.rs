//! Issue 20's acceptance: the bad cases of "Reliability: bounded resources, a hardened
//! emulator, and never destroying the user's files", re-run end to end through the `bfly`
//! binary, one test each, named as in the issue. Each must end in a typed error (rc 1, a
//! one-line message, no backtrace) or correct behaviour, within seconds.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .env_remove("IONQ_API_KEY")
        .output()
        .expect("bfly runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// rc 1 with a typed message containing every needle, and no panic or abort.
fn typed_error(o: &Output, needles: &[&str]) {
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "rc {:?}: {e}", o.status.code());
    assert!(e.starts_with("error: "), "{e}");
    assert!(!e.contains("panicked") && !e.contains("backtrace"), "{e}");
    for needle in needles {
        assert!(e.contains(needle), "should mention {needle:?}: {e}");
    }
}

/// `{"qubits": 1000000000, …}`: one X gate on a billion qubits.
fn billion_qubit_circuit(dir: &Path) -> PathBuf {
    let path = dir.join("huge.json");
    std::fs::write(
        &path,
        r#"{"qubits": 1000000000, "ops": [{"gate": "x", "qubit": 0}, {"gate": "rbs", "qubits": [0, 1], "theta": 0.3}]}"#,
    )
    .unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `args` on the billion-qubit circuit and expects a refusal that names memory, fast.
fn refused_for_memory(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let circuit = billion_qubit_circuit(dir.path());
    let mut all = args.to_vec();
    all.extend(["--circuit", s(&circuit)]);
    let t0 = Instant::now();
    let o = bfly(&all);
    typed_error(&o, &["needs"]);
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "{args:?} took {:?}",
        t0.elapsed()
    );
}

#[test]
fn oom_simulate_backend_mps_dense() {
    refused_for_memory(&["simulate", "--backend", "mps"]);
}

#[test]
fn oom_simulate_backend_mps_symmetry_u1() {
    refused_for_memory(&["simulate", "--backend", "mps", "--symmetry", "u1"]);
}

#[test]
fn oom_simulate_backend_subspace() {
    refused_for_memory(&["simulate", "--backend", "subspace"]);
}

#[test]
fn oom_compile() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    refused_for_memory(&["compile", "--target", "aria", "--out", s(&out)]);
    assert!(!out.exists());
}

#[test]
fn oom_validate() {
    refused_for_memory(&["validate", "--target", "aria"]);
}

#[test]
fn oom_noisy() {
    refused_for_memory(&["noisy", "--noise", "aria-1"]);
}

#[test]
fn oom_butterfly_qubits_1099511627776() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.json");
    let o = bfly(&["butterfly", "--qubits", "1099511627776", "--out", s(&out)]);
    typed_error(&o, &[]);
    assert!(!out.exists());
}

fn sixteen_qubit_circuit(dir: &Path) -> PathBuf {
    let path = dir.join("c16.json");
    let o = bfly(&["butterfly", "--qubits", "16", "--out", s(&path)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    path
}

/// `simulate --shots 1000000000` stored every shot (~70 B each): now counted, so it runs.
#[test]
fn simulate_shots_1000000000_is_counted_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = sixteen_qubit_circuit(dir.path());
    let o = bfly(&[
        "simulate",
        "--circuit",
        s(&circuit),
        "--shots",
        "1000000000",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let total = count_total(&report);
    assert_eq!(total, 1_000_000_000, "{report}");
}

/// The number of shots in a report's counts, wherever the report keeps them.
fn count_total(report: &Value) -> u64 {
    fn walk(v: &Value) -> Option<u64> {
        match v {
            Value::Object(map) => {
                if let Some(counts) = map.get("counts") {
                    let sum = match counts {
                        Value::Object(c) => c.values().filter_map(Value::as_u64).sum(),
                        Value::Array(a) => a
                            .iter()
                            .filter_map(|e| {
                                e.get("count")
                                    .and_then(Value::as_u64)
                                    .or_else(|| e.get(1).and_then(Value::as_u64))
                            })
                            .sum(),
                        _ => 0,
                    };
                    return Some(sum);
                }
                map.values().find_map(walk)
            }
            Value::Array(a) => a.iter().find_map(walk),
            _ => None,
        }
    }
    walk(report).unwrap_or_else(|| panic!("no counts in {report}"))
}

/// `noisy --shots 1000000000000`: counted from the noisy distribution, so it runs.
#[test]
fn noisy_shots_1000000000000() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = sixteen_qubit_circuit(dir.path());
    let o = bfly(&[
        "noisy",
        "--circuit",
        s(&circuit),
        "--noise",
        "aria-1",
        "--trajectories",
        "50",
        "--shots",
        "1000000000000",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(report["shots"], 1_000_000_000_000u64, "{report}");
}

/// `--shots 18446744073709551615` panicked with "capacity overflow": the shots are now
/// counts, so every engine draws all 2^64 − 1 of them.
#[test]
fn shots_18446744073709551615_capacity_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = sixteen_qubit_circuit(dir.path());
    for backend in ["statevector", "subspace", "mps"] {
        let o = bfly(&[
            "simulate",
            "--circuit",
            s(&circuit),
            "--backend",
            backend,
            "--shots",
            "18446744073709551615",
            "--json",
        ]);
        assert!(o.status.success(), "{backend}: {}", text(&o.stderr));
        let report: Value = serde_json::from_str(&text(&o.stdout)).unwrap();
        assert_eq!(count_total(&report), u64::MAX, "{backend}");
    }
    let o = bfly(&[
        "noisy",
        "--circuit",
        s(&circuit),
        "--noise",
        "aria-1",
        "--trajectories",
        "20",
        "--shots",
        "18446744073709551615",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

// ---------------------------------------------------------------- the emulator

const KEY: &str = "issue-20-key";

struct Emulator {
    child: Child,
    addr: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator() -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(["ionq-emulator", "--port", "0", "--api-key", KEY])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    Emulator {
        child,
        addr,
        _stdout: stdout,
    }
}

/// One request on its own connection; the status and the JSON body.
fn exchange(addr: &str, request: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = text(&raw);
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn get(addr: &str, path: &str) -> (u16, Value) {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: e\r\nAuthorization: apiKey {KEY}\r\nConnection: close\r\n\r\n"),
    )
}

fn post_job(addr: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    exchange(
        addr,
        &format!(
            "POST /v0.4/jobs HTTP/1.1\r\nHost: e\r\nAuthorization: apiKey {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn job(shots: u64, noise: bool) -> Value {
    let mut j = json!({
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": shots,
        "input": {"gateset": "qis", "qubits": 2, "circuit": [
            {"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}
        ]}
    });
    if noise {
        j["noise"] = json!({"model": "aria-1", "seed": 7});
    }
    j
}

/// The server still answers `GET /v0.4/backends`, within a second.
fn answers_backends(addr: &str) -> Duration {
    let t0 = Instant::now();
    let (status, body) = get(addr, "/v0.4/backends");
    let took = t0.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    took
}

#[test]
fn emulator_job_with_1000000000000_shots_and_a_noise_model() {
    let emu = start_emulator();
    let (status, body) = post_job(&emu.addr, &job(1_000_000_000_000, true));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("shots"),
        "{body}"
    );
    let took = answers_backends(&emu.addr);
    println!("10^12-shot noisy job: 400; /backends after it in {took:?}");
}

#[test]
fn emulator_job_with_2_pow_64_minus_1_shots() {
    let emu = start_emulator();
    let (status, body) = post_job(&emu.addr, &job(u64::MAX, false));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("shots"),
        "{body}"
    );
    // A job the emulator accepted never stays `started`: a valid one completes.
    let (status, body) = post_job(&emu.addr, &job(100, true));
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let (_, j) = get(&emu.addr, &format!("/v0.4/jobs/{id}"));
        match j["status"].as_str() {
            Some("completed") => break,
            Some("failed") => panic!("{j}"),
            _ => assert!(t0.elapsed() < Duration::from_secs(30), "{j}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn emulator_five_connections_with_post_headers_and_no_body() {
    let emu = start_emulator();
    let stalled: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(&emu.addr).unwrap();
            // No API key: the issue's stalled uploads were unauthenticated.
            s.write_all(b"POST /v0.4/jobs HTTP/1.1\r\nHost: e\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    let worst = (0..4).map(|_| answers_backends(&emu.addr)).max().unwrap();
    println!("50 stalled uploads open: /backends worst of 4 in {worst:?}");
    drop(stalled);
}

// ---------------------------------------------------------------- training and files

fn table(dir: &Path, cell: &str) -> PathBuf {
    let path = dir.join("x.csv");
    let mut csv = String::from("a,b,y\n");
    for i in 0..40 {
        let (a, b) = (i as f64 / 40.0, (i % 7) as f64);
        let a_text = if i == 5 {
            cell.to_string()
        } else {
            a.to_string()
        };
        csv.push_str(&format!("{a_text},{b},{}\n", a + 0.1 * b));
    }
    std::fs::write(&path, csv).unwrap();
    path
}

fn train_args<'a>(data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
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
        "3",
        "--batch-size",
        "8",
    ]
}

/// A feature cell of 1e308 gave `"scale":[null,…]` and a model `infer` could not load.
#[test]
fn train_feature_cell_1e308_gives_a_loadable_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "1e308");
    let out = dir.path().join("m.json");
    let o = bfly(&train_args(s(&data), s(&out)));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!std::fs::read_to_string(&out).unwrap().contains("null"));
    let o = bfly(&["infer", "--model", s(&out), "--data", s(&data)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// The four "input destroyed" cases: each refused, each input byte-identical after.
#[test]
fn output_path_equal_to_an_input_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "0.5");
    let model = dir.path().join("m.json");
    assert!(bfly(&train_args(s(&data), s(&model))).status.success());
    let circuit = sixteen_qubit_circuit(dir.path());
    let cases: Vec<(Vec<&str>, &Path)> = vec![
        (train_args(s(&data), s(&data)), &data),
        (
            [
                train_args(s(&data), s(&model)),
                vec!["--log-json", s(&data)],
            ]
            .concat(),
            &data,
        ),
        (
            vec![
                "infer",
                "--model",
                s(&model),
                "--data",
                s(&data),
                "--out",
                s(&data),
            ],
            &data,
        ),
        (
            vec![
                "compile",
                "--circuit",
                s(&circuit),
                "--target",
                "aria",
                "--out",
                s(&circuit),
            ],
            &circuit,
        ),
    ];
    for (args, kept) in cases {
        let before = std::fs::read(kept).unwrap();
        let o = bfly(&args);
        typed_error(&o, &["same file"]);
        assert_eq!(std::fs::read(kept).unwrap(), before, "{args:?}");
    }
}

/// Two trainings with one `--log-json` gave 140 records on one line.
#[test]
fn two_trainings_with_the_same_log_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), "0.5");
    let log = dir.path().join("log.jsonl");
    let (m1, m2) = (dir.path().join("m1.json"), dir.path().join("m2.json"));
    let spawn = |out: &Path| {
        let mut args = train_args(s(&data), s(out));
        args.extend(["--log-json", s(&log)]);
        Command::new(env!("CARGO_BIN_EXE_bfly"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&m1), spawn(&m2));
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 2 * 6, "{lines:?}"); // 2 runs × 2 stages × 3 epochs
    for line in &lines {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(record["epoch"].is_u64());
    }
}

/// `bfly simulate … | head` panicked with "failed printing to stdout: Broken pipe".
#[test]
fn simulate_piped_into_head() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = sixteen_qubit_circuit(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(["simulate", "--circuit", s(&circuit), "--shots", "2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes before bfly has printed anything: every write sees EPIPE.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
}
