//! The standard MPS benchmark workloads, shared by `bfly bench` and `benches/mps.rs`:
//! a full coupling-first Butterfly on `n` qubits fed by one of the loaders, at bond
//! dimension χ with cutoff 0. Results are medians over repeats, returned as data.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Instant;

use bfly_core::circuit::loaders::Loader;
use bfly_core::circuit::{ButterflyWorkload, Circuit};
use bfly_core::error::{Error, Result};
use bfly_sim::mps::{MpsConfig, Truncation, TruncationReport};
use bfly_sim::{simulate_with_layout, ChainLayout, Engine, Simulator};

pub mod equal_accuracy;

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
    /// Which MPS engine ran it.
    pub engine: MpsEngine,
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

/// Run `case` `repeats` times (≥ 1) on the dense engine and summarise.
pub fn run_case(case: MpsBenchCase, repeats: usize, seed: u64) -> Result<MpsBenchResult> {
    run_case_on(case, MpsEngine::Dense, repeats, seed)
}

/// Run `case` `repeats` times (≥ 1) on `engine` and summarise.
pub fn run_case_on(
    case: MpsBenchCase,
    engine: MpsEngine,
    repeats: usize,
    seed: u64,
) -> Result<MpsBenchResult> {
    let circuit = case.circuit(seed)?;
    let config = case.config()?;
    let mut times = Vec::with_capacity(repeats.max(1));
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let (run, seconds) = run_engine(engine, &circuit, &config)?;
        times.push(seconds);
        last = Some(run);
    }
    Ok(summarise(
        case,
        engine,
        &times,
        last.expect("at least one run"),
    ))
}

/// Which MPS engine a benchmark runs: a label of the two MPS variants of
/// [`bfly_sim::Engine`] (serialised `"dense"` / `"u1"` in bench records); every run goes
/// through [`bfly_sim::simulate_with_layout`] with [`MpsEngine::engine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MpsEngine {
    /// [`Engine::Mps`] (`--symmetry none`).
    Dense,
    /// [`Engine::U1Mps`] (`--symmetry u1`).
    U1,
}

impl MpsEngine {
    /// The engine selector of this variant with bond cap `chi` and `cutoff`.
    ///
    /// ```
    /// use bfly_sim::Engine;
    /// use bfly_studies::bench::MpsEngine;
    /// assert_eq!(MpsEngine::U1.engine(64, 0.0), Engine::U1Mps { chi: 64, cutoff: 0.0 });
    /// assert_eq!("dense".parse::<MpsEngine>().unwrap(), MpsEngine::Dense);
    /// assert!("u2".parse::<MpsEngine>().is_err());
    /// ```
    pub fn engine(self, chi: usize, cutoff: f64) -> Engine {
        match self {
            MpsEngine::Dense => Engine::Mps { chi, cutoff },
            MpsEngine::U1 => Engine::U1Mps { chi, cutoff },
        }
    }
}

impl std::str::FromStr for MpsEngine {
    type Err = Error;
    /// `dense` or `u1` (the [`fmt::Display`] form).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(MpsEngine::Dense),
            "u1" => Ok(MpsEngine::U1),
            other => Err(Error::InvalidInput(format!(
                "unknown MPS engine `{other}`: use dense or u1"
            ))),
        }
    }
}

impl fmt::Display for MpsEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MpsEngine::Dense => "dense",
            MpsEngine::U1 => "u1",
        })
    }
}

/// What one timed run leaves behind for the summary.
pub(crate) struct EngineRun {
    pub report: TruncationReport,
    pub tensor_bytes: usize,
    pub marginals: Vec<f64>,
}

/// Run `engine` on `circuit` once with the truncation and layout of `config`; the seconds
/// cover the simulation, not the marginals.
pub(crate) fn run_engine(
    engine: MpsEngine,
    circuit: &Circuit,
    config: &MpsConfig,
) -> Result<(EngineRun, f64)> {
    let selector = engine.engine(config.truncation.max_bond, config.truncation.cutoff);
    let layout = ChainLayout {
        ordering: config.ordering.clone(),
        routing: config.routing,
    };
    let t = Instant::now();
    let state = simulate_with_layout(&selector, circuit, &circuit.parameters, &layout)?;
    let seconds = t.elapsed().as_secs_f64();
    let (tensor_bytes, report) = match (state.as_mps(), state.as_u1_mps()) {
        (Some(s), _) => (s.tensor_bytes(), s.report()),
        (_, Some(s)) => (s.tensor_bytes(), s.report()),
        _ => {
            return Err(Error::InvalidInput(format!(
                "engine {selector} did not run an MPS"
            )))
        }
    };
    let run = EngineRun {
        report,
        tensor_bytes,
        marginals: state.marginals(),
    };
    Ok((run, seconds))
}

fn summarise(
    case: MpsBenchCase,
    engine: MpsEngine,
    times: &[f64],
    run: EngineRun,
) -> MpsBenchResult {
    MpsBenchResult {
        case,
        engine,
        repeats: times.len(),
        median_seconds: median(times),
        min_seconds: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_seconds: times.iter().copied().fold(0.0, f64::max),
        truncation: run.report,
        tensor_bytes: run.tensor_bytes,
    }
}

/// Where the reference marginals of an engine comparison come from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarginalReference {
    /// The exact engines: state vector for `n ≤ 24`, else the subspace simulator
    /// (fixed-weight inputs only).
    Exact,
    /// The U(1) engine with this bond cap (cutoff 0): for mixed-weight inputs at large n.
    U1Chi(usize),
    /// The dense engine with this bond cap (cutoff 0).
    DenseChi(usize),
}

impl MarginalReference {
    /// Whether this reference can serve `input` on `qubits` qubits: the exact engines need
    /// a fixed-weight input (subspace simulator) or at most
    /// [`EXACT_STATE_VECTOR_MAX_QUBITS`] qubits (state vector); large-χ runs always apply.
    pub fn applies_to(&self, input: Loader, qubits: usize) -> bool {
        match self {
            MarginalReference::Exact => {
                qubits <= EXACT_STATE_VECTOR_MAX_QUBITS || input != Loader::Angle
            }
            MarginalReference::U1Chi(_) | MarginalReference::DenseChi(_) => true,
        }
    }
}

impl fmt::Display for MarginalReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarginalReference::Exact => f.write_str("exact"),
            MarginalReference::U1Chi(c) => write!(f, "u1 χ={c}"),
            MarginalReference::DenseChi(c) => write!(f, "dense χ={c}"),
        }
    }
}

/// Dense and U(1) engines on the same case, timed alternately in one process.
#[derive(Clone, Debug, Serialize)]
pub struct EngineComparison {
    /// The dense engine's timings and report.
    pub dense: MpsBenchResult,
    /// The U(1) engine's timings and report.
    pub u1: MpsBenchResult,
    /// Median dense time / median U(1) time.
    pub speedup: f64,
    /// Final state bytes, dense / U(1).
    pub memory_ratio: f64,
    /// Where the reference marginals came from (if any).
    pub reference: Option<MarginalReference>,
    /// Seconds the reference took.
    pub reference_seconds: Option<f64>,
    /// Largest `|P_dense(q_i = 1) − P_ref|`.
    pub dense_max_marginal_error: Option<f64>,
    /// Largest `|P_u1(q_i = 1) − P_ref|`.
    pub u1_max_marginal_error: Option<f64>,
    /// Largest `|P_dense − P_u1|`.
    pub dense_u1_max_marginal_difference: f64,
}

/// Largest qubit count whose exact reference is a state vector (2²⁴ amplitudes = 256 MiB);
/// above it the subspace simulator (fixed-weight inputs only).
pub const EXACT_STATE_VECTOR_MAX_QUBITS: usize = bfly_sim::MAX_EXACT_QUBITS;

/// The reference marginals for `circuit`.
pub fn reference_marginals(circuit: &Circuit, reference: MarginalReference) -> Result<Vec<f64>> {
    let engine = match reference {
        MarginalReference::Exact if circuit.qubits <= EXACT_STATE_VECTOR_MAX_QUBITS => {
            Engine::StateVector
        }
        MarginalReference::Exact => Engine::Subspace,
        MarginalReference::U1Chi(chi) => MpsEngine::U1.engine(chi, 0.0),
        MarginalReference::DenseChi(chi) => MpsEngine::Dense.engine(chi, 0.0),
    };
    Ok(bfly_sim::simulate(&engine, circuit, &circuit.parameters)?.marginals())
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Time the dense and U(1) engines on `case`, alternating (dense first on even repeats,
/// U(1) first on odd ones) so both see the same machine load, and compare their
/// marginals with each other and with `reference`.
pub fn compare_engines(
    case: MpsBenchCase,
    repeats: usize,
    seed: u64,
    reference: Option<MarginalReference>,
) -> Result<EngineComparison> {
    let circuit = case.circuit(seed)?;
    let config = case.config()?;
    let (mut td, mut tu) = (Vec::new(), Vec::new());
    let (mut last_d, mut last_u) = (None, None);
    for r in 0..repeats.max(1) {
        let order = if r % 2 == 0 {
            [MpsEngine::Dense, MpsEngine::U1]
        } else {
            [MpsEngine::U1, MpsEngine::Dense]
        };
        for engine in order {
            let (run, seconds) = run_engine(engine, &circuit, &config)?;
            match engine {
                MpsEngine::Dense => {
                    td.push(seconds);
                    last_d = Some(run);
                }
                MpsEngine::U1 => {
                    tu.push(seconds);
                    last_u = Some(run);
                }
            }
        }
    }
    let (d, u) = (last_d.expect("ran"), last_u.expect("ran"));
    let difference = max_abs_diff(&d.marginals, &u.marginals);
    let (mut ref_seconds, mut ed, mut eu) = (None, None, None);
    if let Some(r) = reference {
        let t = Instant::now();
        let p = reference_marginals(&circuit, r)?;
        ref_seconds = Some(t.elapsed().as_secs_f64());
        ed = Some(max_abs_diff(&d.marginals, &p));
        eu = Some(max_abs_diff(&u.marginals, &p));
    }
    let dense = summarise(case, MpsEngine::Dense, &td, d);
    let u1 = summarise(case, MpsEngine::U1, &tu, u);
    Ok(EngineComparison {
        speedup: dense.median_seconds / u1.median_seconds,
        memory_ratio: dense.tensor_bytes as f64 / u1.tensor_bytes.max(1) as f64,
        dense,
        u1,
        reference,
        reference_seconds: ref_seconds,
        dense_max_marginal_error: ed,
        u1_max_marginal_error: eu,
        dense_u1_max_marginal_difference: difference,
    })
}

/// Engine comparisons, printable as markdown.
#[derive(Clone, Debug, Serialize)]
pub struct EngineComparisonTable {
    /// One row per case.
    pub results: Vec<EngineComparison>,
    /// Peak resident memory of this process (`VmHWM`, bytes; Linux only).
    pub process_peak_rss_bytes: Option<u64>,
}

impl fmt::Display for EngineComparisonTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| input | n | χ | runs | dense median | u1 median | speedup | dense state | u1 state | max bond d/u | fidelity est. d/u | max ΔP dense | max ΔP u1 | max ΔP d−u | reference |"
        )?;
        writeln!(
            f,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        )?;
        let opt = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.1e}"));
        for r in &self.results {
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {:.2}× | {} | {} | {}/{} | {:.6}/{:.6} | {} | {} | {:.1e} | {} |",
                r.dense.case.input,
                r.dense.case.qubits,
                r.dense.case.chi,
                r.dense.repeats,
                bfly_sim::report::format_seconds(r.dense.median_seconds),
                bfly_sim::report::format_seconds(r.u1.median_seconds),
                r.speedup,
                bfly_core::error::format_bytes(r.dense.tensor_bytes as f64),
                bfly_core::error::format_bytes(r.u1.tensor_bytes as f64),
                r.dense.truncation.max_bond_reached,
                r.u1.truncation.max_bond_reached,
                r.dense.truncation.fidelity_estimate,
                r.u1.truncation.fidelity_estimate,
                opt(r.dense_max_marginal_error),
                opt(r.u1_max_marginal_error),
                r.dense_u1_max_marginal_difference,
                r.reference.map_or("none".to_string(), |r| r.to_string()),
            )?;
        }
        if let Some(b) = self.process_peak_rss_bytes {
            writeln!(
                f,
                "\nprocess peak RSS (VmHWM): {}",
                bfly_core::error::format_bytes(b as f64)
            )?;
        }
        Ok(())
    }
}

/// Peak resident set size of this process (`VmHWM` in `/proc/self/status`), if available.
pub fn process_peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
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
            "| input | n | χ | engine | median | min | max | runs | fidelity estimate | discarded weight | max bond | swaps | tensors |"
        )?;
        writeln!(
            f,
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for r in &self.results {
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.6} | {:.3e} | {} | {} | {} |",
                r.case.input,
                r.case.qubits,
                r.case.chi,
                r.engine,
                bfly_sim::report::format_seconds(r.median_seconds),
                bfly_sim::report::format_seconds(r.min_seconds),
                bfly_sim::report::format_seconds(r.max_seconds),
                r.repeats,
                r.truncation.fidelity_estimate,
                r.truncation.total_discarded_weight,
                r.truncation.max_bond_reached,
                r.truncation.swaps,
                bfly_core::error::format_bytes(r.tensor_bytes as f64),
            )?;
        }
        Ok(())
    }
}
