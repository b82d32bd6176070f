//! Row counts per table, as the database reports them (one `COUNT(*)` per table).

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// `COUNT(*)` of one table.
pub async fn count_rows(db: &impl ConnectionTrait, table: &str) -> Result<u64, DbErr> {
    let query = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(Alias::new(table))
        .to_owned();
    let row = db
        .query_one(&query)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("COUNT(*) of {table}")))?;
    let n: i64 = row.try_get("", "n")?;
    u64::try_from(n).map_err(|e| DbErr::Custom(format!("COUNT(*) of {table}: {e}")))
}

/// Row counts of every table of `graph`.
pub async fn count_all(
    db: &impl ConnectionTrait,
    graph: &RuleGraph,
) -> Result<BTreeMap<String, u64>, DbErr> {
    let mut counts = BTreeMap::new();
    for name in graph.tables.keys() {
        counts.insert(name.clone(), count_rows(db, name).await?);
    }
    Ok(counts)
}
