//! Comparable snapshots of table contents: every column cast to text (binary columns as hex),
//! rows sorted. Used to prove two ways of deleting left identical tables.

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Column, ColumnKind, Dialect};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// One row as text values (`None` for NULL), in column order.
pub type Row = Vec<Option<String>>;

/// All rows of `table` (columns as listed), cast to text and sorted.
pub async fn table_rows(
    db: &impl ConnectionTrait,
    table: &str,
    columns: &[Column],
) -> Result<Vec<Row>, DbErr> {
    let dialect = Dialect::from(db.get_database_backend());
    let text = if dialect == Dialect::MySql {
        "CHAR"
    } else {
        "TEXT"
    };
    let mut query = Query::select();
    query.from(Alias::new(table));
    for (i, column) in columns.iter().enumerate() {
        let value = Expr::col(Alias::new(&column.name));
        let binary = matches!(
            column.kind,
            ColumnKind::Blob | ColumnKind::Binary(_) | ColumnKind::VarBinary(_)
        ) || matches!(&column.kind, ColumnKind::Other(t) if t.to_ascii_lowercase().contains("blob") || t.eq_ignore_ascii_case("bytea"));
        // SQLite stores any value in any column (a UUID as a blob): decide per value.
        let hex = |v: Expr| Expr::from(Func::cust(Alias::new("hex")).arg(v));
        let text_of = match (dialect, binary) {
            (Dialect::Sqlite, _) => Expr::case(
                Expr::from(Func::cust(Alias::new("typeof")).arg(value.clone())).eq("blob"),
                hex(value.clone()),
            )
            .finally(value.cast_as(Alias::new(text)))
            .into(),
            (Dialect::Postgres, true) => Func::cust(Alias::new("encode"))
                .arg(value)
                .arg("hex")
                .into(),
            (_, true) => hex(value),
            (_, false) => value.cast_as(Alias::new(text)),
        };
        query.expr_as(text_of, Alias::new(format!("c{i}")));
        // By the text alias: PostgreSQL's `json` has no ordering of its own.
        query.order_by(Alias::new(format!("c{i}")), Order::Asc);
    }
    db.query_all(&query)
        .await?
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| row.try_get::<Option<String>>("", &format!("c{i}")))
                .collect()
        })
        .collect()
}

/// Every table of `graph`, by name.
pub async fn snapshot(
    db: &impl ConnectionTrait,
    graph: &RuleGraph,
) -> Result<BTreeMap<String, Vec<Row>>, DbErr> {
    let mut tables = BTreeMap::new();
    for table in graph.tables.values() {
        tables.insert(
            table.name.clone(),
            table_rows(db, &table.name, &table.columns).await?,
        );
    }
    Ok(tables)
}

/// A snapshot row as an SQL tuple of literals, as it could be written in an INSERT: numbers and
/// booleans bare, binary values as `X'..'` (snapshots hold them as hex), everything else a quoted
/// string with quotes doubled, NULL as `NULL`. `columns` are the row's columns, in order.
pub fn row_literal(columns: &[Column], row: &Row) -> String {
    let values: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let Some(value) = value else {
                return "NULL".to_owned();
            };
            let kind = columns.get(i).map(|c| &c.kind);
            match kind {
                Some(kind)
                    if kind.is_integer()
                        || matches!(
                            kind,
                            ColumnKind::Float
                                | ColumnKind::Double
                                | ColumnKind::Decimal(_)
                                | ColumnKind::Boolean
                        ) =>
                {
                    value.clone()
                }
                Some(ColumnKind::Blob | ColumnKind::Binary(_) | ColumnKind::VarBinary(_)) => {
                    format!("X'{value}'")
                }
                _ => format!("'{}'", value.replace('\'', "''")),
            }
        })
        .collect();
    format!("({})", values.join(", "))
}

#[cfg(test)]
mod tests {
    use cascade_entity::rules::{Column, ColumnKind};

    use super::row_literal;

    #[test]
    fn rows_print_as_sql_literals() {
        let columns = [
            Column::new("uid", ColumnKind::String(Some(64)), false, None),
            Column::new("n", ColumnKind::Integer, true, None),
            Column::new("note", ColumnKind::Text, true, None),
            Column::new("raw", ColumnKind::Blob, true, None),
        ];
        let row = vec![
            Some("it's".to_owned()),
            Some("42".to_owned()),
            None,
            Some("00FF".to_owned()),
        ];
        assert_eq!(row_literal(&columns, &row), "('it''s', 42, NULL, X'00FF')");
    }
}
