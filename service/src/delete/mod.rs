//! The delete engine: plan, execute and verify a delete of selected rows under a RuleGraph.
//!
//! Every call runs in one transaction on one connection. The closure (rows deleted, per table,
//! with their breadth-first generation) and the effects of non-cascading edges are computed
//! set-based into temporary work tables ([`closure`], [`effects`]); [`judge`] decides, with the
//! engine model of the dialect ([`engine`]), whether the database would refuse; [`execute`] then
//! performs the delete itself (ORM mode) or lets the database do it (DB mode). Nothing is loaded
//! row by row.
//!
//! Every call takes any SeaORM connection: a `DatabaseConnection`, or the app's own
//! `DatabaseTransaction`, in which case the engine works in a savepoint and nothing commits
//! behind the app's back.
//!
//! ```no_run
//! # async fn demo(db: &sea_orm::DatabaseConnection, graph: &cascade_entity::RuleGraph)
//! # -> Result<(), cascade_service::delete::DeleteError> {
//! use sea_orm::{Condition, TransactionTrait};
//! use sea_orm::sea_query::{Alias, Expr, ExprTrait};
//! use cascade_service::delete::{DeleteMode, DeleteOptions, Selection, delete, plan};
//! let selection = Selection::condition(Condition::all().add(Expr::col(Alias::new("id")).eq(1)));
//! let preview = plan(db, graph, "post", &selection, DeleteMode::Orm).await?;
//! println!("would delete {} rows", preview.total_deleted());
//! // Inside the app's own transaction: the delete is part of it.
//! let txn = db.begin().await?;
//! let report = delete(&txn, graph, "post", &selection, DeleteOptions::default()).await?;
//! txn.commit().await?;
//! # Ok(()) }
//! ```

mod batch;
mod checks;
mod closure;
mod effects;
pub(crate) mod engine;
mod execute;
mod judge;
mod key_updates;
mod predicate;
mod report;
mod retry;
mod selection;
pub(crate) mod session;
pub(crate) mod simulate;
mod verify;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Dialect, Enforcement, Table};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, TransactionTrait};

pub use batch::{BatchStopped, BatchSummary};
pub use predicate::PredicateError;
pub use report::{
    ColumnUpdate, DeleteError, DeleteMode, DeleteReport, Effect, Refusal, RefusalKind,
};
pub use retry::{DEFAULT_ATTEMPTS, RetriedConflict, WriteSetLimit, WriteSetTooLarge};
pub use selection::Selection;
pub use verify::{Outcome, TableDiff, VerifyReport, verify, verify_url};

use crate::progress::{NoProgress, Progress};
use session::Session;

/// How [`delete`] runs.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Our executor (ORM) or the database's own cascade (DB).
    pub mode: DeleteMode,
    /// Do everything, report it, then roll back.
    pub dry_run: bool,
    /// Runs of the whole transaction allowed when it loses a write conflict (a deadlock, or a
    /// Galera certification failure), the first included; at least 1 (the `retry` module).
    pub attempts: u32,
    /// Batched delete ([`batch`](self#batched-deletes)): at most this many affected rows
    /// (deleted + rewritten) per transaction, leaf-first; `None`: one transaction.
    pub batch_rows: Option<u64>,
    /// Batched delete: stop (consistently) after this many batches; re-running resumes.
    pub max_batches: Option<u64>,
}

impl DeleteOptions {
    /// ORM mode, committed.
    pub fn orm() -> DeleteOptions {
        DeleteOptions::default()
    }

    /// The same options in `mode`.
    #[must_use]
    pub fn mode(mut self, mode: DeleteMode) -> DeleteOptions {
        self.mode = mode;
        self
    }

    /// The same options, rolled back at the end.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> DeleteOptions {
        self.dry_run = dry_run;
        self
    }

    /// The same options, allowing `attempts` runs of the whole transaction (at least 1).
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> DeleteOptions {
        self.attempts = attempts.max(1);
        self
    }
}

impl DeleteOptions {
    /// The same options, deleting in transactions of at most `rows` affected rows each
    /// (leaf-first, consistent between batches, resumable by running the delete again).
    #[must_use]
    pub fn batch_rows(mut self, rows: Option<u64>) -> DeleteOptions {
        self.batch_rows = rows;
        self
    }

    /// The same options, stopping a batched delete after `batches` batches.
    #[must_use]
    pub fn max_batches(mut self, batches: Option<u64>) -> DeleteOptions {
        self.max_batches = batches;
        self
    }
}

impl Default for DeleteOptions {
    fn default() -> DeleteOptions {
        DeleteOptions {
            mode: DeleteMode::Orm,
            dry_run: false,
            attempts: DEFAULT_ATTEMPTS,
            batch_rows: None,
            max_batches: None,
        }
    }
}

/// Exact effect of deleting the selected rows, or the refusal the database would make. Changes
/// nothing.
pub async fn plan<C>(
    db: &C,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    mode: DeleteMode,
) -> Result<Effect, DeleteError>
where
    C: Connection,
{
    let attempts = if db.in_callers_transaction() {
        1
    } else {
        DEFAULT_ATTEMPTS
    };
    let attempt = || run(db, graph, table, selection, mode, Stage::Plan);
    let ((effect, _), _) = retry::with_retries(attempts, attempt).await?;
    Ok(effect)
}

/// [`plan`] for entity `E`'s table.
pub async fn plan_entity<E, C>(
    db: &C,
    graph: &RuleGraph,
    selection: &Selection,
    mode: DeleteMode,
) -> Result<Effect, DeleteError>
where
    E: EntityTrait,
    C: Connection,
{
    plan(db, graph, E::default().table_name(), selection, mode).await
}

/// [`delete`] for entity `E`'s table.
pub async fn delete_entity<E, C>(
    db: &C,
    graph: &RuleGraph,
    selection: &Selection,
    options: DeleteOptions,
) -> Result<DeleteReport, DeleteError>
where
    E: EntityTrait,
    C: Connection,
{
    delete(db, graph, E::default().table_name(), selection, options).await
}

/// Deletes the selected rows with their cascade, in one transaction (a savepoint inside the
/// caller's transaction); refused deletes change nothing. On a connection, a transaction that
/// loses a write conflict is run again, whole, up to `options.attempts` times
/// ([`DeleteReport::attempts`] says how many it took); inside the caller's transaction it is not
/// (the conflict aborted the caller's transaction, which only the caller can retry). One too
/// large for a Galera write set fails with [`DeleteError::WriteSetTooLarge`]. DB mode is refused
/// ([`DeleteError::DbModeWithoutEnforcement`]) on a connection that does not enforce FKs, where
/// the database would cascade nothing.
pub async fn delete<C>(
    db: &C,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    options: DeleteOptions,
) -> Result<DeleteReport, DeleteError>
where
    C: Connection,
{
    delete_reporting(db, graph, table, selection, options, &NoProgress).await
}

/// [`delete`], reporting the progress of a batched delete (rows deleted and rewritten) to
/// `progress`.
pub async fn delete_reporting<C>(
    db: &C,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    options: DeleteOptions,
    progress: &dyn Progress,
) -> Result<DeleteReport, DeleteError>
where
    C: Connection,
{
    if let Some(rows) = options.batch_rows
        && !options.dry_run
    {
        let Some(connection) = db.database_connection() else {
            return Err(DeleteError::BatchUnavailable(
                "a batched delete commits every batch, so it cannot run inside the caller's \
                 transaction; pass the DatabaseConnection"
                    .to_owned(),
            ));
        };
        if options.mode != DeleteMode::Orm {
            return Err(DeleteError::BatchUnavailable(
                "batches are ORM mode only: the database's own cascade deletes a whole subtree \
                 in one statement"
                    .to_owned(),
            ));
        }
        if rows == 0 {
            return Err(DeleteError::BatchUnavailable(
                "--batch-rows must be at least 1".to_owned(),
            ));
        }
        return batch::delete(connection, graph, table, selection, options, rows, progress).await;
    }
    if options.mode == DeleteMode::Db && !crate::connect::enforces_foreign_keys(db).await? {
        return Err(DeleteError::DbModeWithoutEnforcement);
    }
    let stage = if options.dry_run {
        Stage::DryRun
    } else {
        Stage::Commit
    };
    let attempts = if db.in_callers_transaction() {
        1
    } else {
        options.attempts
    };
    let attempt = || run(db, graph, table, selection, options.mode, stage);
    let ((effect, statements), conflicts) = match retry::with_retries(attempts, attempt).await {
        Ok(done) => done,
        Err(error) => return Err(retry::write_set_limit(db, error).await),
    };
    Ok(DeleteReport {
        mode: options.mode,
        dialect: Dialect::from(db.get_database_backend()),
        effect,
        statements,
        dry_run: options.dry_run,
        attempts: u32::try_from(conflicts.len()).map_or(u32::MAX, |n| n.saturating_add(1)),
        conflicts,
        batches: None,
    })
}

/// A connection the engine runs on: a `DatabaseConnection` (the engine owns the transaction it
/// opens, so it may run it again after a write conflict), or the caller's
/// `DatabaseTransaction` (the engine works in a savepoint of it, commits nothing, retries
/// nothing).
pub trait Connection:
    ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Sync
{
    /// Whether calls run inside a transaction the caller owns.
    fn in_callers_transaction(&self) -> bool;

    /// The connection itself, where it is one (a batched delete opens its own session on it).
    fn database_connection(&self) -> Option<&sea_orm::DatabaseConnection>;
}

impl Connection for sea_orm::DatabaseConnection {
    fn in_callers_transaction(&self) -> bool {
        false
    }

    fn database_connection(&self) -> Option<&sea_orm::DatabaseConnection> {
        Some(self)
    }
}

impl Connection for DatabaseTransaction {
    fn in_callers_transaction(&self) -> bool {
        true
    }

    fn database_connection(&self) -> Option<&sea_orm::DatabaseConnection> {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Plan,
    DryRun,
    Commit,
}

/// The rules as `dialect` applies them in `mode`: actions normalised (InnoDB's NO ACTION and
/// SET DEFAULT are RESTRICT), ORM-only rules dropped when the database does the work.
pub(crate) fn effective_rules(graph: &RuleGraph, dialect: Dialect, mode: DeleteMode) -> RuleGraph {
    let mut graph = graph.clone();
    for table in graph.tables.values_mut() {
        if mode == DeleteMode::Db {
            table
                .foreign_keys
                .retain(|fk| fk.enforcement == Enforcement::Database);
        }
        for fk in &mut table.foreign_keys {
            fk.on_delete = dialect.effective_action(fk.on_delete);
            fk.on_update = dialect.effective_action(fk.on_update);
        }
    }
    graph
}

async fn run<C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>>(
    db: &C,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    mode: DeleteMode,
    stage: Stage,
) -> Result<(Effect, u64), DeleteError> {
    let dialect = Dialect::from(db.get_database_backend());
    let graph = effective_rules(graph, dialect, mode);
    let txn = db.begin().await?;
    let mut s = Session::new(&txn);
    let outcome = async {
        let Derived {
            closure,
            effects: edge_effects,
            refusal,
            effect,
        } = derive(&mut s, &graph, table, selection).await?;
        let root_key = graph
            .table(table)
            .map(|t| t.primary_key.clone())
            .unwrap_or_default();
        match (mode, refusal) {
            (DeleteMode::Orm, Some(refusal)) => {
                return Err(DeleteError::Refused(Box::new(refusal)));
            }
            (DeleteMode::Db, Some(refusal)) if stage == Stage::Plan => {
                return Err(DeleteError::Refused(Box::new(refusal)));
            }
            _ => {}
        }
        if stage != Stage::Plan {
            match mode {
                DeleteMode::Orm => {
                    execute::apply_orm(&mut s, &graph, &closure, &edge_effects).await?
                }
                DeleteMode::Db => {
                    execute::apply_native(&mut s, table, selection, &root_key).await?;
                }
            }
        }
        drop_work_tables(&mut s, &closure).await?;
        Ok(effect)
    }
    .await;
    let statements = s.statements;
    match outcome {
        Ok(effect) if stage == Stage::Commit => {
            txn.commit().await?;
            Ok((effect, statements))
        }
        Ok(effect) => {
            txn.rollback().await?;
            Ok((effect, statements))
        }
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

/// What the engine knows about a delete before it changes anything: the closure (in work
/// tables), the effects of the non-cascading edges, the verdict, and the effect it adds up to.
pub(crate) struct Derived {
    pub closure: closure::Closure,
    pub effects: Vec<effects::EdgeEffect>,
    pub refusal: Option<Refusal>,
    pub effect: Effect,
}

/// Computes the closure of the rows `selection` picks in `table` and judges it, under `graph`
/// (already the effective rules), in the session's transaction. Changes nothing but work tables.
pub(crate) async fn derive(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
) -> Result<Derived, DeleteError> {
    let root = graph
        .table(table)
        .ok_or_else(|| DeleteError::UnknownTable(table.to_owned()))?;
    if root.primary_key.is_empty() {
        return Err(DeleteError::NoPrimaryKey(table.to_owned()));
    }
    let reach = crate::reach::reach(graph, table);
    let reachable: Vec<&Table> = std::iter::once(root)
        .chain(reach.deleted.keys().filter_map(|t| graph.table(t)))
        .collect();
    let path_to = |parent: &str| -> Vec<String> {
        reach
            .deleted
            .get(parent)
            .and_then(|paths| paths.first())
            .map(|path| path.iter().map(|edge| edge.label()).collect())
            .unwrap_or_default()
    };
    let root_select = selection.root_select(s.txn.get_database_backend(), table, &root.primary_key);
    let closure = closure::compute(
        s,
        graph,
        table,
        (
            root_select.sql.clone(),
            root_select.values.clone().map(|v| v.0).unwrap_or_default(),
        ),
        &reachable,
    )
    .await?;
    let edge_effects = effects::measure(s, graph, &closure).await?;
    let refusal = judge::judge(s, graph, &closure, &edge_effects, &path_to).await?;
    let effect = Effect {
        root: table.to_owned(),
        deleted: closure
            .tables
            .iter()
            .filter(|(_, w)| w.deleted > 0)
            .map(|(t, w)| (t.clone(), w.deleted))
            .collect(),
        updated: effects::column_updates(&edge_effects),
        depth: closure.max_generation,
    };
    Ok(Derived {
        closure,
        effects: edge_effects,
        refusal,
        effect,
    })
}

/// Drops every work table (and mirror) of `closure`.
pub(crate) async fn drop_work_tables(
    s: &mut Session<'_>,
    closure: &closure::Closure,
) -> Result<(), DeleteError> {
    for name in closure.all_names() {
        let q = |i: &str| s.q(i);
        let drop = s.engine.drop_work_table(&q, &name);
        s.exec(&drop).await?;
    }
    Ok(())
}
