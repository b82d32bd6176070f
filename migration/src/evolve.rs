//! Taking a schema from one rule graph to another: the DDL behind every frozen migration
//! ([`crate::GraphMigration`]) and behind `cascade migrate generate`'s change list.
//!
//! New tables are created as SeaORM would create them (with our FK names, actions and indexes);
//! dropped tables go children first; added and dropped columns use `ALTER TABLE`; changed FK
//! actions reuse the repair's per-dialect statements (PostgreSQL and MariaDB drop and re-add the
//! constraint). SQLite cannot alter a constraint or most columns, so a table whose FKs or columns
//! change there is rebuilt by the documented procedure (foreign keys off, new table, copy, swap,
//! indexes recreated, `foreign_key_check`). A change the generator cannot express faithfully
//! (a column's type, nullability or default changing) is refused with [`EvolveError`], never
//! written as a guess.

use std::collections::BTreeSet;

use cascade_entity::rules::{Dialect, Enforcement, RuleGraph, Table};
use sea_orm::sea_query::{Alias, Index as IndexBuilder, Query, Table as TableBuilder};
use serde::Serialize;
use thiserror::Error;

use crate::ddl::{self, DdlStep};
use crate::repair::{FkChange, RepairError, Script, Step, fk_changes};

/// A change between two graphs that no generated migration expresses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EvolveError {
    /// A column kept its name but changed its definition.
    #[error(
        "column `{table}`.`{column}` changes its {what}; generated migrations add and drop \
         columns but do not rewrite them: write this step by hand (a new column, a data copy, \
         then drop the old one)"
    )]
    ColumnChanged {
        /// The table, present in both graphs.
        table: String,
        /// The column, present in both graphs.
        column: String,
        /// What changed: `type`, `nullability`, `default` or `constraints` (UNIQUE or
        /// auto-increment); the first of these that differs.
        what: &'static str,
    },
    /// A table kept its name but changed its primary key.
    #[error("table `{0}` changes its primary key; write this step by hand")]
    PrimaryKeyChanged(String),
    /// A live FK without a name cannot be dropped by name.
    #[error("{0}")]
    Unnamed(String),
}

impl From<RepairError> for EvolveError {
    fn from(error: RepairError) -> EvolveError {
        EvolveError::Unnamed(error.to_string())
    }
}

/// One human-readable change, for the generated file's header and `migrate generate`'s report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change(pub String);

/// Every change from `before` to `after`, in words; empty when the graphs agree. Tables created,
/// tables dropped, then per surviving table its columns and indexes, then FK changes.
///
/// ```
/// use cascade_entity::rules::{Column, ColumnKind, Dialect, RuleGraph, Table};
/// use cascade_migration::evolve::{EvolveError, changes};
///
/// let table = |name: &str, columns: &[&str]| {
///     let mut table = Table::named(name);
///     for column in columns {
///         table.columns.push(Column::new(*column, ColumnKind::Integer, false, None));
///     }
///     table.primary_key.push("id".to_owned());
///     (name.to_owned(), table)
/// };
/// let before = RuleGraph { tables: [table("post", &["id"])].into() };
/// let after = RuleGraph {
///     tables: [table("post", &["id", "score"]), table("tag", &["id"])].into(),
/// };
///
/// let listed: Vec<String> = changes(&before, &after, Dialect::Postgres)?
///     .into_iter()
///     .map(|change| change.0)
///     .collect();
/// assert_eq!(listed, ["create table tag", "add column post.score"]);
///
/// // A column that keeps its name but changes its type is refused, not guessed at.
/// let mut retyped = after.clone();
/// if let Some(post) = retyped.tables.get_mut("post") {
///     post.columns[1].kind = ColumnKind::Text;
/// }
/// assert!(matches!(
///     changes(&after, &retyped, Dialect::Postgres),
///     Err(EvolveError::ColumnChanged { what: "type", .. })
/// ));
/// # Ok::<(), EvolveError>(())
/// ```
pub fn changes(
    before: &RuleGraph,
    after: &RuleGraph,
    dialect: Dialect,
) -> Result<Vec<Change>, EvolveError> {
    check_expressible(before, after)?;
    let mut out = Vec::new();
    for name in after.tables.keys().filter(|t| before.table(t).is_none()) {
        out.push(Change(format!("create table {name}")));
    }
    for name in before.tables.keys().filter(|t| after.table(t).is_none()) {
        out.push(Change(format!("drop table {name}")));
    }
    for (name, new) in &after.tables {
        let Some(old) = before.table(name) else {
            continue;
        };
        for column in added_columns(old, new) {
            out.push(Change(format!("add column {name}.{column}")));
        }
        for column in added_columns(new, old) {
            out.push(Change(format!("drop column {name}.{column}")));
        }
        for index in added_indexes(old, new) {
            out.push(Change(format!("create index {index} on {name}")));
        }
        for index in added_indexes(new, old) {
            out.push(Change(format!("drop index {index} on {name}")));
        }
    }
    let (fks, _) = fk_changes(after, before, dialect);
    out.extend(fks.iter().map(|c| Change(c.describe())));
    Ok(out)
}

/// The script that takes a database holding `before` to `after` on `dialect`.
pub fn script(
    before: &RuleGraph,
    after: &RuleGraph,
    dialect: Dialect,
) -> Result<Script, EvolveError> {
    check_expressible(before, after)?;
    let backend = dialect.backend();
    let sql = |step: &DdlStep| Step::exec(step.to_sql(backend));
    let mut script = Script {
        transactional: dialect != Dialect::MySql,
        ..Script::default()
    };
    if dialect == Dialect::Sqlite {
        // Rebuilds and drops must not fire ON DELETE actions or check half-built states.
        script.before.push(Step::exec("PRAGMA foreign_keys = OFF"));
        script.after.push(Step::exec("PRAGMA foreign_keys = ON"));
    }
    let body = &mut script.body;

    // New tables (and PostgreSQL enum types), as `create_schema` writes them, FKs to tables
    // that already exist included.
    let created: RuleGraph = RuleGraph {
        tables: after
            .tables
            .iter()
            .filter(|(name, _)| before.table(name).is_none())
            .map(|(name, table)| (name.clone(), table.clone()))
            .collect(),
    };
    let new_types: BTreeSet<String> = enum_names(after)
        .difference(&enum_names(before))
        .cloned()
        .collect();
    for step in ddl::create_schema_within(&created, after, dialect) {
        match &step {
            DdlStep::CreateType(_) if !new_types.iter().any(|t| step_names_type(&step, t)) => {}
            _ => body.push(sql(&step)),
        }
    }

    // Tables on both sides: columns, FKs, indexes.
    let (fk_list, _) = fk_changes(after, before, dialect);
    let mut rebuilt = BTreeSet::new();
    for (name, new) in &after.tables {
        let Some(old) = before.table(name) else {
            continue;
        };
        let added = added_columns(old, new);
        let dropped = added_columns(new, old);
        let fk_changed = fk_list.iter().any(|c| &c.table == name);
        if dialect == Dialect::Sqlite {
            if fk_changed || !added.is_empty() || !dropped.is_empty() {
                body.extend(sqlite_rebuild(old, new));
                rebuilt.insert(name.clone());
            }
            continue;
        }
        let alter = |f: &dyn Fn(&mut sea_orm::sea_query::TableAlterStatement)| {
            let mut statement = TableBuilder::alter();
            statement.table(Alias::new(name));
            f(&mut statement);
            Step::exec(backend.build(&statement).to_string())
        };
        for column in &added {
            if let Some(column) = new.column(column) {
                let mut holder = Table::named(name.clone());
                holder.columns.push(column.clone());
                let def = ddl::column_def(&holder, column, dialect);
                body.push(alter(&|s| {
                    s.add_column(def.clone());
                }));
            }
        }
        let _ = dropped;
    }
    // FK changes on surviving tables (PostgreSQL, MariaDB): drop/add by the repair's statements.
    if dialect != Dialect::Sqlite {
        let surviving: Vec<FkChange> = fk_list
            .into_iter()
            .filter(|c| before.table(&c.table).is_some())
            .collect();
        let fk_script = crate::repair::fk_script(dialect, &surviving)?;
        body.extend(fk_script.body);
        script.after_commit.extend(fk_script.after_commit);
    }
    let body = &mut script.body;
    for (name, new) in &after.tables {
        let Some(old) = before.table(name) else {
            continue;
        };
        if rebuilt.contains(name) {
            continue;
        }
        for index in new.indexes.iter().filter(|i| !has_index(old, i)) {
            body.push(sql(&DdlStep::CreateIndex(ddl::index(new, index, dialect))));
        }
        for index in old.indexes.iter().filter(|i| !has_index(new, i)) {
            if let Some(index_name) = &index.name {
                let mut drop = IndexBuilder::drop();
                drop.name(dialect.builder_name(index_name))
                    .table(Alias::new(name));
                body.push(Step::exec(backend.build(&drop).to_string()));
            }
        }
        if dialect != Dialect::Sqlite {
            for column in added_columns(new, old) {
                let mut statement = TableBuilder::alter();
                statement
                    .table(Alias::new(name))
                    .drop_column(Alias::new(column));
                body.push(Step::exec(backend.build(&statement).to_string()));
            }
        }
    }

    // Dropped tables, children first; FKs closing a cycle among them go first.
    let dropped: RuleGraph = RuleGraph {
        tables: before
            .tables
            .iter()
            .filter(|(name, _)| after.table(name).is_none())
            .map(|(name, table)| (name.clone(), table.clone()))
            .collect(),
    };
    let gone_types: BTreeSet<String> = enum_names(before)
        .difference(&enum_names(after))
        .cloned()
        .collect();
    for step in ddl::drop_schema(&dropped, dialect) {
        match &step {
            DdlStep::DropType(_) if !gone_types.iter().any(|t| step_names_type(&step, t)) => {}
            _ => body.push(sql(&step)),
        }
    }
    if dialect == Dialect::Sqlite && !body.is_empty() {
        body.push(Step::check("PRAGMA foreign_key_check"));
    }
    Ok(script)
}

/// The documented SQLite rebuild of `old` into `new`'s definition: create the new table under a
/// temporary name, copy the columns both have, drop the old table, rename, recreate indexes.
fn sqlite_rebuild(old: &Table, new: &Table) -> Vec<Step> {
    let dialect = Dialect::Sqlite;
    let backend = dialect.backend();
    let temporary = format!("cascade_new_{}", new.name);
    let mut definition = new.clone();
    definition.name = temporary.clone();
    let mut create = ddl::create_table(&definition, dialect);
    for fk in new
        .foreign_keys
        .iter()
        .filter(|fk| fk.enforcement == Enforcement::Database)
    {
        create.foreign_key(&mut ddl::foreign_key(&definition, fk, dialect));
    }
    let common: Vec<Alias> = new
        .columns
        .iter()
        .filter(|c| old.column(&c.name).is_some())
        .map(|c| Alias::new(&c.name))
        .collect();
    let mut steps = vec![Step::exec(backend.build(&create).to_string())];
    if !common.is_empty() {
        let select = Query::select()
            .columns(common.clone())
            .from(Alias::new(&old.name))
            .to_owned();
        let mut copy = Query::insert();
        copy.into_table(Alias::new(&temporary)).columns(common);
        if let Ok(copy) = copy.select_from(select) {
            steps.push(Step::exec(backend.build(&*copy).to_string()));
        }
    }
    steps.push(Step::exec(
        backend
            .build(&TableBuilder::drop().table(Alias::new(&old.name)).to_owned())
            .to_string(),
    ));
    steps.push(Step::exec(
        backend
            .build(
                &TableBuilder::rename()
                    .table(Alias::new(&temporary), Alias::new(&new.name))
                    .to_owned(),
            )
            .to_string(),
    ));
    for index in &new.indexes {
        steps.push(Step::exec(
            DdlStep::CreateIndex(ddl::index(new, index, dialect)).to_sql(backend),
        ));
    }
    steps
}

/// Refuses changes a generated migration cannot express faithfully.
fn check_expressible(before: &RuleGraph, after: &RuleGraph) -> Result<(), EvolveError> {
    for (name, new) in &after.tables {
        let Some(old) = before.table(name) else {
            continue;
        };
        if old.primary_key != new.primary_key {
            return Err(EvolveError::PrimaryKeyChanged(name.clone()));
        }
        for column in &new.columns {
            let Some(was) = old.column(&column.name) else {
                continue;
            };
            let what = if was.kind != column.kind {
                Some("type")
            } else if was.nullable != column.nullable {
                Some("nullability")
            } else if was.default != column.default {
                Some("default")
            } else if was.unique != column.unique || was.auto_increment != column.auto_increment {
                Some("constraints")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(EvolveError::ColumnChanged {
                    table: name.clone(),
                    column: column.name.clone(),
                    what,
                });
            }
        }
    }
    Ok(())
}

fn added_columns<'a>(old: &Table, new: &'a Table) -> Vec<&'a str> {
    new.columns
        .iter()
        .filter(|c| old.column(&c.name).is_none())
        .map(|c| c.name.as_str())
        .collect()
}

fn added_indexes<'a>(old: &Table, new: &'a Table) -> Vec<&'a str> {
    new.indexes
        .iter()
        .filter(|i| !has_index(old, i))
        .filter_map(|i| i.name.as_deref())
        .collect()
}

fn has_index(table: &Table, index: &cascade_entity::rules::Index) -> bool {
    table.indexes.iter().any(|i| i == index)
}

fn enum_names(graph: &RuleGraph) -> BTreeSet<String> {
    graph
        .tables
        .values()
        .flat_map(|t| &t.columns)
        .filter_map(|c| match &c.kind {
            cascade_entity::rules::ColumnKind::Enum { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn step_names_type(step: &DdlStep, name: &str) -> bool {
    step.to_sql(Dialect::Postgres.backend())
        .contains(&Dialect::Postgres.quote(name))
}
