//! Audit: how a live database departs from the expected rules (declared, or a policy over its
//! own FKs): missing, extra and different FKs and actions, missing FK indexes, column and key
//! drift (all from `RuleGraph::diff`, dialect-normalised); the live schema's own defects
//! (`RuleGraph::defects`, the definition `lint` reports as CL009 / CL013: an FK no index
//! supports, an FK to parent columns that are not a key); and whether the database enforces the
//! FKs it has at all (SQLite `foreign_keys` off, MariaDB `foreign_key_checks` off, PostgreSQL
//! constraints left `NOT VALID`).

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Defect, Dialect, Drift};
use cascade_migration::IntrospectError;
use sea_orm::{ConnectionTrait, DbErr, Statement};
use serde::Serialize;
use thiserror::Error;

/// Why the audit could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The live catalog could not be read.
    #[error(transparent)]
    Introspect(#[from] IntrospectError),
    /// The session's FK enforcement could not be read.
    #[error("reading FK enforcement failed: {0}")]
    Db(#[from] DbErr),
}

/// What [`audit`] found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// The live database's dialect.
    pub dialect: Dialect,
    /// Every difference, expected vs live.
    pub drift: Vec<Drift>,
    /// Defects of the live schema that no drift item already names (an FK to parent columns
    /// that are not a key; an unindexed FK the expected rules do not hold).
    pub defects: Vec<Defect>,
    /// FKs (or the whole connection) the database does not enforce, described.
    pub unenforced: Vec<String>,
}

impl AuditReport {
    /// Nothing found: no drift, no defect, every FK enforced.
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty() && self.defects.is_empty() && self.unenforced.is_empty()
    }
}

/// Compares `db`'s live catalog with `expected`, and lists the live schema's own defects.
pub async fn audit(
    db: &impl ConnectionTrait,
    expected: &RuleGraph,
) -> Result<AuditReport, AuditError> {
    let dialect = Dialect::from(db.get_database_backend());
    let live = cascade_migration::introspect(db).await?;
    let drift = expected.diff(&live, dialect);
    let defects = live
        .defects()
        .into_iter()
        .filter(|defect| !named_by_drift(defect, &drift))
        .collect();
    Ok(AuditReport {
        dialect,
        drift,
        defects,
        unenforced: unenforced(db, dialect).await?,
    })
}

/// Whether a drift item already reports `defect` (a missing FK index is drift whenever the
/// expected rules index that FK).
fn named_by_drift(defect: &Defect, drift: &[Drift]) -> bool {
    let Defect::UnindexedForeignKey { table, columns, .. } = defect else {
        return false;
    };
    drift.iter().any(|d| {
        matches!(d, Drift::MissingForeignKeyIndex { table: t, columns: c }
            if t == table && c == columns)
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
