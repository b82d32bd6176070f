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
    pub table: String,
    pub rows: u64,
}

/// References of one relation written as NULL, because their parent is not in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nulled {
    pub table: String,
    /// `child(cols) -> parent(cols)`.
    pub relation: String,
    pub rows: u64,
    /// Of those, references whose parent does not exist in the source at all (orphans).
    pub orphaned: u64,
}

/// Rows of the owner left out, because a reference that cannot be NULL would dangle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub table: String,
    /// The relation whose parent is missing from the export.
    pub relation: String,
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
    pub table: String,
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
    pub owner: Owner,
    /// The source database's dialect.
    pub source: Dialect,
    /// The file written.
    pub out: String,
    /// Rows exported per table, every table of the rules (name order).
    pub tables: Vec<TableRows>,
    pub total_rows: u64,
    pub nulled: Vec<Nulled>,
    pub left_out: Vec<LeftOut>,
    /// Column defaults SQLite cannot express, left off the export's schema (`table.column:
    /// expression`).
    pub defaults_dropped: Vec<String>,
    /// `sqlite_sequence` as written.
    pub sequences: Vec<Sequence>,
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
pub enum ExportError {
    #[error(transparent)]
    Owner(#[from] OwnerError),
    #[error("no owner row {0} in the source")]
    OwnerNotFound(String),
    #[error(
        "the owner row {owner} itself cannot be exported: its reference {relation} cannot be \
         NULL and its parent is not the owner's"
    )]
    OwnerLeftOut { owner: String, relation: String },
    #[error("table `{0}` holds rows of the owner but has no primary key or NOT NULL unique key")]
    NoKey(String),
    #[error("{} is already there; an export only creates a new file", .0.display())]
    OutputExists(std::path::PathBuf),
    #[error("strict export refused: {rows} row(s) of the owner would be left out; nothing written")]
    Strict { rows: u64, left_out: Vec<LeftOut> },
    #[error("reading {table}.{column}: {reason}")]
    Decode {
        table: String,
        column: String,
        reason: String,
    },
    #[error("the export failed its own check: {0}")]
    Check(String),
    #[error("export: {0}")]
    Db(#[from] DbErr),
    #[error("export file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Orphans(#[from] crate::orphans::OrphanError),
}
