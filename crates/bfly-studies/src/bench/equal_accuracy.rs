//! Dense vs U(1) MPS **at equal accuracy of measurement statistics**.
//!
//! At equal χ the two engines do not keep the same information: for a fixed-weight input
//! (unary, hwK) they truncate identically, but for a mixed-weight input (angle) the U(1)
//! engine's right-boundary label `Q` enlarges every bond (see [`bfly_sim::mps::u1`]), so
//! at equal χ it is less accurate. A fair speed comparison therefore fixes the accuracy,
//! not χ: the dense engine runs at χ, its largest marginal error against a reference is
//! measured, and the U(1) engine climbs a ladder of bond caps until its own error is no
//! larger. The two are then timed alternately at those caps and the ratio of medians is
//! reported, with both engines' peak memory.
//!
//! Every run goes through a caller-supplied runner, so the CLI can put each run in its own
//! child process (a clean peak-RSS reading per engine) while tests run in-process.
//!
//! ```
//! use bfly_studies::bench::equal_accuracy::{compare_at_equal_accuracy, run_in_process};
//! use bfly_studies::bench::{reference_marginals, MarginalReference, MpsBenchCase};
//! use bfly_core::circuit::loaders::Loader;
//! let case = MpsBenchCase { input: Loader::Angle, qubits: 8, chi: 4 };
//! let circuit = case.circuit(1).unwrap();
//! let exact = reference_marginals(&circuit, MarginalReference::Exact).unwrap();
//! let c = compare_at_equal_accuracy(case, &[4, 8, 16], 1, &exact, |engine, chi| {
//!     run_in_process(&circuit, engine, chi)
//! })
//! .unwrap();
//! // χ = 16 holds the 8-qubit state exactly, so the ladder always finds a match.
//! assert!(c.u1_chi.unwrap() <= 16);
//! assert!(c.u1_error.unwrap() <= c.dense_error.max(1e-10));
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{median, run_engine, MpsBenchCase, MpsEngine};
use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};
use bfly_sim::mps::{MpsConfig, TruncationReport};

/// Errors at or below this are rounding: two such runs count as equally accurate.
pub const EXACT_FLOOR: f64 = 1e-10;

/// One run of one engine at one bond cap.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Which engine ran.
    pub engine: MpsEngine,
    /// Its bond cap χ (cutoff 0).
    pub chi: usize,
    /// Wall time of the simulation (excluding the marginals).
    pub seconds: f64,
    /// `P(q_i = 1)` for every qubit.
    pub marginals: Vec<f64>,
    /// The run's truncation report.
    pub report: TruncationReport,
    /// Bytes of the final state's tensors.
    pub tensor_bytes: usize,
    /// Peak resident memory of the process that ran it (`VmHWM`), if measured in a
    /// process of its own.
    pub peak_rss_bytes: Option<u64>,
}

/// Run `engine` at bond cap `chi` (cutoff 0) on `circuit` in this process.
pub fn run_in_process(circuit: &Circuit, engine: MpsEngine, chi: usize) -> Result<RunRecord> {
    let (run, seconds) = run_engine(engine, circuit, &MpsConfig::new(chi, 0.0)?)?;
    Ok(RunRecord {
        engine,
        chi,
        seconds,
        marginals: run.marginals,
        report: run.report,
        tensor_bytes: run.tensor_bytes,
        peak_rss_bytes: None,
    })
}

/// One rung of the U(1) ladder.
#[derive(Clone, Debug, Serialize)]
pub struct LadderStep {
    /// The U(1) bond cap tried.
    pub chi: usize,
    /// Its largest marginal error against the reference.
    pub error: f64,
    /// Its wall time (one run).
    pub seconds: f64,
}

/// The result of [`compare_at_equal_accuracy`].
#[derive(Clone, Debug, Serialize)]
pub struct EqualAccuracyComparison {
    /// The case (its χ is the dense engine's).
    pub case: MpsBenchCase,
    /// Largest `|P_dense(q_i = 1) − P_ref|` at χ.
    pub dense_error: f64,
    /// The smallest ladder χ at which the U(1) engine is at least as accurate (`None`: no
    /// rung was).
    pub u1_chi: Option<usize>,
    /// The U(1) error at `u1_chi`.
    pub u1_error: Option<f64>,
    /// Every rung tried, in order.
    pub ladder: Vec<LadderStep>,
    /// Timed runs per engine (alternating).
    pub repeats: usize,
    /// Median dense wall time.
    pub dense_median_seconds: f64,
    /// Median U(1) wall time at `u1_chi`.
    pub u1_median_seconds: Option<f64>,
    /// Dense median / U(1) median, at equal accuracy.
    pub speedup: Option<f64>,
    /// Dense final-state bytes, and the U(1) ones at `u1_chi`.
    pub dense_tensor_bytes: usize,
    /// U(1) final-state bytes at `u1_chi`.
    pub u1_tensor_bytes: Option<usize>,
    /// Largest peak RSS of the dense runs (child processes only).
    pub dense_peak_rss_bytes: Option<u64>,
    /// Largest peak RSS of the matched U(1) runs (child processes only).
    pub u1_peak_rss_bytes: Option<u64>,
    /// Fidelity estimates Π(1 − ε) of the dense run and the matched U(1) run.
    pub fidelity_estimates: (f64, Option<f64>),
}

fn max_error(marginals: &[f64], reference: &[f64]) -> Result<f64> {
    if marginals.len() != reference.len() {
        return Err(Error::InvalidInput(format!(
            "the reference has {} marginals but the run has {}",
            reference.len(),
            marginals.len()
        )));
    }
    Ok(marginals
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max))
}

/// Time the dense engine at `case.chi` against the U(1) engine at the smallest bond cap
/// of `ladder` whose largest marginal error against `reference` is no larger than the
/// dense one (errors ≤ [`EXACT_FLOOR`] count as equal). `run(engine, chi)` performs one
/// run; the matched pair is timed `repeats` times, alternating which goes first.
pub fn compare_at_equal_accuracy<F>(
    case: MpsBenchCase,
    ladder: &[usize],
    repeats: usize,
    reference: &[f64],
    mut run: F,
) -> Result<EqualAccuracyComparison>
where
    F: FnMut(MpsEngine, usize) -> Result<RunRecord>,
{
    if ladder.is_empty() || ladder.contains(&0) {
        return Err(Error::InvalidInput(format!(
            "the U(1) bond-cap ladder must be non-empty and every χ ≥ 1, got {ladder:?}"
        )));
    }
    let dense = run(MpsEngine::Dense, case.chi)?;
    let dense_error = max_error(&dense.marginals, reference)?;
    let tolerance = dense_error.max(EXACT_FLOOR);
    let mut steps = Vec::new();
    let mut matched: Option<(RunRecord, f64)> = None;
    for &chi in ladder {
        let u = run(MpsEngine::U1, chi)?;
        let error = max_error(&u.marginals, reference)?;
        steps.push(LadderStep {
            chi,
            error,
            seconds: u.seconds,
        });
        if error <= tolerance {
            matched = Some((u, error));
            break;
        }
    }
    let mut dense_times = vec![dense.seconds];
    let mut dense_rss = dense.peak_rss_bytes;
    let Some((u1, u1_error)) = matched else {
        return Ok(EqualAccuracyComparison {
            case,
            dense_error,
            u1_chi: None,
            u1_error: None,
            ladder: steps,
            repeats: 1,
            dense_median_seconds: dense.seconds,
            u1_median_seconds: None,
            speedup: None,
            dense_tensor_bytes: dense.tensor_bytes,
            u1_tensor_bytes: None,
            dense_peak_rss_bytes: dense_rss,
            u1_peak_rss_bytes: None,
            fidelity_estimates: (dense.report.fidelity_estimate, None),
        });
    };
    let mut u1_times = vec![u1.seconds];
    let mut u1_rss = u1.peak_rss_bytes;
    for r in 1..repeats.max(1) {
        let order = if r % 2 == 0 {
            [MpsEngine::Dense, MpsEngine::U1]
        } else {
            [MpsEngine::U1, MpsEngine::Dense]
        };
        for engine in order {
            let chi = match engine {
                MpsEngine::Dense => case.chi,
                MpsEngine::U1 => u1.chi,
            };
            let again = run(engine, chi)?;
            let (times, rss) = match engine {
                MpsEngine::Dense => (&mut dense_times, &mut dense_rss),
                MpsEngine::U1 => (&mut u1_times, &mut u1_rss),
            };
            times.push(again.seconds);
            *rss = (*rss).max(again.peak_rss_bytes);
        }
    }
    let (dm, um) = (median(&dense_times), median(&u1_times));
    Ok(EqualAccuracyComparison {
        case,
        dense_error,
        u1_chi: Some(u1.chi),
        u1_error: Some(u1_error),
        ladder: steps,
        repeats: dense_times.len(),
        dense_median_seconds: dm,
        u1_median_seconds: Some(um),
        speedup: Some(dm / um),
        dense_tensor_bytes: dense.tensor_bytes,
        u1_tensor_bytes: Some(u1.tensor_bytes),
        dense_peak_rss_bytes: dense_rss,
        u1_peak_rss_bytes: u1_rss,
        fidelity_estimates: (
            dense.report.fidelity_estimate,
            Some(u1.report.fidelity_estimate),
        ),
    })
}

/// Equal-accuracy comparisons, printable as markdown.
#[derive(Clone, Debug, Serialize)]
pub struct EqualAccuracyTable {
    /// Where each case's reference marginals came from.
    pub references: Vec<String>,
    /// Seconds each case's reference took (`None` when shared with an earlier case).
    pub reference_seconds: Vec<Option<f64>>,
    /// One row per case.
    pub results: Vec<EqualAccuracyComparison>,
}

impl fmt::Display for EqualAccuracyTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes =
            |b: Option<u64>| b.map_or("—".into(), |b| bfly_core::error::format_bytes(b as f64));
        let secs = bfly_sim::report::format_seconds;
        writeln!(
            f,
            "| input | n | reference | dense χ | dense max ΔP | u1 χ | u1 max ΔP | runs | dense median | u1 median | speedup | peak RSS dense | peak RSS u1 | u1 ladder (χ: max ΔP, time) |"
        )?;
        writeln!(
            f,
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        )?;
        for (i, r) in self.results.iter().enumerate() {
            let ladder: Vec<String> = r
                .ladder
                .iter()
                .map(|s| format!("{}: {:.1e}, {}", s.chi, s.error, secs(s.seconds)))
                .collect();
            writeln!(
                f,
                "| {} | {} | {} | {} | {:.1e} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.case.input,
                r.case.qubits,
                self.references.get(i).map_or("—", String::as_str),
                r.case.chi,
                r.dense_error,
                r.u1_chi.map_or("none matched".into(), |c| c.to_string()),
                r.u1_error.map_or("—".into(), |e| format!("{e:.1e}")),
                r.repeats,
                secs(r.dense_median_seconds),
                r.u1_median_seconds.map_or("—".into(), secs),
                r.speedup.map_or("—".into(), |s| format!("{s:.2}×")),
                bytes(r.dense_peak_rss_bytes),
                bytes(r.u1_peak_rss_bytes),
                ladder.join("; "),
            )?;
        }
        Ok(())
    }
}
