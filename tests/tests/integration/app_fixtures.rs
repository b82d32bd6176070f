//! Fixtures for an outside app's graph: deterministic for a seed, references that respect the
//! rules, overrides, the inserted keys returned; a graph the plan cannot fill is refused with a
//! typed error and nothing inserted; `cascade seed` serves the app's own graph.

use blog_example::{Migrator, registry};
use cascade_cli::Status;
use cascade_entity::rules::Dialect;
use cascade_migration::MigratorTrait;
use cascade_service::fixtures::{FixtureError, FixturePlan, Fixtures, InsertOptions, insert};
use rstest::rstest;
use sea_orm::sea_query::Value;
use tests::{cascade_with, dump_table, with_db};

const TABLES: [&str; 5] = ["author", "post", "tag", "post_tag", "comment"];

fn plan(seed: u64) -> FixturePlan {
    FixturePlan::new(seed)
        .rows("author", 6)
        .rows("post", 20)
        .rows("tag", 5)
        .rows("post_tag", 25)
        .rows("comment", 50)
}

#[rstest]
#[tokio::test]
async fn same_seed_same_rows_and_keys_come_back(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |a| async move {
        with_db(dialect, |b| async move {
            let graph = registry().rules().expect("valid");
            for db in [&a, &b] {
                Migrator::up(&db.conn, None).await.expect("up");
                let mut fixtures = plan(9).build(&graph).expect("build");
                let first = fixtures.refs("author")[0].clone();
                fixtures.set(&first, "name", "Overridden");
                let inserted = insert(&db.conn, &graph, &fixtures, &InsertOptions::default())
                    .await
                    .expect("insert");
                assert_eq!(inserted.rows["comment"], 50);
                assert_eq!(inserted.keys["author"][0], vec![Value::BigInt(Some(1))]);
                assert_eq!(inserted.keys["post_tag"].len(), 25);
            }
            for table in TABLES {
                assert_eq!(
                    dump_table(&a.conn, table).await,
                    dump_table(&b.conn, table).await,
                    "{dialect}: {table}"
                );
            }
            let authors = dump_table(&a.conn, "author").await;
            assert!(
                authors
                    .iter()
                    .any(|row| row.contains(&Some("Overridden".to_owned())))
            );
            // References respect the rules: no orphans, the FKs held on insert.
            let (status, _) =
                cascade_with(&blog_example::app(), &["--url", &a.url, "orphans"]).await;
            assert_eq!(status.expect("orphans"), Status::Clean);
        })
        .await;
    })
    .await;
}

#[test]
fn graphs_the_plan_cannot_fill_are_refused() {
    let graph = registry().rules().expect("valid");
    let error = FixturePlan::new(1)
        .rows("post", 3)
        .build(&graph)
        .expect_err("no authors");
    assert!(
        matches!(&error, FixtureError::NoParent { table, parent, .. } if table == "post" && parent == "author"),
        "{error}"
    );
    let error = FixturePlan::new(1)
        .rows("post", 2)
        .rows("author", 1)
        .rows("tag", 1)
        .rows("post_tag", 3)
        .build(&graph)
        .expect_err("only two distinct (post, tag) keys");
    assert!(matches!(error, FixtureError::KeySpace { .. }), "{error}");
    let error = FixturePlan::new(1)
        .build(&graph)
        .expect_err("nothing asked");
    assert!(matches!(error, FixtureError::Empty), "{error}");
    let error = FixturePlan::new(1)
        .rows("nosuch", 1)
        .build(&graph)
        .expect_err("unknown");
    assert!(error.to_string().contains("nosuch"), "{error}");
}

#[rstest]
#[tokio::test]
async fn a_refused_insert_changes_nothing_and_seed_serves_the_app(
    #[values(Dialect::Sqlite, Dialect::Postgres)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = registry().rules().expect("valid");
        Migrator::up(&db.conn, None).await.expect("up");
        let mut fixtures = Fixtures::new();
        fixtures.add("author", &[]);
        let orphan_post = fixtures.add("post", &[]);
        let _ = orphan_post;
        let error = insert(&db.conn, &graph, &fixtures, &InsertOptions::default())
            .await
            .expect_err("a NOT NULL reference without a parent row");
        assert!(error.to_string().contains("author"), "{error}");
        for table in TABLES {
            assert!(dump_table(&db.conn, table).await.is_empty(), "{table}");
        }
        let app = blog_example::app();
        let (status, out) = cascade_with(
            &app,
            &["--url", &db.url, "seed", "--scale", "100", "--json"],
        )
        .await;
        assert_eq!(status.expect("seed"), Status::Clean);
        let report: serde_json::Value = serde_json::from_str(&out).expect("json");
        let total: u64 = report["rows"]
            .as_object()
            .expect("rows")
            .values()
            .filter_map(serde_json::Value::as_u64)
            .sum();
        assert!(total >= 100, "{report}");
    })
    .await;
}
