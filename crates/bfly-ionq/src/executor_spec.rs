//! One description of *where circuits run* ([`ExecutorSpec`]) and one builder for it, used
//! by every caller that lets the user choose an executor (the `bfly` command line and the
//! hardware-faithful rows of the studies):
//!
//! | [`ExecutorKind`] | what [`ExecutorSpec::build`] returns |
//! |---|---|
//! | [`Local`](ExecutorKind::Local) | [`bfly_exec::executor_for`] of [`ExecutorSpec::engine`]: this machine's noiseless simulators |
//! | [`Noisy`](ExecutorKind::Noisy) | a [`NoisyExecutor`] on circuits compiled to IonQ natives ([`executor_hook`]), the noise model after every native gate, Monte-Carlo trajectories, post-selection inside |
//! | [`Emulator`](ExecutorKind::Emulator) | an [`EmulatedIonq`](crate::EmulatedIonq): the IonQ API path served by an in-process loopback emulator (owned by the returned executor, stopped when it is dropped); feature `emulator` |
//! | [`Ionq`](ExecutorKind::Ionq) | an [`IonqExecutor`](crate::IonqExecutor) talking to IonQ's cloud, the API key given or from `IONQ_API_KEY`; feature `client` |
//!
//! The emulator and cloud executors are wrapped in a [`PostSelectedExecutor`] when a
//! post-selection weight is set (the noisy executor post-selects itself).
//!
//! The native gate family is [`ExecutorSpec::compile_target`] if set, else the family the
//! noise model names (`aria-1` → Aria), else the one the backend names, else Forte (the
//! paper's machine).
//!
//! ```
//! use bfly_exec::{CircuitRun, ShotPlan};
//! use bfly_core::circuit::{loaders::Loader, ButterflyWorkload};
//! use bfly_ionq::executor_spec::{ExecutorKind, ExecutorSpec};
//! let c = ButterflyWorkload::full(4, Loader::UnaryTree, 1).build().unwrap();
//! let mut spec = ExecutorSpec::new(ExecutorKind::Noisy);
//! spec.noise = Some("forte-1".into());
//! spec.trajectories = 20;
//! let executor = spec.build().unwrap();
//! let run = CircuitRun::new(&c, c.parameters.clone());
//! let out = executor.execute(&[run], &ShotPlan::exact()).unwrap();
//! assert_eq!(out[0].marginals.len(), 4);
//! ```

use serde::{Deserialize, Serialize};

use crate::compile::{executor_hook, Target};
use bfly_core::error::{Error, Result};
use bfly_exec::Executor;
use bfly_noise::postselect::PostSelectedExecutor;
use bfly_noise::{NoiseModel, NoisyConfig, NoisyExecutor, NoisyMethod};
use bfly_sim::Engine;

/// The executor families.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutorKind {
    /// This machine's noiseless simulators ([`ExecutorSpec::engine`]).
    #[default]
    Local,
    /// This machine's noisy simulator on circuits compiled to IonQ natives.
    Noisy,
    /// The IonQ API served by an in-process local emulator.
    Emulator,
    /// IonQ's cloud.
    Ionq,
}

/// Where circuits run, as plain data ([`ExecutorSpec::build`] makes the executor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    /// The executor family.
    pub kind: ExecutorKind,
    /// Engine of the local executor.
    #[serde(default)]
    pub engine: Engine,
    /// Noise model name (`ideal`, `aria-1`, `aria-2`, `forte-1`). The noisy executor
    /// defaults to `forte-1`; the emulator and the cloud run noiseless without one. The
    /// local executor refuses one.
    #[serde(default)]
    pub noise: Option<String>,
    /// Monte-Carlo trajectories per circuit (noisy executor and emulator).
    pub trajectories: usize,
    /// Method of the noisy simulation (density matrix or trajectories on an engine; noisy
    /// executor and emulator).
    #[serde(default)]
    pub noisy_method: NoisyMethod,
    /// Seed of the noisy executor's trajectories (the emulator seeds each job from its
    /// shot seed instead).
    #[serde(default)]
    pub noise_seed: u64,
    /// Keep only shots of this Hamming weight (1 for the unary models): error mitigation.
    /// The local executor refuses it.
    #[serde(default)]
    pub postselect_weight: Option<usize>,
    /// Native gate family to compile to (`None`: from the noise model or the backend,
    /// else Forte). Must be a native family, not QIS.
    #[serde(default)]
    pub compile_target: Option<Target>,
    /// IonQ backend (emulator default `simulator`, cloud default `qpu.forte-1`).
    #[serde(default)]
    pub ionq_backend: Option<String>,
    /// IonQ API base URL of the cloud executor (default IonQ's cloud, API v0.4).
    #[serde(default)]
    pub base_url: Option<String>,
}

impl Default for ExecutorSpec {
    /// The local executor on the automatic engine.
    fn default() -> Self {
        ExecutorSpec::new(ExecutorKind::Local)
    }
}

impl ExecutorSpec {
    /// Noise model of [`ExecutorKind::Noisy`] when none is given.
    pub const DEFAULT_NOISY_MODEL: &'static str = "forte-1";
    /// Backend of [`ExecutorKind::Emulator`] when none is given.
    pub const DEFAULT_EMULATOR_BACKEND: &'static str = "simulator";
    /// Backend of [`ExecutorKind::Ionq`] when none is given.
    pub const DEFAULT_CLOUD_BACKEND: &'static str = "qpu.forte-1";

    /// `kind` with its defaults: the automatic engine, no noise model, 200 trajectories with
    /// the automatic noisy method with seed 0, no post-selection, the native family from
    /// the noise model or backend, the default backend and URL.
    pub fn new(kind: ExecutorKind) -> Self {
        ExecutorSpec {
            kind,
            engine: Engine::Auto,
            noise: None,
            trajectories: 200,
            noisy_method: NoisyMethod::Auto,
            noise_seed: 0,
            postselect_weight: None,
            compile_target: None,
            ionq_backend: None,
            base_url: None,
        }
    }

    /// The local executor on `engine`.
    pub fn local(engine: Engine) -> Self {
        ExecutorSpec {
            engine,
            ..ExecutorSpec::new(ExecutorKind::Local)
        }
    }

    /// The noise model name the executor uses (`None`: noiseless).
    pub fn noise_model(&self) -> Option<&str> {
        match (self.kind, self.noise.as_deref()) {
            (ExecutorKind::Noisy, None) => Some(Self::DEFAULT_NOISY_MODEL),
            (_, noise) => noise,
        }
    }

    /// The IonQ backend of the emulator and cloud executors (`None` for the others).
    pub fn backend(&self) -> Option<&str> {
        let default = match self.kind {
            ExecutorKind::Emulator => Self::DEFAULT_EMULATOR_BACKEND,
            ExecutorKind::Ionq => Self::DEFAULT_CLOUD_BACKEND,
            _ => return None,
        };
        Some(self.ionq_backend.as_deref().unwrap_or(default))
    }

    /// The native gate family circuits are compiled to: [`ExecutorSpec::compile_target`],
    /// else the family the noise model (not `ideal`) names, else the one `backend` names,
    /// else Forte. QIS is refused: the executors run native circuits.
    pub fn target(&self, backend: &str) -> Result<Target> {
        let target = match self.compile_target {
            Some(t) => t,
            None => self
                .noise
                .as_deref()
                .filter(|n| *n != "ideal")
                .unwrap_or(backend)
                .parse()
                .unwrap_or(Target::Forte),
        };
        if target == Target::Qis {
            return Err(Error::InvalidInput(
                "the compile target of an executor must be a native gate family (aria or forte), not qis".into(),
            ));
        }
        Ok(target)
    }

    /// The noisy executor's configuration (model, engine, trajectories, seed,
    /// post-selection), checked.
    pub fn noisy_config(&self) -> Result<NoisyConfig> {
        let model: NoiseModel = self
            .noise_model()
            .unwrap_or(Self::DEFAULT_NOISY_MODEL)
            .parse()?;
        let mut config = NoisyConfig::new(model);
        config.engine = self.noisy_method;
        config.trajectories = self.trajectories;
        config.seed = self.noise_seed;
        config.postselect_weight = self.postselect_weight;
        config.validate()?;
        Ok(config)
    }

    /// Build the executor. The cloud executor takes its API key from `IONQ_API_KEY`
    /// ([`ExecutorSpec::build_with_api_key`] gives one explicitly).
    pub fn build(&self) -> Result<Box<dyn Executor>> {
        self.build_with_api_key(None)
    }

    /// Build the executor; the cloud executor uses `api_key` if given, else
    /// `IONQ_API_KEY` (the other executors ignore it). An emulator is started here, on
    /// loopback, and lives as long as the returned executor.
    pub fn build_with_api_key(&self, api_key: Option<&str>) -> Result<Box<dyn Executor>> {
        let executor: Box<dyn Executor> = match self.kind {
            ExecutorKind::Local => {
                if self.noise.is_some() || self.postselect_weight.is_some() {
                    return Err(Error::InvalidInput(
                        "a noise model and post-selection need the noisy executor or the emulator, not the local one".into(),
                    ));
                }
                return bfly_exec::executor_for(&self.engine);
            }
            ExecutorKind::Noisy => {
                let config = self.noisy_config()?;
                let target = self.target(&config.model.name)?;
                return Ok(Box::new(
                    NoisyExecutor::new(config).with_prepare(executor_hook(target)),
                ));
            }
            ExecutorKind::Emulator => self.emulator()?,
            ExecutorKind::Ionq => self.cloud(api_key)?,
        };
        Ok(match self.postselect_weight {
            Some(k) => Box::new(PostSelectedExecutor::new(executor, k)),
            None => executor,
        })
    }

    /// Jobs on `backend` through `client`, compiled to the native family, with the noise
    /// model if one is set.
    #[cfg(feature = "client")]
    fn ionq_executor(
        &self,
        client: crate::IonqClient,
        backend: &str,
    ) -> Result<crate::IonqExecutor> {
        let target = self.target(backend)?;
        let mut executor =
            crate::IonqExecutor::new(client, backend).with_prepare(executor_hook(target));
        if let Some(model) = &self.noise {
            executor = executor.with_noise(model.clone());
        }
        Ok(executor)
    }

    #[cfg(feature = "emulator")]
    fn emulator(&self) -> Result<Box<dyn Executor>> {
        let backend = self.backend().unwrap_or(Self::DEFAULT_EMULATOR_BACKEND);
        let runner = crate::NoisyRunner {
            trajectories: self.trajectories,
            engine: self.noisy_method,
        };
        Ok(Box::new(crate::EmulatedIonq::start(runner, |client| {
            self.ionq_executor(client, backend)
        })?))
    }

    #[cfg(not(feature = "emulator"))]
    fn emulator(&self) -> Result<Box<dyn Executor>> {
        Err(Error::InvalidInput(
            "this build of bfly-ionq has no local emulator (crate feature \"emulator\")".into(),
        ))
    }

    #[cfg(feature = "client")]
    fn cloud(&self, api_key: Option<&str>) -> Result<Box<dyn Executor>> {
        use crate::{ApiKey, ApiVersion, ClientConfig, IonqClient};
        let backend = self.backend().unwrap_or(Self::DEFAULT_CLOUD_BACKEND);
        let mut client_config = ClientConfig::new(ApiVersion::V0_4);
        if let Some(url) = &self.base_url {
            client_config.base_url = url.clone();
        }
        let key = ApiKey::resolve(api_key.map(str::to_string))?;
        let client = IonqClient::new(key, client_config)?;
        Ok(Box::new(self.ionq_executor(client, backend)?))
    }

    #[cfg(not(feature = "client"))]
    fn cloud(&self, _api_key: Option<&str>) -> Result<Box<dyn Executor>> {
        Err(Error::InvalidInput(
            "this build of bfly-ionq has no IonQ API client (crate feature \"client\")".into(),
        ))
    }
}
