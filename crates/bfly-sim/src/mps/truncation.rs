//! The truncation policy (one value: bond cap χ and relative cutoff) and the report of what
//! truncation discarded.

use serde::{Deserialize, Serialize};

use bfly_core::error::{Error, Result};

/// How two-site SVDs are truncated: keep at most `max_bond` singular values (χ) and drop the
/// longest tail whose weight is at most `cutoff` of the total (ITensor semantics:
/// `Σ_discarded s² / Σ s² ≤ cutoff`). Applied at every two-qubit gate and SWAP.
///
/// Singular values below `1e-14 · s_max` are always dropped as rounding noise
/// ([`crate::linalg::NOISE_FLOOR`]), so [`Truncation::exact`] still keeps bonds minimal.
///
/// ```
/// use bfly_sim::mps::Truncation;
/// let t = Truncation::new(64, 1e-10).unwrap();
/// assert_eq!(t.max_bond, 64);
/// assert!(Truncation::new(0, 0.0).is_err()); // χ = 0 cannot hold a state
/// assert!(Truncation::new(8, f64::NAN).is_err());
/// assert_eq!(Truncation::exact().max_bond, usize::MAX);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truncation {
    /// Largest bond dimension χ kept (≥ 1).
    pub max_bond: usize,
    /// Largest relative discarded weight per SVD (`0 ≤ cutoff < 1`; 0 = keep all).
    pub cutoff: f64,
}

impl Default for Truncation {
    /// χ = 64, cutoff 1e-12.
    fn default() -> Self {
        Truncation {
            max_bond: 64,
            cutoff: 1e-12,
        }
    }
}

impl Truncation {
    /// A validated policy.
    pub fn new(max_bond: usize, cutoff: f64) -> Result<Self> {
        let t = Truncation { max_bond, cutoff };
        t.validate()?;
        Ok(t)
    }

    /// No truncation beyond numerical zeros (bond dimensions may grow exponentially).
    pub fn exact() -> Self {
        Truncation {
            max_bond: usize::MAX,
            cutoff: 0.0,
        }
    }

    /// Bond cap χ with cutoff 0.
    pub fn max_bond(max_bond: usize) -> Result<Self> {
        Self::new(max_bond, 0.0)
    }

    /// Check the values; errors explain what to pass instead.
    pub fn validate(&self) -> Result<()> {
        if self.max_bond == 0 {
            return Err(Error::InvalidTruncation(
                "max bond dimension χ = 0 cannot represent any state; use χ ≥ 1 (e.g. 64, or larger for more accuracy)".into(),
            ));
        }
        if !self.cutoff.is_finite() || self.cutoff < 0.0 || self.cutoff >= 1.0 {
            return Err(Error::InvalidTruncation(format!(
                "cutoff {} is not a relative discarded weight in [0, 1); use 0 to keep every singular value, or a small value such as 1e-10",
                self.cutoff
            )));
        }
        Ok(())
    }
}

/// What truncation has discarded so far, returned as data (serialisable for reports).
///
/// Bonds are indexed in **site** order: bond `b` joins sites `b` and `b + 1` (there are
/// `n − 1` bonds); see [`super::Mps::qubit_at_site`] for which qubits those are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruncationReport {
    /// The policy in force.
    pub truncation: Truncation,
    /// Number of SVDs at which the χ or cutoff rule discarded singular values.
    pub truncations: usize,
    /// Number of two-site SVD updates performed (gates and routing SWAPs).
    pub two_site_updates: usize,
    /// Number of routing SWAPs performed (not counting SWAPs fused into gates).
    pub swaps: usize,
    /// Cumulative relative discarded weight per bond (`Σ ε` over that bond's SVDs).
    pub discarded_weight_per_bond: Vec<f64>,
    /// `Σ ε` over all SVDs.
    pub total_discarded_weight: f64,
    /// `Π (1 − ε)` over all SVDs: an estimate of `|<ψ_exact|ψ_mps>|²`.
    pub fidelity_estimate: f64,
    /// Largest bond dimension that has occurred.
    pub max_bond_reached: usize,
    /// Two-site SVDs for which faer's bidiagonal QR iteration did not converge and the
    /// divide-and-conquer driver (less accurate on rank-deficient blocks) was used
    /// instead; 0 in every run measured so far.
    #[serde(default)]
    pub svd_fallbacks: usize,
    /// Current bond dimensions (`n − 1` entries).
    pub bond_dimensions: Vec<usize>,
}

/// Running totals kept inside the state (the report adds the current bond dimensions).
/// Serialised as the `statistics` of a state file's header (field names as documented
/// there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TruncationStats {
    /// SVDs at which χ or the cutoff discarded singular values.
    pub truncations: usize,
    /// Two-site SVD updates performed.
    pub two_site_updates: usize,
    /// Routing SWAPs performed.
    pub swaps: usize,
    /// `Σ ε` per bond (`n − 1` entries).
    #[serde(rename = "discarded_weight_per_bond")]
    pub discarded_per_bond: Vec<f64>,
    /// `Σ ε` over all SVDs.
    #[serde(rename = "total_discarded_weight")]
    pub total_discarded: f64,
    /// `Σ ln(1 − ε)`, so long runs do not underflow term by term.
    pub log_fidelity: f64,
    /// Largest bond dimension that has occurred.
    pub max_bond_reached: usize,
    /// SVDs that needed the divide-and-conquer fallback.
    pub svd_fallbacks: usize,
}

impl TruncationStats {
    /// The report of a state truncated with `truncation` whose bonds are now
    /// `bond_dimensions`.
    pub fn report(&self, truncation: Truncation, bond_dimensions: Vec<usize>) -> TruncationReport {
        TruncationReport {
            truncation,
            truncations: self.truncations,
            two_site_updates: self.two_site_updates,
            swaps: self.swaps,
            discarded_weight_per_bond: self.discarded_per_bond.clone(),
            total_discarded_weight: self.total_discarded,
            fidelity_estimate: self.log_fidelity.exp(),
            max_bond_reached: self.max_bond_reached,
            svd_fallbacks: self.svd_fallbacks,
            bond_dimensions,
        }
    }

    pub fn new(n: usize) -> Self {
        TruncationStats {
            truncations: 0,
            two_site_updates: 0,
            swaps: 0,
            discarded_per_bond: vec![0.0; n.saturating_sub(1)],
            total_discarded: 0.0,
            log_fidelity: 0.0,
            max_bond_reached: 1,
            svd_fallbacks: 0,
        }
    }

    /// Record one two-site update at `bond` with relative discarded weight `eps`, whose
    /// SVDs needed `svd_fallbacks` fallbacks.
    pub fn record(
        &mut self,
        bond: usize,
        eps: f64,
        truncated: bool,
        new_dim: usize,
        svd_fallbacks: usize,
    ) {
        self.two_site_updates += 1;
        self.svd_fallbacks += svd_fallbacks;
        if truncated {
            self.truncations += 1;
        }
        if eps > 0.0 {
            self.discarded_per_bond[bond] += eps;
            self.total_discarded += eps;
            self.log_fidelity += (-eps).ln_1p();
        }
        self.max_bond_reached = self.max_bond_reached.max(new_dim);
    }
}
