//! Repair migrations: the FK changes that bring a live database to an expected RuleGraph, as
//! up/down scripts per dialect, a pre-flight orphan count, and a runner (also usable as a
//! sea-orm-migration step, [`RepairMigration`]).
//!
//! The plan is always recomputed from the live catalog, so running `repair` again after it was
//! applied finds nothing; each script is also safe to apply twice (`IF EXISTS` drops before adds,
//! SQLite rebuilds to a fixed definition). The SQL per dialect lives in one module each.
//!
//! Besides FK changes, a plan finishes what the database left half done: a PostgreSQL FK of a
//! table in scope that is still `NOT VALID` (added by hand that way, or a repair interrupted
//! between its COMMIT and its `VALIDATE CONSTRAINT`) is validated, after the same orphan
//! pre-flight as an added FK.

mod changes;
mod migration_step;
pub(crate) mod mysql;
pub(crate) mod postgres;
mod run;
mod sql;
mod sqlite;

use cascade_entity::rules::{Dialect, Drift, ForeignKey, RuleGraph};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use thiserror::Error;

pub(crate) use changes::fk_changes;
pub use changes::{FkChange, IndexChange};
pub use migration_step::RepairMigration;
pub use run::{run_script, run_script_reporting};

use crate::introspect::{IntrospectError, introspect};
use crate::orphan_query::count_orphans;

/// The warning every down script starts with.
pub const DOWN_WARNING: &str = "WARNING: rolling back restores the previous constraints, not \
     data. Rows deleted (or references nulled) by cascades while the repaired constraints were \
     in force cannot be restored by this script.";

/// Why a repair was not planned or not (fully) applied.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RepairError {
    /// Reading the live catalog failed.
    #[error(transparent)]
    Introspect(#[from] IntrospectError),
    /// A query or statement failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// The pre-flight found orphan rows under constraints the repair would add or validate;
    /// nothing was run.
    #[error(
        "refusing to repair: orphan rows would make the new constraints fail ({}); prune them \
         first (`cascade orphans --prune`, with the same --rules and --policy, and \
         --include-restricted where a blocking FK is RESTRICT or NO ACTION); nothing was changed",
        .0.iter().map(|b| format!("{}: {} row(s)", b.foreign_key, b.orphans)).collect::<Vec<_>>().join("; ")
    )]
    Orphans(Vec<Blocker>),
    /// A check step returned rows (SQLite's `foreign_key_check` after a rebuild); the body's
    /// transaction was rolled back.
    #[error("check `{sql}` found {rows} violation(s); the change was rolled back")]
    CheckFailed {
        /// The check query.
        sql: String,
        /// How many rows it returned.
        rows: usize,
    },
    /// An FK the script must drop by name has none (as `child(cols) -> parent(cols)`).
    #[error("the live foreign key {0} has no name, so it cannot be dropped")]
    Unnamed(String),
    /// A SQLite table whose `CREATE TABLE` text cannot be rewritten safely.
    #[error("cannot rebuild SQLite table {table}: {reason}; nothing was changed")]
    SchemaText {
        /// The table the repair would rebuild.
        table: String,
        /// What in its text could not be read, or does not match the catalog.
        reason: String,
    },
}

/// A constraint the repair would add while child rows reference missing parents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// The child table.
    pub table: String,
    /// The FK, as `child(cols) -> parent(cols)`.
    pub foreign_key: String,
    /// How many child rows reference a missing parent ([`crate::orphan_query`]'s definition).
    pub orphans: u64,
}

/// One statement of a script. `must_be_empty` marks a check query: the runner fails (and rolls
/// back) when it returns any row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The statement, without a trailing `;`.
    pub sql: String,
    /// Whether this is a check query rather than a statement to execute.
    pub must_be_empty: bool,
}

impl Step {
    pub(crate) fn exec(sql: impl Into<String>) -> Step {
        Step {
            sql: sql.into(),
            must_be_empty: false,
        }
    }

    pub(crate) fn check(sql: impl Into<String>) -> Step {
        Step {
            sql: sql.into(),
            must_be_empty: true,
        }
    }
}

/// A live FK the database does not enforce on existing rows yet (PostgreSQL `NOT VALID`), which
/// the repair validates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// The child table.
    pub table: String,
    /// The live FK, with the constraint name to validate.
    pub foreign_key: ForeignKey,
}

impl Validation {
    /// `validate post(user_id) -> users(id) (NOT VALID: existing rows unchecked)`.
    pub fn describe(&self) -> String {
        format!(
            "validate {} (NOT VALID: existing rows unchecked)",
            self.foreign_key.describe(&self.table)
        )
    }
}

/// Statements run outside a transaction (`before`, `after`: connection settings such as
/// SQLite's `foreign_keys`), and the `body`, in one transaction where the dialect's DDL is
/// transactional. `after_commit` runs once the body committed, each statement on its own
/// (PostgreSQL's `VALIDATE CONSTRAINT`, which scans without blocking writes); `after` runs even
/// when the body failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Script {
    /// Whether `body` runs in one transaction (never on MariaDB, whose DDL commits implicitly).
    pub transactional: bool,
    /// Run first, outside any transaction (SQLite's `PRAGMA foreign_keys = OFF`).
    pub before: Vec<Step>,
    /// The changes, in order.
    pub body: Vec<Step>,
    /// Run one by one once `body` committed, up to the first failure; skipped when `body` failed.
    pub after_commit: Vec<Step>,
    /// Run last, whatever happened before (SQLite's `PRAGMA foreign_keys = ON`).
    pub after: Vec<Step>,
}

impl Script {
    /// Whether running the script would change nothing (no body, nothing after the commit).
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.after_commit.is_empty()
    }

    /// The script as an SQL file, each line of `header` as a comment at the top.
    pub fn to_sql_file(&self, header: &str) -> String {
        let mut text: String = header.lines().map(|l| format!("-- {l}\n")).collect();
        let mut line = |step: &Step| {
            if step.must_be_empty {
                text.push_str("-- must return no rows:\n");
            }
            text.push_str(&step.sql);
            text.push_str(";\n");
        };
        self.before.iter().for_each(&mut line);
        let transaction = self.transactional && !self.body.is_empty();
        if transaction {
            line(&Step::exec("BEGIN"));
        }
        self.body.iter().for_each(&mut line);
        if transaction {
            line(&Step::exec("COMMIT"));
        }
        self.after_commit.iter().for_each(&mut line);
        self.after.iter().for_each(&mut line);
        text
    }
}

/// What `repair` would do to one live database.
#[derive(Debug, Clone, Serialize)]
pub struct RepairPlan {
    /// The live database's dialect, which the scripts are written in.
    pub dialect: Dialect,
    /// FKs to add, drop or replace, tables in name order.
    pub changes: Vec<FkChange>,
    /// FK indexes to create (none on MariaDB, where InnoDB indexes every FK itself).
    pub indexes: Vec<IndexChange>,
    /// Live FKs left `NOT VALID` that the repair validates (PostgreSQL).
    pub validations: Vec<Validation>,
    /// Constraints that cannot be added until their orphans are gone; `apply` refuses then.
    pub blockers: Vec<Blocker>,
    /// Drift a constraint repair does not touch (tables, columns, keys): a schema migration's job.
    pub unrepaired: Vec<Drift>,
    /// The script that makes the changes ([`apply`] runs it).
    pub up: Script,
    /// The script that undoes them: the previous constraints, not data ([`DOWN_WARNING`]).
    pub down: Script,
}

impl RepairPlan {
    /// Whether there is nothing to change (no FK change, index or validation); `unrepaired`
    /// drift does not count.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.indexes.is_empty() && self.validations.is_empty()
    }

    /// How many items (FK changes, indexes, validations) the plan holds.
    pub fn len(&self) -> usize {
        self.changes.len() + self.indexes.len() + self.validations.len()
    }
}

/// Computes the repair of `db` towards `expected` from its live catalog, with the orphan
/// pre-flight for every constraint it would add or validate. Changes nothing.
pub async fn plan(
    db: &impl ConnectionTrait,
    expected: &RuleGraph,
) -> Result<RepairPlan, RepairError> {
    let dialect = Dialect::from(db.get_database_backend());
    let live = introspect(db).await?;
    let (changes, indexes) = fk_changes(expected, &live, dialect);
    let validations = match dialect {
        Dialect::Postgres => postgres::validations(db, expected, &live, &changes).await?,
        Dialect::MySql | Dialect::Sqlite => Vec::new(),
    };
    let mut blockers = Vec::new();
    let mut checked = checked_by_repair(&live, &changes, dialect);
    checked.extend(
        validations
            .iter()
            .map(|v| (v.table.as_str(), &v.foreign_key)),
    );
    for (table, fk) in checked {
        let row = db.query_one(&count_orphans(table, fk)).await?;
        let orphans: i64 = match row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        if orphans > 0 {
            blockers.push(Blocker {
                table: table.to_owned(),
                foreign_key: fk.describe(table),
                orphans: orphans.unsigned_abs(),
            });
        }
    }
    let (up, down) = match dialect {
        Dialect::Postgres => postgres::scripts(&changes, &indexes, &validations)?,
        Dialect::MySql => mysql::scripts(&changes, &indexes)?,
        Dialect::Sqlite => {
            let captured = sqlite::capture(db, &changes).await?;
            sqlite::scripts(&live, &changes, &indexes, &captured)?
        }
    };
    let unrepaired = expected
        .diff(&live, dialect)
        .into_iter()
        .filter(|d| {
            !matches!(
                d,
                Drift::MissingForeignKey { .. }
                    | Drift::ExtraForeignKey { .. }
                    | Drift::ForeignKeyAction { .. }
                    | Drift::MissingForeignKeyIndex { .. }
            )
        })
        .collect();
    Ok(RepairPlan {
        dialect,
        changes,
        indexes,
        validations,
        blockers,
        unrepaired,
        up,
        down,
    })
}

/// The FKs whose existing rows the repair makes the engine check: each added or replaced FK,
/// and where FKs are changed by a table rebuild (SQLite), every FK of a rebuilt table, since the
/// rebuild's `foreign_key_check` covers them all.
fn checked_by_repair<'a>(
    live: &'a RuleGraph,
    changes: &'a [FkChange],
    dialect: Dialect,
) -> Vec<(&'a str, &'a cascade_entity::rules::ForeignKey)> {
    let mut checked: Vec<(&str, &cascade_entity::rules::ForeignKey)> = changes
        .iter()
        .filter_map(|c| c.after.as_ref().map(|fk| (c.table.as_str(), fk)))
        .collect();
    if !dialect.can_add_foreign_key() {
        for change in changes {
            let Some(table) = live.table(&change.table) else {
                continue;
            };
            for fk in &table.foreign_keys {
                let changed = changes.iter().any(|c| {
                    c.table == table.name && c.before.as_ref().is_some_and(|b| b.same_reference(fk))
                });
                let listed = checked
                    .iter()
                    .any(|(t, f)| *t == table.name && f.same_reference(fk));
                if fk.enforcement == cascade_entity::rules::Enforcement::Database
                    && !changed
                    && !listed
                {
                    checked.push((table.name.as_str(), fk));
                }
            }
        }
    }
    checked
}

/// The statements that apply `changes` (FKs of existing tables) on PostgreSQL or MariaDB, as the
/// repair writes them; SQLite needs a table rebuild instead and gets an empty script.
pub(crate) fn fk_script(dialect: Dialect, changes: &[FkChange]) -> Result<Script, RepairError> {
    Ok(match dialect {
        Dialect::Postgres => postgres::scripts(changes, &[], &[])?.0,
        Dialect::MySql => mysql::scripts(changes, &[])?.0,
        Dialect::Sqlite => Script::default(),
    })
}

/// Applies `plan.up`, refusing before any change when the pre-flight found orphans.
pub async fn apply<C>(db: &C, plan: &RepairPlan) -> Result<(), RepairError>
where
    C: ConnectionTrait + sea_orm::TransactionTrait,
{
    apply_reporting(db, plan, &crate::progress::NoProgress).await
}

/// [`apply`], reporting each statement run to `progress`.
pub async fn apply_reporting<C>(
    db: &C,
    plan: &RepairPlan,
    progress: &dyn crate::progress::Progress,
) -> Result<(), RepairError>
where
    C: ConnectionTrait + sea_orm::TransactionTrait,
{
    if !plan.blockers.is_empty() {
        return Err(RepairError::Orphans(plan.blockers.clone()));
    }
    run::run_script_reporting(db, &plan.up, progress).await
}
