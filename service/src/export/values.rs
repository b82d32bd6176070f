//! Typed values out of the source: per column, the expression a `SELECT` reads it with and the
//! Rust type it is decoded into, so the value is bound into SQLite exactly as SeaORM would
//! bind it there (a timestamp as SeaORM's text, a UUID as its 16 bytes, JSON as its text).
//!
//! A SQLite source is copied by storage class instead (`typeof` beside each value): integer,
//! real, text and blob values arrive as they are stored, whatever the declared type. PostgreSQL
//! and MariaDB values are cast in the `SELECT` to the one type their decoder takes (integers
//! to 64 bits, floats to double precision, decimals and catalog types to text, arrays to JSON),
//! so no column type of the catalog can fail to decode. This is the one place those reads
//! differ per dialect.

use cascade_entity::rules::{ColumnKind, Dialect};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sea_orm::prelude::Uuid;
use sea_orm::{QueryResult, TryGetable, Value};

/// How one column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// SQLite: the stored value and its storage class.
    StorageClass,
    Int,
    /// MariaDB unsigned integers (and `BIT`), which may exceed `i64`.
    Unsigned,
    Bool,
    Real,
    /// Text, the column's own (PostgreSQL character types keep their padding).
    Text,
    /// Decimals, as their exact text.
    Numeric,
    /// Anything else, cast to text.
    CastText,
    /// JSON text, bound as JSON.
    Json,
    /// A PostgreSQL array, read as JSON.
    Array,
    Bytes,
    Uuid,
    DateTime,
    DateTimeUtc,
    Date,
    Time,
}

impl Read {
    /// How `dialect` reads a column of `kind`.
    pub(crate) fn of(dialect: Dialect, kind: &ColumnKind) -> Read {
        if dialect == Dialect::Sqlite {
            return Read::StorageClass;
        }
        let mysql = dialect == Dialect::MySql;
        match kind {
            ColumnKind::TinyUnsigned
            | ColumnKind::SmallUnsigned
            | ColumnKind::Unsigned
            | ColumnKind::BigUnsigned
            | ColumnKind::Bit(_)
                if mysql =>
            {
                Read::Unsigned
            }
            k if k.is_integer() || *k == ColumnKind::Year => Read::Int,
            ColumnKind::Boolean => Read::Bool,
            ColumnKind::Float | ColumnKind::Double => Read::Real,
            ColumnKind::Char(_)
            | ColumnKind::String(_)
            | ColumnKind::StringMax
            | ColumnKind::Text => Read::Text,
            ColumnKind::Decimal(_) | ColumnKind::Money(_) => Read::Numeric,
            ColumnKind::Json | ColumnKind::JsonBinary | ColumnKind::Vector(_) => Read::Json,
            ColumnKind::Array(_) => Read::Array,
            ColumnKind::Blob | ColumnKind::Binary(_) | ColumnKind::VarBinary(_) => Read::Bytes,
            ColumnKind::Uuid => Read::Uuid,
            ColumnKind::DateTime | ColumnKind::Timestamp => Read::DateTime,
            ColumnKind::TimestampWithTimeZone => Read::DateTimeUtc,
            ColumnKind::Date => Read::Date,
            ColumnKind::Time => Read::Time,
            ColumnKind::Other(spelling) if binary_spelling(spelling) => Read::Bytes,
            // MariaDB's `BIT(n)` is a number (PostgreSQL's a string of bits, read as text).
            ColumnKind::Other(spelling)
                if mysql && spelling.to_ascii_lowercase().starts_with("bit") =>
            {
                Read::Unsigned
            }
            ColumnKind::Other(spelling) if !mysql && spelling.ends_with("[]") => Read::Array,
            _ => Read::CastText,
        }
    }

    /// The column kind the export declares for values read this way, given the source's kind.
    pub(crate) fn target_kind(self, kind: &ColumnKind) -> ColumnKind {
        match self {
            Read::StorageClass => kind.clone(),
            Read::Unsigned if matches!(kind, ColumnKind::Bit(_)) => ColumnKind::BigUnsigned,
            Read::Int | Read::Unsigned | Read::Bool | Read::Real | Read::Bytes | Read::Uuid => {
                match kind {
                    ColumnKind::Other(_) if self == Read::Bytes => ColumnKind::Blob,
                    ColumnKind::Year | ColumnKind::Other(_) => ColumnKind::BigInteger,
                    k => k.clone(),
                }
            }
            Read::Text | Read::Numeric => kind.clone(),
            Read::CastText => match kind {
                ColumnKind::Enum { .. } => kind.clone(),
                _ => ColumnKind::Text,
            },
            Read::Json | Read::Array => ColumnKind::Json,
            Read::DateTime | Read::DateTimeUtc | Read::Date | Read::Time => kind.clone(),
        }
    }

    /// The select items reading `column` (an expression like `x."c"`) as alias `v{i}` (and
    /// `t{i}` for the storage class).
    pub(crate) fn select(self, dialect: Dialect, column: &str, i: usize) -> String {
        let mysql = dialect == Dialect::MySql;
        let cast = |pg: &str, my: &str| {
            format!("CAST({column} AS {}) AS v{i}", if mysql { my } else { pg })
        };
        match self {
            Read::StorageClass => format!("{column} AS v{i}, typeof({column}) AS t{i}"),
            Read::Int => cast("BIGINT", "SIGNED"),
            Read::Unsigned => cast("BIGINT", "UNSIGNED"),
            Read::Bool if mysql => cast("BOOLEAN", "SIGNED"),
            Read::Real => cast("DOUBLE PRECISION", "DOUBLE"),
            Read::Text if !mysql => format!("{column} AS v{i}"),
            Read::Text | Read::CastText | Read::Json => cast("TEXT", "CHAR"),
            // PostgreSQL's money prints with a currency sign: through numeric first.
            Read::Numeric if !mysql => {
                format!("CAST(CAST({column} AS NUMERIC) AS TEXT) AS v{i}")
            }
            Read::Numeric => cast("TEXT", "CHAR"),
            Read::Array => format!("CAST(to_json({column}) AS TEXT) AS v{i}"),
            Read::DateTime => cast("TIMESTAMP", "DATETIME(6)"),
            Read::DateTimeUtc => cast("TIMESTAMPTZ", "DATETIME(6)"),
            Read::Date => cast("DATE", "DATE"),
            Read::Time => cast("TIME", "TIME(6)"),
            Read::Bool | Read::Bytes | Read::Uuid => format!("{column} AS v{i}"),
        }
    }

    /// The value of column `i` of `row`, typed for binding into SQLite.
    pub(crate) fn decode(
        self,
        dialect: Dialect,
        row: &QueryResult,
        i: usize,
    ) -> Result<Value, String> {
        let v = format!("v{i}");
        let mysql = dialect == Dialect::MySql;
        Ok(match self {
            Read::StorageClass => {
                let class: Option<String> = get(row, &format!("t{i}"))?;
                match class.as_deref() {
                    Some("integer") => Value::from(get::<Option<i64>>(row, &v)?),
                    Some("real") => Value::from(get::<Option<f64>>(row, &v)?),
                    Some("text") => Value::from(get::<Option<String>>(row, &v)?),
                    Some("blob") => Value::Bytes(get::<Option<Vec<u8>>>(row, &v)?),
                    _ => Value::String(None),
                }
            }
            Read::Int => Value::from(get::<Option<i64>>(row, &v)?),
            Read::Unsigned => match get::<Option<u64>>(row, &v)? {
                Some(n) => match i64::try_from(n) {
                    Ok(n) => Value::from(n),
                    // Beyond SQLite's integers: kept exact, as text.
                    Err(_) => Value::from(n.to_string()),
                },
                None => Value::BigInt(None),
            },
            Read::Bool if mysql => Value::from(get::<Option<i64>>(row, &v)?.map(|n| n != 0)),
            Read::Bool => Value::from(get::<Option<bool>>(row, &v)?),
            Read::Real => Value::from(get::<Option<f64>>(row, &v)?),
            Read::Text | Read::CastText | Read::Numeric => {
                Value::from(get::<Option<String>>(row, &v)?)
            }
            Read::Json | Read::Array => match get::<Option<String>>(row, &v)? {
                // Re-serialised as SeaORM writes JSON; text that is no JSON is kept as it is.
                Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(json) => Value::Json(Some(Box::new(json))),
                    Err(_) => Value::from(text),
                },
                None => Value::Json(None),
            },
            Read::Bytes => Value::Bytes(get::<Option<Vec<u8>>>(row, &v)?),
            Read::Uuid => Value::from(get::<Option<Uuid>>(row, &v)?),
            Read::DateTime => Value::from(get::<Option<NaiveDateTime>>(row, &v)?),
            Read::DateTimeUtc if mysql => {
                Value::from(get::<Option<NaiveDateTime>>(row, &v)?.map(|t| t.and_utc()))
            }
            Read::DateTimeUtc => Value::from(get::<Option<DateTime<Utc>>>(row, &v)?),
            Read::Date => Value::from(get::<Option<NaiveDate>>(row, &v)?),
            Read::Time => Value::from(get::<Option<NaiveTime>>(row, &v)?),
        })
    }
}

/// Catalog type spellings whose values are bytes.
fn binary_spelling(spelling: &str) -> bool {
    let lower = spelling.to_ascii_lowercase();
    ["blob", "bytea", "binary"]
        .iter()
        .any(|t| lower.contains(t))
}

fn get<T: TryGetable>(row: &QueryResult, column: &str) -> Result<T, String> {
    row.try_get::<T>("", column).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_types_read_as_something_sqlite_declares() {
        let pg = Dialect::Postgres;
        let cases = [
            (
                ColumnKind::Other("integer[]".into()),
                Read::Array,
                ColumnKind::Json,
            ),
            (
                ColumnKind::Other("interval".into()),
                Read::CastText,
                ColumnKind::Text,
            ),
            (
                ColumnKind::Other("bytea".into()),
                Read::Bytes,
                ColumnKind::Blob,
            ),
            (ColumnKind::Inet, Read::CastText, ColumnKind::Text),
            (ColumnKind::Year, Read::Int, ColumnKind::BigInteger),
            (
                ColumnKind::Decimal(Some((10, 2))),
                Read::Numeric,
                ColumnKind::Decimal(Some((10, 2))),
            ),
            (
                ColumnKind::String(Some(64)),
                Read::Text,
                ColumnKind::String(Some(64)),
            ),
        ];
        for (kind, read, target) in cases {
            assert_eq!(Read::of(pg, &kind), read, "{kind:?}");
            assert_eq!(read.target_kind(&kind), target, "{kind:?}");
        }
        assert_eq!(
            Read::of(Dialect::MySql, &ColumnKind::Bit(Some(1))),
            Read::Unsigned
        );
        assert_eq!(
            Read::Unsigned.target_kind(&ColumnKind::Bit(Some(1))),
            ColumnKind::BigUnsigned
        );
        let bits = ColumnKind::Other("bit(3)".into());
        assert_eq!(Read::of(Dialect::MySql, &bits), Read::Unsigned);
        assert_eq!(Read::Unsigned.target_kind(&bits), ColumnKind::BigInteger);
        assert_eq!(Read::of(pg, &bits), Read::CastText);
        let other = ColumnKind::Other("MONEY2".into());
        assert_eq!(Read::of(Dialect::Sqlite, &other), Read::StorageClass);
        assert_eq!(Read::StorageClass.target_kind(&other), other);
    }
}
