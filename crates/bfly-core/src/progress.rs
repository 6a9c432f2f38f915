//! How long-running library calls report progress, without knowing who renders it.
//!
//! Every long call of the workspace (noisy trajectories, sweeps, batched inference, study
//! rows run through an executor) takes a `&dyn Progress` (or an `Arc<dyn Progress>` when it
//! keeps it). The library says what it is doing; the caller decides how it looks: the
//! `bfly` CLI draws indicatif bars, a Python binding could forward to `tqdm`, a test can
//! count. [`NoProgress`] ignores everything.
//!
//! Methods take `&self` and the trait is `Send + Sync`, because the work reporting into it
//! runs on rayon threads.
//!
//! ```
//! use bfly_core::progress::{NoProgress, Progress};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! #[derive(Default)]
//! struct Count(AtomicU64);
//! impl Progress for Count {
//!     fn advance(&self, units: u64) {
//!         self.0.fetch_add(units, Ordering::Relaxed);
//!     }
//! }
//!
//! fn work(progress: &dyn Progress) {
//!     progress.start(3, "items");
//!     for _ in 0..3 {
//!         progress.advance(1);
//!     }
//!     progress.finish();
//! }
//! let count = Count::default();
//! work(&count);
//! work(&NoProgress);
//! assert_eq!(count.0.load(Ordering::Relaxed), 3);
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

/// Receives the progress of one long call. Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// Work of `total` units begins; `unit` names what is counted ("trajectories",
    /// "points", "rows", "circuits"). May be called again to start a new phase.
    fn start(&self, total: u64, unit: &str) {
        let _ = (total, unit);
    }
    /// `units` more units are done.
    fn advance(&self, units: u64) {
        let _ = units;
    }
    /// What is running now (a point's key, an executor's name).
    fn message(&self, text: &str) {
        let _ = text;
    }
    /// The work has ended (it is also called when it ended with an error).
    fn finish(&self) {}
}

/// Ignores all progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Calls [`Progress::finish`] when dropped, so that a call that returns early with an
/// error still ends its progress.
pub struct FinishOnDrop<'a>(pub &'a dyn Progress);

impl Drop for FinishOnDrop<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Records what it is told: the last total, the units done, the messages, whether the work
/// finished. For callers that poll instead of drawing (a binding, a test).
#[derive(Debug, Default)]
pub struct Tally {
    total: AtomicU64,
    done: AtomicU64,
    finished: AtomicBool,
    messages: Mutex<Vec<String>>,
}

impl Tally {
    /// The total of the last [`Progress::start`].
    pub fn total(&self) -> u64 {
        self.total.load(SeqCst)
    }
    /// Units advanced since the last start.
    pub fn done(&self) -> u64 {
        self.done.load(SeqCst)
    }
    /// Whether [`Progress::finish`] was called.
    pub fn finished(&self) -> bool {
        self.finished.load(SeqCst)
    }
    /// Every message so far, in the order they arrived.
    pub fn messages(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Progress for Tally {
    fn start(&self, total: u64, _unit: &str) {
        self.total.store(total, SeqCst);
        self.done.store(0, SeqCst);
        self.finished.store(false, SeqCst);
    }
    fn advance(&self, units: u64) {
        self.done.fetch_add(units, SeqCst);
    }
    fn message(&self, text: &str) {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text.to_string());
    }
    fn finish(&self) {
        self.finished.store(true, SeqCst);
    }
}
