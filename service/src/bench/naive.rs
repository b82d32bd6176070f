//! The "naive" baseline: what typical ORM code does (SeaORM's own `cascade_delete` included):
//! load the children of a row, recurse into each, update or delete them one statement per row,
//! then delete the row. Capped, since at scale it runs for minutes; the caller extrapolates.

use entity::RuleGraph;
use entity::rules::FkAction;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

pub(crate) struct NaiveRun {
    pub statements: u64,
    /// Rows deleted or updated before stopping.
    pub rows: u64,
    /// False when the statement cap stopped it (its transaction was rolled back).
    pub completed: bool,
}

/// Deletes `table`.`uid` = `uid` row by row (single-column `uid` keys, as in the domain).
pub(crate) async fn naive_delete(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    uid: &str,
    cap: u64,
) -> Result<NaiveRun, DbErr> {
    let txn = db.begin().await?;
    let mut run = NaiveRun {
        statements: 0,
        rows: 0,
        completed: false,
    };
    // Post-order walk: a row is deleted once all its children are handled.
    let mut stack: Vec<(String, String, bool)> = vec![(table.to_owned(), uid.to_owned(), false)];
    while let Some((table, uid, expanded)) = stack.pop() {
        if run.statements >= cap {
            txn.rollback().await?;
            return Ok(run);
        }
        if expanded {
            let delete = Query::delete()
                .from_table(Alias::new(&table))
                .and_where(Expr::col(Alias::new("uid")).eq(uid.as_str()))
                .to_owned();
            txn.execute(&delete).await?;
            run.statements += 1;
            run.rows += 1;
            continue;
        }
        stack.push((table.clone(), uid.clone(), true));
        for (child, fk) in graph.referencing(&table) {
            let column = &fk.columns[0];
            let select = Query::select()
                .column(Alias::new("uid"))
                .from(Alias::new(&child.name))
                .and_where(Expr::col(Alias::new(column)).eq(uid.as_str()))
                .to_owned();
            let children = txn.query_all(&select).await?;
            run.statements += 1;
            for row in children {
                let child_uid: String = row.try_get("", "uid")?;
                match fk.on_delete {
                    FkAction::Cascade => stack.push((child.name.clone(), child_uid, false)),
                    FkAction::SetNull => {
                        let update = Query::update()
                            .table(Alias::new(&child.name))
                            .value(Alias::new(column), Value::String(None))
                            .and_where(Expr::col(Alias::new("uid")).eq(child_uid.as_str()))
                            .to_owned();
                        txn.execute(&update).await?;
                        run.statements += 1;
                        run.rows += 1;
                    }
                    _ => {
                        return Err(DbErr::Custom(format!(
                            "naive delete blocked by {}",
                            fk.describe(&child.name)
                        )));
                    }
                }
            }
        }
    }
    txn.commit().await?;
    run.completed = true;
    Ok(run)
}
