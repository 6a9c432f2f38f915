//! Result summaries shared by the CLI, examples and scripts: one value, printed either as
//! a readable summary ([`std::fmt::Display`]) or as one JSON document (serde).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use crate::Simulator;
use bfly_core::bits::BitString;

/// What a simulation run reports.
#[derive(Clone, Debug, Serialize)]
pub struct SimulationReport {
    /// Engine that ran the circuit.
    pub backend: String,
    /// Number of qubits.
    pub qubits: usize,
    /// Number of operations applied.
    pub ops: usize,
    /// `<ψ|ψ>` after the run.
    pub norm_squared: f64,
    /// `P(q_i = 1)` per qubit.
    pub marginals: Vec<f64>,
    /// `Σ_i P(q_i = 1)`: the expected Hamming weight.
    pub expected_weight: f64,
    /// `<Z_i>` per qubit.
    pub expectation_z: Vec<f64>,
    /// Histogram of sampled bitstrings (qubit 0 first), if shots were requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<SampleSummary>,
    /// Wall-clock timings in seconds, by phase.
    pub timings: BTreeMap<String, f64>,
    /// Extra engine-specific data (e.g. an MPS truncation report), as JSON.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

/// Sampling results.
#[derive(Clone, Debug, Serialize)]
pub struct SampleSummary {
    /// Number of shots.
    pub shots: usize,
    /// Seed of the sampler.
    pub seed: u64,
    /// Counts per observed bitstring, most frequent first.
    pub counts: Vec<(BitString, usize)>,
}

impl SampleSummary {
    /// Count and sort samples.
    pub fn from_samples(samples: &[BitString], seed: u64) -> Self {
        let mut map: BTreeMap<&BitString, usize> = BTreeMap::new();
        for s in samples {
            *map.entry(s).or_default() += 1;
        }
        let mut counts: Vec<(BitString, usize)> =
            map.into_iter().map(|(b, c)| (b.clone(), c)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        SampleSummary {
            shots: samples.len(),
            seed,
            counts,
        }
    }
}

impl SampleSummary {
    /// From measurement counts (as [`Simulator::sample_counts`] returns them), sorted
    /// most frequent first (ties by outcome).
    pub fn from_counts(counts: Vec<(BitString, u64)>, seed: u64) -> Self {
        let shots = counts.iter().fold(0u64, |a, c| a.saturating_add(c.1));
        let mut counts: Vec<(BitString, usize)> = counts
            .into_iter()
            .map(|(b, c)| (b, usize::try_from(c).unwrap_or(usize::MAX)))
            .collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        SampleSummary {
            shots: usize::try_from(shots).unwrap_or(usize::MAX),
            seed,
            counts,
        }
    }
}

impl SimulationReport {
    /// Read the observables of a finished state.
    pub fn from_state(state: &dyn Simulator, ops: usize) -> Self {
        let marginals = state.marginals();
        SimulationReport {
            backend: state.backend_name().to_string(),
            qubits: state.n_qubits(),
            ops,
            norm_squared: state.norm_squared(),
            expected_weight: marginals.iter().sum(),
            expectation_z: marginals.iter().map(|p| 1.0 - 2.0 * p).collect(),
            marginals,
            samples: None,
            timings: BTreeMap::new(),
            details: BTreeMap::new(),
        }
    }
}

impl fmt::Display for SimulationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "backend {} · {} qubits · {} ops · <ψ|ψ> = {:.12}",
            self.backend, self.qubits, self.ops, self.norm_squared
        )?;
        writeln!(
            f,
            "marginals P(q_i = 1), Σ = {:.12} (expected Hamming weight):",
            self.expected_weight
        )?;
        const PER_ROW: usize = 8;
        for (row, chunk) in self.marginals.chunks(PER_ROW).enumerate() {
            write!(f, "  q{:<4}", row * PER_ROW)?;
            for p in chunk {
                write!(f, " {p:.6}")?;
            }
            writeln!(f)?;
        }
        if let Some(s) = &self.samples {
            writeln!(
                f,
                "samples: {} shots (seed {}), {} distinct outcomes; most frequent (qubit 0 first):",
                s.shots,
                s.seed,
                s.counts.len()
            )?;
            for (bits, count) in s.counts.iter().take(10) {
                writeln!(f, "  {bits}  {count}")?;
            }
        }
        for (k, v) in &self.details {
            writeln!(f, "{k}: {v}")?;
        }
        let timings: Vec<String> = self
            .timings
            .iter()
            .map(|(k, v)| format!("{k} {}", format_seconds(*v)))
            .collect();
        write!(f, "timings: {}", timings.join(", "))
    }
}

/// `0.000123` → `123.0 µs`, `1.5` → `1.500 s`.
pub fn format_seconds(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}
