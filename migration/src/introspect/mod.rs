//! Reading a live database's catalog back into a RuleGraph, one module per dialect.
//!
//! Each dialect reports what later work needs: actions as stored, constraint names where the
//! engine keeps them, column order, and the engine's FK ordering facts. Spellings are normalised
//! here (action names, type names, "no default") so a declaration and a catalog compare equal
//! when they mean the same thing.

mod mysql;
mod postgres;
mod sqlite;

use entity::rules::{ColumnKind, Dialect, FkAction, RuleGraph, Table};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, TryGetable, Value};
use thiserror::Error;

/// Tables that belong to tooling, not to the schema (SeaORM's migration ledger).
pub const BOOKKEEPING_TABLES: &[&str] = &["seaql_migrations"];

#[derive(Debug, Error)]
pub enum IntrospectError {
    #[error("reading the catalog failed: {0}")]
    Db(#[from] DbErr),
    #[error("unexpected catalog content: {0}")]
    Catalog(String),
}

/// The RuleGraph of the database `db` is connected to (its current schema on PostgreSQL,
/// its current database on MariaDB).
pub async fn introspect(db: &impl ConnectionTrait) -> Result<RuleGraph, IntrospectError> {
    let tables = match Dialect::from(db.get_database_backend()) {
        Dialect::Sqlite => sqlite::tables(db).await?,
        Dialect::Postgres => postgres::tables(db).await?,
        Dialect::MySql => mysql::tables(db).await?,
    };
    Ok(RuleGraph {
        tables: tables
            .into_iter()
            .filter(|t| !BOOKKEEPING_TABLES.contains(&t.name.as_str()))
            .map(|t| (t.name.clone(), t))
            .collect(),
    })
}

pub(crate) async fn rows(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    let backend = db.get_database_backend();
    db.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
}

/// Reads column `name` of a catalog row.
pub(crate) fn get<T: TryGetable>(row: &QueryResult, name: &str) -> Result<T, IntrospectError> {
    row.try_get::<T>("", name)
        .map_err(|e| IntrospectError::Catalog(format!("column `{name}`: {e}")))
}

pub(crate) fn action(spelling: &str) -> Result<FkAction, IntrospectError> {
    FkAction::parse(spelling)
        .ok_or_else(|| IntrospectError::Catalog(format!("unknown referential action `{spelling}`")))
}

/// A JSON array of names, as the PostgreSQL queries return them.
pub(crate) fn name_list(json: &str) -> Result<Vec<String>, IntrospectError> {
    serde_json::from_str(json)
        .map_err(|e| IntrospectError::Catalog(format!("bad name list `{json}`: {e}")))
}

/// Classifies a catalog type spelling (`varchar(64)`, `character varying(64)`, `tinyint(1)`,
/// `json_text`, ...) into the portable kind the RuleGraph keeps.
pub(crate) fn column_kind(spelling: &str) -> ColumnKind {
    let lower = spelling.trim().to_ascii_lowercase();
    let (base, arg) = match lower.split_once('(') {
        Some((base, rest)) => (
            base.trim().to_owned(),
            rest.trim_end_matches(')').trim().parse::<u32>().ok(),
        ),
        None => (lower.clone(), None),
    };
    match base.as_str() {
        "varchar" | "character varying" | "char" | "character" | "nvarchar" => {
            ColumnKind::String(arg)
        }
        "text" | "mediumtext" | "longtext" | "tinytext" => ColumnKind::Text,
        "tinyint" if arg == Some(1) => ColumnKind::Boolean,
        "boolean" | "bool" => ColumnKind::Boolean,
        "integer" | "int" | "int4" | "smallint" | "int2" | "tinyint" | "mediumint" => {
            ColumnKind::Integer
        }
        "bigint" | "int8" => ColumnKind::BigInteger,
        "real" | "double" | "double precision" | "float" | "float4" | "float8" => ColumnKind::Float,
        "json" | "jsonb" | "json_text" => ColumnKind::Json,
        "datetime"
        | "datetime_text"
        | "timestamp"
        | "timestamp without time zone"
        | "timestamp with time zone"
        | "timestamptz"
        | "timestamp_text"
        | "timestamp_with_timezone_text" => ColumnKind::Timestamp,
        _ => ColumnKind::Other(spelling.to_owned()),
    }
}

/// Position of each FK among `table`'s FKs when ordered by `key` (used for creation ranks).
pub(crate) fn rank_by<K: Ord>(table: &mut Table, key: impl Fn(usize) -> K) {
    let mut order: Vec<usize> = (0..table.foreign_keys.len()).collect();
    order.sort_by_key(|&i| key(i));
    for (rank, index) in (0u32..).zip(order) {
        table.foreign_keys[index].creation_rank = Some(rank);
    }
}
