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
//! | `POST /jobs` | `{"id", "status"}`; 400 with IonQ's error body for a bad job or one over a [limit](EmulatorLimits); 429 while `max_active_jobs` jobs are unfinished |
//! | `GET /jobs/{id}` | the job (v0.4: `backend`, `stats.qubits`, `results.probabilities.url`; v0.3: `target`, `qubits`, `results_url`) |
//! | `GET /jobs/{id}/results/probabilities` (v0.4), `GET /jobs/{id}/results` (v0.3) | `{"<index>": p, ...}` |
//! | `PUT /jobs/{id}/status/cancel` | `{"id", "status"}` |
//! | `DELETE /jobs/{id}` | `{"id", "status": "deleted"}` |
//! | `GET /backends` | the documented backends, all `available` |
//!
//! Every error is IonQ's `{"error", "message", "statusCode"}`: 400 bad job, limit or
//! malformed request; 401 missing or wrong key (checked before a body is read); 404 no
//! such route, or a job that never existed, was deleted or was **evicted**; 405 method;
//! 408 a request that did not arrive in time; 429 too many connections from one client
//! address or too many unfinished jobs; 503 the server's connection limit. (Malformed
//! request heads are the exception: hyper, the HTTP server underneath, answers them
//! itself with an empty-bodied 400, or 431 for a head over 16 KiB.) Bodies may be sent
//! with a `Content-Length` or chunked.
//!
//! What runs: the ideal cloud simulator (`backend: simulator`, no noise or `ideal`) returns
//! **exact** probabilities up to [`EXACT_QUBIT_LIMIT`] qubits (state vector), as IonQ's
//! ideal simulator does; QPU backends and noisy simulations return the frequencies of
//! `shots` samples (default 100, IonQ's default), seeded by `noise.seed` when given and by
//! the job's sequence number otherwise; wider ideal jobs are sampled from an MPS (χ = 256).
//! Shots are never held one by one: draws are counted as they are made
//! ([`sample_frequencies`]), so memory follows the distinct outcomes, not the shots.
//!
//! # Limits, clocks and eviction ([`EmulatorLimits`]; defaults in parentheses)
//!
//! - **Jobs are checked before any work**: shots ≤ `max_shots` (1 000 000, the maximum
//!   of IonQ's API v0.4 "Create job" schema), qubits ≤ `max_qubits` (36, the widest
//!   IonQ backend; each backend's own width is checked too), gates ≤ `max_gates`
//!   (100 000), request body ≤ `max_body_bytes` (8 MiB, judged from `Content-Length`
//!   before the body is read). IonQ publishes no gate or body limit; those two are the
//!   emulator's own.
//! - **Connections** (hyper on a tokio runtime the emulator owns; details in the `http`
//!   module's docs): at most `max_connections` (256) in all and
//!   `max_connections_per_client` (64) per client address, counted when accepted
//!   (beyond: 503 / 429 and close). Any single read or write waits at most `io_timeout`
//!   (10 s), a whole request (head and body) `request_timeout` (30 s), a kept-alive
//!   connection between requests `idle_timeout` (15 s). A client that sends a head and
//!   no body holds only a socket and a timer, and only until its clock runs out (408);
//!   request handling runs on a blocking pool, simulations on their own threads, so
//!   neither ever holds up the sockets.
//! - **Job execution**: at most `job_workers` (2) simulations run at once (the others
//!   wait as `ready`), at most `max_active_jobs` (64) jobs are unfinished, and a job
//!   whose simulation runs longer than `job_timeout` (10 min) ends `failed` with code
//!   `SimulationTimeout` (the abandoned computation cannot be interrupted: it finishes
//!   in the background and keeps its worker slot until then). A simulator panic or error
//!   ends the job `failed` with a reason (`InternalError` / `SimulationError`); a guard
//!   ends any job its worker leaves unfinished, so no job stays `started`.
//! - **Eviction**: a finished job (completed, failed, canceled) is kept for `job_ttl`
//!   (1 h) and among the newest `max_jobs` (1000); older ones are removed (oldest
//!   first) and answer 404 like a job that never existed.
//! - **Authentication**: the configured key is required; an empty key is refused at
//!   start-up. `api_key: None` (`bfly ionq-emulator --no-auth`) turns checking off on
//!   purpose: any non-empty `apiKey` is then accepted.
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

mod http;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use self::http::{lock, panic_message, Head, HttpLimits, HttpServer, Reply};
use super::format::{
    backend_info, ApiVersion, BackendFamily, JobFailure, JobSpec, JobStatus, NoiseRequest,
    Probabilities, BACKENDS, JOB_TYPE_V04, MAX_SHOTS,
};
use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_core::sampling::multinomial_counts;
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

/// Frequencies of `shots` draws from the distribution `probabilities` over the basis
/// states of `n_qubits` qubits (entries need not sum to 1; round-off just below zero is
/// drawn as zero): one multinomial draw with a ChaCha8 stream seeded by `seed`
/// ([`bfly_core::sampling::multinomial_counts`], the sampler `simulate_noisy` uses, so a
/// noisy job draws exactly what `bfly noisy` draws for the same seed).
///
/// Memory follows the number of distinct outcomes, never `shots`. Refused with a typed
/// error: zero shots, or probabilities that cannot be drawn from (NaN, all zero).
///
/// ```
/// use bfly_ionq::emulator::sample_frequencies;
/// let p = sample_frequencies(1, &[0.25, 0.75], 4_000, 7).unwrap();
/// assert!((p.get(1) - 0.75).abs() < 0.05);
/// assert!(sample_frequencies(1, &[0.5, 0.5], 0, 7).is_err());
/// ```
pub fn sample_frequencies(
    n_qubits: usize,
    probabilities: &[f64],
    shots: u64,
    seed: u64,
) -> Result<Probabilities> {
    if shots == 0 {
        return Err(Error::InvalidInput(
            "a sampled result needs at least one shot".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let counts = multinomial_counts(
        probabilities.len(),
        // NaN is kept (and refused by the sampler); `f64::max` would hide it.
        |i| {
            let p = probabilities[i];
            if p < 0.0 {
                0.0
            } else {
                p
            }
        },
        shots,
        &mut rng,
        |_| Ok(()),
    )?;
    let counts: BTreeMap<u64, u64> = counts.into_iter().map(|(i, c)| (i as u64, c)).collect();
    frequencies(n_qubits, &counts, shots)
}

fn frequencies(n_qubits: usize, counts: &BTreeMap<u64, u64>, shots: u64) -> Result<Probabilities> {
    Probabilities::new(
        n_qubits,
        counts.iter().map(|(&i, &c)| (i, c as f64 / shots as f64)),
    )
    .map_err(|reason| Error::Numerical(format!("emulator result: {reason}")))
}

/// The noiseless runner: state vector up to [`EXACT_QUBIT_LIMIT`] qubits, MPS with
/// χ = [`WIDE_MPS_CHI`] beyond (sampled only). Noise models other than `ideal` are refused
/// with [`Error::IonqNoiseModelUnavailable`]. Samples are kept as
/// counts, whatever `shots` is (memory per distinct outcome).
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
        if n <= EXACT_QUBIT_LIMIT {
            let mut sv = StateVector::new(n)?;
            sv.run(circuit, &circuit.parameters)?;
            return match shots {
                None => Probabilities::from_amplitudes(sv.amplitudes())
                    .map_err(|reason| Error::Numerical(format!("emulator result: {reason}"))),
                Some(s) => {
                    // The state vector's own sampler, counted instead of listed.
                    let p: Vec<f64> = sv.amplitudes().iter().map(|a| a.norm_sqr()).collect();
                    drop(sv);
                    sample_frequencies(n, &p, s, seed)
                }
            };
        }
        let Some(shots) = shots else {
            return Err(Error::InvalidInput(format!(
                "exact probabilities of {n} qubits need a 2^{n} state vector; the emulator lists them up to {EXACT_QUBIT_LIMIT} qubits — ask for shots"
            )));
        };
        if shots == 0 {
            return Err(Error::InvalidInput(
                "a sampled result needs at least one shot".into(),
            ));
        }
        let mps = run_mps(
            circuit,
            &circuit.parameters,
            &MpsConfig::new(WIDE_MPS_CHI, 0.0)?,
        )?;
        // The MPS's own counting sampler: binomial splits site by site, memory per
        // distinct outcome, the histogram checked against the budget first.
        let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
        for (bits, count) in mps.sample_counts(shots, seed)? {
            let i = bits
                .to_index()
                .ok_or_else(|| Error::Numerical("emulator result: more than 64 qubits".into()))?;
            counts.insert(i, count);
        }
        frequencies(n, &counts, shots)
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

/// What the emulator accepts and how long it waits: request and job limits, connection
/// limits and clocks, job execution and the job store. [`EmulatorLimits::default`] lists
/// the defaults; the module docs say what each one does.
#[derive(Clone, Debug, PartialEq)]
pub struct EmulatorLimits {
    /// Largest request body in bytes, judged from `Content-Length` before reading
    /// (default 8 MiB; the emulator's own figure).
    pub max_body_bytes: usize,
    /// Most shots one job may ask for (default 1 000 000: the `shots` maximum of IonQ's
    /// API v0.4 "Create job" schema, [`MAX_SHOTS`]).
    pub max_shots: u64,
    /// Most qubits one job may use, on top of its backend's own width (default 36, the
    /// widest IonQ backend).
    pub max_qubits: usize,
    /// Most gates one job may contain (default 100 000; the emulator's own figure).
    pub max_gates: usize,
    /// Most connections open at once (default 256); beyond, new ones get 503 and close.
    pub max_connections: usize,
    /// Most connections open at once from one client address (default 64); beyond, new
    /// ones get 429 and close.
    pub max_connections_per_client: usize,
    /// Longest wait for any single read or write on a connection (default 10 s).
    pub io_timeout: Duration,
    /// Longest a whole request (head and body) may take to arrive (default 30 s).
    pub request_timeout: Duration,
    /// Longest a kept-alive connection may wait for its next request (default 15 s).
    pub idle_timeout: Duration,
    /// Jobs kept in the store; the oldest finished ones are evicted first (default 1000).
    pub max_jobs: usize,
    /// How long a finished job is kept (default 1 h).
    pub job_ttl: Duration,
    /// Most unfinished (queued or running) jobs; beyond, `POST /jobs` answers 429
    /// (default 64; at most `max_jobs`).
    pub max_active_jobs: usize,
    /// Simulations running at once; other jobs wait as `ready` (default 2).
    pub job_workers: usize,
    /// Longest a simulation may run before its job ends `failed` with code
    /// `SimulationTimeout` (default 10 min).
    pub job_timeout: Duration,
}

impl Default for EmulatorLimits {
    /// 8 MiB bodies, 1 000 000 shots, 36 qubits, 100 000 gates; 256 connections, 64 per
    /// client; clocks of 10 s (read/write), 30 s (request), 15 s (idle); 1000 jobs kept
    /// for 1 h, 64 unfinished, 2 simulating at once, 10 min per simulation.
    fn default() -> Self {
        EmulatorLimits {
            max_body_bytes: 8 << 20,
            max_shots: MAX_SHOTS,
            max_qubits: 36,
            max_gates: 100_000,
            max_connections: 256,
            max_connections_per_client: 64,
            io_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15),
            max_jobs: 1000,
            job_ttl: Duration::from_secs(3600),
            max_active_jobs: 64,
            job_workers: 2,
            job_timeout: Duration::from_secs(600),
        }
    }
}

impl EmulatorLimits {
    /// Refuse limits the emulator cannot work with: a zero count or clock, or more
    /// unfinished jobs allowed than jobs kept.
    pub fn check(&self) -> Result<()> {
        let counts = [
            ("max_body_bytes", self.max_body_bytes as u64),
            ("max_shots", self.max_shots),
            ("max_qubits", self.max_qubits as u64),
            ("max_gates", self.max_gates as u64),
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_client",
                self.max_connections_per_client as u64,
            ),
            ("max_jobs", self.max_jobs as u64),
            ("max_active_jobs", self.max_active_jobs as u64),
            ("job_workers", self.job_workers as u64),
        ];
        for (name, v) in counts {
            if v == 0 {
                return Err(Error::InvalidInput(format!(
                    "emulator limit {name} is 0; it must be at least 1"
                )));
            }
        }
        let clocks = [
            ("io_timeout", self.io_timeout),
            ("request_timeout", self.request_timeout),
            ("idle_timeout", self.idle_timeout),
            ("job_ttl", self.job_ttl),
            ("job_timeout", self.job_timeout),
        ];
        for (name, d) in clocks {
            if d.is_zero() {
                return Err(Error::InvalidInput(format!(
                    "emulator limit {name} is zero; it must be a positive duration"
                )));
            }
        }
        if self.max_active_jobs > self.max_jobs {
            return Err(Error::InvalidInput(format!(
                "emulator limits: max_active_jobs ({}) exceeds max_jobs ({}); the store must hold every unfinished job",
                self.max_active_jobs, self.max_jobs
            )));
        }
        Ok(())
    }
}

/// How to run the emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to listen on (loopback by default).
    pub host: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// The accepted API key. `None` turns authentication off on purpose (any non-empty
    /// `apiKey` header is accepted); an empty key is refused by [`Emulator::start`].
    pub api_key: Option<String>,
    /// Time a job spends in each of submitted, ready and running before it runs.
    pub stage_delay: Duration,
    /// What runs the circuits.
    pub runner: Arc<dyn JobRunner>,
    /// Request, connection and job limits, clocks and eviction.
    pub limits: EmulatorLimits,
}

impl EmulatorConfig {
    /// Loopback, ephemeral port, key `api_key`, 10 ms per stage, ideal runner, default
    /// [`EmulatorLimits`].
    pub fn new(api_key: impl Into<String>) -> Self {
        EmulatorConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            api_key: Some(api_key.into()),
            stage_delay: Duration::from_millis(10),
            runner: Arc::new(IdealRunner),
            limits: EmulatorLimits::default(),
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
    /// When the job reached a terminal status (the eviction clock).
    finished: Option<Instant>,
}

impl Job {
    /// Enter terminal `status`.
    fn end(&mut self, status: JobStatus, failure: Option<JobFailure>) {
        self.status = status;
        self.failure = failure;
        self.finished = Some(Instant::now());
    }
}

fn failure(code: &str, error: impl Into<String>) -> JobFailure {
    JobFailure {
        code: code.into(),
        error: error.into(),
    }
}

/// Jobs by id, and their ids in submission order (oldest first) for eviction.
#[derive(Default)]
struct JobStore {
    jobs: HashMap<String, Job>,
    order: VecDeque<String>,
    last_sweep: Option<Instant>,
}

impl JobStore {
    /// Evict finished jobs older than `job_ttl`, then the oldest finished jobs until
    /// `room` more fit under `max_jobs`.
    fn evict(&mut self, limits: &EmulatorLimits, room: usize) {
        let now = Instant::now();
        if self
            .last_sweep
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(200))
        {
            self.last_sweep = Some(now);
            self.jobs.retain(|_, j| {
                j.finished
                    .is_none_or(|f| now.duration_since(f) < limits.job_ttl)
            });
        }
        let mut excess = (self.jobs.len() + room).saturating_sub(limits.max_jobs);
        if excess > 0 {
            let jobs = &mut self.jobs;
            self.order.retain(|id| {
                if excess > 0 && jobs.get(id).is_some_and(|j| j.status.is_terminal()) {
                    jobs.remove(id);
                    excess -= 1;
                }
                jobs.contains_key(id)
            });
        } else if self.order.len() > 2 * self.jobs.len() + 64 {
            let jobs = &self.jobs;
            self.order.retain(|id| jobs.contains_key(id));
        }
    }

    fn unfinished(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| !j.status.is_terminal())
            .count()
    }
}

struct Shared {
    api_key: Option<String>,
    stage_delay: Duration,
    runner: Arc<dyn JobRunner>,
    limits: EmulatorLimits,
    store: Mutex<JobStore>,
    /// Simulations running now (≤ `limits.job_workers`), and its wake-up.
    busy: Mutex<usize>,
    freed: Condvar,
    faults: Mutex<VecDeque<Fault>>,
    requests: AtomicU64,
    sequence: AtomicU64,
    shutdown: AtomicBool,
}

impl Shared {
    fn store(&self) -> std::sync::MutexGuard<'_, JobStore> {
        let mut store = lock(&self.store);
        store.evict(&self.limits, 0);
        store
    }
}

/// A running emulator; stops when dropped (connections are cut; a simulation in
/// progress finishes in the background and is discarded).
pub struct Emulator {
    shared: Arc<Shared>,
    server: HttpServer,
}

impl Emulator {
    /// Bind and start serving in background threads. Refuses an empty API key and
    /// unusable [`EmulatorLimits`].
    pub fn start(config: EmulatorConfig) -> Result<Self> {
        if let Some(k) = &config.api_key {
            if k.is_empty() || k.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::InvalidInput(
                    "the emulator's API key is empty or contains whitespace, which would leave it open; give a key (bfly ionq-emulator --api-key KEY or IONQ_API_KEY), or turn authentication off on purpose (api_key: None, bfly ionq-emulator --no-auth)".into(),
                ));
            }
        }
        config.limits.check()?;
        let bind = SocketAddr::new(config.host, config.port);
        let limits = &config.limits;
        let http_limits = HttpLimits {
            io_timeout: limits.io_timeout,
            request_timeout: limits.request_timeout,
            idle_timeout: limits.idle_timeout,
            max_body_bytes: limits.max_body_bytes,
            max_connections: limits.max_connections,
            max_connections_per_client: limits.max_connections_per_client,
        };
        let shared = Arc::new(Shared {
            api_key: config.api_key,
            stage_delay: config.stage_delay,
            runner: config.runner,
            limits: config.limits,
            store: Mutex::new(JobStore::default()),
            busy: Mutex::new(0),
            freed: Condvar::new(),
            faults: Mutex::new(VecDeque::new()),
            requests: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
        });
        let server = HttpServer::start(bind, http_limits, Arc::new(Api(Arc::clone(&shared))))
            .map_err(|e| Error::InvalidInput(format!("emulator: cannot listen on {bind}: {e}")))?;
        Ok(Emulator { shared, server })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://host:port/v0.4` (or `/v0.3`): a client's base URL.
    pub fn base_url(&self, version: ApiVersion) -> String {
        format!("http://{}/{version}", self.addr())
    }

    /// The limits in force.
    pub fn limits(&self) -> &EmulatorLimits {
        &self.shared.limits
    }

    /// Inject `fault` into each of the next `times` requests (that pass the API key
    /// check).
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut q = lock(&self.shared.faults);
        q.extend(std::iter::repeat_n(fault, times));
    }

    /// Requests whose head was read so far (including faulted ones and those answered
    /// 401 or 404; not connections refused over a connection limit).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Client connections open now.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// Jobs held in the store now (unfinished ones and those not yet evicted).
    pub fn stored_jobs(&self) -> usize {
        self.shared.store().jobs.len()
    }

    /// Serve until the process ends (for `bfly ionq-emulator`).
    pub fn serve_forever(mut self) {
        self.server.join();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.server.stop();
        self.shared.freed.notify_all();
    }
}

/// The API behind the HTTP server.
struct Api(Arc<Shared>);

fn split_version(path: &str) -> Option<(ApiVersion, Vec<&str>)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.split_first() {
        Some((&"v0.4", rest)) => Some((ApiVersion::V0_4, rest.to_vec())),
        Some((&"v0.3", rest)) => Some((ApiVersion::V0_3, rest.to_vec())),
        _ => None,
    }
}

fn path_of(head: &Head) -> &str {
    head.target.split('?').next().unwrap_or("")
}

impl http::Handler for Api {
    fn head(&self, head: &Head) -> Option<Reply> {
        let shared = &self.0;
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let path = path_of(head);
        if split_version(path).is_none() {
            return Some(Reply::error(
                404,
                format!("no route {path}; this emulator serves /v0.4/... and /v0.3/..."),
            ));
        }
        let authorised = head
            .header("Authorization")
            .and_then(|v| v.strip_prefix("apiKey "))
            .is_some_and(|k| match &shared.api_key {
                Some(expected) => k == expected,
                None => !k.is_empty(),
            });
        if !authorised {
            return Some(Reply::error(
                401,
                "missing or invalid API key; send the header `Authorization: apiKey <key>`",
            ));
        }
        None
    }

    fn respond(&self, head: &Head, body: Vec<u8>) -> Reply {
        let shared = &self.0;
        let fault = lock(&shared.faults).pop_front();
        match fault {
            Some(Fault::TooManyRequests { retry_after_secs }) => {
                Reply::error(429, "rate limit exceeded (injected by the emulator)")
                    .retry_after(retry_after_secs)
            }
            Some(Fault::ServerError) => {
                Reply::error(500, "internal error (injected by the emulator)")
            }
            Some(Fault::Delay(d)) => {
                std::thread::sleep(d);
                route(shared, &head.method, path_of(head), body)
            }
            None => route(shared, &head.method, path_of(head), body),
        }
    }
}

fn no_job(shared: &Shared, id: &str) -> Reply {
    let l = &shared.limits;
    Reply::error(
        404,
        format!(
            "no job {id} (the emulator keeps a finished job for {} s and the newest {} jobs; evicted and deleted jobs are gone)",
            l.job_ttl.as_secs(),
            l.max_jobs
        ),
    )
}

fn route(shared: &Arc<Shared>, method: &str, path: &str, body: Vec<u8>) -> Reply {
    let Some((version, rest)) = split_version(path) else {
        return Reply::error(404, format!("no route {path}"));
    };
    match (method, rest.as_slice()) {
        ("POST", ["jobs"]) => match String::from_utf8(body) {
            Ok(text) => create_job(shared, version, &text),
            Err(_) => Reply::error(400, "the request body is not UTF-8 text"),
        },
        ("GET", ["jobs", id]) => {
            with_job(shared, id, |id, job| Reply::ok(job_json(id, job, version)))
        }
        ("DELETE", ["jobs", id]) => {
            let removed = shared.store().jobs.remove(*id);
            match removed {
                Some(_) => Reply::ok(json!({ "id": id, "status": "deleted" })),
                None => no_job(shared, id),
            }
        }
        ("PUT", ["jobs", id, "status", "cancel"]) => {
            let mut store = shared.store();
            match store.jobs.get_mut(*id) {
                Some(job) => {
                    if !job.status.is_terminal() {
                        job.end(JobStatus::Canceled, None);
                    }
                    Reply::ok(json!({ "id": id, "status": job.status.as_str(version) }))
                }
                None => {
                    drop(store);
                    no_job(shared, id)
                }
            }
        }
        ("GET", ["jobs", id, "results", "probabilities"]) if version == ApiVersion::V0_4 => {
            results(shared, id)
        }
        ("GET", ["jobs", id, "results"]) if version == ApiVersion::V0_3 => results(shared, id),
        ("GET", ["backends"]) => Reply::ok(backends_json(shared, version)),
        (m, ["jobs"] | ["jobs", _] | ["backends"]) => {
            Reply::error(405, format!("{m} is not allowed on {path}"))
        }
        _ => Reply::error(404, format!("no route {path}")),
    }
}

fn with_job(shared: &Shared, id: &str, f: impl FnOnce(&str, &Job) -> Reply) -> Reply {
    let store = shared.store();
    match store.jobs.get(id) {
        Some(job) => f(id, job),
        None => {
            drop(store);
            no_job(shared, id)
        }
    }
}

fn results(shared: &Shared, id: &str) -> Reply {
    with_job(shared, id, |id, job| match (&job.result, job.status) {
        (Some(p), JobStatus::Completed) => Reply::ok(p.to_json()),
        (_, status) => Reply::error(
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

/// Check a job against the limits, before any work.
fn over_limit(spec: &JobSpec, limits: &EmulatorLimits) -> Option<String> {
    if let Some(s) = spec.shots.filter(|&s| s > limits.max_shots) {
        return Some(format!(
            "\"shots\" is {s}; this emulator runs at most {} shots per job (max_shots; IonQ's API takes at most {MAX_SHOTS})",
            limits.max_shots
        ));
    }
    if spec.input.qubits > limits.max_qubits {
        return Some(format!(
            "the circuit has {} qubits; this emulator runs at most {} (max_qubits)",
            spec.input.qubits, limits.max_qubits
        ));
    }
    if spec.input.len() > limits.max_gates {
        return Some(format!(
            "the circuit has {} gates; this emulator runs at most {} per job (max_gates)",
            spec.input.len(),
            limits.max_gates
        ));
    }
    None
}

fn create_job(shared: &Arc<Shared>, version: ApiVersion, text: &str) -> Reply {
    let body: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Reply::error(400, format!("the request body is not JSON: {e}")),
    };
    let spec = match JobSpec::from_body(&body, version) {
        Ok(s) => s,
        Err(e) => return Reply::error(400, e.to_string()),
    };
    if let Some(why) = over_limit(&spec, &shared.limits) {
        return Reply::error(400, why);
    }
    if let Err(e) = shared.runner.check(spec.noise.as_ref()) {
        return Reply::error(400, e.to_string());
    }
    let sequence = shared.sequence.fetch_add(1, Ordering::SeqCst);
    let seed = spec
        .noise
        .as_ref()
        .and_then(|n| n.seed)
        .unwrap_or(0x5eed_0000_u64.wrapping_add(sequence));
    let id = new_job_id();
    {
        let mut store = lock(&shared.store);
        store.evict(&shared.limits, 1);
        let unfinished = store.unfinished();
        if unfinished >= shared.limits.max_active_jobs {
            return Reply::error(
                429,
                format!(
                    "{unfinished} jobs are queued or running, the emulator's limit (max_active_jobs); wait for some to finish or cancel them"
                ),
            )
            .retry_after(1);
        }
        store.jobs.insert(
            id.clone(),
            Job {
                spec,
                version,
                status: JobStatus::Submitted,
                failure: None,
                result: None,
                seed,
                execution_ms: None,
                finished: None,
            },
        );
        store.order.push_back(id.clone());
    }
    let (worker_shared, worker_id) = (Arc::clone(shared), id.clone());
    let spawned = std::thread::Builder::new()
        .name("ionq-emulator-job".into())
        .spawn(move || execute(&worker_shared, &worker_id));
    if let Err(e) = spawned {
        lock(&shared.store).jobs.remove(&id);
        return Reply::error(
            503,
            format!("the emulator cannot start a worker for the job ({e}); retry shortly"),
        )
        .retry_after(1);
    }
    Reply::ok(json!({ "id": id, "status": JobStatus::Submitted.as_str(version) }))
}

/// A place among the `job_workers` simulations; released when dropped.
struct Permit(Arc<Shared>);

impl Permit {
    /// Wait for a free place; `None` if the job is canceled or deleted meanwhile, or the
    /// emulator stops.
    fn acquire(shared: &Arc<Shared>, id: &str) -> Option<Permit> {
        loop {
            {
                let busy = lock(&shared.busy);
                if *busy < shared.limits.job_workers {
                    let mut busy = busy;
                    *busy += 1;
                    return Some(Permit(Arc::clone(shared)));
                }
                let _ = shared.freed.wait_timeout(busy, Duration::from_millis(50));
            }
            let waiting = lock(&shared.store)
                .jobs
                .get(id)
                .is_some_and(|j| !j.status.is_terminal());
            if !waiting || shared.shutdown.load(Ordering::SeqCst) {
                return None;
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut busy = lock(&self.0.busy);
        *busy = busy.saturating_sub(1);
        drop(busy);
        self.0.freed.notify_all();
    }
}

/// Ends the job `failed` if its worker leaves it unfinished (returns early or unwinds):
/// whatever happens, no job stays `submitted`, `ready` or `started`.
struct EndsJob<'a> {
    shared: &'a Shared,
    id: &'a str,
}

impl Drop for EndsJob<'_> {
    fn drop(&mut self) {
        let mut store = lock(&self.shared.store);
        if let Some(job) = store.jobs.get_mut(self.id) {
            if !job.status.is_terminal() {
                let why = if std::thread::panicking() {
                    "the emulator's job worker panicked"
                } else if self.shared.shutdown.load(Ordering::SeqCst) {
                    "the emulator stopped"
                } else {
                    "the emulator's job worker stopped"
                };
                job.end(
                    JobStatus::Failed,
                    Some(failure(
                        "InternalError",
                        format!("{why} before the job ended"),
                    )),
                );
            }
        }
    }
}

/// Walk a job through its statuses and run it, unless it is canceled (or deleted) first.
fn execute(shared: &Arc<Shared>, id: &str) {
    let _ends = EndsJob { shared, id };
    let advance = |to: JobStatus| -> bool {
        std::thread::sleep(shared.stage_delay);
        let mut store = lock(&shared.store);
        match store.jobs.get_mut(id) {
            Some(job) if !job.status.is_terminal() => {
                job.status = to;
                true
            }
            _ => false,
        }
    };
    if !advance(JobStatus::Ready) {
        return;
    }
    let Some(permit) = Permit::acquire(shared, id) else {
        return;
    };
    if !advance(JobStatus::Running) {
        return;
    }
    let (circuit, shots, noise, seed) = {
        let store = lock(&shared.store);
        let Some(job) = store.jobs.get(id) else {
            return;
        };
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
    let (tx, rx) = mpsc::channel();
    let runner = Arc::clone(&shared.runner);
    // The simulation runs on a thread of its own, holding the permit, so a job can end
    // (timeout) while an abandoned computation still finishes in its slot.
    let spawned = std::thread::Builder::new()
        .name("ionq-emulator-sim".into())
        .spawn(move || {
            let _permit = permit;
            let out = catch_unwind(AssertUnwindSafe(|| {
                circuit.and_then(|c| runner.run(&c, shots, noise.as_ref(), seed))
            }));
            let _ = tx.send(out.map_err(|p| panic_message(p.as_ref())));
        });
    let timeout = shared.limits.job_timeout;
    let outcome = match spawned {
        Err(e) => Err(failure(
            "InternalError",
            format!("the emulator cannot start the simulation thread: {e}"),
        )),
        Ok(_) => match rx.recv_timeout(timeout) {
            Ok(Ok(Ok(p))) => Ok(p),
            Ok(Ok(Err(e))) => Err(failure("SimulationError", e.to_string())),
            Ok(Err(panic)) => Err(failure(
                "InternalError",
                format!("the simulator panicked: {panic}"),
            )),
            Err(RecvTimeoutError::Timeout) => Err(failure(
                "SimulationTimeout",
                format!(
                    "the simulation ran longer than the emulator's job_timeout of {:.1} s and was abandoned; send fewer shots, gates or qubits, or raise the limit (bfly ionq-emulator --job-timeout-secs)",
                    timeout.as_secs_f64()
                ),
            )),
            Err(RecvTimeoutError::Disconnected) => Err(failure(
                "InternalError",
                "the simulation thread ended without a result",
            )),
        },
    };
    let mut store = lock(&shared.store);
    let Some(job) = store.jobs.get_mut(id) else {
        return;
    };
    if job.status.is_terminal() {
        return; // canceled while running: drop the result
    }
    job.execution_ms = Some(start.elapsed().as_millis());
    match outcome {
        Ok(p) => {
            job.result = Some(p);
            job.end(JobStatus::Completed, None);
        }
        Err(f) => job.end(JobStatus::Failed, Some(f)),
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
