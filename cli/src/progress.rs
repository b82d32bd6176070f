//! Progress bars on a terminal (indicatif), for the library's [`Progress`] reports; hidden when
//! stderr is not a terminal or the output is JSON.

use std::io::IsTerminal;

use cascade_service::progress::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// Smaller operations finish before a bar would be useful (rows; statements count as many).
const MIN_ROWS: u64 = 10_000;

/// A terminal progress bar per phase (rows/s and ETA).
#[derive(Debug)]
pub(crate) struct Bar {
    bar: std::sync::Mutex<Option<ProgressBar>>,
    visible: bool,
}

impl Bar {
    /// A bar that draws only on a terminal, and never under `--json`.
    pub(crate) fn new(json: bool) -> Bar {
        Bar {
            bar: std::sync::Mutex::new(None),
            visible: !json && std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, label: &str, total: u64) {
        // A statement of a repair can scan a whole table: always worth a bar.
        let worth_it = total >= MIN_ROWS || label.contains("statements");
        if !self.visible || !worth_it {
            return;
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{label} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"
        )) {
            bar.set_style(style);
        }
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, done: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(done);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}
