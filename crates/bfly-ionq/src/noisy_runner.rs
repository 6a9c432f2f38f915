//! The emulator's noisy [`JobRunner`]: IonQ's cloud-simulator noise models (`aria-1`,
//! `aria-2`, `forte-1`; SCIENCE.md §8) simulated by [`bfly_noise`] on the job's native
//! circuit — a depolarizing channel after every gate it contains, readout error at the end.
//!
//! Jobs without a noise model (or with `ideal`) go to the [`IdealRunner`]. Noisy jobs
//! return the frequencies of `shots` samples (100 when the job gives none), like IonQ's
//! noisy simulator; exact noisy distributions are also available (density matrix or
//! trajectory average) when a caller asks for them without shots.
//!
//! Shots are counted, not listed: the density-matrix and state-vector engines give the
//! noisy distribution, from which [`sample_frequencies`] draws (the same draws as
//! `simulate_noisy` with shots, in memory proportional to the distinct outcomes). The
//! MPS-trajectory engine (wider circuits) samples inside each trajectory and holds one
//! bitstring per shot, so there memory grows with `shots`: the emulator's shot limit
//! ([`EmulatorLimits::max_shots`](super::emulator::EmulatorLimits)) bounds it.

use super::emulator::{sample_frequencies, IdealRunner, JobRunner};
use super::format::{NoiseRequest, Probabilities};
use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_core::progress::NoProgress;
use bfly_noise::{simulate_noisy, NoiseModel, NoisyConfig, NoisyMethod, PRESET_NAMES};
use bfly_sim::Engine;

/// Shots a noisy job gets when it does not say.
pub const DEFAULT_NOISY_SHOTS: u64 = 100;

/// Runs ideal jobs exactly and noisy ones with [`simulate_noisy`].
#[derive(Clone, Debug)]
pub struct NoisyRunner {
    /// Monte-Carlo trajectories per job (state-vector / MPS engines).
    pub trajectories: usize,
    /// Engine (`Auto`: density matrix ≤ 10 qubits, state-vector trajectories ≤ 24, MPS).
    pub engine: NoisyMethod,
}

impl Default for NoisyRunner {
    fn default() -> Self {
        NoisyRunner {
            trajectories: 200,
            engine: NoisyMethod::Auto,
        }
    }
}

impl JobRunner for NoisyRunner {
    fn name(&self) -> String {
        format!("noisy ({} trajectories)", self.trajectories)
    }

    fn noise_models(&self) -> Vec<String> {
        PRESET_NAMES.iter().map(|s| s.to_string()).collect()
    }

    fn run(
        &self,
        circuit: &Circuit,
        shots: Option<u64>,
        noise: Option<&NoiseRequest>,
        seed: u64,
    ) -> Result<Probabilities> {
        self.check(noise)?;
        let model = match noise {
            Some(n) if n.model != "ideal" => NoiseModel::preset(&n.model)?,
            _ => return IdealRunner.run(circuit, shots, noise, seed),
        };
        let mut config = NoisyConfig::new(model);
        config.engine = self.engine;
        config.trajectories = self.trajectories;
        config.seed = seed;
        let bad = |reason: String| Error::Numerical(format!("emulator noisy result: {reason}"));
        let n = circuit.qubits;
        match shots {
            None => {
                let out = simulate_noisy(circuit, &circuit.parameters, &config, None, &NoProgress)?;
                let dist = out.distribution.ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "an exact noisy distribution of {n} qubits is not available (MPS trajectories); ask for shots"
                    ))
                })?;
                Probabilities::new(
                    n,
                    dist.iter()
                        .enumerate()
                        .map(|(i, &p)| (i as u64, p))
                        .filter(|(_, p)| *p > 1e-15),
                )
                .map_err(bad)
            }
            Some(s) => {
                let s = if s == 0 { DEFAULT_NOISY_SHOTS } else { s };
                if !matches!(
                    config.engine.resolve(n)?,
                    NoisyMethod::Trajectories(Engine::Mps { .. })
                ) {
                    let out =
                        simulate_noisy(circuit, &circuit.parameters, &config, None, &NoProgress)?;
                    let mut dist = out.distribution.ok_or_else(|| {
                        bad("the noisy simulation returned no distribution".into())
                    })?;
                    // Round-off can leave a density matrix's diagonal just below zero:
                    // such outcomes are never drawn (as in `simulate_noisy`'s sampler).
                    dist.iter_mut().filter(|p| **p < 0.0).for_each(|p| *p = 0.0);
                    return sample_frequencies(n, &dist, s, seed);
                }
                let out = simulate_noisy(
                    circuit,
                    &circuit.parameters,
                    &config,
                    Some((s as usize, seed)),
                    &NoProgress,
                )?;
                let h = out
                    .histogram
                    .ok_or_else(|| bad("the noisy simulation returned no shots".into()))?;
                let total = h.shots.max(1) as f64;
                let entries = h
                    .counts
                    .iter()
                    .map(|(b, c)| {
                        b.to_index()
                            .map(|i| (i, *c as f64 / total))
                            .ok_or_else(|| bad("more than 64 qubits".into()))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Probabilities::new(n, entries).map_err(bad)
            }
        }
    }
}
