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

mod closure;
mod effects;
pub(crate) mod engine;
mod execute;
mod judge;
mod predicate;
mod report;
mod selection;
pub(crate) mod session;
mod verify;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Dialect, Enforcement, Table};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, TransactionTrait};

pub use predicate::PredicateError;
pub use report::{
    ColumnUpdate, DeleteError, DeleteMode, DeleteReport, Effect, Refusal, RefusalKind,
};
pub use selection::Selection;
pub use verify::{Outcome, TableDiff, VerifyReport, verify, verify_url};

use session::Session;

/// How [`delete`] runs.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct DeleteOptions {
    /// Our executor (ORM) or the database's own cascade (DB).
    pub mode: DeleteMode,
    /// Do everything, report it, then roll back.
    pub dry_run: bool,
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
}

impl Default for DeleteOptions {
    fn default() -> DeleteOptions {
        DeleteOptions {
            mode: DeleteMode::Orm,
            dry_run: false,
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
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let (effect, _) = run(db, graph, table, selection, mode, Stage::Plan).await?;
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
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
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
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    delete(db, graph, E::default().table_name(), selection, options).await
}

/// Deletes the selected rows with their cascade, in one transaction (a savepoint inside the
/// caller's transaction); refused deletes change nothing.
pub async fn delete<C>(
    db: &C,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    options: DeleteOptions,
) -> Result<DeleteReport, DeleteError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let stage = if options.dry_run {
        Stage::DryRun
    } else {
        Stage::Commit
    };
    let (effect, statements) = run(db, graph, table, selection, options.mode, stage).await?;
    Ok(DeleteReport {
        mode: options.mode,
        dialect: Dialect::from(db.get_database_backend()),
        effect,
        statements,
        dry_run: options.dry_run,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Plan,
    DryRun,
    Commit,
}

/// The rules as `dialect` applies them in `mode`: actions normalised (InnoDB's NO ACTION and
/// SET DEFAULT are RESTRICT), ORM-only rules dropped when the database does the work.
fn effective_rules(graph: &RuleGraph, dialect: Dialect, mode: DeleteMode) -> RuleGraph {
    let mut graph = graph.clone();
    for table in graph.tables.values_mut() {
        if mode == DeleteMode::Db {
            table
                .foreign_keys
                .retain(|fk| fk.enforcement == Enforcement::Database);
        }
        for fk in &mut table.foreign_keys {
            fk.on_delete = dialect.effective_action(fk.on_delete);
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
    let root = graph
        .table(table)
        .ok_or_else(|| DeleteError::UnknownTable(table.to_owned()))?;
    if root.primary_key.is_empty() {
        return Err(DeleteError::NoPrimaryKey(table.to_owned()));
    }
    let reach = crate::reach::reach(&graph, table);
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

    let txn = db.begin().await?;
    let mut s = Session::new(&txn);
    let root_select = selection.root_select(txn.get_database_backend(), table, &root.primary_key);
    let outcome = async {
        let closure = closure::compute(
            &mut s,
            &graph,
            table,
            (
                root_select.sql.clone(),
                root_select.values.clone().map(|v| v.0).unwrap_or_default(),
            ),
            &reachable,
        )
        .await?;
        let edge_effects = effects::measure(&mut s, &graph, &closure).await?;
        let refusal = judge::judge(&mut s, &graph, &closure, &edge_effects, &path_to).await?;
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
                    execute::apply_native(&mut s, table, selection, &root.primary_key).await?;
                }
            }
        }
        for name in closure.all_names() {
            let q = |i: &str| s.q(i);
            let drop = s.engine.drop_work_table(&q, &name);
            s.exec(&drop).await?;
        }
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
