//! Where circuits run: the `--executor` flag shared by `bfly infer` and `bfly train`.

use butterfly_mps::train::executor::{BackendSpec, Executor};
use butterfly_mps::Result;
use clap::ValueEnum;

/// The executor families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExecutorKind {
    /// This machine's simulators (see --backend).
    Local,
}

/// `--executor` and its options.
#[derive(clap::Args, Clone, Debug)]
pub struct ExecutorArgs {
    /// Where circuits run.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorKind,
}

impl ExecutorArgs {
    /// Build the executor; `local` is the simulator to use for `--executor local`.
    pub fn build(&self, local: &BackendSpec, _qubits: usize) -> Result<Box<dyn Executor>> {
        match self.executor {
            ExecutorKind::Local => local.executor(),
        }
    }
}
