//! Tables with text cells: numeric, Yes/No and categorical columns, read from real CSV
//! files and turned into the numeric [`Table`] the rest of the crate uses.
//!
//! Each column's kind is inferred from its cells:
//! - **numeric**: every present cell is a number (spaces around it allowed, quoted or not);
//! - **yes/no**: every present cell is `Yes` or `No` (any letter case) → `1` / `0`;
//! - **categorical**: any other text. [`TypedTable::to_table`] one-hot encodes it: one
//!   0/1 column per level, named `column=level`, levels in sorted order (every level
//!   kept, none dropped as a reference: the downstream models are L2-regularised).
//!
//! Missing cells are `NA`, `NaN`, `nan` or empty (other markers:
//! [`TableSpec::missing_values`]; an empty cell is always missing). In a categorical column listed in
//! [`TableSpec::na_level`] the string `NA` is a level of its own instead (for columns
//! such as a secondary diagnosis, where `NA` means "none"). A numeric column listed in
//! [`TableSpec::zero_missing`] reads `0` as "not recorded" (missing). A missing
//! categorical cell leaves every one of its indicator columns missing.
//!
//! A column mixing numbers and words is refused: the error names the file, the line,
//! the column and the offending cell (declare such a column in [`TableSpec::categorical`]
//! to read every cell as a category). Every error is an [`Error::Table`].
//!
//! ```
//! use bfly_train::data::{TableSpec, TypedTable};
//! let csv = "\"age\",\"sex\",\"dnr\",\"wt\"\n 61.5,\"Male\",\"No\", 0\n70,Female, \"Yes\",80.25\n";
//! let spec = TableSpec { zero_missing: vec!["wt".into()], ..Default::default() };
//! let typed = TypedTable::parse(csv, "inline.csv", &spec).unwrap();
//! let table = typed.to_table();
//! assert_eq!(table.columns, vec!["age", "sex=Female", "sex=Male", "dnr", "wt"]);
//! assert_eq!(table.rows[0], vec![Some(61.5), Some(0.0), Some(1.0), Some(0.0), None]);
//! assert_eq!(table.rows[1], vec![Some(70.0), Some(1.0), Some(0.0), Some(1.0), Some(80.25)]);
//! let err = TypedTable::parse("x\n1\nabc\n", "bad.csv", &TableSpec::default()).unwrap_err();
//! assert!(err.to_string().starts_with("bad.csv:3, column \"x\""), "{err}");
//! ```

use std::path::{Path, PathBuf};

use super::records::{split_header, CsvBody};
use super::table::{parse_number, MISSING_MARKERS};
use super::Table;
use bfly_core::error::{Error, Result};

/// How to read particular columns of a [`TypedTable`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSpec {
    /// Numeric columns where `0` means "not recorded" (read as missing).
    pub zero_missing: Vec<String>,
    /// Categorical columns where the string `NA` is a level, not a missing value.
    pub na_level: Vec<String>,
    /// Columns read as categorical whatever their cells look like.
    pub categorical: Vec<String>,
    /// Cell texts read as missing (compared after trimming). `None`: the defaults,
    /// [`MISSING_MARKERS`]. An empty cell is always missing.
    pub missing_values: Option<Vec<String>>,
}

impl TableSpec {
    /// True if the (trimmed) cell text `t` marks a missing value under this spec.
    pub fn is_missing_marker(&self, t: &str) -> bool {
        t.is_empty()
            || match &self.missing_values {
                None => MISSING_MARKERS.contains(&t),
                Some(list) => list.iter().any(|m| m.trim() == t),
            }
    }
}

/// What a column holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// Numbers.
    Numeric,
    /// `Yes` = 1, `No` = 0.
    YesNo,
    /// Categories; a cell holds the index of its level in `levels` (sorted).
    Categorical {
        /// The distinct levels, sorted.
        levels: Vec<String>,
    },
}

/// One column: its name, kind and cells (`None` = missing).
#[derive(Clone, Debug, PartialEq)]
pub struct TypedColumn {
    /// Header name.
    pub name: String,
    /// Inferred (or declared) kind.
    pub kind: ColumnKind,
    /// Numbers, 0/1 for yes/no, or level indices for categorical columns.
    pub cells: Vec<Option<f64>>,
}

impl TypedColumn {
    /// Names of the numeric columns this column becomes in [`TypedTable::to_table`].
    pub fn encoded_names(&self) -> Vec<String> {
        match &self.kind {
            ColumnKind::Numeric | ColumnKind::YesNo => vec![self.name.clone()],
            ColumnKind::Categorical { levels } => levels
                .iter()
                .map(|l| format!("{}={l}", self.name))
                .collect(),
        }
    }
}

/// A table of typed columns (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq)]
pub struct TypedTable {
    /// Where the table came from, used in error messages.
    pub source: PathBuf,
    /// Columns in file order.
    pub columns: Vec<TypedColumn>,
    /// The 1-based source line of each row.
    pub lines: Vec<usize>,
}

impl TypedTable {
    /// Read and parse a CSV file.
    pub fn read(path: impl AsRef<Path>, spec: &TableSpec) -> Result<TypedTable> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path, spec)
    }

    /// Parse CSV text; `source` names it in error messages.
    pub fn parse(text: &str, source: impl AsRef<Path>, spec: &TableSpec) -> Result<TypedTable> {
        let source = source.as_ref().to_path_buf();
        let err = |line: usize, column: Option<&str>, message: String| Error::Table {
            path: source.clone(),
            line,
            column: column.map(str::to_string),
            message,
        };
        let CsvBody {
            header_line,
            names,
            rows: lines,
        } = split_header(text, true)
            .map_err(|(line, column, message)| err(line, column.as_deref(), message))?;
        for (what, list) in [
            ("zero_missing", &spec.zero_missing),
            ("na_level", &spec.na_level),
            ("categorical", &spec.categorical),
        ] {
            if let Some(missing) = list.iter().find(|c| !names.contains(c)) {
                return Err(err(
                    header_line,
                    Some(missing),
                    format!(
                        "listed in {what} but not in the header; the header has: {}",
                        names.join(", ")
                    ),
                ));
            }
        }

        // Raw cell texts, column-major, with their lines.
        let mut raw: Vec<Vec<String>> = vec![Vec::new(); names.len()];
        let mut row_lines = Vec::new();
        for record in lines {
            let (line_no, cells) = (record.line, record.cells);
            if cells.len() != names.len() {
                return Err(err(
                    line_no,
                    None,
                    format!(
                        "row has {} cells but the header has {} columns",
                        cells.len(),
                        names.len()
                    ),
                ));
            }
            for (col, cell) in raw.iter_mut().zip(cells) {
                col.push(cell.text.trim().to_string());
            }
            row_lines.push(line_no);
        }

        let mut columns = Vec::with_capacity(names.len());
        for (name, texts) in names.iter().zip(raw) {
            let na_level = spec.na_level.contains(name);
            let is_missing = |t: &str| spec.is_missing_marker(t) && !(na_level && t == "NA");
            let declared_categorical = spec.categorical.contains(name);
            // First present number and first present word, to infer the kind.
            let mut first_number: Option<usize> = None;
            let mut first_word: Option<usize> = None;
            for (r, t) in texts.iter().enumerate() {
                if is_missing(t) {
                    continue;
                }
                let numeric = matches!(parse_number(t, false), Ok(Some(_)));
                if numeric && first_number.is_none() {
                    first_number = Some(r);
                }
                if !numeric && first_word.is_none() {
                    first_word = Some(r);
                }
            }
            let column = if declared_categorical || (first_word.is_some() && first_number.is_none())
            {
                let yes_no = !declared_categorical
                    && texts
                        .iter()
                        .filter(|t| !is_missing(t))
                        .all(|t| t.eq_ignore_ascii_case("yes") || t.eq_ignore_ascii_case("no"));
                if yes_no {
                    let cells = texts
                        .iter()
                        .map(|t| (!is_missing(t)).then(|| f64::from(t.eq_ignore_ascii_case("yes"))))
                        .collect();
                    TypedColumn {
                        name: name.clone(),
                        kind: ColumnKind::YesNo,
                        cells,
                    }
                } else {
                    let mut levels: Vec<String> =
                        texts.iter().filter(|t| !is_missing(t)).cloned().collect();
                    levels.sort();
                    levels.dedup();
                    let cells = texts
                        .iter()
                        .map(|t| {
                            (!is_missing(t)).then(|| {
                                levels.binary_search(t).expect("level collected above") as f64
                            })
                        })
                        .collect();
                    TypedColumn {
                        name: name.clone(),
                        kind: ColumnKind::Categorical { levels },
                        cells,
                    }
                }
            } else {
                if let (Some(n), Some(w)) = (first_number, first_word) {
                    return Err(err(
                        row_lines[w],
                        Some(name),
                        format!(
                            "\"{}\" is not a number, but this column holds numbers (first at line {}); fix the cell, write NA for a missing value, or declare the column categorical",
                            texts[w], row_lines[n]
                        ),
                    ));
                }
                let zero_missing = spec.zero_missing.contains(name);
                let cells = texts
                    .iter()
                    .zip(&row_lines)
                    .map(|(t, &line)| {
                        if is_missing(t) {
                            return Ok(None);
                        }
                        let v = parse_number(t, false)
                            .map_err(|m| err(line, Some(name), m))?
                            .expect("missing markers handled above");
                        Ok((!(zero_missing && v == 0.0)).then_some(v))
                    })
                    .collect::<Result<Vec<_>>>()?;
                TypedColumn {
                    name: name.clone(),
                    kind: ColumnKind::Numeric,
                    cells,
                }
            };
            if spec.zero_missing.contains(name) && column.kind != ColumnKind::Numeric {
                return Err(err(
                    header_line,
                    Some(name),
                    "listed in zero_missing but the column is not numeric".into(),
                ));
            }
            if na_level && !matches!(column.kind, ColumnKind::Categorical { .. }) {
                return Err(err(
                    header_line,
                    Some(name),
                    "listed in na_level but the column is not categorical".into(),
                ));
            }
            columns.push(column);
        }
        Ok(TypedTable {
            source,
            columns,
            lines: row_lines,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// A column by name, or an error listing the columns the table has.
    pub fn column(&self, name: &str) -> Result<&TypedColumn> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::Table {
                path: self.source.clone(),
                line: 1,
                column: Some(name.to_string()),
                message: format!(
                    "no such column; the header has: {}",
                    self.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// The numeric table: numeric and yes/no columns as they are, categorical columns
    /// one-hot encoded (`column=level`, one 0/1 column per level).
    pub fn to_table(&self) -> Table {
        let columns: Vec<String> = self
            .columns
            .iter()
            .flat_map(TypedColumn::encoded_names)
            .collect();
        let rows = (0..self.n_rows())
            .map(|r| {
                let mut row = Vec::with_capacity(columns.len());
                for c in &self.columns {
                    match &c.kind {
                        ColumnKind::Numeric | ColumnKind::YesNo => row.push(c.cells[r]),
                        ColumnKind::Categorical { levels } => row.extend(
                            (0..levels.len())
                                .map(|l| c.cells[r].map(|v| f64::from(v as usize == l))),
                        ),
                    }
                }
                row
            })
            .collect();
        Table {
            source: self.source.clone(),
            columns,
            rows,
            lines: self.lines.clone(),
        }
    }
}
