//! The last step of an ORM-mode delete before commit: children of relations the database does
//! not enforce that reference a deleted row, although the closure did not contain them. Another
//! transaction inserted them after the closure read that table without locking the parent (the
//! `locks` module's [`super::lock_parent`] prevents it; this catches writers that do not call
//! it, as far as they committed before this step). Each such child gets its relation's rule:
//! CASCADE deletes it (and, in the next round, its own late children), SET NULL / SET DEFAULT
//! rewrite its reference, RESTRICT / NO ACTION refuse the whole delete. Rounds repeat until one
//! changes nothing; the report's counts include what they did.
//!
//! The relations swept are the ORM-only ones, and every one when the connection does not
//! enforce FKs. A late child is one whose full reference equals the key of a row in the
//! parent's work table (a deleted row): orphans that were there before the delete are left
//! alone. References to non-key parent columns cannot be matched once the parent row is gone
//! and are not swept. Statements: one per swept relation whose parent lost rows, per round, plus
//! one more per CASCADE relation that found rows; none depends on the row count.

use std::collections::{BTreeMap, BTreeSet};

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Enforcement, FkAction, ForeignKey, Table};

use super::closure::Closure;
use super::effects::EdgeEffect;
use super::execute::engine_refusal;
use super::report::{ColumnUpdate, DeleteError, Effect, Refusal, RefusalKind};
use super::session::Session;

/// What the sweep did, to add to the report.
#[derive(Debug, Default)]
pub(crate) struct Swept {
    deleted: BTreeMap<String, u64>,
    updated: Vec<ColumnUpdate>,
}

impl Swept {
    /// Adds the sweep's rows to `effect`'s counts.
    pub(super) fn add_to(self, effect: &mut Effect) {
        for (table, rows) in self.deleted {
            *effect.deleted.entry(table).or_default() += rows;
        }
        for update in self.updated {
            match effect.updated.iter_mut().find(|u| {
                u.table == update.table && u.columns == update.columns && u.action == update.action
            }) {
                Some(existing) => existing.rows += update.rows,
                None => effect.updated.push(update),
            }
        }
    }
}

/// Applies the rules of unenforced relations to late children, to a fixpoint (module docs).
///
/// `others_enforce`: the database checks every write the delete does not make itself (the
/// connection enforced FKs before the delete suspended its own actions, if it did, and nothing
/// can write unchecked meanwhile); then only the ORM-only relations are swept, else every one.
pub(crate) async fn late_children(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &mut Closure,
    effects: &[EdgeEffect],
    others_enforce: bool,
) -> Result<Swept, DeleteError> {
    let edges: Vec<(&Table, &ForeignKey)> = graph
        .foreign_keys()
        .filter(|(_, fk)| !others_enforce || fk.enforcement == Enforcement::OrmOnly)
        .filter(|(_, fk)| by_key(graph, fk))
        .collect();
    let mut swept = Swept::default();
    let mut gained: BTreeSet<String> = closure
        .tables
        .iter()
        .filter(|(_, w)| w.deleted > 0)
        .map(|(t, _)| t.clone())
        .collect();
    let mut generation = closure.max_generation + 1;
    while !gained.is_empty() {
        let mut next = BTreeSet::new();
        for (child, fk) in &edges {
            if !gained.contains(&fk.parent_table) {
                continue;
            }
            // Referencing rows the plan already counted and the engine model lets stay (SQLite's
            // net NO ACTION counter) are not late.
            let known = effects
                .iter()
                .filter(|e| e.key_update_depth == 0 && e.child == child.name)
                .filter(|e| e.label == fk.describe(&child.name))
                .map(|e| e.survivors)
                .sum();
            let rows = sweep_edge(s, closure, child, fk, generation, known).await?;
            if rows == 0 {
                continue;
            }
            match fk.on_delete {
                FkAction::Cascade => {
                    *swept.deleted.entry(child.name.clone()).or_default() += rows;
                    if let Some(work) = closure.tables.get_mut(&child.name) {
                        work.deleted += rows;
                    }
                    next.insert(child.name.clone());
                }
                action => swept.updated.push(ColumnUpdate {
                    table: child.name.clone(),
                    columns: fk
                        .set_null_columns
                        .clone()
                        .unwrap_or_else(|| fk.columns.clone()),
                    action,
                    rows,
                }),
            }
        }
        gained = next;
        generation += 1;
    }
    Ok(swept)
}

/// Whether `fk` references its parent's primary key (the work tables hold only keys).
fn by_key(graph: &RuleGraph, fk: &ForeignKey) -> bool {
    graph.table(&fk.parent_table).is_some_and(|p| {
        p.primary_key.len() == fk.parent_columns.len()
            && fk.parent_columns.iter().all(|c| p.primary_key.contains(c))
    })
}

/// Applies `fk`'s rule to the rows of `child` that reference a deleted row and have no parent
/// now; returns how many rows it deleted or rewrote. RESTRICT / NO ACTION refuse when more such
/// rows exist than the `known` ones the plan counted and let stay.
async fn sweep_edge(
    s: &mut Session<'_>,
    closure: &Closure,
    child: &Table,
    fk: &ForeignKey,
    generation: u32,
    known: u64,
) -> Result<u64, DeleteError> {
    let Some(parent_work) = closure.tables.get(&fk.parent_table) else {
        return Ok(0);
    };
    let table = s.q(&child.name);
    // `IN`, not a correlated `EXISTS`: the reference's index finds the rows, no table scan.
    let matches = format!(
        "{} IN (SELECT {} FROM {} d) AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
        s.row_value(&table, &fk.columns),
        s.cols("d", &fk.parent_columns),
        s.q(&parent_work.name),
        s.q(&fk.parent_table),
        s.equal(&table, &fk.columns, "p", &fk.parent_columns)
    );
    match fk.on_delete {
        FkAction::Cascade => {
            let Some(child_work) = closure.tables.get(&child.name) else {
                return Ok(0);
            };
            let key = s.names(&child_work.key);
            let select = format!(
                "SELECT {}, {generation} FROM {table} WHERE {matches}",
                s.names(&child.primary_key)
            );
            // A temporary table read and written by one statement (a self-reference on
            // MariaDB) is staged through its mirror, which stays a superset of it.
            let added = match &child_work.mirror {
                Some(mirror) if child.name == fk.parent_table => {
                    let staged = format!("{} ({key}, cascade_gen)", s.q(mirror));
                    s.exec(&s.engine.insert_ignore(&staged, &select)).await?;
                    let target = format!("{} ({key}, cascade_gen)", s.q(&child_work.name));
                    let copy = format!("SELECT {key}, cascade_gen FROM {}", s.q(mirror));
                    s.exec(&s.engine.insert_ignore(&target, &copy)).await?
                }
                _ => {
                    let target = format!("{} ({key}, cascade_gen)", s.q(&child_work.name));
                    s.exec(&s.engine.insert_ignore(&target, &select)).await?
                }
            };
            if added == 0 {
                return Ok(0);
            }
            let left = s.row_value_of_names(&child_work.key);
            let delete = format!(
                "DELETE FROM {table} WHERE {left} IN (SELECT {key} FROM {} WHERE cascade_gen = \
                 {generation})",
                s.q(&child_work.name)
            );
            s.exec(&delete)
                .await
                .map_err(|error| engine_refusal(s, error, &child.name))
        }
        FkAction::SetNull | FkAction::SetDefault => {
            let columns = fk.set_null_columns.as_ref().unwrap_or(&fk.columns);
            let assignments: Vec<String> = columns
                .iter()
                .map(|c| {
                    let value = if fk.on_delete == FkAction::SetNull {
                        "NULL".to_owned()
                    } else {
                        let default = child.column(c).and_then(|col| col.default.as_ref());
                        s.engine.default_value_sql(default)
                    };
                    format!("{} = {value}", s.q(c))
                })
                .collect();
            let update = format!(
                "UPDATE {table} SET {} WHERE {matches}",
                assignments.join(", ")
            );
            s.exec(&update)
                .await
                .map_err(|error| engine_refusal(s, error, &child.name))
        }
        FkAction::Restrict | FkAction::NoAction => {
            let found = s
                .scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {matches}"))
                .await?;
            let rows = u64::try_from(found).unwrap_or(0).saturating_sub(known);
            if rows == 0 {
                return Ok(0);
            }
            let kind = if fk.on_delete == FkAction::Restrict {
                RefusalKind::Restrict
            } else {
                RefusalKind::NoAction
            };
            let relation = fk.describe(&child.name);
            let message = format!(
                "{rows} row(s) of `{}` referencing deleted rows of `{}` were inserted by another \
                 transaction while the delete ran (the relation is not enforced by the database; \
                 writers should call `lock_parent` first)",
                child.name, fk.parent_table
            );
            Err(DeleteError::Refused(Box::new(Refusal {
                foreign_key: Some(relation.clone()),
                rows,
                path: vec![relation],
                ..Refusal::new(kind, &child.name, message)
            })))
        }
    }
}
