//! PostgreSQL catalog: `pg_class`, `pg_attribute`, `pg_constraint` and `pg_index` of the current
//! schema.
//!
//! Referential actions fire in trigger-name order, which is constraint creation order, so the
//! creation rank follows the constraint OID. `confdelsetcols` (PostgreSQL 15) carries
//! `ON DELETE SET NULL (cols)`; deferrability is kept because NO ACTION may be checked at COMMIT.

use std::collections::BTreeMap;

use cascade_entity::rules::{
    Check, Column, ColumnDefault, Deferrable, Enforcement, ForeignKey, Index, Table,
};
use sea_orm::ConnectionTrait;

use super::{IntrospectError, action, column_kind, get, name_list, rank_by, rows};

const TABLES: &str = "
SELECT c.relname::text AS table_name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
ORDER BY 1";

const COLUMNS: &str = "
SELECT c.relname::text AS table_name, a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type_name, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_sql,
       (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%')
           AS auto_increment
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum";

const CHECKS: &str = "
SELECT c.relname::text AS table_name, con.conname::text AS name,
       pg_get_constraintdef(con.oid) AS definition
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND con.contype = 'c'
ORDER BY c.relname, con.conname";

/// Column lists come back as JSON arrays, in key order.
const CONSTRAINTS: &str = "
SELECT con.oid::int8 AS oid, con.conname::text AS name, con.contype::text AS kind,
       cl.relname::text AS table_name, pcl.relname::text AS parent_table,
       to_json(ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
               ORDER BY k.ord))::text AS columns,
       to_json(ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
               ORDER BY k.ord))::text AS parent_columns,
       to_json(ARRAY(SELECT a.attname::text FROM unnest(con.confdelsetcols) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
               ORDER BY k.ord))::text AS set_null_columns,
       con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
       con.condeferrable AS is_deferrable, con.condeferred AS is_deferred
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
LEFT JOIN pg_class pcl ON pcl.oid = con.confrelid
WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'f')
ORDER BY cl.relname, con.oid";

/// Plain-column, non-partial indexes that are not the primary key.
const INDEXES: &str = "
SELECT t.relname::text AS table_name, i.relname::text AS index_name, ix.indisunique AS is_unique,
       to_json(ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.num
               ORDER BY k.ord))::text AS columns
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND NOT ix.indisprimary AND ix.indpred IS NULL
  AND ix.indexprs IS NULL
ORDER BY t.relname, i.relname";

pub(super) async fn tables(db: &impl ConnectionTrait) -> Result<Vec<Table>, IntrospectError> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in rows(db, TABLES, vec![]).await? {
        let name: String = get(&row, "table_name")?;
        tables.insert(name.clone(), Table::named(name));
    }
    for row in rows(db, COLUMNS, vec![]).await? {
        let Some(table) = tables.get_mut(&get::<String>(&row, "table_name")?) else {
            continue;
        };
        let auto_increment: bool = get(&row, "auto_increment")?;
        let mut column = Column::new(
            get::<String>(&row, "column_name")?,
            column_kind(&get::<String>(&row, "type_name")?),
            !get::<bool>(&row, "not_null")?,
            // A sequence default is how PostgreSQL spells auto-increment, not a default.
            get::<Option<String>>(&row, "default_sql")?
                .filter(|_| !auto_increment)
                .map(ColumnDefault::Sql),
        );
        column.auto_increment = auto_increment;
        table.columns.push(column);
    }
    for row in rows(db, CHECKS, vec![]).await? {
        if let Some(table) = tables.get_mut(&get::<String>(&row, "table_name")?) {
            let definition: String = get(&row, "definition")?;
            table.checks.push(Check {
                name: Some(get(&row, "name")?),
                expression: check_expression(&definition),
            });
        }
    }
    let mut fk_oids: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in rows(db, CONSTRAINTS, vec![]).await? {
        let table_name: String = get(&row, "table_name")?;
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        let columns = name_list(&get::<String>(&row, "columns")?)?;
        match get::<String>(&row, "kind")?.as_str() {
            "p" => table.primary_key = columns,
            "u" => table.unique_keys.push(columns),
            _ => {
                let set_null = name_list(&get::<String>(&row, "set_null_columns")?)?;
                table.foreign_keys.push(ForeignKey {
                    name: Some(get(&row, "name")?),
                    columns,
                    parent_table: get(&row, "parent_table")?,
                    parent_columns: name_list(&get::<String>(&row, "parent_columns")?)?,
                    on_delete: action_code(&get::<String>(&row, "on_delete")?)?,
                    on_update: action_code(&get::<String>(&row, "on_update")?)?,
                    on_delete_explicit: true,
                    enforcement: Enforcement::Database,
                    deferrable: match (
                        get::<bool>(&row, "is_deferrable")?,
                        get::<bool>(&row, "is_deferred")?,
                    ) {
                        (false, _) => Deferrable::No,
                        (true, false) => Deferrable::InitiallyImmediate,
                        (true, true) => Deferrable::InitiallyDeferred,
                    },
                    set_null_columns: (!set_null.is_empty()).then_some(set_null),
                    creation_rank: None,
                });
                fk_oids
                    .entry(table_name)
                    .or_default()
                    .push(get::<i64>(&row, "oid")?);
            }
        }
    }
    for (name, oids) in fk_oids {
        if let Some(table) = tables.get_mut(&name) {
            rank_by(table, |i| oids[i]);
        }
    }
    for row in rows(db, INDEXES, vec![]).await? {
        let Some(table) = tables.get_mut(&get::<String>(&row, "table_name")?) else {
            continue;
        };
        let columns = name_list(&get::<String>(&row, "columns")?)?;
        let unique: bool = get(&row, "is_unique")?;
        if unique {
            // Unique constraints are backed by an index of the same columns: count them once.
            if !table.unique_keys.contains(&columns) {
                table.unique_keys.push(columns);
            }
        } else {
            table.indexes.push(Index {
                name: Some(get(&row, "index_name")?),
                columns,
                unique,
            });
        }
    }
    Ok(tables.into_values().collect())
}

/// `pg_constraint.confdeltype` / `confupdtype` codes.
fn action_code(code: &str) -> Result<cascade_entity::rules::FkAction, IntrospectError> {
    action(match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => other,
    })
}

/// `CHECK ((a IS NOT NULL))` (`pg_get_constraintdef`, maybe with ` NOT VALID`) ->
/// `((a IS NOT NULL))`.
fn check_expression(definition: &str) -> String {
    let text = definition.trim();
    let text = text.strip_suffix(" NOT VALID").unwrap_or(text);
    let text = text.strip_prefix("CHECK ").unwrap_or(text).trim();
    text.strip_suffix(" NO INHERIT").unwrap_or(text).to_owned()
}
