//! The CLI's rendering of the library's [`Progress`] reports: an indicatif bar on stderr
//! (indicatif draws nothing when stderr is not a terminal).

use butterfly_mps::progress::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// The layout of most bars: what is counted comes from [`Progress::start`].
pub const COUNT: &str = "{bar:30} {pos}/{len} {prefix} · {elapsed} elapsed, ETA {eta} · {msg}";
/// For work counted in estimated cost rather than items.
pub const PERCENT: &str =
    "{bar:30} {percent:>3}% of est. work · {elapsed} elapsed, ETA {eta} · {msg}";

/// An indicatif bar that the library reports into (clones draw the same bar).
#[derive(Clone)]
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar with `template` (see [`COUNT`], [`PERCENT`]); its length is set on `start`.
    pub fn new(template: &str) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        Bar(bar)
    }

    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Bar(ProgressBar::hidden())
    }
}

impl From<ProgressBar> for Bar {
    /// Report into an existing bar (its style is kept).
    fn from(bar: ProgressBar) -> Self {
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, unit: &str) {
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_prefix(unit.to_string());
    }
    fn advance(&self, units: u64) {
        self.0.inc(units);
    }
    fn message(&self, text: &str) {
        self.0.set_message(text.to_string());
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Shows another report's messages on a bar, ignoring its counts (for example the
/// circuits an executor ran, under a bar that counts study steps).
pub struct MessagesOnly(pub Bar);

impl Progress for MessagesOnly {
    fn message(&self, text: &str) {
        self.0.message(text);
    }
}
