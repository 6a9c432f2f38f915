//! Synthetic data from a hidden random Butterfly (the "teacher"), for learning checks,
//! benchmarks and peer comparisons.
//!
//! The teacher is a hybrid model with `m = n` features, an identity pre-layer, a random
//! Butterfly (angles uniform in `[0, 2π)`) and a random linear read-out of the marginals
//! (weights uniform in `[-1, 1]`, no norm term, no bias). Features are standard normal.
//!
//! ```
//! use bfly_train::teacher::{teacher_dataset, TeacherSpec};
//! let (teacher, data) = teacher_dataset(&TeacherSpec::new(16, 4, 100, 3)).unwrap();
//! assert_eq!((data.len(), data.n_features(), data.n_targets()), (100, 16, 1));
//! assert_eq!(teacher.predict(&data.features[0]).unwrap(), data.targets[0]);
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::loss::Task;
use super::model::{HybridModel, ModelSpec, PreInit};
use crate::data::Dataset;
use bfly_core::circuit::LayerOrdering;
use bfly_core::error::Result;
use bfly_core::sampling::standard_normal;

/// What teacher and how much data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeacherSpec {
    /// Qubits (= features).
    pub qubits: usize,
    /// Teacher Butterfly layers.
    pub layers: usize,
    /// Rows to generate.
    pub samples: usize,
    /// Seed of teacher and data.
    pub seed: u64,
    /// Stride order.
    pub ordering: LayerOrdering,
}

impl TeacherSpec {
    /// Coupling-first teacher.
    pub fn new(qubits: usize, layers: usize, samples: usize, seed: u64) -> Self {
        TeacherSpec {
            qubits,
            layers,
            samples,
            seed,
            ordering: LayerOrdering::CouplingFirst,
        }
    }
}

/// The teacher and `samples` rows `(x, teacher(x))`, columns `x0..x{n-1}` and `y`.
pub fn teacher_dataset(spec: &TeacherSpec) -> Result<(HybridModel, Dataset)> {
    let n = spec.qubits;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut ms = ModelSpec::new(n, 1, n, spec.layers, Task::Regression);
    ms.ordering = spec.ordering;
    ms.pre_init = PreInit::Identity;
    ms.quantum_init_scale = 0.0;
    ms.head_init_scale = 0.0;
    let mut teacher = HybridModel::with_rng(&ms, &mut rng)?;
    for t in &mut teacher.theta {
        *t = rng.random::<f64>() * std::f64::consts::TAU;
    }
    for (c, w) in teacher.head.weights.iter_mut().enumerate() {
        *w = if c < n {
            2.0 * rng.random::<f64>() - 1.0
        } else {
            0.0
        };
    }
    let features: Vec<Vec<f64>> = (0..spec.samples)
        .map(|_| (0..n).map(|_| standard_normal(&mut rng)).collect())
        .collect();
    let targets = features
        .iter()
        .map(|x| teacher.predict(x))
        .collect::<Result<Vec<_>>>()?;
    let names = (0..n).map(|i| format!("x{i}")).collect();
    let data = Dataset::new(names, vec!["y".into()], features, targets)?;
    Ok((teacher, data))
}
