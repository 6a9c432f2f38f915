//! `bfly sweep accuracy`: every point of a grid (family × n × layers × χ × seed), each in
//! its own process, recorded in a resumable store, then tables and plots.
//!
//! Output folder:
//! - `accuracy.jsonl`: the store (one record per finished point; the source of truth);
//! - `accuracy.csv`, `accuracy.json`: the records of this sweep's grid;
//! - `refs/`: cached exact references;
//! - `fidelity_vs_chi_<family>.{svg,png}`, `estimate_vs_true.{svg,png}`,
//!   `time_vs_n_<family>.{svg,png}`, `memory_vs_n_<family>.{svg,png}`.

use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::store::{write_tables, ResultStore};
use super::worker::{ChildCommand, Worker};
use super::{PointRecord, PointSpec, PointStatus};
use crate::plot::{Corner, LineChart, Scale, Series};
use bfly_core::circuit::loaders::Loader;
use bfly_core::error::Result;
use bfly_core::progress::{FinishOnDrop, Progress};

/// Infidelities below this are drawn at this value on log axes (exact runs give 0 or
/// rounding noise).
pub const INFIDELITY_FLOOR: f64 = 1e-15;

/// Where a sweep's files go.
#[derive(Clone, Debug)]
pub struct SweepFiles {
    /// The output folder.
    pub dir: PathBuf,
    /// File-name stem (`accuracy`, `scaling`).
    pub stem: &'static str,
}

impl SweepFiles {
    /// The resumable store.
    pub fn store(&self) -> PathBuf {
        self.dir.join(format!("{}.jsonl", self.stem))
    }
    /// The CSV table.
    pub fn csv(&self) -> PathBuf {
        self.dir.join(format!("{}.csv", self.stem))
    }
    /// The JSON table.
    pub fn json(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.stem))
    }
    /// Cached references.
    pub fn references(&self) -> PathBuf {
        self.dir.join("refs")
    }
}

/// The largest difference between estimated and true fidelity among the records.
#[derive(Clone, Debug, Serialize)]
pub struct EstimateGap {
    /// `|estimate − true|`.
    pub gap: f64,
    /// At which point.
    pub key: String,
    /// The true fidelity there.
    pub true_fidelity: f64,
    /// The estimate there.
    pub fidelity_estimate: f64,
    /// Points with both values.
    pub compared_points: usize,
}

/// What a sweep did.
#[derive(Clone, Debug, Serialize)]
pub struct SweepSummary {
    /// Points in the grid.
    pub points: usize,
    /// Points run now.
    pub run: usize,
    /// Points skipped because the store already had them.
    pub skipped: usize,
    /// Points (of the grid) that hit the time budget.
    pub timeouts: usize,
    /// Wall time of this invocation, seconds.
    pub seconds: f64,
    /// Largest estimate-vs-true gap over the grid's points.
    pub largest_gap: Option<EstimateGap>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

impl std::fmt::Display for SweepSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} points: {} run now, {} already done, {} timed out ({:.1} s)",
            self.points, self.run, self.skipped, self.timeouts, self.seconds
        )?;
        if let Some(g) = &self.largest_gap {
            writeln!(
                f,
                "largest |estimate − true fidelity| over {} points: {:.3e} at {} (true {:.6}, estimate {:.6})",
                g.compared_points, g.gap, g.key, g.true_fidelity, g.fidelity_estimate
            )?;
        }
        for p in &self.files {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

/// The largest `|estimate − true|` over `records`.
pub fn largest_gap(records: &[PointRecord]) -> Option<EstimateGap> {
    let both: Vec<(&PointRecord, f64, f64)> = records
        .iter()
        .filter_map(|r| Some((r, r.true_fidelity?, r.fidelity_estimate?)))
        .collect();
    let (r, t, e) = both
        .iter()
        .max_by(|a, b| (a.1 - a.2).abs().total_cmp(&(b.1 - b.2).abs()))?;
    Some(EstimateGap {
        gap: (t - e).abs(),
        key: r.key.clone(),
        true_fidelity: *t,
        fidelity_estimate: *e,
        compared_points: both.len(),
    })
}

/// Run the points not yet in `store` one at a time (cheapest first); returns how many ran.
///
/// `progress` counts estimated cost in units of 10³ gate·χ³ (its unit is "kcost"), not
/// points: a χ = 256 point costs thousands of χ = 2 points, so a per-point ETA would be
/// meaningless. Its message names the point that runs.
pub fn run_missing(
    points: &[PointSpec],
    store: &mut ResultStore,
    worker: &Worker,
    progress: &dyn Progress,
) -> Result<usize> {
    let todo: Vec<&PointSpec> = points
        .iter()
        .filter(|p| !store.contains(&p.key()))
        .collect();
    if todo.is_empty() {
        return Ok(0);
    }
    const UNIT: f64 = 1e3;
    let total: f64 = todo.iter().map(|p| p.cost()).sum();
    progress.start((total / UNIT).ceil() as u64 + 1, "kcost");
    let _finish = FinishOnDrop(progress);
    for (i, p) in todo.iter().enumerate() {
        progress.message(&format!("point {}/{}: {}", i + 1, todo.len(), p.key()));
        let record = worker.run(p)?;
        store.append(record)?;
        progress.advance((p.cost() / UNIT).round() as u64);
    }
    Ok(todo.len())
}

/// Run (or resume) an accuracy sweep over `points` into `dir`, then write the tables and
/// plots. `child` starts the process that runs each point ([`super::worker`]).
pub fn run_accuracy(
    points: &[PointSpec],
    dir: &Path,
    child: &ChildCommand,
    time_budget: Option<std::time::Duration>,
    progress: &dyn Progress,
) -> Result<SweepSummary> {
    let start = std::time::Instant::now();
    let files = SweepFiles {
        dir: dir.to_path_buf(),
        stem: "accuracy",
    };
    let mut store = ResultStore::open(&files.store())?;
    let worker = Worker {
        child: child.clone(),
        reference_dir: files.references(),
        time_budget,
    };
    let run = run_missing(points, &mut store, &worker, progress)?;
    let records: Vec<PointRecord> = points
        .iter()
        .filter_map(|p| store.get(&p.key()).cloned())
        .collect();
    let mut written = vec![files.store()];
    // Tables and plots are redrawn only when the grid's records changed, so re-running a
    // finished sweep does no work at all.
    let unchanged = std::fs::read(files.json()).ok().as_deref()
        == Some(
            serde_json::to_vec_pretty(&records)
                .expect("records serialise")
                .as_slice(),
        )
        && files.csv().exists()
        && dir.join("estimate_vs_true.png").exists();
    if !unchanged {
        write_tables(&records, &files.csv(), &files.json())?;
        written.extend([files.csv(), files.json()]);
        written.extend(plot_accuracy(&records, dir)?);
    }
    Ok(SweepSummary {
        points: points.len(),
        run,
        skipped: points.len() - run,
        timeouts: records
            .iter()
            .filter(|r| r.status == PointStatus::Timeout)
            .count(),
        seconds: start.elapsed().as_secs_f64(),
        largest_gap: largest_gap(&records),
        files: written,
    })
}

/// Redraw the tables and plots of the accuracy store in `dir` from every record it holds,
/// running nothing (e.g. after stopping a sweep early); returns the files written.
pub fn replot_accuracy(dir: &Path) -> Result<Vec<PathBuf>> {
    let files = SweepFiles {
        dir: dir.to_path_buf(),
        stem: "accuracy",
    };
    if !files.store().exists() {
        return Err(bfly_core::error::Error::SweepSpec(format!(
            "{} does not exist; run an accuracy sweep into {} first",
            files.store().display(),
            dir.display()
        )));
    }
    let store = ResultStore::open(&files.store())?;
    let records = store.records().to_vec();
    write_tables(&records, &files.csv(), &files.json())?;
    let mut written = vec![files.csv(), files.json()];
    written.extend(plot_accuracy(&records, dir)?);
    Ok(written)
}

fn families(records: &[PointRecord]) -> Vec<Loader> {
    let mut seen: Vec<Loader> = Vec::new();
    for r in records {
        if !seen.contains(&r.spec.family) {
            seen.push(r.spec.family);
        }
    }
    seen
}

fn ok(records: &[PointRecord]) -> impl Iterator<Item = &PointRecord> {
    records.iter().filter(|r| r.status == PointStatus::Ok)
}

/// Mean over seeds of `value` for each x, in ascending x.
fn mean_by<F, G>(records: &[&PointRecord], x: F, value: G) -> Vec<(f64, f64)>
where
    F: Fn(&PointRecord) -> f64,
    G: Fn(&PointRecord) -> Option<f64>,
{
    let mut xs: Vec<f64> = records.iter().map(|r| x(r)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .filter_map(|xv| {
            let vals: Vec<f64> = records
                .iter()
                .filter(|r| x(r) == xv)
                .filter_map(|r| value(r))
                .collect();
            (!vals.is_empty()).then(|| (xv, vals.iter().sum::<f64>() / vals.len() as f64))
        })
        .collect()
}

/// Draw the accuracy plots (SVG and PNG) into `dir`; returns the files written.
pub fn plot_accuracy(records: &[PointRecord], dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut save = |chart: &LineChart, stem: &str| -> Result<()> {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{stem}.{ext}"));
            chart.save(&path)?;
            written.push(path);
        }
        Ok(())
    };
    let infidelity = |f: f64| (1.0 - f).max(INFIDELITY_FLOOR);
    for family in families(records) {
        let of_family: Vec<&PointRecord> =
            ok(records).filter(|r| r.spec.family == family).collect();
        let sizes: BTreeSet<(usize, usize)> = of_family
            .iter()
            .map(|r| (r.spec.qubits, r.spec.layers))
            .collect();
        let multi_depth = sizes.iter().map(|s| s.0).collect::<BTreeSet<_>>().len() < sizes.len();
        let label = |n: usize, l: usize| {
            if multi_depth {
                format!("n = {n}, {l} layers")
            } else {
                format!("n = {n}")
            }
        };
        // Fidelity vs χ: true where a reference exists, otherwise the estimate (dashed).
        let mut series = Vec::new();
        let mut chis = Vec::new();
        let mut times = Vec::new();
        let mut memory = Vec::new();
        for &(n, l) in &sizes {
            let rs: Vec<&PointRecord> = of_family
                .iter()
                .copied()
                .filter(|r| r.spec.qubits == n && r.spec.layers == l)
                .collect();
            let truth = mean_by(
                &rs,
                |r| r.spec.chi as f64,
                |r| r.true_fidelity.map(infidelity),
            );
            if !truth.is_empty() {
                series.push(Series::line(format!("{} (true)", label(n, l)), truth));
            } else {
                let est = mean_by(
                    &rs,
                    |r| r.spec.chi as f64,
                    |r| r.fidelity_estimate.map(infidelity),
                );
                series.push(Series::dashed(
                    format!("{} (estimate; no exact reference)", label(n, l)),
                    est,
                ));
            }
            chis.extend(rs.iter().map(|r| r.spec.chi));
        }
        save(
            &LineChart {
                title: format!("{family} input: infidelity vs bond dimension"),
                x_label: "bond dimension χ".into(),
                y_label: format!("1 − fidelity (floored at {INFIDELITY_FLOOR:.0e})"),
                x_scale: Scale::Log2,
                y_scale: Scale::Log,
                series,
                legend: Corner::LowerLeft,
            },
            &format!("fidelity_vs_chi_{family}"),
        )?;
        chis.sort_unstable();
        chis.dedup();
        for &chi in &chis {
            let rs: Vec<&PointRecord> = of_family
                .iter()
                .copied()
                .filter(|r| r.spec.chi == chi)
                .collect();
            times.push(Series::line(
                format!("χ = {chi}"),
                mean_by(&rs, |r| r.spec.qubits as f64, |r| Some(r.wall_seconds)),
            ));
            memory.push(Series::line(
                format!("χ = {chi}"),
                mean_by(
                    &rs,
                    |r| r.spec.qubits as f64,
                    |r| r.peak_rss_bytes.map(|b| b as f64 / 1048576.0),
                ),
            ));
        }
        save(
            &LineChart {
                title: format!("{family} input: MPS run time vs qubits"),
                x_label: "qubits n".into(),
                y_label: "wall time of the MPS run (s)".into(),
                x_scale: Scale::Log2,
                y_scale: Scale::Log,
                series: times,
                legend: Corner::UpperLeft,
            },
            &format!("time_vs_n_{family}"),
        )?;
        save(
            &LineChart {
                title: format!("{family} input: peak memory vs qubits"),
                x_label: "qubits n".into(),
                y_label: "peak RSS of the point's process (MiB)".into(),
                x_scale: Scale::Log2,
                y_scale: Scale::Log,
                series: memory,
                legend: Corner::UpperLeft,
            },
            &format!("memory_vs_n_{family}"),
        )?;
    }
    // Estimated vs true, as infidelities on log-log axes, with y = x.
    let mut series = Vec::new();
    for family in families(records) {
        let pts: Vec<(f64, f64)> = ok(records)
            .filter(|r| r.spec.family == family)
            .filter_map(|r| {
                Some((
                    infidelity(r.true_fidelity?),
                    infidelity(r.fidelity_estimate?),
                ))
            })
            .collect();
        if !pts.is_empty() {
            series.push(Series::points(format!("{family}"), pts));
        }
    }
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|p| [p.0, p.1]))
        .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if lo <= hi {
        series.push(Series::reference(
            "estimate = true",
            vec![(lo, lo), (hi, hi)],
        ));
    }
    save(
        &LineChart {
            title: "Estimated vs true infidelity (every point with an exact reference)".into(),
            x_label: format!(
                "true 1 − F = 1 − |⟨exact|MPS⟩|²  (floored at {INFIDELITY_FLOOR:.0e})"
            ),
            y_label: "estimated 1 − Π(1 − ε)".into(),
            x_scale: Scale::Log,
            y_scale: Scale::Log,
            series,
            legend: Corner::UpperLeft,
        },
        "estimate_vs_true",
    )?;
    Ok(written)
}
