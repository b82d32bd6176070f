//! Generated docs: the committed `docs/SCHEMA.md` is exactly what `cascade docs` produces from
//! the declarations, and what it says deleting a row does is what each database's own cascade
//! does to seeded data.

use std::collections::BTreeMap;

use cascade_entity::rules::Dialect;
use cascade_service::counts::count_rows;
use cascade_service::docs::{markdown, regenerate_command, summaries};
use rstest::rstest;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use tests::{cascade, with_db};

#[test]
fn committed_schema_doc_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SCHEMA.md");
    let committed = std::fs::read_to_string(&path).expect("docs/SCHEMA.md is committed");
    let generated = markdown(&tests::domain_rules(), "declared", "docs/SCHEMA.md");
    assert!(
        committed == generated,
        "docs/SCHEMA.md is stale: run `{}`",
        regenerate_command("docs/SCHEMA.md")
    );
}

#[tokio::test]
async fn docs_command_writes_markdown_with_mermaid() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("SCHEMA.md");
    let (status, _) = cascade(&["docs", "--out", file.to_str().expect("utf-8")]).await;
    status.expect("docs");
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(text.contains("```mermaid\nerDiagram"));
    assert!(text.contains("workflow |o--o{ run : \"workflow_id SET NULL\""));
    assert!(text.contains("project ||--o{ workflow : \"project_id CASCADE\""));
    // The matrix row for workflow: schedules deleted, runs and sessions nulled.
    let row = text
        .lines()
        .find(|l| l.starts_with("| **workflow** |"))
        .expect("matrix row");
    assert!(row.contains("| D |") && row.contains("| N |"), "{row}");
}

/// NULL counts of every FK column, keyed `table.column`.
async fn null_counts(db: &impl ConnectionTrait) -> BTreeMap<String, u64> {
    let graph = tests::domain_rules();
    let mut counts = BTreeMap::new();
    for (table, fk) in graph.foreign_keys() {
        for column in &fk.columns {
            let query = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from(Alias::new(&table.name))
                .and_where(Expr::col(Alias::new(column)).is_null())
                .to_owned();
            let row = db.query_one(&query).await.expect("count").expect("row");
            let n: i64 = row.try_get("", "n").expect("n");
            counts.insert(format!("{}.{column}", table.name), n as u64);
        }
    }
    counts
}

async fn row_counts(db: &impl ConnectionTrait) -> BTreeMap<String, u64> {
    let graph = tests::domain_rules();
    let mut counts = BTreeMap::new();
    for name in graph.tables.keys() {
        counts.insert(name.clone(), count_rows(db, name).await.expect("count"));
    }
    counts
}

/// The row of `table` with the most rows pointing at it, so deleting it shows the most effects.
async fn busiest_row(db: &DatabaseConnection, table: &str) -> Option<String> {
    let graph = tests::domain_rules();
    let mut best: Option<(u64, String)> = None;
    let rows = db
        .query_all(
            &Query::select()
                .column(Alias::new("uid"))
                .from(Alias::new(table))
                .limit(20)
                .to_owned(),
        )
        .await
        .expect("uids");
    for row in rows {
        let uid: String = row.try_get("", "uid").expect("uid");
        let mut references = 0;
        for (child, fk) in graph.referencing(table) {
            let query = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from(Alias::new(&child.name))
                .and_where(Expr::col(Alias::new(&fk.columns[0])).eq(uid.as_str()))
                .to_owned();
            let n: i64 = db
                .query_one(&query)
                .await
                .expect("count")
                .expect("row")
                .try_get("", "n")
                .expect("n");
            references += n as u64;
        }
        if best.as_ref().is_none_or(|(b, _)| references > *b) {
            best = Some((references, uid));
        }
    }
    best.map(|(_, uid)| uid)
}

#[rstest]
#[tokio::test]
async fn documented_effects_match_the_native_cascade(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = tests::seed_domain(&db.conn, 400, 3).await;
        for summary in summaries(&graph) {
            let Some(uid) = busiest_row(&db.conn, &summary.table).await else {
                continue;
            };
            let txn = db.conn.begin().await.expect("begin");
            let (rows_before, nulls_before) = (row_counts(&txn).await, null_counts(&txn).await);
            let delete = Query::delete()
                .from_table(Alias::new(&summary.table))
                .and_where(Expr::col(Alias::new("uid")).eq(uid.as_str()))
                .to_owned();
            txn.execute(&delete).await.expect("native delete");
            let (rows_after, nulls_after) = (row_counts(&txn).await, null_counts(&txn).await);
            txn.rollback().await.expect("rollback");

            let shrunk: Vec<&String> = rows_before
                .keys()
                .filter(|t| rows_after[*t] < rows_before[*t])
                .collect();
            let nulled: Vec<&String> = nulls_before
                .keys()
                .filter(|c| nulls_after[*c] > nulls_before[*c])
                .collect();
            for table in &shrunk {
                assert!(
                    **table == summary.table || summary.deleted.contains(table),
                    "{dialect}: deleting {} removed rows of {table}, which the docs do not say",
                    summary.table
                );
            }
            for column in &nulled {
                assert!(
                    summary.set_null.contains(column),
                    "{dialect}: {column} nulled, undocumented"
                );
            }
            // And the documented effects do happen where the data has them.
            if summary.table == "project" {
                for table in [
                    "workflow",
                    "schedule",
                    "document",
                    "dataset",
                    "model",
                    "deployment",
                ] {
                    assert!(
                        shrunk.iter().any(|t| *t == table),
                        "{dialect}: project delete kept {table}"
                    );
                }
                assert!(
                    nulled.iter().any(|c| *c == "run.workflow_id"),
                    "{dialect}: runs survive, unlinked"
                );
            }
            if summary.table == "user" {
                assert!(
                    nulled.len() >= 5,
                    "{dialect}: a busy user owns rows in many tables: {nulled:?}"
                );
            }
        }
    })
    .await;
}
