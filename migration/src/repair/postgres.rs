//! PostgreSQL repair: in one transaction, per changed FK `DROP CONSTRAINT IF EXISTS`, then
//! `ADD CONSTRAINT ... NOT VALID` (no table scan while the strong lock is held; new rows are
//! checked from then on); after the commit, `VALIDATE CONSTRAINT` per FK checks the existing rows
//! under a lock that does not block writes. The orphan pre-flight makes validation failures
//! unexpected; should one still fail (or the run stop between COMMIT and VALIDATE), the
//! constraint stays `NOT VALID`, which `audit` reports and the next `repair` plans to validate
//! ([`validations`]). Applying the script twice ends in the same state.

use cascade_entity::rules::{Dialect, ForeignKey, RuleGraph};
use sea_orm::ConnectionTrait;

use super::sql::{add_foreign_key, constraint_names, create_index, drop_index, ident};
use super::{FkChange, IndexChange, RepairError, Script, Step, Validation};
use crate::introspect::{get, rows};

const D: Dialect = Dialect::Postgres;

/// FK constraints of the current schema whose existing rows were never checked.
const NOT_VALID: &str = "
SELECT cl.relname::text AS table_name, con.conname::text AS name
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE n.nspname = current_schema() AND con.contype = 'f' AND NOT con.convalidated
ORDER BY 1, 2";

/// The `NOT VALID` FKs of the tables in scope (those of `expected` that exist) that no change
/// already re-adds or drops: each gets a `VALIDATE CONSTRAINT`.
pub(super) async fn validations(
    db: &impl ConnectionTrait,
    expected: &RuleGraph,
    live: &RuleGraph,
    changes: &[FkChange],
) -> Result<Vec<Validation>, RepairError> {
    let mut found = Vec::new();
    for row in rows(db, NOT_VALID, vec![]).await? {
        let table: String = get(&row, "table_name")?;
        let name: String = get(&row, "name")?;
        if !expected.tables.contains_key(&table) {
            continue;
        }
        let Some(fk) = live.table(&table).and_then(|t| {
            t.foreign_keys
                .iter()
                .find(|fk| fk.name.as_deref() == Some(name.as_str()))
        }) else {
            continue;
        };
        let changed = changes
            .iter()
            .any(|c| c.table == table && c.before.as_ref().is_some_and(|b| b.same_reference(fk)));
        if !changed {
            found.push(Validation {
                table,
                foreign_key: fk.clone(),
            });
        }
    }
    Ok(found)
}

/// Up and down scripts; validations run after the commit of `up` and have nothing to undo.
pub(super) fn scripts(
    changes: &[FkChange],
    indexes: &[IndexChange],
    validations: &[Validation],
) -> Result<(Script, Script), RepairError> {
    let mut up = transactional();
    let mut down = transactional();
    for change in changes {
        let (before, after) = (change.before.as_ref(), change.after.as_ref());
        let (body, after_commit) = switch(&change.table, before, after)?;
        up.body.extend(body);
        up.after_commit.extend(after_commit);
        let (body, after_commit) = switch(&change.table, after, before)?;
        down.body.extend(body);
        down.after_commit.extend(after_commit);
    }
    for index in indexes {
        up.body.push(Step::exec(create_index(D, index)));
        down.body.push(Step::exec(drop_index(D, index)));
    }
    for validation in validations {
        if let Some(name) = &validation.foreign_key.name {
            up.after_commit.push(validate(&validation.table, name));
        }
    }
    Ok((up, down))
}

fn transactional() -> Script {
    Script {
        transactional: true,
        ..Script::default()
    }
}

/// Statements that take `table` from constraint `from` to constraint `to` (either may be
/// absent): the transactional part, and the validation to run after the commit.
fn switch(
    table: &str,
    from: Option<&ForeignKey>,
    to: Option<&ForeignKey>,
) -> Result<(Vec<Step>, Vec<Step>), RepairError> {
    let mut steps = Vec::new();
    let alter = format!("ALTER TABLE {}", ident(D, table));
    for name in constraint_names(table, from, to)? {
        steps.push(Step::exec(format!(
            "{alter} DROP CONSTRAINT IF EXISTS {}",
            ident(D, name)
        )));
    }
    let mut after_commit = Vec::new();
    if let Some(fk) = to {
        let name = fk.name.as_deref().unwrap_or_default();
        steps.push(Step::exec(format!(
            "{} NOT VALID",
            add_foreign_key(D, table, fk)
        )));
        after_commit.push(validate(table, name));
    }
    Ok((steps, after_commit))
}

/// `ALTER TABLE t VALIDATE CONSTRAINT c`: checks the existing rows without blocking writes.
fn validate(table: &str, constraint: &str) -> Step {
    Step::exec(format!(
        "ALTER TABLE {} VALIDATE CONSTRAINT {}",
        ident(D, table),
        ident(D, constraint)
    ))
}
