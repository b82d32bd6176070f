//! The verdict on a planned delete: combines the engine's per-edge verdicts with the limits
//! that concern the whole delete (cascade depth, FK mismatch) and SQLite's end-of-statement FK
//! counter, and builds the typed refusal with blocking keys and path. Where the aggregate model
//! cannot decide (the engine's order does), and whenever it refuses (to name the refusal the
//! engine reaches first), it replays the engine's order over the rows involved (`simulate`);
//! it abstains only where the replay cannot follow, saying why.

use cascade_entity::RuleGraph;
use cascade_entity::rules::FkAction;

use super::closure::{Closure, parent_join};
use super::effects::EdgeEffect;
use super::engine::Verdict;
use super::report::{DeleteError, Refusal, RefusalKind};
use super::session::Session;

/// The refusal (if any) the engine makes, given every edge's effect and the closure.
pub(crate) async fn judge(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &[EdgeEffect],
    path_to: &dyn Fn(&str) -> Vec<String>,
) -> Result<Option<Refusal>, DeleteError> {
    // A shape the model does not decide: refused unless a definite refusal settles the delete
    // anyway (decided at the end).
    let unsupported = effects
        .iter()
        .find(|e| e.unsupported.is_some())
        .map(|effect| {
            let mut r = refusal(
                RefusalKind::Unsupported,
                &effect.child,
                Some(effect.label.clone()),
                effect.survivors + effect.doomed,
                path_to(&effect.parent),
                effect.unsupported.clone().unwrap_or_default(),
            );
            r.message = format!("not modelled, so not run on a guess: {}", r.message);
            r
        });
    let effects: Vec<EdgeEffect> = effects
        .iter()
        .filter(|e| e.unsupported.is_none())
        .cloned()
        .collect();
    let effects = effects.as_slice();
    if let Some(limit) = s.engine.refusing_depth()
        && closure.max_generation >= limit
    {
        return Ok(Some(Refusal::new(
            RefusalKind::CascadeDepth,
            closure.tables.keys().next().map_or("", String::as_str),
            format!(
                "the cascade reaches {} levels; {} refuses at {limit}",
                closure.max_generation, s.dialect
            ),
        )));
    }
    if s.engine.refuses_fk_mismatch() {
        for (table, work) in &closure.tables {
            if work.deleted == 0 {
                continue;
            }
            let parent = graph.table(table);
            if let Some((child, fk)) = graph
                .referencing(table)
                .find(|(_, fk)| parent.is_some_and(|p| !p.is_key(&fk.parent_columns)))
            {
                return Ok(Some(refusal(
                    RefusalKind::FkMismatch,
                    &child.name,
                    Some(fk.describe(&child.name)),
                    0,
                    path_to(table),
                    format!(
                        "{} references columns of `{table}` that are not a key",
                        fk.describe(&child.name)
                    ),
                )));
            }
        }
    }
    // Every definite refusal counts: which one an engine reports first depends on its order.
    let mut definite: Vec<Refusal> = Vec::new();
    let mut undecided: Option<Refusal> = None;
    let mut counted: Vec<&EdgeEffect> = Vec::new();
    // Keys written with a value (SET DEFAULT, ON UPDATE CASCADE of one): a NO ACTION check that
    // runs after such a write may find an equal key again and pass (PostgreSQL's
    // ri_Check_Pk_Match, SQLite's counter decrement for the new key).
    let rewritten_keys: Vec<(&str, &String)> = effects
        .iter()
        .filter(|e| e.rewrite.is_some() && e.survivors > 0)
        .filter(|e| {
            e.action == FkAction::SetDefault
                || e.values
                    .as_ref()
                    .is_some_and(|v| v.iter().any(|v| v != "NULL"))
        })
        .flat_map(|e| e.columns.iter().map(move |c| (e.child.as_str(), c)))
        .collect();
    let replaceable = |effect: &EdgeEffect| -> bool {
        s.engine.no_action_sees_replacement_keys()
            && effect.action == FkAction::NoAction
            && effect.survivors > 0
            && graph
                .table(&effect.child)
                .and_then(|t| {
                    t.foreign_keys
                        .iter()
                        .find(|fk| effect.label.starts_with(&fk.describe(&t.name)))
                })
                .is_some_and(|fk| {
                    fk.parent_columns
                        .iter()
                        .any(|c| rewritten_keys.contains(&(fk.parent_table.as_str(), c)))
                })
    };
    for effect in effects {
        if let Some(reason) = &effect.order_dependent {
            undecided.get_or_insert(refusal(
                RefusalKind::OrderDependent,
                &effect.child,
                Some(effect.label.clone()),
                effect.doomed,
                path_to(&effect.parent),
                reason.clone(),
            ));
        }
        if replaceable(effect) {
            undecided.get_or_insert(refusal(
                RefusalKind::OrderDependent,
                &effect.child,
                Some(effect.label.clone()),
                effect.survivors,
                path_to(&effect.parent),
                format!(
                    "{} (NO ACTION) passes if an equal key is written into `{}` before it is \
                     checked, which the engine's order decides",
                    effect.label, effect.parent
                ),
            ));
            continue;
        }
        if effect.check_violations > 0 {
            definite.push(refusal(
                RefusalKind::Check,
                &effect.child,
                Some(effect.label.clone()),
                effect.check_violations,
                path_to(&effect.parent),
                format!(
                    "{} ({}) would make {} row(s) of `{}` fail CHECK {}",
                    effect.label,
                    effect.action,
                    effect.check_violations,
                    effect.child,
                    effect.check_name.as_deref().unwrap_or("constraint")
                ),
            ));
        } else if effect.check_doomed > 0 {
            undecided.get_or_insert(refusal(
                RefusalKind::OrderDependent,
                &effect.child,
                Some(effect.label.clone()),
                effect.check_doomed,
                path_to(&effect.parent),
                format!(
                    "{} ({}) would make {} row(s) of `{}` fail a CHECK, rows the cascade also \
                     deletes: whether the engine rewrites or deletes them first decides",
                    effect.label, effect.action, effect.check_doomed, effect.child
                ),
            ));
        }
        match s.engine.judge(effect) {
            Verdict::Fine => {}
            Verdict::NetCounted => counted.push(effect),
            Verdict::Refuse(kind) => {
                let blocking = if effect.survivors_fail() {
                    effect.survivors
                } else {
                    effect.doomed
                };
                let mut r = refusal(
                    kind,
                    &effect.child,
                    Some(effect.label.clone()),
                    blocking,
                    path_to(&effect.parent),
                    describe(kind, effect),
                );
                r.sample_keys = sample_keys(s, graph, closure, effect).await?;
                if kind == RefusalKind::OrderDependent {
                    undecided.get_or_insert(r);
                } else {
                    definite.push(r);
                }
            }
        }
    }
    // A NO ACTION violation a key update counts comes after the rewrite that fired it, and that
    // rewrite's own decrement only cancels the increment its parent's delete made: nothing but a
    // deleted row whose reference already dangled can cancel it.
    if let Some(effect) = counted
        .iter()
        .find(|e| e.key_update_depth > 0 && e.action == FkAction::NoAction)
    {
        let kind = if dangling_references_deleted(s, graph, closure, 0).await? == 0 {
            RefusalKind::NoAction
        } else {
            RefusalKind::OrderDependent
        };
        let mut r = refusal(
            kind,
            &effect.child,
            Some(effect.label.clone()),
            effect.survivors,
            path_to(&effect.parent),
            describe(kind, effect),
        );
        r.sample_keys = Vec::new();
        if kind == RefusalKind::OrderDependent {
            undecided.get_or_insert(r);
        } else {
            definite.push(r);
        }
        counted.retain(|e| e.key_update_depth == 0);
    }
    let net_counted: u64 = counted.iter().map(|e| e.net_violations()).sum();
    if net_counted > 0 {
        match net_verdict(s, graph, closure, effects, &counted, net_counted).await? {
            Verdict::Fine => {}
            Verdict::Refuse(verdict) => {
                if let Some(effect) = counted.first() {
                    let counter_note = format!(
                        "SQLite's end-of-statement FK counter sees {net_counted} violation(s) \
                         that later decrements may or may not cancel, depending on the order \
                         it visits rows"
                    );
                    let kind = match verdict {
                        RefusalKind::OrderDependent => verdict,
                        _ if effect.action == FkAction::SetDefault
                            && effect.default_missing_parent =>
                        {
                            RefusalKind::FkMissingParent
                        }
                        // A counted FK violation, as NO ACTION reports it.
                        _ => RefusalKind::NoAction,
                    };
                    let mut r = refusal(
                        kind,
                        &effect.child,
                        Some(effect.label.clone()),
                        effect.survivors,
                        path_to(&effect.parent),
                        if kind == RefusalKind::OrderDependent {
                            counter_note
                        } else {
                            describe(kind, effect)
                        },
                    );
                    r.sample_keys = sample_keys(s, graph, closure, effect).await?;
                    if kind == RefusalKind::OrderDependent {
                        undecided.get_or_insert(r);
                    } else {
                        definite.push(r);
                    }
                }
            }
            Verdict::NetCounted => {}
        }
    }
    // Where the order decides whether, or which refusal an engine reports first, replay it
    // (unless a shape the model does not cover is there).
    let replayed = if unsupported.is_none() && (undecided.is_some() || !definite.is_empty()) {
        Some(super::simulate::decide(s, graph, closure).await?)
    } else {
        None
    };
    if definite.is_empty() {
        let Some(mut abstention) = unsupported.or(undecided) else {
            return Ok(None);
        };
        return Ok(match replayed {
            Some(Ok(verdict)) => verdict.map(replayed_refusal),
            Some(Err(reason)) => {
                abstention.message = format!("{}; not replayed: {reason}", abstention.message);
                Some(abstention)
            }
            None => Some(abstention),
        });
    }
    let mut first = definite.remove(0);
    first.also = definite.iter().map(|r| r.kind).collect();
    // The replay names the refusal the engine reaches first.
    if let Some(Ok(Some(failure))) = replayed {
        let exact = replayed_refusal(failure);
        if exact.kind != first.kind {
            let mut also = vec![first.kind];
            also.append(&mut first.also);
            also.retain(|k| *k != exact.kind);
            first = Refusal { also, ..exact };
        }
    }
    // PostgreSQL reports a SET DEFAULT that leaves the deleted key in place as the parent's
    // delete violating the FK, i.e. like RESTRICT.
    if std::iter::once(first.kind)
        .chain(first.also.iter().copied())
        .any(|k| k == RefusalKind::FkMissingParent)
    {
        first.also.push(RefusalKind::Restrict);
    }
    Ok(Some(first))
}

/// A refusal the replay of the engine's own order reached.
fn replayed_refusal(failure: super::simulate::world::Failure) -> Refusal {
    let message = format!("{}, in the engine's own order (replayed)", failure.message);
    Refusal {
        foreign_key: failure.fk,
        ..Refusal::new(failure.kind, &failure.table, message)
    }
}

fn refusal(
    kind: RefusalKind,
    table: &str,
    foreign_key: Option<String>,
    rows: u64,
    path: Vec<String>,
    message: String,
) -> Refusal {
    Refusal {
        foreign_key,
        rows,
        path,
        ..Refusal::new(kind, table, message)
    }
}

fn describe(kind: RefusalKind, e: &EdgeEffect) -> String {
    if kind == RefusalKind::NoAction
        && e.self_reference_violations > 0
        && e.action != FkAction::NoAction
    {
        return format!(
            "{} the rows {} rewrites re-check their references to `{}`, and {} of them have no surviving parent",
            e.label, e.action, e.child, e.self_reference_violations
        );
    }
    match kind {
        RefusalKind::OrderDependent => format!(
            "{} rows of `{}` are both deleted by the cascade and checked by {} ({}); whether \
             the engine checks before or after deleting them depends on an ordering the model \
             cannot determine",
            e.doomed_other_rows(),
            e.child,
            e.label,
            e.action
        ),
        RefusalKind::NotNull => format!(
            "ON DELETE SET NULL would write NULL into NOT NULL `{}`.{}",
            e.child,
            e.columns.join(",")
        ),
        RefusalKind::FkMissingParent => format!(
            "ON DELETE SET DEFAULT on {} writes a key with no parent row",
            e.label
        ),
        _ => format!(
            "rows of `{}` still reference deleted `{}` rows through {} ({})",
            e.child, e.parent, e.label, e.action
        ),
    }
}

/// Up to five keys of the rows an effect is about, rendered as text.
async fn sample_keys(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    e: &EdgeEffect,
) -> Result<Vec<String>, DeleteError> {
    let Some(child) = graph.table(&e.child) else {
        return Ok(Vec::new());
    };
    let Some(fk) = child
        .foreign_keys
        .iter()
        .find(|fk| fk.describe(&child.name) == e.label)
    else {
        return Ok(Vec::new());
    };
    let parent_work = closure
        .tables
        .get(&e.parent)
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let text = s.engine.text_type();
    let key = child
        .primary_key
        .iter()
        .map(|k| format!("CAST(c.{} AS {text})", s.q(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {key} FROM {} c {} ORDER BY 1 LIMIT 5",
        s.q(&child.name),
        parent_join(s, graph, fk, &parent_work)
    );
    let rows = s.query(&sql).await?;
    let mut keys = Vec::new();
    for row in rows {
        let parts: Vec<String> = (0..child.primary_key.len())
            .map(|i| {
                row.try_get_by_index::<Option<String>>(i)
                    .map(|v| v.unwrap_or_else(|| "NULL".into()))
            })
            .collect::<Result<_, _>>()?;
        keys.push(if parts.len() == 1 {
            parts.concat()
        } else {
            format!("({})", parts.join(", "))
        });
    }
    Ok(keys)
}

/// SQLite's end-of-statement FK counter (NO ACTION references to deleted rows, SET DEFAULT
/// writing a key with no parent, rewritten rows whose reference to their own table dangles).
/// Each violation adds one; deleting a row whose own reference already dangled, or rewriting a
/// row whose parent is gone, takes one off, but only while the counter is above zero. So a
/// decrement cancels a violation only if it comes later: certain when one root row holds every
/// violation (its checks come first) and the dangling rows lie below it; otherwise the order
/// decides, and the model abstains unless the counts settle it either way.
async fn net_verdict(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &[EdgeEffect],
    counted: &[&EdgeEffect],
    violations: u64,
) -> Result<Verdict, DeleteError> {
    // Every row an action rewrites had a parent that is now gone: its old key takes one off
    // (before its new key, if dangling, adds one).
    let rewritten: u64 = effects
        .iter()
        .filter(|e| e.rewrite.is_some())
        .map(|e| e.survivors)
        .sum();
    let only_rewrites_violate = counted.iter().all(|e| e.action != FkAction::NoAction);
    let dangling_all = dangling_references_deleted(s, graph, closure, 0).await?;
    if violations > dangling_all + rewritten {
        return Ok(Verdict::Refuse(RefusalKind::NoAction));
    }
    if dangling_all == 0 && only_rewrites_violate && violations >= rewritten {
        // Each rewritten row takes one off before it adds its own, so the first row that adds
        // one never had its own decrement: at most `rewritten - 1` decrements land.
        return Ok(Verdict::Refuse(RefusalKind::NoAction));
    }
    // One root row: its own NO ACTION violations are counted before anything below it runs,
    // and everything below only takes off (dangling deleted rows, rewritten rows).
    let from_single_root = closure.roots == 1
        && counted.iter().all(|e| {
            e.action == FkAction::NoAction
                && e.survivor_parent_generation == 0
                && e.self_reference_violations == 0
        });
    if !from_single_root {
        return Ok(Verdict::Refuse(RefusalKind::OrderDependent));
    }
    let dangling_below = dangling_references_deleted(s, graph, closure, 1).await?;
    Ok(if violations > dangling_below + rewritten {
        Verdict::Refuse(RefusalKind::NoAction)
    } else {
        Verdict::Fine
    })
}

/// Deleted rows (of generation `min_generation` or later) whose own non-NULL reference already
/// had no parent, counted per reference.
async fn dangling_references_deleted(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    min_generation: u32,
) -> Result<u64, DeleteError> {
    let mut total = 0;
    for (table, work) in &closure.tables {
        let Some(t) = graph.table(table) else {
            continue;
        };
        for fk in t
            .foreign_keys
            .iter()
            .filter(|fk| fk.enforcement == cascade_entity::rules::Enforcement::Database)
        {
            let not_null = fk
                .columns
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", s.q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let sql = format!(
                "SELECT COUNT(*) FROM {} c JOIN {} x ON {} WHERE x.cascade_gen >= {min_generation} \
                 AND {not_null} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                s.q(table),
                s.q(&work.name),
                s.equal("x", &t.primary_key, "c", &t.primary_key),
                s.q(&fk.parent_table),
                s.equal("p", &fk.parent_columns, "c", &fk.columns)
            );
            total += u64::try_from(s.scalar(&sql).await?).unwrap_or(0);
        }
    }
    Ok(total)
}
