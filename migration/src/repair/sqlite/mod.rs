//! SQLite repair: SQLite cannot alter a constraint, so each table whose FKs change is rebuilt by
//! the documented procedure (<https://www.sqlite.org/lang_altertable.html#otheralter>):
//! `foreign_keys=OFF` outside the transaction; in it, save and drop the views and triggers that
//! refer to a rebuilt table ([`dependents`]); per table create the new table, copy the rows (and
//! the rowid), carry the `sqlite_sequence` row over, drop the old table, rename the new one,
//! recreate the old table's indexes, run `foreign_key_check` on it (the runner rolls back on any
//! row); recreate the saved views and triggers verbatim; commit; `foreign_keys=ON`. With
//! `legacy_alter_table` off (the default) the rename leaves other tables' `REFERENCES` clauses
//! alone: they name the table, which exists again under the same name.
//!
//! The new table is the old table's own `CREATE TABLE` text from `sqlite_schema`, with only its
//! FK clauses rewritten ([`table_text`]): a changed FK gets its new actions in place (SQLite fires
//! the most recently declared FK first, so positions are kept), a dropped one is cut out with its
//! separating comma, an added one is appended as a table constraint. Everything else (types as
//! spelled, CHECK, COLLATE, AUTOINCREMENT, generated columns, named constraints, defaults,
//! comments, `WITHOUT ROWID`, `STRICT`) is kept byte for byte; only the name differs, as
//! SQLite's rename writes it (`"name"`). The down script rebuilds from the unchanged text.
//!
//! Left out: objects in the `temp` schema (a repair connection's own temporary views and
//! triggers are not saved), and `sqlite_stat*` statistics of the rebuilt table (`ANALYZE`
//! recomputes them).

mod clauses;
mod dependents;
mod lex;
mod table_text;

use std::collections::BTreeMap;

use cascade_entity::rules::{Dialect, Enforcement, ForeignKey, RuleGraph, Table};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Query, SqliteQueryBuilder, Table as TableBuilder,
};
use sea_orm::{ConnectionTrait, DbErr};

use super::sql::{create_index, drop_index, ident};
use super::{FkChange, IndexChange, RepairError, Script, Step};
use crate::introspect::get;
use dependents::{SchemaObject, dependents};
use table_text::{ClauseEdit, TableText};

const D: Dialect = Dialect::Sqlite;
const NEW_PREFIX: &str = "cascade_new_";

/// What a rebuild must carry over, per rebuilt table.
#[derive(Debug)]
pub(super) struct CapturedTable {
    /// The table's `CREATE TABLE` text, parsed.
    text: TableText,
    /// Index DDL from `sqlite_schema` (automatic indexes of constraints come with the text).
    indexes: Vec<String>,
    /// The columns a copy writes: all but generated ones.
    columns: Vec<String>,
    /// The name under which the rowid can be copied, for a rowid table (`rowid`, `_rowid_` or
    /// `oid`, whichever no column shadows).
    rowid: Option<&'static str>,
}

/// Everything [`scripts`] needs from the live database.
#[derive(Debug, Default)]
pub(super) struct Captured {
    tables: BTreeMap<String, CapturedTable>,
    /// Views and triggers to drop before the rebuilds and recreate after them, in that order.
    dependents: Vec<SchemaObject>,
}

/// Reads what the rebuild of each table `changes` touch needs: its `CREATE TABLE` text (refused
/// when it cannot be read), indexes, copyable columns, rowid, and the dependent views and
/// triggers.
pub(super) async fn capture(
    db: &impl ConnectionTrait,
    changes: &[FkChange],
) -> Result<Captured, RepairError> {
    let mut captured = Captured::default();
    for change in changes {
        let name = change.table.as_str();
        if captured.tables.contains_key(name) {
            continue;
        }
        let create = crate::introspect::rows(
            db,
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
            vec![name.into()],
        )
        .await?;
        let sql = match create.first() {
            Some(row) => text(row, "sql")?,
            None => return Err(schema_text(name, "no CREATE TABLE text in sqlite_schema")),
        };
        let parsed = TableText::parse(&sql).map_err(|reason| schema_text(name, reason))?;
        let mut indexes = Vec::new();
        for row in crate::introspect::rows(
            db,
            "SELECT sql FROM sqlite_schema WHERE tbl_name = ? AND type = 'index' \
             AND sql IS NOT NULL ORDER BY name",
            vec![name.into()],
        )
        .await?
        {
            indexes.push(text(&row, "sql")?);
        }
        let mut columns = Vec::new();
        let mut all_names = Vec::new();
        for row in crate::introspect::rows(
            db,
            "SELECT name, hidden FROM pragma_table_xinfo(?) ORDER BY cid",
            vec![name.into()],
        )
        .await?
        {
            let column = text(&row, "name")?;
            // 2 and 3: generated (VIRTUAL, STORED); those are computed, not copied.
            if get::<i64>(&row, "hidden").map_err(|e| DbErr::Custom(e.to_string()))? == 0 {
                columns.push(column.clone());
            }
            all_names.push(column);
        }
        let rowid = (!parsed.without_rowid)
            .then(|| {
                ["rowid", "_rowid_", "oid"]
                    .into_iter()
                    .find(|alias| !all_names.iter().any(|c| c.eq_ignore_ascii_case(alias)))
            })
            .flatten();
        captured.tables.insert(
            name.to_owned(),
            CapturedTable {
                text: parsed,
                indexes,
                columns,
                rowid,
            },
        );
    }
    let names: Vec<&str> = captured.tables.keys().map(String::as_str).collect();
    if !names.is_empty() {
        captured.dependents = dependents(db, &names).await?;
    }
    Ok(captured)
}

fn text(row: &sea_orm::QueryResult, column: &str) -> Result<String, DbErr> {
    get::<String>(row, column).map_err(|e| DbErr::Custom(e.to_string()))
}

fn schema_text(table: &str, reason: impl Into<String>) -> RepairError {
    RepairError::SchemaText {
        table: table.to_owned(),
        reason: reason.into(),
    }
}

/// The up and down scripts: every touched table rebuilt (forward, or back to its original text),
/// between dropping and recreating the dependent views and triggers, then the FK indexes.
pub(super) fn scripts(
    live: &RuleGraph,
    changes: &[FkChange],
    indexes: &[IndexChange],
    captured: &Captured,
) -> Result<(Script, Script), RepairError> {
    let mut up = rebuild_script();
    let mut down = rebuild_script();
    let mut rebuilt_up = Vec::new();
    let mut rebuilt_down = Vec::new();
    for (name, table) in &captured.tables {
        let Some(live_table) = live.table(name) else {
            continue;
        };
        let mine: Vec<&FkChange> = changes.iter().filter(|c| &c.table == name).collect();
        let (edits, added) =
            clause_edits(live_table, &table.text, &mine).map_err(|r| schema_text(name, r))?;
        let new_name = format!("{NEW_PREFIX}{name}");
        let forward = table
            .text
            .rewrite(&new_name, &edits, &added)
            .map_err(|r| schema_text(name, r))?;
        let keep = vec![ClauseEdit::Keep; edits.len()];
        let back = table
            .text
            .rewrite(&new_name, &keep, &[])
            .map_err(|r| schema_text(name, r))?;
        rebuilt_up.extend(rebuild(name, forward, table));
        rebuilt_down.extend(rebuild(name, back, table));
    }
    for (script, rebuilt) in [(&mut up, rebuilt_up), (&mut down, rebuilt_down)] {
        if rebuilt.is_empty() {
            continue;
        }
        let saved = &captured.dependents;
        script
            .body
            .extend(saved.iter().rev().map(|o| Step::exec(o.drop_sql())));
        script.body.extend(rebuilt);
        script.body.extend(saved.iter().map(|o| Step::exec(&o.sql)));
    }
    for index in indexes {
        up.body.push(Step::exec(create_index(D, index)));
        down.body.push(Step::exec(drop_index(D, index)));
    }
    if up.body.is_empty() {
        return Ok((Script::default(), Script::default()));
    }
    Ok((up, down))
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

/// How each FK clause of `text` changes, and the FKs to append, for `changes` of `table`.
/// Clauses and the catalog's FKs correspond by declaration order; a text that does not agree
/// with the catalog is refused rather than guessed at.
fn clause_edits<'a>(
    table: &Table,
    text: &TableText,
    changes: &[&'a FkChange],
) -> Result<(Vec<ClauseEdit>, Vec<&'a ForeignKey>), String> {
    let mut live: Vec<&ForeignKey> = table
        .foreign_keys
        .iter()
        .filter(|fk| fk.enforcement == Enforcement::Database)
        .collect();
    live.sort_by_key(|fk| fk.creation_rank);
    let agrees = live.len() == text.foreign_keys.len()
        && live.iter().zip(&text.foreign_keys).all(|(fk, clause)| {
            fk.parent_table.eq_ignore_ascii_case(&clause.parent)
                && fk.columns.len() == clause.columns.len()
                && fk
                    .columns
                    .iter()
                    .zip(&clause.columns)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
    if !agrees {
        return Err(format!(
            "its CREATE TABLE text does not declare the {} FK(s) the catalog lists, in order",
            live.len()
        ));
    }
    let mut edits = vec![ClauseEdit::Keep; live.len()];
    let mut added = Vec::new();
    for change in changes {
        let position = change
            .before
            .as_ref()
            .and_then(|before| live.iter().position(|fk| fk.same_reference(before)));
        match (position, &change.after) {
            (Some(i), Some(after)) => {
                edits[i] = ClauseEdit::Rules {
                    on_delete: after.on_delete,
                    on_update: after.on_update,
                }
            }
            (Some(i), None) => edits[i] = ClauseEdit::Drop,
            (None, Some(after)) => added.push(after),
            (None, None) => {}
        }
    }
    Ok((edits, added))
}

/// The rebuild of table `name` into `create` (its new definition, under the `cascade_new_`
/// name), inside the transaction.
fn rebuild(name: &str, create: String, table: &CapturedTable) -> Vec<Step> {
    let new_name = format!("{NEW_PREFIX}{name}");
    let mut columns: Vec<Alias> = table.rowid.iter().map(|r| Alias::new(*r)).collect();
    columns.extend(table.columns.iter().map(Alias::new));
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
    let mut steps = vec![Step::exec(create), Step::exec(copy_sql)];
    if table.text.autoincrement {
        // The copy gave the new table its own counter (the highest rowid copied); keep the old
        // one, which also remembers keys of rows deleted since. DROP TABLE removes the row of
        // the table it drops, RENAME renames the new table's row.
        let sequence = Alias::new("sqlite_sequence");
        steps.push(Step::exec(
            Query::delete()
                .from_table(sequence.clone())
                .and_where(Expr::col(Alias::new("name")).eq(new_name.as_str()))
                .to_string(SqliteQueryBuilder),
        ));
        steps.push(Step::exec(
            Query::update()
                .table(sequence)
                .value(Alias::new("name"), new_name.as_str())
                .and_where(Expr::col(Alias::new("name")).eq(name))
                .to_string(SqliteQueryBuilder),
        ));
    }
    steps.push(Step::exec(
        D.backend()
            .build(&TableBuilder::drop().table(Alias::new(name)).to_owned())
            .to_string(),
    ));
    steps.push(Step::exec(
        D.backend()
            .build(
                &TableBuilder::rename()
                    .table(Alias::new(&new_name), Alias::new(name))
                    .to_owned(),
            )
            .to_string(),
    ));
    steps.extend(table.indexes.iter().map(Step::exec));
    steps.push(Step::check(format!(
        "PRAGMA foreign_key_check({})",
        ident(D, name)
    )));
    steps
}
