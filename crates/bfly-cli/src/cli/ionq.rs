//! `bfly ionq …` (submit, status, results, cancel, backends, export) and
//! `bfly ionq-emulator` (the local IonQ-compatible server).

use butterfly_mps::circuit::Circuit;
use butterfly_mps::ionq::client::{ApiKey, ClientConfig, IonqClient};
use butterfly_mps::ionq::emulator::{Emulator, EmulatorConfig, EmulatorLimits};
use butterfly_mps::ionq::format::{
    ApiVersion, IonqInput, JobInfo, JobSpec, NoiseRequest, Probabilities,
};
use butterfly_mps::{Error, Result};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach the API.
#[derive(clap::Args, Clone)]
pub struct Connection {
    /// Base URL including the version (default: `https://api.ionq.co/<api-version>`; for the
    /// local emulator e.g. http://127.0.0.1:8765/v0.4).
    #[arg(long)]
    base_url: Option<String>,
    /// API version: v0.4 or v0.3.
    #[arg(long, default_value = "v0.4")]
    api_version: ApiVersion,
    /// API key (default: the IONQ_API_KEY environment variable). Never printed.
    #[arg(long)]
    api_key: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

impl Connection {
    fn client(&self) -> Result<IonqClient> {
        let mut config = ClientConfig::new(self.api_version);
        if let Some(url) = &self.base_url {
            config = config.with_base_url(url.clone());
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(Error::InvalidInput(format!(
                "--timeout {} must be a positive number of seconds",
                self.timeout
            )));
        }
        config.request_timeout = Duration::from_secs_f64(self.timeout);
        IonqClient::new(ApiKey::resolve(self.api_key.clone())?, config)
    }
}

/// What goes into a job.
#[derive(clap::Args)]
pub struct JobArgs {
    /// Circuit of IonQ gates: the crate's circuit JSON (native gpi/gpi2/ms/zz or QIS
    /// gates, fixed parameters), or an IonQ `input` object.
    #[arg(long, short = 'c')]
    circuit: PathBuf,
    /// Backend: simulator, qpu.aria-1, qpu.aria-2, qpu.forte-1, qpu.forte-enterprise-1.
    #[arg(long, short = 'b', default_value = "simulator")]
    backend: String,
    /// Shots (the ideal simulator returns exact probabilities whatever the shots).
    #[arg(long)]
    shots: Option<u64>,
    /// Simulator noise model (ideal, aria-1, aria-2, forte-1, …).
    #[arg(long)]
    noise: Option<String>,
    /// Seed of the noisy simulator's sampling.
    #[arg(long)]
    seed: Option<u64>,
    /// Job name.
    #[arg(long)]
    name: Option<String>,
    /// Debiasing error mitigation (QPU; needs ≥ 500 shots).
    #[arg(long)]
    debias: bool,
}

impl JobArgs {
    fn job(&self) -> Result<JobSpec> {
        let noise = match (&self.noise, self.seed) {
            (Some(m), seed) => Some(NoiseRequest::new(m.clone(), seed)),
            (None, Some(_)) => {
                return Err(Error::InvalidInput(
                    "--seed seeds a noise model: give --noise too (e.g. --noise ideal)".into(),
                ))
            }
            (None, None) => None,
        };
        let input = load_input(&self.circuit, &self.backend, noise.as_ref())?;
        let mut job = JobSpec::new(self.backend.clone(), input);
        job.shots = self.shots;
        job.name = self.name.clone().or_else(|| {
            self.circuit
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        });
        job.noise = noise;
        job.debiasing = self.debias.then_some(true);
        job.check_backend()?;
        job.check_shots()?;
        Ok(job)
    }
}

/// Read a crate circuit file, or an IonQ `input` object, as an IonQ circuit.
fn load_input(path: &Path, backend: &str, noise: Option<&NoiseRequest>) -> Result<IonqInput> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        context: path.display().to_string(),
        source,
    })?;
    if value.get("ops").is_some() {
        let circuit = Circuit::load(path)?;
        return IonqInput::from_circuit_with_noise(&circuit, backend, noise);
    }
    let input = value.get("input").unwrap_or(&value);
    IonqInput::from_json(input).map_err(|e| {
        Error::InvalidInput(format!(
            "{}: neither a circuit file (with \"ops\") nor a valid IonQ input: {e}",
            path.display()
        ))
    })
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Submit a job; prints its id (with --wait, waits and prints the results).
    Submit {
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        connection: Connection,
        /// Wait for the job and print its probabilities.
        #[arg(long)]
        wait: bool,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Show a job's status.
    Status {
        /// Job id.
        id: String,
        #[command(flatten)]
        connection: Connection,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Print a completed job's probabilities (and counts with --shots).
    Results {
        /// Job id.
        id: String,
        #[command(flatten)]
        connection: Connection,
        /// Also show counts for this many shots (probabilities × shots).
        #[arg(long)]
        shots: Option<u64>,
        /// Print IonQ's result JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job.
    Cancel {
        /// Job id.
        id: String,
        #[command(flatten)]
        connection: Connection,
    },
    /// List backends.
    Backends {
        #[command(flatten)]
        connection: Connection,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Write the job body (POST /jobs JSON) to a file, without sending it.
    Export {
        #[command(flatten)]
        job: JobArgs,
        /// Output file (written atomically).
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// API v0.3 body (`target`, `input.format`) instead of v0.4.
        #[arg(long)]
        v03: bool,
    },
}

/// `bfly ionq-emulator` flags.
#[derive(clap::Args)]
pub struct EmulatorArgs {
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, short = 'p', default_value_t = 8765)]
    port: u16,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The API key clients must send (default: IONQ_API_KEY). One of a key or --no-auth
    /// is required; an empty key is refused.
    #[arg(long)]
    api_key: Option<String>,
    /// Accept any non-empty API key: authentication off, on purpose.
    #[arg(long, conflicts_with = "api_key")]
    no_auth: bool,
    /// Milliseconds a job spends in each status before it runs.
    #[arg(long, default_value_t = 10)]
    stage_delay_ms: u64,
    /// Monte-Carlo trajectories per noisy job (noise models aria-1, aria-2, forte-1).
    #[arg(long, default_value_t = 200)]
    trajectories: usize,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `bfly ionq-emulator` limits (EmulatorLimits); the defaults are the library's.
#[derive(clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Most shots per job (IonQ's API maximum is 1000000).
    #[arg(long, default_value_t = EmulatorLimits::default().max_shots)]
    max_shots: u64,
    /// Most qubits per job (each backend's own width applies too).
    #[arg(long, default_value_t = EmulatorLimits::default().max_qubits)]
    max_qubits: usize,
    /// Most gates per job.
    #[arg(long, default_value_t = EmulatorLimits::default().max_gates)]
    max_gates: usize,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = EmulatorLimits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most open connections in all (beyond: 503 and close).
    #[arg(long, default_value_t = EmulatorLimits::default().max_connections)]
    max_connections: usize,
    /// Most open connections from one client address (beyond: 429 and close).
    #[arg(long, default_value_t = EmulatorLimits::default().max_connections_per_client)]
    max_connections_per_client: usize,
    /// Longest wait for one read or write on a connection, in seconds.
    #[arg(long, default_value_t = EmulatorLimits::default().io_timeout.as_secs_f64())]
    io_timeout_secs: f64,
    /// Longest a whole request (head and body) may take to arrive, in seconds.
    #[arg(long, default_value_t = EmulatorLimits::default().request_timeout.as_secs_f64())]
    request_timeout_secs: f64,
    /// Longest a kept-alive connection waits for its next request, in seconds.
    #[arg(long, default_value_t = EmulatorLimits::default().idle_timeout.as_secs_f64())]
    idle_timeout_secs: f64,
    /// Jobs kept; the oldest finished ones are evicted first.
    #[arg(long, default_value_t = EmulatorLimits::default().max_jobs)]
    max_jobs: usize,
    /// Seconds a finished job is kept before it is evicted.
    #[arg(long, default_value_t = EmulatorLimits::default().job_ttl.as_secs_f64())]
    job_ttl_secs: f64,
    /// Most unfinished (queued or running) jobs; beyond, submissions get 429.
    #[arg(long, default_value_t = EmulatorLimits::default().max_active_jobs)]
    max_active_jobs: usize,
    /// Simulations running at once.
    #[arg(long, default_value_t = EmulatorLimits::default().job_workers)]
    job_workers: usize,
    /// Seconds a simulation may run before its job fails (SimulationTimeout).
    #[arg(long, default_value_t = EmulatorLimits::default().job_timeout.as_secs_f64())]
    job_timeout_secs: f64,
}

impl LimitArgs {
    fn limits(&self) -> Result<EmulatorLimits> {
        let secs = |flag: &str, v: f64| -> Result<Duration> {
            if v.is_finite() && v > 0.0 && v <= 1e9 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(Error::InvalidInput(format!(
                    "--{flag} {v} must be a positive number of seconds (at most 1e9)"
                )))
            }
        };
        let limits = EmulatorLimits {
            max_body_bytes: self.max_body_bytes,
            max_shots: self.max_shots,
            max_qubits: self.max_qubits,
            max_gates: self.max_gates,
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            io_timeout: secs("io-timeout-secs", self.io_timeout_secs)?,
            request_timeout: secs("request-timeout-secs", self.request_timeout_secs)?,
            idle_timeout: secs("idle-timeout-secs", self.idle_timeout_secs)?,
            max_jobs: self.max_jobs,
            job_ttl: secs("job-ttl-secs", self.job_ttl_secs)?,
            max_active_jobs: self.max_active_jobs,
            job_workers: self.job_workers,
            job_timeout: secs("job-timeout-secs", self.job_timeout_secs)?,
        };
        limits.check()?;
        Ok(limits)
    }
}

/// Run `bfly ionq-emulator` in the foreground.
pub fn run_emulator(args: EmulatorArgs) -> Result<()> {
    let env = butterfly_mps::ionq::client::API_KEY_ENV;
    let key = if args.no_auth {
        None
    } else {
        let (key, from) = match args.api_key {
            Some(k) => (k, "--api-key".to_string()),
            None => match std::env::var(env) {
                Ok(k) => (k, env.to_string()),
                Err(_) => {
                    return Err(Error::InvalidInput(format!(
                        "the emulator needs the API key its clients must send: give --api-key KEY or set {env}; to accept any key on purpose (no authentication), give --no-auth"
                    )))
                }
            },
        };
        if key.trim().is_empty() {
            return Err(Error::InvalidInput(format!(
                "the API key from {from} is empty, which would leave the emulator open to any key; give a non-empty key, or --no-auth to run without authentication on purpose"
            )));
        }
        Some(key)
    };
    let mut config = EmulatorConfig::new(String::new());
    config.api_key = key;
    config.limits = args.limits.limits()?;
    config.host = args.host;
    config.port = args.port;
    config.stage_delay = Duration::from_millis(args.stage_delay_ms);
    config.runner = std::sync::Arc::new(butterfly_mps::ionq::NoisyRunner {
        trajectories: args.trajectories,
        ..Default::default()
    });
    let any_key = config.api_key.is_none();
    let l = config.limits.clone();
    let emu = Emulator::start(config)?;
    // Write errors are ignored: a closed stdout (a parent that read the address and
    // went away) must not stop the server.
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "IonQ-compatible emulator listening on http://{} (API v0.4 at {}, v0.3 at {})\nThe offline stand-in for IonQ's cloud, not a model of hardware: simulation on this machine (ideal, or IonQ's cloud noise models aria-1/aria-2/forte-1 when a job asks); {}. Ctrl-C stops it.",
        emu.addr(),
        emu.base_url(ApiVersion::V0_4),
        emu.base_url(ApiVersion::V0_3),
        if any_key {
            "any API key is accepted (--no-auth)"
        } else {
            "the given API key is required"
        }
    );
    let _ = writeln!(
        out,
        "Limits: {} shots, {} qubits, {} gates, {} request bytes per job; {} connections ({} per client address), {:.0} s per read/write, {:.0} s per request, {:.0} s idle; {} simulations at once, {:.0} s each; {} unfinished jobs; finished jobs kept {:.0} s, newest {}.",
        l.max_shots,
        l.max_qubits,
        l.max_gates,
        l.max_body_bytes,
        l.max_connections,
        l.max_connections_per_client,
        l.io_timeout.as_secs_f64(),
        l.request_timeout.as_secs_f64(),
        l.idle_timeout.as_secs_f64(),
        l.job_workers,
        l.job_timeout.as_secs_f64(),
        l.max_active_jobs,
        l.job_ttl.as_secs_f64(),
        l.max_jobs
    );
    let _ = out.flush();
    emu.serve_forever();
    Ok(())
}

/// Run `bfly ionq <command>`.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Submit {
            job,
            connection,
            wait,
            json,
        } => {
            let spec = job.job()?;
            let client = connection.client()?;
            let id = client.submit(&spec)?;
            if !wait {
                if json {
                    outln!("{}", serde_json::json!({ "id": id }));
                } else {
                    outln!("{id}");
                }
                return Ok(());
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(format!("waiting for job {id}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            let info = client.wait(&id);
            bar.finish_and_clear();
            let info = info?;
            let p = client.probabilities_of(&info)?;
            print_results(&info, &p, spec.shots, json);
            Ok(())
        }
        Command::Status {
            id,
            connection,
            json,
        } => {
            let info = connection.client()?.job(&id)?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&info).expect("job info serialises")
                );
            } else {
                print_status(&info);
            }
            Ok(())
        }
        Command::Results {
            id,
            connection,
            shots,
            json,
        } => {
            let client = connection.client()?;
            let info = client.job(&id)?;
            let p = client.probabilities_of(&info)?;
            print_results(&info, &p, shots, json);
            Ok(())
        }
        Command::Cancel { id, connection } => {
            let status = connection.client()?.cancel(&id)?;
            outln!("job {id}: {status}");
            Ok(())
        }
        Command::Backends { connection, json } => {
            let list = connection.client()?.backends()?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("backends serialise")
                );
            } else {
                for b in list {
                    let qubits = b.qubits.map_or("?".into(), |q| q.to_string());
                    out!("{:<26} {:<12} {:>3} qubits", b.backend, b.status, qubits);
                    if let Some(m) = b.noise_models {
                        out!("  noise models: {}", m.join(", "));
                    }
                    outln!();
                }
            }
            Ok(())
        }
        Command::Export { job, out, v03 } => {
            super::guard_outputs(
                &[("--circuit", Some(&job.circuit))],
                &[("--out", Some(&out))],
            )?;
            let spec = job.job()?;
            let version = if v03 {
                ApiVersion::V0_3
            } else {
                ApiVersion::V0_4
            };
            let body =
                serde_json::to_string_pretty(&spec.to_body(version)).expect("job bodies serialise");
            butterfly_mps::io::write_atomic(&out, format!("{body}\n").as_bytes())?;
            let (one, two) = spec.input.gate_counts();
            outln!(
                "wrote {} (API {version}, backend {}, gateset {}, {} qubits, {one} one-qubit + {two} two-qubit gates)",
                out.display(),
                spec.backend,
                spec.input.gateset().as_str(),
                spec.input.qubits
            );
            Ok(())
        }
    }
}

fn print_status(info: &JobInfo) {
    outln!("job {}: {}", info.id, info.status);
    if let Some(b) = &info.backend {
        outln!("  backend: {b}");
    }
    if let Some(q) = info.qubits {
        outln!("  qubits: {q}");
    }
    if let Some(s) = info.shots {
        outln!("  shots: {s}");
    }
    if let Some(f) = &info.failure {
        outln!("  failure ({}): {}", f.code, f.error);
    }
}

/// Probabilities (IonQ key and the crate's bitstring, qubit 0 first), counts, marginals.
fn print_results(info: &JobInfo, p: &Probabilities, shots: Option<u64>, json: bool) {
    if json {
        outln!("{}", p.to_json());
        return;
    }
    outln!(
        "job {} ({}): {} outcomes on {} qubits; bitstrings list qubit 0 first, IonQ keys are indices with qubit 0 least significant",
        info.id,
        info.status,
        p.iter().count(),
        p.n_qubits()
    );
    let counts = shots.map(|s| p.histogram(s));
    for (bits, prob) in p.bitstrings().into_iter().take(64) {
        let index = bits.to_index().unwrap_or(0);
        match counts
            .as_ref()
            .and_then(|h| h.counts.iter().find(|c| c.0 == bits))
        {
            Some((_, c)) => outln!("  {bits}  key {index:>6}  p = {prob:.6}  count {c}"),
            None => outln!("  {bits}  key {index:>6}  p = {prob:.6}"),
        }
    }
    if p.iter().count() > 64 {
        outln!("  … ({} more; --json prints all)", p.iter().count() - 64);
    }
    let m: Vec<String> = p.marginals().iter().map(|x| format!("{x:.4}")).collect();
    outln!("P(q_i = 1): [{}]", m.join(", "));
}
