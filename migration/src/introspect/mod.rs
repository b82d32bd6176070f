//! Reading a live database's catalog back into a RuleGraph, one module per dialect.
//!
//! Each dialect reports what later work needs: actions as stored, constraint names where the
//! engine keeps them, column order, and the engine's FK ordering facts. Spellings are normalised
//! here (action names, type names, "no default") so a declaration and a catalog compare equal
//! when they mean the same thing.

mod mysql;
mod postgres;
mod sqlite;

use cascade_entity::rules::{ColumnKind, Dialect, FkAction, RuleGraph, Table};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, TryGetable, Value};
use thiserror::Error;

/// Tables that belong to tooling, not to the schema (SeaORM's migration ledger).
pub(crate) const BOOKKEEPING_TABLES: &[&str] = &["seaql_migrations"];

/// Why a live catalog could not be read into a RuleGraph.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// A catalog query failed.
    #[error("reading the catalog failed: {0}")]
    Db(#[from] DbErr),
    /// A catalog row the reader cannot interpret (an unknown referential action, a malformed
    /// name list, a value of an unexpected type).
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

/// Classifies a catalog type spelling (`character varying(64)`, `int(11) unsigned`,
/// `tinyint(1)`, `timestamp with time zone`, sea-query's SQLite spellings such as `json_text`)
/// into the graph's mirror of sea-query's types; anything unknown is kept verbatim.
pub(crate) fn column_kind(spelling: &str) -> ColumnKind {
    let lower = spelling.trim().to_ascii_lowercase();
    let unsigned = lower.ends_with(" unsigned");
    let lower = lower.trim_end_matches(" unsigned").trim().to_owned();
    let (base, args) = match lower.split_once('(') {
        Some((base, rest)) => {
            let inside = rest.split(')').next().unwrap_or_default();
            let args: Vec<u32> = inside
                .split(',')
                .filter_map(|a| a.trim().parse::<u32>().ok())
                .collect();
            (base.trim().to_owned(), args)
        }
        None => (lower.clone(), Vec::new()),
    };
    let first = args.first().copied();
    let pair = match args.as_slice() {
        [p, s] => Some((*p, *s)),
        [p] => Some((*p, 0)),
        _ => None,
    };
    let integer = |signed: ColumnKind, unsigned_kind: ColumnKind| {
        if unsigned { unsigned_kind } else { signed }
    };
    match base.as_str() {
        "varchar" | "character varying" | "nvarchar" | "varchar2" => ColumnKind::String(first),
        "char" | "character" | "bpchar" | "nchar" => ColumnKind::Char(first),
        "text" | "mediumtext" | "longtext" | "tinytext" | "clob" => ColumnKind::Text,
        "blob" | "bytea" | "longblob" | "mediumblob" | "tinyblob" => ColumnKind::Blob,
        "binary" => ColumnKind::Binary(first.unwrap_or(1)),
        "varbinary" => ColumnKind::VarBinary(first),
        "boolean" | "bool" => ColumnKind::Boolean,
        "tinyint" if first == Some(1) && !unsigned => ColumnKind::Boolean,
        "tinyint" => integer(ColumnKind::TinyInteger, ColumnKind::TinyUnsigned),
        "smallint" | "int2" => integer(ColumnKind::SmallInteger, ColumnKind::SmallUnsigned),
        "integer" | "int" | "int4" | "mediumint" => {
            integer(ColumnKind::Integer, ColumnKind::Unsigned)
        }
        "bigint" | "int8" => integer(ColumnKind::BigInteger, ColumnKind::BigUnsigned),
        "real" | "float4" | "float" => ColumnKind::Float,
        "double" | "double precision" | "float8" => ColumnKind::Double,
        "decimal" | "numeric" => ColumnKind::Decimal(pair),
        "money" => ColumnKind::Money(pair),
        "json" | "json_text" => ColumnKind::Json,
        "jsonb" | "jsonb_text" => ColumnKind::JsonBinary,
        "datetime" | "datetime_text" | "timestamp without time zone" | "timestamp_text" => {
            ColumnKind::DateTime
        }
        "timestamp" => ColumnKind::Timestamp,
        "timestamp with time zone" | "timestamptz" | "timestamp_with_timezone_text" => {
            ColumnKind::TimestampWithTimeZone
        }
        "date" | "date_text" => ColumnKind::Date,
        "time" | "time without time zone" | "time_text" => ColumnKind::Time,
        "year" => ColumnKind::Year,
        "uuid" | "uuid_text" => ColumnKind::Uuid,
        "enum" => ColumnKind::Enum {
            name: String::new(),
            variants: enum_variants(spelling),
        },
        "inet" => ColumnKind::Inet,
        "cidr" => ColumnKind::Cidr,
        "macaddr" => ColumnKind::MacAddr,
        _ => ColumnKind::Other(spelling.to_owned()),
    }
}

/// The quoted values of a MariaDB `enum('a','b')` spelling, quotes undoubled.
fn enum_variants(spelling: &str) -> Vec<String> {
    let inside = spelling
        .split_once('(')
        .map(|(_, rest)| rest.trim_end().trim_end_matches(')'))
        .unwrap_or_default();
    let mut variants = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = inside.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', true) if chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            ('\'', true) => {
                quoted = false;
                variants.push(std::mem::take(&mut current));
            }
            ('\'', false) => quoted = true,
            (c, true) => current.push(c),
            _ => {}
        }
    }
    variants
}

/// Position of each FK among `table`'s FKs when ordered by `key` (used for creation ranks).
pub(crate) fn rank_by<K: Ord>(table: &mut Table, key: impl Fn(usize) -> K) {
    let mut order: Vec<usize> = (0..table.foreign_keys.len()).collect();
    order.sort_by_key(|&i| key(i));
    for (rank, index) in (0u32..).zip(order) {
        table.foreign_keys[index].creation_rank = Some(rank);
    }
}
