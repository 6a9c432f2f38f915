//! IonQ: the wire format, an API client, a local IonQ-compatible emulator, and an
//! [`Executor`](crate::train::executor::Executor) that runs training circuits as IonQ jobs.
//!
//! - [`mod@format`]: serde types and validation for IonQ's circuit JSON (native: GPi, GPi2,
//!   MS, ZZ in turns; QIS in radians), job bodies of API v0.4 and v0.3, job status and
//!   probability results (decimal basis-state keys, qubit 0 least significant), and the
//!   conversions `Circuit` ⇄ IonQ input.
//! - [`client`]: blocking HTTP client (reqwest + rustls): submit, poll with backoff, fetch
//!   probabilities, cancel, list backends; retries 429/5xx honouring `Retry-After`.
//! - [`emulator`]: a loopback server speaking the same API, running jobs on this crate's
//!   simulators through a [`emulator::JobRunner`]; the offline stand-in for the cloud
//!   (not a model of hardware), with fault injection for tests.
//! - [`executor`]: [`executor::IonqExecutor`], the client behind the training `Executor`
//!   trait, with a circuit-preparation hook for the compiler.
//!
//! Conversions expect circuits already made of IonQ gates with fixed parameters; the
//! compiler from RBS circuits to native gates lives elsewhere and plugs in through
//! [`executor::IonqExecutor::with_prepare`].

pub mod client;
pub mod emulated;
pub mod emulator;
pub mod executor;
pub mod format;
pub mod noisy_runner;

pub use client::{ApiKey, ClientConfig, IonqClient};
pub use emulated::EmulatedIonq;
pub use emulator::{Emulator, EmulatorConfig, Fault, IdealRunner, JobRunner};
pub use executor::IonqExecutor;
pub use format::{ApiVersion, IonqInput, JobSpec, JobStatus, NoiseRequest, Probabilities};
pub use noisy_runner::NoisyRunner;
