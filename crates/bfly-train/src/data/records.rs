//! CSV text → records of cells, each record with its 1-based source line, read by the
//! [`csv`] crate: RFC 4180 quoting (commas, doubled quotes and line breaks inside quoted
//! cells), `\n`, `\r\n` and old-Mac `\r` line ends, a leading UTF-8 byte-order mark.
//!
//! Two things the crate does not give are added here:
//! - **Source lines.** The crate's `Position::line` counts `\n` bytes only and is taken
//!   before the line end that precedes a record is skipped, so rows of a CR-only file, or
//!   rows after a CRLF or a blank line, get the wrong number. Lines are computed instead
//!   from the record's byte offset (`Position::byte`) with the crate's own line-end rule.
//! - **Strict quoting.** The crate is lenient by design: it never reports malformed
//!   quoting and does not say whether a field was quoted. Each record's raw text is
//!   checked against the fields the crate returned, so that a quote never closed, text
//!   after a closing quote, or a quote inside an unquoted cell is an error naming the
//!   line, as it was before the crate was used. Spaces before an opening quote
//!   (`a, "b"`), which that reader accepted, still are, as long as the quoted text holds
//!   no comma or line break.
//!
//! Unquoted cells lose leading spaces and tabs and trailing whitespace; quoted cells keep
//! their text as written. Lines holding only whitespace are skipped.

/// One cell: its text (unquoted, unescaped) and whether it was written in quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) quoted: bool,
}

/// One record (a row, or the header) and the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) line: usize,
    pub(crate) cells: Vec<Cell>,
}

/// Where a CSV text is wrong: line, column (if one), message.
pub(crate) type CsvError = (usize, Option<String>, String);

/// A CSV text's header (names checked: none empty, none twice) and data records.
pub(crate) struct CsvBody {
    pub(crate) header_line: usize,
    pub(crate) names: Vec<String>,
    pub(crate) rows: Vec<Record>,
}

/// Read `text` into its header and data records; `trim_names` also trims spaces inside
/// quoted header cells.
pub(crate) fn split_header(text: &str, trim_names: bool) -> Result<CsvBody, CsvError> {
    let mut records = read_records(text)?.into_iter();
    let header = records.next().ok_or_else(|| {
        (
            1,
            None,
            "the file is empty; expected a header row".to_string(),
        )
    })?;
    let names: Vec<String> = header
        .cells
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
                header.line,
                None,
                format!("header cell {} is empty; every column needs a name", i + 1),
            ));
        }
        if names[..i].contains(name) {
            return Err((
                header.line,
                Some(name.clone()),
                "column name appears twice in the header".into(),
            ));
        }
    }
    Ok(CsvBody {
        header_line: header.line,
        names,
        rows: records.collect(),
    })
}

/// Every non-blank record of `text`, in order.
pub(crate) fn read_records(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = LineStarts::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut records = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(1, |p| lines.line_of(usize::try_from(p.byte()).unwrap_or(0)));
                return Err((line, None, e.to_string()));
            }
        }
        // The reader's position is where it began scanning: before the line end(s) that
        // precede the record.
        let scan = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        let start = scan
            + text.as_bytes()[scan..]
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        let line = lines.line_of(start);
        let cells = cells_of(&text[start..], &record).map_err(|m| (line, None, m))?;
        let blank = matches!(cells.as_slice(), [c] if !c.quoted && c.text.is_empty());
        if !blank {
            records.push(Record { line, cells });
        }
    }
    Ok(records)
}

/// The cells of `record`, checked against `raw`, the text from the record's first byte.
fn cells_of(raw: &str, record: &csv::StringRecord) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::with_capacity(record.len());
    let mut pos = 0;
    for (i, value) in record.iter().enumerate() {
        let n = i + 1;
        let rest = &raw[pos..];
        let (cell, used) = if rest.starts_with('"') {
            quoted_cell(rest, value, n)?
        } else if rest.starts_with(value) {
            (plain_cell(value, n)?, value.len())
        } else {
            return Err(format!("cell {n}: malformed quoting"));
        };
        pos += used;
        let next = raw.as_bytes().get(pos);
        let expected = if n < record.len() {
            next == Some(&b',')
        } else {
            matches!(next, None | Some(b'\r' | b'\n'))
        };
        if !expected {
            return Err(format!("cell {n}: malformed quoting"));
        }
        pos += 1;
        cells.push(cell);
    }
    Ok(cells)
}

/// A cell that starts with a quote: `rest` is the raw text from that quote, `value` what
/// the csv crate read (the quoted text, then any text after the closing quote).
/// Returns the cell and the raw length it spans.
fn quoted_cell(rest: &str, value: &str, n: usize) -> Result<(Cell, usize), String> {
    let Some(len) = quoted_len(rest) else {
        return Err(format!("cell {n} opens a quote that is never closed"));
    };
    // The quoted text is `value`'s first bytes: the raw inside less one byte per `""`.
    let inside = &rest[1..len - 1];
    let text_len = inside.len() - inside.matches("\"\"").count();
    let Some((text, after)) = value.split_at_checked(text_len) else {
        return Err(format!("cell {n}: malformed quoting"));
    };
    check_after_quote(after, n)?;
    Ok((
        Cell {
            text: text.to_string(),
            quoted: true,
        },
        len + after.len(),
    ))
}

/// A cell that does not start with a quote, as the csv crate read it.
fn plain_cell(value: &str, n: usize) -> Result<Cell, String> {
    let text = value.trim_start_matches([' ', '\t']);
    if !text.contains('"') {
        return Ok(Cell {
            text: text.trim_end().to_string(),
            quoted: false,
        });
    }
    if !text.starts_with('"') {
        return Err(format!(
            "cell {n}: a quote in the middle of an unquoted cell; quote the whole cell and double inner quotes"
        ));
    }
    // Spaces before an opening quote: the csv crate read the quotes as text.
    let Some(len) = quoted_len(text) else {
        return Err(format!(
            "cell {n}: spaces before an opening quote whose cell does not end with a closing quote; a quoted cell holding a comma or a line break must start with its quote"
        ));
    };
    check_after_quote(&text[len..], n)?;
    Ok(Cell {
        text: text[1..len - 1].replace("\"\"", "\""),
        quoted: true,
    })
}

/// Only spaces and tabs may follow a closing quote.
fn check_after_quote(after: &str, n: usize) -> Result<(), String> {
    match after.chars().find(|c| !matches!(c, ' ' | '\t')) {
        None => Ok(()),
        Some(c) => Err(format!("cell {n}: unexpected '{c}' after a closing quote")),
    }
}

/// Length of the quoted text at the start of `s` (`"…"`, `""` standing for a quote),
/// both quotes included, or `None` if the quote is never closed.
fn quoted_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// Byte offsets at which lines start; `\n`, `\r\n` and a lone `\r` end a line (the csv
/// crate's default terminator).
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineStarts(starts)
    }

    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(usize, Vec<String>)> {
        read_records(text)
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.cells.into_iter().map(|c| c.text).collect()))
            .collect()
    }

    fn row(line: usize, cells: &[&str]) -> (usize, Vec<String>) {
        (line, cells.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn lf_crlf_and_cr_line_ends_give_the_same_records_and_lines() {
        let expected = vec![
            row(1, &["a", "b"]),
            row(2, &["1", "2"]),
            row(4, &["3", "4"]),
        ];
        for end in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "", "3,4", ""].join(end);
            assert_eq!(texts(&text), expected, "line end {end:?}");
        }
        // Mixed line ends in one file.
        assert_eq!(
            texts("a,b\r\n1,2\r3,4\n5,6"),
            vec![
                row(1, &["a", "b"]),
                row(2, &["1", "2"]),
                row(3, &["3", "4"]),
                row(4, &["5", "6"])
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_name() {
        assert_eq!(
            texts("\u{feff}\"a\",b\n1,2\n"),
            vec![row(1, &["a", "b"]), row(2, &["1", "2"])]
        );
    }

    #[test]
    fn quoted_cells_hold_commas_quotes_and_line_breaks_and_lines_stay_true() {
        let text = "name,v\n\"x, \"\"y\"\"\nz\",1\r\n\"w\",2\n";
        assert_eq!(
            texts(text),
            vec![
                row(1, &["name", "v"]),
                row(2, &["x, \"y\"\nz", "1"]),
                row(4, &["w", "2"])
            ]
        );
    }

    #[test]
    fn padding_is_trimmed_outside_quotes_only() {
        let records = read_records("a,b,c\n  x \t, \" y \" ,\"\"\n").unwrap();
        let cells = &records[1].cells;
        assert_eq!(
            cells,
            &vec![
                Cell {
                    text: "x".into(),
                    quoted: false
                },
                Cell {
                    text: " y ".into(),
                    quoted: true
                },
                Cell {
                    text: String::new(),
                    quoted: true
                }
            ]
        );
    }

    #[test]
    fn whitespace_only_lines_are_skipped_but_a_quoted_empty_cell_is_a_row() {
        assert_eq!(
            texts("a\n  \n\"\"\n1\n"),
            vec![row(1, &["a"]), row(3, &[""]), row(4, &["1"])]
        );
    }

    #[test]
    fn malformed_quoting_is_an_error_naming_the_line() {
        let err = |text: &str| read_records(text).unwrap_err();
        let (line, _, m) = err("a,b\n1,2\n3,\"4\n5,6\n");
        assert_eq!(line, 3);
        assert!(m.contains("cell 2") && m.contains("never closed"), "{m}");
        let (line, _, m) = err("a,b\n\"1\"x,2\n");
        assert_eq!(line, 2);
        assert!(m.contains("unexpected 'x' after a closing quote"), "{m}");
        let (line, _, m) = err("a,b\r\r1,2\"x\"\r");
        assert_eq!(line, 3);
        assert!(m.contains("quote in the middle"), "{m}");
        let (_, _, m) = err("a,b\n \"1,2\",3\n");
        assert!(m.contains("spaces before an opening quote"), "{m}");
        let (_, _, m) = err("a,b\n \"1\" x,3\n");
        assert!(m.contains("unexpected 'x'"), "{m}");
    }

    #[test]
    fn duplicate_and_empty_header_names_are_refused() {
        let e = split_header("a, \"a\"\n1,2\n", false).err().unwrap();
        assert_eq!((e.0, e.1.as_deref()), (1, Some("a")));
        assert!(e.2.contains("twice"));
        let e = split_header("\n\na,,c\n", false).err().unwrap();
        assert_eq!(e.0, 3);
        assert!(e.2.contains("header cell 2 is empty"));
        // Trimmed names can collide where untrimmed ones do not.
        assert!(split_header("\" a\",a\n", false).is_ok());
        assert!(split_header("\" a\",a\n", true).is_err());
    }
}
