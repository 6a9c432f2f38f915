//! A numeric table read from CSV: named columns, one `Option<f64>` per cell (`None` =
//! missing).
//!
//! Accepted input:
//! - a header row of column names, quoted (`"age"`) or not; names must be unique;
//! - numeric cells, with spaces around them allowed (`  3.5`), quoted or not;
//! - missing cells written `NA`, `NaN`, `nan` or left empty;
//! - quoted cells may contain commas, doubled quotes and line breaks (`"a,""b"""`);
//! - `\n`, `\r\n` or `\r` line ends, a UTF-8 byte-order mark; blank lines are skipped.
//!
//! The [`csv`] crate reads the records. Every problem is an [`Error::Table`] naming the
//! file, the 1-based line the row starts on and the column.
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

use super::records::{split_header, CsvBody};
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
        for record in lines {
            let line_no = record.line;
            let cells = record.cells;
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

/// A cell's number, `None` for a missing-value marker; quoted cells are trimmed first.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ColumnKind, TableSpec, TypedTable};

    const ROWS: [&str; 5] = ["x,\"label\",y", " 1.5, a ,NA", "", "\"2\",\"b, c\",3", ""];

    #[test]
    fn lf_crlf_and_cr_only_files_with_or_without_bom_read_alike() {
        let expected = Table {
            source: "t.csv".into(),
            columns: vec![
                "x".into(),
                "label=a".into(),
                "label=b, c".into(),
                "y".into(),
            ],
            rows: vec![
                vec![Some(1.5), Some(1.0), Some(0.0), None],
                vec![Some(2.0), Some(0.0), Some(1.0), Some(3.0)],
            ],
            lines: vec![2, 4],
        };
        for end in ["\n", "\r\n", "\r"] {
            for bom in ["", "\u{feff}"] {
                let text = format!("{bom}{}", ROWS.join(end));
                let typed = TypedTable::parse(&text, "t.csv", &TableSpec::default()).unwrap();
                assert_eq!(typed.to_table(), expected, "line end {end:?}, bom {bom:?}");
                let numeric =
                    Table::parse(&text.replace("b, c", "4").replace(" a ", "5"), "t.csv").unwrap();
                assert_eq!(numeric.columns, vec!["x", "label", "y"]);
                assert_eq!(numeric.lines, vec![2, 4]);
                assert_eq!(numeric.rows[1], vec![Some(2.0), Some(4.0), Some(3.0)]);
            }
        }
    }

    #[test]
    fn quoted_comma_and_line_break_keep_the_record_and_its_real_line() {
        let text = "id,note,v\n1,\"first, line\nsecond line\",7\n2,plain,8\n3,\"x\",NA\n";
        let typed = TypedTable::parse(text, "n.csv", &TableSpec::default()).unwrap();
        let ColumnKind::Categorical { levels } = &typed.column("note").unwrap().kind else {
            panic!("note is categorical");
        };
        assert_eq!(levels, &["first, line\nsecond line", "plain", "x"]);
        assert_eq!(typed.lines, vec![2, 4, 5]);
        // An error after the quoted line break names the row's own line.
        let e = Table::parse("a,b\n\"1\n\",2\n3,x\n", "n.csv").unwrap_err();
        assert!(e.to_string().starts_with("n.csv:4, column \"b\""), "{e}");
    }

    #[test]
    fn ragged_rows_are_typed_errors_naming_the_line() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "", "3,4,5", ""].join(end);
            let e = Table::parse(&text, "r.csv").unwrap_err();
            assert!(
                matches!(
                    &e,
                    Error::Table {
                        line: 4,
                        column: None,
                        ..
                    }
                ),
                "{end:?}: {e:?}"
            );
            assert!(
                e.to_string().contains("3 cells but the header has 2"),
                "{e}"
            );
            let e = TypedTable::parse(&text, "r.csv", &TableSpec::default()).unwrap_err();
            assert!(matches!(&e, Error::Table { line: 4, .. }), "{e:?}");
        }
    }

    #[test]
    fn duplicate_header_names_are_refused_quoted_or_not() {
        for text in [
            "a,b,a\n1,2,3\n",
            "a,\"b\",\"a\"\n1,2,3\n",
            "\r\na, b ,b\r1,2,3\r",
        ] {
            let e = Table::parse(text, "d.csv").unwrap_err();
            let Error::Table {
                column, message, ..
            } = &e
            else {
                panic!("{e:?}");
            };
            assert!(message.contains("twice"), "{e}");
            assert!(matches!(column.as_deref(), Some("a" | "b")), "{e}");
        }
        // Padding inside quotes counts for the numeric table, not for the typed one.
        assert!(Table::parse("\"a \",a\n1,2\n", "d.csv").is_ok());
        let e = TypedTable::parse("\"a \",a\n1,2\n", "d.csv", &TableSpec::default());
        assert!(e.unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn padded_text_and_missing_markers_read_as_before() {
        let text = "s,n\n  Male ,\" 2.5 \"\n\"Female \",\"\"\n\tMale\t, NA \nNaN,nan\n";
        let typed = TypedTable::parse(text, "p.csv", &TableSpec::default()).unwrap();
        let s = typed.column("s").unwrap();
        assert_eq!(
            s.kind,
            ColumnKind::Categorical {
                levels: vec!["Female".into(), "Male".into()]
            }
        );
        assert_eq!(s.cells, vec![Some(1.0), Some(0.0), Some(1.0), None]);
        assert_eq!(
            typed.column("n").unwrap().cells,
            vec![Some(2.5), None, None, None]
        );
        let numeric = Table::parse(&text.replace("Female", "1").replace("Male", "0"), "p.csv");
        assert_eq!(
            numeric.unwrap().rows,
            vec![
                vec![Some(0.0), Some(2.5)],
                vec![Some(1.0), None],
                vec![Some(0.0), None],
                vec![None, None]
            ]
        );
    }
}
