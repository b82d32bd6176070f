//! A delete's report counts the rows the database changed. Where every non-cascading edge is a
//! plain SET NULL, the executor counts each edge's rows by the UPDATE that rewrites them
//! (`Counts::FromExecution`) instead of counting them beforehand: the counts must equal the
//! plan's (counted beforehand) and the rows whose reference really became NULL, edge by edge,
//! also where one UPDATE rewrites two edges of one table (PostgreSQL, MariaDB) and where an
//! edge finds no row. A delete whose edges are not all plain counts beforehand, as before.

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use cascade_service::delete::{
    ColumnUpdate, DeleteMode, DeleteOptions, EngineActions, Selection, delete, plan,
};
use rstest::rstest;
use tests::{TestDb, build_fixture, scalar, with_db};

/// `p`; `c` with two SET NULL references to `p` (`a_id`, `b_id`); `d` with one; `e` with one
/// and no row pointing at the deleted parent; `k` (CASCADE) whose rows go with `p`; with
/// `restricted`, `r` (RESTRICT) holding two rows of `p` 1.
async fn fixture(db: &TestDb, restricted: bool) {
    let mut ddl = vec![
        "CREATE TABLE p (id INT PRIMARY KEY)".to_owned(),
        "CREATE TABLE c (id INT PRIMARY KEY, \
         a_id INT REFERENCES p (id) ON DELETE SET NULL, \
         b_id INT REFERENCES p (id) ON DELETE SET NULL)"
            .to_owned(),
        "CREATE TABLE d (id INT PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE SET NULL)"
            .to_owned(),
        "CREATE TABLE e (id INT PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE SET NULL)"
            .to_owned(),
        "CREATE TABLE k (id INT PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE CASCADE)"
            .to_owned(),
    ];
    let mut data = vec![
        "INSERT INTO p VALUES (1), (2)",
        // a only, b only, both, neither (the other parent)
        "INSERT INTO c VALUES (1, 1, NULL), (2, NULL, 1), (3, 1, 1), (4, 2, 2), (5, 1, 2)",
        "INSERT INTO d VALUES (1, 1), (2, 1), (3, 2)",
        "INSERT INTO e VALUES (1, 2)",
        "INSERT INTO k VALUES (1, 1), (2, 2)",
    ];
    if restricted {
        ddl.push(
            "CREATE TABLE r (id INT PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE RESTRICT)"
                .to_owned(),
        );
        data.push("INSERT INTO r VALUES (1, 1), (2, 1), (3, 2)");
    }
    let data: Vec<String> = data.into_iter().map(str::to_owned).collect();
    build_fixture(db, &ddl, &data).await;
}

/// The fixture's rules as introspected, and the selection of `p` 1.
async fn rules_and_parent_1(db: &TestDb) -> (RuleGraph, Selection) {
    let graph = cascade_migration::introspect(&db.conn)
        .await
        .expect("introspect");
    let selection = Selection::condition(
        sea_orm::Condition::all().add(sea_orm::sea_query::Expr::cust("id = 1")),
    );
    (graph, selection)
}

fn rows(updated: &[ColumnUpdate], table: &str, column: &str) -> Option<u64> {
    updated
        .iter()
        .find(|u| u.table == table && u.columns == [column.to_owned()])
        .map(|u| u.rows)
}

#[rstest]
#[tokio::test]
async fn set_null_rows_counted_by_their_update_equal_the_plan_and_the_tables(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
    #[values(EngineActions::Auto, EngineActions::KeepOn)] actions: EngineActions,
    #[values(false, true)] dry_run: bool,
) {
    with_db(dialect, |db| async move {
        fixture(&db, false).await;
        let (graph, selection) = rules_and_parent_1(&db).await;
        let planned = plan(&db.conn, &graph, "p", &selection, DeleteMode::Orm)
            .await
            .expect("plan");
        let options = DeleteOptions::default()
            .engine_actions(actions)
            .dry_run(dry_run);
        let report = delete(&db.conn, &graph, "p", &selection, options)
            .await
            .expect("delete");
        let updated = &report.effect.updated;
        for (table, column, expected) in [("c", "a_id", 3), ("c", "b_id", 2), ("d", "p_id", 2)] {
            assert_eq!(
                rows(updated, table, column),
                Some(expected),
                "{dialect}: {table}.{column} in {updated:?}"
            );
            assert_eq!(
                rows(&planned.updated, table, column),
                Some(expected),
                "{dialect}: plan of {table}.{column}"
            );
        }
        assert_eq!(
            rows(updated, "e", "p_id"),
            None,
            "{dialect}: e has no such row"
        );
        assert_eq!(report.effect.deleted.get("k"), Some(&1), "{dialect}");
        assert_eq!(
            report.effect.updated.len(),
            planned.updated.len(),
            "{dialect}"
        );
        let nulls = scalar(
            &db.conn,
            "SELECT (SELECT COUNT(*) FROM c WHERE a_id IS NULL) * 100 \
             + (SELECT COUNT(*) FROM c WHERE b_id IS NULL) * 10 \
             + (SELECT COUNT(*) FROM d WHERE p_id IS NULL)",
        )
        .await;
        // Before: c.a_id NULL in 1 row, c.b_id NULL in 1 row, d none.
        let expected = if dry_run { 110 } else { 400 + 30 + 2 };
        assert_eq!(nulls, expected, "{dialect}: dry run {dry_run}");
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn a_delete_with_a_restricting_edge_counts_beforehand_and_changes_nothing(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        // A RESTRICT edge is not a plain SET NULL: every edge is counted beforehand and the
        // delete is refused before anything runs.
        fixture(&db, true).await;
        let (graph, selection) = rules_and_parent_1(&db).await;
        let error = delete(&db.conn, &graph, "p", &selection, DeleteOptions::default())
            .await
            .expect_err("refused");
        let cascade_service::delete::DeleteError::Refused(refusal) = error else {
            panic!("{dialect}: {error:?}");
        };
        assert_eq!(refusal.table, "r", "{dialect}");
        assert_eq!(refusal.rows, 2, "{dialect}: both rows counted");
        assert_eq!(scalar(&db.conn, "SELECT COUNT(*) FROM p").await, 2);
        assert_eq!(
            scalar(&db.conn, "SELECT COUNT(*) FROM c WHERE a_id IS NULL").await,
            1,
            "{dialect}: nothing rewritten"
        );
    })
    .await;
}
