//! Running one sweep point in a child process (`bfly sweep point`), so that its peak memory
//! is its own and a time budget is enforced by killing it.
//!
//! Protocol on the child's stdout: a line `ran <seconds>` as soon as the MPS run ends (the
//! budget covers the run only, not the reference), then the [`PointRecord`] as one JSON
//! line. The parent kills the child if `ran` does not arrive within the budget and records
//! a [`PointStatus::Timeout`](super::PointStatus::Timeout).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{finish_point, run_mps_point, PointRecord, PointSpec};
use bfly_core::error::{Error, Result};

/// The child's side: run `spec`, announce the end of the run, then print the record.
pub fn child_main(spec: &PointSpec, reference_dir: &Path, out: &mut impl Write) -> Result<()> {
    let ran = run_mps_point(spec)?;
    writeln!(out, "ran {}", ran.seconds)
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    let record = finish_point(spec, ran, reference_dir)?;
    writeln!(
        out,
        "{}",
        serde_json::to_string(&record).expect("records serialise")
    )
    .and_then(|_| out.flush())
    .map_err(|e| Error::io("<stdout>", e))
}

/// How the drivers run points.
#[derive(Clone, Debug)]
pub struct Worker {
    /// The `bfly` executable (the CLI passes `std::env::current_exe()`).
    pub exe: PathBuf,
    /// Folder of cached exact references.
    pub reference_dir: PathBuf,
    /// Kill a point whose MPS run takes longer than this.
    pub time_budget: Option<Duration>,
}

impl Worker {
    /// Run `spec` in a child process; `Ok(record)` for a finished or timed-out point, an
    /// error if the child failed or was killed by someone else (re-running resumes there).
    pub fn run(&self, spec: &PointSpec) -> Result<PointRecord> {
        let key = spec.key();
        let spec_json = serde_json::to_string(spec).expect("specs serialise");
        let mut child = Command::new(&self.exe)
            .args(["sweep", "point", "--spec", &spec_json, "--reference-dir"])
            .arg(&self.reference_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(&self.exe, e))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let first = match self.time_budget {
            Some(budget) => match rx.recv_timeout(budget) {
                Ok(line) => Some(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = reader.join();
                    let _ = err_reader.join();
                    return Ok(PointRecord::timeout(spec, budget.as_secs_f64()));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
            },
            None => rx.recv().ok(),
        };
        let second = first.as_ref().and_then(|_| rx.recv().ok());
        let status = child.wait().map_err(|e| Error::io(&self.exe, e))?;
        let _ = reader.join();
        let stderr_text = err_reader.join().unwrap_or_default();
        if !status.success() {
            let message = match status.code() {
                Some(code) => format!(
                    "worker exited with code {code}: {}",
                    stderr_text.trim().trim_start_matches("error: ")
                ),
                None => format!(
                    "worker was killed from outside ({status}); re-run the same command to resume from this point"
                ),
            };
            return Err(Error::SweepPoint { key, message });
        }
        let line = second.ok_or_else(|| Error::SweepPoint {
            key: key.clone(),
            message: "worker exited without printing its record".into(),
        })?;
        serde_json::from_str(&line).map_err(|e| Error::SweepPoint {
            key,
            message: format!("worker printed an unreadable record ({e}): {line}"),
        })
    }
}
