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
use cascade_entity::rules::{Dialect, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait, Value};
use serde::Serialize;

use super::closure::Closure;
use super::effects::{Counts, EdgeEffect};
use super::engine::engine;
use super::execute::{engine_refusal, update_statement};
use super::locks;
use super::report::{
    ColumnUpdate, DeleteError, DeleteMode, DeleteReport, Effect, Refusal, RefusalKind,
};
use super::retry::{self, RetriedConflict};
use super::session::Session;
use super::{DeleteOptions, Derived, Selection, derive, effective_rules};
use crate::progress::Progress;

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

/// One round's derived closure, in work tables of the dedicated session.
struct Round {
    closure: Closure,
    effect: Effect,
    /// Rewrites, grouped per child table as the executor groups them.
    groups: Vec<RewriteGroup>,
    /// Tables losing rows, children first.
    tables: Vec<String>,
    /// Pick table per table name.
    picks: BTreeMap<String, String>,
}

struct RewriteGroup {
    table: String,
    effects: Vec<EdgeEffect>,
}

/// Where the batches are: rewrite group, then table, in order.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    group: usize,
    table: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// The budget is spent; more to do.
    More,
    /// The round's closure is deleted.
    Finished,
    /// Rows of `table` that no batch can take: something outside the closure references them.
    Stuck { table: String, rows: u64 },
    /// `max_batches` reached.
    MaxBatches,
}

/// What one committed batch did.
struct BatchDone {
    cursor: Cursor,
    rows: u64,
    deleted: BTreeMap<String, u64>,
    updated: Vec<ColumnUpdate>,
    statements: u64,
    /// Begin to commit.
    millis: u64,
    end: End,
}

/// Derives and judges the closure (work tables kept for the batches), in one transaction that
/// changes no table. Refusals and unsupported shapes are errors; nothing has changed then.
async fn plan_round(
    conn: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
) -> Result<(Round, u64), DeleteError> {
    let txn = conn.begin().await?;
    let mut s = Session::new(&txn);
    s.lasting = true;
    let outcome = async {
        let Derived {
            closure,
            effects,
            refusal,
            effect,
        } = derive(&mut s, graph, table, selection, Counts::Exact).await?;
        if let Some(refusal) = refusal {
            return Err(DeleteError::Refused(Box::new(refusal)));
        }
        if let Some(refusal) = unsupported(graph, table, &closure, &effects) {
            return Err(DeleteError::Refused(Box::new(refusal)));
        }
        let mut groups: Vec<RewriteGroup> = Vec::new();
        for effect in effects
            .into_iter()
            .filter(|e| e.survivors > 0 && e.rewrite.is_some())
        {
            match groups.iter_mut().find(|g| g.table == effect.child) {
                Some(group) if s.engine.merges_updates() => group.effects.push(effect),
                _ => groups.push(RewriteGroup {
                    table: effect.child.clone(),
                    effects: vec![effect],
                }),
            }
        }
        let tables: Vec<String> = graph
            .dependency_order()
            .into_iter()
            .rev()
            .filter(|t| closure.tables.get(*t).is_some_and(|w| w.deleted > 0))
            .map(str::to_owned)
            .collect();
        let mut picks = BTreeMap::new();
        for name in groups.iter().map(|g| &g.table).chain(&tables) {
            if picks.contains_key(name) {
                continue;
            }
            let Some(t) = graph.table(name) else {
                continue;
            };
            let pick = format!("cascade_p{}", picks.len());
            s.create_work_table(&pick, name, &t.primary_key).await?;
            picks.insert(name.clone(), pick);
        }
        Ok(Round {
            closure,
            effect,
            groups,
            tables,
            picks,
        })
    }
    .await;
    let statements = s.statements;
    match outcome {
        Ok(round) => {
            txn.commit().await?;
            Ok((round, statements))
        }
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

/// What a batched delete does not reproduce exactly, refused before anything changes.
fn unsupported(
    graph: &RuleGraph,
    root: &str,
    closure: &Closure,
    effects: &[EdgeEffect],
) -> Option<Refusal> {
    let refusal = |table: &str, message: String| Refusal {
        kind: RefusalKind::Unsupported,
        also: Vec::new(),
        table: table.to_owned(),
        foreign_key: None,
        rows: 0,
        sample_keys: Vec::new(),
        path: Vec::new(),
        message,
    };
    if let Some(e) = effects
        .iter()
        .find(|e| e.key_update_depth > 0 && e.survivors + e.doomed > 0)
    {
        return Some(refusal(
            &e.child,
            format!(
                "a batched delete does not rewrite referenced keys ({}); delete in one \
                 transaction (without --batch-rows)",
                e.label
            ),
        ));
    }
    if let Some(e) = effects
        .iter()
        .find(|e| e.child == root && e.survivors > 0 && e.rewrite.is_some())
    {
        return Some(refusal(
            root,
            format!(
                "a batched delete would rewrite rows of the root table ({}), which the \
                 selection could then match differently when resumed; delete in one \
                 transaction (without --batch-rows)",
                e.label
            ),
        ));
    }
    let losing: Vec<&str> = closure
        .tables
        .iter()
        .filter(|(_, w)| w.deleted > 0)
        .map(|(t, _)| t.as_str())
        .collect();
    if let Some(cycle) = table_cycle(graph, &losing) {
        return Some(refusal(
            &cycle[0],
            format!(
                "a batched delete cannot order rows leaf-first through the table cycle {}; \
                 delete in one transaction (without --batch-rows)",
                cycle.join(" -> ")
            ),
        ));
    }
    None
}

/// A cycle of FKs through two or more of `tables` (self-references aside), if there is one.
fn table_cycle(graph: &RuleGraph, tables: &[&str]) -> Option<Vec<String>> {
    let parents = |t: &str| -> Vec<String> {
        graph
            .table(t)
            .map(|table| {
                table
                    .foreign_keys
                    .iter()
                    .filter(|fk| fk.parent_table != t && tables.contains(&fk.parent_table.as_str()))
                    .map(|fk| fk.parent_table.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    for start in tables {
        // Depth-first search for a path from `start` back to itself.
        let mut stack: Vec<Vec<String>> = vec![vec![(*start).to_owned()]];
        let mut seen: Vec<String> = Vec::new();
        while let Some(path) = stack.pop() {
            let last = path.last().cloned().unwrap_or_default();
            for parent in parents(&last) {
                if parent == *start {
                    let mut cycle = path.clone();
                    cycle.push(parent);
                    return Some(cycle);
                }
                if !seen.contains(&parent) {
                    seen.push(parent.clone());
                    let mut next = path.clone();
                    next.push(parent);
                    stack.push(next);
                }
            }
        }
    }
    None
}

/// Drops a round's work and pick tables (best effort: the session's end drops them anyway).
async fn drop_round(conn: &DatabaseConnection, round: &Round) {
    let dialect = Dialect::from(conn.get_database_backend());
    let q = |i: &str| dialect.quote(i);
    for name in round.closure.all_names().iter().chain(round.picks.values()) {
        let _ = conn
            .execute_unprepared(&engine(dialect).drop_work_table(&q, name))
            .await;
    }
}

/// The plan of what is left (`NothingMatched` when nothing is), changing nothing.
async fn remaining(
    conn: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
) -> Result<Effect, DeleteError> {
    let txn = conn.begin().await?;
    let mut s = Session::new(&txn);
    let derived = derive(&mut s, graph, table, selection, Counts::Exact).await;
    if let Ok(derived) = &derived {
        let _ = super::drop_work_tables(&mut s, &derived.closure).await;
    }
    let _ = txn.rollback().await;
    derived.map(|d| d.effect)
}

/// One batch: a transaction of at most `budget` affected rows, from `cursor` on.
async fn run_batch(
    conn: &DatabaseConnection,
    graph: &RuleGraph,
    round: &Round,
    cursor: Cursor,
    budget: u64,
) -> Result<BatchDone, DeleteError> {
    let started = std::time::Instant::now();
    // As the one-shot delete begins (SQLite `BEGIN IMMEDIATE`: no writer between pick and
    // delete; PostgreSQL READ COMMITTED: the re-check below sees what a lock wait let in).
    let txn = locks::begin(conn, true).await?;
    let mut s = Session::new(&txn);
    let mut done = BatchDone {
        cursor,
        rows: 0,
        deleted: BTreeMap::new(),
        updated: Vec::new(),
        statements: 0,
        millis: 0,
        end: End::More,
    };
    let outcome = async {
        rewrite_steps(&mut s, graph, round, &mut done, budget).await?;
        delete_steps(&mut s, graph, round, &mut done, budget).await
    }
    .await;
    done.statements = s.statements;
    match outcome {
        Ok(end) => {
            txn.commit().await?;
            done.end = end;
            done.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            Ok(done)
        }
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

/// `(t.k1, t.k2) IN (SELECT k1, k2 FROM pick)` for `t` the quoted table or an alias.
fn in_pick(s: &Session<'_>, alias: &str, key: &[String], pick: &str) -> String {
    let left = s.cols(alias, key);
    let left = if key.len() == 1 {
        left
    } else {
        format!("({left})")
    };
    format!("{left} IN (SELECT {} FROM {})", s.names(key), s.q(pick))
}

/// The limit as a bound value.
fn limit(rows: u64) -> Value {
    Value::BigInt(Some(i64::try_from(rows).unwrap_or(i64::MAX)))
}

/// SET NULL / SET DEFAULT rewrites of surviving rows, picked up to the budget.
async fn rewrite_steps(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    round: &Round,
    done: &mut BatchDone,
    budget: u64,
) -> Result<(), DeleteError> {
    while done.rows < budget && done.cursor.group < round.groups.len() {
        let group = &round.groups[done.cursor.group];
        let (Some(child), Some(pick)) = (graph.table(&group.table), round.picks.get(&group.table))
        else {
            done.cursor.group += 1;
            continue;
        };
        let left = budget - done.rows;
        let table = s.q(&child.name);
        let key = &child.primary_key;
        s.exec(&format!("DELETE FROM {}", s.q(pick))).await?;
        let any: Vec<String> = group
            .effects
            .iter()
            .map(|e| format!("({})", e.rewrite.as_deref().unwrap_or("1 = 0")))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}, cascade_gen) SELECT {}, 0 FROM {table} WHERE {} LIMIT {}",
            s.q(pick),
            s.names(key),
            s.cols(&table, key),
            any.join(" OR "),
            s.engine.placeholder(1)
        );
        let picked = s.exec_with(&sql, vec![limit(left)]).await?;
        if picked < left {
            done.cursor.group += 1;
        }
        if picked == 0 {
            continue;
        }
        let restriction = in_pick(s, &table, key, pick);
        let restricted: Vec<EdgeEffect> = group
            .effects
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.rewrite = Some(format!(
                    "({}) AND {restriction}",
                    e.rewrite.as_deref().unwrap_or("1 = 0")
                ));
                e
            })
            .collect();
        for effect in &restricted {
            let rows = if restricted.len() == 1 {
                picked
            } else {
                let sql = format!(
                    "SELECT COUNT(*) FROM {table} WHERE {}",
                    effect.rewrite.as_deref().unwrap_or("1 = 0")
                );
                u64::try_from(s.scalar(&sql).await?).unwrap_or(0)
            };
            done.updated.push(ColumnUpdate {
                table: effect.child.clone(),
                columns: effect.columns.clone(),
                action: effect.action,
                rows,
            });
        }
        let refs: Vec<&EdgeEffect> = restricted.iter().collect();
        let sql = update_statement(s, child, &refs);
        if let Err(error) = s.exec(&sql).await {
            return Err(engine_refusal(s, error, &group.table));
        }
        done.rows += picked;
    }
    Ok(())
}

/// Deletes of leaf rows, children's tables first, up to the budget.
async fn delete_steps(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    round: &Round,
    done: &mut BatchDone,
    budget: u64,
) -> Result<End, DeleteError> {
    while done.cursor.table < round.tables.len() {
        if done.rows >= budget {
            return Ok(End::More);
        }
        let name = &round.tables[done.cursor.table];
        let (Some(table), Some(work), Some(pick)) = (
            graph.table(name),
            round.closure.tables.get(name),
            round.picks.get(name),
        ) else {
            done.cursor.table += 1;
            continue;
        };
        let left = budget - done.rows;
        let key = &table.primary_key;
        let existing = format!(
            "FROM {} w JOIN {} t ON {}",
            s.q(&work.name),
            s.q(name),
            s.equal("w", key, "t", key)
        );
        s.exec(&format!("DELETE FROM {}", s.q(pick))).await?;
        let sql = format!(
            "INSERT INTO {} ({}, cascade_gen) SELECT {}, 0 {existing} WHERE {} LIMIT {}",
            s.q(pick),
            s.names(key),
            s.cols("w", key),
            leaf_condition(s, graph, table),
            s.engine.placeholder(1)
        );
        let picked = s.exec_with(&sql, vec![limit(left)]).await?;
        let source = if picked > 0 {
            hold_leaves(s, graph, table, pick).await?;
            pick.as_str()
        } else {
            let rows =
                u64::try_from(s.scalar(&format!("SELECT COUNT(*) {existing}")).await?).unwrap_or(0);
            if rows == 0 {
                done.cursor.table += 1;
                continue;
            }
            let self_referencing = table.foreign_keys.iter().any(|fk| fk.parent_table == *name);
            if !self_referencing || outside_references(s, graph, round, table).await? > 0 {
                return Ok(End::Stuck {
                    table: name.clone(),
                    rows,
                });
            }
            // A cycle of rows within the table: one statement deletes it, as one-shot does.
            work.name.as_str()
        };
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            s.q(name),
            in_pick(s, &s.q(name), key, source)
        );
        let deleted = match s.exec(&sql).await {
            Ok(rows) => rows,
            Err(error) => return Err(engine_refusal(s, error, name)),
        };
        for work_table in std::iter::once(&work.name).chain(&work.mirror) {
            if work_table.as_str() == source {
                s.exec(&format!("DELETE FROM {}", s.q(work_table))).await?;
            } else {
                let sql = format!(
                    "DELETE FROM {} WHERE {}",
                    s.q(work_table),
                    in_pick(s, &s.q(work_table), key, source)
                );
                s.exec(&sql).await?;
            }
        }
        *done.deleted.entry(name.clone()).or_default() += deleted;
        done.rows += deleted;
    }
    Ok(End::Finished)
}

/// Write-locks the picked rows of `table` and drops from `pick` those that are no longer
/// leaves: a writer may have inserted a child of one (through a relation the database does not
/// enforce) between the pick and the lock; once locked, no new child can appear before the
/// DELETE. Two statements, whatever the row count.
async fn hold_leaves(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    table: &Table,
    pick: &str,
) -> Result<(), DeleteError> {
    if graph.referencing(&table.name).next().is_none() {
        return Ok(());
    }
    let key = &table.primary_key;
    locks::lock_picked(s, &table.name, key, pick).await?;
    let sql = format!(
        "DELETE FROM {pick} WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE {} AND {})",
        s.q(&table.name),
        s.equal("t", key, &s.q(pick), key),
        leaf_condition(s, graph, table),
        pick = s.q(pick)
    );
    s.exec(&sql).await?;
    Ok(())
}

/// `NOT EXISTS` a row referencing `t`'s row through any FK (itself aside).
fn leaf_condition(s: &Session<'_>, graph: &RuleGraph, table: &Table) -> String {
    let conditions: Vec<String> = graph
        .referencing(&table.name)
        .map(|(child, fk)| {
            let itself = if child.name == table.name {
                format!(
                    " AND NOT ({})",
                    s.equal("c", &table.primary_key, "t", &table.primary_key)
                )
            } else {
                String::new()
            };
            format!(
                "NOT EXISTS (SELECT 1 FROM {} c WHERE {}{itself})",
                s.q(&child.name),
                s.equal("c", &fk.columns, "t", &fk.parent_columns)
            )
        })
        .collect();
    if conditions.is_empty() {
        "1 = 1".to_owned()
    } else {
        conditions.join(" AND ")
    }
}

/// Remaining closure rows of `table` referenced by a row outside the closure.
async fn outside_references(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    round: &Round,
    table: &Table,
) -> Result<u64, DeleteError> {
    let Some(work) = round.closure.tables.get(&table.name) else {
        return Ok(0);
    };
    let key = &table.primary_key;
    let mut total = 0;
    for (child, fk) in graph.referencing(&table.name) {
        let outside = match round.closure.child_side(s, &child.name, &table.name) {
            Some(child_work) => format!(
                " AND NOT EXISTS (SELECT 1 FROM {} x WHERE {})",
                s.q(child_work),
                s.equal("x", &child.primary_key, "c", &child.primary_key)
            ),
            None => String::new(),
        };
        let sql = format!(
            "SELECT COUNT(*) FROM {} w JOIN {} t ON {} WHERE EXISTS (SELECT 1 FROM {} c WHERE \
             {}{outside})",
            s.q(&work.name),
            s.q(&table.name),
            s.equal("w", key, "t", key),
            s.q(&child.name),
            s.equal("c", &fk.columns, "t", &fk.parent_columns)
        );
        total += u64::try_from(s.scalar(&sql).await?).unwrap_or(0);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bound_values() {
        assert_eq!(limit(7), Value::BigInt(Some(7)));
        assert_eq!(limit(u64::MAX), Value::BigInt(Some(i64::MAX)));
    }
}
