//! Where circuits run: the `--executor` options shared by `bfly infer` and `bfly train`.

use butterfly_mps::compile::Target;
use butterfly_mps::ionq::executor_spec::{ExecutorKind as Kind, ExecutorSpec};
use butterfly_mps::sim::Engine;
use butterfly_mps::train::executor::Executor;
use butterfly_mps::Result;
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
    /// The executor these options describe; `local` is the engine of `--executor local`.
    pub fn spec(&self, local: &Engine) -> Result<ExecutorSpec> {
        let compile_target = self
            .compile_target
            .as_deref()
            .map(str::parse::<Target>)
            .transpose()?;
        Ok(ExecutorSpec {
            kind: match self.executor {
                ExecutorKind::Local => Kind::Local,
                ExecutorKind::Noisy => Kind::Noisy,
                ExecutorKind::Emulator => Kind::Emulator,
                ExecutorKind::Ionq => Kind::Ionq,
            },
            engine: *local,
            noise: self.noise.clone(),
            trajectories: self.trajectories,
            postselect_weight: self.postselect_weight,
            compile_target,
            ionq_backend: self.ionq_backend.clone(),
            base_url: self.base_url.clone(),
            ..ExecutorSpec::new(Kind::Local)
        })
    }

    /// Build the executor; `local` is the engine of `--executor local`.
    pub fn build(&self, local: &Engine) -> Result<Box<dyn Executor>> {
        self.spec(local)?
            .build_with_api_key(self.api_key.as_deref())
    }
}
