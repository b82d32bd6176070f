//! Key updates a delete causes. An ON DELETE SET NULL / SET DEFAULT that rewrites columns
//! another FK references (a UNIQUE column other rows point at) is an UPDATE of that key, so on
//! every engine the referencing rows' ON UPDATE rule applies: RESTRICT and NO ACTION refuse
//! while such a row survives, CASCADE writes the new key into it, SET NULL / SET DEFAULT rewrite
//! it, and a rewritten key can be referenced in turn (a chain).
//!
//! Each such edge is measured like an ON DELETE edge, as an [`EdgeEffect`] with
//! `key_update_depth` > 0, so the judge and the executor treat it the same way: the judge sees
//! the action (a CASCADE into NULL judged like SET NULL, so NOT NULL columns refuse), the
//! executor rewrites deeper levels first, while every key still holds its old value. What the
//! model does not decide (a referencing row that the cascade also deletes, whose fate depends on
//! the engine's order; a key update within one table; chains deeper than [`MAX_DEPTH`]) is
//! marked unsupported and refused before anything runs.

use cascade_entity::RuleGraph;
use cascade_entity::rules::{FkAction, ForeignKey, Table};

use super::closure::Closure;
use super::effects::{EdgeEffect, default_sql, nulls_not_null};
use super::report::DeleteError;
use super::session::Session;

/// Chains of key updates deeper than this are refused as unsupported.
pub(crate) const MAX_DEPTH: u32 = 8;

/// Appends to `effects` every ON UPDATE edge fired by the rewrites already in it, level by level.
pub(crate) async fn measure(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &mut Vec<EdgeEffect>,
) -> Result<(), DeleteError> {
    let mut frontier: Vec<usize> = (0..effects.len())
        .filter(|&i| effects[i].rewrite.is_some() && effects[i].survivors > 0)
        .collect();
    let mut depth = 1;
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for index in frontier {
            let parent = effects[index].clone();
            let Some(parent_table) = graph.table(&parent.child) else {
                continue;
            };
            for (child, fk) in graph.referencing(&parent.child) {
                if !fk.parent_columns.iter().any(|c| parent.columns.contains(c)) {
                    continue;
                }
                let mut effect =
                    measure_edge(s, graph, closure, &parent, parent_table, child, fk, depth)
                        .await?;
                if effect.survivors + effect.doomed == 0 {
                    continue;
                }
                if depth > MAX_DEPTH {
                    effect.unsupported = Some(format!(
                        "key updates chain more than {MAX_DEPTH} levels deep at {}",
                        effect.label
                    ));
                }
                if effect.rewrite.is_some() && effect.survivors > 0 {
                    next.push(effects.len());
                }
                effects.push(effect);
            }
        }
        if depth > MAX_DEPTH {
            break;
        }
        frontier = next;
        depth += 1;
    }
    Ok(())
}

/// The rows of `child` that reference, through `fk`, rows of the parent table whose key
/// `parent` rewrites, and what `fk`'s ON UPDATE rule does to them.
#[allow(clippy::too_many_arguments)]
async fn measure_edge(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    parent: &EdgeEffect,
    parent_table: &Table,
    child: &Table,
    fk: &ForeignKey,
    depth: u32,
) -> Result<EdgeEffect, DeleteError> {
    let parent_name = s.q(&parent_table.name);
    let parent_rewrite = parent.rewrite.clone().unwrap_or_else(|| "1 = 0".to_owned());
    let label = format!("{} ON UPDATE", fk.describe(&child.name));
    // The new value of each parent column this FK references.
    let new_parent_value = |column: &str| -> Option<String> {
        let position = parent.columns.iter().position(|c| c == column)?;
        Some(match (&parent.values, parent.action) {
            (Some(values), _) => values[position].clone(),
            (None, FkAction::SetDefault) => parent_table
                .column(column)
                .and_then(|c| c.default.as_ref())
                .map_or_else(|| "NULL".to_owned(), |d| format!("({})", default_sql(d))),
            _ => "NULL".to_owned(),
        })
    };
    let (judged_action, columns, values) = match fk.on_update {
        FkAction::Cascade => {
            let pairs: Vec<(String, String)> = fk
                .columns
                .iter()
                .zip(&fk.parent_columns)
                .filter_map(|(c, p)| new_parent_value(p).map(|v| (c.clone(), v)))
                .collect();
            let all_null = pairs.iter().all(|(_, v)| v == "NULL");
            let action = if all_null {
                FkAction::SetNull
            } else {
                FkAction::SetDefault
            };
            let (columns, values): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
            (action, columns, Some(values))
        }
        action => (action, fk.columns.clone(), None),
    };
    let mut effect = EdgeEffect {
        child: child.name.clone(),
        parent: parent_table.name.clone(),
        label: label.clone(),
        action: judged_action,
        deferrable: fk.deferrable,
        nulls_not_null: false,
        default_missing_parent: false,
        survivors: 0,
        survivor_parent_generation: 0,
        doomed: 0,
        doomed_late: 0,
        doomed_next_layer: 0,
        doomed_self: 0,
        self_reference_violations: 0,
        rewrite: None,
        rewrite_join: None,
        columns: columns.clone(),
        values: values.clone(),
        key_update_depth: depth,
        unsupported: None,
        order_dependent: None,
        check_violations: 0,
        check_name: None,
        check_doomed: 0,
        counted: true,
    };
    if child.name == parent_table.name {
        effect.survivors = 1;
        effect.unsupported = Some(format!(
            "{label}: a key update within one table (`{}`) is not modelled yet",
            child.name
        ));
        return Ok(effect);
    }
    let join = fk
        .columns
        .iter()
        .zip(&fk.parent_columns)
        .map(|(c, p)| format!("k.{} = {parent_name}.{}", s.q(c), s.q(p)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let child_work = closure.tables.get(&child.name).map(|w| w.name.clone());
    let doomed_test = |negate: bool| match &child_work {
        Some(work) => format!(
            " AND {}EXISTS (SELECT 1 FROM {} x WHERE {})",
            if negate { "NOT " } else { "" },
            s.q(work),
            s.equal("x", &child.primary_key, "k", &child.primary_key)
        ),
        None if negate => String::new(),
        None => " AND 1 = 0".to_owned(),
    };
    let from = format!(
        "FROM {} k JOIN {parent_name} ON {join} WHERE ({parent_rewrite})",
        s.q(&child.name)
    );
    let (surviving, doomed) = (doomed_test(true), doomed_test(false));
    effect.survivors = count(s, &format!("SELECT COUNT(*) {from}{surviving}")).await?;
    effect.doomed = count(s, &format!("SELECT COUNT(*) {from}{doomed}")).await?;
    if effect.doomed > 0 {
        effect.order_dependent = Some(format!(
            "{label}: {} row(s) of `{}` reached by the key update are also deleted by the \
             cascade; which comes first depends on the engine's order",
            effect.doomed, child.name
        ));
    }
    if matches!(judged_action, FkAction::SetNull | FkAction::SetDefault) {
        effect.nulls_not_null = match &values {
            Some(values) => {
                let nulled: Vec<String> = columns
                    .iter()
                    .zip(values)
                    .filter(|(_, v)| v.as_str() == "NULL")
                    .map(|(c, _)| c.clone())
                    .collect();
                nulls_not_null(s, child, &nulled)
            }
            None if judged_action == FkAction::SetNull => nulls_not_null(s, child, &columns),
            None => false,
        };
        let child_name = s.q(&child.name);
        let mut predicate = format!(
            "{} IN (SELECT {} FROM {parent_name} WHERE ({parent_rewrite}))",
            s.row_value(&child_name, &fk.columns),
            s.cols(&parent_name, &fk.parent_columns)
        );
        if let Some(work) = &child_work {
            predicate.push_str(&format!(
                " AND {} NOT IN (SELECT {} FROM {} x)",
                s.row_value(&child_name, &child.primary_key),
                s.cols("x", &child.primary_key),
                s.q(work)
            ));
        }
        effect.rewrite = Some(predicate);
        super::checks::measure(s, child, &mut effect, None).await?;
        if fk.on_update == FkAction::SetDefault && effect.survivors > 0 {
            let _ = graph;
            effect.unsupported = Some(format!(
                "{label} SET DEFAULT: whether the default key has a parent is not modelled yet"
            ));
        }
    }
    Ok(effect)
}

async fn count(s: &mut Session<'_>, sql: &str) -> Result<u64, DeleteError> {
    Ok(u64::try_from(s.scalar(sql).await?).unwrap_or(0))
}
