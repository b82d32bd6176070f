//! One batch: a transaction of at most N affected rows, from a cursor over the round's rewrite
//! groups and tables; keys picked with a bound `LIMIT`, locked, leaves only, then one statement
//! by key.

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Table;
use sea_orm::{DatabaseConnection, Value};

use super::round::Round;
use crate::delete::effects::EdgeEffect;
use crate::delete::execute::{engine_refusal, update_statement};
use crate::delete::locks;
use crate::delete::report::{ColumnUpdate, DeleteError};
use crate::delete::session::Session;

/// Where the batches are: rewrite group, then table, in order.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cursor {
    pub(super) group: usize,
    pub(super) table: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum End {
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
pub(super) struct BatchDone {
    pub(super) cursor: Cursor,
    pub(super) rows: u64,
    pub(super) deleted: BTreeMap<String, u64>,
    pub(super) updated: Vec<ColumnUpdate>,
    pub(super) statements: u64,
    /// Begin to commit.
    pub(super) millis: u64,
    pub(super) end: End,
}

/// One batch: a transaction of at most `budget` affected rows, from `cursor` on.
pub(super) async fn run_batch(
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
pub(super) fn in_pick(s: &Session<'_>, alias: &str, key: &[String], pick: &str) -> String {
    let left = s.row_value(alias, key);
    format!("{left} IN (SELECT {} FROM {})", s.names(key), s.q(pick))
}

/// The limit as a bound value.
pub(super) fn limit(rows: u64) -> Value {
    Value::BigInt(Some(i64::try_from(rows).unwrap_or(i64::MAX)))
}

/// SET NULL / SET DEFAULT rewrites of surviving rows, picked up to the budget.
pub(super) async fn rewrite_steps(
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
pub(super) async fn delete_steps(
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
pub(super) async fn hold_leaves(
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
pub(super) fn leaf_condition(s: &Session<'_>, graph: &RuleGraph, table: &Table) -> String {
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
pub(super) async fn outside_references(
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
