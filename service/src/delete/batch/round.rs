//! A batched delete's round: the closure derived and judged once, on the dedicated session, with
//! its work and pick tables kept for the batches; the shapes batching refuses up front.

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use crate::delete::closure::Closure;
use crate::delete::effects::{Counts, EdgeEffect};
use crate::delete::engine::engine;
use crate::delete::report::{DeleteError, Effect, Refusal, RefusalKind};
use crate::delete::session::Session;
use crate::delete::{Derived, Selection, derive};

/// One round's derived closure, in work tables of the dedicated session.
pub(super) struct Round {
    pub(super) closure: Closure,
    pub(super) effect: Effect,
    /// Rewrites, grouped per child table as the executor groups them.
    pub(super) groups: Vec<RewriteGroup>,
    /// Tables losing rows, children first.
    pub(super) tables: Vec<String>,
    /// Pick table per table name.
    pub(super) picks: BTreeMap<String, String>,
}

pub(super) struct RewriteGroup {
    pub(super) table: String,
    pub(super) effects: Vec<EdgeEffect>,
}

/// Derives and judges the closure (work tables kept for the batches), in one transaction that
/// changes no table. Refusals and unsupported shapes are errors; nothing has changed then.
pub(super) async fn plan_round(
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
pub(super) fn unsupported(
    graph: &RuleGraph,
    root: &str,
    closure: &Closure,
    effects: &[EdgeEffect],
) -> Option<Refusal> {
    let refusal =
        |table: &str, message: String| Refusal::new(RefusalKind::Unsupported, table, message);
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
pub(super) fn table_cycle(graph: &RuleGraph, tables: &[&str]) -> Option<Vec<String>> {
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
pub(super) async fn drop_round(conn: &DatabaseConnection, round: &Round) {
    let dialect = Dialect::from(conn.get_database_backend());
    let q = |i: &str| dialect.quote(i);
    for name in round.closure.all_names().iter().chain(round.picks.values()) {
        let _ = conn
            .execute_unprepared(&engine(dialect).drop_work_table(&q, name))
            .await;
    }
}

/// The plan of what is left (`NothingMatched` when nothing is), changing nothing.
pub(super) async fn remaining(
    conn: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
) -> Result<Effect, DeleteError> {
    let txn = conn.begin().await?;
    let mut s = Session::new(&txn);
    let derived = derive(&mut s, graph, table, selection, Counts::Exact).await;
    if let Ok(derived) = &derived {
        let _ = crate::delete::drop_work_tables(&mut s, &derived.closure).await;
    }
    let _ = txn.rollback().await;
    derived.map(|d| d.effect)
}
