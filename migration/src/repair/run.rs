//! Running a repair [`Script`] on a connection: `before` statements, the body (in a transaction
//! when the dialect's DDL is transactional; check steps must return no rows), `after_commit`
//! statements once it committed, then `after` statements, which run even when the body failed so
//! connection settings are restored.

use sea_orm::{ConnectionTrait, Statement, TransactionSession, TransactionTrait};

use super::{RepairError, Script, Step};
use crate::progress::{NoProgress, Progress};

/// Runs `script` on `db`: `before`, the body (in one transaction when `transactional`, rolled
/// back at the first failure; a check step fails when it returns a row), `after_commit`, then
/// `after`, which runs even when something before it failed. Returns the first error. An empty
/// script ([`Script::is_empty`]) runs nothing, not even `before` and `after`.
pub async fn run_script<C>(db: &C, script: &Script) -> Result<(), RepairError>
where
    C: ConnectionTrait + TransactionTrait,
{
    run_script_reporting(db, script, &NoProgress).await
}

/// [`run_script`], reporting each statement run to `progress`.
pub async fn run_script_reporting<C>(
    db: &C,
    script: &Script,
    progress: &dyn Progress,
) -> Result<(), RepairError>
where
    C: ConnectionTrait + TransactionTrait,
{
    if script.is_empty() {
        return Ok(());
    }
    let total =
        script.before.len() + script.body.len() + script.after_commit.len() + script.after.len();
    progress.start("repair statements", total as u64);
    let outcome = run_parts(db, script, progress).await;
    progress.finish();
    outcome
}

async fn run_parts<C>(db: &C, script: &Script, progress: &dyn Progress) -> Result<(), RepairError>
where
    C: ConnectionTrait + TransactionTrait,
{
    for step in &script.before {
        run_step(db, step).await?;
        progress.advance(1);
    }
    let mut outcome = body(db, script, progress).await;
    if outcome.is_ok() {
        for step in &script.after_commit {
            outcome = run_step(db, step).await;
            progress.advance(1);
            if outcome.is_err() {
                break;
            }
        }
    }
    // Restore connection settings whatever happened; the first error is the one reported.
    for step in &script.after {
        let restored = run_step(db, step).await;
        progress.advance(1);
        if outcome.is_ok() {
            outcome = restored;
        }
    }
    outcome
}

async fn body<C>(db: &C, script: &Script, progress: &dyn Progress) -> Result<(), RepairError>
where
    C: ConnectionTrait + TransactionTrait,
{
    if script.transactional && !script.body.is_empty() {
        let tx = db.begin().await?;
        for step in &script.body {
            if let Err(e) = run_step(&tx, step).await {
                tx.rollback().await?;
                return Err(e);
            }
            progress.advance(1);
        }
        tx.commit().await?;
    } else {
        for step in &script.body {
            run_step(db, step).await?;
            progress.advance(1);
        }
    }
    Ok(())
}

async fn run_step(db: &impl ConnectionTrait, step: &Step) -> Result<(), RepairError> {
    if step.must_be_empty {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                step.sql.clone(),
            ))
            .await?;
        if !rows.is_empty() {
            return Err(RepairError::CheckFailed {
                sql: step.sql.clone(),
                rows: rows.len(),
            });
        }
    } else {
        db.execute_unprepared(&step.sql).await?;
    }
    Ok(())
}
