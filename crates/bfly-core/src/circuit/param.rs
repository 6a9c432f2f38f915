//! Gate parameters: fixed numbers, trainable slots, or data inputs.
//!
//! A circuit is built once with slots and re-run with new values: training shifts the
//! trainable slots, inference feeds new data into the input slots.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The value of one gate parameter.
///
/// JSON: a plain number (`0.3`), `{"trainable": 5}` or `{"input": 2}`. Anything else is
/// refused with a message that names the three accepted shapes and what was found instead
/// (for example the string `"NaN"`: JSON has no NaN, and angles must be finite).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
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

/// The three accepted shapes, for error messages.
const PARAM_SHAPES: &str = r#"a number, {"trainable": slot} or {"input": slot}"#;

// Written by hand instead of `#[serde(untagged)]`: the derived form can only say "data did
// not match any variant of untagged enum Param", which names neither the accepted shapes
// nor the offending value.
impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(ParamVisitor)
    }
}

struct ParamVisitor;

impl<'de> serde::de::Visitor<'de> for ParamVisitor {
    type Value = Param;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(PARAM_SHAPES)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Param, E> {
        Ok(Param::Fixed(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Param, E> {
        Ok(Param::Fixed(v as f64))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Param, E> {
        Ok(Param::Fixed(v as f64))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Param, E> {
        let hint = if v.parse::<f64>().is_ok() {
            " (write the number without quotes; JSON has no NaN or infinity, and angles must be finite)"
        } else {
            ""
        };
        Err(E::custom(format!(
            "a parameter must be {PARAM_SHAPES}, found the string {v:?}{hint}"
        )))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<Param, E> {
        Err(E::custom(format!(
            "a parameter must be {PARAM_SHAPES}, found {v}"
        )))
    }

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Param, E> {
        Err(E::custom(format!(
            "a parameter must be {PARAM_SHAPES}, found null"
        )))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        _seq: A,
    ) -> std::result::Result<Param, A::Error> {
        Err(serde::de::Error::custom(format!(
            "a parameter must be {PARAM_SHAPES}, found a list"
        )))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Param, A::Error> {
        use serde::de::Error as _;
        let Some(key) = map.next_key::<String>()? else {
            return Err(A::Error::custom(format!(
                "a parameter must be {PARAM_SHAPES}, found an empty object"
            )));
        };
        let slot = |map: &mut A, key: &str| -> std::result::Result<usize, A::Error> {
            map.next_value::<usize>().map_err(|e| {
                A::Error::custom(format!(
                    "the {key:?} slot of a parameter must be a non-negative whole number ({e})"
                ))
            })
        };
        let param = match key.as_str() {
            "trainable" => Param::Trainable {
                trainable: slot(&mut map, "trainable")?,
            },
            "input" => Param::Input {
                input: slot(&mut map, "input")?,
            },
            other => {
                return Err(A::Error::custom(format!(
                    "a parameter must be {PARAM_SHAPES}, found an object with key {other:?}"
                )))
            }
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(A::Error::custom(format!(
                "a parameter object has exactly one key (\"trainable\" or \"input\"), found also {extra:?}"
            )));
        }
        Ok(param)
    }
}

impl From<f64> for Param {
    fn from(v: f64) -> Self {
        Param::Fixed(v)
    }
}

/// Values for a circuit's trainable and input slots.
///
/// Unknown keys are refused (a typo such as `"inptus"` would otherwise be ignored
/// silently and the circuit run on its default values).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> std::result::Result<Param, String> {
        serde_json::from_str::<Param>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_three_shapes_parse_and_round_trip() {
        assert_eq!(parse("0.25").unwrap(), Param::Fixed(0.25));
        assert_eq!(parse("-3").unwrap(), Param::Fixed(-3.0));
        assert_eq!(parse("7").unwrap(), Param::Fixed(7.0));
        assert_eq!(parse(r#"{"trainable": 5}"#).unwrap(), Param::trainable(5));
        assert_eq!(parse(r#"{"input": 2}"#).unwrap(), Param::input(2));
        for p in [Param::Fixed(0.5), Param::trainable(3), Param::input(1)] {
            assert_eq!(parse(&serde_json::to_string(&p).unwrap()).unwrap(), p);
        }
    }

    #[test]
    fn malformed_parameters_name_the_shapes_and_what_was_found() {
        let nan = parse(r#""NaN""#).unwrap_err();
        assert!(nan.contains(r#"found the string "NaN""#), "{nan}");
        assert!(nan.contains(r#"{"trainable": slot}"#), "{nan}");
        assert!(nan.contains("without quotes"), "{nan}");
        let typo = parse(r#"{"trainabel": 0}"#).unwrap_err();
        assert!(typo.contains(r#"key "trainabel""#), "{typo}");
        let negative = parse(r#"{"input": -1}"#).unwrap_err();
        assert!(negative.contains("non-negative whole number"), "{negative}");
        let two = parse(r#"{"input": 1, "trainable": 2}"#).unwrap_err();
        assert!(two.contains("exactly one key"), "{two}");
        assert!(parse("null").unwrap_err().contains("found null"));
        assert!(parse("[1]").unwrap_err().contains("found a list"));
        assert!(parse("true").unwrap_err().contains("found true"));
        assert!(parse("{}").unwrap_err().contains("empty object"));
    }

    #[test]
    fn parameter_files_refuse_unknown_keys() {
        let err = serde_json::from_str::<Parameters>(r#"{"trainable": [0.1], "inptus": [1]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `inptus`"), "{err}");
        assert!(err.contains("`inputs`"), "{err}");
    }
}
