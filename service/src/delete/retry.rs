//! Running a delete on a multi-primary cluster (MariaDB Galera): whole-transaction retries after
//! a lost write conflict, and a typed error for a delete too large for one write set.
//!
//! Galera certifies every transaction at COMMIT against what other nodes committed meanwhile.
//! The loser is rolled back and told "deadlock" (MySQL error 1213, SQLSTATE 40001), at COMMIT or
//! at whichever statement it is running when a replicated write aborts it first (a brute-force
//! abort). The delete is then run again from the start: closure, verdict and execution are
//! recomputed from the data as it is now, so rows other nodes inserted meanwhile are part of the
//! next attempt. Attempts are bounded; between them the executor sleeps an exponentially growing
//! delay with jitter, so writers that collided do not collide again in lockstep. PostgreSQL's
//! serialization failure (40001) and deadlock (40P01) are the same kind of error and are retried
//! the same way.
//!
//! Galera refuses a transaction that writes more rows than `wsrep_max_ws_rows` (error 1180,
//! `ER_ERROR_DURING_COMMIT`, raised by the row that exceeds it) or more bytes than
//! `wsrep_max_ws_size` (error 1105, `ER_UNKNOWN_ERROR`). Both numbers are generic, so they are
//! confirmed against the node's own settings (`@@wsrep_on` and the limits) before the error
//! becomes [`WriteSetTooLarge`]. Errors are classified by error number and SQLSTATE only, never
//! by message text.

use std::future::Future;
use std::time::Duration;

use sea_orm::sqlx::error::DatabaseError;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, RuntimeErr, Statement};
use serde::Serialize;

use super::report::DeleteError;

/// Attempts a delete gets by default (the first run included).
pub const DEFAULT_ATTEMPTS: u32 = 5;

/// First backoff; doubled after every further conflict.
const BASE_DELAY: Duration = Duration::from_millis(25);
/// Longest backoff between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// MySQL/MariaDB `ER_LOCK_DEADLOCK`: a deadlock, or a Galera certification failure / abort.
const ER_LOCK_DEADLOCK: u16 = 1213;
/// MariaDB `ER_ERROR_DURING_COMMIT`: what Galera raises when `wsrep_max_ws_rows` is exceeded.
const ER_ERROR_DURING_COMMIT: u16 = 1180;
/// MariaDB `ER_UNKNOWN_ERROR`: what Galera raises when `wsrep_max_ws_size` is exceeded.
const ER_UNKNOWN_ERROR: u16 = 1105;

/// One attempt that lost a write conflict and was retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetriedConflict {
    /// Which attempt failed (1 = the first run).
    pub attempt: u32,
    /// The database's error number (MySQL), if it has one.
    pub number: Option<u16>,
    /// The SQLSTATE, if the driver reported one.
    pub sqlstate: Option<String>,
    /// The database's own message.
    pub message: String,
    /// How long the executor waited before the next attempt.
    pub backoff_ms: u64,
}

/// Which Galera write-set limit a delete exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WriteSetLimit {
    /// `wsrep_max_ws_rows`: rows written by one transaction.
    Rows,
    /// `wsrep_max_ws_size`: bytes of one transaction's write set.
    Bytes,
}

/// A delete that does not fit in one Galera write set; it was rolled back whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteSetTooLarge {
    /// Which limit was exceeded.
    pub limit: WriteSetLimit,
    /// The node's `wsrep_max_ws_rows` (0: unlimited).
    pub max_ws_rows: u64,
    /// The node's `wsrep_max_ws_size` in bytes.
    pub max_ws_size: u64,
    /// The database's error number and message.
    pub number: u16,
    /// The database's message.
    pub message: String,
}

impl std::fmt::Display for WriteSetTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (variable, value) = match self.limit {
            WriteSetLimit::Rows => ("wsrep_max_ws_rows", self.max_ws_rows),
            WriteSetLimit::Bytes => ("wsrep_max_ws_size", self.max_ws_size),
        };
        write!(
            f,
            "the delete is too large for one Galera write set ({variable} = {value}; server error \
             {}: {}). It was rolled back as one transaction and nothing changed. Split it into \
             smaller transactions with --batch-rows N (N well below the limit), or raise \
             {variable} on the cluster",
            self.number, self.message
        )
    }
}

/// The driver's database error inside a SeaORM error, if there is one.
fn database_error(error: &DbErr) -> Option<&(dyn DatabaseError + 'static)> {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e.as_database_error(),
        _ => None,
    }
}

/// The MySQL/MariaDB error number of a database error.
fn mysql_number(error: &(dyn DatabaseError + 'static)) -> Option<u16> {
    error
        .try_downcast_ref::<sea_orm::SqlxMySqlError>()
        .map(|e| e.number())
}

/// Whether the error means "lost a write conflict; run the transaction again": a deadlock
/// (including Galera's certification failures and brute-force aborts) or a serialization failure.
pub(crate) fn is_write_conflict(error: &DeleteError) -> bool {
    let DeleteError::Db(error) = error else {
        return false;
    };
    let Some(db) = database_error(error) else {
        return false;
    };
    mysql_number(db) == Some(ER_LOCK_DEADLOCK)
        || matches!(db.code().as_deref(), Some("40001" | "40P01"))
}

/// The delay before attempt `failed + 1`: `BASE_DELAY * 2^(failed-1)`, capped, with half of it
/// random ("equal jitter").
fn backoff(failed: u32) -> Duration {
    let exponent = failed.saturating_sub(1).min(16);
    let full = BASE_DELAY.saturating_mul(1 << exponent).min(MAX_DELAY);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

/// Runs `attempt` up to `attempts` times while it fails with a write conflict, sleeping a
/// growing, jittered delay in between. Returns the result with the conflicts that were retried;
/// when every attempt lost, [`DeleteError::Conflicts`].
pub(crate) async fn with_retries<T, F, Fut>(
    attempts: u32,
    mut attempt: F,
) -> Result<(T, Vec<RetriedConflict>), DeleteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeleteError>>,
{
    let attempts = attempts.max(1);
    let mut conflicts = Vec::new();
    let mut n = 1;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok((value, conflicts)),
            Err(error) => error,
        };
        if !is_write_conflict(&error) {
            return Err(error);
        }
        let DeleteError::Db(last) = error else {
            return Err(error);
        };
        if n >= attempts {
            return Err(DeleteError::Conflicts {
                attempts: n,
                retried: conflicts,
                last,
            });
        }
        let delay = backoff(n);
        conflicts.push(conflict(n, &last, delay));
        tokio::time::sleep(delay).await;
        n += 1;
    }
}

fn conflict(attempt: u32, error: &DbErr, delay: Duration) -> RetriedConflict {
    let db = database_error(error);
    RetriedConflict {
        attempt,
        number: db.and_then(mysql_number),
        sqlstate: db.and_then(|d| d.code().map(|c| c.into_owned())),
        message: db.map_or_else(|| error.to_string(), |d| d.message().to_owned()),
        backoff_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
    }
}

/// Turns a Galera write-set limit error into [`DeleteError::WriteSetTooLarge`], confirmed
/// against the node's settings; every other error is returned unchanged.
pub(crate) async fn write_set_limit(db: &impl ConnectionTrait, error: DeleteError) -> DeleteError {
    if db.get_database_backend() != DbBackend::MySql {
        return error;
    }
    let (number, message) = match &error {
        DeleteError::Db(e) => match database_error(e) {
            Some(d) => match mysql_number(d) {
                Some(n @ (ER_ERROR_DURING_COMMIT | ER_UNKNOWN_ERROR)) => {
                    (n, d.message().to_owned())
                }
                _ => return error,
            },
            None => return error,
        },
        _ => return error,
    };
    let Ok((on, max_ws_rows, max_ws_size)) = wsrep_settings(db).await else {
        return error;
    };
    let limit = match number {
        ER_ERROR_DURING_COMMIT if on && max_ws_rows > 0 => WriteSetLimit::Rows,
        ER_UNKNOWN_ERROR if on => WriteSetLimit::Bytes,
        _ => return error,
    };
    DeleteError::WriteSetTooLarge(Box::new(WriteSetTooLarge {
        limit,
        max_ws_rows,
        max_ws_size,
        number,
        message,
    }))
}

/// `(@@wsrep_on, @@wsrep_max_ws_rows, @@wsrep_max_ws_size)`; an error where the server has no
/// wsrep variables at all (MySQL, MariaDB built without Galera support).
async fn wsrep_settings(db: &impl ConnectionTrait) -> Result<(bool, u64, u64), DbErr> {
    let statement = Statement::from_string(
        DbBackend::MySql,
        "SELECT CAST(@@wsrep_on AS SIGNED), CAST(@@wsrep_max_ws_rows AS SIGNED), \
         CAST(@@wsrep_max_ws_size AS SIGNED)",
    );
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("wsrep settings".into()))?;
    let get = |i: usize| -> Result<u64, DbErr> {
        let value: i64 = row.try_get_by_index(i)?;
        Ok(u64::try_from(value).unwrap_or(0))
    };
    Ok((get(0)? != 0, get(1)?, get(2)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for failed in 1..=20u32 {
            let full = BASE_DELAY.saturating_mul(1 << failed.saturating_sub(1).min(16));
            let full = full.min(MAX_DELAY);
            let delay = backoff(failed);
            assert!(delay >= full / 2 && delay <= full, "{failed}: {delay:?}");
        }
        assert!(backoff(30) <= MAX_DELAY);
    }

    #[test]
    fn other_errors_are_not_conflicts() {
        assert!(!is_write_conflict(&DeleteError::UnknownTable("t".into())));
        assert!(!is_write_conflict(&DeleteError::Db(DbErr::Custom(
            "Deadlock found".into()
        ))));
    }
}
