//! The layer-wise schedule: which parameters each phase trains, and how.
//!
//! 1. `pretrain` (optional): classical layers only, exact, on the starting circuit.
//! 2. `stage s` for `s = 1..=L`: the Butterfly has `s` layers (a new one appended after
//!    the trained ones — slots are layer-major, so earlier layers keep theirs); earlier
//!    quantum layers are frozen and the **trailing** layer is trained with the configured
//!    method (so parallel shift applies), together with the head and, if configured, the
//!    pre-layer (exact, in simulation).
//! 3. `finetune` (optional): every parameter, exact gradients, in simulation.
//!
//! `configured_method_from_stage = Some(k)` trains stages `1..k` exactly in simulation and
//! only stages `k..` with the configured method — e.g. `k = L` puts only the final layer on
//! hardware (or its emulator), as the paper did.
//!
//! With `layerwise = false` a single `joint` phase trains all `L` layers at once (exact
//! or per-parameter shift; parallel shift is refused there because only the trailing
//! layer is separable).
//!
//! ```
//! use bfly_train::{Phase, Schedule};
//! let s = Schedule { layerwise: true, pretrain_epochs: 2, epochs_per_stage: 5, finetune_epochs: 3, ..Default::default() };
//! let phases = s.phases(3);
//! assert_eq!(phases, vec![Phase::Pretrain, Phase::Stage(1), Phase::Stage(2), Phase::Stage(3), Phase::Finetune]);
//! assert_eq!(s.total_epochs(3), 2 + 3 * 5 + 3);
//!
//! // Only the final layer with the configured (e.g. parallel-shift) method:
//! use bfly_train::GradientMethod;
//! let s = Schedule { configured_method_from_stage: Some(3), ..Default::default() };
//! assert_eq!(s.plan(Phase::Stage(2), 2, GradientMethod::ParallelShift).1, GradientMethod::Exact);
//! assert_eq!(s.plan(Phase::Stage(3), 3, GradientMethod::ParallelShift).1, GradientMethod::ParallelShift);
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

use super::gradient::GradientMethod;
use super::step::Selection;

/// How the classical pre-layer is trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassicalTraining {
    /// Never trained (kept at its initial value).
    Frozen,
    /// Trained (exact gradients in simulation) only in the pretrain and finetune phases.
    Before,
    /// Also trained alongside every quantum stage (exact gradients in simulation).
    #[default]
    Alongside,
}

/// The phases and their lengths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Grow the Butterfly one layer per stage (true) or train all layers jointly.
    pub layerwise: bool,
    /// Epochs of classical-only training before the first stage (0: none).
    pub pretrain_epochs: usize,
    /// Epochs per quantum stage (or of the joint phase).
    pub epochs_per_stage: usize,
    /// Epochs of exact fine-tuning of everything at the end (0: none).
    pub finetune_epochs: usize,
    /// How the pre-layer is trained.
    pub pre: ClassicalTraining,
    /// Stages before this one (1-based) train their layer with exact gradients in
    /// simulation; this stage and later ones use the configured method and executor.
    /// This is how the paper trained only the final layer on hardware. `None`: every
    /// stage uses the configured method.
    #[serde(default)]
    pub configured_method_from_stage: Option<usize>,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            layerwise: true,
            pretrain_epochs: 0,
            epochs_per_stage: 20,
            finetune_epochs: 0,
            pre: ClassicalTraining::Alongside,
            configured_method_from_stage: None,
        }
    }
}

/// One phase of training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Classical layers only.
    Pretrain,
    /// Butterfly with this many layers; the last one trains.
    Stage(usize),
    /// All layers together.
    Joint,
    /// Everything, exact.
    Finetune,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Pretrain => f.pad("pretrain"),
            Phase::Stage(s) => f.pad(&format!("stage {s}")),
            Phase::Joint => f.pad("joint"),
            Phase::Finetune => f.pad("finetune"),
        }
    }
}

impl Schedule {
    /// The phases for a target of `layers` Butterfly layers.
    pub fn phases(&self, layers: usize) -> Vec<Phase> {
        let mut p = Vec::new();
        if self.pretrain_epochs > 0 {
            p.push(Phase::Pretrain);
        }
        if self.epochs_per_stage > 0 {
            if self.layerwise {
                p.extend((1..=layers).map(Phase::Stage));
            } else {
                p.push(Phase::Joint);
            }
        }
        if self.finetune_epochs > 0 {
            p.push(Phase::Finetune);
        }
        p
    }

    /// Maximum epochs of a phase.
    pub fn epochs(&self, phase: Phase) -> usize {
        match phase {
            Phase::Pretrain => self.pretrain_epochs,
            Phase::Stage(_) | Phase::Joint => self.epochs_per_stage,
            Phase::Finetune => self.finetune_epochs,
        }
    }

    /// Maximum epochs over all phases (early stopping may end phases sooner).
    pub fn total_epochs(&self, layers: usize) -> usize {
        self.phases(layers).iter().map(|&p| self.epochs(p)).sum()
    }

    /// Butterfly layers the model has at the start of training.
    pub fn initial_layers(&self, layers: usize) -> usize {
        if self.layerwise {
            1
        } else {
            layers
        }
    }

    /// What a phase trains, and with which method (`method` is the configured quantum
    /// gradient; classical-only and fine-tune phases are exact).
    pub fn plan(
        &self,
        phase: Phase,
        layers: usize,
        method: GradientMethod,
    ) -> (Selection, GradientMethod) {
        let pre_alongside = self.pre == ClassicalTraining::Alongside;
        let pre_classical = self.pre != ClassicalTraining::Frozen;
        match phase {
            Phase::Pretrain => (
                Selection {
                    pre: pre_classical,
                    layers: vec![],
                    head: true,
                },
                GradientMethod::Exact,
            ),
            Phase::Stage(s) => (
                Selection {
                    pre: pre_alongside,
                    layers: vec![s - 1],
                    head: true,
                },
                match self.configured_method_from_stage {
                    Some(first) if s < first => GradientMethod::Exact,
                    _ => method,
                },
            ),
            Phase::Joint => (
                Selection {
                    pre: pre_alongside,
                    layers: (0..layers).collect(),
                    head: true,
                },
                method,
            ),
            Phase::Finetune => (
                Selection {
                    pre: pre_classical,
                    layers: (0..layers).collect(),
                    head: true,
                },
                GradientMethod::Exact,
            ),
        }
    }
}
