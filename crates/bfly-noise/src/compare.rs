//! Ideal vs noisy (vs noisy + post-selection): the metrics `bfly noisy` prints.
//!
//! - total variation distance (TVD) between the noisy and the ideal distribution over all
//!   `2^n` outcomes (when both exist: state vector / density matrix, `n ≤ 24`);
//! - mean absolute marginal error `mean_i |P_noisy(q_i = 1) − P_ideal(q_i = 1)|`;
//! - after post-selection on weight `k`: the kept fraction, and the same two metrics
//!   against the ideal output conditioned on weight `k` (for a unary circuit the ideal
//!   output has weight 1 already, so the condition changes nothing).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use super::metrics::{mean_abs_error, total_variation_distance};
use super::postselect::{conditioned_distribution, postselect_distribution};
use super::simulate::{
    marginals_of_distribution, NoisyMethod, NoisyOutcome, AUTO_STATEVECTOR_MAX_QUBITS,
};
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::Result;
use bfly_sim::mps::u1::fixed_input_weight;
use bfly_sim::mps::{run_mps, MpsConfig};
use bfly_sim::{simulate, Engine, Simulator};

/// The noiseless output to compare against.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdealReference {
    /// Engine that computed it.
    pub engine: String,
    /// All `2^n` probabilities (state vector, `n ≤ 24`).
    pub distribution: Option<Vec<f64>>,
    /// The Hamming weight of every outcome, where the circuit fixes it gate by gate
    /// ([`fixed_input_weight`]); `None` otherwise.
    pub fixed_weight: Option<usize>,
    /// Total weight the MPS reference discarded (0 for the state vector: exact).
    pub discarded_weight: f64,
    /// `P(q_i = 1)`.
    pub marginals: Vec<f64>,
}

/// The ideal output: the state vector for `n ≤ 24`, otherwise an MPS with bond cap `chi`
/// (marginals only).
pub fn ideal_reference(
    circuit: &Circuit,
    values: &Parameters,
    chi: usize,
) -> Result<IdealReference> {
    let fixed_weight = fixed_input_weight(circuit, values)?;
    if circuit.qubits <= AUTO_STATEVECTOR_MAX_QUBITS {
        let sv = simulate(&Engine::StateVector, circuit, values)?;
        // Read straight from the amplitudes (no list of basis states).
        let p: Vec<f64> = sv
            .as_state_vector()
            .expect("the state-vector engine gives a state vector")
            .amplitudes()
            .iter()
            .map(|a| a.norm_sqr())
            .collect();
        Ok(IdealReference {
            engine: "statevector".into(),
            marginals: marginals_of_distribution(&p),
            distribution: Some(p),
            fixed_weight,
            discarded_weight: 0.0,
        })
    } else {
        let mps = run_mps(circuit, values, &MpsConfig::new(chi, 1e-12)?)?;
        let discarded_weight = mps.report().total_discarded_weight;
        let engine = if discarded_weight > 0.0 {
            format!("mps (χ = {chi}), NOT exact: discarded weight {discarded_weight:.3e}")
        } else {
            format!("mps (χ = {chi})")
        };
        Ok(IdealReference {
            engine,
            distribution: None,
            marginals: mps.marginals(),
            fixed_weight,
            discarded_weight,
        })
    }
}

/// Post-selection metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostSelectionMetrics {
    /// Weight kept.
    pub weight: usize,
    /// Fraction of probability (exact) or of shots (sampled) kept.
    pub kept_fraction: f64,
    /// Shots kept, when sampled.
    pub kept_shots: Option<usize>,
    /// TVD between the post-selected noisy and the weight-conditioned ideal distributions.
    pub tvd: Option<f64>,
    /// Mean absolute error of the post-selected marginals.
    pub mean_abs_marginal_error: Option<f64>,
    /// The post-selected marginals.
    pub marginals: Vec<f64>,
}

/// Ideal vs noisy, as printed by `bfly noisy`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NoiseComparison {
    /// Noise model, e.g. `forte-1 (p1 = …)`.
    pub model: String,
    /// Engine of the noisy run.
    pub engine: NoisyMethod,
    /// Engine of the ideal reference.
    pub ideal_engine: String,
    /// Number of qubits.
    pub qubits: usize,
    /// Trajectories averaged (0: density matrix).
    pub trajectories: usize,
    /// Shots, when sampled.
    pub shots: Option<usize>,
    /// TVD between the noisy distribution (exact or trajectory average, readout included)
    /// and the ideal one.
    pub tvd: Option<f64>,
    /// Mean absolute marginal error (shot estimate when sampled).
    pub mean_abs_marginal_error: f64,
    /// Smallest MPS fidelity estimate over trajectories (MPS only).
    pub mps_min_fidelity_estimate: Option<f64>,
    /// Post-selection, if requested.
    pub postselection: Option<PostSelectionMetrics>,
    /// Noisy marginals.
    pub noisy_marginals: Vec<f64>,
    /// Ideal marginals.
    pub ideal_marginals: Vec<f64>,
    /// Wall-clock seconds by phase.
    pub timings: BTreeMap<String, f64>,
}

impl NoiseComparison {
    /// Compare `noisy` (run under `model_label`) with `ideal`.
    pub fn new(model_label: String, ideal: &IdealReference, noisy: &NoisyOutcome) -> Result<Self> {
        let tvd = match (&ideal.distribution, &noisy.distribution) {
            (Some(a), Some(b)) => Some(total_variation_distance(a, b)?),
            _ => None,
        };
        let postselection = match &noisy.postselection {
            None => None,
            Some(ps) => {
                let k = ps.weight;
                let (tvd, ideal_marginals) = match &ideal.distribution {
                    Some(p) => {
                        let cond = postselect_distribution(p, k);
                        let tvd = match &noisy.distribution {
                            Some(q) if cond.kept_fraction > 0.0 && ps.kept_fraction > 0.0 => {
                                Some(total_variation_distance(
                                    &conditioned_distribution(p, k),
                                    &conditioned_distribution(q, k),
                                )?)
                            }
                            _ => None,
                        };
                        (tvd, (cond.kept_fraction > 0.0).then_some(cond.marginals))
                    }
                    // Without the distribution, the ideal marginals are the conditioned
                    // ones only if every ideal outcome has weight k, which the circuit
                    // (not its marginals) decides.
                    None => (
                        None,
                        (ideal.fixed_weight == Some(k)).then(|| ideal.marginals.clone()),
                    ),
                };
                let err = match (&ideal_marginals, ps.kept_fraction > 0.0) {
                    (Some(m), true) => Some(mean_abs_error(&ps.marginals, m)?),
                    _ => None,
                };
                Some(PostSelectionMetrics {
                    weight: k,
                    kept_fraction: ps.kept_fraction,
                    kept_shots: ps.kept_shots,
                    tvd,
                    mean_abs_marginal_error: err,
                    marginals: ps.marginals.clone(),
                })
            }
        };
        Ok(NoiseComparison {
            model: model_label,
            engine: noisy.engine,
            ideal_engine: ideal.engine.clone(),
            qubits: noisy.n_qubits,
            trajectories: noisy.trajectories,
            shots: noisy.histogram.as_ref().map(|h| h.shots),
            tvd,
            mean_abs_marginal_error: mean_abs_error(&noisy.marginals, &ideal.marginals)?,
            mps_min_fidelity_estimate: noisy.mps_min_fidelity_estimate,
            postselection,
            noisy_marginals: noisy.marginals.clone(),
            ideal_marginals: ideal.marginals.clone(),
            timings: BTreeMap::new(),
        })
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{v:.6}"))
}

impl fmt::Display for NoiseComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "noise model: {}", self.model)?;
        write!(f, "engine: {}", self.engine)?;
        if self.trajectories > 0 {
            write!(f, ", {} trajectories", self.trajectories)?;
        }
        match self.shots {
            Some(s) => writeln!(f, ", {s} shots")?,
            None => writeln!(f, ", exact probabilities")?,
        }
        if let Some(fid) = self.mps_min_fidelity_estimate {
            writeln!(
                f,
                "smallest MPS fidelity estimate over trajectories: {fid:.6}"
            )?;
        }
        writeln!(f, "ideal reference: {}", self.ideal_engine)?;
        writeln!(f, "{} qubits", self.qubits)?;
        writeln!(
            f,
            "                          TVD to ideal   mean |ΔP(q_i=1)|   kept"
        )?;
        writeln!(
            f,
            "noisy                     {:<14} {:<18.6} 1",
            opt(self.tvd),
            self.mean_abs_marginal_error
        )?;
        if let Some(ps) = &self.postselection {
            writeln!(
                f,
                "noisy + post-select w={:<3} {:<14} {:<18} {:.6}{}",
                ps.weight,
                opt(ps.tvd),
                opt(ps.mean_abs_marginal_error),
                ps.kept_fraction,
                ps.kept_shots
                    .map(|k| format!(" ({k} shots)"))
                    .unwrap_or_default()
            )?;
        }
        let show = self.qubits.min(16);
        let row = |v: &[f64]| {
            v[..show]
                .iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let more = if self.qubits > show { " …" } else { "" };
        writeln!(
            f,
            "ideal marginals:        {}{more}",
            row(&self.ideal_marginals)
        )?;
        writeln!(
            f,
            "noisy marginals:        {}{more}",
            row(&self.noisy_marginals)
        )?;
        if let Some(ps) = &self.postselection {
            writeln!(f, "post-selected marginals: {}{more}", row(&ps.marginals))?;
        }
        let t: Vec<String> = self
            .timings
            .iter()
            .map(|(k, v)| format!("{k} {v:.3} s"))
            .collect();
        write!(f, "timings: {}", t.join(", "))
    }
}
