//! The owner an export is for: `TABLE=KEY`, or `TABLE=K1,K2` for a composite primary key (key
//! values in primary-key order), and that key as typed values the source database compares
//! with its own column types, so the owner row is found by its key index and never by a
//! pasted literal.

use std::fmt;
use std::str::FromStr;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{ColumnKind, Table};
use sea_orm::Value;
use sea_orm::prelude::{Decimal, Uuid};
use serde::Serialize;
use thiserror::Error;

/// One owner: a row of `table` named by its primary-key values, as text (split at the first
/// `=` and then at every `,`, so neither the table name nor a key value can contain those).
///
/// ```
/// use cascade_service::export::Owner;
/// let owner: Owner = "user=user-0000001".parse().expect("valid");
/// assert_eq!(owner.table, "user");
/// assert_eq!(owner.key, ["user-0000001"]);
/// let composite: Owner = "account=eu,42".parse().expect("valid");
/// assert_eq!(composite.key, ["eu", "42"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// The owner table.
    pub table: String,
    /// The owner row's primary-key values, in key order.
    pub key: Vec<String>,
}

/// A malformed `TABLE=KEY` spec.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad owner `{spec}`: {reason} (expected TABLE=KEY, or TABLE=K1,K2 for a composite key)")]
pub struct OwnerSyntaxError {
    spec: String,
    reason: &'static str,
}

impl FromStr for Owner {
    type Err = OwnerSyntaxError;

    fn from_str(spec: &str) -> Result<Owner, OwnerSyntaxError> {
        let error = |reason| OwnerSyntaxError {
            spec: spec.to_owned(),
            reason,
        };
        let (table, key) = spec.split_once('=').ok_or_else(|| error("missing `=`"))?;
        let table = table.trim();
        if table.is_empty() {
            return Err(error("empty table name"));
        }
        if key.is_empty() {
            return Err(error("empty key"));
        }
        Ok(Owner {
            table: table.to_owned(),
            key: key.split(',').map(str::to_owned).collect(),
        })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.table, self.key.join(","))
    }
}

/// Why an owner spec does not name a row the rules can find.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// The owner table is not in the rules.
    #[error("owner table `{0}` is not in the rules")]
    UnknownTable(String),
    /// The owner table has no primary key to name its rows by.
    #[error("owner table `{0}` has no primary key to name its rows by")]
    NoPrimaryKey(String),
    /// The spec gives a different number of key values than the primary key has columns.
    #[error(
        "owner `{owner}`: {table} has a {expected}-column primary key ({columns}), \
         {got} value(s) given"
    )]
    Arity {
        /// The spec as written.
        owner: String,
        /// The owner table.
        table: String,
        /// Columns of the primary key.
        expected: usize,
        /// Values given.
        got: usize,
        /// The primary key's columns, comma-separated.
        columns: String,
    },
    /// A key value does not parse as its column's kind.
    #[error("owner `{owner}`: `{value}` is not a valid {column} ({kind})")]
    Value {
        /// The spec as written.
        owner: String,
        /// The key column.
        column: String,
        /// The value given.
        value: String,
        /// The column's kind.
        kind: String,
    },
}

/// One primary-key column of the owner row and the value it must equal.
#[derive(Debug, Clone)]
pub(crate) struct KeyPart {
    pub column: String,
    pub value: Value,
    /// Compared as text (`CAST(col AS text) = value`): kinds without a typed value here.
    pub as_text: bool,
}

impl Owner {
    /// The owner table of `graph` and its key as typed values.
    pub(crate) fn resolve<'g>(
        &self,
        graph: &'g RuleGraph,
    ) -> Result<(&'g Table, Vec<KeyPart>), OwnerError> {
        let table = graph
            .table(&self.table)
            .ok_or_else(|| OwnerError::UnknownTable(self.table.clone()))?;
        if table.primary_key.is_empty() {
            return Err(OwnerError::NoPrimaryKey(self.table.clone()));
        }
        if table.primary_key.len() != self.key.len() {
            return Err(OwnerError::Arity {
                owner: self.to_string(),
                table: table.name.clone(),
                expected: table.primary_key.len(),
                got: self.key.len(),
                columns: table.primary_key.join(", "),
            });
        }
        let mut parts = Vec::with_capacity(self.key.len());
        for (column, text) in table.primary_key.iter().zip(&self.key) {
            let kind = table
                .column(column)
                .map(|c| c.kind.clone())
                .unwrap_or(ColumnKind::Text);
            let (value, as_text) = typed(&kind, text).ok_or_else(|| OwnerError::Value {
                owner: self.to_string(),
                column: format!("{}.{column}", table.name),
                value: text.clone(),
                kind: format!("{kind:?}"),
            })?;
            parts.push(KeyPart {
                column: column.clone(),
                value,
                as_text,
            });
        }
        Ok((table, parts))
    }
}

/// `text` as a value of `kind`, and whether it must be compared as text; `None` when the text
/// is no value of that kind.
fn typed(kind: &ColumnKind, text: &str) -> Option<(Value, bool)> {
    let trimmed = text.trim();
    let value = match kind {
        k if k.is_integer() || *k == ColumnKind::Year => Value::from(trimmed.parse::<i64>().ok()?),
        ColumnKind::Float | ColumnKind::Double => Value::from(trimmed.parse::<f64>().ok()?),
        ColumnKind::Decimal(_) | ColumnKind::Money(_) => {
            Value::from(Decimal::from_str(trimmed).ok()?)
        }
        ColumnKind::Boolean => Value::from(match trimmed.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => true,
            "false" | "f" | "0" => false,
            _ => return None,
        }),
        ColumnKind::Uuid => Value::from(Uuid::parse_str(trimmed).ok()?),
        k if k.is_text() => Value::from(text.to_owned()),
        _ => return Some((Value::from(text.to_owned()), true)),
    };
    Some((value, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs_and_refuses_malformed_ones() -> Result<(), OwnerSyntaxError> {
        let owner: Owner = "user=u1".parse()?;
        assert_eq!(
            (owner.table.as_str(), owner.key.as_slice()),
            ("user", &["u1".to_owned()][..])
        );
        assert_eq!(owner.to_string(), "user=u1");
        let owner: Owner = "m=a,b".parse()?;
        assert_eq!(owner.key, ["a", "b"]);
        for bad in ["user", "=u1", "user="] {
            assert!(bad.parse::<Owner>().is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn key_values_follow_the_column_kind() {
        assert_eq!(
            typed(&ColumnKind::BigInteger, " 42 "),
            Some((Value::from(42i64), false))
        );
        assert_eq!(typed(&ColumnKind::Integer, "x"), None);
        assert_eq!(
            typed(&ColumnKind::String(Some(64)), "user-1"),
            Some((Value::from("user-1".to_owned()), false))
        );
        assert_eq!(
            typed(&ColumnKind::Other("citext".into()), "Ann"),
            Some((Value::from("Ann".to_owned()), true))
        );
        assert!(typed(&ColumnKind::Uuid, "not-a-uuid").is_none());
    }
}
