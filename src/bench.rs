//! The standard MPS benchmark workloads, shared by `bfly bench` and `benches/mps.rs`:
//! a full coupling-first Butterfly on `n` qubits fed by one of the loaders, at bond
//! dimension χ with cutoff 0. Results are medians over repeats, returned as data.

use serde::Serialize;
use std::fmt;
use std::time::Instant;

use crate::circuit::loaders::Loader;
use crate::circuit::{ButterflyWorkload, Circuit};
use crate::error::Result;
use crate::sim::mps::{run_mps, MpsConfig, Truncation, TruncationReport};

/// One benchmark point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MpsBenchCase {
    /// Input state family.
    pub input: Loader,
    /// Number of qubits (power of two).
    pub qubits: usize,
    /// Bond dimension cap χ.
    pub chi: usize,
}

impl MpsBenchCase {
    /// The case's circuit (seeded data and angles).
    pub fn circuit(&self, seed: u64) -> Result<Circuit> {
        ButterflyWorkload::full(self.qubits, self.input, seed).build()
    }

    /// Its MPS settings: bond cap χ, cutoff 0, default layout and routing.
    pub fn config(&self) -> Result<MpsConfig> {
        Ok(MpsConfig {
            truncation: Truncation::new(self.chi, 0.0)?,
            ..Default::default()
        })
    }
}

/// Timing and accuracy of one case.
#[derive(Clone, Debug, Serialize)]
pub struct MpsBenchResult {
    /// What ran.
    pub case: MpsBenchCase,
    /// Number of timed runs.
    pub repeats: usize,
    /// Median wall time of a full simulation, seconds.
    pub median_seconds: f64,
    /// Fastest run, seconds.
    pub min_seconds: f64,
    /// Slowest run, seconds.
    pub max_seconds: f64,
    /// Truncation report of the last run (identical across runs: the engine is
    /// deterministic).
    pub truncation: TruncationReport,
    /// Bytes held by the final site tensors.
    pub tensor_bytes: usize,
}

/// Median of a non-empty slice.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Run `case` `repeats` times (≥ 1) and summarise.
pub fn run_case(case: MpsBenchCase, repeats: usize, seed: u64) -> Result<MpsBenchResult> {
    let circuit = case.circuit(seed)?;
    let config = case.config()?;
    let mut times = Vec::with_capacity(repeats.max(1));
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let state = run_mps(&circuit, &circuit.parameters, &config)?;
        times.push(t.elapsed().as_secs_f64());
        last = Some(state);
    }
    let state = last.expect("at least one run");
    Ok(MpsBenchResult {
        case,
        repeats: times.len(),
        median_seconds: median(&times),
        min_seconds: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_seconds: times.iter().copied().fold(0.0, f64::max),
        truncation: state.report(),
        tensor_bytes: state.tensor_bytes(),
    })
}

/// A table of results, printable as markdown.
#[derive(Clone, Debug, Serialize)]
pub struct MpsBenchTable {
    /// One row per case.
    pub results: Vec<MpsBenchResult>,
}

impl fmt::Display for MpsBenchTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| input | n | χ | median | min | max | runs | fidelity estimate | discarded weight | max bond | swaps | tensors |"
        )?;
        writeln!(
            f,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for r in &self.results {
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} | {:.6} | {:.3e} | {} | {} | {} |",
                r.case.input,
                r.case.qubits,
                r.case.chi,
                crate::report::format_seconds(r.median_seconds),
                crate::report::format_seconds(r.min_seconds),
                crate::report::format_seconds(r.max_seconds),
                r.repeats,
                r.truncation.fidelity_estimate,
                r.truncation.total_discarded_weight,
                r.truncation.max_bond_reached,
                r.truncation.swaps,
                crate::error::format_bytes(r.tensor_bytes as f64),
            )?;
        }
        Ok(())
    }
}
