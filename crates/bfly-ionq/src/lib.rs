//! IonQ: the wire format, an API client, a local IonQ-compatible emulator, and an
//! [`Executor`](bfly_exec::Executor) that runs training circuits as IonQ jobs.
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
//! - [`executor_spec`]: [`ExecutorSpec`], where circuits run (local, noisy, emulator, IonQ
//!   cloud) as plain data, and its one builder, shared by the command line and the studies.
//!
//! Conversions expect circuits already made of IonQ gates with fixed parameters; the
//! compiler from RBS circuits to native gates lives elsewhere and plugs in through
//! [`executor::IonqExecutor::with_prepare`].

#![warn(missing_docs)]

#[cfg(feature = "client")]
pub mod client;
pub mod compile;
#[cfg(feature = "emulator")]
pub mod emulated;
#[cfg(feature = "emulator")]
pub mod emulator;
#[cfg(feature = "client")]
pub mod executor;
pub mod executor_spec;
pub mod format;
#[cfg(feature = "emulator")]
pub mod noisy_runner;
pub mod validate;

#[cfg(feature = "client")]
pub use client::{ApiKey, ClientConfig, IonqClient};
#[cfg(feature = "emulator")]
pub use emulated::EmulatedIonq;
#[cfg(feature = "emulator")]
pub use emulator::{Emulator, EmulatorConfig, Fault, IdealRunner, JobRunner};
#[cfg(feature = "client")]
pub use executor::IonqExecutor;
pub use executor_spec::{ExecutorKind, ExecutorSpec};
pub use format::{ApiVersion, IonqInput, JobSpec, JobStatus, NoiseRequest, Probabilities};
#[cfg(feature = "emulator")]
pub use noisy_runner::NoisyRunner;
