//! PostgreSQL repair: in one transaction, per changed FK `DROP CONSTRAINT IF EXISTS`, then
//! `ADD CONSTRAINT ... NOT VALID` (no table scan while the strong lock is held; new rows are
//! checked from then on); after the commit, `VALIDATE CONSTRAINT` per FK checks the existing rows
//! under a lock that does not block writes. The orphan pre-flight makes validation failures
//! unexpected; should one still fail, the constraint stays `NOT VALID`, which `audit` reports and
//! a re-run of the script finishes. Applying the script twice ends in the same state.

use cascade_entity::rules::{Dialect, ForeignKey};

use super::sql::{add_foreign_key, constraint_names, create_index, drop_index, ident};
use super::{FkChange, IndexChange, RepairError, Script, Step};

const D: Dialect = Dialect::Postgres;

pub(super) fn scripts(
    changes: &[FkChange],
    indexes: &[IndexChange],
) -> Result<(Script, Script), RepairError> {
    let mut up = transactional();
    let mut down = transactional();
    for change in changes {
        let (before, after) = (change.before.as_ref(), change.after.as_ref());
        let (body, validate) = switch(&change.table, before, after)?;
        up.body.extend(body);
        up.after_commit.extend(validate);
        let (body, validate) = switch(&change.table, after, before)?;
        down.body.extend(body);
        down.after_commit.extend(validate);
    }
    for index in indexes {
        up.body.push(Step::exec(create_index(D, index)));
        down.body.push(Step::exec(drop_index(D, index)));
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
    let mut validate = Vec::new();
    if let Some(fk) = to {
        let name = fk.name.as_deref().unwrap_or_default();
        steps.push(Step::exec(format!(
            "{} NOT VALID",
            add_foreign_key(D, table, fk)
        )));
        validate.push(Step::exec(format!(
            "{alter} VALIDATE CONSTRAINT {}",
            ident(D, name)
        )));
    }
    Ok((steps, validate))
}
