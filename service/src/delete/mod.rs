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
mod locks;
mod predicate;
mod report;
mod retry;
mod selection;
pub(crate) mod session;
pub(crate) mod simulate;
mod suspend;
mod sweep;
mod verify;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Dialect, Enforcement, Table};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, TransactionTrait};

pub use batch::{BatchStopped, BatchSummary};
pub use locks::{LockError, lock_parent};
pub use predicate::PredicateError;
pub use report::{
    ColumnUpdate, DeleteError, DeleteMode, DeleteReport, Effect, Refusal, RefusalKind,
};
pub use retry::{DEFAULT_ATTEMPTS, RetriedConflict, WriteSetLimit, WriteSetTooLarge};
pub use selection::Selection;
pub use suspend::EngineActions;
pub use verify::{
    OrmSide, Outcome, TableDiff, VerifyReport, verify, verify_url, verify_url_with, verify_with,
};

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
    /// Whether the database's own FK actions run while the ORM executor deletes (ORM mode).
    pub engine_actions: EngineActions,
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

    /// The same options with the engine's own FK actions suspended where safe
    /// ([`EngineActions::Auto`]) or kept on.
    #[must_use]
    pub fn engine_actions(mut self, engine_actions: EngineActions) -> DeleteOptions {
        self.engine_actions = engine_actions;
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
            engine_actions: EngineActions::Auto,
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
    let attempt = || {
        run(
            db,
            graph,
            table,
            selection,
            Run::new(mode, Stage::Plan, EngineActions::KeepOn),
            &NoProgress,
        )
    };
    let (ran, _) = retry::with_retries(attempts, attempt).await?;
    Ok(ran.effect)
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
    let how = Run::new(options.mode, stage, options.engine_actions);
    let attempt = || run(db, graph, table, selection, how, progress);
    let (
        Ran {
            effect, statements, ..
        },
        conflicts,
    ) = match retry::with_retries(attempts, attempt).await {
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
    /// Execute, take a snapshot of every table, roll back (the verifier).
    Inspect,
}

/// How one run goes: mode, how it ends, the engine's own actions.
#[derive(Debug, Clone, Copy)]
struct Run {
    mode: DeleteMode,
    stage: Stage,
    actions: EngineActions,
}

impl Run {
    fn new(mode: DeleteMode, stage: Stage, actions: EngineActions) -> Run {
        Run {
            mode,
            stage,
            actions,
        }
    }
}

/// What one run produced.
struct Ran {
    effect: Effect,
    statements: u64,
    /// Every table's rows before the rollback ([`Stage::Inspect`] only).
    tables: Option<std::collections::BTreeMap<String, Vec<crate::snapshot::Row>>>,
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

async fn run<C: Connection>(
    db: &C,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    how: Run,
    progress: &dyn Progress,
) -> Result<Ran, DeleteError> {
    let Run {
        mode,
        stage,
        actions,
    } = how;
    let dialect = Dialect::from(db.get_database_backend());
    let graph = effective_rules(graph, dialect, mode);
    // The engine's own actions may be suspended only in a transaction we own, for rules the
    // closing check can prove; SQLite's switch needs no proof: with its pragma off under
    // `BEGIN IMMEDIATE` (the only writer) the executor runs exactly as on a connection that
    // does not enforce FKs, the path the differential suite proves for every rule shape.
    let session_wide = matches!(
        engine::engine(dialect).action_switch(),
        Some(engine::ActionSwitch::Restart { .. })
    );
    let provable = session_wide
        || graph.table(table).is_some_and(|root| {
            let reach = crate::reach::reach(&graph, table);
            let reachable: Vec<&Table> = std::iter::once(root)
                .chain(reach.deleted.keys().filter_map(|t| graph.table(t)))
                .collect();
            suspend::provable(&graph, &reachable)
        });
    let wanted = match actions {
        EngineActions::Auto => engine::engine(dialect).suspension_pays(),
        EngineActions::Suspend => true,
        EngineActions::KeepOn => false,
    };
    let switch = (wanted
        && mode == DeleteMode::Orm
        && stage != Stage::Plan
        && !db.in_callers_transaction()
        && provable)
        .then(|| engine::engine(dialect).action_switch())
        .flatten();
    // A delete that changes rows locks its closure as it computes it (the `locks` module).
    let locking = stage != Stage::Plan && mode == DeleteMode::Orm;
    let txn = locks::begin(db, locking).await?;
    let mut s = Session::new(&txn);
    s.locking = locking;
    // Nothing has run in the transaction yet: end it, switch, begin again (when the
    // connection enforces FKs at all).
    let restarted = match switch {
        Some(engine::ActionSwitch::Restart {
            is_on, off, begin, ..
        }) if s.scalar(is_on).await? != 0 => {
            s.exec("COMMIT").await?;
            s.exec(off).await?;
            s.exec(begin).await?;
            true
        }
        _ => false,
    };
    let outcome = async {
        // An ORM delete that runs counts the rows of plain SET NULL edges as it rewrites them.
        let counts = if mode == DeleteMode::Orm && stage != Stage::Plan {
            effects::Counts::FromExecution
        } else {
            effects::Counts::Exact
        };
        let Derived {
            mut closure,
            effects: mut edge_effects,
            refusal,
            mut effect,
        } = derive(&mut s, &graph, table, selection, counts).await?;
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
        let mut tables = None;
        if stage != Stage::Plan {
            match mode {
                DeleteMode::Orm => {
                    // Which relations the late-children sweep covers: the ones the database
                    // does not enforce for writes this delete does not make itself. Other
                    // writers are checked by the database and held off until the delete commits
                    // (SQLite's `BEGIN IMMEDIATE` admits none; PostgreSQL's FK checks wait on
                    // the closure's row locks). With SQLite's pragma off, a trigger fired by the
                    // delete could write unchecked: then every relation is swept (PostgreSQL's
                    // replica role is refused where a trigger could fire).
                    let others_enforce = match switch {
                        Some(engine::ActionSwitch::Restart { triggers, .. }) if restarted => {
                            s.scalar(triggers).await? == 0
                        }
                        _ => {
                            s.statements += 1;
                            crate::connect::enforces_foreign_keys(s.txn).await?
                        }
                    };
                    let suspended = match switch {
                        Some(engine::ActionSwitch::Restart { .. }) => restarted,
                        Some(engine::ActionSwitch::Prefix(prefix)) => {
                            s.delete_prefix = Some(prefix);
                            true
                        }
                        Some(engine::ActionSwitch::Local { off }) => {
                            let rewritten: Vec<String> =
                                effect.updated.iter().map(|u| u.table.clone()).collect();
                            let changed = suspend::changed_tables(&closure, &rewritten);
                            let allowed = match s.engine.may_switch_actions(&changed) {
                                Some((sql, values)) => {
                                    let rows = s.query_with(&sql, values).await?;
                                    match rows.first() {
                                        Some(row) => row.try_get_by_index::<bool>(0)?,
                                        None => false,
                                    }
                                }
                                None => true,
                            };
                            if allowed {
                                s.exec(off).await?;
                            }
                            allowed
                        }
                        None => false,
                    };
                    if !suspended
                        && let Some(refusal) =
                            net_counted_while_checking(&mut s, table, &edge_effects).await?
                    {
                        return Err(DeleteError::Refused(Box::new(refusal)));
                    }
                    let rewritten: u64 = effect.updated.iter().map(|u| u.rows).sum();
                    s.progress = progress;
                    progress.start("deleting", effect.total_deleted() + rewritten);
                    execute::apply_orm(&mut s, &graph, &closure, &mut edge_effects).await?;
                    progress.finish();
                    effect.updated = effects::column_updates(&edge_effects);
                    sweep::late_children(
                        &mut s,
                        &graph,
                        &mut closure,
                        &edge_effects,
                        others_enforce,
                    )
                    .await?
                    .add_to(&mut effect);
                    // Where the switch makes the whole session non-enforcing (SQLite's pragma,
                    // PostgreSQL's replica role), the sweep above covered what could be written
                    // unchecked; a per-statement switch (MariaDB) leaves that to the check.
                    if suspended && s.delete_prefix.is_some() {
                        suspend::check(&mut s, &graph, &closure, &edge_effects).await?;
                    }
                }
                DeleteMode::Db => {
                    execute::apply_native(&mut s, table, selection, &root_key).await?;
                }
            }
            if stage == Stage::Inspect {
                tables = Some(crate::snapshot::snapshot(s.txn, &graph).await?);
            }
        }
        // Inside the caller's transaction the names must be free again for a next call.
        if db.in_callers_transaction() || !s.engine.work_tables_end_with_transaction() {
            drop_work_tables(&mut s, &closure).await?;
        }
        Ok((effect, tables))
    }
    .await;
    // Give the connection back as it came: the pragma restored, in a transaction for the
    // driver to close.
    let mut ending = Ok(());
    if let Some(engine::ActionSwitch::Restart { on, .. }) = switch.filter(|_| restarted) {
        let end = match &outcome {
            Ok(_) if stage == Stage::Commit => "COMMIT",
            _ => "ROLLBACK",
        };
        ending = s.exec(end).await.map(drop).map_err(DeleteError::from);
        if ending.is_err() {
            let _ = s.exec("ROLLBACK").await;
        }
        s.exec(on).await?;
        s.exec("BEGIN").await?;
    }
    let statements = s.statements;
    match (outcome, ending) {
        (Ok((effect, tables)), Ok(())) if stage == Stage::Commit => {
            txn.commit().await?;
            Ok(Ran {
                effect,
                statements,
                tables,
            })
        }
        (Ok((effect, tables)), Ok(())) => {
            txn.rollback().await?;
            Ok(Ran {
                effect,
                statements,
                tables,
            })
        }
        (Err(error), _) | (Ok(_), Err(error)) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

/// SQLite accepts a NO ACTION / SET DEFAULT reference left dangling when its end-of-statement
/// counter nets out within the one native DELETE (deleted rows whose own reference already
/// dangled take it back down). Our executor runs several statements, each checked on its own
/// while the session enforces FKs, so it cannot reproduce that outcome: refused as
/// `unsupported` before anything changes (with enforcement off, or the engine's actions
/// suspended, the executor reproduces it and this does not apply).
async fn net_counted_while_checking(
    s: &mut Session<'_>,
    table: &str,
    effects: &[effects::EdgeEffect],
) -> Result<Option<Refusal>, DeleteError> {
    let Some(edge) = effects
        .iter()
        .find(|e| s.engine.judge(e) == engine::Verdict::NetCounted)
    else {
        return Ok(None);
    };
    if s.dialect != Dialect::Sqlite || s.scalar("PRAGMA foreign_keys").await? == 0 {
        return Ok(None);
    }
    let message = format!(
        "SQLite accepts this delete only as one statement, whose FK counter nets out ({} keeps \
         references to deleted rows); ORM mode on a connection that checks FKs runs several \
         statements and cannot reproduce it: use DB mode, or ORM mode with FK enforcement off",
        edge.label
    );
    Ok(Some(Refusal {
        foreign_key: Some(edge.label.clone()),
        ..Refusal::new(RefusalKind::Unsupported, table, message)
    }))
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
    counts: effects::Counts,
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
    let edge_effects = effects::measure(s, graph, &closure, counts).await?;
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
    s.drop_work_tables(&closure.all_names()).await?;
    Ok(())
}
