//! Per-owner export: exactly one owner's rows of any database (SQLite, PostgreSQL, MariaDB),
//! copied into a new SQLite file made from the same rules, leaking nothing of anyone else.
//!
//! # Which rows are the owner's
//!
//! The owner is one row of an owner table (`user=…`). A row of another table is the owner's
//! when the rules (FKs, ORM-only rules, `--relation` links) say so:
//!
//! 1. **Claim.** It references the owner row through any rule to the owner table, whatever
//!    its action: `project.owner_id -> user` (SET NULL) makes a project its owner's, as does
//!    `user_label.parent_id -> user` (CASCADE).
//! 2. **Part of.** It references a row of the owner through a CASCADE rule: deleting that
//!    parent deletes it, so it belongs where its parent does (a workflow's labels and
//!    schedules, a 1:1 status row linked by an unenforced back-pointer declared with
//!    `--relation 'workflow_status.workflow_id -> workflow.id cascade'`), and so on down,
//!    self-references and cycles included. A claim of another row of the owner table wins over
//!    this: a workflow in the owner's project whose `owner_id` names someone else is theirs,
//!    not the owner's (a reference to no existing row claims nothing).
//!
//! Nothing else makes a row the owner's. A SET NULL, SET DEFAULT, RESTRICT or NO ACTION rule
//! to an owner's row does not: such a row outlives the parent or blocks its delete, it is not
//! part of it (a run of someone else that points at the owner's workflow stays out). No other
//! row of the owner table is ever exported: those are the other owners.
//!
//! # What is written
//!
//! The owner's rows, and nothing else, with every reference resolved inside the file: a
//! reference (fully non-NULL, MATCH SIMPLE) whose parent is not exported is written as NULL
//! when all its columns accept NULL and none is part of the row's key; otherwise the row would
//! dangle and is left out, and so, to a fixpoint, are rows that needed it. Every such row is
//! reported with the relation and whether its parent is another owner's (or was left out) or
//! missing from the source altogether (an orphan already there). With
//! [`ExportOptions::strict`] an export that would leave rows out is refused and nothing is
//! written. The owner row itself never dangles: if it would, the export fails.
//!
//! # Leaking nothing
//!
//! The file holds only exported rows: it is created from the rules (all their tables, keys,
//! FKs with actions, indexes), filled in one transaction, `sqlite_sequence` set from the
//! exported keys only (a counter must not tell how many rows other owners created), no
//! `sqlite_stat*` tables, `VACUUM`ed so no free page holds anything, and written only when
//! `PRAGMA integrity_check`, `PRAGMA foreign_key_check` and the orphan scan of every rule
//! (ORM-only ones too) find nothing. Rows go in key order, so the same source gives a
//! byte-identical file. The source is only read: one transaction (one snapshot: PostgreSQL
//! REPEATABLE READ, switched to READ ONLY once its work tables exist; MariaDB SERIALIZABLE;
//! a SQLite read transaction), whose temporary work tables are dropped by its rollback.
//!
//! # Set-based
//!
//! The owner's rows are computed in the source database (`owned.rs`): keys stay in temporary
//! tables, a bounded number of statements per rule and round, never row by row. The copy
//! (`copy.rs`) streams each table's rows in key order and writes them in batches, so memory
//! holds one batch.
//!
//! ```
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cascade_service::connect::{Enforce, connect};
//! use cascade_service::export::{ExportOptions, Owner, export};
//! use sea_orm::ConnectionTrait;
//!
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
//! let db = connect(&url, Enforce::On).await?;
//! for sql in [
//!     "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
//!     "CREATE TABLE post (id INTEGER PRIMARY KEY, \
//!      account_id INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE)",
//!     "INSERT INTO account VALUES (1, 'ann'), (2, 'bob')",
//!     "INSERT INTO post VALUES (10, 1), (11, 2), (12, 1)",
//! ] {
//!     db.execute_unprepared(sql).await?;
//! }
//! let rules = cascade_migration::introspect(&db).await?;
//! let owner: Owner = "account=1".parse()?;
//! let out = dir.path().join("ann.db");
//! let report = export(&db, &rules, &owner, &out, &ExportOptions::default()).await?;
//! assert_eq!(report.total_rows, 3); // ann and her two posts, nothing of bob's
//! assert_eq!(report.checks.integrity, "ok");
//! assert!(out.exists());
//! # Ok(()) }
//! ```

mod copy;
mod dangling;
mod owned;
mod owner;
mod report;
mod schema;
mod target;
mod values;

use std::path::Path;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::{DatabaseConnection, TransactionTrait};

pub use owner::{Owner, OwnerError, OwnerSyntaxError};
pub use report::{Checks, ExportError, ExportReport, LeftOut, Nulled, Sequence, TableRows};

use crate::delete::engine::engine;
use crate::delete::session::Session;
use crate::progress::{NoProgress, Progress};

/// How [`export`] runs.
#[derive(Clone, Copy)]
pub struct ExportOptions<'a> {
    /// Refuse, writing nothing, when a row of the owner would have to be left out.
    pub strict: bool,
    /// Rows per INSERT into the export (memory holds one batch).
    pub batch_rows: usize,
    /// Keys listed per relation in the report's rows left out.
    pub list_limit: u64,
    /// Receives rows copied.
    pub progress: &'a dyn Progress,
}

impl std::fmt::Debug for ExportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportOptions")
            .field("strict", &self.strict)
            .field("batch_rows", &self.batch_rows)
            .field("list_limit", &self.list_limit)
            .finish()
    }
}

impl Default for ExportOptions<'_> {
    fn default() -> Self {
        ExportOptions {
            strict: false,
            batch_rows: 1000,
            list_limit: 20,
            progress: &NoProgress,
        }
    }
}

/// Exports `owner`'s rows of `source`, under `rules`, into a new SQLite file `out` (see the
/// module docs for what is exported and what is checked). `out` must not exist; it is only
/// created once every check passed.
pub async fn export(
    source: &DatabaseConnection,
    rules: &RuleGraph,
    owner: &Owner,
    out: &Path,
    options: &ExportOptions<'_>,
) -> Result<ExportReport, ExportError> {
    let dialect = Dialect::from(source.get_database_backend());
    let (owner_table, key) = owner.resolve(rules)?;
    if out.exists() {
        return Err(ExportError::OutputExists(out.to_path_buf()));
    }
    let schema = schema::target_schema(rules, dialect);
    let txn = source
        .begin_with_config(engine(dialect).consistent_read_isolation(), None)
        .await?;
    let mut s = Session::new(&txn);
    let mut temporary = Vec::new();
    let outcome = async {
        let m = owned::compute(
            &mut s,
            rules,
            owner_table,
            &key,
            options.list_limit,
            &mut temporary,
        )
        .await?;
        if options.strict && !m.left_out.is_empty() {
            return Err(ExportError::Strict {
                rows: m.left_out.iter().map(|l| l.rows).sum(),
                left_out: m.left_out,
            });
        }
        let target = target::open(out).await?;
        let write = target::begin(&target, &schema.graph).await?;
        let tables = copy::copy_all(
            &mut s,
            &write,
            &schema,
            &m,
            options.batch_rows,
            options.progress,
        )
        .await?;
        let sequences = target::set_sequences(&write, &schema.graph).await?;
        write.commit().await?;
        Ok((m, target, tables, sequences))
    }
    .await;
    // The source transaction only read: its work tables go with its rollback (and are dropped
    // first where they would outlive it).
    if s.engine.work_tables_outlive_rollback() {
        for name in &temporary {
            let q = |i: &str| s.q(i);
            let drop = s.engine.drop_work_table(&q, name);
            // After a failure the failure is what matters; the next export drops leftovers.
            if let Err(e) = s.exec(&drop).await
                && outcome.is_ok()
            {
                return Err(e.into());
            }
        }
    }
    let statements = s.statements;
    let rolled_back = txn.rollback().await;
    let (m, target, tables, sequences) = outcome?;
    rolled_back?;
    let checks = target::finish(target, out, rules, &schema.graph).await?;
    Ok(ExportReport {
        owner: owner.clone(),
        source: dialect,
        out: out.display().to_string(),
        total_rows: tables.iter().map(|t| t.rows).sum(),
        tables,
        nulled: m.nulled,
        left_out: m.left_out,
        defaults_dropped: schema.defaults_dropped,
        sequences,
        checks,
        statements,
    })
}
