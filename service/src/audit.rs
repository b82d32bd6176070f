//! Audit: how a live database departs from the expected rules (declared, or a policy over its
//! own FKs): missing, extra and different FKs and actions, missing FK indexes, column and key
//! drift (all from `RuleGraph::diff`, dialect-normalised), plus whether the database enforces
//! the FKs it has at all (SQLite `foreign_keys` off, MariaDB `foreign_key_checks` off,
//! PostgreSQL constraints left `NOT VALID`).

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Dialect, Drift};
use cascade_migration::IntrospectError;
use sea_orm::{ConnectionTrait, DbErr, Statement};
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AuditError {
    #[error(transparent)]
    Introspect(#[from] IntrospectError),
    #[error("reading FK enforcement failed: {0}")]
    Db(#[from] DbErr),
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub dialect: Dialect,
    /// Every difference, expected vs live.
    pub drift: Vec<Drift>,
    /// FKs (or the whole connection) the database does not enforce, described.
    pub unenforced: Vec<String>,
}

impl AuditReport {
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty() && self.unenforced.is_empty()
    }
}

/// Compares `db`'s live catalog with `expected`.
pub async fn audit(
    db: &impl ConnectionTrait,
    expected: &RuleGraph,
) -> Result<AuditReport, AuditError> {
    let dialect = Dialect::from(db.get_database_backend());
    let live = cascade_migration::introspect(db).await?;
    Ok(AuditReport {
        dialect,
        drift: expected.diff(&live, dialect),
        unenforced: unenforced(db, dialect).await?,
    })
}

/// The per-dialect enforcement check: one query each, describing what is not enforced.
async fn unenforced(db: &impl ConnectionTrait, dialect: Dialect) -> Result<Vec<String>, DbErr> {
    let (sql, what) = match dialect {
        Dialect::Sqlite => (
            "SELECT 'connection' AS what FROM pragma_foreign_keys WHERE foreign_keys = 0",
            "this connection runs with PRAGMA foreign_keys=OFF",
        ),
        Dialect::MySql => (
            "SELECT 'connection' AS what FROM DUAL WHERE @@foreign_key_checks = 0",
            "this session runs with foreign_key_checks=0",
        ),
        Dialect::Postgres => (
            "SELECT c.conrelid::regclass::text || '.' || c.conname::text AS what \
             FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE c.contype = 'f' AND NOT c.convalidated AND n.nspname = current_schema() \
             ORDER BY 1",
            "constraint is NOT VALID (existing rows unchecked)",
        ),
    };
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|row| {
            let subject: String = row.try_get("", "what")?;
            Ok(if subject == "connection" {
                what.to_owned()
            } else {
                format!("{subject}: {what}")
            })
        })
        .collect()
}
