//! Noise models: depolarizing error rates per gate arity and readout error, with the
//! IonQ cloud-simulator presets of SCIENCE.md §8.
//!
//! | preset | `p1` (1-qubit) | `p2` (2-qubit) | readout `p(1|0)` = `p(0|1)` | readout source |
//! |---|---|---|---|---|
//! | `ideal` | 0 | 0 | 0 | — |
//! | `aria-1` | 0.0005 | 0.0133 | 0.0039 | Aria SPAM fidelity 0.9961 (SCIENCE.md §8) |
//! | `aria-2` | 0.000657 | 0.01856 | 0.0039 | Aria SPAM fidelity 0.9961 (SCIENCE.md §8) |
//! | `forte-1` | 0.000267 | 0.00495 | 0.0039 | **assumption**: SCIENCE.md gives no Forte SPAM figure; Aria's is reused |
//!
//! **Readout mapping.** A SPAM fidelity `F` is read as "a qubit is reported correctly with
//! probability `F`", all of the SPAM error attributed to measurement and symmetric between
//! 0 and 1: `p(1|0) = p(0|1) = 1 − F = 0.0039` for `F = 0.9961`.
//!
//! **Gate-error convention** (see [`crate::channel`]): `p` is the probability that a
//! non-identity Pauli hits the gate's qubits (the Pauli form), i.e. the process infidelity
//! of the error channel.
//!
//! ```
//! use bfly_noise::{NoiseModel, ReadoutError};
//! let forte: NoiseModel = "forte-1".parse().unwrap();
//! assert_eq!((forte.p1, forte.p2), (0.000267, 0.00495));
//! let custom = NoiseModel::custom(1e-3, 1e-2, ReadoutError::symmetric(0.02).unwrap()).unwrap();
//! assert_eq!(custom.name, "custom");
//! assert!("forte-2".parse::<NoiseModel>().is_err()); // typed error listing the known names
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use bfly_core::error::{Error, Result};

/// Names accepted by [`NoiseModel::preset`].
pub const PRESET_NAMES: &[&str] = &["ideal", "aria-1", "aria-2", "forte-1"];

/// Aria's state-preparation-and-measurement fidelity (SCIENCE.md §8).
pub const ARIA_SPAM_FIDELITY: f64 = 0.9961;

/// Symmetric readout error of the Aria presets: `1 − ARIA_SPAM_FIDELITY` (written out so
/// it prints as 0.0039 rather than its rounded difference).
pub const ARIA_READOUT_ERROR: f64 = 0.0039;

/// Symmetric readout error used for `forte-1`. **Assumption**: SCIENCE.md gives no Forte
/// SPAM figure, so Aria's `1 − 0.9961` is reused.
pub const FORTE_ASSUMED_READOUT_ERROR: f64 = ARIA_READOUT_ERROR;

fn check_probability(model: &str, what: &str, value: f64) -> Result<f64> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::InvalidNoiseRate {
            model: model.to_string(),
            what: what.to_string(),
            value,
        })
    }
}

/// Classical measurement error, independent per qubit: a qubit in `|0>` reads 1 with
/// probability `p1_given_0`, a qubit in `|1>` reads 0 with probability `p0_given_1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutError {
    /// `P(read 1 | state 0)`.
    pub p1_given_0: f64,
    /// `P(read 0 | state 1)`.
    pub p0_given_1: f64,
}

impl ReadoutError {
    /// No readout error.
    pub fn none() -> Self {
        ReadoutError::default()
    }

    /// The same flip probability `p` for both outcomes.
    pub fn symmetric(p: f64) -> Result<Self> {
        Self::new(p, p)
    }

    /// `P(1|0) = p1_given_0`, `P(0|1) = p0_given_1`; each must be in `[0, 1]`.
    pub fn new(p1_given_0: f64, p0_given_1: f64) -> Result<Self> {
        let r = ReadoutError {
            p1_given_0,
            p0_given_1,
        };
        r.validate("readout")?;
        Ok(r)
    }

    /// Check both rates (typed error naming `model`).
    pub fn validate(&self, model: &str) -> Result<()> {
        check_probability(model, "readout p(1|0)", self.p1_given_0)?;
        check_probability(model, "readout p(0|1)", self.p0_given_1)?;
        Ok(())
    }

    /// True if no readout error is applied.
    pub fn is_none(&self) -> bool {
        self.p1_given_0 == 0.0 && self.p0_given_1 == 0.0
    }

    /// `P(read 1)` of a qubit whose true `P(1)` is `p`: `p (1 − p(0|1)) + (1 − p) p(1|0)`.
    pub fn apply_to_marginal(&self, p: f64) -> f64 {
        p * (1.0 - self.p0_given_1) + (1.0 - p) * self.p1_given_0
    }

    /// The confusion matrix `M[read][true]` (columns sum to 1).
    pub fn matrix(&self) -> [[f64; 2]; 2] {
        [
            [1.0 - self.p1_given_0, self.p0_given_1],
            [self.p1_given_0, 1.0 - self.p0_given_1],
        ]
    }
}

impl FromStr for ReadoutError {
    type Err = Error;
    /// `"0.01"` (symmetric) or `"0.01,0.02"` (`p(1|0)`, `p(0|1)`).
    fn from_str(s: &str) -> Result<Self> {
        let parse = |t: &str| -> Result<f64> {
            t.trim().parse::<f64>().map_err(|_| {
                Error::InvalidInput(format!(
                    "readout error \"{s}\": \"{t}\" is not a number; give p or p(1|0),p(0|1), e.g. 0.004 or 0.003,0.005"
                ))
            })
        };
        match s.split_once(',') {
            None => Self::symmetric(parse(s)?),
            Some((a, b)) => Self::new(parse(a)?, parse(b)?),
        }
    }
}

/// A depolarizing-after-every-gate noise model with readout error.
///
/// Deserialisation validates the rates (each in `[0, 1]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawNoiseModel")]
pub struct NoiseModel {
    /// Preset name, or `"custom"`.
    pub name: String,
    /// Error probability of the 1-qubit depolarizing channel after each 1-qubit gate.
    pub p1: f64,
    /// Error probability of the 2-qubit depolarizing channel after each 2-qubit gate.
    pub p2: f64,
    /// Measurement error.
    pub readout: ReadoutError,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNoiseModel {
    name: String,
    p1: f64,
    p2: f64,
    #[serde(default)]
    readout: ReadoutError,
}

impl TryFrom<RawNoiseModel> for NoiseModel {
    type Error = Error;
    fn try_from(r: RawNoiseModel) -> Result<Self> {
        NoiseModel::named(r.name, r.p1, r.p2, r.readout)
    }
}

impl NoiseModel {
    /// A model with a name and rates, validated.
    pub fn named(name: impl Into<String>, p1: f64, p2: f64, readout: ReadoutError) -> Result<Self> {
        let m = NoiseModel {
            name: name.into(),
            p1,
            p2,
            readout,
        };
        m.validate()?;
        Ok(m)
    }

    /// User-defined rates, named `"custom"`.
    pub fn custom(p1: f64, p2: f64, readout: ReadoutError) -> Result<Self> {
        Self::named("custom", p1, p2, readout)
    }

    /// No noise at all.
    pub fn ideal() -> Self {
        NoiseModel {
            name: "ideal".into(),
            p1: 0.0,
            p2: 0.0,
            readout: ReadoutError::none(),
        }
    }

    /// A preset by name (see the module table); unknown names list the known ones.
    pub fn preset(name: &str) -> Result<Self> {
        let aria_readout = ReadoutError {
            p1_given_0: ARIA_READOUT_ERROR,
            p0_given_1: ARIA_READOUT_ERROR,
        };
        let (p1, p2, readout) = match name.trim().to_ascii_lowercase().as_str() {
            "ideal" => return Ok(Self::ideal()),
            "aria-1" => (0.0005, 0.0133, aria_readout),
            "aria-2" => (0.000657, 0.01856, aria_readout),
            "forte-1" => (
                0.000267,
                0.00495,
                ReadoutError {
                    p1_given_0: FORTE_ASSUMED_READOUT_ERROR,
                    p0_given_1: FORTE_ASSUMED_READOUT_ERROR,
                },
            ),
            _ => {
                return Err(Error::UnknownNoiseModel {
                    name: name.to_string(),
                    known: PRESET_NAMES.join(", "),
                })
            }
        };
        Ok(NoiseModel {
            name: name.trim().to_ascii_lowercase(),
            p1,
            p2,
            readout,
        })
    }

    /// Check every rate is a probability.
    pub fn validate(&self) -> Result<()> {
        check_probability(&self.name, "p1", self.p1)?;
        check_probability(&self.name, "p2", self.p2)?;
        self.readout.validate(&self.name)
    }

    /// True if no gate error is applied (readout error may still be).
    pub fn gates_are_ideal(&self) -> bool {
        self.p1 == 0.0 && self.p2 == 0.0
    }

    /// Error probability after a gate on `arity` qubits (1 or 2).
    pub fn gate_error(&self, arity: usize) -> f64 {
        if arity == 1 {
            self.p1
        } else {
            self.p2
        }
    }
}

impl FromStr for NoiseModel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::preset(s)
    }
}

impl fmt::Display for NoiseModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (p1 = {}, p2 = {}, readout p(1|0) = {}, p(0|1) = {})",
            self.name, self.p1, self.p2, self.readout.p1_given_0, self.readout.p0_given_1
        )
    }
}
