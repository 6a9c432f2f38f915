//! A local, IonQ-compatible API server: the offline stand-in for IonQ's cloud, **not a
//! model of the hardware**. It speaks the same endpoints and JSON as API v0.4 (under
//! `/v0.4`) and v0.3 (under `/v0.3`), checks the API key, walks jobs through the
//! documented statuses (submitted → ready → started/running → completed | failed |
//! canceled), runs the circuit on this crate's simulators through a [`JobRunner`], and
//! answers in IonQ's result format. Tests use it to drive the client and to inject faults
//! ([`Fault`]): 429 with `Retry-After`, 500, or an answer delayed past the client's timeout.
//!
//! | endpoint | answer |
//! |---|---|
//! | `POST /jobs` | `{"id", "status"}`; 400 with IonQ's error body for a bad job |
//! | `GET /jobs/{id}` | the job (v0.4: `backend`, `stats.qubits`, `results.probabilities.url`; v0.3: `target`, `qubits`, `results_url`) |
//! | `GET /jobs/{id}/results/probabilities` (v0.4), `GET /jobs/{id}/results` (v0.3) | `{"<index>": p, ...}` |
//! | `PUT /jobs/{id}/status/cancel` | `{"id", "status"}` |
//! | `DELETE /jobs/{id}` | `{"id", "status": "deleted"}` |
//! | `GET /backends` | the documented backends, all `available` |
//!
//! What runs: the ideal cloud simulator (`backend: simulator`, no noise or `ideal`) returns
//! **exact** probabilities up to [`EXACT_QUBIT_LIMIT`] qubits (state vector), as IonQ's
//! ideal simulator does; QPU backends and noisy simulations return the frequencies of
//! `shots` samples (default 100, IonQ's default), seeded by `noise.seed` when given and by
//! the job's sequence number otherwise; wider ideal jobs are sampled from an MPS (χ = 256).
//!
//! ```
//! use bfly_ionq::emulator::{Emulator, EmulatorConfig};
//! use bfly_ionq::client::{ApiKey, ClientConfig, IonqClient};
//! use bfly_ionq::format::ApiVersion;
//! let emu = Emulator::start(EmulatorConfig::new("secret")).unwrap(); // ephemeral loopback port
//! let config = ClientConfig::new(ApiVersion::V0_4).with_base_url(emu.base_url(ApiVersion::V0_4));
//! let client = IonqClient::new(ApiKey::new("secret").unwrap(), config).unwrap();
//! assert!(client.backends().unwrap().iter().any(|b| b.backend == "qpu.forte-1"));
//! ```

use rand::Rng;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::format::{
    backend_info, ApiVersion, BackendFamily, JobFailure, JobSpec, JobStatus, NoiseRequest,
    Probabilities, BACKENDS, JOB_TYPE_V04,
};
use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_sim::mps::{run_mps, MpsConfig};
use bfly_sim::{Simulator, StateVector};

/// Widest circuit whose exact probabilities the ideal runner lists (state vector).
pub const EXACT_QUBIT_LIMIT: usize = bfly_sim::MAX_EXACT_QUBITS;
/// Shots when a sampled job does not say (IonQ's default).
pub const DEFAULT_SHOTS: u64 = 100;
/// Bond cap of the MPS used above [`EXACT_QUBIT_LIMIT`] qubits.
pub const WIDE_MPS_CHI: usize = 256;

/// Runs one job's circuit: the emulator's plug for simulators and noise models.
pub trait JobRunner: Send + Sync {
    /// Short name for logs.
    fn name(&self) -> String;

    /// Noise models this runner simulates (listed by `GET /backends`).
    fn noise_models(&self) -> Vec<String> {
        vec!["ideal".into()]
    }

    /// Refuse, before the job is accepted, a noise request this runner cannot honour.
    fn check(&self, noise: Option<&NoiseRequest>) -> Result<()> {
        match noise {
            Some(n) if !self.noise_models().contains(&n.model) => {
                Err(Error::IonqNoiseModelUnavailable {
                    model: n.model.clone(),
                    available: self.noise_models().join(", "),
                })
            }
            _ => Ok(()),
        }
    }

    /// Probabilities over basis states of `circuit` from `|0…0>`: exact when `shots` is
    /// `None`, else the frequencies of `shots` samples drawn with `seed`.
    fn run(
        &self,
        circuit: &Circuit,
        shots: Option<u64>,
        noise: Option<&NoiseRequest>,
        seed: u64,
    ) -> Result<Probabilities>;
}

/// The noiseless runner: state vector up to [`EXACT_QUBIT_LIMIT`] qubits, MPS with
/// χ = [`WIDE_MPS_CHI`] beyond (sampled only). Noise models other than `ideal` are refused
/// with [`Error::IonqNoiseModelUnavailable`].
#[derive(Clone, Copy, Debug, Default)]
pub struct IdealRunner;

impl JobRunner for IdealRunner {
    fn name(&self) -> String {
        "ideal".into()
    }

    fn run(
        &self,
        circuit: &Circuit,
        shots: Option<u64>,
        noise: Option<&NoiseRequest>,
        seed: u64,
    ) -> Result<Probabilities> {
        self.check(noise)?;
        let n = circuit.qubits;
        let bad = |reason: String| Error::Numerical(format!("emulator result: {reason}"));
        if n <= EXACT_QUBIT_LIMIT {
            let mut sv = StateVector::new(n)?;
            sv.run(circuit, &circuit.parameters)?;
            return match shots {
                None => Probabilities::from_amplitudes(sv.amplitudes()).map_err(bad),
                Some(s) => {
                    Probabilities::from_samples(n, &sv.sample(s as usize, seed)).map_err(bad)
                }
            };
        }
        let Some(s) = shots else {
            return Err(Error::InvalidInput(format!(
                "exact probabilities of {n} qubits need a 2^{n} state vector; the emulator lists them up to {EXACT_QUBIT_LIMIT} qubits — ask for shots"
            )));
        };
        let mps = run_mps(
            circuit,
            &circuit.parameters,
            &MpsConfig::new(WIDE_MPS_CHI, 0.0)?,
        )?;
        Probabilities::from_samples(n, &mps.sample(s as usize, seed)).map_err(bad)
    }
}

/// A fault the emulator injects into the next requests (one request each).
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(missing_docs)] // the variant docs name each field
pub enum Fault {
    /// Answer 429 Too Many Requests with `Retry-After: retry_after_secs`.
    TooManyRequests { retry_after_secs: u64 },
    /// Answer 500 Internal Server Error.
    ServerError,
    /// Hold the request this long before handling it (longer than a client timeout).
    Delay(Duration),
}

/// How to run the emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to listen on (loopback by default).
    pub host: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// The accepted API key; `None` accepts any non-empty `apiKey` header.
    pub api_key: Option<String>,
    /// Time a job spends in each of submitted, ready and running before it runs.
    pub stage_delay: Duration,
    /// Threads answering requests (≥ 2 so a delayed answer does not block the others).
    pub threads: usize,
    /// What runs the circuits.
    pub runner: Arc<dyn JobRunner>,
}

impl EmulatorConfig {
    /// Loopback, ephemeral port, key `api_key`, 10 ms per stage, 4 threads, ideal runner.
    pub fn new(api_key: impl Into<String>) -> Self {
        EmulatorConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            api_key: Some(api_key.into()),
            stage_delay: Duration::from_millis(10),
            threads: 4,
            runner: Arc::new(IdealRunner),
        }
    }
}

struct Job {
    spec: JobSpec,
    version: ApiVersion,
    status: JobStatus,
    failure: Option<JobFailure>,
    result: Option<Probabilities>,
    seed: u64,
    execution_ms: Option<u128>,
}

struct Shared {
    api_key: Option<String>,
    stage_delay: Duration,
    runner: Arc<dyn JobRunner>,
    jobs: Mutex<HashMap<String, Job>>,
    faults: Mutex<VecDeque<Fault>>,
    requests: AtomicU64,
    sequence: AtomicU64,
    shutdown: AtomicBool,
}

/// A running emulator; stops (and joins its threads) when dropped.
pub struct Emulator {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl Emulator {
    /// Bind and start serving in background threads.
    pub fn start(config: EmulatorConfig) -> Result<Self> {
        let bind = SocketAddr::new(config.host, config.port);
        let server = tiny_http::Server::http(bind)
            .map_err(|e| Error::InvalidInput(format!("emulator: cannot listen on {bind}: {e}")))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| Error::InvalidInput("emulator: not an IP listener".into()))?;
        let server = Arc::new(server);
        let shared = Arc::new(Shared {
            api_key: config.api_key,
            stage_delay: config.stage_delay,
            runner: config.runner,
            jobs: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            requests: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
        });
        let workers = (0..config.threads.max(2))
            .map(|_| {
                let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
                std::thread::spawn(move || loop {
                    match server.recv() {
                        Ok(req) => handle(&shared, req),
                        Err(_) if shared.shutdown.load(Ordering::SeqCst) => break,
                        Err(_) => continue,
                    }
                })
            })
            .collect();
        Ok(Emulator {
            shared,
            server,
            addr,
            workers,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port/v0.4` (or `/v0.3`): a client's base URL.
    pub fn base_url(&self, version: ApiVersion) -> String {
        format!("http://{}/{version}", self.addr)
    }

    /// Inject `fault` into each of the next `times` requests.
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut q = self.shared.faults.lock().expect("fault queue");
        q.extend(std::iter::repeat_n(fault, times));
    }

    /// Requests received so far (including faulted ones).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Serve until the process ends (for `bfly ionq-emulator`).
    pub fn serve_forever(mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// An answer: status, JSON body, extra headers.
struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

fn ok(body: Value) -> Reply {
    Reply {
        status: 200,
        body,
        retry_after: None,
    }
}

/// IonQ's error body `{"error", "message", "statusCode"}`.
fn error(status: u16, message: impl Into<String>) -> Reply {
    let name = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    Reply {
        status,
        body: json!({ "error": name, "message": message.into(), "statusCode": status }),
        retry_after: None,
    }
}

fn handle(shared: &Arc<Shared>, mut req: tiny_http::Request) {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let fault = shared.faults.lock().expect("fault queue").pop_front();
    let reply = match fault {
        Some(Fault::TooManyRequests { retry_after_secs }) => Reply {
            retry_after: Some(retry_after_secs),
            ..error(429, "rate limit exceeded (injected by the emulator)")
        },
        Some(Fault::ServerError) => error(500, "internal error (injected by the emulator)"),
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            route(shared, &mut req)
        }
        None => route(shared, &mut req),
    };
    let text = reply.body.to_string();
    let mut resp = tiny_http::Response::from_string(text)
        .with_status_code(reply.status)
        .with_header(
            tiny_http::Header::from_bytes("Content-Type", "application/json")
                .expect("static header"),
        );
    if let Some(s) = reply.retry_after {
        resp.add_header(
            tiny_http::Header::from_bytes("Retry-After", s.to_string()).expect("numeric header"),
        );
    }
    // The client may have given up (timeout); nothing to do about a failed write.
    let _ = req.respond(resp);
}

fn route(shared: &Arc<Shared>, req: &mut tiny_http::Request) -> Reply {
    let url = req.url().split('?').next().unwrap_or("").to_string();
    let segments: Vec<&str> = url.split('/').filter(|s| !s.is_empty()).collect();
    let (version, rest) = match segments.split_first() {
        Some((&"v0.4", rest)) => (ApiVersion::V0_4, rest),
        Some((&"v0.3", rest)) => (ApiVersion::V0_3, rest),
        _ => {
            return error(
                404,
                format!("no route {url}; this emulator serves /v0.4/... and /v0.3/..."),
            )
        }
    };
    let authorised = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string())
        .and_then(|v| v.strip_prefix("apiKey ").map(str::to_string))
        .is_some_and(|k| match &shared.api_key {
            Some(expected) => &k == expected,
            None => !k.is_empty(),
        });
    if !authorised {
        return error(
            401,
            "missing or invalid API key; send the header `Authorization: apiKey <key>`",
        );
    }
    use tiny_http::Method::*;
    let method = req.method().clone();
    match (method, rest) {
        (Post, ["jobs"]) => {
            let mut text = String::new();
            if req
                .as_reader()
                .take(64 << 20)
                .read_to_string(&mut text)
                .is_err()
            {
                return error(400, "the request body is not UTF-8 text");
            }
            create_job(shared, version, &text)
        }
        (Get, ["jobs", id]) => with_job(shared, id, |id, job| ok(job_json(id, job, version))),
        (Delete, ["jobs", id]) => {
            let removed = shared.jobs.lock().expect("jobs").remove(*id);
            match removed {
                Some(_) => ok(json!({ "id": id, "status": "deleted" })),
                None => error(404, format!("no job {id}")),
            }
        }
        (Put, ["jobs", id, "status", "cancel"]) => {
            let mut jobs = shared.jobs.lock().expect("jobs");
            match jobs.get_mut(*id) {
                Some(job) => {
                    if !job.status.is_terminal() {
                        job.status = JobStatus::Canceled;
                    }
                    ok(json!({ "id": id, "status": job.status.as_str(version) }))
                }
                None => error(404, format!("no job {id}")),
            }
        }
        (Get, ["jobs", id, "results", "probabilities"]) if version == ApiVersion::V0_4 => {
            results(shared, id)
        }
        (Get, ["jobs", id, "results"]) if version == ApiVersion::V0_3 => results(shared, id),
        (Get, ["backends"]) => ok(backends_json(shared, version)),
        (m, _) if matches!(rest, ["jobs"] | ["jobs", _] | ["backends"]) => {
            error(405, format!("{m} is not allowed on {url}"))
        }
        _ => error(404, format!("no route {url}")),
    }
}

fn with_job(shared: &Shared, id: &str, f: impl FnOnce(&str, &Job) -> Reply) -> Reply {
    let jobs = shared.jobs.lock().expect("jobs");
    match jobs.get(id) {
        Some(job) => f(id, job),
        None => error(404, format!("no job {id}")),
    }
}

fn results(shared: &Shared, id: &str) -> Reply {
    with_job(shared, id, |id, job| match (&job.result, job.status) {
        (Some(p), JobStatus::Completed) => ok(p.to_json()),
        (_, status) => error(
            400,
            format!(
                "job {id} is {}; results exist only for completed jobs",
                status.as_str(job.version)
            ),
        ),
    })
}

fn new_job_id() -> String {
    // A random RFC 4122 version-4 UUID (16 random bytes and two fixed fields; written
    // here rather than pulling in a crate for it).
    let mut r = rand::rng();
    let (a, b, c, d, e): (u32, u16, u16, u16, u64) =
        (r.random(), r.random(), r.random(), r.random(), r.random());
    format!(
        "{a:08x}-{b:04x}-4{:03x}-{:04x}-{:012x}",
        c & 0x0fff,
        (d & 0x3fff) | 0x8000,
        e & 0xffff_ffff_ffff
    )
}

fn create_job(shared: &Arc<Shared>, version: ApiVersion, text: &str) -> Reply {
    let body: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return error(400, format!("the request body is not JSON: {e}")),
    };
    let spec = match JobSpec::from_body(&body, version) {
        Ok(s) => s,
        Err(e) => return error(400, e.to_string()),
    };
    if let Err(e) = shared.runner.check(spec.noise.as_ref()) {
        return error(400, e.to_string());
    }
    let sequence = shared.sequence.fetch_add(1, Ordering::SeqCst);
    let seed = spec
        .noise
        .as_ref()
        .and_then(|n| n.seed)
        .unwrap_or(0x5eed_0000 + sequence);
    let id = new_job_id();
    shared.jobs.lock().expect("jobs").insert(
        id.clone(),
        Job {
            spec,
            version,
            status: JobStatus::Submitted,
            failure: None,
            result: None,
            seed,
            execution_ms: None,
        },
    );
    let (worker_shared, worker_id) = (Arc::clone(shared), id.clone());
    std::thread::spawn(move || execute(&worker_shared, &worker_id));
    ok(json!({ "id": id, "status": JobStatus::Submitted.as_str(version) }))
}

/// Walk a job through its statuses and run it, unless it is canceled (or deleted) first.
fn execute(shared: &Shared, id: &str) {
    let advance = |to: JobStatus| -> bool {
        std::thread::sleep(shared.stage_delay);
        let mut jobs = shared.jobs.lock().expect("jobs");
        match jobs.get_mut(id) {
            Some(job) if !job.status.is_terminal() => {
                job.status = to;
                true
            }
            _ => false,
        }
    };
    if !advance(JobStatus::Ready) || !advance(JobStatus::Running) {
        return;
    }
    let (circuit, shots, noise, seed) = {
        let jobs = shared.jobs.lock().expect("jobs");
        let Some(job) = jobs.get(id) else { return };
        let spec = &job.spec;
        let ideal_simulator = backend_info(&spec.backend)
            .is_ok_and(|(f, _)| f == BackendFamily::Simulator)
            && spec.noise.as_ref().is_none_or(NoiseRequest::is_ideal);
        let exact = ideal_simulator && spec.input.qubits <= EXACT_QUBIT_LIMIT;
        let shots = (!exact).then(|| spec.shots.unwrap_or(DEFAULT_SHOTS));
        (spec.input.to_circuit(), shots, spec.noise.clone(), job.seed)
    };
    std::thread::sleep(shared.stage_delay);
    let start = Instant::now();
    let outcome = circuit.and_then(|c| shared.runner.run(&c, shots, noise.as_ref(), seed));
    let mut jobs = shared.jobs.lock().expect("jobs");
    let Some(job) = jobs.get_mut(id) else { return };
    if job.status.is_terminal() {
        return; // canceled while running: drop the result
    }
    job.execution_ms = Some(start.elapsed().as_millis());
    match outcome {
        Ok(p) => {
            job.result = Some(p);
            job.status = JobStatus::Completed;
        }
        Err(e) => {
            job.failure = Some(JobFailure {
                code: "SimulationError".into(),
                error: e.to_string(),
            });
            job.status = JobStatus::Failed;
        }
    }
}

fn job_json(id: &str, job: &Job, version: ApiVersion) -> Value {
    let spec = &job.spec;
    let (one, two) = spec.input.gate_counts();
    let noise = spec
        .noise
        .clone()
        .unwrap_or_else(|| NoiseRequest::new("ideal", None));
    let completed = job.status == JobStatus::Completed;
    match version {
        ApiVersion::V0_4 => json!({
            "id": id,
            "status": job.status.as_str(version),
            "type": JOB_TYPE_V04,
            "backend": spec.backend,
            "name": spec.name,
            "shots": spec.shots,
            "noise": noise,
            "failure": job.failure,
            "execution_duration_ms": job.execution_ms,
            "stats": { "qubits": spec.input.qubits, "circuits": 1,
                       "gate_counts": { "1q": one, "2q": two } },
            "results": if completed {
                json!({ "probabilities": { "url": format!("/v0.4/jobs/{id}/results/probabilities") } })
            } else { json!({}) },
        }),
        ApiVersion::V0_3 => json!({
            "id": id,
            "status": job.status.as_str(version),
            "target": spec.backend,
            "name": spec.name,
            "shots": spec.shots,
            "noise": noise,
            "qubits": spec.input.qubits,
            "circuits": 1,
            "gate_counts": { "1q": one, "2q": two },
            "failure": job.failure,
            "execution_time": job.execution_ms,
            "results_url": if completed { Some(format!("/v0.3/jobs/{id}/results")) } else { None },
        }),
    }
}

fn backends_json(shared: &Shared, _version: ApiVersion) -> Value {
    let models = shared.runner.noise_models();
    Value::Array(
        BACKENDS
            .iter()
            .map(|(name, qubits)| {
                let mut b = json!({
                    "backend": name,
                    "status": "available",
                    "qubits": qubits,
                    "average_queue_time": 0,
                    "degraded": false,
                });
                if *name == "simulator" {
                    b["noise_models"] = json!(models);
                }
                b
            })
            .collect(),
    )
}
