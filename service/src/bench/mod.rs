//! `cascade bench`: the ORM-level cascade against the database's own and against the naive
//! row-by-row baseline, measured side by side in one run.
//!
//! Each workload is loaded once into a migrated scratch database (excluded from timing); every
//! method then runs on an identical fresh copy (SQLite: a file copy, PostgreSQL: `CREATE DATABASE
//! ... TEMPLATE`, MariaDB or an explicit `--url`: a fresh reload). The final tables are compared
//! by checksum across methods, and a mismatch fails the run loudly. Methods run in rounds (each
//! method once per round), and, when the caller says how to re-run itself
//! ([`BenchOptions::isolate`]), each timed run in its own process (`child`).

mod child;
mod measure;
mod naive;
mod scratch;

use std::time::Instant;

use std::sync::Arc;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde::Serialize;
use thiserror::Error;

pub use child::{CHILD_ENV, ChildRun, run_child};

use crate::connect::{Enforce, connect};
use crate::delete::{
    DeleteError, DeleteMode, DeleteOptions, EngineActions, Selection, delete, plan,
};
use crate::fixtures::{FixtureError, Fixtures, RowRef};
use measure::{Checksum, checksum, peak_rss_bytes, reset_peak_rss, rss_bytes};
use scratch::Scratch;

/// A benchmark workload an app defines: the rows to load, and the row whose delete is timed.
pub trait Workload: Send + Sync {
    /// A short name (`w1`), as `--workload` selects it.
    fn name(&self) -> &str;
    /// What it measures, one line.
    fn describe(&self) -> &str;
    /// The rows for about `scale` affected rows, deterministic for `seed`, and the root row.
    fn build(&self, graph: &RuleGraph, scale: usize, seed: u64) -> Result<Prepared, FixtureError>;
}

/// A built workload.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The rows to insert.
    pub fixtures: Fixtures,
    /// The row whose delete is timed.
    pub root: RowRef,
}

/// What `cascade bench` runs.
#[derive(Clone)]
pub struct BenchOptions {
    /// About how many rows the deleted subtree (W1) or the user's rows (W2) hold.
    pub scale: usize,
    /// Which server (or SQLite) to run on.
    pub backend: Dialect,
    /// The workloads to run, each with every method.
    pub workloads: Vec<Arc<dyn Workload>>,
    /// Runs per method; the median is reported.
    pub repeats: usize,
    /// A database to use instead of a scratch one (it is reset for every run).
    pub url: Option<String>,
    /// Statement budget of the naive method before it stops and is extrapolated.
    pub naive_cap: u64,
    /// Rows per transaction of the `batched` method (`--batch-rows`).
    pub batch_rows: u64,
    /// Where long steps (loading, copying, each run) are reported.
    pub progress: Arc<dyn crate::progress::Progress>,
    /// The command (program, then arguments) that re-runs this bench: each timed method then
    /// runs in a child process started from it with [`CHILD_ENV`] set, so the peak RSS reported
    /// is the method's own. `None`: in this process.
    pub isolate: Option<Vec<std::ffi::OsString>>,
    /// The methods to run (`db` always runs: every ratio is to it); empty: all of them.
    pub methods: Vec<Method>,
}

/// A way of deleting the workload's root row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// One native DELETE; the database cascades.
    Db,
    /// Our executor, one transaction, with the engine's own FK actions suspended where that is
    /// safe (`EngineActions::Auto`, the default).
    Orm,
    /// Our executor with the engine's own FK actions kept on (`--keep-engine-actions`), to show
    /// what suspending them buys.
    OrmActionsOn,
    /// ORM mode in transactions of at most `batch_rows` rows (`--batch-rows`).
    Batched,
    /// Load children and delete row by row, as a naive ORM loop does (capped, extrapolated).
    Naive,
    /// `plan`: the preview with exact counts (read-only).
    Plan,
}

impl std::fmt::Debug for BenchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchOptions")
            .field("scale", &self.scale)
            .field("backend", &self.backend)
            .field(
                "workloads",
                &self.workloads.iter().map(|w| w.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The timing of one method on one workload.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Where it ran.
    pub backend: Dialect,
    /// The workload's name.
    pub workload: String,
    /// The requested scale.
    pub scale: usize,
    /// The method.
    pub method: Method,
    /// Median wall time of the runs, seconds.
    pub median_s: f64,
    /// `median_s` divided by the `db` method's.
    pub ratio_to_db: f64,
    /// SQL statements the method issued.
    pub statements: u64,
    /// Peak resident memory of the process that ran it, bytes.
    pub peak_rss_bytes: u64,
    /// How far the peak rose above the process's resident size when the method started (the
    /// process also holds the loaded workload and, for SQLite, the database's page cache).
    pub rss_growth_bytes: u64,
    /// Rows deleted and rewritten.
    pub rows_affected: u64,
    /// The longest single transaction (the whole delete, except for `batched`), seconds.
    pub longest_transaction_s: f64,
    /// The naive run hit its statement cap; `median_s` is extrapolated from the rows it did.
    pub extrapolated: bool,
}

/// What `cascade bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Every method left identical tables (checksums per table).
    pub tables_identical: bool,
    /// One result per workload and method.
    pub results: Vec<BenchResult>,
    /// Tables whose final state differed between methods, with the methods compared.
    pub mismatches: Vec<String>,
}

/// Why the bench could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A statement failed.
    #[error(transparent)]
    Db(#[from] DbErr),
    /// A timed delete failed.
    #[error(transparent)]
    Delete(#[from] DeleteError),
    /// The scratch database could not be reached.
    #[error(transparent)]
    Connect(#[from] crate::connect::ConnectError),
    /// Preparing a scratch database or a child process failed.
    #[error("bench setup: {0}")]
    Setup(String),
    /// The workload's fixtures could not be built.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
}

/// One timed run of one method, and the tables' checksum after it.
struct Run {
    seconds: f64,
    statements: u64,
    peak_rss: u64,
    rss_growth: u64,
    completed_rows: Option<u64>,
    checksum: Option<Checksum>,
    /// The longest transaction, when it is not the whole run.
    longest_transaction: Option<f64>,
}

impl Run {
    fn of(run: ChildRun, checksum: Option<Checksum>) -> Run {
        Run {
            seconds: run.seconds,
            statements: run.statements,
            peak_rss: run.peak_rss,
            rss_growth: run.rss_growth,
            completed_rows: run.completed_rows,
            checksum,
            longest_transaction: run.longest_transaction,
        }
    }
}

/// Runs every workload of `options` over `graph` (the app's declared rules).
pub async fn run(graph: &RuleGraph, options: &BenchOptions) -> Result<BenchReport, BenchError> {
    let graph = graph.clone();
    let mut report = BenchReport {
        tables_identical: true,
        results: Vec::new(),
        mismatches: Vec::new(),
    };
    for workload in &options.workloads {
        let built = workload.build(&graph, options.scale, 7)?;
        let table = built.root.table.clone();
        let key = built.fixtures.key_of(&graph, &built.root)?;
        let scratch = Scratch::prepare(options, &graph, &built.fixtures).await?;
        let selection = Selection::keys([key.clone()]);
        let mut runs: Vec<(Method, Vec<Run>)> = [
            Method::Db,
            Method::Orm,
            Method::OrmActionsOn,
            Method::Batched,
            Method::Plan,
            Method::Naive,
        ]
        .into_iter()
        .filter(|m| options.methods.is_empty() || *m == Method::Db || options.methods.contains(m))
        .map(|m| (m, Vec::new()))
        .collect();
        // Rounds of every method in turn, so a machine shared with other work slows all
        // methods alike; the naive method runs once.
        for round in 0..options.repeats.max(1) {
            for (method, method_runs) in &mut runs {
                let method = *method;
                if method == Method::Naive && round > 0 {
                    continue;
                }
                let url = scratch.fresh_copy(&graph, &built.fixtures).await?;
                let spec = options.isolate.as_ref().and_then(|command| {
                    child::ChildSpec::new(
                        &url,
                        method,
                        &table,
                        &key,
                        (options.naive_cap, options.batch_rows),
                    )
                    .map(|spec| (command, spec))
                });
                let db;
                let measured = match spec {
                    Some((command, spec)) => {
                        let measured = child::spawn(command, &spec).await?;
                        db = connect(&url, Enforce::On).await?;
                        measured
                    }
                    None => {
                        db = connect(&url, Enforce::On).await?;
                        time_method(
                            &db,
                            &graph,
                            method,
                            &table,
                            &key,
                            &selection,
                            (options.naive_cap, options.batch_rows),
                        )
                        .await?
                    }
                };
                let changed = method != Method::Plan && measured.completed_rows.is_none();
                let checksum = if changed {
                    Some(checksum(&db, &graph).await?)
                } else {
                    None
                };
                let run = Run::of(measured, checksum);
                db.close().await?;
                scratch.discard(&url).await?;
                method_runs.push(run);
            }
        }
        let rows_affected = {
            let url = scratch.fresh_copy(&graph, &built.fixtures).await?;
            let db = connect(&url, Enforce::On).await?;
            let effect = plan(&db, &graph, &table, &selection, DeleteMode::Orm).await?;
            db.close().await?;
            scratch.discard(&url).await?;
            effect.total_deleted() + effect.updated.iter().map(|u| u.rows).sum::<u64>()
        };
        scratch.finish().await?;
        compare(&runs, workload.name(), &mut report);
        summarise(options, workload.name(), &runs, rows_affected, &mut report);
    }
    Ok(report)
}

async fn time_method(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    method: Method,
    table: &str,
    key: &[Value],
    selection: &Selection,
    (naive_cap, batch_rows): (u64, u64),
) -> Result<ChildRun, BenchError> {
    let mut longest_transaction = None;
    reset_peak_rss();
    let rss_before = rss_bytes();
    let start = Instant::now();
    let (statements, completed_rows) = match method {
        Method::Db => {
            let txn = db.begin().await?;
            let key_columns = graph
                .table(table)
                .map(|t| t.primary_key.clone())
                .unwrap_or_default();
            let condition = key_columns
                .iter()
                .zip(key)
                .fold(Condition::all(), |all, (column, value)| {
                    all.add(Expr::col(Alias::new(column)).eq(value.clone()))
                });
            let statement = Query::delete()
                .from_table(Alias::new(table))
                .cond_where(condition)
                .to_owned();
            txn.execute(&statement).await?;
            txn.commit().await?;
            (1, None)
        }
        Method::Orm => {
            let report = delete(db, graph, table, selection, DeleteOptions::default()).await?;
            (report.statements, None)
        }
        Method::OrmActionsOn => {
            let kept = DeleteOptions::default().engine_actions(EngineActions::KeepOn);
            let report = delete(db, graph, table, selection, kept).await?;
            (report.statements, None)
        }
        Method::Batched => {
            let batched = DeleteOptions::default().batch_rows(Some(Ord::max(batch_rows, 1)));
            let report = delete(db, graph, table, selection, batched).await?;
            longest_transaction = report.batches.map(|b| b.longest_batch_ms as f64 / 1000.0);
            (report.statements, None)
        }
        Method::Plan => {
            plan(db, graph, table, selection, DeleteMode::Orm).await?;
            (0, None)
        }
        Method::Naive => {
            let run = naive::naive_delete(db, graph, table, key, naive_cap).await?;
            (run.statements, (!run.completed).then_some(run.rows))
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let peak_rss = peak_rss_bytes();
    let rss_growth = peak_rss.saturating_sub(rss_before);
    Ok(ChildRun {
        seconds,
        statements,
        peak_rss,
        rss_growth,
        completed_rows,
        longest_transaction,
    })
}

/// Every method that changed the database must leave the same tables as `db`.
fn compare(runs: &[(Method, Vec<Run>)], workload: &str, report: &mut BenchReport) {
    let reference = runs
        .iter()
        .find(|(m, _)| *m == Method::Db)
        .and_then(|(_, r)| r.first())
        .and_then(|r| r.checksum.clone());
    let Some(reference) = reference else { return };
    for (method, method_runs) in runs {
        for run in method_runs {
            let Some(sums) = &run.checksum else { continue };
            for (table, values) in &reference {
                if sums.get(table) != Some(values) {
                    report.tables_identical = false;
                    report.mismatches.push(format!(
                        "{workload}: `{table}` differs between db and {method:?}"
                    ));
                }
            }
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn summarise(
    options: &BenchOptions,
    workload: &str,
    runs: &[(Method, Vec<Run>)],
    rows_affected: u64,
    report: &mut BenchReport,
) {
    let seconds = |run: &Run| match run.completed_rows {
        // Stopped at the cap: scale the time to the whole job.
        Some(done) if done > 0 => run.seconds * rows_affected as f64 / done as f64,
        _ => run.seconds,
    };
    let db_median = runs
        .iter()
        .find(|(m, _)| *m == Method::Db)
        .map(|(_, r)| median(r.iter().map(seconds).collect()))
        .unwrap_or(0.0);
    for (method, method_runs) in runs {
        let median_s = median(method_runs.iter().map(seconds).collect());
        report.results.push(BenchResult {
            backend: options.backend,
            workload: workload.to_owned(),
            scale: options.scale,
            method: *method,
            median_s,
            ratio_to_db: if db_median > 0.0 {
                median_s / db_median
            } else {
                0.0
            },
            statements: method_runs.iter().map(|r| r.statements).max().unwrap_or(0),
            peak_rss_bytes: method_runs.iter().map(|r| r.peak_rss).max().unwrap_or(0),
            rss_growth_bytes: method_runs.iter().map(|r| r.rss_growth).max().unwrap_or(0),
            rows_affected,
            longest_transaction_s: median(
                method_runs
                    .iter()
                    .map(|r| r.longest_transaction.unwrap_or_else(|| seconds(r)))
                    .collect(),
            ),
            extrapolated: method_runs.iter().any(|r| r.completed_rows.is_some()),
        });
    }
}
