//! Exact verdicts where the engine's firing order decides: the rows whose fate turns on the
//! order are loaded (bounded, see [`load`]) and the engine's own event order is replayed over
//! them in memory by that engine's replay (`engine/<dialect>/replay.rs`). The closure and the
//! executor stay set-based; the replay only reads.
//!
//! [`world`] holds the loaded rows and the row-level checks every engine applies;
//! [`check_eval`] evaluates CHECK constraints on a replayed row. With `CASCADE_TRACE_REPLAY`
//! set, the loaded world and the verdict go to stderr.

pub(crate) mod check_eval;
pub(crate) mod load;
pub(crate) mod world;

use cascade_entity::RuleGraph;

use super::closure::Closure;
use super::report::DeleteError;
use super::session::Session;
use world::Replay;

/// The engine's verdict on `closure`'s delete by replaying its order: `Ok(None)` it deletes,
/// `Ok(Some)` it refuses, `Err` the replay cannot decide (the reason).
pub(crate) async fn decide(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
) -> Result<Replay, DeleteError> {
    let mut world = match load::load(s, graph, closure).await? {
        Ok(world) => world,
        Err(reason) => return Ok(Err(reason)),
    };
    let trace = std::env::var_os("CASCADE_TRACE_REPLAY").is_some();
    if trace {
        for fk in &world.fks {
            eprintln!(
                "replay fk {} rank {} triggers {:?} {:?} {:?}",
                fk.label, fk.rank, fk.delete_trigger, fk.update_trigger, fk.check_trigger
            );
        }
        for t in &world.tables {
            for r in &t.rows {
                eprintln!(
                    "replay row {} {:?} pos {:?} root {}",
                    t.name, r.values, r.pos, r.root
                );
            }
        }
    }
    let verdict = s.engine.replay(&mut world);
    if trace {
        eprintln!("replay verdict {verdict:?}");
    }
    if let Ok(None) = verdict
        && let Some(table) = world.tables.iter().find(|t| {
            t.rows
                .iter()
                .any(|r| r.planned_delete != (r.state == world::State::Deleted))
        })
    {
        // The executor deletes the closure; an order that deletes other rows is not executed.
        return Ok(Err(format!(
            "in the engine's order the rows deleted from `{}` differ from the set-based plan",
            table.name
        )));
    }
    if let Ok(None) = verdict
        && let Some(table) = unique_clash(&world)
    {
        return Ok(Err(format!(
            "a rewritten row of `{table}` takes a UNIQUE key that a row the delete removes \
             still holds when the set-based executor rewrites (the engine's order frees it \
             first)"
        )));
    }
    Ok(verdict)
}

/// A table where a surviving rewritten row's new unique key equals the old key of a row the
/// delete removes: the executor rewrites before it deletes, so it would collide.
fn unique_clash(world: &world::World) -> Option<String> {
    for table in &world.tables {
        for row in table
            .rows
            .iter()
            .filter(|r| r.values != r.initial && !r.planned_delete)
        {
            for unique in &table.uniques {
                if unique.iter().all(|&c| row.values[c] == row.initial[c]) {
                    continue;
                }
                let key: Vec<&world::Val> = unique.iter().map(|&c| &row.values[c]).collect();
                if key.iter().any(|v| v.is_none()) {
                    continue;
                }
                let clash = table.rows.iter().any(|other| {
                    other.planned_delete
                        && unique
                            .iter()
                            .zip(&key)
                            .all(|(&c, v)| &other.initial[c] == *v)
                });
                if clash {
                    return Some(table.name.clone());
                }
            }
        }
    }
    None
}
