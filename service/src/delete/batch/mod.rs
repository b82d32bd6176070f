//! Batched deletes (`--batch-rows N`): the same delete as the one-shot ORM mode, carried out in
//! transactions of at most N affected rows (deleted + rewritten) each, so no transaction holds
//! locks long, no statement runs long, and no cluster write set grows past its cap.
//!
//! A delete runs in *rounds* on one dedicated session ([`crate::connect::dedicated`]), whose
//! temporary work tables outlive the commits of the batches:
//!
//! 1. **Verdict first.** One transaction derives the closure of the root selection and judges it
//!    exactly as the one-shot delete does ([`super::derive`]); a refusal changes nothing. Shapes
//!    whose batched outcome could differ from the one-shot one are refused as `unsupported`
//!    before anything changes (a rewrite that updates a referenced key, a rewrite of root-table
//!    rows, which the selection might then match differently, a cycle through two or more
//!    tables).
//! 2. **Batches.** Each batch is one transaction of a few set-based statements per step: keys
//!    picked into a per-table pick table with `LIMIT` (the remaining budget, bound), then one
//!    `UPDATE` or `DELETE` by those keys. First the SET NULL / SET DEFAULT rewrites of surviving
//!    rows (the executor's own statements, restricted to the picked keys), then the deletes,
//!    tables children first, and within a table only *leaves*: rows no existing row references
//!    through any FK. So every committed batch leaves a database the rules allow: no dangling
//!    reference, no reference to a deleted row left un-nulled, and every row still to delete is
//!    still reachable from a root row (a row goes only after everything referencing it), which
//!    makes the delete resumable: running it again re-derives the rest from the same selection.
//! 3. **Re-derivation.** Rows no batch can take (referenced by a row written after the verdict)
//!    end the round; the next round derives and judges again: a new CASCADE child is deleted
//!    with the rest, a new RESTRICT child refuses, and a round that cannot progress stops with
//!    [`DeleteError::Blocked`]. Every stop is a [`BatchStopped`]: what was done, what is left,
//!    why.
//!
//! A data cycle within one table (rows referencing each other) has no leaf: its remaining rows
//! are deleted by one statement, as the one-shot delete does, even if that exceeds N (the
//! report's `largest_batch` says so).

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::report::{ColumnUpdate, DeleteError, DeleteMode, DeleteReport, Effect};
use super::retry::{self, RetriedConflict};
use super::{DeleteOptions, Selection, effective_rules};
use crate::progress::Progress;

mod round;
mod steps;

use round::{drop_round, plan_round, remaining};
use steps::{BatchDone, Cursor, End, run_batch};

/// How a batched delete went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    /// The bound asked for: affected rows (deleted + rewritten) per transaction.
    pub batch_rows: u64,
    /// Committed batches that changed rows.
    pub batches: u64,
    /// Rows affected by the largest batch (above `batch_rows` only for a data cycle in one
    /// table, which one statement must delete).
    pub largest_batch: u64,
    /// The longest batch's transaction, begin to commit, in milliseconds.
    pub longest_batch_ms: u64,
    /// Times the closure was derived and judged (1, unless rows written meanwhile blocked).
    pub rounds: u32,
    /// Whether the delete finished; `false` after `max_batches`, or in a [`BatchStopped`].
    pub complete: bool,
    /// What is still to do (the plan of the rest), when the delete did not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left: Option<Effect>,
}

/// A batched delete that stopped part-way: every batch in `report` committed and left a
/// consistent database; `cause` is why the next one could not. Running the same delete again
/// continues from where it stopped.
#[derive(Debug)]
pub struct BatchStopped {
    /// What was done (rows deleted and rewritten, summed over batches) and what is left.
    pub report: DeleteReport,
    /// Why it stopped.
    pub cause: DeleteError,
}

impl std::fmt::Display for BatchStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let batches = self.report.batches.as_ref();
        let rewritten: u64 = self.report.effect.updated.iter().map(|u| u.rows).sum();
        write!(
            f,
            "batched delete stopped after {} committed batch(es) ({} rows deleted, {rewritten} \
             rewritten; the database is consistent): {}",
            batches.map_or(0, |b| b.batches),
            self.report.effect.total_deleted(),
            self.cause
        )?;
        if let Some(left) = batches.and_then(|b| b.left.as_ref()) {
            let rewrites: u64 = left.updated.iter().map(|u| u.rows).sum();
            write!(
                f,
                "; left: {} rows to delete, {rewrites} to rewrite",
                left.total_deleted()
            )?;
        }
        write!(f, "; run the same delete again to continue")
    }
}

/// Runs a batched delete on `db` (see the module docs); `rows` is at least 1.
pub(crate) async fn delete(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    options: DeleteOptions,
    rows: u64,
    progress: &dyn Progress,
) -> Result<DeleteReport, DeleteError> {
    let conn = crate::connect::dedicated(db).await?;
    let dialect = Dialect::from(conn.get_database_backend());
    let graph = effective_rules(graph, dialect, DeleteMode::Orm);
    let mut run = Run {
        conn: &conn,
        graph: &graph,
        table,
        selection,
        options,
        tally: Tally::default(),
        summary: BatchSummary {
            batch_rows: rows,
            batches: 0,
            largest_batch: 0,
            longest_batch_ms: 0,
            rounds: 0,
            complete: false,
            left: None,
        },
        depth: 0,
        statements: 0,
        conflicts: Vec::new(),
    };
    let outcome = run.rounds(progress).await;
    progress.finish();
    let outcome = match outcome {
        Ok(()) => Ok(run.report()),
        Err(cause) if run.summary.batches == 0 && run.summary.rounds <= 1 => Err(cause),
        Err(cause) => {
            run.summary.left = remaining(&conn, &graph, table, selection).await.ok();
            Err(DeleteError::BatchStopped(Box::new(BatchStopped {
                report: run.report(),
                cause,
            })))
        }
    };
    // Closing the session drops every work table left.
    let _ = conn.close().await;
    outcome
}

/// One batched delete in progress.
struct Run<'a> {
    conn: &'a DatabaseConnection,
    graph: &'a RuleGraph,
    table: &'a str,
    selection: &'a Selection,
    options: DeleteOptions,
    tally: Tally,
    summary: BatchSummary,
    depth: u32,
    statements: u64,
    conflicts: Vec<RetriedConflict>,
}

impl Run<'_> {
    async fn rounds(&mut self, progress: &dyn Progress) -> Result<(), DeleteError> {
        let attempts = self.options.attempts.max(1);
        loop {
            self.summary.rounds += 1;
            let first = self.summary.rounds == 1;
            let round = match plan_round(self.conn, self.graph, self.table, self.selection).await {
                Ok((round, statements)) => {
                    self.statements += statements;
                    round
                }
                // Everything the selection picked is gone: finished (by us, or by someone).
                Err(DeleteError::NothingMatched { .. }) if !first => {
                    self.summary.complete = true;
                    return Ok(());
                }
                Err(error) => return Err(error),
            };
            if first {
                self.depth = round.effect.depth;
                let rewrites: u64 = round.effect.updated.iter().map(|u| u.rows).sum();
                progress.start(
                    "deleting in batches (rows)",
                    round.effect.total_deleted() + rewrites,
                );
            }
            let mut cursor = Cursor::default();
            let mut progressed = false;
            let end = loop {
                if self
                    .options
                    .max_batches
                    .is_some_and(|max| self.summary.batches >= max)
                {
                    break End::MaxBatches;
                }
                let budget = self.summary.batch_rows;
                let attempt = || run_batch(self.conn, self.graph, &round, cursor, budget);
                let (done, conflicts) = match retry::with_retries(attempts, attempt).await {
                    Ok(done) => done,
                    Err(error) => {
                        drop_round(self.conn, &round).await;
                        return Err(retry::write_set_limit(self.conn, error).await);
                    }
                };
                self.conflicts.extend(conflicts);
                self.statements += done.statements;
                if done.rows > 0 {
                    progressed = true;
                    self.summary.batches += 1;
                    self.summary.largest_batch = self.summary.largest_batch.max(done.rows);
                    self.summary.longest_batch_ms = self.summary.longest_batch_ms.max(done.millis);
                    progress.advance(done.rows);
                }
                self.tally.add(&done);
                cursor = done.cursor;
                if done.end != End::More {
                    break done.end;
                }
            };
            drop_round(self.conn, &round).await;
            match end {
                End::More | End::Finished => {
                    self.summary.complete = true;
                    return Ok(());
                }
                End::MaxBatches => {
                    match remaining(self.conn, self.graph, self.table, self.selection).await {
                        // The last batch took the last rows.
                        Err(DeleteError::NothingMatched { .. }) => self.summary.complete = true,
                        left => self.summary.left = left.ok(),
                    }
                    return Ok(());
                }
                End::Stuck { table, rows } if !progressed => {
                    return Err(DeleteError::Blocked { table, rows });
                }
                End::Stuck { .. } => {}
            }
        }
    }

    fn report(&self) -> DeleteReport {
        DeleteReport {
            mode: DeleteMode::Orm,
            dialect: Dialect::from(self.conn.get_database_backend()),
            effect: Effect {
                root: self.table.to_owned(),
                deleted: self.tally.deleted.clone(),
                updated: self.tally.updated.clone(),
                depth: self.depth,
            },
            statements: self.statements,
            dry_run: false,
            attempts: u32::try_from(self.conflicts.len()).map_or(u32::MAX, |n| n + 1),
            conflicts: self.conflicts.clone(),
            batches: Some(self.summary.clone()),
        }
    }
}

/// Rows deleted and rewritten so far.
#[derive(Debug, Default)]
struct Tally {
    deleted: BTreeMap<String, u64>,
    updated: Vec<ColumnUpdate>,
}

impl Tally {
    fn add(&mut self, done: &BatchDone) {
        for (table, rows) in &done.deleted {
            *self.deleted.entry(table.clone()).or_default() += rows;
        }
        for update in &done.updated {
            match self.updated.iter_mut().find(|u| {
                u.table == update.table && u.columns == update.columns && u.action == update.action
            }) {
                Some(known) => known.rows += update.rows,
                None => self.updated.push(update.clone()),
            }
        }
    }
}
