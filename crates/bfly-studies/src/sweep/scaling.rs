//! `bfly sweep scaling`: per input family, the largest n at which some χ reaches a target
//! fidelity (0.99 by default) within a time budget per point, and time and memory against n.
//!
//! For each family, n ascending: χ ascending until the point's fidelity reaches the target
//! (n is *reached* with that χ), the run exceeds the budget (killed; n is not reached, and
//! larger χ would be slower still), or the χ list ends. The first n not reached ends the
//! family. The fidelity is the true one where an exact reference exists, otherwise the
//! engine's estimate (said so in each row). Points go through the same resumable store as
//! accuracy sweeps (`scaling.jsonl`), so a killed scaling sweep resumes too.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::accuracy::SweepFiles;
use super::store::{write_tables, ResultStore};
use super::worker::{ChildCommand, Worker};
use super::{PointRecord, PointSpec, PointStatus};
use crate::plot::{Corner, LineChart, Scale, Series};
use bfly_core::circuit::loaders::Loader;
use bfly_core::error::{Error, Result};
use bfly_core::progress::{FinishOnDrop, Progress};

/// What to search.
#[derive(Clone, Debug)]
pub struct ScalingSpec {
    /// Input families.
    pub families: Vec<Loader>,
    /// Qubit counts, ascending (powers of two).
    pub qubits: Vec<usize>,
    /// χ values to try, ascending.
    pub chis: Vec<usize>,
    /// Seed of data and angles.
    pub seed: u64,
    /// Relative cutoff.
    pub cutoff: f64,
    /// Fidelity to reach.
    pub target: f64,
    /// Time budget of one MPS run.
    pub time_budget: Duration,
}

/// The cheapest χ that reached the target at one n.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingRow {
    /// Qubits.
    pub qubits: usize,
    /// χ that reached the target.
    pub chi: usize,
    /// The fidelity that reached it.
    pub fidelity: f64,
    /// `"true"` (against an exact reference) or `"estimate"` (no reference exists).
    pub fidelity_kind: &'static str,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Peak RSS of the point's process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Bytes of the final MPS.
    pub mps_bytes: Option<u64>,
}

/// One family's result.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyScaling {
    /// The input family.
    pub family: String,
    /// Largest n reached (`None`: not even the smallest).
    pub largest_qubits: Option<usize>,
    /// Why the search stopped.
    pub stopped: String,
    /// One row per n reached.
    pub rows: Vec<ScalingRow>,
}

/// The outcome of a scaling sweep.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingSummary {
    /// Target fidelity.
    pub target: f64,
    /// Time budget per point, seconds.
    pub time_budget_seconds: f64,
    /// Points run now (the rest came from the store).
    pub run: usize,
    /// Points taken from the store.
    pub skipped: usize,
    /// Per family.
    pub families: Vec<FamilyScaling>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for ScalingSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "target fidelity {} within {} s per point; {} points run now, {} from the store",
            self.target, self.time_budget_seconds, self.run, self.skipped
        )?;
        writeln!(
            f,
            "| input | n | χ | fidelity | kind | time s | peak RSS | MPS |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---|---:|---:|---:|")?;
        for fam in &self.families {
            for r in &fam.rows {
                writeln!(
                    f,
                    "| {} | {} | {} | {:.6} | {} | {:.3} | {} | {} |",
                    fam.family,
                    r.qubits,
                    r.chi,
                    r.fidelity,
                    r.fidelity_kind,
                    r.wall_seconds,
                    r.peak_rss_bytes
                        .map(|b| bfly_core::error::format_bytes(b as f64))
                        .unwrap_or_default(),
                    r.mps_bytes
                        .map(|b| bfly_core::error::format_bytes(b as f64))
                        .unwrap_or_default(),
                )?;
            }
        }
        for fam in &self.families {
            writeln!(
                f,
                "{}: largest n = {} ({})",
                fam.family,
                fam.largest_qubits
                    .map_or("none".to_string(), |n| n.to_string()),
                fam.stopped
            )?;
        }
        for p in &self.files {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

/// Run (or resume) a scaling sweep into `dir`, `child` starting the process that runs each
/// point ([`super::worker`]). `progress` counts (family, n) pairs; its message names the
/// point that runs.
pub fn run_scaling(
    spec: &ScalingSpec,
    dir: &Path,
    child: &ChildCommand,
    progress: &dyn Progress,
) -> Result<ScalingSummary> {
    if spec.families.is_empty() || spec.qubits.is_empty() || spec.chis.is_empty() {
        return Err(Error::SweepSpec(
            "scaling needs at least one family, one qubit count and one χ".into(),
        ));
    }
    if !(spec.target > 0.0 && spec.target <= 1.0) {
        return Err(Error::SweepSpec(format!(
            "target fidelity {} is not in (0, 1]; use e.g. 0.99",
            spec.target
        )));
    }
    let mut qubits = spec.qubits.clone();
    qubits.sort_unstable();
    qubits.dedup();
    let mut chis = spec.chis.clone();
    chis.sort_unstable();
    chis.dedup();
    // Validate everything up front: bad input fails before any work.
    super::grid(
        &spec.families,
        &qubits,
        None,
        &chis,
        &[spec.seed],
        spec.cutoff,
    )?;
    let files = SweepFiles {
        dir: dir.to_path_buf(),
        stem: "scaling",
    };
    let mut store = ResultStore::open(&files.store())?;
    let worker = Worker {
        child: child.clone(),
        reference_dir: files.references(),
        time_budget: Some(spec.time_budget),
    };
    let (mut run, mut skipped) = (0, 0);
    let mut used: Vec<PointRecord> = Vec::new();
    let mut families = Vec::new();
    progress.start((spec.families.len() * qubits.len()) as u64, "(family, n)");
    let finish = FinishOnDrop(progress);
    for &family in &spec.families {
        let mut rows = Vec::new();
        let mut stopped = format!("every n up to {} reached", qubits[qubits.len() - 1]);
        'sizes: for &n in &qubits {
            let mut reached = None;
            let mut why = format!(
                "χ up to {} stays below {}",
                chis[chis.len() - 1],
                spec.target
            );
            for &chi in &chis {
                let p = PointSpec::full(family, n, chi, spec.seed);
                let p = PointSpec {
                    cutoff: spec.cutoff,
                    ..p
                };
                progress.message(&p.key());
                let record = match store.get(&p.key()) {
                    Some(r) => {
                        skipped += 1;
                        r.clone()
                    }
                    None => {
                        let r = worker.run(&p)?;
                        store.append(r.clone())?;
                        run += 1;
                        r
                    }
                };
                used.push(record.clone());
                if record.status == PointStatus::Timeout {
                    why = format!(
                        "χ = {chi} exceeded the {} s budget",
                        spec.time_budget.as_secs_f64()
                    );
                    break;
                }
                let (fidelity, kind) = match (record.true_fidelity, record.fidelity_estimate) {
                    (Some(t), _) => (t, "true"),
                    (None, Some(e)) => (e, "estimate"),
                    (None, None) => continue,
                };
                if fidelity >= spec.target {
                    reached = Some(ScalingRow {
                        qubits: n,
                        chi,
                        fidelity,
                        fidelity_kind: kind,
                        wall_seconds: record.wall_seconds,
                        peak_rss_bytes: record.peak_rss_bytes,
                        mps_bytes: record.mps_bytes,
                    });
                    break;
                }
            }
            progress.advance(1);
            match reached {
                Some(row) => rows.push(row),
                None => {
                    stopped = format!("n = {n} not reached: {why}");
                    progress.advance(
                        (qubits.len() - qubits.iter().position(|&q| q == n).unwrap_or(0) - 1)
                            as u64,
                    );
                    break 'sizes;
                }
            }
        }
        families.push(FamilyScaling {
            family: family.to_string(),
            largest_qubits: rows.last().map(|r| r.qubits),
            stopped,
            rows,
        });
    }
    drop(finish);
    let mut written = vec![files.store()];
    write_tables(&used, &files.csv(), &files.json())?;
    written.extend([files.csv(), files.json()]);
    let mut summary = ScalingSummary {
        target: spec.target,
        time_budget_seconds: spec.time_budget.as_secs_f64(),
        run,
        skipped,
        families,
        files: Vec::new(),
    };
    let summary_path = dir.join("scaling_summary.json");
    bfly_core::io::write_atomic(
        &summary_path,
        &serde_json::to_vec_pretty(&summary).expect("summary serialises"),
    )?;
    written.push(summary_path);
    written.extend(plot_scaling(&summary, dir)?);
    summary.files = written;
    Ok(summary)
}

/// Time and memory against n at the target fidelity (SVG and PNG); returns the files.
pub fn plot_scaling(summary: &ScalingSummary, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let label = |f: &FamilyScaling| format!("{} (χ reaching F ≥ {})", f.family, summary.target);
    let time = LineChart {
        title: format!(
            "Time to reach fidelity ≥ {} (budget {} s per run)",
            summary.target, summary.time_budget_seconds
        ),
        x_label: "qubits n".into(),
        y_label: "wall time of the MPS run (s)".into(),
        x_scale: Scale::Log2,
        y_scale: Scale::Log,
        series: summary
            .families
            .iter()
            .map(|f| {
                Series::line(
                    label(f),
                    f.rows
                        .iter()
                        .map(|r| (r.qubits as f64, r.wall_seconds))
                        .collect(),
                )
            })
            .collect(),
        legend: Corner::UpperLeft,
    };
    let memory = LineChart {
        title: format!("Peak memory at fidelity ≥ {}", summary.target),
        x_label: "qubits n".into(),
        y_label: "peak RSS of the point's process (MiB)".into(),
        x_scale: Scale::Log2,
        y_scale: Scale::Log,
        series: summary
            .families
            .iter()
            .map(|f| {
                Series::line(
                    label(f),
                    f.rows
                        .iter()
                        .filter_map(|r| {
                            Some((r.qubits as f64, r.peak_rss_bytes? as f64 / 1048576.0))
                        })
                        .collect(),
                )
            })
            .collect(),
        legend: Corner::UpperLeft,
    };
    for (chart, stem) in [
        (&time, "scaling_time_vs_n"),
        (&memory, "scaling_memory_vs_n"),
    ] {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{stem}.{ext}"));
            chart.save(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}
