//! A blocking client for IonQ's REST API (v0.4, or v0.3 on a flag): submit a job, poll it
//! with backoff until it is completed, failed or canceled, fetch its probabilities, cancel
//! it, list backends.
//!
//! Following IonQ's docs ("API v0.4 Reference", "v0.4 Error Codes", "Create job",
//! "Cancel a job"): the key goes in `Authorization: apiKey <key>`; jobs are created with
//! `POST {base}/jobs`, read with `GET {base}/jobs/{id}`, canceled with
//! `PUT {base}/jobs/{id}/status/cancel`; probabilities are at
//! `GET {base}/jobs/{id}/results/probabilities` (v0.3: `GET {base}/jobs/{id}/results`);
//! errors carry `{"error", "message", "statusCode"}`.
//!
//! Retries: 429 and 5xx answers, connection failures (a refused connection included) and
//! timeouts of idempotent requests (GET, PUT) are retried up to
//! [`ClientConfig::max_attempts`] times with exponential backoff and jitter, so the
//! pauses between the tries of one request add up to at most
//! [`ClientConfig::max_retry_wait`] (about 15 s with the defaults) unless the server asks
//! for more with a `Retry-After` header (seconds): the client waits at least that long,
//! capped by [`ClientConfig::max_retry_after`]. The exhausted-retries error says how many
//! tries were made over how long. A **timeout (or a
//! dropped connection) of `POST /jobs` is not retried**: the server may have created the
//! job, so resubmitting could run it twice; the typed [`Error::IonqTimeout`] says so. 429
//! and 5xx answers to `POST` are retried (the server answered, so it refused the job), as
//! IonQ's own qiskit client does. 400/401/403/404 are typed
//! errors at once ([`Error::IonqBadRequest`] keeps the server's message).
//!
//! The base URL is checked when the client is built: an unparseable URL, a scheme other
//! than http/https or a URL without a host is [`Error::IonqInvalidBaseUrl`] at once, never
//! retried.
//!
//! The API key is never printed: [`ApiKey`]'s `Debug` is redacted, and so is the client's.
//! Credentials written into the base URL (`https://user:password@host/...`) are never
//! printed either: errors, `Debug` output and messages show the URL with `***@`
//! ([`redact_url`]).
//!
//! A job is checked before it is sent ([`JobSpec::check_shots`]): a body IonQ's API would
//! reject for its shots (0, more than [`MAX_SHOTS`](super::format::MAX_SHOTS)) is a typed
//! [`Error::IonqInvalidJob`] and no request is made.
//!
//! ```no_run
//! use bfly_ionq::client::{ApiKey, ClientConfig, IonqClient};
//! use bfly_ionq::format::{ApiVersion, IonqInput, JobSpec};
//! # let circuit = bfly_core::circuit::Circuit::new(1);
//! let client = IonqClient::new(ApiKey::resolve(None)?, ClientConfig::new(ApiVersion::V0_4))?;
//! let job = JobSpec::new("simulator", IonqInput::from_circuit(&circuit, "simulator")?);
//! let probabilities = client.run(&job)?; // submit, wait, fetch
//! # Ok::<(), bfly_core::Error>(())
//! ```

use rand::Rng;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant};

use super::format::{ApiVersion, JobInfo, JobSpec, JobStatus, Probabilities};
use bfly_core::error::{Error, Result};

/// IonQ's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.ionq.co";
/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "IONQ_API_KEY";

/// An IonQ API key. Its `Debug` and `Display` never show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key; refuses empty keys and keys with whitespace or control characters.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidInput(
                "the IonQ API key is empty or contains whitespace; copy it again from the IonQ cloud console".into(),
            ));
        }
        Ok(ApiKey(key))
    }

    /// The flag's value if given, else `IONQ_API_KEY`; [`Error::IonqMissingApiKey`]
    /// when neither is set.
    pub fn resolve(flag: Option<String>) -> Result<Self> {
        match flag.or_else(|| std::env::var(API_KEY_ENV).ok()) {
            Some(k) => Self::new(k),
            None => Err(Error::IonqMissingApiKey),
        }
    }

    /// The key itself (for the emulator's comparison; do not print it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn header(&self) -> String {
        format!("apiKey {}", self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where to talk to and how patiently. Its `Debug` hides credentials in the base URL.
#[derive(Clone, PartialEq)]
pub struct ClientConfig {
    /// Base URL including the version, e.g. `https://api.ionq.co/v0.4`.
    pub base_url: String,
    /// Request and response shapes to use.
    pub api_version: ApiVersion,
    /// Limit for one whole request (connect, send, read the answer).
    pub request_timeout: Duration,
    /// Limit for opening the connection.
    pub connect_timeout: Duration,
    /// Tries per request for retryable failures (≥ 1).
    pub max_attempts: u32,
    /// First retry delay; doubles each retry (with jitter), up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Cap on the exponential retry delay.
    pub max_backoff: Duration,
    /// Cap on a server's `Retry-After`.
    pub max_retry_after: Duration,
    /// First interval between status polls; grows ×1.5 up to `max_poll_interval`.
    pub poll_interval: Duration,
    /// Cap on the poll interval.
    pub max_poll_interval: Duration,
    /// How long [`IonqClient::wait`] waits for a terminal status (`None`: forever).
    pub wait_timeout: Option<Duration>,
}

impl ClientConfig {
    /// IonQ's production API at `version`, with patient defaults (30 s requests, 6 tries,
    /// 0.5 s → 30 s backoff, polls 0.5 s → 10 s, waits up to 24 h).
    pub fn new(version: ApiVersion) -> Self {
        ClientConfig {
            base_url: format!("{DEFAULT_BASE_URL}/{version}"),
            api_version: version,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            poll_interval: Duration::from_millis(500),
            max_poll_interval: Duration::from_secs(10),
            wait_timeout: Some(Duration::from_secs(24 * 3600)),
        }
    }

    /// The same settings against another base URL (e.g. the local emulator).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_string();
        self
    }

    /// The longest the client pauses between the tries of one request, not counting
    /// waits a server asks for with `Retry-After`: the sum of the backoff caps
    /// `min(initial_backoff · 2^k, max_backoff)` over the `max_attempts − 1` retries
    /// (jitter only shortens each pause). About 15.5 s with the defaults.
    ///
    /// ```
    /// use bfly_ionq::client::ClientConfig;
    /// use bfly_ionq::format::ApiVersion;
    /// use std::time::Duration;
    /// let c = ClientConfig::new(ApiVersion::V0_4);
    /// assert_eq!(c.max_retry_wait(), Duration::from_millis(500 + 1000 + 2000 + 4000 + 8000));
    /// ```
    pub fn max_retry_wait(&self) -> Duration {
        (0..self.max_attempts.saturating_sub(1))
            .map(|k| backoff_cap(self, k))
            .fold(Duration::ZERO, Duration::saturating_add)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &redact_url(&self.base_url))
            .field("api_version", &self.api_version)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("poll_interval", &self.poll_interval)
            .field("max_poll_interval", &self.max_poll_interval)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

/// The exponential backoff step before retry `k` (0-based), before jitter.
fn backoff_cap(config: &ClientConfig, k: u32) -> Duration {
    config
        .initial_backoff
        .saturating_mul(1u32 << k.min(20))
        .min(config.max_backoff)
}

/// `url` with any credentials (`user:password@` before the host) replaced by `***@`, for
/// messages and logs; works on URLs that do not parse too.
///
/// ```
/// use bfly_ionq::client::redact_url;
/// assert_eq!(redact_url("https://me:s3cret@api.ionq.co/v0.4"), "https://***@api.ionq.co/v0.4");
/// assert_eq!(redact_url("http://127.0.0.1:8765/v0.4"), "http://127.0.0.1:8765/v0.4");
/// assert_eq!(redact_url("me:pw@host/v0.4"), "***@host/v0.4");
/// ```
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..start], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Refuse a base URL no request can go to: unparseable, a scheme other than http or
/// https, or no host.
fn check_base_url(base_url: &str) -> Result<()> {
    let invalid = |reason: String| Error::IonqInvalidBaseUrl {
        url: redact_url(base_url),
        reason,
    };
    let parsed = reqwest::Url::parse(base_url).map_err(|e| invalid(format!("{e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme is \"{}\"; the API is reached over http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host".into()));
    }
    Ok(())
}

/// One backend as `GET /backends` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// Name (`simulator`, `qpu.forte-1`, …).
    pub backend: String,
    /// `available`, `unavailable`, …
    pub status: String,
    /// Qubits, when reported.
    #[serde(default)]
    pub qubits: Option<usize>,
    /// Average queue time, when reported.
    #[serde(default)]
    pub average_queue_time: Option<f64>,
    /// Noise models the simulator offers (emulator extension; absent on IonQ's list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_models: Option<Vec<String>>,
}

/// The blocking IonQ API client.
pub struct IonqClient {
    http: Client,
    key: ApiKey,
    config: ClientConfig,
    /// The base URL as messages show it (credentials redacted).
    shown_base: String,
}

impl fmt::Debug for IonqClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IonqClient")
            .field("key", &self.key)
            .field("config", &self.config)
            .finish()
    }
}

/// Why one attempt failed, when it may be retried.
struct Retryable {
    what: String,
    retry_after: Option<Duration>,
    timed_out: bool,
    /// The request may have reached the server without an answer (timeout, reset).
    maybe_received: bool,
}

impl IonqClient {
    /// A client with `key` and `config` (rustls TLS, no OpenSSL). An unusable base URL
    /// is [`Error::IonqInvalidBaseUrl`] here, before any request.
    pub fn new(key: ApiKey, config: ClientConfig) -> Result<Self> {
        if config.max_attempts == 0 {
            return Err(Error::InvalidInput(
                "ClientConfig::max_attempts must be at least 1".into(),
            ));
        }
        check_base_url(&config.base_url)?;
        let http = Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("butterfly-mps/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        let shown_base = redact_url(config.base_url.trim_end_matches('/'));
        Ok(IonqClient {
            http,
            key,
            config,
            shown_base,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The URL a request goes to (may hold credentials: never print it).
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// The URL of `path` as messages show it.
    fn shown(&self, path: &str) -> String {
        format!("{}{path}", self.shown_base)
    }

    /// Exponential backoff with "equal jitter": half the step fixed, half random.
    fn backoff(&self, retry: u32) -> Duration {
        let base = backoff_cap(&self.config, retry);
        let half = base / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    /// One API call with retries; the parsed JSON answer of a 2xx.
    fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let target = self.url(path);
        let url = self.shown(path);
        let what = format!("{method} {url}");
        let idempotent = method != Method::POST;
        let attempts = self.config.max_attempts;
        let started = Instant::now();
        let mut last = String::new();
        for attempt in 1..=attempts {
            let failure = match self.attempt(&method, &target, &url, body) {
                Ok(v) => return Ok(v),
                Err(AttemptError::Final(e)) => return Err(e),
                Err(AttemptError::Retry(r)) => r,
            };
            if failure.timed_out && !idempotent {
                return Err(Error::IonqTimeout {
                    what,
                    after_ms: self.config.request_timeout.as_millis(),
                    hint: "; not retried because the server may have created the job: check `bfly ionq status` or the IonQ console before submitting again".into(),
                });
            }
            if failure.maybe_received && !idempotent {
                return Err(Error::IonqHttp {
                    url,
                    status: 0,
                    message: format!(
                        "{}; not retried because the server may have created the job: check `bfly ionq status` or the IonQ console before submitting again",
                        failure.what
                    ),
                });
            }
            last = failure.what;
            if attempt == attempts {
                if failure.timed_out {
                    return Err(Error::IonqTimeout {
                        what,
                        after_ms: self.config.request_timeout.as_millis(),
                        hint: format!(" on each of {attempts} attempts"),
                    });
                }
                break;
            }
            let mut wait = self.backoff(attempt - 1);
            if let Some(ra) = failure.retry_after {
                wait = wait.max(ra.min(self.config.max_retry_after));
            }
            std::thread::sleep(wait);
        }
        Err(Error::IonqRetriesExhausted {
            url,
            attempts,
            last: format!(
                "{last} ({attempts} tries over {:.1} s; retries pause at most {:.1} s in all, or longer when the server sends Retry-After)",
                started.elapsed().as_secs_f64(),
                self.config.max_retry_wait().as_secs_f64()
            ),
        })
    }

    /// One try: `target` is where it goes, `url` how messages show it.
    fn attempt(
        &self,
        method: &Method,
        target: &str,
        url: &str,
        body: Option<&Value>,
    ) -> std::result::Result<Value, AttemptError> {
        let mut req = self
            .http
            .request(method.clone(), target)
            .header(AUTHORIZATION, self.key.header())
            .header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        let transport = |e: reqwest::Error| {
            // reqwest's message names the URL, credentials and all: drop it.
            let e = e.without_url();
            if e.is_builder() {
                AttemptError::Final(Error::IonqInvalidBaseUrl {
                    url: url.to_string(),
                    reason: format!("the request cannot be built: {e}"),
                })
            } else if e.is_timeout() {
                AttemptError::Retry(Retryable {
                    what: format!(
                        "timed out after {} ms",
                        self.config.request_timeout.as_millis()
                    ),
                    retry_after: None,
                    timed_out: true,
                    maybe_received: true,
                })
            } else if e.is_connect() {
                AttemptError::Retry(Retryable {
                    what: format!("cannot connect: {e}"),
                    retry_after: None,
                    timed_out: false,
                    maybe_received: false,
                })
            } else {
                AttemptError::Retry(Retryable {
                    what: format!("transport error: {e}"),
                    retry_after: None,
                    timed_out: false,
                    maybe_received: true,
                })
            }
        };
        let resp = req.send().map_err(transport)?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(resp.headers());
        let text = resp.text().map_err(transport)?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| {
                AttemptError::Final(Error::IonqMalformedResponse {
                    url: url.into(),
                    reason: format!("HTTP {status} body is not JSON ({e}): {}", clip(&text)),
                })
            });
        }
        let message = server_message(&text);
        if status == 429 || status >= 500 {
            return Err(AttemptError::Retry(Retryable {
                what: format!("HTTP {status}: {message}"),
                retry_after,
                timed_out: false,
                maybe_received: false,
            }));
        }
        let url = url.to_string();
        Err(AttemptError::Final(match status {
            400 => Error::IonqBadRequest { message },
            401 => Error::IonqUnauthorized { message },
            403 => Error::IonqForbidden { url, message },
            404 => Error::IonqNotFound { url, message },
            _ => Error::IonqHttp {
                url,
                status,
                message,
            },
        }))
    }

    /// Submit a job; returns its id. A job whose shots IonQ's API would reject is a
    /// typed [`Error::IonqInvalidJob`] before anything is sent ([`JobSpec::check_shots`]).
    pub fn submit(&self, job: &JobSpec) -> Result<String> {
        job.check_shots()?;
        let body = job.to_body(self.config.api_version);
        let v = self.call(Method::POST, "/jobs", Some(&body))?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::IonqMalformedResponse {
                url: self.shown("/jobs"),
                reason: format!(
                    "the answer to POST /jobs has no string \"id\": {}",
                    clip(&v.to_string())
                ),
            })
    }

    /// The job's current state.
    pub fn job(&self, id: &str) -> Result<JobInfo> {
        let path = format!("/jobs/{}", check_id(id)?);
        let v = self.call(Method::GET, &path, None)?;
        JobInfo::from_json(&v, self.config.api_version).map_err(|reason| {
            Error::IonqMalformedResponse {
                url: self.shown(&path),
                reason,
            }
        })
    }

    /// Poll until the job is completed (Ok), failed ([`Error::IonqJobFailed`]) or
    /// canceled ([`Error::IonqJobCanceled`]); polls back off ×1.5 per round.
    pub fn wait(&self, id: &str) -> Result<JobInfo> {
        Ok(self.wait_all(&[id.to_string()])?.remove(0))
    }

    /// Poll several jobs round-robin until all are completed; the first failed or
    /// canceled job is an error.
    pub fn wait_all(&self, ids: &[String]) -> Result<Vec<JobInfo>> {
        let start = Instant::now();
        let mut interval = self.config.poll_interval;
        let mut done: Vec<Option<JobInfo>> = vec![None; ids.len()];
        loop {
            for (i, id) in ids.iter().enumerate() {
                if done[i].is_some() {
                    continue;
                }
                let info = self.job(id)?;
                match info.status {
                    JobStatus::Completed => done[i] = Some(info),
                    JobStatus::Failed => return Err(failed(&info)),
                    JobStatus::Canceled => return Err(Error::IonqJobCanceled { id: info.id }),
                    _ => {}
                }
            }
            if let Some(pending) = done.iter().position(Option::is_none) {
                if let Some(limit) = self.config.wait_timeout {
                    if start.elapsed() >= limit {
                        return Err(Error::IonqTimeout {
                            what: format!("waiting for job {}", ids[pending]),
                            after_ms: start.elapsed().as_millis(),
                            hint: format!(
                                "; it keeps running: check later with `bfly ionq status {}`",
                                ids[pending]
                            ),
                        });
                    }
                }
                std::thread::sleep(interval);
                interval = interval.mul_f64(1.5).min(self.config.max_poll_interval);
            } else {
                return Ok(done.into_iter().map(|d| d.expect("all done")).collect());
            }
        }
    }

    /// The probabilities of a completed job (typed errors for failed, canceled or
    /// unfinished jobs), keyed by basis-state index with qubit 0 least significant.
    pub fn probabilities(&self, id: &str) -> Result<Probabilities> {
        let info = self.job(id)?;
        self.probabilities_of(&info)
    }

    /// As [`IonqClient::probabilities`], from a job state already fetched.
    pub fn probabilities_of(&self, info: &JobInfo) -> Result<Probabilities> {
        match info.status {
            JobStatus::Completed => {}
            JobStatus::Failed => return Err(failed(info)),
            JobStatus::Canceled => {
                return Err(Error::IonqJobCanceled {
                    id: info.id.clone(),
                })
            }
            s => {
                return Err(Error::IonqJobNotFinished {
                    id: info.id.clone(),
                    status: s.to_string(),
                })
            }
        }
        let path = match self.config.api_version {
            ApiVersion::V0_4 => format!("/jobs/{}/results/probabilities", check_id(&info.id)?),
            ApiVersion::V0_3 => format!("/jobs/{}/results", check_id(&info.id)?),
        };
        let n = info.qubits.ok_or_else(|| Error::IonqMalformedResponse {
            url: self.shown(&format!("/jobs/{}", info.id)),
            reason: "the job does not report its qubit count (stats.qubits / qubits)".into(),
        })?;
        let v = self.call(Method::GET, &path, None)?;
        Probabilities::from_json(&v, n).map_err(|reason| Error::IonqMalformedResponse {
            url: self.shown(&path),
            reason,
        })
    }

    /// Submit, wait, fetch the probabilities.
    pub fn run(&self, job: &JobSpec) -> Result<Probabilities> {
        let id = self.submit(job)?;
        let info = self.wait(&id)?;
        self.probabilities_of(&info)
    }

    /// Cancel a job; returns the status the server reports afterwards.
    pub fn cancel(&self, id: &str) -> Result<JobStatus> {
        let path = format!("/jobs/{}/status/cancel", check_id(id)?);
        let v = self.call(Method::PUT, &path, None)?;
        v.get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| "no string field \"status\"".to_string())
            .and_then(str::parse)
            .map_err(|reason| Error::IonqMalformedResponse {
                url: self.shown(&path),
                reason,
            })
    }

    /// The backends the account can use.
    pub fn backends(&self) -> Result<Vec<BackendInfo>> {
        let v = self.call(Method::GET, "/backends", None)?;
        serde_json::from_value(v).map_err(|e| Error::IonqMalformedResponse {
            url: self.shown("/backends"),
            reason: format!("expected a list of {{backend, status, ...}}: {e}"),
        })
    }
}

enum AttemptError {
    Final(Error),
    Retry(Retryable),
}

fn failed(info: &JobInfo) -> Error {
    let (code, message) = info.failure.as_ref().map_or_else(
        || {
            (
                "unknown".to_string(),
                "the server gave no failure details".to_string(),
            )
        },
        |f| (f.code.clone(), f.error.clone()),
    );
    Error::IonqJobFailed {
        id: info.id.clone(),
        code,
        message,
    }
}

/// Job ids go into URL paths: refuse anything that could change the path.
fn check_id(id: &str) -> Result<&str> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::InvalidInput(format!(
            "\"{id}\" is not an IonQ job id (letters, digits and '-' only)"
        )));
    }
    Ok(id)
}

/// `Retry-After` in seconds (integer or decimal); HTTP dates are ignored.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let s = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = s.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The `message` (or `error`) of IonQ's error body, else the body itself, shortened.
fn server_message(text: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        for key in ["message", "error"] {
            if let Some(m) = v.get(key).and_then(Value::as_str) {
                return m.to_string();
            }
        }
    }
    if text.trim().is_empty() {
        "(empty body)".into()
    } else {
        clip(text)
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 300;
    if text.len() <= MAX {
        text.to_string()
    } else {
        let cut = (0..=MAX)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &text[..cut])
    }
}
