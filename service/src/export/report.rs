//! What an export did, and why one could not be made: rows per table, references written as
//! NULL, rows left out with their reason and sample keys, the autoincrement state written, and
//! the checks the finished file passed.

use cascade_entity::rules::Dialect;
use sea_orm::DbErr;
use serde::Serialize;
use thiserror::Error;

use super::owner::{Owner, OwnerError};

/// Rows of one table in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRows {
    /// The table.
    pub table: String,
    /// Rows exported.
    pub rows: u64,
}

/// References of one relation written as NULL, because their parent is not in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nulled {
    /// The child table.
    pub table: String,
    /// `child(cols) -> parent(cols)`.
    pub relation: String,
    /// References written as NULL.
    pub rows: u64,
    /// Of those, references whose parent does not exist in the source at all (orphans).
    pub orphaned: u64,
}

/// Rows of the owner left out, because a reference that cannot be NULL would dangle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The table whose rows were left out.
    pub table: String,
    /// The relation whose parent is missing from the export.
    pub relation: String,
    /// Rows left out.
    pub rows: u64,
    /// Of those, rows whose parent does not exist in the source at all (orphans); the others
    /// reference a row that is not the owner's (or was itself left out).
    pub orphaned: u64,
    /// The key columns of `keys`.
    pub key_columns: Vec<String>,
    /// Keys of the rows left out, in key order, as text (at most the list limit).
    pub keys: Vec<Vec<Option<String>>>,
}

/// The autoincrement counter of one table, as written: the largest exported key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sequence {
    /// The table with an autoincrement key.
    pub table: String,
    /// The counter written to `sqlite_sequence`.
    pub seq: i64,
}

/// The checks the finished export passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checks {
    /// `PRAGMA integrity_check`: `ok`.
    pub integrity: String,
    /// Rows of `PRAGMA foreign_key_check`: 0.
    pub foreign_key_violations: u64,
    /// Orphans of every relation of the rules, ORM-only ones included: 0.
    pub orphans: u64,
    /// `sqlite_stat*` tables present: none.
    pub statistics_tables: Vec<String>,
    /// The export audited against the rules it was made from (what SQLite cannot keep, such as
    /// a default expression only the source engine knows, shows up here).
    pub drift: Vec<String>,
}

/// What [`super::export`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    /// The owner exported.
    pub owner: Owner,
    /// The source database's dialect.
    pub source: Dialect,
    /// The file written.
    pub out: String,
    /// Rows exported per table, every table of the rules (name order).
    pub tables: Vec<TableRows>,
    /// Rows exported, all tables together.
    pub total_rows: u64,
    /// References written as NULL, per relation.
    pub nulled: Vec<Nulled>,
    /// Rows of the owner left out, per relation.
    pub left_out: Vec<LeftOut>,
    /// Column defaults SQLite cannot express, left off the export's schema (`table.column:
    /// expression`).
    pub defaults_dropped: Vec<String>,
    /// `sqlite_sequence` as written.
    pub sequences: Vec<Sequence>,
    /// The checks the finished export passed.
    pub checks: Checks,
    /// Statements run on the source: they depend on the rules and the fixpoint rounds, never
    /// on the number of rows.
    pub statements: u64,
}

impl ExportReport {
    /// Rows left out, all relations together.
    pub fn rows_left_out(&self) -> u64 {
        self.left_out.iter().map(|l| l.rows).sum()
    }

    /// References written as NULL, all relations together.
    pub fn references_nulled(&self) -> u64 {
        self.nulled.iter().map(|n| n.rows).sum()
    }
}

/// Why no export was written. Nothing is left behind at `out` in any of these cases.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The owner spec does not name a row the rules can find.
    #[error(transparent)]
    Owner(#[from] OwnerError),
    /// The owner's key matches no row of the source.
    #[error("no owner row {0} in the source")]
    OwnerNotFound(String),
    /// The owner row itself would dangle in the export.
    #[error(
        "the owner row {owner} itself cannot be exported: its reference {relation} cannot be \
         NULL and its parent is not the owner's"
    )]
    OwnerLeftOut {
        /// The owner spec.
        owner: String,
        /// The reference that would dangle.
        relation: String,
    },
    /// A table holding owner rows has no key to copy them by.
    #[error("table `{0}` holds rows of the owner but has no primary key or NOT NULL unique key")]
    NoKey(String),
    /// The output file exists already.
    #[error("{} is already there; an export only creates a new file", .0.display())]
    OutputExists(std::path::PathBuf),
    /// `--strict`: rows of the owner would be left out.
    #[error("strict export refused: {rows} row(s) of the owner would be left out; nothing written")]
    Strict {
        /// Rows that would be left out, all relations together.
        rows: u64,
        /// Which, per relation.
        left_out: Vec<LeftOut>,
    },
    /// A source value could not be read as its column's kind.
    #[error("reading {table}.{column}: {reason}")]
    Decode {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What went wrong.
        reason: String,
    },
    /// The written file failed one of the checks (integrity, FK check, orphans).
    #[error("the export failed its own check: {0}")]
    Check(String),
    /// A statement on the source or the export failed.
    #[error("export: {0}")]
    Db(#[from] DbErr),
    /// The output file could not be written or moved into place.
    #[error("export file: {0}")]
    Io(#[from] std::io::Error),
    /// Auditing the export against the rules failed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// Scanning the export for orphans failed.
    #[error(transparent)]
    Orphans(#[from] crate::orphans::OrphanError),
}
