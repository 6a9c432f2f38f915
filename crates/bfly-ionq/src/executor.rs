//! The IonQ client as a training [`Executor`]: each [`CircuitRun`] has its slots bound,
//! passes through a circuit-preparation hook (the compiler to native gates, set by the
//! caller), becomes one IonQ job; the batch is submitted whole, then polled, and the
//! probabilities come back as marginals (and histograms when sampled) in the crate's
//! qubit order.
//!
//! Shots: `plan.shots = Some(S)` asks for `S` shots per circuit (histogram = probabilities
//! × S, largest-remainder rounding); `None` asks for exact probabilities, which only the
//! `simulator` backend gives — any other backend is a typed error. With a noise model,
//! circuit `i` of the batch gets the seed [`ShotPlan::seed_of`]`(i)`, so a noisy run is
//! reproducible.
//!
//! ```
//! use std::sync::Arc;
//! use bfly_core::circuit::{Circuit, Gate, Param, Parameters};
//! use bfly_ionq::client::{ApiKey, ClientConfig, IonqClient};
//! use bfly_ionq::emulator::{Emulator, EmulatorConfig};
//! use bfly_ionq::executor::IonqExecutor;
//! use bfly_ionq::format::ApiVersion;
//! use bfly_exec::{CircuitRun, Executor, ShotPlan};
//! let emu = Emulator::start(EmulatorConfig::new("k")).unwrap();
//! let config = ClientConfig::new(ApiVersion::V0_4).with_base_url(emu.base_url(ApiVersion::V0_4));
//! let client = IonqClient::new(ApiKey::new("k").unwrap(), config).unwrap();
//! let exec = IonqExecutor::new(client, "simulator");
//! let mut c = Circuit::new(2);
//! c.push(Gate::Gpi { qubit: 1, phase: Param::trainable(0) }).unwrap(); // GPi flips qubit 1
//! let out = exec.execute(&[CircuitRun::new(&c, Parameters::new(vec![0.1], vec![]))], &ShotPlan::exact()).unwrap();
//! assert!((out[0].marginals[1] - 1.0).abs() < 1e-12 && out[0].marginals[0].abs() < 1e-12);
//! ```

use std::fmt;
use std::sync::Arc;

use super::client::IonqClient;
use super::format::{IonqInput, JobSpec, NoiseRequest};
use bfly_core::circuit::{Circuit, Param, Parameters};
use bfly_core::error::{Error, Result};
use bfly_exec::{CircuitRun, Executor, RunResult, ShotPlan};

/// Rewrites a bound circuit before export (e.g. the compiler to native gates); the same
/// hook type the noisy executor takes.
pub use bfly_noise::PrepareHook;

/// A copy of `circuit` with every slot replaced by its value in `values` (errors name
/// the op and the missing slot).
pub fn bind_fixed(circuit: &Circuit, values: &Parameters) -> Result<Circuit> {
    let mut out = circuit.clone();
    for (op, gate) in out.ops.iter_mut().enumerate() {
        let name = gate.name();
        for p in gate.params_mut() {
            *p = Param::Fixed(values.resolve(p, op, name)?);
        }
    }
    out.parameters = Parameters::default();
    Ok(out)
}

/// Runs batches of circuits as IonQ jobs (on IonQ's cloud or the local emulator).
pub struct IonqExecutor {
    client: IonqClient,
    backend: String,
    noise: Option<NoiseRequest>,
    prepare: PrepareHook,
}

impl fmt::Debug for IonqExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IonqExecutor")
            .field("client", &self.client)
            .field("backend", &self.backend)
            .field("noise", &self.noise)
            .finish_non_exhaustive()
    }
}

impl IonqExecutor {
    /// Jobs on `backend`; circuits are exported as they are (no preparation hook).
    pub fn new(client: IonqClient, backend: impl Into<String>) -> Self {
        IonqExecutor {
            client,
            backend: backend.into(),
            noise: None,
            prepare: Arc::new(|c: &Circuit| Ok(c.clone())),
        }
    }

    /// Rewrite each bound circuit with `hook` before export (the compiler to native gates).
    pub fn with_prepare(mut self, hook: PrepareHook) -> Self {
        self.prepare = hook;
        self
    }

    /// Ask the simulator for this noise model (its seed is set per circuit from the plan).
    pub fn with_noise(mut self, model: impl Into<String>) -> Self {
        self.noise = Some(NoiseRequest::new(model, None));
        self
    }

    /// The client.
    pub fn client(&self) -> &IonqClient {
        &self.client
    }

    /// The job for batch circuit `i`.
    pub fn job_for(&self, run: &CircuitRun<'_>, plan: &ShotPlan, i: usize) -> Result<JobSpec> {
        if plan.shots.is_none() && self.backend != "simulator" {
            return Err(Error::InvalidInput(format!(
                "exact probabilities need the IonQ simulator, but this executor targets {}; give a shot count",
                self.backend
            )));
        }
        let bound = bind_fixed(run.circuit, &run.values)?;
        let prepared = (self.prepare)(&bound)?;
        if prepared.qubits != run.circuit.qubits {
            return Err(Error::InvalidInput(format!(
                "the preparation hook changed the qubit count from {} to {}",
                run.circuit.qubits, prepared.qubits
            )));
        }
        let noise = self
            .noise
            .as_ref()
            .map(|n| NoiseRequest::new(n.model.clone(), Some(plan.seed_of(i))));
        let input = IonqInput::from_circuit_with_noise(&prepared, &self.backend, noise.as_ref())?;
        let mut job = JobSpec::new(self.backend.clone(), input).with_name(format!(
            "bfly step {} circuit {}",
            plan.step,
            plan.index_offset + i as u64
        ));
        job.shots = plan.shots.map(|s| s as u64);
        job.noise = noise;
        Ok(job)
    }
}

impl Executor for IonqExecutor {
    fn name(&self) -> String {
        match &self.noise {
            Some(n) => format!("ionq({}, noise {})", self.backend, n.model),
            None => format!("ionq({})", self.backend),
        }
    }

    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        let jobs: Vec<JobSpec> = batch
            .iter()
            .enumerate()
            .map(|(i, run)| self.job_for(run, plan, i))
            .collect::<Result<_>>()?;
        let mut ids = Vec::with_capacity(jobs.len());
        for job in &jobs {
            match self.client.submit(job) {
                Ok(id) => ids.push(id),
                Err(e) => {
                    self.cancel_quietly(&ids);
                    return Err(e);
                }
            }
        }
        let infos = match self.client.wait_all(&ids) {
            Ok(infos) => infos,
            Err(e) => {
                self.cancel_quietly(&ids);
                return Err(e);
            }
        };
        infos
            .iter()
            .zip(batch)
            .map(|(info, run)| {
                let p = self.client.probabilities_of(info)?;
                if p.n_qubits() != run.circuit.qubits {
                    return Err(Error::IonqMalformedResponse {
                        url: format!("job {}", info.id),
                        reason: format!(
                            "results over {} qubits for a {}-qubit circuit",
                            p.n_qubits(),
                            run.circuit.qubits
                        ),
                    });
                }
                Ok(match plan.shots {
                    None => RunResult {
                        marginals: p.marginals(),
                        histogram: None,
                    },
                    Some(s) => {
                        let h = p.histogram(s as u64);
                        RunResult {
                            marginals: h.marginals(run.circuit.qubits),
                            histogram: Some(h),
                        }
                    }
                })
            })
            .collect()
    }
}

impl IonqExecutor {
    /// Best effort: cancel jobs of a batch that cannot complete (errors ignored).
    fn cancel_quietly(&self, ids: &[String]) {
        for id in ids {
            let _ = self.client.cancel(id);
        }
    }
}
