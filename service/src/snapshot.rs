//! Comparable snapshots of table contents: every column cast to text, rows sorted. Used to
//! prove two ways of deleting left identical tables.

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

pub type Row = Vec<Option<String>>;

/// All rows of `table` (columns as listed), cast to text and sorted.
pub async fn table_rows(
    db: &impl ConnectionTrait,
    table: &str,
    columns: &[String],
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
        query.expr_as(
            Expr::col(Alias::new(column)).cast_as(Alias::new(text)),
            Alias::new(format!("c{i}")),
        );
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
        let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        tables.insert(
            table.name.clone(),
            table_rows(db, &table.name, &columns).await?,
        );
    }
    Ok(tables)
}
