//! The copy: per table (parents first), one `SELECT` of the exported rows in key order, joined
//! to the table's work table and to its flag tables, streamed from the source and written to
//! the export in multi-row `INSERT`s of at most `batch_rows` rows with bound, typed values.
//! Memory holds one batch, whatever the table size. A flagged reference is written as NULL.

use cascade_entity::rules::Table;
use futures::StreamExt;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement, StreamTrait, Value};

use super::owned::{Member, Membership};
use super::report::{ExportError, TableRows};
use super::schema::TargetSchema;
use super::values::Read;
use crate::delete::session::Session;
use crate::progress::Progress;

/// The largest number of bound parameters one INSERT carries (SQLite's limit is 32766).
const MAX_PARAMS_PER_STATEMENT: usize = 30_000;

/// Copies every member table's exported rows from the source session into `txn`.
pub(crate) async fn copy_all(
    s: &mut Session<'_>,
    txn: &DatabaseTransaction,
    schema: &TargetSchema,
    m: &Membership,
    batch_rows: usize,
    progress: &dyn Progress,
) -> Result<Vec<TableRows>, ExportError> {
    let total = m.members.values().map(|w| w.rows).sum();
    progress.start("exporting", total);
    let mut copied = Vec::new();
    for name in schema.graph.dependency_order() {
        let (Some(table), Some(member)) = (schema.graph.table(name), m.members.get(name)) else {
            continue;
        };
        if member.rows == 0 {
            continue;
        }
        let reads = schema
            .reads
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let rows = copy_table(s, txn, table, member, reads, batch_rows, progress).await?;
        copied.push(TableRows {
            table: name.to_owned(),
            rows,
        });
    }
    progress.finish();
    Ok(schema
        .graph
        .tables
        .keys()
        .map(|name| TableRows {
            table: name.clone(),
            rows: copied
                .iter()
                .find(|c| &c.table == name)
                .map_or(0, |c| c.rows),
        })
        .collect())
}

/// The `SELECT` of `member`'s exported rows of `table`: each column as its read asks, then
/// one `'1'`/`'0'` flag per nullable reference to write as NULL; in key order.
fn select(s: &Session<'_>, table: &Table, member: &Member, reads: &[Read]) -> String {
    let mut items: Vec<String> = table
        .columns
        .iter()
        .zip(reads)
        .enumerate()
        .map(|(i, (column, read))| read.select(s.dialect, &format!("x.{}", s.q(&column.name)), i))
        .collect();
    let mut joins = String::new();
    for (j, (_, flags)) in member.nulled.iter().enumerate() {
        let alias = format!("n{j}");
        items.push(format!(
            "CASE WHEN {alias}.{} IS NULL THEN '0' ELSE '1' END AS f{j}",
            s.q(&member.key[0])
        ));
        joins.push_str(&format!(
            " LEFT JOIN {} {alias} ON {}",
            s.q(flags),
            s.equal(&alias, &member.key, "x", &member.key)
        ));
    }
    format!(
        "SELECT {} FROM {} x JOIN {} d ON {}{joins} ORDER BY {}",
        items.join(", "),
        s.q(&table.name),
        s.q(&member.work),
        s.equal("x", &member.key, "d", &member.key),
        s.cols("x", &member.key)
    )
}

async fn copy_table(
    s: &mut Session<'_>,
    txn: &DatabaseTransaction,
    table: &Table,
    member: &Member,
    reads: &[Read],
    batch_rows: usize,
    progress: &dyn Progress,
) -> Result<u64, ExportError> {
    let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    // Column positions each flagged reference writes NULL into.
    let nulled: Vec<Vec<usize>> = member
        .nulled
        .iter()
        .map(|(fk, _)| {
            fk.columns
                .iter()
                .filter_map(|c| columns.iter().position(|n| n == c))
                .collect()
        })
        .collect();
    let per_statement =
        (MAX_PARAMS_PER_STATEMENT / columns.len().max(1)).clamp(1, batch_rows.max(1));
    let sql = select(s, table, member, reads);
    s.statements += 1;
    let dialect = s.dialect;
    let mut stream = s
        .txn
        .stream_raw(Statement::from_string(dialect.backend(), sql))
        .await?;
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_statement);
    let mut rows = 0;
    while let Some(row) = stream.next().await {
        let row = row?;
        let mut values = Vec::with_capacity(columns.len());
        for (i, read) in reads.iter().enumerate() {
            let value = read
                .decode(dialect, &row, i)
                .map_err(|reason| ExportError::Decode {
                    table: table.name.clone(),
                    column: columns.get(i).cloned().unwrap_or_default(),
                    reason,
                })?;
            values.push(value);
        }
        for (j, positions) in nulled.iter().enumerate() {
            if row.try_get::<String>("", &format!("f{j}"))? == "1" {
                for &position in positions {
                    values[position] = Value::String(None);
                }
            }
        }
        batch.push(values);
        if batch.len() == per_statement {
            rows += insert(txn, &table.name, &columns, &mut batch).await?;
            progress.advance(per_statement as u64);
        }
    }
    drop(stream);
    let last = batch.len() as u64;
    rows += insert(txn, &table.name, &columns, &mut batch).await?;
    progress.advance(last);
    Ok(rows)
}

/// One multi-row INSERT of `batch` (emptied) into `table` of the export.
async fn insert(
    txn: &DatabaseTransaction,
    table: &str,
    columns: &[String],
    batch: &mut Vec<Vec<Value>>,
) -> Result<u64, ExportError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut statement = Query::insert();
    statement
        .into_table(Alias::new(table))
        .columns(columns.iter().map(Alias::new));
    for row in batch.drain(..) {
        statement
            .values(row.into_iter().map(Expr::val))
            .map_err(|e| DbErr::Custom(format!("building the insert into {table}: {e}")))?;
    }
    Ok(txn.execute(&statement).await?.rows_affected())
}
