//! One error type for the whole crate: every variant says what went wrong and what to do.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `butterfly_mps`, as data a caller can match on.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // each variant's message names its fields
#[non_exhaustive]
pub enum Error {
    /// An operation names a qubit that the circuit does not have.
    #[error("op #{op} ({gate}): qubit {qubit} is out of range; the circuit has {n_qubits} qubits (valid: 0..={max})", max = .n_qubits.saturating_sub(1))]
    QubitOutOfRange {
        op: usize,
        gate: String,
        qubit: usize,
        n_qubits: usize,
    },
    /// A two-qubit operation uses the same qubit twice.
    #[error("op #{op} ({gate}): qubit {qubit} appears twice; a two-qubit gate needs two distinct qubits")]
    RepeatedQubit {
        op: usize,
        gate: String,
        qubit: usize,
    },
    /// An angle or phase is NaN or infinite.
    #[error("op #{op} ({gate}): parameter `{name}` is {value}; angles must be finite numbers")]
    NonFiniteAngle {
        op: usize,
        gate: String,
        name: String,
        value: f64,
    },
    /// The JSON names a gate this crate does not know.
    #[error("op #{op}: unknown gate \"{name}\"; known gates: {known}")]
    UnknownGate {
        op: usize,
        name: String,
        known: String,
    },
    /// An operation is malformed (missing field, wrong type, non-unitary matrix...).
    #[error("op #{op}: {message}")]
    InvalidOp { op: usize, message: String },
    /// A circuit parameter slot has no value bound to it.
    #[error("op #{op} ({gate}): {kind} parameter slot {slot} has no value ({available} {kind} values given)")]
    MissingParameter {
        op: usize,
        gate: String,
        kind: &'static str,
        slot: usize,
        available: usize,
    },
    /// Malformed JSON document.
    #[error("{context}: invalid JSON: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    /// File could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A Butterfly needs a power-of-two number of qubits.
    #[error("a Butterfly circuit needs n = 2^d qubits (2, 4, 8, ..., 1024, ...), got n = {n}; nearest valid sizes: {below} and {above}")]
    NotPowerOfTwo {
        n: usize,
        below: usize,
        above: usize,
    },
    /// Butterfly layer count out of range.
    #[error("a Butterfly on {n} qubits has 1..={max} layers, got {layers}")]
    InvalidLayerCount { n: usize, layers: usize, max: usize },
    /// The state-vector simulator would need more memory than the machine has.
    #[error("a state vector of {n_qubits} qubits needs {needed} (2^{n_qubits} amplitudes x 16 bytes) but only {available} is available; use the subspace backend for Hamming-weight-preserving circuits or the MPS backend")]
    StateTooLarge {
        n_qubits: usize,
        needed: String,
        available: String,
    },
    /// The subspace simulator met a gate that changes Hamming weight.
    #[error("op #{op} ({gate}) does not preserve Hamming weight, so the fixed-Hamming-weight subspace simulator cannot run it; use the statevector or mps backend")]
    NotWeightPreserving { op: usize, gate: String },
    /// The fixed-weight subspace is too large.
    #[error("the weight-{k} subspace of {n_qubits} qubits has {dim} amplitudes, more than the limit of {limit}; use the mps backend")]
    SubspaceTooLarge {
        n_qubits: usize,
        k: usize,
        dim: String,
        limit: usize,
    },
    /// Input data for a loader or observable is not usable.
    #[error("{0}")]
    InvalidInput(String),
    /// An MPS truncation policy is unusable (χ = 0, negative or NaN cutoff).
    #[error("invalid MPS truncation: {0}")]
    InvalidTruncation(String),
    /// An MPS qubit→site ordering is unusable (not a permutation, wrong length, …).
    #[error("invalid MPS site ordering: {0}")]
    InvalidOrdering(String),
    /// An engine a function cannot run on (names the ones it supports).
    #[error("{operation} cannot run on the {engine} engine; it supports {supported}")]
    UnsupportedEngine {
        /// The engine asked for.
        engine: String,
        /// What was asked of it.
        operation: String,
        /// The engines it supports.
        supported: String,
    },
    /// A saved file is truncated, corrupt, or not the kind of file expected.
    #[error("{path}: {reason}")]
    CorruptFile { path: PathBuf, reason: String },
    /// A saved file uses a format version this build cannot read.
    #[error("{path}: {kind} file format version {found} is not supported (this build reads version {supported}); re-create the file with this version of bfly")]
    UnsupportedFileVersion {
        path: PathBuf,
        kind: &'static str,
        found: u32,
        supported: u32,
    },
    /// An MPS state file of format version 1 (bincode, written by butterfly-mps before
    /// state files became .npz archives): this version cannot read it.
    #[error("{path}: this {kind} state file is in the bincode format (format version 1) of an earlier butterfly-mps version, which this version no longer reads; re-run the simulation that saved it with this version and save the state again (state files are now .npz archives with a JSON header, format version {current})")]
    LegacyStateFile {
        path: PathBuf,
        kind: &'static str,
        current: u32,
    },
    /// An output path names a file the same command reads: writing it would destroy the
    /// input.
    #[error("{output_role} and {input_role} are the same file ({path}): writing the output would destroy the input; choose another output path")]
    OutputIsInput {
        /// What the output is (e.g. the option that named it).
        output_role: String,
        /// What the input is.
        input_role: String,
        /// The output path as given.
        path: PathBuf,
    },
    /// Two outputs of one command name the same file: one would overwrite the other.
    #[error("{first_role} and {second_role} are the same file ({path}): one output would overwrite the other; give each its own path")]
    OutputsCollide {
        /// The first output.
        first_role: String,
        /// The second output.
        second_role: String,
        /// The second output's path as given.
        path: PathBuf,
    },
    /// An output cannot be written where it was asked for (its folder is missing, or the
    /// path is a folder or a file where a folder is needed); found before any work starts.
    #[error("{role} {path}: {reason}")]
    OutputLocation {
        /// What the output is (e.g. the option that named it).
        role: String,
        /// The path as given.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A numerical routine (SVD, QR) failed, usually because the state holds NaN or infinities.
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// Probabilities (or weights) to sample from are unusable: none, all zero, or one is
    /// negative, NaN or infinite.
    #[error("cannot sample: {0}")]
    InvalidWeights(String),
    /// The parallel-shift rule was asked for a layer that is not the last one applied before
    /// measurement: later layers mix its qubit pairs, so its marginals' shifts are not separable.
    #[error("parallel shift applies only to the trailing layer (the last one applied before measurement), but layer {layer} of this {layers}-layer Butterfly is followed by {following} more layer(s); train layer-wise (the layer being trained is appended last), or use the per-parameter shift rule or exact gradients for earlier layers")]
    ParallelShiftNotTrailing {
        layer: usize,
        layers: usize,
        following: usize,
    },
    /// A data table (CSV) could not be read; names the file, line and column.
    #[error("{}:{}{}: {}", .path.display(), .line, .column.as_ref().map(|c| format!(", column \"{c}\"")).unwrap_or_default(), .message)]
    Table {
        path: PathBuf,
        line: usize,
        column: Option<String>,
        message: String,
    },
    /// Training settings that cannot work together, or a checkpoint that does not match them.
    #[error("training: {0}")]
    Training(String),
    // --- noise models and noisy simulation (src/noise) ---
    /// A noise model name that is not one of the presets.
    #[error("unknown noise model \"{name}\"; known models: {known} (or give your own rates: p1, p2 and readout)")]
    UnknownNoiseModel { name: String, known: String },
    /// A noise rate that is not a probability (outside [0, 1], NaN or infinite).
    #[error(
        "noise model \"{model}\": {what} = {value} is not a probability; give a number in [0, 1]"
    )]
    InvalidNoiseRate {
        model: String,
        what: String,
        value: f64,
    },
    /// A noisy-simulation setting that cannot work for this circuit (engine size limit,
    /// zero trajectories, post-selection weight out of range, ...).
    #[error("noisy simulation: {0}")]
    NoisySimulation(String),
    // --- IonQ: wire format, API client, local emulator (src/ionq/) ---
    /// An op of the circuit has no form in IonQ's circuit JSON (or not on this backend).
    #[error("op #{op} ({gate}) cannot be sent to IonQ: {reason}")]
    IonqUnsupportedOp {
        op: usize,
        gate: String,
        reason: String,
    },
    /// An IonQ job body or circuit document is malformed (names the field).
    #[error("IonQ job: {0}")]
    IonqInvalidJob(String),
    /// No API key was given.
    #[error(
        "no IonQ API key: set the IONQ_API_KEY environment variable or give the key explicitly"
    )]
    IonqMissingApiKey,
    /// HTTP 400: the server rejected the request; its message says why.
    #[error("IonQ API rejected the request (HTTP 400): {message}")]
    IonqBadRequest { message: String },
    /// HTTP 401: the API key was not accepted.
    #[error("IonQ API: the API key was not accepted (HTTP 401: {message}); check the key (IONQ_API_KEY)")]
    IonqUnauthorized { message: String },
    /// HTTP 403: the key is valid but may not use this resource.
    #[error("IonQ API: this API key may not access {url} (HTTP 403: {message})")]
    IonqForbidden { url: String, message: String },
    /// HTTP 404: no such job, backend or endpoint.
    #[error("IonQ API: not found: {url} (HTTP 404: {message}); check the job id and the base URL")]
    IonqNotFound { url: String, message: String },
    /// Another HTTP error status that is not retried.
    #[error("IonQ API {url}: HTTP {status}: {message}")]
    IonqHttp {
        url: String,
        status: u16,
        message: String,
    },
    /// Retryable failures (429, 5xx, connection errors, timeouts) persisted through every attempt.
    #[error("IonQ API {url}: gave up after {attempts} attempts; last failure: {last}")]
    IonqRetriesExhausted {
        url: String,
        attempts: u32,
        last: String,
    },
    /// A request or a wait took longer than allowed.
    #[error("IonQ API {what}: timed out after {after_ms} ms{hint}")]
    IonqTimeout {
        what: String,
        after_ms: u128,
        hint: String,
    },
    /// The server answered something that is not the documented shape.
    #[error("IonQ API {url}: malformed response: {reason}")]
    IonqMalformedResponse { url: String, reason: String },
    /// The job ended in status `failed`.
    #[error("IonQ job {id} failed ({code}): {message}")]
    IonqJobFailed {
        id: String,
        code: String,
        message: String,
    },
    /// The job was canceled, so it has no results.
    #[error("IonQ job {id} was canceled; it has no results")]
    IonqJobCanceled { id: String },
    /// Results were asked for a job that has not finished.
    #[error("IonQ job {id} is still {status}; results exist once it is completed (use `bfly ionq status {id}`)")]
    IonqJobNotFinished { id: String, status: String },
    /// A noise model this build cannot simulate.
    #[error("noise model \"{model}\" is not available in this build (available: {available})")]
    IonqNoiseModelUnavailable { model: String, available: String },
    // --- compiler and validation (src/compile, src/validate) ---
    /// A compile target name that does not exist.
    #[error("unknown compile target \"{name}\"; use aria (MS + GPi/GPi2), forte (ZZ + GPi/GPi2) or qis (rx/ry/rz/h/x/z/cnot/cz/swap)")]
    UnknownTarget { name: String },
    /// An op the compiler (or exporter) cannot translate.
    #[error("op #{op} ({gate}): cannot compile: {reason}")]
    CannotCompile {
        op: usize,
        gate: String,
        reason: String,
    },
    /// Fusing a compiled circuit into two-qubit blocks for the subspace simulator met a
    /// block that changes Hamming weight.
    #[error("ops #{first_op}..=#{last_op} fuse into a block on qubits {qubits:?} that does not preserve Hamming weight, so the subspace simulator cannot check this circuit; validate with the state-vector engine (n ≤ ~24) or the MPS engine")]
    UnfusableBlock {
        qubits: Vec<usize>,
        first_op: usize,
        last_op: usize,
    },
    /// A compiled circuit does not reproduce its source closely enough.
    #[error("validation failed: worst state fidelity {fidelity:.15} is below the threshold {min_fidelity} ({failed} of {total} inputs failed)")]
    ValidationFailed {
        fidelity: f64,
        min_fidelity: f64,
        failed: usize,
        total: usize,
    },
    /// Features that do not encode into a unit vector (NaN or infinite norm).
    #[error("cannot encode the features: {detail}; remove or impute NaN and infinite inputs, or retrain a model whose weights diverged")]
    NonFiniteEncoding { detail: String },
    /// A validation whose MPS runs truncated: its fidelity compares two approximations and
    /// certifies nothing.
    #[error("validation is not exact: the MPS runs discarded weight {source_discarded_weight:.3e} (source) and {compiled_discarded_weight:.3e} (compiled); raise the MPS bond cap χ until both are 0, or validate on fewer qubits")]
    ValidationInexact {
        source_discarded_weight: f64,
        compiled_discarded_weight: f64,
    },
    // --- sweeps and plots (src/sweep, src/plot.rs) ---
    /// A sweep specification that cannot run (empty axis, layer count out of range, …).
    #[error("sweep: {0}")]
    SweepSpec(String),
    /// A sweep point's worker process failed or was killed from outside.
    #[error("sweep point {key}: {message}")]
    SweepPoint { key: String, message: String },
    /// A plot could not be drawn or written.
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
    // --- U(1)-symmetric MPS (sim::mps::u1) ---
    /// The U(1) (Hamming-weight-conserving) MPS met a gate that changes Hamming weight.
    #[error("{gate} does not conserve Hamming weight, so the U(1) MPS cannot apply it; run the circuit on the dense MPS, or convert the state with U1Mps::to_dense and apply the gate there")]
    NotChargeConserving { gate: String },
    // --- imputation study ---
    /// An imputer or the imputation study cannot run with the given data or settings.
    #[error("imputation: {0}")]
    Imputation(String),
    // --- hardware-faithful rows of the imputation study (study::hardware) ---
    /// A setting of the hardware-faithful rows is invalid (the message names the option).
    #[error("hardware rows: {0}")]
    HardwareRows(String),
    // --- IonQ client (bfly-ionq client.rs): a base URL no request can be sent to ---
    /// The API base URL cannot be used (unparseable, not http/https, no host); refused
    /// before any request. `url` has any `user:password@` replaced by `***@`.
    #[error("IonQ base URL {url:?} cannot be used: {reason}; give one like https://api.ionq.co/v0.4 or http://127.0.0.1:8765/v0.4 (--base-url)")]
    IonqInvalidBaseUrl { url: String, reason: String },

    // --- resource budget (budget.rs) ---
    /// An operation would need more memory than is available (checked before allocating):
    /// what needs how much, and what to change.
    #[error("{what} needs {} but only {} is available; {advice}", crate::budget::describe_bytes(*.needed_bytes), crate::budget::describe_bytes(*.available_bytes))]
    ResourceExceeded {
        /// What would need the memory.
        what: String,
        /// Bytes it needs (`u64::MAX`: more than that).
        needed_bytes: u64,
        /// Bytes the budget allows.
        available_bytes: u64,
        /// What to change so that it fits.
        advice: String,
    },
}

impl Error {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Human-readable byte count (binary units).
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
