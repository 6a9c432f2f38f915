//! Where circuits run: the `--executor` options shared by `bfly infer` and `bfly train`.

use butterfly_mps::compile::{executor_hook, Target};
use butterfly_mps::ionq::{
    ApiKey, ApiVersion, ClientConfig, EmulatedIonq, IonqClient, IonqExecutor, NoisyRunner,
};
use butterfly_mps::noise::postselect::PostSelectedExecutor;
use butterfly_mps::noise::{NoiseModel, NoisyConfig, NoisyExecutor};
use butterfly_mps::sim::Engine;
use butterfly_mps::train::executor::Executor;
use butterfly_mps::{Error, Result};
use clap::ValueEnum;

/// The executor families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    /// This machine's exact simulators (see --backend).
    Local,
    /// This machine's noisy simulator: circuits compiled to IonQ natives, then a noise
    /// model (--noise) after every native gate.
    Noisy,
    /// The IonQ API served by an in-process local emulator (the offline stand-in for the
    /// cloud): compile → IonQ job JSON → HTTP → simulation → IonQ result JSON.
    Emulator,
    /// IonQ's cloud (key from IONQ_API_KEY or --api-key).
    Ionq,
}

/// `--executor` and its options.
#[derive(clap::Args, Clone, Debug)]
pub struct ExecutorArgs {
    /// Where circuits run.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorKind,
    /// Noise model for --executor noisy / emulator: ideal, aria-1, aria-2, forte-1
    /// (default forte-1 for noisy, ideal for the emulator).
    #[arg(long)]
    pub noise: Option<String>,
    /// Monte-Carlo trajectories per circuit (noisy simulation).
    #[arg(long, default_value_t = 200)]
    pub trajectories: usize,
    /// Keep only shots of this Hamming weight (1 for the unary models): error mitigation.
    #[arg(long)]
    pub postselect_weight: Option<usize>,
    /// Native gate family to compile to: aria or forte (default: from --noise or
    /// --ionq-backend, else forte, the paper's machine).
    #[arg(long)]
    pub compile_target: Option<String>,
    /// IonQ backend (emulator default: simulator; ionq default: qpu.forte-1).
    #[arg(long)]
    pub ionq_backend: Option<String>,
    /// IonQ API base URL (--executor ionq; default IonQ's cloud v0.4).
    #[arg(long)]
    pub base_url: Option<String>,
    /// IonQ API key (default: IONQ_API_KEY). Never printed.
    #[arg(long)]
    pub api_key: Option<String>,
}

impl ExecutorArgs {
    fn target(&self, backend: &str) -> Result<Target> {
        let hint = self
            .compile_target
            .clone()
            .or_else(|| self.noise.clone().filter(|n| n != "ideal"))
            .unwrap_or_else(|| backend.to_string());
        match hint.parse::<Target>() {
            Ok(Target::Qis) => Err(Error::InvalidInput(
                "--compile-target must be a native family (aria or forte)".into(),
            )),
            Ok(t) => Ok(t),
            Err(e) if self.compile_target.is_some() => Err(e),
            Err(_) => Ok(Target::Forte),
        }
    }

    /// Jobs on `backend` through `client`: circuits compiled to the backend's native family
    /// (or --compile-target), with the requested noise model.
    fn ionq_executor(&self, client: IonqClient, backend: String) -> Result<IonqExecutor> {
        let target = self.target(&backend)?;
        let mut executor = IonqExecutor::new(client, backend).with_prepare(executor_hook(target));
        if let Some(model) = &self.noise {
            executor = executor.with_noise(model.clone());
        }
        Ok(executor)
    }

    /// Build the executor; `local` is the simulator for `--executor local`.
    pub fn build(&self, local: &Engine) -> Result<Box<dyn Executor>> {
        let executor: Box<dyn Executor> = match self.executor {
            ExecutorKind::Local => {
                if self.noise.is_some() || self.postselect_weight.is_some() {
                    return Err(Error::InvalidInput(
                        "--noise and --postselect-weight need --executor noisy or emulator".into(),
                    ));
                }
                return butterfly_mps::exec::executor_for(local);
            }
            ExecutorKind::Noisy => {
                let model: NoiseModel = self.noise.as_deref().unwrap_or("forte-1").parse()?;
                let target = self.target(&model.name)?;
                let mut config = NoisyConfig::new(model);
                config.trajectories = self.trajectories;
                config.postselect_weight = self.postselect_weight;
                config.validate()?;
                return Ok(Box::new(
                    NoisyExecutor::new(config).with_prepare(executor_hook(target)),
                ));
            }
            ExecutorKind::Emulator => {
                let backend = self.ionq_backend.clone().unwrap_or("simulator".into());
                let runner = NoisyRunner {
                    trajectories: self.trajectories,
                    ..Default::default()
                };
                Box::new(EmulatedIonq::start(runner, |client| {
                    self.ionq_executor(client, backend)
                })?)
            }
            ExecutorKind::Ionq => {
                let backend = self.ionq_backend.clone().unwrap_or("qpu.forte-1".into());
                let mut client_config = ClientConfig::new(ApiVersion::V0_4);
                if let Some(url) = &self.base_url {
                    client_config.base_url = url.clone();
                }
                let client =
                    IonqClient::new(ApiKey::resolve(self.api_key.clone())?, client_config)?;
                Box::new(self.ionq_executor(client, backend)?)
            }
        };
        Ok(match self.postselect_weight {
            Some(k) => Box::new(PostSelectedExecutor::new(executor, k)),
            None => executor,
        })
    }
}
