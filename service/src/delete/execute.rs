//! Carrying out a planned delete. ORM mode: the SET NULL / SET DEFAULT rewrites (by the keys the
//! plan materialised; one UPDATE per child table with the edges merged by CASE, or one per edge
//! where the engine prefers that and the edges are independent; an edge not counted beforehand
//! takes its count from its UPDATE), then one DELETE per table, children before parents, all
//! keyed by the work tables; it relies on nothing the database enforces. DB mode: the native
//! DELETE of the root rows, the engine's own cascade, its error mapped to a refusal kind.

use cascade_entity::RuleGraph;
use cascade_entity::rules::{FkAction, Table};
use sea_orm::{ConnectionTrait, DbErr};

use super::closure::Closure;
use super::effects::{EdgeEffect, default_sql};
use super::report::{DeleteError, Refusal};
use super::selection::Selection;
use super::session::Session;

pub(crate) async fn apply_orm(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &mut [EdgeEffect],
) -> Result<(), DeleteError> {
    // One UPDATE per child table where the engine allows it: a row reached by two SET NULL
    // edges is written once, and every condition sees the rows as they were.
    // Key updates fired by a rewrite (ON UPDATE edges) go first, deepest first, while every
    // key they are matched by still holds its old value.
    let mut rewrites: Vec<usize> = (0..effects.len())
        .filter(|&i| effects[i].survivors > 0 && effects[i].rewrite.is_some())
        .collect();
    rewrites.sort_by_key(|&i| std::cmp::Reverse(effects[i].key_update_depth));
    let mut by_table: Vec<(String, u32, Vec<usize>)> = Vec::new();
    for i in rewrites {
        let (child, depth) = (&effects[i].child, effects[i].key_update_depth);
        match by_table
            .iter_mut()
            .find(|(t, d, _)| t == child && *d == depth)
        {
            Some((_, _, group)) if s.engine.merges_updates() => group.push(i),
            _ => by_table.push((child.clone(), depth, vec![i])),
        }
    }
    for (table, _, group) in by_table {
        let Some(child) = graph.table(&table) else {
            continue;
        };
        let edges: Vec<&EdgeEffect> = group.iter().map(|&i| &effects[i]).collect();
        let statements: Vec<Vec<usize>> =
            if s.engine.splits_independent_updates() && independent(child, &edges) {
                group.iter().map(|&i| vec![i]).collect()
            } else {
                vec![group]
            };
        for group in statements {
            // An edge whose rows were not counted beforehand is counted by its own UPDATE, or,
            // sharing one with other edges, just before it.
            if group.len() > 1 {
                for &i in &group {
                    if !effects[i].counted {
                        let rewrite = effects[i].rewrite.clone().unwrap_or_default();
                        let sql = format!("SELECT COUNT(*) FROM {} WHERE {rewrite}", s.q(&table));
                        effects[i].survivors = u64::try_from(s.scalar(&sql).await?).unwrap_or(0);
                        effects[i].counted = true;
                    }
                }
            }
            let edges: Vec<&EdgeEffect> = group.iter().map(|&i| &effects[i]).collect();
            let sql = update_statement(s, child, &edges);
            match s.exec(&sql).await {
                Ok(rows) => {
                    s.progress.advance(rows);
                    if let [i] = group[..]
                        && !effects[i].counted
                    {
                        effects[i].survivors = rows;
                        effects[i].counted = true;
                    }
                }
                Err(error) => return Err(engine_refusal(s, error, &table)),
            }
        }
    }
    let order = graph.dependency_order();
    for table in order.iter().rev() {
        let Some(work) = closure.tables.get(*table).filter(|w| w.deleted > 0) else {
            continue;
        };
        let sql = if s.engine.deletes_by_join() {
            let target = s.q(table);
            let alias = super::suspend::WORK_ALIAS;
            format!(
                "{}DELETE {target} FROM {target} JOIN {} {alias} ON {}",
                s.delete_prefix.unwrap_or_default(),
                s.q(&work.name),
                s.equal(&target, &work.key, alias, &work.key)
            )
        } else {
            format!(
                "{}DELETE FROM {} WHERE {}",
                s.delete_prefix.unwrap_or_default(),
                s.q(table),
                key_in(s, &work.key, &work.name)
            )
        };
        match s.exec(&sql).await {
            Ok(rows) => s.progress.advance(rows),
            Err(error) => return Err(engine_refusal(s, error, table)),
        }
    }
    Ok(())
}

/// Whether the edges of `group` can be rewritten one UPDATE each with the same result as one
/// merged UPDATE: no edge writes a column another edge's condition reads (its own columns, the
/// child's key) or writes, every value is a constant (NULL or the column default), and the
/// table does not reference itself (SQLite re-checks such references on every UPDATE of a row).
fn independent(child: &Table, group: &[&EdgeEffect]) -> bool {
    if child
        .foreign_keys
        .iter()
        .any(|fk| fk.parent_table == child.name)
    {
        return false;
    }
    let mut written: Vec<&String> = Vec::new();
    for effect in group {
        if effect.values.is_some()
            || effect.key_update_depth > 0
            || effect.columns.iter().any(|c| child.primary_key.contains(c))
            || effect.columns.iter().any(|c| written.contains(&c))
        {
            return false;
        }
        written.extend(&effect.columns);
    }
    true
}

/// `UPDATE child SET col = NULL|default ... WHERE rewrite`, or for several edges
/// `SET col = CASE WHEN rewrite1 THEN ... ELSE col END ... WHERE rewrite1 OR rewrite2`.
pub(crate) fn update_statement(s: &Session<'_>, child: &Table, group: &[&EdgeEffect]) -> String {
    let value = |effect: &EdgeEffect, column: &str, in_case: bool| match effect.action {
        _ if effect.values.is_some() => effect
            .columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| effect.values.as_ref().map(|v| v[i].clone()))
            .unwrap_or_else(|| "NULL".to_owned()),
        FkAction::SetDefault => {
            let default = child.column(column).and_then(|c| c.default.as_ref());
            if in_case {
                default.map_or_else(|| "NULL".to_owned(), |d| format!("({})", default_sql(d)))
            } else {
                s.engine.default_value_sql(default)
            }
        }
        _ => "NULL".to_owned(),
    };
    let condition = |e: &EdgeEffect| e.rewrite.clone().unwrap_or_else(|| "1 = 0".into());
    if let [effect] = group
        && s.engine.rewrites_by_join()
        && effect.values.is_none()
        && let Some((join, residual)) = &effect.rewrite_join
    {
        let table = s.q(&child.name);
        let assignments: Vec<String> = effect
            .columns
            .iter()
            .map(|c| format!("{table}.{} = {}", s.q(c), value(effect, c, false)))
            .collect();
        return format!(
            "UPDATE {table} {join} SET {} WHERE {residual}",
            assignments.join(", ")
        );
    }
    if let [effect] = group {
        let assignments: Vec<String> = effect
            .columns
            .iter()
            .map(|c| format!("{} = {}", s.q(c), value(effect, c, false)))
            .collect();
        return format!(
            "UPDATE {} SET {} WHERE {}",
            s.q(&child.name),
            assignments.join(", "),
            condition(effect)
        );
    }
    let mut columns: Vec<&String> = group.iter().flat_map(|e| &e.columns).collect();
    columns.dedup();
    let assignments: Vec<String> = columns
        .iter()
        .map(|column| {
            let arms: String = group
                .iter()
                .filter(|e| e.columns.contains(column))
                .map(|e| format!(" WHEN {} THEN {}", condition(e), value(e, column, true)))
                .collect();
            format!("{0} = CASE{arms} ELSE {0} END", s.q(column))
        })
        .collect();
    let any: Vec<String> = group
        .iter()
        .map(|e| format!("({})", condition(e)))
        .collect();
    format!(
        "UPDATE {} SET {} WHERE {}",
        s.q(&child.name),
        assignments.join(", "),
        any.join(" OR ")
    )
}

/// `(k1, k2) IN (SELECT k1, k2 FROM work)`.
fn key_in(s: &Session<'_>, key: &[String], work: &str) -> String {
    format!(
        "{} IN (SELECT {} FROM {})",
        s.row_value_of_names(key),
        s.names(key),
        s.q(work)
    )
}

/// The native DELETE; an engine refusal becomes `DeleteError::Refused` with the engine's words.
pub(crate) async fn apply_native(
    s: &mut Session<'_>,
    root: &str,
    selection: &Selection,
    key: &[String],
) -> Result<u64, DeleteError> {
    let statement = selection.delete_statement(s.txn.get_database_backend(), root, key);
    let outcome = async {
        let rows = s
            .exec_with(
                &statement.sql,
                statement.values.map(|v| v.0).unwrap_or_default(),
            )
            .await?;
        if let Some(check) = s.engine.check_deferred() {
            s.exec(check).await?;
        }
        Ok::<u64, sea_orm::DbErr>(rows)
    }
    .await;
    outcome.map_err(|error| engine_refusal(s, error, root))
}

/// A database error that is a refusal (a constraint the engine enforces) as a typed refusal.
pub(crate) fn engine_refusal(s: &Session<'_>, error: DbErr, table: &str) -> DeleteError {
    match s.engine.classify(&error) {
        Some(kind) => DeleteError::Refused(Box::new(Refusal::new(
            kind,
            table,
            format!("the database refused: {error}"),
        ))),
        None => DeleteError::Db(error),
    }
}
