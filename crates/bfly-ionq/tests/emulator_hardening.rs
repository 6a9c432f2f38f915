//! The emulator under hostile or careless clients (issue 20): stalled uploads, too many
//! connections, oversized requests and jobs, panicking and never-ending simulations, an
//! ever-growing job store, an empty API key. Each test starts its own emulator in-process
//! and talks to it over raw `TcpStream`s, so nothing in the client hides what the server
//! does. Latencies are printed (`cargo test -- --nocapture` shows them).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_ionq::client::{ApiKey, ClientConfig, IonqClient};
use bfly_ionq::emulator::{Emulator, EmulatorConfig, EmulatorLimits, JobRunner};
use bfly_ionq::format::{ApiVersion, IonqInput, JobSpec, JobStatus, NoiseRequest, Probabilities};
use bfly_ionq::NoisyRunner;
use serde_json::{json, Value};

const KEY: &str = "hardening-key";

fn start(limits: EmulatorLimits, runner: Option<Arc<dyn JobRunner>>) -> Emulator {
    let mut config = EmulatorConfig::new(KEY);
    config.stage_delay = Duration::from_millis(1);
    config.limits = limits;
    if let Some(r) = runner {
        config.runner = r;
    }
    Emulator::start(config).unwrap()
}

fn client(emu: &Emulator) -> IonqClient {
    let mut c = ClientConfig::new(ApiVersion::V0_4).with_base_url(emu.base_url(ApiVersion::V0_4));
    c.request_timeout = Duration::from_secs(10);
    c.max_attempts = 2;
    c.initial_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(20);
    c.poll_interval = Duration::from_millis(5);
    c.max_poll_interval = Duration::from_millis(20);
    c.wait_timeout = Some(Duration::from_secs(60));
    IonqClient::new(ApiKey::new(KEY).unwrap(), c).unwrap()
}

/// A status line, JSON body and the time from connect to the end of the answer.
struct Answer {
    status: u16,
    body: Value,
    took: Duration,
}

fn parse(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    (status, body)
}

/// Send `request` on a fresh connection and read until the server closes it.
fn exchange(addr: SocketAddr, request: &str) -> Answer {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let (status, body) = parse(&raw);
    Answer {
        status,
        body,
        took: t.elapsed(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Answer {
    exchange(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: emulator\r\nAuthorization: apiKey {KEY}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn post_job(addr: SocketAddr, body: &Value) -> Answer {
    let text = body.to_string();
    exchange(
        addr,
        &format!(
            "POST /v0.4/jobs HTTP/1.1\r\nHost: emulator\r\nAuthorization: apiKey {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        ),
    )
}

/// IonQ's error shape: `{"error", "message", "statusCode"}` with the HTTP status.
fn assert_ionq_error(a: &Answer, status: u16, needle: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["statusCode"], status, "{}", a.body);
    assert!(a.body["error"].is_string(), "{}", a.body);
    let m = a.body["message"].as_str().unwrap_or_default();
    assert!(m.contains(needle), "{m:?} does not mention {needle:?}");
}

/// A connection that sent a whole authorised POST head announcing a body, and no body.
fn stalled_upload(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(
        format!(
            "POST /v0.4/jobs HTTP/1.1\r\nHost: emulator\r\nAuthorization: apiKey {KEY}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    s
}

/// A QIS circuit body: H on every qubit, then a CNOT chain.
fn qis_job(qubits: usize, shots: Option<u64>, noise: Option<&str>) -> Value {
    let mut gates: Vec<Value> = (0..qubits)
        .map(|q| json!({"gate": "h", "target": q}))
        .collect();
    gates.extend((1..qubits).map(|q| json!({"gate": "cnot", "control": q - 1, "target": q})));
    let mut body = json!({
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {"gateset": "qis", "qubits": qubits, "circuit": gates},
    });
    if let Some(s) = shots {
        body["shots"] = json!(s);
    }
    if let Some(m) = noise {
        body["noise"] = json!({"model": m, "seed": 7});
    }
    body
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[test]
fn backends_answer_within_a_second_under_50_stalled_uploads_and_a_huge_noisy_job() {
    let emu = start(
        EmulatorLimits::default(),
        Some(Arc::new(NoisyRunner::default())),
    );
    let addr = emu.addr();
    let stalled: Vec<TcpStream> = (0..50).map(|_| stalled_upload(addr)).collect();
    wait_until("50 connections open", Duration::from_secs(5), || {
        emu.connections() >= 50
    });

    let mut latencies = Vec::new();
    for _ in 0..5 {
        let a = get(addr, "/v0.4/backends");
        assert_eq!(a.status, 200, "{}", a.body);
        assert!(
            a.body.as_array().is_some_and(|b| b.len() == 5),
            "{}",
            a.body
        );
        latencies.push(a.took);
    }
    let worst = latencies.iter().max().unwrap();
    println!(
        "GET /v0.4/backends with {} stalled uploads open: {:?} ms (worst {:.2} ms)",
        stalled.len(),
        latencies
            .iter()
            .map(|d| (ms(*d) * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        ms(*worst)
    );
    assert!(*worst < Duration::from_secs(1), "worst {worst:?}");

    // 10^12 shots with a noise model: refused before any work, the server stays up.
    let a = post_job(addr, &qis_job(4, Some(1_000_000_000_000), Some("aria-1")));
    println!(
        "POST of a 10^12-shot noisy job: HTTP {} in {:.2} ms",
        a.status,
        ms(a.took)
    );
    assert_ionq_error(&a, 400, "max_shots");
    assert_eq!(emu.stored_jobs(), 0);
    let a = get(addr, "/v0.4/backends");
    println!(
        "GET /v0.4/backends after it (stalled uploads still open): {:.2} ms",
        ms(a.took)
    );
    assert_eq!(a.status, 200);
    assert!(a.took < Duration::from_secs(1));

    // The biggest allowed noisy job (10^6 shots, 14 qubits, 200 state-vector
    // trajectories) runs while other requests are answered.
    let c = client(&emu);
    let a = post_job(addr, &qis_job(14, Some(1_000_000), Some("aria-1")));
    assert_eq!(a.status, 200, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    let mut during = Vec::new();
    loop {
        let info = c.job(&id).unwrap();
        if info.status.is_terminal() {
            assert_eq!(info.status, JobStatus::Completed, "{:?}", info.failure);
            break;
        }
        let a = get(addr, "/v0.4/backends");
        assert_eq!(a.status, 200);
        during.push(a.took);
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "the job did not end"
        );
    }
    let p = c.probabilities(&id).unwrap();
    let total: f64 = p.iter().map(|(_, q)| q).sum();
    assert!((total - 1.0).abs() < 1e-9);
    let worst = during.iter().max().copied().unwrap_or_default();
    println!(
        "10^6-shot noisy job (14 qubits, aria-1) ran {:.2} s; {} GET /v0.4/backends meanwhile, worst {:.2} ms; {} distinct outcomes kept",
        t.elapsed().as_secs_f64(),
        during.len(),
        ms(worst),
        p.iter().count()
    );
    assert!(worst < Duration::from_secs(1), "worst {worst:?}");
    drop(stalled);
}

#[test]
fn stalled_and_dripping_uploads_get_408_and_release_their_connection() {
    let limits = EmulatorLimits {
        io_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(800),
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let addr = emu.addr();

    // A head announcing 100 000 bytes, then nothing: 408 after io_timeout.
    let t = Instant::now();
    let mut s = stalled_upload(addr);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let (status, body) = parse(&raw);
    let took = t.elapsed();
    println!("stalled upload answered {status} after {:.0} ms", ms(took));
    assert_ionq_error(&Answer { status, body, took }, 408, "in time");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A head dripped one byte every 100 ms (each read well inside io_timeout): cut at
    // request_timeout all the same.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let head = format!(
        "POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nX-Pad: {}\r\n",
        "a".repeat(200)
    );
    let mut raw = Vec::new();
    for b in head.bytes() {
        if s.write_all(&[b]).is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                raw.extend_from_slice(&buf[..k]);
                break;
            }
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(100));
        assert!(t.elapsed() < Duration::from_secs(10), "never cut off");
    }
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.read_to_end(&mut raw);
    let (status, _) = parse(&raw);
    println!(
        "dripping head answered {status} after {:.0} ms",
        ms(t.elapsed())
    );
    assert_eq!(status, 408);
    assert!(t.elapsed() < Duration::from_secs(3));

    wait_until("connections released", Duration::from_secs(5), || {
        emu.connections() == 0
    });
}

#[test]
fn connections_per_client_and_in_all_are_bounded() {
    let limits = EmulatorLimits {
        max_connections_per_client: 4,
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let addr = emu.addr();
    let mut held: Vec<TcpStream> = (0..4).map(|_| stalled_upload(addr)).collect();
    wait_until("4 connections open", Duration::from_secs(5), || {
        emu.connections() == 4
    });
    // The fifth from the same address: 429 in IonQ's shape, at once, without a request.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let (status, body) = parse(&raw);
    assert_ionq_error(
        &Answer {
            status,
            body,
            took: t.elapsed(),
        },
        429,
        "per client address",
    );
    assert!(String::from_utf8_lossy(&raw).contains("Retry-After: 1"));
    // One closes: there is room again.
    drop(held.pop());
    wait_until("a connection released", Duration::from_secs(5), || {
        emu.connections() == 3
    });
    assert_eq!(get(addr, "/v0.4/backends").status, 200);
    drop(held);

    // The total limit: 503.
    let limits = EmulatorLimits {
        max_connections: 2,
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let addr = emu.addr();
    let held: Vec<TcpStream> = (0..2).map(|_| stalled_upload(addr)).collect();
    wait_until("2 connections open", Duration::from_secs(5), || {
        emu.connections() == 2
    });
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let (status, body) = parse(&raw);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["statusCode"], 503);
    drop(held);
}

#[test]
fn unauthenticated_uploads_are_refused_before_their_body_is_read() {
    let emu = start(EmulatorLimits::default(), None);
    let addr = emu.addr();
    // 20 heads announcing 1 MB and sending none, without a key: each answered 401 at
    // once, nothing left waiting.
    for _ in 0..20 {
        let a = exchange(
            addr,
            "POST /v0.4/jobs HTTP/1.1\r\nHost: emulator\r\nContent-Length: 1000000\r\n\r\n",
        );
        assert_ionq_error(&a, 401, "API key");
        assert!(a.took < Duration::from_secs(2), "{:?}", a.took);
    }
    wait_until("connections released", Duration::from_secs(5), || {
        emu.connections() == 0
    });
}

#[test]
fn request_and_job_limits_are_refused_before_any_work() {
    let limits = EmulatorLimits {
        max_body_bytes: 4096,
        max_shots: 1000,
        max_qubits: 3,
        max_gates: 5,
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let addr = emu.addr();

    // A body over the limit is refused from its Content-Length, without waiting for it.
    let a = exchange(
        addr,
        &format!(
            "POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nContent-Length: 4097\r\n\r\n"
        ),
    );
    assert_ionq_error(&a, 400, "max_body_bytes");
    assert!(a.took < Duration::from_secs(2), "{:?}", a.took);
    // A length past u64 is a malformed head to hyper: its own 400, without a body.
    let a = exchange(
        addr,
        &format!(
            "POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nContent-Length: 99999999999999999999999\r\n\r\n"
        ),
    );
    assert_eq!(a.status, 400);
    assert!(a.took < Duration::from_secs(2), "{:?}", a.took);
    // A chunked body over the limit is cut off as it arrives.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(5000));
    let a = exchange(
        addr,
        &format!(
            "POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
            big.len()
        ),
    );
    assert_ionq_error(&a, 400, "max_body_bytes");

    // Shots: over the limit, and 2^64 − 1 (which used to panic a worker and leave the
    // job `started` forever): a typed 400 at submission.
    assert_ionq_error(
        &post_job(addr, &qis_job(2, Some(1001), None)),
        400,
        "max_shots",
    );
    let a = post_job(addr, &qis_job(2, Some(u64::MAX), Some("ideal")));
    assert_ionq_error(&a, 400, "max_shots");
    assert!(a.body["message"]
        .as_str()
        .unwrap()
        .contains("18446744073709551615"));
    // Qubits and gates.
    assert_ionq_error(&post_job(addr, &qis_job(4, None, None)), 400, "max_qubits");
    let mut many = qis_job(3, None, None);
    many["input"]["circuit"] = json!((0..6)
        .map(|_| json!({"gate": "h", "target": 0}))
        .collect::<Vec<_>>());
    assert_ionq_error(&post_job(addr, &many), 400, "max_gates");
    assert_eq!(emu.stored_jobs(), 0, "a refused job was stored");

    // Through the client: the server's message, typed.
    let input = IonqInput::from_json(&qis_job(2, None, None)["input"]).unwrap();
    match client(&emu).submit(&JobSpec::new("simulator", input).with_shots(1001)) {
        Err(Error::IonqBadRequest { message }) => {
            assert!(message.contains("max_shots"), "{message}")
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    // Within the limits, the job runs.
    let a = post_job(addr, &qis_job(3, Some(1000), None));
    assert_eq!(a.status, 200, "{}", a.body);
}

/// A runner that panics (a simulator bug).
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
        panic!("simulated simulator bug")
    }
}

/// A runner that sleeps this long (without using the CPU), then answers ideally.
struct Slow(Duration);
impl JobRunner for Slow {
    fn name(&self) -> String {
        "slow".into()
    }
    fn run(
        &self,
        c: &Circuit,
        s: Option<u64>,
        n: Option<&NoiseRequest>,
        seed: u64,
    ) -> Result<Probabilities> {
        std::thread::sleep(self.0);
        bfly_ionq::IdealRunner.run(c, s, n, seed)
    }
}

fn small_job() -> JobSpec {
    JobSpec::new(
        "simulator",
        IonqInput::from_json(&qis_job(2, None, None)["input"]).unwrap(),
    )
}

#[test]
fn a_panicking_simulator_fails_the_job_with_a_reason_and_the_server_goes_on() {
    let emu = start(EmulatorLimits::default(), Some(Arc::new(Panics)));
    let c = client(&emu);
    for _ in 0..3 {
        let id = c.submit(&small_job()).unwrap();
        let t = Instant::now();
        match c.wait(&id) {
            Err(Error::IonqJobFailed {
                id: failed,
                code,
                message,
            }) => {
                assert_eq!(failed, id);
                assert_eq!(code, "InternalError");
                assert!(
                    message.contains("panicked") && message.contains("simulated simulator bug"),
                    "{message}"
                );
            }
            other => panic!("expected a failed job, got {other:?}"),
        }
        assert!(t.elapsed() < Duration::from_secs(10));
        let info = c.job(&id).unwrap();
        assert_eq!(info.status, JobStatus::Failed);
    }
    assert_eq!(get(emu.addr(), "/v0.4/backends").status, 200);
}

#[test]
fn a_simulation_over_the_job_timeout_fails_the_job_instead_of_hanging() {
    let limits = EmulatorLimits {
        job_timeout: Duration::from_millis(300),
        job_workers: 1,
        ..EmulatorLimits::default()
    };
    let emu = start(limits, Some(Arc::new(Slow(Duration::from_secs(3)))));
    let c = client(&emu);
    let t = Instant::now();
    let id = c.submit(&small_job()).unwrap();
    match c.wait(&id) {
        Err(Error::IonqJobFailed { code, message, .. }) => {
            assert_eq!(code, "SimulationTimeout");
            assert!(message.contains("job_timeout"), "{message}");
        }
        other => panic!("expected a timed-out job, got {other:?}"),
    }
    println!(
        "the 3 s simulation ended its job after {:.0} ms (job_timeout 300 ms)",
        ms(t.elapsed())
    );
    assert!(t.elapsed() < Duration::from_secs(2));
    // With one worker, a second job waits as `ready` while the first runs, then runs.
    let slow = start(
        EmulatorLimits {
            job_workers: 1,
            ..EmulatorLimits::default()
        },
        Some(Arc::new(Slow(Duration::from_millis(300)))),
    );
    let c2 = client(&slow);
    let a = c2.submit(&small_job()).unwrap();
    let b = c2.submit(&small_job()).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let (sa, sb) = (c2.job(&a).unwrap().status, c2.job(&b).unwrap().status);
    assert!(
        (sa == JobStatus::Running) != (sb == JobStatus::Running),
        "one job runs, the other waits: {sa:?} {sb:?}"
    );
    assert_eq!(c2.wait(&a).unwrap().status, JobStatus::Completed);
    assert_eq!(c2.wait(&b).unwrap().status, JobStatus::Completed);
}

#[test]
fn the_job_store_evicts_by_count_and_by_age() {
    let limits = EmulatorLimits {
        max_jobs: 3,
        max_active_jobs: 3,
        job_ttl: Duration::from_millis(400),
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let c = client(&emu);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = c.submit(&small_job()).unwrap();
        c.wait(&id).unwrap();
        ids.push(id);
    }
    assert!(emu.stored_jobs() <= 3, "{} jobs kept", emu.stored_jobs());
    for old in &ids[..2] {
        match c.job(old) {
            Err(Error::IonqNotFound { message, .. }) => {
                assert!(message.contains("evicted"), "{message}")
            }
            other => panic!("expected the oldest jobs evicted (404), got {other:?}"),
        }
    }
    for kept in &ids[2..] {
        assert_eq!(c.job(kept).unwrap().status, JobStatus::Completed);
    }
    // By age: past job_ttl every finished job is gone.
    std::thread::sleep(Duration::from_millis(700));
    assert!(matches!(c.job(&ids[4]), Err(Error::IonqNotFound { .. })));
    assert_eq!(emu.stored_jobs(), 0);
}

#[test]
fn too_many_unfinished_jobs_answer_429_and_are_never_evicted() {
    let limits = EmulatorLimits {
        max_jobs: 2,
        max_active_jobs: 2,
        job_workers: 1,
        ..EmulatorLimits::default()
    };
    let emu = start(limits, Some(Arc::new(Slow(Duration::from_millis(500)))));
    let addr = emu.addr();
    let first = post_job(addr, &qis_job(2, None, None));
    let second = post_job(addr, &qis_job(2, None, None));
    assert_eq!((first.status, second.status), (200, 200));
    let third = post_job(addr, &qis_job(2, None, None));
    assert_ionq_error(&third, 429, "max_active_jobs");
    // Both unfinished jobs are still there and complete.
    let c = client(&emu);
    for a in [first, second] {
        let id = a.body["id"].as_str().unwrap();
        assert_eq!(c.wait(id).unwrap().status, JobStatus::Completed);
    }
    assert_eq!(post_job(addr, &qis_job(2, None, None)).status, 200);
}

#[test]
fn an_empty_api_key_is_refused_at_start_and_no_auth_is_explicit() {
    for key in ["", "  ", "a key"] {
        match Emulator::start(EmulatorConfig::new(key)) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("--no-auth"), "{m}"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("key {key:?} accepted"),
        }
    }
    // api_key: None is authentication off, on purpose: any non-empty key, not none.
    let mut config = EmulatorConfig::new("unused");
    config.api_key = None;
    let emu = Emulator::start(config).unwrap();
    let a = exchange(
        emu.addr(),
        "GET /v0.4/backends HTTP/1.1\r\nAuthorization: apiKey whatever\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(a.status, 200);
    let a = exchange(
        emu.addr(),
        "GET /v0.4/backends HTTP/1.1\r\nAuthorization: apiKey \r\nConnection: close\r\n\r\n",
    );
    assert_eq!(a.status, 401);
    // Unusable limits are refused too.
    let mut config = EmulatorConfig::new(KEY);
    config.limits.max_active_jobs = config.limits.max_jobs + 1;
    assert!(matches!(
        Emulator::start(config),
        Err(Error::InvalidInput(_))
    ));
}

/// Malformed heads are answered by hyper itself (no hook gives its answers a body): the
/// status is kept (400, 431), IonQ's JSON is not; an HTTP/2.0 request line is a 400
/// (hyper parses only HTTP/1.x), not the 505 of the hand-written server before.
#[test]
fn malformed_heads_are_refused_and_the_connection_closed() {
    let emu = start(EmulatorLimits::default(), None);
    let addr = emu.addr();
    assert_eq!(exchange(addr, "NONSENSE\r\n\r\n").status, 400);
    assert_eq!(
        exchange(addr, "GET /v0.4/backends HTTP/2.0\r\n\r\n").status,
        400
    );
    assert_eq!(
        exchange(
            addr,
            &format!("POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        )
        .status,
        400
    );
    let long = format!(
        "GET /v0.4/backends HTTP/1.1\r\nX-Long: {}\r\n\r\n",
        "x".repeat(20_000)
    );
    assert_eq!(exchange(addr, &long).status, 431);
    // Keep-alive still works for well-formed requests: two answers on one connection.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let req = format!("GET /v0.4/backends HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\n\r\n");
    s.write_all(format!("{req}{req}").as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    while String::from_utf8_lossy(&raw)
        .matches("HTTP/1.1 200")
        .count()
        < 2
    {
        let k = s.read(&mut buf).unwrap();
        assert!(k > 0, "closed early");
        raw.extend_from_slice(&buf[..k]);
    }
}

#[test]
fn chunked_request_bodies_are_accepted() {
    let emu = start(EmulatorLimits::default(), None);
    let addr = emu.addr();
    let text = qis_job(2, Some(100), None).to_string();
    let (first, rest) = text.split_at(text.len() / 2);
    let a = exchange(
        addr,
        &format!(
            "POST /v0.4/jobs HTTP/1.1\r\nHost: emulator\r\nAuthorization: apiKey {KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{first}\r\n{:x}\r\n{rest}\r\n0\r\n\r\n",
            first.len(),
            rest.len()
        ),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(client(&emu).wait(&id).unwrap().status, JobStatus::Completed);
    // A chunked upload that stalls after its head gets 408 like one with a length.
    let limits = EmulatorLimits {
        io_timeout: Duration::from_millis(300),
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let a = exchange(
        emu.addr(),
        &format!("POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{{\"a"),
    );
    assert_ionq_error(&a, 408, "in time");
    assert!(a.took < Duration::from_secs(3), "{:?}", a.took);
}

#[test]
fn idle_connections_close_quietly_and_expect_100_continue_is_honoured() {
    let limits = EmulatorLimits {
        idle_timeout: Duration::from_millis(300),
        ..EmulatorLimits::default()
    };
    let emu = start(limits, None);
    let addr = emu.addr();
    // A connection that never sends a request: closed after idle_timeout, no answer.
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let took = t.elapsed();
    assert!(raw.is_empty(), "{}", String::from_utf8_lossy(&raw));
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Expect: 100-continue: the interim answer first, then the body is read and served.
    let text = qis_job(2, Some(100), None).to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        format!(
            "POST /v0.4/jobs HTTP/1.1\r\nAuthorization: apiKey {KEY}\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            text.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let k = s.read(&mut buf).unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..k]).starts_with("HTTP/1.1 100 Continue"),
        "{}",
        String::from_utf8_lossy(&buf[..k])
    );
    s.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let (status, body) = parse(&raw);
    assert_eq!(status, 200, "{body}");
    assert!(body["id"].is_string(), "{body}");
}
