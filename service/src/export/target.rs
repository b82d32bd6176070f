//! The export file: created beside `out` under a temporary name (rollback journal, FK
//! enforcement on), filled in one transaction with FK checks deferred to its commit, its
//! autoincrement state set from the exported rows only, then `VACUUM`ed (no free page keeps
//! anything, the bytes depend only on the rows), checked, and only then renamed to `out`. On
//! any error the temporary file is removed: nothing is ever left at `out` half written.

use std::path::Path;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use cascade_migration::ddl::create_schema;
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    Statement, TransactionTrait,
};
use tempfile::TempPath;

use super::report::{Checks, ExportError, Sequence};

/// The export file while it is written.
pub(crate) struct Target {
    pub conn: DatabaseConnection,
    path: TempPath,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.path.display())
    }
}

/// A new, empty SQLite file next to `out` (which must not exist).
pub(crate) async fn open(out: &Path) -> Result<Target, ExportError> {
    if out.exists() {
        return Err(ExportError::OutputExists(out.to_path_buf()));
    }
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let path = tempfile::Builder::new()
        .prefix(".cascade-export-")
        .suffix(".sqlite")
        .tempfile_in(dir)?
        .into_temp_path();
    let file = path.to_path_buf();
    let mut options = ConnectOptions::new("sqlite://cascade-export.sqlite");
    options
        .max_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.filename(&file)
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Delete)
        });
    let conn = Database::connect(options).await?;
    Ok(Target { conn, path })
}

/// Starts the one write transaction: FK checks deferred to its commit (rows arrive table by
/// table, cycles included), the schema created.
pub(crate) async fn begin(
    target: &Target,
    graph: &RuleGraph,
) -> Result<DatabaseTransaction, ExportError> {
    let txn = target.conn.begin().await?;
    txn.execute_unprepared("PRAGMA defer_foreign_keys = ON")
        .await?;
    for step in create_schema(graph, Dialect::Sqlite) {
        step.apply(&txn).await?;
    }
    Ok(txn)
}

/// Sets `sqlite_sequence` from the exported rows only: each autoincrement table's largest key,
/// nothing for a table without rows.
pub(crate) async fn set_sequences(
    txn: &DatabaseTransaction,
    graph: &RuleGraph,
) -> Result<Vec<Sequence>, ExportError> {
    let exists = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'",
        ))
        .await?
        .is_some();
    if !exists {
        return Ok(Vec::new());
    }
    txn.execute_unprepared("DELETE FROM sqlite_sequence")
        .await?;
    let q = |name: &str| Dialect::Sqlite.quote(name);
    for table in graph.tables.values() {
        if !table.columns.iter().any(|c| c.auto_increment) {
            continue;
        }
        let sql = format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?, rowid FROM {} ORDER BY rowid DESC \
             LIMIT 1",
            q(&table.name)
        );
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [table.name.clone().into()],
        ))
        .await?;
    }
    let mut sequences = Vec::new();
    for row in txn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name, seq FROM sqlite_sequence ORDER BY name",
        ))
        .await?
    {
        sequences.push(Sequence {
            table: row.try_get("", "name")?,
            seq: row.try_get("", "seq")?,
        });
    }
    Ok(sequences)
}

/// `VACUUM`s the committed file, checks it (see [`Checks`]), closes it and renames it to `out`.
/// Fails, removing the file, when a check that must pass does not.
pub(crate) async fn finish(
    target: Target,
    out: &Path,
    rules: &RuleGraph,
    graph: &RuleGraph,
) -> Result<Checks, ExportError> {
    let db = &target.conn;
    db.execute_unprepared("VACUUM").await?;
    let integrity = strings(db, "PRAGMA integrity_check").await?.join("; ");
    let foreign_key_violations = strings(db, "SELECT \"table\" FROM pragma_foreign_key_check")
        .await?
        .len() as u64;
    let orphans = crate::orphans::scan(db, graph).await?.total;
    let statistics_tables = strings(
        db,
        "SELECT name FROM sqlite_schema WHERE name LIKE 'sqlite\\_stat%' ESCAPE '\\' ORDER BY name",
    )
    .await?;
    let audit = crate::audit::audit(db, rules).await?;
    let drift = audit
        .drift
        .iter()
        .map(ToString::to_string)
        .chain(audit.unenforced.iter().cloned())
        .collect();
    let checks = Checks {
        integrity,
        foreign_key_violations,
        orphans,
        statistics_tables,
        drift,
    };
    if checks.integrity != "ok"
        || checks.foreign_key_violations > 0
        || checks.orphans > 0
        || !checks.statistics_tables.is_empty()
    {
        return Err(ExportError::Check(format!(
            "integrity {}, {} FK violation(s), {} orphan(s), statistics tables {:?}",
            checks.integrity,
            checks.foreign_key_violations,
            checks.orphans,
            checks.statistics_tables
        )));
    }
    target.conn.close().await?;
    target
        .path
        .persist_noclobber(out)
        .map_err(|e| ExportError::Io(e.error))?;
    Ok(checks)
}

/// The first column of every row of `sql`, as text.
async fn strings(db: &DatabaseConnection, sql: &str) -> Result<Vec<String>, ExportError> {
    let rows = db
        .query_all_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(row.try_get_by_index::<String>(0)?);
    }
    Ok(out)
}
