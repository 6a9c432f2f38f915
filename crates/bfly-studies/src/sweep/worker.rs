//! Running one sweep point in a child process, so that its peak memory is its own and a
//! time budget is enforced by killing it.
//!
//! The library does not know how the child is started: the caller gives a
//! [`ChildCommand`] (the `bfly` CLI gives its own executable and its hidden point
//! subcommand), and the child calls [`child_main`] on its stdin and stdout.
//!
//! Protocol: the parent writes one [`PointRequest`] as JSON on the child's stdin and closes
//! it. On its stdout the child prints a line `ran <seconds>` as soon as the MPS run ends
//! (the budget covers the run only, not the reference), then the [`PointRecord`] as one
//! JSON line. The parent kills the child if `ran` does not arrive within the budget and
//! records a [`PointStatus::Timeout`](super::PointStatus::Timeout).

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{finish_point, run_mps_point, PointRecord, PointSpec};
use bfly_core::error::{Error, Result};

/// What the parent asks of one child: a point and where the cached references live.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointRequest {
    /// The point to run.
    pub spec: PointSpec,
    /// Folder of cached exact references.
    pub reference_dir: PathBuf,
}

/// The child's side: read a [`PointRequest`] from `input`, run it, announce the end of the
/// run on `out`, then print the record there.
pub fn child_main(input: impl Read, out: &mut impl Write) -> Result<()> {
    let request: PointRequest = serde_json::from_reader(input).map_err(|source| Error::Json {
        context: "sweep point request (stdin)".into(),
        source,
    })?;
    let ran = run_mps_point(&request.spec)?;
    writeln!(out, "ran {}", ran.seconds)
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    let record = finish_point(&request.spec, ran, &request.reference_dir)?;
    writeln!(
        out,
        "{}",
        serde_json::to_string(&record).expect("records serialise")
    )
    .and_then(|_| out.flush())
    .map_err(|e| Error::io("<stdout>", e))
}

/// How to start a process that runs [`child_main`] on its stdin and stdout.
#[derive(Clone, Debug)]
pub struct ChildCommand {
    /// The program (the CLI passes `std::env::current_exe()`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// How the drivers run points.
#[derive(Clone, Debug)]
pub struct Worker {
    /// How a point's child process is started.
    pub child: ChildCommand,
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
        let request = serde_json::to_vec(&PointRequest {
            spec: *spec,
            reference_dir: self.reference_dir.clone(),
        })
        .expect("requests serialise");
        let program = &self.child.program;
        let mut child = Command::new(program)
            .args(&self.child.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(program, e))?;
        {
            // Dropping stdin closes it, so the child's reader sees the end of the request.
            let mut stdin = child.stdin.take().expect("piped stdin");
            if let Err(e) = stdin.write_all(&request) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::io(program, e));
            }
        }
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
        let status = child.wait().map_err(|e| Error::io(program, e))?;
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
