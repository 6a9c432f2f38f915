//! An [`IonqExecutor`] talking to an [`Emulator`] this process owns: the whole IonQ API
//! path (native compilation → job JSON → HTTP on loopback → the emulator's noisy runner →
//! result JSON) without a network or a key. Used by `--executor emulator` and by the
//! hardware-faithful rows of the imputation study.

use std::sync::Arc;
use std::time::Duration;

use super::{
    ApiKey, ApiVersion, ClientConfig, Emulator, EmulatorConfig, IonqClient, IonqExecutor,
    NoisyRunner,
};
use bfly_core::error::Result;
use bfly_exec::{CircuitRun, Executor, RunResult, ShotPlan};

/// The key the local emulator accepts (never a real credential).
const LOCAL_KEY: &str = "local-emulator-key";

/// An [`IonqExecutor`] and the [`Emulator`] it talks to (stopped when dropped).
pub struct EmulatedIonq {
    inner: IonqExecutor,
    emulator: Emulator,
}

impl EmulatedIonq {
    /// Start an emulator on an ephemeral loopback port whose jobs run on `runner`, and the
    /// executor `configure` builds from a client pointed at it (choose the backend, the
    /// native compilation hook and the noise model there).
    pub fn start(
        runner: NoisyRunner,
        configure: impl FnOnce(IonqClient) -> Result<IonqExecutor>,
    ) -> Result<Self> {
        let mut config = EmulatorConfig::new(LOCAL_KEY);
        config.runner = Arc::new(runner);
        config.stage_delay = Duration::from_millis(1);
        let emulator = Emulator::start(config)?;
        let mut client_config = ClientConfig::new(ApiVersion::V0_4);
        client_config.base_url = emulator.base_url(ApiVersion::V0_4);
        client_config.poll_interval = Duration::from_millis(20);
        client_config.max_poll_interval = Duration::from_millis(200);
        let client = IonqClient::new(ApiKey::new(LOCAL_KEY)?, client_config)?;
        Ok(EmulatedIonq {
            inner: configure(client)?,
            emulator,
        })
    }

    /// The emulator (its address, request count).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }
}

impl Executor for EmulatedIonq {
    fn name(&self) -> String {
        format!("emulator@{}:{}", self.emulator.addr(), self.inner.name())
    }
    fn execute(&self, batch: &[CircuitRun<'_>], plan: &ShotPlan) -> Result<Vec<RunResult>> {
        self.inner.execute(batch, plan)
    }
}
