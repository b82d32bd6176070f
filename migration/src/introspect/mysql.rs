//! MariaDB / MySQL catalog: `information_schema` of the current database.
//!
//! InnoDB fires FKs in constraint-name order and records no creation order, so no creation rank
//! is reported. An unstated action reads back as RESTRICT and SET DEFAULT is stored as RESTRICT;
//! the comparison normalises both (see `Dialect::effective_action`). MariaDB's `JSON` is a
//! `LONGTEXT` with a `json_valid` check, recognised here as JSON. A nullable column without a
//! default reports the string `NULL` as its default, which is read as "no default".

use std::collections::BTreeMap;

use cascade_entity::rules::{
    Check, Column, ColumnDefault, ColumnKind, Deferrable, Enforcement, ForeignKey, Index, Table,
};
use sea_orm::ConnectionTrait;

use super::{IntrospectError, action, column_kind, get, rows};

const TABLES: &str = "
SELECT CAST(TABLE_NAME AS CHAR) AS table_name FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
ORDER BY TABLE_NAME";

const COLUMNS: &str = "
SELECT CAST(TABLE_NAME AS CHAR) AS table_name, CAST(COLUMN_NAME AS CHAR) AS column_name,
       CAST(COLUMN_TYPE AS CHAR) AS column_type, CAST(IS_NULLABLE AS CHAR) AS is_nullable,
       CAST(COLUMN_DEFAULT AS CHAR) AS column_default, CAST(EXTRA AS CHAR) AS extra
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION";

const JSON_CHECKS: &str = "
SELECT CAST(TABLE_NAME AS CHAR) AS table_name, CAST(CHECK_CLAUSE AS CHAR) AS check_clause
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE LIKE 'json_valid(%'";

const CHECKS: &str = "
SELECT CAST(TABLE_NAME AS CHAR) AS table_name, CAST(CONSTRAINT_NAME AS CHAR) AS name,
       CAST(CHECK_CLAUSE AS CHAR) AS check_clause
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE NOT LIKE 'json_valid(%'
ORDER BY TABLE_NAME, CONSTRAINT_NAME";

const FOREIGN_KEYS: &str = "
SELECT CAST(rc.TABLE_NAME AS CHAR) AS table_name, CAST(rc.CONSTRAINT_NAME AS CHAR) AS name,
       CAST(rc.REFERENCED_TABLE_NAME AS CHAR) AS parent_table,
       CAST(rc.DELETE_RULE AS CHAR) AS on_delete, CAST(rc.UPDATE_RULE AS CHAR) AS on_update,
       CAST(k.COLUMN_NAME AS CHAR) AS column_name,
       CAST(k.REFERENCED_COLUMN_NAME AS CHAR) AS parent_column
FROM information_schema.REFERENTIAL_CONSTRAINTS rc
JOIN information_schema.KEY_COLUMN_USAGE k
  ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME
 AND k.TABLE_NAME = rc.TABLE_NAME
WHERE rc.CONSTRAINT_SCHEMA = DATABASE()
ORDER BY rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION";

const INDEXES: &str = "
SELECT CAST(TABLE_NAME AS CHAR) AS table_name, CAST(INDEX_NAME AS CHAR) AS index_name,
       CAST(NON_UNIQUE AS SIGNED) AS non_unique, CAST(COLUMN_NAME AS CHAR) AS column_name,
       CAST(SUB_PART AS SIGNED) AS sub_part
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

pub(super) async fn tables(db: &impl ConnectionTrait) -> Result<Vec<Table>, IntrospectError> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in rows(db, TABLES, vec![]).await? {
        let name: String = get(&row, "table_name")?;
        tables.insert(name.clone(), Table::named(name));
    }
    let mut json_columns: Vec<(String, String)> = Vec::new();
    for row in rows(db, JSON_CHECKS, vec![]).await? {
        let clause: String = get(&row, "check_clause")?;
        let column = clause
            .trim_start_matches("json_valid(")
            .trim_end_matches(')')
            .trim_matches('`')
            .to_owned();
        json_columns.push((get(&row, "table_name")?, column));
    }
    for row in rows(db, COLUMNS, vec![]).await? {
        let table_name: String = get(&row, "table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let name: String = get(&row, "column_name")?;
        let is_json = json_columns
            .iter()
            .any(|(t, c)| *t == table_name && *c == name);
        let default: Option<String> = get(&row, "column_default")?;
        let kind = if is_json {
            ColumnKind::Json
        } else {
            column_kind(&get::<String>(&row, "column_type")?)
        };
        let mut column = Column::new(
            name,
            kind,
            get::<String>(&row, "is_nullable")? == "YES",
            default
                .filter(|d| !d.eq_ignore_ascii_case("null"))
                .map(ColumnDefault::Sql),
        );
        column.auto_increment = get::<String>(&row, "extra")?
            .to_ascii_lowercase()
            .contains("auto_increment");
        table.columns.push(column);
    }
    for row in rows(db, CHECKS, vec![]).await? {
        if let Some(table) = tables.get_mut(&get::<String>(&row, "table_name")?) {
            table.checks.push(Check {
                name: Some(get(&row, "name")?),
                expression: get(&row, "check_clause")?,
            });
        }
    }
    read_foreign_keys(db, &mut tables).await?;
    read_indexes(db, &mut tables).await?;
    Ok(tables.into_values().collect())
}

async fn read_foreign_keys(
    db: &impl ConnectionTrait,
    tables: &mut BTreeMap<String, Table>,
) -> Result<(), IntrospectError> {
    for row in rows(db, FOREIGN_KEYS, vec![]).await? {
        let Some(table) = tables.get_mut(&get::<String>(&row, "table_name")?) else {
            continue;
        };
        let name: String = get(&row, "name")?;
        if table.foreign_keys.last().and_then(|fk| fk.name.as_ref()) != Some(&name) {
            table.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns: Vec::new(),
                parent_table: get(&row, "parent_table")?,
                parent_columns: Vec::new(),
                on_delete: action(&get::<String>(&row, "on_delete")?)?,
                on_update: action(&get::<String>(&row, "on_update")?)?,
                on_delete_explicit: true,
                enforcement: Enforcement::Database,
                deferrable: Deferrable::No,
                set_null_columns: None,
                creation_rank: None,
            });
        }
        if let Some(fk) = table.foreign_keys.last_mut() {
            fk.columns.push(get(&row, "column_name")?);
            fk.parent_columns.push(get(&row, "parent_column")?);
        }
    }
    Ok(())
}

async fn read_indexes(
    db: &impl ConnectionTrait,
    tables: &mut BTreeMap<String, Table>,
) -> Result<(), IntrospectError> {
    // (table, index) -> (unique, columns, usable for lookups on whole values)
    let mut found: BTreeMap<(String, String), (bool, Vec<String>, bool)> = BTreeMap::new();
    for row in rows(db, INDEXES, vec![]).await? {
        let key = (get(&row, "table_name")?, get(&row, "index_name")?);
        let entry =
            found
                .entry(key)
                .or_insert((get::<i64>(&row, "non_unique")? == 0, Vec::new(), true));
        entry.1.push(get(&row, "column_name")?);
        // A prefix index (SUB_PART) cannot enforce uniqueness of whole values.
        entry.2 &= get::<Option<i64>>(&row, "sub_part")?.is_none();
    }
    for ((table_name, index_name), (unique, columns, whole)) in found {
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        if index_name == "PRIMARY" {
            table.primary_key = columns;
        } else if unique && whole {
            table.unique_keys.push(columns);
        } else {
            table.indexes.push(Index {
                name: Some(index_name),
                columns,
                unique: false,
            });
        }
    }
    Ok(())
}
