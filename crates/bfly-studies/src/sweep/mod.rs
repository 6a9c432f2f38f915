//! Accuracy-vs-bond-dimension and scaling studies of the MPS engine on Butterfly circuits.
//!
//! A sweep is a list of [`PointSpec`]s (input family × qubits × layers × χ × seed). Each
//! point runs the MPS engine once and yields a [`PointRecord`]: the engine's fidelity
//! estimate and discarded weight, the largest bond used, wall time, peak memory, and the
//! **true** fidelity against an exact reference where one exists ([`mod@reference`]); where
//! none exists (angle input on more than 26 qubits) the true fidelity is absent, never
//! invented.
//!
//! - [`run_point`] runs one point in this process; the drivers ([`accuracy`], [`scaling`])
//!   run every point in a child process (`bfly sweep point`), so peak memory is per point
//!   and a time budget is a real kill ([`worker`]).
//! - [`store::ResultStore`] is the resumable results file: one JSON line per finished
//!   point, fsynced; points already recorded are skipped on a re-run, and a line cut by a
//!   kill is dropped.
//!
//! ```
//! use bfly_core::circuit::loaders::Loader;
//! use bfly_studies::sweep::{run_point, PointSpec};
//! let spec = PointSpec::full(Loader::HammingWeight(2), 16, 8, 1);
//! let dir = std::env::temp_dir().join(format!("bfly-doc-sweep-{}", std::process::id()));
//! let record = run_point(&spec, &dir).unwrap();
//! // Weight-2 states on 16 qubits have bonds of at most 9, so χ = 8 truncates a little.
//! let truth = record.true_fidelity.unwrap();
//! assert!(truth > 0.5 && truth <= 1.0 + 1e-12);
//! assert!((record.fidelity_estimate.unwrap() - truth).abs() < 0.05);
//! # std::fs::remove_dir_all(&dir).ok();
//! ```

pub mod accuracy;
pub mod reference;
pub mod scaling;
pub mod store;
pub mod worker;

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

use bfly_core::circuit::loaders::Loader;
use bfly_core::circuit::{Butterfly, ButterflyWorkload, Circuit, LayerOrdering};
use bfly_core::error::{Error, Result};
use bfly_sim::mps::{run_mps, MpsConfig, Truncation};

/// One point of a sweep: a full or partial coupling-first Butterfly fed by `family`, run
/// on the MPS engine with bond cap `chi` and relative cutoff `cutoff`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointSpec {
    /// Input family (loader): unary, hwK, angle.
    pub family: Loader,
    /// Number of qubits (power of two).
    pub qubits: usize,
    /// Butterfly layers (depth), `1..=log2 qubits`.
    pub layers: usize,
    /// Bond dimension cap χ (≥ 1).
    pub chi: usize,
    /// Seed of the data and angles.
    pub seed: u64,
    /// Relative cutoff per SVD (0 = keep everything up to χ).
    pub cutoff: f64,
}

impl PointSpec {
    /// A full-depth Butterfly point with cutoff 0.
    pub fn full(family: Loader, qubits: usize, chi: usize, seed: u64) -> Self {
        PointSpec {
            family,
            qubits,
            layers: Butterfly::max_layers(qubits.max(2)),
            chi,
            seed,
            cutoff: 0.0,
        }
    }

    /// A stable identifier: equal specs have equal keys (used to skip finished points).
    pub fn key(&self) -> String {
        format!(
            "{}/n{}/L{}/chi{}/s{}/c{:e}",
            self.family, self.qubits, self.layers, self.chi, self.seed, self.cutoff
        )
    }

    /// Check the point before any work: power-of-two qubits, layers in range, χ ≥ 1, a
    /// usable cutoff, and a loader that fits `qubits`.
    pub fn validate(&self) -> Result<()> {
        Butterfly::new(self.qubits, self.layers, LayerOrdering::CouplingFirst)?;
        Truncation::new(self.chi, self.cutoff)?;
        self.family.circuit(self.qubits)?;
        Ok(())
    }

    /// The point's circuit (seeded data and angles, as `bfly butterfly` builds it).
    pub fn circuit(&self) -> Result<Circuit> {
        ButterflyWorkload {
            layers: self.layers,
            ..ButterflyWorkload::full(self.qubits, self.family, self.seed)
        }
        .build()
    }

    /// The MPS settings: χ, cutoff, default layout and routing.
    pub fn config(&self) -> Result<MpsConfig> {
        MpsConfig::new(self.chi, self.cutoff)
    }

    /// Largest bond an exact state of this point can need: `2^min(l, n−l)` maximised over
    /// cuts for mixed-weight inputs, `Σ_c min(C(l,c), C(n−l,k−c))` for weight-`k` inputs.
    /// Saturates at `usize::MAX`.
    pub fn exact_bond_bound(&self) -> usize {
        exact_bond_bound(self.family, self.qubits)
    }

    /// A rough relative cost (gates × min(χ, exact bond)³), used to order points cheap
    /// first and to weight the progress bar's ETA.
    pub fn cost(&self) -> f64 {
        let bond = self.chi.min(self.exact_bond_bound()) as f64;
        (self.qubits * self.layers) as f64 * (bond.powi(3) + 8.0)
    }
}

/// See [`PointSpec::exact_bond_bound`].
pub fn exact_bond_bound(family: Loader, n: usize) -> usize {
    bfly_sim::reference::exact_bond_bound(n, family.hamming_weight())
}

/// How a point ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PointStatus {
    /// The run finished; every measured field is present.
    Ok,
    /// The run exceeded the time budget and was killed; only the spec and time are kept.
    Timeout,
}

/// The measured outcome of one point (one line of the results file, one CSV row).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    /// [`PointSpec::key`].
    pub key: String,
    /// What ran.
    pub spec: PointSpec,
    /// How it ended.
    pub status: PointStatus,
    /// `|<ψ_exact|ψ_mps>|²`, or `None` where no exact reference exists (or on timeout).
    pub true_fidelity: Option<f64>,
    /// Which exact reference gave `true_fidelity`.
    pub reference: Option<String>,
    /// The engine's estimate `Π (1 − ε)`.
    pub fidelity_estimate: Option<f64>,
    /// `Σ ε` over all truncations.
    pub total_discarded_weight: Option<f64>,
    /// Largest bond dimension that occurred.
    pub max_bond: Option<usize>,
    /// Wall time of the MPS run (circuit build and reference excluded), seconds; the budget
    /// on timeout.
    pub wall_seconds: f64,
    /// Peak resident memory of the process that ran the point (`VmHWM`), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Bytes of the final MPS's site tensors (from its bond dimensions).
    pub mps_bytes: Option<u64>,
}

impl PointRecord {
    /// The record of a point killed at `budget_seconds`.
    pub fn timeout(spec: &PointSpec, budget_seconds: f64) -> Self {
        PointRecord {
            key: spec.key(),
            spec: *spec,
            status: PointStatus::Timeout,
            true_fidelity: None,
            reference: None,
            fidelity_estimate: None,
            total_discarded_weight: None,
            max_bond: None,
            wall_seconds: budget_seconds,
            peak_rss_bytes: None,
            mps_bytes: None,
        }
    }
}

/// The process's peak resident set size (`VmHWM` in `/proc/self/status`), in bytes;
/// `None` where `/proc` is unavailable.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Reset the process's peak-RSS counter (Linux `clear_refs` value 5), so [`peak_rss_bytes`]
/// measures from here on; silently does nothing where unsupported.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Run one point in this process: build the circuit, time the MPS run, read the peak
/// memory, then measure the true fidelity against the exact reference (cached under
/// `reference_dir`, see [`reference::load_or_compute`]).
pub fn run_point(spec: &PointSpec, reference_dir: &Path) -> Result<PointRecord> {
    let ran = run_mps_point(spec)?;
    finish_point(spec, ran, reference_dir)
}

/// The MPS run of a point and its measurements, before the reference is consulted.
pub struct MpsRun {
    /// The truncated state.
    pub state: bfly_sim::mps::Mps,
    /// The circuit that ran.
    pub circuit: Circuit,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Peak RSS right after the run.
    pub peak_rss_bytes: Option<u64>,
}

/// First half of [`run_point`]: the timed MPS run.
pub fn run_mps_point(spec: &PointSpec) -> Result<MpsRun> {
    spec.validate()?;
    let circuit = spec.circuit()?;
    let config = spec.config()?;
    reset_peak_rss();
    let t = Instant::now();
    let state = run_mps(&circuit, &circuit.parameters, &config)?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(MpsRun {
        state,
        circuit,
        seconds,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Second half of [`run_point`]: the true fidelity and the record.
pub fn finish_point(spec: &PointSpec, ran: MpsRun, reference_dir: &Path) -> Result<PointRecord> {
    let report = ran.state.report();
    let exact = reference::load_or_compute(spec, &ran.circuit, reference_dir)?;
    let (true_fidelity, reference) = match exact {
        Some(r) => (
            Some(r.fidelity(&ran.state)?),
            Some(r.description().to_string()),
        ),
        None => (None, None),
    };
    Ok(PointRecord {
        key: spec.key(),
        spec: *spec,
        status: PointStatus::Ok,
        true_fidelity,
        reference,
        fidelity_estimate: Some(report.fidelity_estimate),
        total_discarded_weight: Some(report.total_discarded_weight),
        max_bond: Some(report.max_bond_reached),
        wall_seconds: ran.seconds,
        peak_rss_bytes: ran.peak_rss_bytes,
        mps_bytes: Some(ran.state.tensor_bytes() as u64),
    })
}

/// Parse a comma-separated family list (`unary,hw2,hw3,angle`), with typed errors.
pub fn parse_families(names: &[String]) -> Result<Vec<Loader>> {
    if names.is_empty() {
        return Err(Error::SweepSpec(
            "no input family given; give e.g. hw2, hw3, angle".into(),
        ));
    }
    names.iter().map(|s| s.trim().parse()).collect()
}

/// Every combination of the axes, validated, in a deterministic order (cheap points first).
/// `layers = None` means full depth (`log2 n`) for each `n`.
pub fn grid(
    families: &[Loader],
    qubits: &[usize],
    layers: Option<&[usize]>,
    chis: &[usize],
    seeds: &[u64],
    cutoff: f64,
) -> Result<Vec<PointSpec>> {
    for (name, empty) in [
        ("families", families.is_empty()),
        ("qubits", qubits.is_empty()),
        ("chi", chis.is_empty()),
        ("seeds", seeds.is_empty()),
        ("layers", layers.is_some_and(|l| l.is_empty())),
    ] {
        if empty {
            return Err(Error::SweepSpec(format!(
                "the {name} list is empty; give at least one value"
            )));
        }
    }
    let mut points = Vec::new();
    for &family in families {
        for &n in qubits {
            let depths: Vec<usize> = match layers {
                Some(l) => l.to_vec(),
                None => vec![Butterfly::max_layers(n.max(2))],
            };
            for &layers in &depths {
                for &chi in chis {
                    for &seed in seeds {
                        let p = PointSpec {
                            family,
                            qubits: n,
                            layers,
                            chi,
                            seed,
                            cutoff,
                        };
                        p.validate()?;
                        if !points.contains(&p) {
                            points.push(p);
                        }
                    }
                }
            }
        }
    }
    points.sort_by(|a, b| a.cost().total_cmp(&b.cost()));
    Ok(points)
}
