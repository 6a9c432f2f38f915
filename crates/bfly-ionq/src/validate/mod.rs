//! Validation of a compiled circuit against its source by exact simulation.
//!
//! Both circuits run from `|0…0>`; the report gives the state fidelity up to global phase,
//! `F = |<ψ_src|ψ_cmp>|²`, and the total variation distance of the measurement
//! distributions, `TVD = ½ Σ_x |p_src(x) − p_cmp(x)|`. Engines ([`Engine::Auto`] picks):
//!
//! | engine | when (automatic choice, in order) | how |
//! |---|---|---|
//! | subspace | the source has a fixed Hamming weight gate by gate and its subspace fits ([`Engine::Auto`]'s one rule: `C(n, k) ≤ 2^24`) | source gate by gate; the compiled circuit fused into weight-preserving two-qubit blocks ([`fuse_blocks`]) |
//! | state vector | otherwise, `n ≤ 24` (also when the compiled circuit does not fuse into weight-preserving blocks, e.g. a wrong compilation) | both circuits gate by gate |
//! | MPS | otherwise (the same fallback for `n > 24`) | χ = `chi`, cutoff 0 (an explicit [`Engine::Mps`]: its own χ and cutoff), `F` from the MPS overlap; TVD is not computed (only the bound `TVD ≤ √(1−F)`) and discarded weights are reported (0 = exact) |
//!
//! ```
//! use bfly_core::circuit::{loaders::Loader, Butterfly, LayerOrdering};
//! use bfly_ionq::compile::{compile, CompileOptions, Target};
//! use bfly_ionq::validate::{compare, ValidateOptions};
//! let mut c = Loader::UnaryTree.circuit(8).unwrap();
//! Butterfly::full(8, LayerOrdering::CouplingFirst).unwrap().append_to(&mut c, 0).unwrap();
//! c.parameters.trainable = (0..12).map(|i| 0.3 * i as f64 - 1.0).collect();
//! c.parameters.inputs = Loader::UnaryTree.angles(8, &[0.5, -0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]).unwrap();
//! let out = compile(&c, &c.parameters, Target::Forte, &CompileOptions::default()).unwrap();
//! let cmp = compare(&c, &c.parameters, &out.circuit, &out.circuit.parameters,
//!                   &ValidateOptions::default()).unwrap();
//! assert!(cmp.fidelity > 1.0 - 1e-12);
//! assert!(cmp.tvd.unwrap() < 1e-12);
//! ```

mod fuse;

/// The engine selector: validation takes [`bfly_sim::Engine`] ([`SUPPORTED_ENGINES`]).
pub use bfly_sim::Engine;
pub use fuse::fuse_blocks;

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};

use crate::compile::{compile, CompileOptions, CompileReport, Target};
use bfly_core::circuit::{Circuit, Parameters};
use bfly_core::error::{Error, Result};
use bfly_sim::mps::{run_mps, MpsConfig, Truncation};
use bfly_sim::{Simulator, StateVector, SubspaceState};

/// Default threshold: state fidelity at least `1 − 1e-10`.
pub const DEFAULT_MIN_FIDELITY: f64 = 1.0 - 1e-10;

/// Largest `n` the automatic choice sends to the state vector: the engines' one exact
/// threshold, [`bfly_sim::MAX_EXACT_QUBITS`].
pub const STATEVECTOR_MAX_QUBITS: usize = bfly_sim::MAX_EXACT_QUBITS;

/// The engines validation runs on: [`Engine::Auto`], [`Engine::StateVector`],
/// [`Engine::Subspace`] and [`Engine::Mps`] (the others give
/// [`Error::UnsupportedEngine`]).
pub const SUPPORTED_ENGINES: [&str; 4] = ["auto", "statevector", "subspace", "mps"];

/// Validation settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidateOptions {
    /// Engine (default: automatic): one of [`SUPPORTED_ENGINES`]. An explicit
    /// [`Engine::Mps`] runs with its own χ and cutoff.
    pub engine: Engine,
    /// Bond cap χ (≥ 1) of the MPS the automatic choice falls back to (cutoff 0).
    pub chi: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            engine: Engine::Auto,
            chi: 256,
        }
    }
}

/// The outcome of one comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Engine that ran (state vector, subspace or MPS); serialised by its kind
    /// (`state-vector`, `subspace`, `mps`).
    #[serde(with = "engine_kind")]
    pub engine: Engine,
    /// `|<ψ_src|ψ_cmp>|²` (normalised).
    pub fidelity: f64,
    /// Total variation distance of the output distributions (`None` for MPS).
    pub tvd: Option<f64>,
    /// `√(1 − F)`, an upper bound on the TVD for pure states.
    pub tvd_bound: f64,
    /// MPS only: total discarded weight of the (source, compiled) runs; 0 means exact.
    pub mps_discarded_weight: Option<(f64, f64)>,
    /// True if both states were simulated without truncating (nothing above the SVD noise
    /// floor discarded), so the fidelity
    /// certifies the compilation; false for an MPS comparison that truncated (its
    /// fidelity compares two approximations and certifies nothing).
    #[serde(default = "exact_by_default")]
    pub exact: bool,
}

fn exact_by_default() -> bool {
    true
}

/// A comparison's engine as its kind name alone (`state-vector`, `subspace`, `mps`): the
/// reports' format (the MPS parameters are in the options, not the report).
mod engine_kind {
    use bfly_sim::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(engine: &Engine, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match engine {
            Engine::StateVector => "state-vector",
            other => other.name(),
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Engine, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl Comparison {
    /// `Ok` if the comparison is exact and its fidelity at least `min_fidelity`; otherwise
    /// the typed reason it does not validate the compilation.
    pub fn verdict(&self, min_fidelity: f64) -> Result<()> {
        if let (false, Some((source, compiled))) = (self.exact, self.mps_discarded_weight) {
            return Err(Error::ValidationInexact {
                source_discarded_weight: source,
                compiled_discarded_weight: compiled,
            });
        }
        if self.fidelity.is_nan() || self.fidelity < min_fidelity {
            return Err(Error::ValidationFailed {
                fidelity: self.fidelity,
                min_fidelity,
                failed: 1,
                total: 1,
            });
        }
        Ok(())
    }
}

/// Compare `compiled` (with `compiled_values`) to `source` (with `source_values`).
pub fn compare(
    source: &Circuit,
    source_values: &Parameters,
    compiled: &Circuit,
    compiled_values: &Parameters,
    options: &ValidateOptions,
) -> Result<Comparison> {
    if source.qubits != compiled.qubits {
        return Err(Error::InvalidInput(format!(
            "the source has {} qubits but the compiled circuit has {}",
            source.qubits, compiled.qubits
        )));
    }
    if options.chi == 0 {
        Truncation::new(0, 0.0)?;
    }
    let n = source.qubits;
    let small = n <= STATEVECTOR_MAX_QUBITS;
    let auto_mps = Engine::Mps {
        chi: options.chi,
        cutoff: 0.0,
    };
    let engine = match options.engine {
        // The engines' one automatic rule; a fixed-weight source too large for the
        // subspace goes to the (dense) MPS, which can take the overlap.
        Engine::Auto => match Engine::Auto.resolve(source, source_values)? {
            Engine::Subspace => {
                let mut s = SubspaceState::new(n);
                s.run(source, source_values)?;
                match compare_subspace(s, compiled, compiled_values) {
                    // Not fusable (e.g. a wrong compilation): the general engines still
                    // give a number.
                    Err(Error::UnfusableBlock { .. }) if small => Engine::StateVector,
                    Err(Error::UnfusableBlock { .. }) => auto_mps,
                    other => return other,
                }
            }
            Engine::StateVector => Engine::StateVector,
            _ => auto_mps,
        },
        e @ (Engine::StateVector | Engine::Subspace | Engine::Mps { .. }) => e,
        other => return Err(other.unsupported("validation", &SUPPORTED_ENGINES)),
    };
    match engine {
        Engine::StateVector => {
            let mut a = StateVector::new(n)?;
            a.run(source, source_values)?;
            let mut b = StateVector::new(n)?;
            b.run(compiled, compiled_values)?;
            Ok(dense_comparison(
                Engine::StateVector,
                a.amplitudes(),
                b.amplitudes(),
            ))
        }
        Engine::Subspace => {
            let mut s = SubspaceState::new(n);
            s.run(source, source_values)?;
            compare_subspace(s, compiled, compiled_values)
        }
        Engine::Mps { chi, cutoff } => {
            let config = MpsConfig::new(chi, cutoff)?;
            let a = run_mps(source, source_values, &config)?;
            let b = run_mps(compiled, compiled_values, &config)?;
            let overlap = a.overlap(&b)?;
            let fidelity = overlap.norm_sqr() / (a.norm_squared() * b.norm_squared());
            let (ra, rb) = (a.report(), b.report());
            let discarded = (ra.total_discarded_weight, rb.total_discarded_weight);
            Ok(Comparison {
                exact: ra.truncations == 0 && rb.truncations == 0,
                engine,
                fidelity,
                tvd: None,
                tvd_bound: (1.0 - fidelity).max(0.0).sqrt(),
                mps_discarded_weight: Some(discarded),
            })
        }
        other => Err(other.unsupported("validation", &SUPPORTED_ENGINES)),
    }
}

fn compare_subspace(
    source: SubspaceState,
    compiled: &Circuit,
    values: &Parameters,
) -> Result<Comparison> {
    let mut b = SubspaceState::new(compiled.qubits);
    for g in fuse_blocks(compiled, values)? {
        b.apply(&g)?;
    }
    if source.weight() != b.weight() {
        return Ok(Comparison {
            engine: Engine::Subspace,
            fidelity: 0.0,
            tvd: Some(1.0),
            tvd_bound: 1.0,
            mps_discarded_weight: None,
            exact: true,
        });
    }
    Ok(dense_comparison(
        Engine::Subspace,
        source.amplitudes(),
        b.amplitudes(),
    ))
}

fn dense_comparison(engine: Engine, a: &[C64], b: &[C64]) -> Comparison {
    let (mut dot, mut na, mut nb, mut tvd) = (C64::new(0.0, 0.0), 0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        dot += x.conj() * y;
        na += x.norm_sqr();
        nb += y.norm_sqr();
        tvd += (x.norm_sqr() - y.norm_sqr()).abs();
    }
    let fidelity = dot.norm_sqr() / (na * nb);
    Comparison {
        engine,
        fidelity,
        tvd: Some(0.5 * tvd),
        tvd_bound: (1.0 - fidelity).max(0.0).sqrt(),
        mps_discarded_weight: None,
        exact: true,
    }
}

/// Compile `source` for `target` and compare the result with it.
pub fn validate_compilation(
    source: &Circuit,
    values: &Parameters,
    target: Target,
    options: &ValidateOptions,
) -> Result<(CompileReport, Comparison)> {
    let compiled = compile(source, values, target, &CompileOptions::default())?;
    let cmp = compare(
        source,
        values,
        &compiled.circuit,
        &compiled.circuit.parameters,
        options,
    )?;
    Ok((compiled.report, cmp))
}
