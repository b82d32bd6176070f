//! Exact verdicts where the engine's firing order decides: the rows whose fate turns on the
//! order are loaded (bounded, see [`load`]) and the engine's own event order is replayed over
//! them in memory by that engine's replay (`engine/<dialect>/replay.rs`). The closure and the
//! executor stay set-based; the replay only reads.
//!
//! [`world`] holds the loaded rows and the row-level checks every engine applies;
//! [`check_eval`] evaluates CHECK constraints on a replayed row.

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
    let verdict = s.engine.replay(&mut world);
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
    Ok(verdict)
}
