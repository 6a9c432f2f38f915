//! Ready-made circuits: a loader followed by a Butterfly, with seeded random data and
//! angles. The CLI (`bfly butterfly`, `bfly bench`), benches and peer scripts all build
//! their workloads here, so they run identical circuits.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::loaders::Loader;
use super::{Butterfly, Circuit, LayerOrdering};
use crate::error::Result;

/// What to build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ButterflyWorkload {
    /// Number of qubits (power of two).
    pub qubits: usize,
    /// Butterfly layers (1..=log2 qubits).
    pub layers: usize,
    /// Stride order.
    pub ordering: LayerOrdering,
    /// State preparation, or `None` to start the Butterfly on `|0…0>`.
    pub loader: Option<Loader>,
    /// Seed of the random data and angles.
    pub seed: u64,
}

impl ButterflyWorkload {
    /// A full coupling-first Butterfly with `loader` on `qubits` qubits.
    pub fn full(qubits: usize, loader: Loader, seed: u64) -> Self {
        ButterflyWorkload {
            qubits,
            layers: Butterfly::max_layers(qubits.max(2)),
            ordering: LayerOrdering::CouplingFirst,
            loader: Some(loader),
            seed,
        }
    }

    /// Build the circuit; its default parameters hold random Butterfly angles in
    /// `[0, 2π)` and the loader angles of random data (see [`Loader::random_data`]).
    pub fn build(&self) -> Result<Circuit> {
        let butterfly = Butterfly::new(self.qubits, self.layers, self.ordering)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut circuit = match self.loader {
            Some(loader) => {
                let mut c = loader.circuit(self.qubits)?;
                let data = loader.random_data(self.qubits, &mut rng);
                c.parameters.inputs = loader.angles(self.qubits, &data)?;
                c
            }
            None => Circuit::new(self.qubits),
        };
        butterfly.append_to(&mut circuit, 0)?;
        circuit.parameters.trainable = (0..butterfly.n_params())
            .map(|_| rng.random::<f64>() * std::f64::consts::TAU)
            .collect();
        Ok(circuit)
    }
}
