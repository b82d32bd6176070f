//! The "naive" baseline: what typical ORM code does (SeaORM's own `cascade_delete` included):
//! load the children of a row, recurse into each, update or delete them one statement per row,
//! then delete the row. Capped, since at scale it runs for minutes; the caller extrapolates.

use cascade_entity::RuleGraph;
use cascade_entity::rules::FkAction;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

pub(crate) struct NaiveRun {
    pub statements: u64,
    /// Rows deleted or updated before stopping.
    pub rows: u64,
    /// False when the statement cap stopped it (its transaction was rolled back).
    pub completed: bool,
}

/// Deletes the row of `table` with primary key `key` row by row. Handles single-column keys
/// (what typical ORM code loads and deletes by), read back as text.
pub(crate) async fn naive_delete(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    key: &[Value],
    cap: u64,
) -> Result<NaiveRun, DbErr> {
    let key_of = |table: &str| -> Result<String, DbErr> {
        match graph.table(table).map(|t| t.primary_key.as_slice()) {
            Some([column]) => Ok(column.clone()),
            _ => Err(DbErr::Custom(format!(
                "the naive baseline handles single-column keys only (`{table}`)"
            ))),
        }
    };
    let uid = match key {
        [Value::String(Some(uid))] => uid.to_string(),
        _ => {
            return Err(DbErr::Custom(
                "the naive baseline handles text keys only".to_owned(),
            ));
        }
    };
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
                .and_where(Expr::col(Alias::new(key_of(&table)?)).eq(uid.as_str()))
                .to_owned();
            txn.execute(&delete).await?;
            run.statements += 1;
            run.rows += 1;
            continue;
        }
        stack.push((table.clone(), uid.clone(), true));
        for (child, fk) in graph.referencing(&table) {
            let column = &fk.columns[0];
            let child_key = key_of(&child.name)?;
            let select = Query::select()
                .column(Alias::new(&child_key))
                .from(Alias::new(&child.name))
                .and_where(Expr::col(Alias::new(column)).eq(uid.as_str()))
                .to_owned();
            let children = txn.query_all(&select).await?;
            run.statements += 1;
            for row in children {
                let child_uid: String = row.try_get("", &child_key)?;
                match fk.on_delete {
                    FkAction::Cascade => stack.push((child.name.clone(), child_uid, false)),
                    FkAction::SetNull => {
                        let update = Query::update()
                            .table(Alias::new(&child.name))
                            .value(Alias::new(column), Value::String(None))
                            .and_where(Expr::col(Alias::new(&child_key)).eq(child_uid.as_str()))
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
