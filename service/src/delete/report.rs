//! What a delete produces: the plan (exact counts before anything changes), the report of an
//! executed delete, and the typed refusals and errors. Both modes return the same report.

use std::collections::BTreeMap;

use cascade_entity::rules::{Dialect, FkAction};
use sea_orm::DbErr;
use serde::Serialize;
use thiserror::Error;

use super::retry::{RetriedConflict, WriteSetTooLarge};

/// Why a delete is refused: the `kind` field of `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    Restrict,
    NoAction,
    NotNull,
    Check,
    Unique,
    FkMissingParent,
    CascadeDepth,
    FkMismatch,
    OrderDependent,
    /// A shape the model does not cover yet, named in the message; refused before anything
    /// runs rather than executed on a guess.
    Unsupported,
}

impl RefusalKind {
    /// The refusals an engine's error cannot tell apart, mapped to one class so ORM and native
    /// outcomes can be compared: InnoDB reports RESTRICT and NO ACTION alike, SQLite says
    /// "FOREIGN KEY constraint failed" for every FK refusal, PostgreSQL uses one message for
    /// RESTRICT and NO ACTION.
    pub fn engine_class(self, dialect: Dialect) -> RefusalKind {
        use RefusalKind::*;
        match (dialect, self) {
            (Dialect::Sqlite, Restrict | NoAction | FkMissingParent) => Restrict,
            (_, NoAction) => Restrict,
            (_, kind) => kind,
        }
    }
}

impl std::fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// A refused delete: which rule, which rows, along which path from the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// Other refusals that apply to the same delete; an engine reports whichever its order
    /// reaches first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<RefusalKind>,
    /// The table holding the blocking rows (or the root, for engine-wide limits).
    pub table: String,
    /// The FK concerned, as `child(cols) -> parent(cols)`.
    pub foreign_key: Option<String>,
    /// How many rows block.
    pub rows: u64,
    /// Primary keys of some blocking rows, rendered as text.
    pub sample_keys: Vec<String>,
    /// FK path from the root table to the parent whose delete is blocked.
    pub path: Vec<String>,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "delete refused ({}): {}", self.kind, self.message)?;
        if !self.sample_keys.is_empty() {
            write!(f, "; blocking keys: {}", self.sample_keys.join(", "))?;
        }
        if !self.path.is_empty() {
            write!(f, "; path: {}", self.path.join(" -> "))?;
        }
        Ok(())
    }
}

/// Rows whose FK columns an action rewrites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnUpdate {
    pub table: String,
    pub columns: Vec<String>,
    pub action: FkAction,
    pub rows: u64,
}

/// The exact effect of a delete, known before (plan) or after (delete) it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub root: String,
    /// Rows deleted per table, root included; tables with none are omitted.
    pub deleted: BTreeMap<String, u64>,
    /// Rows nulled or defaulted, per FK.
    pub updated: Vec<ColumnUpdate>,
    /// Longest cascade chain actually reached by the data (0: only root rows).
    pub depth: u32,
}

impl Effect {
    pub fn total_deleted(&self) -> u64 {
        self.deleted.values().sum()
    }
}

/// How a delete is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// Our executor: set-based UPDATEs and DELETEs, children before parents.
    Orm,
    /// One native DELETE of the root rows; the engine cascades.
    Db,
}

/// What an executed (or dry-run) delete did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeleteReport {
    pub mode: DeleteMode,
    pub dialect: Dialect,
    #[serde(flatten)]
    pub effect: Effect,
    /// SQL statements issued by the attempt that succeeded, work tables included.
    pub statements: u64,
    /// True when the transaction was rolled back on purpose (`--dry-run`).
    pub dry_run: bool,
    /// Runs of the whole transaction it took (1 unless a write conflict forced a retry).
    pub attempts: u32,
    /// The write conflicts that were retried, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<RetriedConflict>,
}

#[derive(Debug, Error)]
pub enum DeleteError {
    #[error("unknown table `{0}`")]
    UnknownTable(String),
    #[error("table `{0}` has no primary key; rows cannot be identified set-based")]
    NoPrimaryKey(String),
    #[error("no row of `{table}` matches the selection; nothing to delete")]
    NothingMatched { table: String },
    #[error("{0}")]
    Refused(Box<Refusal>),
    #[error(
        "cannot turn FK enforcement off on PostgreSQL: setting session_replication_role needs \
         a superuser ({0})"
    )]
    EnforcementOff(String),
    /// Every attempt lost a write conflict (deadlock, Galera certification failure); the last
    /// one was rolled back and nothing changed.
    #[error(
        "gave up after {attempts} attempt(s): every one lost a write conflict (deadlock or \
         cluster certification failure) and was rolled back; nothing changed. Retry later, or \
         allow more attempts (--attempts). Last error: {last}"
    )]
    Conflicts {
        attempts: u32,
        retried: Vec<RetriedConflict>,
        last: DbErr,
    },
    /// The delete does not fit in one Galera write set; rolled back, nothing changed.
    #[error("{0}")]
    WriteSetTooLarge(Box<WriteSetTooLarge>),
    /// DB mode on a connection that does not enforce FKs: the database would delete the root
    /// rows and cascade nothing, so no report of the cascade could be true. Nothing was run.
    #[error(
        "DB mode needs FK enforcement on the connection: with it off the database deletes only \
         the root rows and cascades nothing, leaving orphans; use ORM mode, which does all the \
         work itself, or a connection that enforces FKs"
    )]
    DbModeWithoutEnforcement,
    /// With the engine's own FK actions suspended (`EngineActions::Auto`), the integrity check
    /// before commit found a row still referencing a deleted key along `foreign_key`; the
    /// delete was rolled back and nothing changed. (A row inserted concurrently, or a rule the
    /// executor missed: run with `EngineActions::KeepOn` to let the engine act.)
    #[error(
        "integrity check failed: a row still references a deleted key along {foreign_key}; \
         rolled back, nothing changed"
    )]
    DanglingReference {
        /// The FK, as `child(cols) -> parent(cols)`.
        foreign_key: String,
    },
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl DeleteError {
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            DeleteError::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }
}
