//! SQLite repair: SQLite cannot alter a constraint, so each table whose FKs change is rebuilt by
//! the documented procedure (<https://www.sqlite.org/lang_altertable.html#otheralter>):
//! `foreign_keys=OFF` outside the transaction; in it, create the new table, copy the rows, drop
//! the old table, rename the new one, recreate the old table's indexes and triggers from
//! `sqlite_schema`, run `foreign_key_check` on it (the runner rolls back on any row); commit;
//! `foreign_keys=ON`. With `legacy_alter_table` off (the default) the rename leaves other tables'
//! `REFERENCES` clauses alone: they name the table, which exists again under the same name.
//!
//! The new table is generated from the live catalog's columns, keys and defaults with the FK list
//! changed in place (so the engine's FK firing order is kept). CHECK constraints and
//! `AUTOINCREMENT` are not in the RuleGraph and are not carried over.

use std::collections::BTreeMap;

use cascade_entity::rules::{ColumnKind, Dialect, RuleGraph, Table};
use sea_orm::sea_query::{Alias, Query, Table as TableBuilder};
use sea_orm::{ConnectionTrait, DbErr};

use super::sql::{create_index, drop_index, ident};
use super::{FkChange, IndexChange, Script, Step};
use crate::ddl;
use crate::introspect::get;

const D: Dialect = Dialect::Sqlite;
const NEW_PREFIX: &str = "cascade_new_";

/// What a rebuild must carry over verbatim, per rebuilt table.
#[derive(Debug, Default)]
pub(super) struct CapturedTable {
    /// Index and trigger DDL from `sqlite_schema`.
    statements: Vec<String>,
    /// Declared column types as written (`INT` must not become `integer`: only the exact
    /// spelling `INTEGER PRIMARY KEY` makes a rowid alias).
    types: BTreeMap<String, String>,
}

pub(super) type Captured = BTreeMap<String, CapturedTable>;

pub(super) async fn capture(
    db: &impl ConnectionTrait,
    changes: &[FkChange],
) -> Result<Captured, DbErr> {
    let mut captured = Captured::new();
    for change in changes {
        if captured.contains_key(&change.table) {
            continue;
        }
        let rows = crate::introspect::rows(
            db,
            "SELECT sql FROM sqlite_schema WHERE tbl_name = ? AND type IN ('index', 'trigger') \
             AND sql IS NOT NULL ORDER BY type, name",
            vec![change.table.clone().into()],
        )
        .await?;
        let mut table = CapturedTable::default();
        for row in rows {
            table.statements.push(text(&row, "sql")?);
        }
        let columns = crate::introspect::rows(
            db,
            "SELECT name, type FROM pragma_table_info(?)",
            vec![change.table.clone().into()],
        )
        .await?;
        for row in columns {
            table.types.insert(text(&row, "name")?, text(&row, "type")?);
        }
        captured.insert(change.table.clone(), table);
    }
    Ok(captured)
}

fn text(row: &sea_orm::QueryResult, column: &str) -> Result<String, DbErr> {
    get::<String>(row, column).map_err(|e| DbErr::Custom(e.to_string()))
}

pub(super) fn scripts(
    live: &RuleGraph,
    changes: &[FkChange],
    indexes: &[IndexChange],
    captured: &Captured,
) -> (Script, Script) {
    let mut up = rebuild_script();
    let mut down = rebuild_script();
    for (name, captured) in captured {
        let Some(table) = live.table(name) else {
            continue;
        };
        let mine: Vec<&FkChange> = changes.iter().filter(|c| &c.table == name).collect();
        up.body
            .extend(rebuild(&with_changes(table, &mine, true), captured));
        down.body
            .extend(rebuild(&with_changes(table, &mine, false), captured));
    }
    for index in indexes {
        up.body.push(Step::exec(create_index(D, index)));
        down.body.push(Step::exec(drop_index(D, index)));
    }
    if up.body.is_empty() {
        return (Script::default(), Script::default());
    }
    (up, down)
}

fn rebuild_script() -> Script {
    Script {
        transactional: true,
        before: vec![Step::exec("PRAGMA foreign_keys = OFF")],
        body: Vec::new(),
        after_commit: Vec::new(),
        after: vec![Step::exec("PRAGMA foreign_keys = ON")],
    }
}

/// The live table with its FK list as after `changes` (`forward`) or as before them (the live
/// list itself, for `down`).
fn with_changes(table: &Table, changes: &[&FkChange], forward: bool) -> Table {
    let mut target = table.clone();
    if !forward {
        return target;
    }
    for change in changes {
        match (&change.before, &change.after) {
            (Some(before), after) => {
                let position = target
                    .foreign_keys
                    .iter()
                    .position(|fk| fk.same_reference(before));
                match (position, after) {
                    (Some(i), Some(after)) => target.foreign_keys[i] = after.clone(),
                    (Some(i), None) => {
                        target.foreign_keys.remove(i);
                    }
                    (None, Some(after)) => target.foreign_keys.push(after.clone()),
                    (None, None) => {}
                }
            }
            (None, Some(after)) => target.foreign_keys.push(after.clone()),
            (None, None) => {}
        }
    }
    target
}

/// The 12-step rebuild of `target.name` into `target`'s definition, inside the transaction.
fn rebuild(target: &Table, captured: &CapturedTable) -> Vec<Step> {
    let name = target.name.as_str();
    let new_name = format!("{NEW_PREFIX}{name}");
    let mut definition = target.clone();
    definition.name = new_name.clone();
    for column in &mut definition.columns {
        if let Some(spelling) = captured.types.get(&column.name).filter(|t| !t.is_empty()) {
            column.kind = ColumnKind::Other(spelling.clone());
        }
    }
    let mut create = ddl::create_table(&definition, D);
    for fk in target
        .foreign_keys
        .iter()
        .filter(|fk| fk.enforcement == cascade_entity::rules::Enforcement::Database)
    {
        create.foreign_key(&mut ddl::foreign_key(&definition, fk, D));
    }
    let columns: Vec<Alias> = target.columns.iter().map(|c| Alias::new(&c.name)).collect();
    let select = Query::select()
        .columns(columns.clone())
        .from(Alias::new(name))
        .to_owned();
    let mut copy = Query::insert();
    copy.into_table(Alias::new(&new_name)).columns(columns);
    let copy_sql = match copy.select_from(select) {
        Ok(copy) => D.backend().build(&*copy).to_string(),
        // Only fails on a column-count mismatch, which the shared column list rules out.
        Err(e) => format!("-- cannot copy rows: {e}"),
    };
    let mut steps = vec![
        Step::exec(D.backend().build(&create).to_string()),
        Step::exec(copy_sql),
        Step::exec(
            D.backend()
                .build(&TableBuilder::drop().table(Alias::new(name)).to_owned())
                .to_string(),
        ),
        Step::exec(
            D.backend()
                .build(
                    &TableBuilder::rename()
                        .table(Alias::new(&new_name), Alias::new(name))
                        .to_owned(),
                )
                .to_string(),
        ),
    ];
    steps.extend(captured.statements.iter().map(Step::exec));
    steps.push(Step::check(format!(
        "PRAGMA foreign_key_check({})",
        ident(D, name)
    )));
    steps
}
