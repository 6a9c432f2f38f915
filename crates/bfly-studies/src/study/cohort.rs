//! A cohort for the imputation study: which file, which outcome, which columns are
//! masked, excluded or categorical, which texts mean "missing", and the study's size;
//! as one [`CohortSpec`] that reads from and writes to TOML, so that a run can be
//! repeated from the file written next to its results.
//!
//! [`CohortSpec::resolve`] reads the file, infers the [schema](super::schema), applies
//! the choices and returns the [`StudyConfig`] to run and the [`Schema`] that says what
//! was decided. The RHC set-up of the preprint's reproduction is the preset
//! [`CohortSpec::rhc`].
//!
//! ```no_run
//! use bfly_studies::study::cohort::{CohortSpec, MaskColumns};
//! let mut spec = CohortSpec::new("my_extract.csv", "hospital_expire_flag");
//! spec.exclude = vec!["subject_id".into(), "dod".into()];
//! spec.mask_columns = MaskColumns::Auto;
//! let resolved = spec.resolve().unwrap();
//! println!("{}", resolved.schema.markdown());
//! println!("{}", resolved.spec.to_toml());
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::imputation::{StudyConfig, RHC_EXCLUDED, RHC_MASKED};
use super::metrics::auc;
use super::schema::{
    binary_outcome, infer_type, leakage_warnings, ColumnSchema, ColumnType, Role, Schema,
};
use crate::impute::HybridImputer;
use bfly_core::error::{Error, Result};
use bfly_train::data::{TableSpec, TypedTable};

/// Which columns the MCAR mask hides cells of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MaskSerde", into = "MaskSerde")]
pub enum MaskColumns {
    /// Every column inferred numeric (more than two distinct numbers) that is used.
    Auto,
    /// These columns, in this order.
    List(Vec<String>),
}

/// `"auto"` or a list of names, as written in TOML.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum MaskSerde {
    Word(String),
    List(Vec<String>),
}

impl TryFrom<MaskSerde> for MaskColumns {
    type Error = String;
    fn try_from(m: MaskSerde) -> std::result::Result<Self, String> {
        match m {
            MaskSerde::Word(w) if w == "auto" => Ok(MaskColumns::Auto),
            MaskSerde::Word(w) => Err(format!(
                "mask_columns = \"{w}\": write \"auto\" or a list of column names"
            )),
            MaskSerde::List(l) => Ok(MaskColumns::List(l)),
        }
    }
}

impl From<MaskColumns> for MaskSerde {
    fn from(m: MaskColumns) -> Self {
        match m {
            MaskColumns::Auto => MaskSerde::Word("auto".into()),
            MaskColumns::List(l) => MaskSerde::List(l),
        }
    }
}

impl std::str::FromStr for MaskColumns {
    type Err = Error;
    /// `auto`, or comma-separated column names.
    fn from_str(s: &str) -> Result<Self> {
        if s.trim() == "auto" {
            return Ok(MaskColumns::Auto);
        }
        let list: Vec<String> = split_list(s);
        if list.is_empty() {
            return Err(Error::Imputation(
                "--mask-columns: give \"auto\" or comma-separated column names".into(),
            ));
        }
        Ok(MaskColumns::List(list))
    }
}

/// Comma-separated names, trimmed, empty ones dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Every choice of a cohort study (see the [module docs](self)). Written as TOML next to
/// the results, with every choice resolved, so `--config` on that file repeats the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CohortSpec {
    /// The cohort CSV file.
    pub data: PathBuf,
    /// The binary outcome column (0/1, yes/no or true/false).
    pub outcome: String,
    /// The outcome value read as 1 when the column holds words such as `Alive`/`Expired`
    /// (every other present value is 0). `None`: 0/1, yes/no or true/false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_positive: Option<String>,
    /// The column the hybrids impute (one of the masked columns). `None`: the masked
    /// column that alone best separates the outcome (largest |AUC − ½|) among those at
    /// most half missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_column: Option<String>,
    /// The columns masked.
    #[serde(default = "auto")]
    pub mask_columns: MaskColumns,
    /// Columns never used (identifier-like and constant columns are excluded anyway).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Columns read as categorical whatever their cells look like (e.g. coded numbers).
    #[serde(default)]
    pub categorical: Vec<String>,
    /// Cell texts read as missing (after trimming; an empty cell always is). `None`:
    /// `NA`, `NaN`, `nan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_values: Option<Vec<String>>,
    /// Numeric columns where `0` means "not recorded".
    #[serde(default)]
    pub zero_missing: Vec<String>,
    /// Categorical columns where `NA` is a level, not a missing value.
    #[serde(default)]
    pub na_level: Vec<String>,
    /// Seeds (each: a new mask and split).
    #[serde(default = "ten")]
    pub seeds: usize,
    /// The first seed.
    #[serde(default = "one")]
    pub first_seed: u64,
    /// MCAR rate, added on top of the file's own missing cells.
    #[serde(default = "point_three")]
    pub missing_rate: f64,
    /// Fraction of patients held out for the AUC.
    #[serde(default = "point_three")]
    pub test_fraction: f64,
    /// The lighter settings of [`StudyConfig::quick`] (its seed count is not applied:
    /// `seeds` is).
    #[serde(default)]
    pub quick: bool,
    /// Qubits of the hybrid rows (each a power of two ≥ 2).
    #[serde(default = "default_qubits")]
    pub qubits: Vec<usize>,
    /// Widths of the classical networks with the Butterfly replaced by a dense layer
    /// (same pre-layer, head and training as the hybrids; default none).
    #[serde(default)]
    pub dense_widths: Vec<usize>,
    /// Training seeds of the model-variance rows at the first seed's mask and split (0:
    /// none).
    #[serde(default)]
    pub training_seeds: usize,
}

fn auto() -> MaskColumns {
    MaskColumns::Auto
}
fn ten() -> usize {
    10
}
fn one() -> u64 {
    1
}
fn point_three() -> f64 {
    0.3
}
fn default_qubits() -> Vec<usize> {
    vec![16, 32]
}

/// A resolved cohort: the study to run, the schema it was decided from, and the spec
/// with every choice made explicit (the one to write as TOML).
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The study configuration.
    pub config: StudyConfig,
    /// What each column is and does.
    pub schema: Schema,
    /// The spec with `mask_columns` as a list, `target_column` set, and the excluded
    /// columns listed.
    pub spec: CohortSpec,
}

impl CohortSpec {
    /// A spec for `data` with outcome `outcome` and every other choice at its default:
    /// masked columns `auto`, target chosen, 10 seeds from 1, 30 % MCAR, 30 % test,
    /// hybrids on 16 and 32 qubits.
    pub fn new(data: impl Into<PathBuf>, outcome: &str) -> Self {
        CohortSpec {
            data: data.into(),
            outcome: outcome.to_string(),
            outcome_positive: None,
            target_column: None,
            mask_columns: MaskColumns::Auto,
            exclude: vec![],
            categorical: vec![],
            missing_values: None,
            zero_missing: vec![],
            na_level: vec![],
            seeds: 10,
            first_seed: 1,
            missing_rate: 0.3,
            test_fraction: 0.3,
            quick: false,
            qubits: default_qubits(),
            dense_widths: vec![],
            training_seeds: 0,
        }
    }

    /// The RHC preset (`data/rhc.csv`; see `data/README.md`): outcome `dth30`, the 21
    /// day-1 physiology columns masked, target `aps1`, dates, outcomes, the patient id
    /// and the two natively sparse columns `urin1` and `adld3p` excluded, `wtkilo1 = 0`
    /// missing, `cat2`'s `NA` a level. The study's default and the demo's set-up.
    pub fn rhc() -> Self {
        CohortSpec {
            target_column: Some(super::imputation::DEFAULT_TARGET.into()),
            mask_columns: MaskColumns::List(RHC_MASKED.iter().map(|s| s.to_string()).collect()),
            exclude: RHC_EXCLUDED
                .iter()
                .filter(|s| **s != "dth30")
                .map(|s| s.to_string())
                .collect(),
            zero_missing: vec!["wtkilo1".into()],
            na_level: vec!["cat2".into()],
            ..CohortSpec::new("data/rhc.csv", "dth30")
        }
    }

    /// A preset by name: `rhc`.
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "rhc" => Ok(Self::rhc()),
            other => Err(Error::Imputation(format!(
                "unknown preset \"{other}\"; the presets are: rhc"
            ))),
        }
    }

    /// Parse TOML text; `source` names it in error messages.
    pub fn from_toml(text: &str, source: &Path) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            Error::Imputation(format!(
                "{}: {}",
                source.display(),
                e.to_string().trim_end()
            ))
        })
    }

    /// Read a TOML file.
    pub fn read_toml(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// The spec as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a cohort spec always serialises to TOML")
    }

    /// How the file is read.
    pub fn table_spec(&self) -> TableSpec {
        TableSpec {
            zero_missing: self.zero_missing.clone(),
            na_level: self.na_level.clone(),
            categorical: self.categorical.clone(),
            missing_values: self.missing_values.clone(),
        }
    }

    /// Check the settings that need no data.
    fn check_settings(&self) -> Result<()> {
        if self.seeds == 0 {
            return Err(Error::Imputation(
                "the study needs at least one seed".into(),
            ));
        }
        if !(self.missing_rate > 0.0 && self.missing_rate < 1.0) {
            return Err(Error::Imputation(format!(
                "the MCAR rate must be in (0, 1), got {}",
                self.missing_rate
            )));
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(Error::Imputation(format!(
                "the test fraction must be in (0, 1), got {}",
                self.test_fraction
            )));
        }
        if let Some(w) = self.dense_widths.iter().find(|&&w| w == 0 || w > 4096) {
            return Err(Error::Imputation(format!(
                "dense network widths must be from 1 to 4096, got {w}"
            )));
        }
        if self.training_seeds > 1000 {
            return Err(Error::Imputation(format!(
                "at most 1000 training seeds, got {}",
                self.training_seeds
            )));
        }
        if let Some(q) = self
            .qubits
            .iter()
            .find(|&&q| q < 2 || !q.is_power_of_two() || q > 1 << 16)
        {
            return Err(Error::Imputation(format!(
                "hybrid qubits must be powers of two from 2 to 65536, got {q}"
            )));
        }
        Ok(())
    }

    /// Read the file, infer the schema and build the study (see the [module
    /// docs](self)). Errors name the file, line and column where one is at fault.
    pub fn resolve(&self) -> Result<Resolved> {
        self.check_settings()?;
        let typed = TypedTable::read(&self.data, &self.table_spec())?;
        let header_err = |column: &str, message: String| Error::Table {
            path: self.data.clone(),
            line: 1,
            column: Some(column.to_string()),
            message,
        };
        let names: Vec<&str> = typed.columns.iter().map(|c| c.name.as_str()).collect();
        let listed = |what: &str, cols: &[String]| -> Result<()> {
            match cols.iter().find(|c| !names.contains(&c.as_str())) {
                Some(c) => Err(header_err(
                    c,
                    format!(
                        "named in {what} but not in the header; the header has: {}",
                        names.join(", ")
                    ),
                )),
                None => Ok(()),
            }
        };
        listed("outcome", std::slice::from_ref(&self.outcome))?;
        listed("exclude", &self.exclude)?;
        if let MaskColumns::List(l) = &self.mask_columns {
            listed("mask_columns", l)?;
        }
        if let Some(t) = &self.target_column {
            listed("target_column", std::slice::from_ref(t))?;
        }
        let outcome = binary_outcome(&typed, &self.outcome, self.outcome_positive.as_deref())?;
        let n = outcome.len();
        let mut columns: Vec<ColumnSchema> = typed
            .columns
            .iter()
            .map(|c| {
                let (column_type, distinct) = infer_type(c);
                let missing = c.cells.iter().filter(|v| v.is_none()).count();
                let (role, note) = if c.name == self.outcome {
                    (Role::Outcome, String::new())
                } else if self.exclude.contains(&c.name) {
                    (Role::Excluded, "asked (exclude)".to_string())
                } else if column_type == ColumnType::IdentifierLike {
                    (Role::Excluded, "identifier-like".to_string())
                } else if column_type == ColumnType::Constant {
                    (Role::Excluded, "constant".to_string())
                } else {
                    (Role::Feature, String::new())
                };
                ColumnSchema {
                    name: c.name.clone(),
                    column_type,
                    distinct,
                    missing_fraction: missing as f64 / n.max(1) as f64,
                    role,
                    note,
                }
            })
            .collect();
        // The masked columns.
        let masked: Vec<String> = match &self.mask_columns {
            MaskColumns::Auto => columns
                .iter()
                .filter(|c| c.role == Role::Feature && c.column_type == ColumnType::Numeric)
                .map(|c| c.name.clone())
                .collect(),
            MaskColumns::List(l) => l.clone(),
        };
        for m in &masked {
            let k = names
                .iter()
                .position(|n| n == m)
                .expect("checked against the header");
            let c = &columns[k];
            let why = match c.role {
                Role::Outcome => Some("it is the outcome".to_string()),
                Role::Excluded => Some(format!("it is excluded ({})", c.note)),
                _ => None,
            };
            if let Some(why) = why {
                return Err(header_err(m, format!("cannot be masked: {why}")));
            }
            if !matches!(typed.columns[k].kind, bfly_train::data::ColumnKind::Numeric) {
                return Err(header_err(
                    m,
                    format!(
                        "a masked column must be numeric, but this one is {} (its cells hold text); mask numeric columns only",
                        c.column_type
                    ),
                ));
            }
            columns[k].role = Role::Masked;
        }
        if masked.is_empty() {
            return Err(Error::Imputation(format!(
                "{}: no column to mask: no used column is numeric with more than two values; name them with --mask-columns",
                self.data.display()
            )));
        }
        // The target.
        let target = match &self.target_column {
            Some(t) if !masked.contains(t) => {
                return Err(header_err(
                    t,
                    format!(
                        "the hybrids' target column must be one of the masked columns: {}",
                        masked.join(", ")
                    ),
                ))
            }
            Some(t) => t.clone(),
            None => choose_target(&typed, &columns, &outcome)?,
        };
        if let Some(c) = columns.iter_mut().find(|c| c.name == target) {
            c.note = if self.target_column.is_some() {
                "hybrid target".into()
            } else {
                "hybrid target (chosen: best single separator of the outcome)".into()
            };
        }
        let warnings = leakage_warnings(&typed, &columns, &outcome);
        let schema = Schema {
            data: self.data.display().to_string(),
            rows: n,
            columns,
            warnings,
        };
        let excluded = schema.with_role(Role::Excluded);
        let mut config = if self.quick {
            StudyConfig::quick()
        } else {
            StudyConfig::default()
        };
        config.hybrids = self
            .qubits
            .iter()
            .map(|&q| {
                let template = config
                    .hybrids
                    .first()
                    .cloned()
                    .unwrap_or_else(|| HybridImputer::new(&target, q));
                let mut h = HybridImputer::new(&target, q);
                h.config.epochs_per_stage = template.config.epochs_per_stage;
                h.config.finetune_epochs = template.config.finetune_epochs;
                h.config.max_train_rows = template.config.max_train_rows;
                h
            })
            .collect();
        config.dense_nets = self
            .dense_widths
            .iter()
            .map(|&w| {
                let mut d = crate::impute::DenseNet::new(&target, w);
                if let Some(h) = config.hybrids.first() {
                    d.config.epochs_per_stage = h.config.epochs_per_stage;
                    d.config.finetune_epochs = h.config.finetune_epochs;
                    d.config.max_train_rows = h.config.max_train_rows;
                }
                d
            })
            .collect();
        config.training_seeds = self.training_seeds;
        config = config.with_target(&target);
        config.data = self.data.clone();
        config.spec = self.table_spec();
        config.outcome = self.outcome.clone();
        config.outcome_positive = self.outcome_positive.clone();
        config.excluded = excluded.clone();
        config.masked = masked.clone();
        config.seeds = self.seeds;
        config.first_seed = self.first_seed;
        config.missing_rate = self.missing_rate;
        config.test_fraction = self.test_fraction;
        check_split(&self.data, n, &outcome, self.test_fraction)?;
        let spec = CohortSpec {
            target_column: Some(target),
            mask_columns: MaskColumns::List(masked),
            exclude: excluded,
            ..self.clone()
        };
        Ok(Resolved {
            config,
            schema,
            spec,
        })
    }
}

/// Fewest patients in each of the training and test parts, and fewest of each outcome
/// class in the cohort.
pub const MIN_SPLIT_ROWS: usize = 10;

/// An error if `n` patients split at `test_fraction` leave fewer than
/// [`MIN_SPLIT_ROWS`] on either side, or if either outcome class has fewer than
/// [`MIN_SPLIT_ROWS`] patients.
pub fn check_split(data: &Path, n: usize, outcome: &[bool], test_fraction: f64) -> Result<()> {
    let n_test = (test_fraction * n as f64).round() as usize;
    let n_train = n - n_test.min(n);
    if n_test < MIN_SPLIT_ROWS || n_train < MIN_SPLIT_ROWS {
        return Err(Error::Imputation(format!(
            "{}: the cohort is too small for the split: {n} patients at test fraction {test_fraction} give {n_train} training and {n_test} test patients; each needs at least {MIN_SPLIT_ROWS}",
            data.display()
        )));
    }
    let pos = outcome.iter().filter(|&&o| o).count();
    let fewest = pos.min(n - pos);
    if fewest < MIN_SPLIT_ROWS {
        return Err(Error::Imputation(format!(
            "{}: the cohort is too small for the split: only {fewest} patients have the rarer outcome ({pos} of {n} positive); each class needs at least {MIN_SPLIT_ROWS} so that every test part holds both",
            data.display()
        )));
    }
    Ok(())
}

/// The masked column that alone best separates the outcome (|AUC − ½| on its present
/// cells) among those at most half missing; ties to the first in file order.
fn choose_target(typed: &TypedTable, columns: &[ColumnSchema], outcome: &[bool]) -> Result<String> {
    let mut best: Option<(f64, &str)> = None;
    for (cs, col) in columns.iter().zip(&typed.columns) {
        if cs.role != Role::Masked || cs.missing_fraction > 0.5 {
            continue;
        }
        let (s, l): (Vec<f64>, Vec<bool>) = col
            .cells
            .iter()
            .zip(outcome)
            .filter_map(|(c, &o)| c.map(|v| (v, o)))
            .unzip();
        let Ok(a) = auc(&s, &l) else { continue };
        let sep = (a - 0.5).abs();
        if best.is_none_or(|(b, _)| sep > b) {
            best = Some((sep, &cs.name));
        }
    }
    best.map(|(_, n)| n.to_string()).ok_or_else(|| {
        Error::Imputation(
            "no masked column is at most half present with both outcomes among its rows; name the hybrids' target with --target-column".into(),
        )
    })
}
