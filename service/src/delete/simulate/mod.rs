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

pub(crate) use load::ROW_BOUND;

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
    Ok(s.engine.replay(&mut world))
}
