//! A numeric table read from CSV: named columns, one `Option<f64>` per cell (`None` =
//! missing).
//!
//! Accepted input:
//! - a header row of column names, quoted (`"age"`) or not; names must be unique;
//! - numeric cells, with spaces around them allowed (`  3.5`), quoted or not;
//! - missing cells written `NA`, `NaN`, `nan` or left empty;
//! - quoted cells may contain commas and doubled quotes (`"a,""b"""`);
//! - `\n` or `\r\n` line ends; blank lines are skipped.
//!
//! Every problem is an [`Error::Table`] naming the file, the 1-based line and the column.
//!
//! ```
//! use bfly_train::data::Table;
//! let t = Table::parse("x,y\n1, 2\n3,NA\n", "example.csv").unwrap();
//! assert_eq!(t.columns, vec!["x", "y"]);
//! assert_eq!(t.rows[1], vec![Some(3.0), None]);
//! let err = Table::parse("x,y\n1,abc\n", "bad.csv").unwrap_err().to_string();
//! assert!(err.contains("bad.csv:2") && err.contains("\"y\""), "{err}");
//! ```

use std::path::{Path, PathBuf};

use super::Dataset;
use bfly_core::error::{Error, Result};

/// Cell texts read as "missing".
pub const MISSING_MARKERS: &[&str] = &["NA", "NaN", "nan", ""];

/// A numeric table with named columns and possibly missing cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Where the table came from (file path or a label), used in error messages.
    pub source: PathBuf,
    /// Column names, in file order.
    pub columns: Vec<String>,
    /// Rows of cells (`None` = missing), each as long as `columns`.
    pub rows: Vec<Vec<Option<f64>>>,
    /// The 1-based source line of each row.
    pub lines: Vec<usize>,
}

/// The rows of a [`Table`] usable for training, and how many were dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// Features and targets of the complete rows.
    pub dataset: Dataset,
    /// Rows dropped because a selected feature or target was missing.
    pub dropped: usize,
}

impl Table {
    /// Read and parse a CSV file.
    pub fn read(path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parse CSV text; `source` names it in error messages.
    pub fn parse(text: &str, source: impl AsRef<Path>) -> Result<Table> {
        let source = source.as_ref().to_path_buf();
        let err = |line: usize, column: Option<String>, message: String| Error::Table {
            path: source.clone(),
            line,
            column,
            message,
        };
        let CsvBody {
            names: columns,
            rows: lines,
            ..
        } = split_header(text, false)
            .map_err(|(line, column, message)| err(line, column, message))?;

        let mut rows = Vec::new();
        let mut row_lines = Vec::new();
        for (line_no, line) in lines {
            let cells = split_cells(line).map_err(|m| err(line_no, None, m))?;
            if cells.len() != columns.len() {
                return Err(err(
                    line_no,
                    None,
                    format!(
                        "row has {} cells but the header has {} columns",
                        cells.len(),
                        columns.len()
                    ),
                ));
            }
            let row = cells
                .into_iter()
                .zip(&columns)
                .map(|(cell, name)| {
                    parse_number(&cell.text, cell.quoted)
                        .map_err(|m| err(line_no, Some(name.clone()), m))
                })
                .collect::<Result<Vec<_>>>()?;
            rows.push(row);
            row_lines.push(line_no);
        }
        Ok(Table {
            source,
            columns,
            rows,
            lines: row_lines,
        })
    }

    /// Index of a column, or an error listing the columns the table has.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::Table {
                path: self.source.clone(),
                line: 1,
                column: Some(name.to_string()),
                message: format!(
                    "no such column; the header has: {}",
                    self.columns.join(", ")
                ),
            })
    }

    /// All cells of one column.
    pub fn column(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let c = self.column_index(name)?;
        Ok(self.rows.iter().map(|r| r[c]).collect())
    }

    /// The rows where every listed feature and target is present, as a [`Dataset`]; rows
    /// with a missing value in any of those columns are dropped and counted.
    pub fn select(&self, features: &[String], targets: &[String]) -> Result<Selection> {
        if features.is_empty() || targets.is_empty() {
            return Err(Error::InvalidInput(
                "select at least one feature column and one target column".into(),
            ));
        }
        if let Some(t) = targets.iter().find(|t| features.contains(t)) {
            return Err(Error::InvalidInput(format!(
                "column \"{t}\" is both a feature and a target"
            )));
        }
        let fi = features
            .iter()
            .map(|f| self.column_index(f))
            .collect::<Result<Vec<_>>>()?;
        let ti = targets
            .iter()
            .map(|t| self.column_index(t))
            .collect::<Result<Vec<_>>>()?;
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut dropped = 0;
        for row in &self.rows {
            let x: Option<Vec<f64>> = fi.iter().map(|&i| row[i]).collect();
            let y: Option<Vec<f64>> = ti.iter().map(|&i| row[i]).collect();
            match (x, y) {
                (Some(x), Some(y)) => {
                    xs.push(x);
                    ys.push(y);
                }
                _ => dropped += 1,
            }
        }
        Ok(Selection {
            dataset: Dataset::new(features.to_vec(), targets.to_vec(), xs, ys)?,
            dropped,
        })
    }
}

/// A CSV text's non-blank lines (numbered from 1; BOM and CR removed) with its header
/// split and checked: no empty name, no name twice.
pub(crate) struct CsvBody<'a> {
    pub(crate) header_line: usize,
    pub(crate) names: Vec<String>,
    pub(crate) rows: Vec<(usize, &'a str)>,
}

/// Where a CSV text is wrong: line, column (if one), message.
pub(crate) type CsvError = (usize, Option<String>, String);

/// Split `text` into its header and data lines; `trim_names` also trims spaces inside
/// quoted header cells.
pub(crate) fn split_header(
    text: &str,
    trim_names: bool,
) -> std::result::Result<CsvBody<'_>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let (header_line, header) = lines.next().ok_or_else(|| {
        (
            1,
            None,
            "the file is empty; expected a header row".to_string(),
        )
    })?;
    let names: Vec<String> = split_cells(header)
        .map_err(|m| (header_line, None, m))?
        .into_iter()
        .map(|c| {
            if trim_names {
                c.text.trim().to_string()
            } else {
                c.text
            }
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err((
                header_line,
                None,
                format!("header cell {} is empty; every column needs a name", i + 1),
            ));
        }
        if names[..i].contains(name) {
            return Err((
                header_line,
                Some(name.clone()),
                "column name appears twice in the header".into(),
            ));
        }
    }
    Ok(CsvBody {
        header_line,
        names,
        rows: lines.collect(),
    })
}

pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) quoted: bool,
}

/// Split one CSV line into cells (quotes honoured, spaces outside quotes trimmed).
pub(crate) fn split_cells(line: &str) -> std::result::Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        // Leading spaces.
        while matches!(chars.peek(), Some(' ' | '\t')) {
            chars.next();
        }
        let mut text = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "cell {} opens a quote that is never closed",
                            cells.len() + 1
                        ))
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        text.push('"');
                    }
                    Some('"') => break,
                    Some(c) => text.push(c),
                }
            }
            while matches!(chars.peek(), Some(' ' | '\t')) {
                chars.next();
            }
            match chars.peek() {
                None | Some(',') => {}
                Some(c) => {
                    return Err(format!(
                        "cell {}: unexpected '{c}' after a closing quote",
                        cells.len() + 1
                    ))
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err(format!(
                        "cell {}: a quote in the middle of an unquoted cell; quote the whole cell and double inner quotes",
                        cells.len() + 1
                    ));
                }
                text.push(c);
                chars.next();
            }
            text.truncate(text.trim_end().len());
        }
        cells.push(Cell { text, quoted });
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(c) => unreachable!("cell splitter stopped at '{c}'"),
        }
    }
    Ok(cells)
}

pub(crate) fn parse_number(text: &str, quoted: bool) -> std::result::Result<Option<f64>, String> {
    let t = if quoted { text.trim() } else { text };
    if MISSING_MARKERS.contains(&t) {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(v) => Err(format!(
            "value \"{t}\" is {v}; cells must be finite numbers (write NA for a missing value)"
        )),
        Err(_) => Err(format!(
            "\"{t}\" is not a number (numeric cells only; write NA or leave empty for a missing value)"
        )),
    }
}
