//! MariaDB / MySQL repair: `DROP FOREIGN KEY IF EXISTS` then `ADD CONSTRAINT`, one FK at a time.
//!
//! InnoDB DDL is not transactional, so the script is ordered for a failure halfway: each FK is
//! dropped just before it is re-added (the worst interim state is one FK missing, never a wrong
//! rule), and a re-run of `repair` recomputes from the catalog and finishes the job. The index
//! InnoDB created for a dropped FK stays and serves the re-added one.

use cascade_entity::rules::{Dialect, ForeignKey};

use super::sql::{add_foreign_key, constraint_names, ident};
use super::{FkChange, IndexChange, RepairError, Script, Step};

const D: Dialect = Dialect::MySql;

pub(super) fn scripts(
    changes: &[FkChange],
    _indexes: &[IndexChange],
) -> Result<(Script, Script), RepairError> {
    // InnoDB indexes every FK itself, so there are never FK indexes to add.
    let mut up = Script::default();
    let mut down = Script::default();
    for change in changes {
        up.body.extend(switch(
            &change.table,
            change.before.as_ref(),
            change.after.as_ref(),
        )?);
        down.body.extend(switch(
            &change.table,
            change.after.as_ref(),
            change.before.as_ref(),
        )?);
    }
    Ok((up, down))
}

fn switch(
    table: &str,
    from: Option<&ForeignKey>,
    to: Option<&ForeignKey>,
) -> Result<Vec<Step>, RepairError> {
    let mut steps = Vec::new();
    for name in constraint_names(table, from, to)? {
        steps.push(Step::exec(format!(
            "ALTER TABLE {} DROP FOREIGN KEY IF EXISTS {}",
            ident(D, table),
            ident(D, name)
        )));
    }
    if let Some(fk) = to {
        steps.push(Step::exec(add_foreign_key(D, table, fk)));
    }
    Ok(steps)
}
