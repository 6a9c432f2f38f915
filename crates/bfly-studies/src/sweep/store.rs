//! The resumable results file of a sweep: JSON Lines, one [`PointRecord`] per finished
//! point, appended and fsynced as each point ends. On open, every complete line is loaded
//! and a last line cut short by a kill is dropped (the file is truncated back to the last
//! complete record), so a re-run skips exactly the points that finished.
//!
//! ```
//! use bfly_core::circuit::loaders::Loader;
//! use bfly_studies::sweep::{store::ResultStore, PointRecord, PointSpec};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("points.jsonl");
//! let spec = PointSpec::full(Loader::Angle, 8, 4, 1);
//! let mut store = ResultStore::open(&path).unwrap();
//! store.append(PointRecord::timeout(&spec, 1.0)).unwrap();
//! std::fs::OpenOptions::new().append(true).open(&path).unwrap()
//!     .write_all(b"{\"key\":\"half a li").unwrap(); // a kill mid-write
//! # use std::io::Write;
//! let store = ResultStore::open(&path).unwrap();
//! assert!(store.contains(&spec.key()));
//! assert_eq!(store.records().len(), 1);
//! assert_eq!(store.dropped_partial_line(), true);
//! ```

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::PointRecord;
use bfly_core::error::{Error, Result};

/// Append-only, crash-tolerant store of point records.
pub struct ResultStore {
    path: PathBuf,
    records: Vec<PointRecord>,
    index: HashMap<String, usize>,
    dropped_partial: bool,
}

impl ResultStore {
    /// Open (or create) the store at `path`, loading every complete record.
    ///
    /// A final line without its newline (a write cut by a kill) is discarded and the file
    /// truncated to the last complete line. A malformed *complete* line is corruption and
    /// is an error naming the line.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(path, e)),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let dropped_partial = complete < bytes.len();
        if dropped_partial {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            f.set_len(complete as u64)
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::io(path, e))?;
        }
        let text = std::str::from_utf8(&bytes[..complete]).map_err(|_| Error::CorruptFile {
            path: path.to_path_buf(),
            reason: "the sweep results file is not UTF-8 text".into(),
        })?;
        let mut store = ResultStore {
            path: path.to_path_buf(),
            records: Vec::new(),
            index: HashMap::new(),
            dropped_partial,
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: PointRecord =
                serde_json::from_str(line).map_err(|e| Error::CorruptFile {
                    path: path.to_path_buf(),
                    reason: format!(
                        "line {}: not a sweep point record ({e}); delete that line to re-run the point",
                        i + 1
                    ),
                })?;
            store.insert(record);
        }
        Ok(store)
    }

    fn insert(&mut self, record: PointRecord) {
        match self.index.get(&record.key) {
            Some(&i) => self.records[i] = record,
            None => {
                self.index.insert(record.key.clone(), self.records.len());
                self.records.push(record);
            }
        }
    }

    /// Append one finished point: written as one line and fsynced before returning.
    pub fn append(&mut self, record: PointRecord) -> Result<()> {
        let mut line = serde_json::to_string(&record).expect("records serialise");
        line.push('\n');
        let mut f: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        f.write_all(line.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&self.path, e))?;
        self.insert(record);
        Ok(())
    }

    /// Whether a point with this key has finished.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// The record of a finished point.
    pub fn get(&self, key: &str) -> Option<&PointRecord> {
        self.index.get(key).map(|&i| &self.records[i])
    }

    /// Every record, in the order first finished.
    pub fn records(&self) -> &[PointRecord] {
        &self.records
    }

    /// Whether opening dropped a partially written last line.
    pub fn dropped_partial_line(&self) -> bool {
        self.dropped_partial
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The CSV header matching [`csv_row`].
pub const CSV_HEADER: &str = "key,family,qubits,layers,chi,seed,cutoff,status,true_fidelity,fidelity_estimate,total_discarded_weight,max_bond,wall_seconds,peak_rss_bytes,mps_bytes,reference";

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// One CSV row (absent values are empty fields; the reference text is always quoted, a
/// quote inside it doubled as RFC 4180 says; the other fields are numbers and names that
/// never hold a comma or a quote).
///
/// Written by hand rather than with the csv crate: its writer quotes a field only when
/// needed (or every field), so it cannot keep this format's always-quoted last column
/// byte for byte.
pub fn csv_row(r: &PointRecord) -> String {
    let status = match r.status {
        super::PointStatus::Ok => "ok",
        super::PointStatus::Timeout => "timeout",
    };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
        r.key,
        r.spec.family,
        r.spec.qubits,
        r.spec.layers,
        r.spec.chi,
        r.spec.seed,
        r.spec.cutoff,
        status,
        opt(r.true_fidelity),
        opt(r.fidelity_estimate),
        opt(r.total_discarded_weight),
        opt(r.max_bond),
        r.wall_seconds,
        opt(r.peak_rss_bytes),
        opt(r.mps_bytes),
        r.reference
            .as_deref()
            .unwrap_or_default()
            .replace('"', "\"\""),
    )
}

/// Write `records` as CSV and as one JSON array next to each other (atomic writes).
pub fn write_tables(records: &[PointRecord], csv_path: &Path, json_path: &Path) -> Result<()> {
    let mut csv = String::from(CSV_HEADER);
    csv.push('\n');
    for r in records {
        csv.push_str(&csv_row(r));
        csv.push('\n');
    }
    bfly_core::io::write_atomic(csv_path, csv.as_bytes())?;
    bfly_core::io::write_atomic(
        json_path,
        &serde_json::to_vec_pretty(records).expect("records serialise"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{PointSpec, PointStatus};
    use bfly_core::circuit::loaders::Loader;

    fn record(reference: Option<&str>) -> PointRecord {
        let spec = PointSpec::full(Loader::HammingWeight(2), 16, 4, 1);
        PointRecord {
            status: PointStatus::Ok,
            true_fidelity: Some(0.5),
            reference: reference.map(str::to_string),
            fidelity_estimate: Some(0.25),
            total_discarded_weight: Some(1e-30),
            max_bond: Some(4),
            peak_rss_bytes: Some(1024),
            mps_bytes: Some(640),
            ..PointRecord::timeout(&spec, 0.125)
        }
    }

    #[test]
    fn csv_rows_keep_their_format() {
        assert_eq!(
            csv_row(&record(Some("untruncated MPS (max bond 10), checked"))),
            "hw2/n16/L4/chi4/s1/c0e0,hw2,16,4,4,1,0,ok,0.5,0.25,0.000000000000000000000000000001,4,0.125,1024,640,\"untruncated MPS (max bond 10), checked\""
        );
        let timeout = PointRecord::timeout(&PointSpec::full(Loader::Angle, 32, 8, 2), 60.0);
        assert_eq!(
            csv_row(&timeout),
            "angle/n32/L5/chi8/s2/c0e0,angle,32,5,8,2,0,timeout,,,,,60,,,\"\""
        );
    }

    #[test]
    fn csv_tables_read_back_with_quotes_and_commas_in_the_reference() {
        let dir = tempfile::tempdir().unwrap();
        let (csv, json) = (dir.path().join("t.csv"), dir.path().join("t.json"));
        let odd = "exact, \"statevector\"\nsecond line";
        write_tables(&[record(Some(odd)), record(None)], &csv, &json).unwrap();
        let spec = bfly_train::data::TableSpec {
            categorical: vec!["reference".into()],
            ..Default::default()
        };
        let table = bfly_train::data::TypedTable::read(&csv, &spec).unwrap();
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, CSV_HEADER.split(',').collect::<Vec<_>>());
        let reference = table.column("reference").unwrap();
        assert_eq!(
            reference.kind,
            bfly_train::data::ColumnKind::Categorical {
                levels: vec![odd.to_string()]
            }
        );
        assert_eq!(reference.cells, vec![Some(0.0), None]);
        assert_eq!(table.lines, vec![2, 4]);
    }
}
