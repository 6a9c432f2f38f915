//! Schema inference for a cohort file: what each column is, how much of it is missing,
//! and what the study does with it, decided from the cells and said out loud.
//!
//! Column types ([`ColumnType`]), from the typed cells of a
//! [`TypedTable`]:
//! - **constant**: at most one distinct present value (an empty column too): excluded;
//! - **identifier-like**: a text column whose distinct values are at least half of its
//!   present cells (ids, dates, free text), a text column with more than
//!   [`MAX_LEVELS`] levels, or an integer column whose ≥ 20 present values are all
//!   distinct (a row number or patient id): excluded;
//! - **binary**: exactly two distinct values (yes/no, 0/1, any two numbers, any two
//!   text levels);
//! - **categorical**: text with 3 to [`MAX_LEVELS`] levels (one-hot encoded);
//! - **numeric**: numbers with more than two distinct values.
//!
//! Roles ([`Role`]): the outcome; excluded (asked for, identifier-like or constant);
//! masked (numeric columns the MCAR mask hides cells of); feature (every other column).
//!
//! Leakage checks ([`leakage_warnings`]) flag feature columns that look like the outcome
//! in disguise: a name that speaks of death, survival, censoring or follow-up time; a
//! binary column that agrees with the outcome on ≥ 90 % of rows (another mortality
//! flag); a column whose *missingness* separates the outcome (AUC ≥ 0.75, as a
//! "days to death" column that exists only for those who died); a column that alone
//! separates the outcome with AUC ≥ 0.85. They are warnings: the user decides with
//! `exclude`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::metrics::auc;
use bfly_core::error::{Error, Result};
use bfly_train::data::{ColumnKind, TypedColumn, TypedTable};

/// Most levels a categorical column may have before it is taken as identifier-like (its
/// one-hot encoding would add one feature column per level).
pub const MAX_LEVELS: usize = 50;

/// What a column holds, as inferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnType {
    /// Numbers with more than two distinct values.
    Numeric,
    /// Exactly two distinct values.
    Binary,
    /// Text with 3 to [`MAX_LEVELS`] levels.
    Categorical,
    /// Ids, dates, free text: excluded.
    IdentifierLike,
    /// At most one distinct value: excluded.
    Constant,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Numeric => "numeric",
            ColumnType::Binary => "binary",
            ColumnType::Categorical => "categorical",
            ColumnType::IdentifierLike => "identifier-like",
            ColumnType::Constant => "constant",
        })
    }
}

/// What the study does with a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Used as a feature, never masked.
    Feature,
    /// Used as a feature; the MCAR mask hides some of its present cells, which are scored.
    Masked,
    /// The binary outcome of the downstream model.
    Outcome,
    /// Not used.
    Excluded,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Feature => "feature",
            Role::Masked => "masked",
            Role::Outcome => "outcome",
            Role::Excluded => "excluded",
        })
    }
}

/// One column of the schema table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Header name.
    pub name: String,
    /// Inferred type.
    pub column_type: ColumnType,
    /// Distinct present values.
    pub distinct: usize,
    /// Fraction of rows where the cell is missing in the file.
    pub missing_fraction: f64,
    /// What the study does with it.
    pub role: Role,
    /// Why (for excluded columns and the hybrids' target), empty otherwise.
    pub note: String,
}

/// A column that may leak the outcome, and why it looks so.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeakageWarning {
    /// The column.
    pub column: String,
    /// What was seen.
    pub reason: String,
}

/// The schema table of a cohort: every column's type, missing fraction and role, and the
/// leakage warnings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The data file.
    pub data: String,
    /// Rows (patients).
    pub rows: usize,
    /// Columns in file order.
    pub columns: Vec<ColumnSchema>,
    /// Possible outcome leaks among the columns used.
    pub warnings: Vec<LeakageWarning>,
}

/// Distinct present values of a typed column.
fn distinct(col: &TypedColumn) -> Vec<f64> {
    let mut v: Vec<f64> = col.cells.iter().flatten().copied().collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The inferred type of a typed column and its number of distinct present values.
pub fn infer_type(col: &TypedColumn) -> (ColumnType, usize) {
    let values = distinct(col);
    let present = col.cells.iter().filter(|c| c.is_some()).count();
    let d = values.len();
    let t = if d <= 1 {
        ColumnType::Constant
    } else if d == 2 {
        ColumnType::Binary
    } else {
        match col.kind {
            ColumnKind::Categorical { .. } if d > MAX_LEVELS || 2 * d >= present => {
                ColumnType::IdentifierLike
            }
            ColumnKind::Categorical { .. } => ColumnType::Categorical,
            _ if present >= 20 && d == present && values.iter().all(|v| v.fract() == 0.0) => {
                ColumnType::IdentifierLike
            }
            _ => ColumnType::Numeric,
        }
    };
    (t, d)
}

/// Words in a column name that suggest an outcome, survival or follow-up time.
const LEAK_WORDS: &[&str] = &[
    "death",
    "dth",
    "dead",
    "died",
    "die",
    "mort",
    "expire",
    "surviv",
    "dod",
    "censor",
    "futime",
    "fustat",
    "deceased",
    "hospdead",
    "dschdte",
    "discharge",
    "lstctdte",
    "followup",
    "follow_up",
    "days_to",
    "time_to",
    "los",
];

/// True if a name holds one of [`LEAK_WORDS`] as a word or word prefix (split at
/// non-letters and case changes, so `hospital_expire_flag`, `DaysToDeath` and `t3d30`
/// are caught, `closure` is not).
fn leaky_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    // Word starts: position 0, after a non-letter, or an upper-case letter after a lower.
    let bytes = name.as_bytes();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            i == 0
                || !bytes[i - 1].is_ascii_alphabetic()
                || (bytes[i].is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase())
        })
        .collect();
    LEAK_WORDS.iter().copied().find(|w| {
        starts.iter().any(|&s| {
            lower[s..].starts_with(w)
                && (w.len() > 3 || {
                    // Short words must be whole words (`los`, `die`, `dod`, `dth`), or
                    // followed by digits (`dth30`).
                    let end = s + w.len();
                    end == lower.len() || !lower.as_bytes()[end].is_ascii_alphabetic()
                })
        })
    })
}

/// Possible outcome leaks among the columns whose role is feature or masked.
///
/// `typed` holds the cells, `outcome` the binary outcome per row.
pub fn leakage_warnings(
    typed: &TypedTable,
    columns: &[ColumnSchema],
    outcome: &[bool],
) -> Vec<LeakageWarning> {
    let mut out = Vec::new();
    let has_both = outcome.iter().any(|&o| o) && outcome.iter().any(|&o| !o);
    for (cs, col) in columns.iter().zip(&typed.columns) {
        if !matches!(cs.role, Role::Feature | Role::Masked) {
            continue;
        }
        let mut reasons = Vec::new();
        if let Some(w) = leaky_name(&cs.name) {
            reasons.push(format!("its name contains \"{w}\""));
        }
        if has_both {
            // Missingness that separates the outcome.
            let miss: Vec<f64> = col.cells.iter().map(|c| f64::from(c.is_none())).collect();
            if cs.missing_fraction > 0.0 && cs.missing_fraction < 1.0 {
                if let Ok(a) = auc(&miss, outcome) {
                    let a = a.max(1.0 - a);
                    if a >= 0.75 {
                        reasons.push(format!(
                            "whether it is missing predicts the outcome (AUC {a:.2}), as a time-to-death or censoring column would"
                        ));
                    }
                }
            }
            // Values that separate the outcome, on the rows where present.
            let (scores, labels): (Vec<f64>, Vec<bool>) = col
                .cells
                .iter()
                .zip(outcome)
                .filter_map(|(c, &o)| c.map(|v| (v, o)))
                .unzip();
            let both = labels.iter().any(|&o| o) && labels.iter().any(|&o| !o);
            if both && cs.column_type != ColumnType::Categorical {
                if cs.column_type == ColumnType::Binary {
                    let hi = distinct(col).last().copied().unwrap_or(1.0);
                    let agree = scores
                        .iter()
                        .zip(&labels)
                        .filter(|(s, &o)| (**s == hi) == o)
                        .count() as f64
                        / scores.len() as f64;
                    let agree = agree.max(1.0 - agree);
                    if agree >= 0.9 {
                        reasons.push(format!(
                            "it agrees with the outcome on {:.0} % of rows (another outcome flag?)",
                            100.0 * agree
                        ));
                    }
                } else if let Ok(a) = auc(&scores, &labels) {
                    let a = a.max(1.0 - a);
                    if a >= 0.85 {
                        reasons.push(format!("alone it separates the outcome with AUC {a:.2}"));
                    }
                }
            }
        }
        if !reasons.is_empty() {
            out.push(LeakageWarning {
                column: cs.name.clone(),
                reason: reasons.join("; "),
            });
        }
    }
    out
}

/// The binary outcome of a column: yes/no, 0/1, or true/false (any letter case); text
/// levels `1`/`0`, `y`/`n` too. With `positive` (e.g. `Expired`), a cell equal to it is 1
/// and any other present value 0, for outcomes written as words such as
/// `Alive`/`Expired`. An error names the file, line and column of the first value that
/// is not binary or is missing.
pub fn binary_outcome(typed: &TypedTable, name: &str, positive: Option<&str>) -> Result<Vec<bool>> {
    let col = typed.column(name)?;
    let err = |r: usize, message: String| Error::Table {
        path: typed.source.clone(),
        line: typed.lines[r],
        column: Some(name.to_string()),
        message,
    };
    // Which cell values are "1" (true); `None` for a value that is not binary.
    let positive: Box<dyn Fn(f64) -> Option<bool>> = match (positive, &col.kind) {
        (Some(p), kind) => {
            let p = p.trim();
            let hit: Option<f64> = match kind {
                ColumnKind::Categorical { levels } => {
                    levels.iter().position(|l| l == p).map(|i| i as f64)
                }
                ColumnKind::YesNo if p.eq_ignore_ascii_case("yes") => Some(1.0),
                ColumnKind::YesNo if p.eq_ignore_ascii_case("no") => Some(0.0),
                ColumnKind::YesNo => None,
                ColumnKind::Numeric => p.parse::<f64>().ok(),
            };
            let Some(hit) = hit.filter(|h| col.cells.contains(&Some(*h))) else {
                return Err(Error::Table {
                    path: typed.source.clone(),
                    line: 1,
                    column: Some(name.to_string()),
                    message: format!(
                        "the positive outcome value \"{p}\" never occurs in this column"
                    ),
                });
            };
            Box::new(move |v| Some(v == hit))
        }
        (None, ColumnKind::YesNo) => Box::new(|v| Some(v == 1.0)),
        (None, ColumnKind::Numeric) => Box::new(|v| {
            if v == 1.0 {
                Some(true)
            } else if v == 0.0 {
                Some(false)
            } else {
                None
            }
        }),
        (None, ColumnKind::Categorical { levels }) => {
            let map: Vec<Option<bool>> = levels
                .iter()
                .map(|l| match l.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "y" | "1" => Some(true),
                    "false" | "no" | "n" | "0" => Some(false),
                    _ => None,
                })
                .collect();
            Box::new(move |v| map.get(v as usize).copied().flatten())
        }
    };
    let text = |v: f64| match &col.kind {
        ColumnKind::Categorical { levels } => levels[v as usize].clone(),
        _ => format!("{v}"),
    };
    col.cells
        .iter()
        .enumerate()
        .map(|(r, c)| match c {
            None => Err(err(
                r,
                "the outcome is missing; every row needs one (drop the row or fill it)".into(),
            )),
            Some(v) => positive(*v).ok_or_else(|| {
                err(
                    r,
                    format!(
                        "the outcome must be binary (0/1, yes/no or true/false; name the positive value of other words with outcome_positive / --outcome-positive), found \"{}\"",
                        text(*v)
                    ),
                )
            }),
        })
        .collect()
}

impl Schema {
    /// The schema as a markdown table, followed by the leakage warnings.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "`{}`: {} rows, {} columns.\n\n| column | type | distinct | missing | role | note |\n|---|---|---:|---:|---|---|\n",
            self.data,
            self.rows,
            self.columns.len()
        );
        for c in &self.columns {
            s.push_str(&format!(
                "| {} | {} | {} | {:.1} % | {} | {} |\n",
                c.name,
                c.column_type,
                c.distinct,
                100.0 * c.missing_fraction,
                c.role,
                c.note
            ));
        }
        if self.warnings.is_empty() {
            s.push_str("\nNo column looks like an outcome leak.\n");
        } else {
            s.push_str("\nPossible outcome leakage (exclude these if they are known only after the outcome):\n\n");
            for w in &self.warnings {
                s.push_str(&format!("- `{}`: {}\n", w.column, w.reason));
            }
        }
        s
    }

    /// One CSV row per column: `column,type,distinct,missing_fraction,role,note` (text
    /// fields always quoted, inner quotes doubled).
    pub fn csv(&self) -> String {
        let q = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
        let mut s = String::from("column,type,distinct,missing_fraction,role,note\n");
        for c in &self.columns {
            s.push_str(&format!(
                "{},{},{},{},{},{}\n",
                q(&c.name),
                c.column_type,
                c.distinct,
                c.missing_fraction,
                c.role,
                q(&c.note)
            ));
        }
        s
    }

    /// Names of the columns with a role.
    pub fn with_role(&self, role: Role) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.role == role)
            .map(|c| c.name.clone())
            .collect()
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.markdown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfly_train::data::TableSpec;

    #[test]
    fn leaky_names() {
        for n in [
            "hospital_expire_flag",
            "DaysToDeath",
            "dth30",
            "death",
            "t_censor",
            "los",
            "hosp_los",
            "futime",
        ] {
            assert!(leaky_name(n).is_some(), "{n}");
        }
        for n in ["closure", "glucose", "aps1", "dose", "diet", "age"] {
            assert_eq!(leaky_name(n), None, "{n}");
        }
    }

    #[test]
    fn types_from_cells() {
        let mut csv = String::from("id,k,c,b,t,x,e\n");
        for r in 0..30 {
            csv.push_str(&format!(
                "{},1,{},{},{},{}.5,\n",
                r + 100,
                ["a", "b", "c"][r % 3],
                r % 2,
                ["yes", "no"][r % 2],
                r % 7
            ));
        }
        let t = TypedTable::parse(&csv, "t.csv", &TableSpec::default()).unwrap();
        let types: Vec<ColumnType> = t.columns.iter().map(|c| infer_type(c).0).collect();
        assert_eq!(
            types,
            vec![
                ColumnType::IdentifierLike,
                ColumnType::Constant,
                ColumnType::Categorical,
                ColumnType::Binary,
                ColumnType::Binary,
                ColumnType::Numeric,
                ColumnType::Constant,
            ]
        );
    }

    #[test]
    fn outcome_forms_and_errors() {
        let spec = TableSpec::default();
        for (cells, expect) in [
            ("1\n0\n1", vec![true, false, true]),
            ("Yes\nno\nYES", vec![true, false, true]),
            ("TRUE\nfalse\nTrue", vec![true, false, true]),
        ] {
            let t = TypedTable::parse(&format!("o\n{cells}\n"), "o.csv", &spec).unwrap();
            assert_eq!(binary_outcome(&t, "o", None).unwrap(), expect, "{cells}");
        }
        let t = TypedTable::parse("o\n1\n2\n", "o.csv", &spec).unwrap();
        let e = binary_outcome(&t, "o", None).unwrap_err().to_string();
        assert!(
            e.starts_with("o.csv:3, column \"o\"") && e.contains("\"2\""),
            "{e}"
        );
        let t = TypedTable::parse("o,x\n1,1\nNA,2\n", "o.csv", &spec).unwrap();
        let e = binary_outcome(&t, "o", None).unwrap_err().to_string();
        assert!(
            e.starts_with("o.csv:3, column \"o\"") && e.contains("missing"),
            "{e}"
        );
        let t = TypedTable::parse("o\nalive\ndead\n", "o.csv", &spec).unwrap();
        assert!(binary_outcome(&t, "o", None).is_err());
        assert_eq!(
            binary_outcome(&t, "o", Some("dead")).unwrap(),
            vec![false, true]
        );
        let e = binary_outcome(&t, "o", Some("Dead"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("never occurs"), "{e}");
    }
}
