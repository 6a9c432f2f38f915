//! Gate parameters: fixed numbers, trainable slots, or data inputs.
//!
//! A circuit is built once with slots and re-run with new values: training shifts the
//! trainable slots, inference feeds new data into the input slots.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The value of one gate parameter.
///
/// JSON: a plain number (`0.3`), `{"trainable": 5}` or `{"input": 2}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(missing_docs)] // the variant docs name each field
pub enum Param {
    /// A constant.
    Fixed(f64),
    /// Slot `trainable` of [`Parameters::trainable`].
    Trainable { trainable: usize },
    /// Slot `input` of [`Parameters::inputs`].
    Input { input: usize },
}

impl Param {
    /// A trainable slot.
    pub fn trainable(slot: usize) -> Self {
        Param::Trainable { trainable: slot }
    }
    /// A data-input slot.
    pub fn input(slot: usize) -> Self {
        Param::Input { input: slot }
    }
}

impl From<f64> for Param {
    fn from(v: f64) -> Self {
        Param::Fixed(v)
    }
}

/// Values for a circuit's trainable and input slots.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// Values of the trainable slots (e.g. Butterfly angles).
    #[serde(default)]
    pub trainable: Vec<f64>,
    /// Values of the data-input slots (e.g. loader angles).
    #[serde(default)]
    pub inputs: Vec<f64>,
}

impl Parameters {
    /// Values for both kinds of slot.
    pub fn new(trainable: Vec<f64>, inputs: Vec<f64>) -> Self {
        Parameters { trainable, inputs }
    }

    /// Read slot values from a JSON file `{"trainable": [...], "inputs": [...]}` (either
    /// list may be left out; a leading UTF-8 byte-order mark is skipped). Errors name the
    /// file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        // A leading UTF-8 byte-order mark is skipped, as in circuit files.
        let json = text.strip_prefix('\u{feff}').unwrap_or(&text);
        serde_json::from_str(json).map_err(|source| Error::Json {
            context: path.display().to_string(),
            source,
        })
    }

    /// The number a parameter stands for; errors name the op and the slot.
    pub fn resolve(&self, param: &Param, op: usize, gate: &str) -> Result<f64> {
        let (kind, slot, values) = match *param {
            Param::Fixed(v) => return Ok(v),
            Param::Trainable { trainable } => ("trainable", trainable, &self.trainable),
            Param::Input { input } => ("input", input, &self.inputs),
        };
        let value = *values.get(slot).ok_or_else(|| Error::MissingParameter {
            op,
            gate: gate.to_string(),
            kind,
            slot,
            available: values.len(),
        })?;
        if !value.is_finite() {
            return Err(Error::NonFiniteAngle {
                op,
                gate: gate.to_string(),
                name: format!("{kind} slot {slot}"),
                value,
            });
        }
        Ok(value)
    }
}
