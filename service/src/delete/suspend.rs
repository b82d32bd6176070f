//! Suspending the database's own FK actions while our executor does their work.
//!
//! In ORM mode the executor deletes children before parents and rewrites every SET NULL
//! reference first, so the engine's own actions, fired for every parent row we delete, find
//! nothing; they still cost a lookup per row and FK. When the engine owns the transaction
//! ([`EngineActions::Auto`], not inside an app's `DatabaseTransaction`) and the rules involved
//! are ones a scoped check can prove (every FK into a table that can lose rows references its
//! parent's primary key, no SET DEFAULT into such a table, no rewrite of a referenced key), the
//! actions are switched off the way each engine allows (`engine::ActionSwitch`). Before the
//! transaction ends, no reference to a deleted key may be left. Where the switch makes the whole
//! session non-enforcing (SQLite, PostgreSQL), every other writer is still checked by the
//! database and held off until the delete commits (SQLite's `BEGIN IMMEDIATE` admits none;
//! PostgreSQL's FK checks wait on the closure's row locks), so only a trigger fired by the
//! delete could write unchecked: PostgreSQL's switch is refused where one could fire, and on
//! SQLite, when the schema has a trigger, the late-children sweep (`super::sweep`) applies every
//! rule to rows that reference a deleted key. That the executor's own statements leave none is
//! what the differential suite proves in this mode. Where the switch is per statement
//! (MariaDB), [`check`] proves it, and a finding rolls everything back as
//! [`super::DeleteError::DanglingReference`].

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Enforcement, FkAction, Table};
use cascade_migration::orphan_query::orphan_condition;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, Query};

use super::closure::Closure;
use super::effects::EdgeEffect;
use super::engine::Verdict;
use super::report::DeleteError;
use super::session::Session;

/// The work table's alias in statements that name the child table unaliased.
pub(crate) const WORK_ALIAS: &str = "cascade_work";

/// Whether the engine's own FK actions run while the ORM executor deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EngineActions {
    /// Suspend them where it is safe: the engine owns the transaction (never inside the
    /// caller's `DatabaseTransaction`), the engine can switch them off (PostgreSQL: a role that
    /// may set `session_replication_role`, and no user trigger or rule on a table the delete
    /// changes, since replica mode silences those too), and the rules involved can be proven
    /// by the closing integrity check. Otherwise they stay on.
    ///
    /// On SQLite the switch is the connection's `foreign_keys` pragma, which can only change
    /// outside a transaction: the delete restarts its (still empty) transaction as
    /// `BEGIN IMMEDIATE` with it off and restores it before giving the connection back, on
    /// success and on error alike. A future dropped in between (cancelled) would leave the
    /// pragma off on that pooled connection; use [`EngineActions::KeepOn`] where a delete may be
    /// cancelled.
    ///
    /// Only on engines where suspending them is measured to pay
    /// ([`super::engine::Engine::suspension_pays`]): on MariaDB the locking integrity check
    /// costs more than InnoDB's own (empty) cascades, so `Auto` keeps them on there.
    #[default]
    Auto,
    /// Suspend them wherever it is safe (the conditions of `Auto`), also on engines where it
    /// does not pay; the parity tests use it to prove every engine's suspended path.
    Suspend,
    /// Leave the engine's actions on (they find nothing to do).
    KeepOn,
}

/// Whether the rules reachable from the delete are all ones [`check`] proves: every
/// database-enforced FK into a table in `reachable` references that table's primary key and is
/// not SET DEFAULT, and no SET NULL rewrites a column other FKs reference (an ON UPDATE would
/// fire).
pub(crate) fn provable(graph: &RuleGraph, reachable: &[&Table]) -> bool {
    let reached = |name: &str| reachable.iter().any(|t| t.name == name);
    graph
        .foreign_keys()
        .filter(|(_, fk)| fk.enforcement == Enforcement::Database && reached(&fk.parent_table))
        .all(|(child, fk)| {
            let by_key = graph.table(&fk.parent_table).is_some_and(|p| {
                p.primary_key.len() == fk.parent_columns.len()
                    && fk.parent_columns.iter().all(|c| p.primary_key.contains(c))
            });
            let rewritten = fk.set_null_columns.as_ref().unwrap_or(&fk.columns);
            let rewrites_a_key = fk.on_delete == FkAction::SetNull
                && graph.foreign_keys().any(|(_, other)| {
                    other.parent_table == child.name
                        && other.parent_columns.iter().any(|c| rewritten.contains(c))
                });
            by_key && fk.on_delete != FkAction::SetDefault && !rewrites_a_key
        })
}

/// Tables the executor changes: those losing rows and those whose references it rewrites.
pub(crate) fn changed_tables(closure: &Closure, rewritten: &[String]) -> Vec<String> {
    let mut tables: Vec<String> = closure
        .tables
        .iter()
        .filter(|(_, w)| w.deleted > 0)
        .map(|(t, _)| t.clone())
        .chain(rewritten.iter().cloned())
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

/// The integrity check before commit: for every database-enforced FK into a table that lost
/// rows, no child row may still reference a deleted key (the one orphan definition,
/// `cascade_migration::orphan_query`, narrowed to references to the deleted keys, so orphans
/// that existed before the delete are not ours to report). Read with locks where the engine's
/// plain reads see a snapshot (InnoDB), so a row inserted meanwhile is seen and no new one can
/// follow until commit.
///
/// An edge the engine itself leaves dangling is not checked: SQLite's NO ACTION net counter
/// lets a delete pass with surviving references when as many were dangling before (the
/// judge's `NetCounted` verdict), and the ORM reproduces that outcome.
pub(crate) async fn check(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &[EdgeEffect],
) -> Result<(), DeleteError> {
    let backend = s.txn.get_database_backend();
    for (child, fk) in graph
        .foreign_keys()
        .filter(|(_, fk)| fk.enforcement == Enforcement::Database)
    {
        let label = fk.describe(&child.name);
        let engine_leaves_it = effects
            .iter()
            .any(|e| e.label == label && s.engine.judge(e) == Verdict::NetCounted);
        if engine_leaves_it {
            continue;
        }
        let Some(work) = closure
            .tables
            .get(&fk.parent_table)
            .filter(|w| w.deleted > 0)
        else {
            continue;
        };
        // Driven from the (small) work table: one probe of the child's FK index per deleted key.
        // (An alias no user table is likely to be named: the child is referred to by its name.)
        let on = s.equal(
            &s.q(&child.name),
            &fk.columns,
            WORK_ALIAS,
            &fk.parent_columns,
        );
        let mut query = Query::select();
        query
            .expr(Expr::cust("1"))
            .from_as(Alias::new(&work.name), Alias::new(WORK_ALIAS))
            .inner_join(Alias::new(&child.name), Expr::cust(on))
            .cond_where(orphan_condition(&child.name, fk))
            .limit(1);
        if s.engine.check_reads_with_locks() {
            query.lock_shared();
        }
        let statement = backend.build(&query);
        let rows = s
            .query_with(
                &statement.sql,
                statement.values.map(|v| v.0).unwrap_or_default(),
            )
            .await?;
        if !rows.is_empty() {
            return Err(DeleteError::DanglingReference { foreign_key: label });
        }
    }
    Ok(())
}
