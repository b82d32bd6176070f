//! SQL pieces every dialect's repair shares, always through sea-query: identifier quoting with
//! the backend's own rules, `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`, and FK index
//! create/drop. Nothing here pastes an unquoted name.

use cascade_entity::rules::{Deferrable, Dialect, ForeignKey, Table};
use sea_orm::sea_query::{Alias, Index as IndexBuilder};

use super::IndexChange;
use crate::ddl;

/// `name` quoted as `dialect` quotes identifiers: [`Dialect::quote`], the one quoting path.
pub(crate) fn ident(dialect: Dialect, name: &str) -> String {
    dialect.quote(name)
}

/// `ALTER TABLE child ADD CONSTRAINT name FOREIGN KEY (...) REFERENCES parent (...) ON DELETE ..
/// ON UPDATE ..`, plus PostgreSQL's deferrability.
/// The constraint names to drop before (re)adding an FK: the old one and the new one, once
/// each (dropping by the new name too makes a second application a no-op in effect).
pub(crate) fn constraint_names<'a>(
    table: &str,
    from: Option<&'a ForeignKey>,
    to: Option<&'a ForeignKey>,
) -> Result<Vec<&'a str>, super::RepairError> {
    let mut names: Vec<&str> = Vec::new();
    for fk in from.iter().chain(to.iter()) {
        let name = fk
            .name
            .as_deref()
            .ok_or_else(|| super::RepairError::Unnamed(fk.describe(table)))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

pub(crate) fn add_foreign_key(dialect: Dialect, table: &str, fk: &ForeignKey) -> String {
    let holder = Table::named(table.to_owned());
    let mut sql = dialect
        .backend()
        .build(&ddl::foreign_key(&holder, fk, dialect))
        .to_string();
    if dialect == Dialect::Postgres {
        match fk.deferrable {
            Deferrable::No => {}
            Deferrable::InitiallyImmediate => sql.push_str(" DEFERRABLE INITIALLY IMMEDIATE"),
            Deferrable::InitiallyDeferred => sql.push_str(" DEFERRABLE INITIALLY DEFERRED"),
        }
    }
    sql
}

pub(crate) fn create_index(dialect: Dialect, index: &IndexChange) -> String {
    let mut builder = IndexBuilder::create();
    builder
        .name(dialect.builder_name(&index.name))
        .table(Alias::new(&index.table))
        .if_not_exists();
    for column in &index.columns {
        builder.col(Alias::new(column));
    }
    dialect.backend().build(&builder).to_string()
}

pub(crate) fn drop_index(dialect: Dialect, index: &IndexChange) -> String {
    let mut builder = IndexBuilder::drop();
    builder
        .name(dialect.builder_name(&index.name))
        .table(Alias::new(&index.table))
        .if_exists();
    dialect.backend().build(&builder).to_string()
}
