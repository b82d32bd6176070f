//! Progress of long operations (seeding, deleting in batches, pruning, repairing, benchmarking),
//! reported to whoever shows it. The library never draws: the CLI implements [`Progress`] with a
//! terminal progress bar, and library callers pass [`NoProgress`] or their own. It lives in the
//! lowest crate whose operations report it (repairs); `cascade_service::progress` re-exports it.

/// Receives progress of one long operation.
pub trait Progress: Send + Sync {
    /// A new phase with `total` units of work (rows, or statements where the label says so),
    /// labelled for display.
    fn start(&self, label: &str, total: u64);
    /// `done` more units finished.
    fn advance(&self, done: u64);
    /// The phase ended.
    fn finish(&self);
}

/// Ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: u64) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}
