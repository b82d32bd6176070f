//! What a delete produces: the plan (exact counts before anything changes), the report of an
//! executed delete, and the typed refusals and errors. Both modes return the same report.

use std::collections::BTreeMap;

use cascade_entity::rules::{Dialect, FkAction};
use sea_orm::DbErr;
use serde::Serialize;
use thiserror::Error;

use super::batch::{BatchStopped, BatchSummary};
use super::retry::{RetriedConflict, WriteSetTooLarge};

/// Why a delete is refused: the `kind` field of `--json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefusalKind {
    /// A RESTRICT rule has rows that still reference a deleted row.
    Restrict,
    /// A NO ACTION rule has rows that still reference a deleted row when it is checked.
    NoAction,
    /// A SET NULL would write NULL into a NOT NULL column.
    NotNull,
    /// A SET NULL / SET DEFAULT rewrite would violate a CHECK constraint.
    Check,
    /// A rewrite would violate a UNIQUE constraint.
    Unique,
    /// A SET DEFAULT writes a value no parent row has.
    FkMissingParent,
    /// The cascade is deeper than the engine allows (InnoDB: 15).
    CascadeDepth,
    /// An FK's parent columns are not a key of the parent table.
    FkMismatch,
    /// The outcome depends on an order the model does not follow; refused rather than guessed.
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
    /// Which rule refused.
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
    /// What happened, in one sentence.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind` at `table`, with no FK, row count, sample keys, path or other kinds
    /// yet (set the ones that apply with struct-update syntax).
    pub(crate) fn new(kind: RefusalKind, table: &str, message: String) -> Refusal {
        Refusal {
            kind,
            also: Vec::new(),
            table: table.to_owned(),
            foreign_key: None,
            rows: 0,
            sample_keys: Vec::new(),
            path: Vec::new(),
            message,
        }
    }
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
    /// The child table whose rows are rewritten.
    pub table: String,
    /// The FK columns rewritten.
    pub columns: Vec<String>,
    /// SET NULL or SET DEFAULT.
    pub action: FkAction,
    /// Rows rewritten.
    pub rows: u64,
}

/// The exact effect of a delete, known before (plan) or after (delete) it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    /// The table the selected rows were deleted from.
    pub root: String,
    /// Rows deleted per table, root included; tables with none are omitted.
    pub deleted: BTreeMap<String, u64>,
    /// Rows nulled or defaulted, per FK.
    pub updated: Vec<ColumnUpdate>,
    /// Longest cascade chain actually reached by the data (0: only root rows).
    pub depth: u32,
}

impl Effect {
    /// Rows deleted, all tables together, root included.
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
    /// Who deleted: our executor or the database.
    pub mode: DeleteMode,
    /// The connection's dialect.
    pub dialect: Dialect,
    /// What was deleted and rewritten, as the database counted it.
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
    /// How a batched delete (`--batch-rows`) went: batches, the largest, what is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<BatchSummary>,
}

/// Why a plan or delete did not happen; in every case nothing changed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The table is not in the rules.
    #[error("unknown table `{0}`")]
    UnknownTable(String),
    /// The table has no primary key.
    #[error("table `{0}` has no primary key; rows cannot be identified set-based")]
    NoPrimaryKey(String),
    /// The selection matched no row.
    #[error("no row of `{table}` matches the selection; nothing to delete")]
    NothingMatched {
        /// The root table.
        table: String,
    },
    /// A rule refuses the delete; the database would refuse it too.
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// FK enforcement could not be turned off as asked.
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
        /// Attempts made.
        attempts: u32,
        /// The conflicts retried, in order.
        retried: Vec<RetriedConflict>,
        /// The last attempt's error.
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
    /// A batched delete stopped part-way: every committed batch left a consistent database;
    /// the report says what was done and what is left, and re-running the same delete resumes.
    #[error("{0}")]
    BatchStopped(Box<BatchStopped>),
    /// A batched delete was asked for where it cannot run: inside the caller's transaction
    /// (batches must commit), in DB mode, or with batches of 0 rows.
    #[error("{0}")]
    BatchUnavailable(String),
    /// Rows of the closure that something outside the delete still references (a row written
    /// after the verdict, or a reference the engine's rules do not act on): they cannot be
    /// deleted leaf-first without leaving a dangling reference.
    #[error(
        "{rows} row(s) of `{table}` to be deleted are still referenced by rows outside the delete \
         (written after the verdict?); deleting them would leave dangling references"
    )]
    Blocked {
        /// The table holding the blocked rows.
        table: String,
        /// How many of its rows are blocked.
        rows: u64,
    },
    /// A statement failed for another reason.
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl DeleteError {
    /// The refusal, when the delete was refused by a rule.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            DeleteError::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }
}
