//! SQLite catalog: `sqlite_schema` and the table-valued pragmas.
//!
//! SQLite keeps no FK constraint names in its pragmas, and `pragma_foreign_key_list` numbers FKs
//! newest first (id 0 is the last declared); the creation rank reverses that, so rank 0 is the
//! first declared. An FK whose parent columns are omitted references the parent's primary key.

use cascade_entity::rules::{
    Check, Column, ColumnDefault, Deferrable, Enforcement, ForeignKey, Index, Table,
};
use sea_orm::ConnectionTrait;
use sqlparser::ast::{ColumnOption, Statement, TableConstraint};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::{IntrospectError, action, column_kind, get, rows};

pub(super) async fn tables(db: &impl ConnectionTrait) -> Result<Vec<Table>, IntrospectError> {
    let names = rows(
        db,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
        vec![],
    )
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for row in names {
        let name: String = get(&row, "name")?;
        tables.push(table(db, name).await?);
    }
    resolve_implicit_parent_columns(&mut tables);
    Ok(tables)
}

/// The CHECK constraints of a table, read from its `CREATE TABLE` text (the catalog has no
/// other record of them); a text sqlparser cannot read yields none.
async fn checks(db: &impl ConnectionTrait, name: &str) -> Result<Vec<Check>, IntrospectError> {
    let Some(row) = rows(
        db,
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?",
        vec![name.to_owned().into()],
    )
    .await?
    .into_iter()
    .next() else {
        return Ok(Vec::new());
    };
    let sql: Option<String> = get(&row, "sql")?;
    let Some(Statement::CreateTable(create)) = sql
        .and_then(|sql| Parser::parse_sql(&SQLiteDialect {}, &sql).ok())
        .and_then(|statements| statements.into_iter().next())
    else {
        return Ok(Vec::new());
    };
    let mut checks = Vec::new();
    for column in &create.columns {
        for option in &column.options {
            if let ColumnOption::Check(check) = &option.option {
                checks.push(Check {
                    name: option.name.as_ref().map(|n| n.value.clone()),
                    expression: check.expr.to_string(),
                });
            }
        }
    }
    for constraint in &create.constraints {
        if let TableConstraint::Check(check) = constraint {
            checks.push(Check {
                name: check.name.as_ref().map(|n| n.value.clone()),
                expression: check.expr.to_string(),
            });
        }
    }
    Ok(checks)
}

async fn table(db: &impl ConnectionTrait, name: String) -> Result<Table, IntrospectError> {
    let checks = checks(db, &name).await?;
    let mut columns = Vec::new();
    let mut primary_key: Vec<(i64, String)> = Vec::new();
    for row in rows(
        db,
        "SELECT name, type, \"notnull\" AS not_null, dflt_value, pk FROM pragma_table_info(?) \
         ORDER BY cid",
        vec![name.clone().into()],
    )
    .await?
    {
        let column: String = get(&row, "name")?;
        let pk: i64 = get(&row, "pk")?;
        if pk > 0 {
            primary_key.push((pk, column.clone()));
        }
        let not_null: i64 = get(&row, "not_null")?;
        let default: Option<String> = get(&row, "dflt_value")?;
        let declared_type: String = get(&row, "type")?;
        // SQLite lets a non-INTEGER primary key hold NULL unless declared NOT NULL; report
        // what is declared.
        let mut column = Column::new(
            column,
            column_kind(&declared_type),
            not_null == 0,
            default
                .filter(|d| !d.eq_ignore_ascii_case("null"))
                .map(ColumnDefault::Sql),
        );
        // `INTEGER PRIMARY KEY` (exactly that spelling) is the rowid: the engine assigns it.
        column.auto_increment = pk > 0 && declared_type.eq_ignore_ascii_case("integer");
        columns.push(column);
    }
    primary_key.sort();
    if primary_key.len() > 1 {
        columns.iter_mut().for_each(|c| c.auto_increment = false);
    }
    // A WITHOUT ROWID table's key columns, and the rowid alias, never hold NULL whatever was
    // declared; a rowid table's other key columns do accept it.
    let without_rowid = rows(
        db,
        "SELECT wr FROM pragma_table_list WHERE name = ? AND schema = 'main'",
        vec![name.clone().into()],
    )
    .await?
    .first()
    .map(|row| get::<i64>(row, "wr"))
    .transpose()?
    .unwrap_or(0)
        != 0;
    for column in &mut columns {
        let in_key = primary_key.iter().any(|(_, k)| *k == column.name);
        if in_key && (without_rowid || column.auto_increment) {
            column.nullable = false;
        }
    }

    let mut unique_keys = Vec::new();
    let mut indexes = Vec::new();
    for row in rows(
        db,
        "SELECT name, \"unique\" AS is_unique, origin, partial FROM pragma_index_list(?) \
         ORDER BY name",
        vec![name.clone().into()],
    )
    .await?
    {
        let index_name: String = get(&row, "name")?;
        let origin: String = get(&row, "origin")?;
        let unique = get::<i64>(&row, "is_unique")? != 0;
        if origin == "pk" || get::<i64>(&row, "partial")? != 0 {
            continue;
        }
        let index_columns = index_columns(db, &index_name).await?;
        if unique {
            unique_keys.push(index_columns);
        } else {
            indexes.push(Index {
                name: Some(index_name),
                columns: index_columns,
                unique,
            });
        }
    }

    Ok(Table {
        foreign_keys: foreign_keys(db, &name).await?,
        name,
        columns,
        primary_key: primary_key.into_iter().map(|(_, c)| c).collect(),
        unique_keys,
        indexes,
        checks,
    })
}

async fn index_columns(
    db: &impl ConnectionTrait,
    index: &str,
) -> Result<Vec<String>, IntrospectError> {
    let mut columns = Vec::new();
    for row in rows(
        db,
        "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
        vec![index.into()],
    )
    .await?
    {
        // Expression index columns have no name; such an index supports no FK.
        match get::<Option<String>>(&row, "name")? {
            Some(column) => columns.push(column),
            None => return Ok(Vec::new()),
        }
    }
    Ok(columns)
}

async fn foreign_keys(
    db: &impl ConnectionTrait,
    table: &str,
) -> Result<Vec<ForeignKey>, IntrospectError> {
    let mut by_id: Vec<(i64, ForeignKey)> = Vec::new();
    for row in rows(
        db,
        "SELECT id, \"table\" AS parent, \"from\" AS child_column, \"to\" AS parent_column, \
         on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        vec![table.into()],
    )
    .await?
    {
        let id: i64 = get(&row, "id")?;
        let child_column: String = get(&row, "child_column")?;
        let parent_column: Option<String> = get(&row, "parent_column")?;
        if by_id.last().is_none_or(|(last, _)| *last != id) {
            by_id.push((
                id,
                ForeignKey {
                    name: None,
                    columns: Vec::new(),
                    parent_table: get(&row, "parent")?,
                    parent_columns: Vec::new(),
                    on_delete: action(&get::<String>(&row, "on_delete")?)?,
                    on_update: action(&get::<String>(&row, "on_update")?)?,
                    on_delete_explicit: true,
                    enforcement: Enforcement::Database,
                    deferrable: Deferrable::No,
                    set_null_columns: None,
                    creation_rank: None,
                },
            ));
        }
        if let Some((_, fk)) = by_id.last_mut() {
            fk.columns.push(child_column);
            fk.parent_columns.extend(parent_column);
        }
    }
    // Newest first in the pragma; the declaration order is the reverse.
    by_id.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    Ok((0u32..)
        .zip(by_id)
        .map(|(rank, (_, mut fk))| {
            fk.creation_rank = Some(rank);
            fk
        })
        .collect())
}

/// `REFERENCES parent` without columns means the parent's primary key.
fn resolve_implicit_parent_columns(tables: &mut [Table]) {
    let primary_keys: Vec<(String, Vec<String>)> = tables
        .iter()
        .map(|t| (t.name.clone(), t.primary_key.clone()))
        .collect();
    for fk in tables.iter_mut().flat_map(|t| t.foreign_keys.iter_mut()) {
        if fk.parent_columns.is_empty()
            && let Some((_, pk)) = primary_keys.iter().find(|(n, _)| *n == fk.parent_table)
        {
            fk.parent_columns = pk.clone();
        }
    }
}
