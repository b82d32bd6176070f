//! The `cascade` command line, run in-process: global options, exit statuses, JSON output, and
//! bad input that must fail cleanly and change nothing.

use cascade_cli::Status;
use cascade_entity::rules::Dialect;
use rstest::rstest;
use serde_json::Value;
use tests::{cascade, dump_table, with_db};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[tokio::test]
async fn declared_rules_need_no_database() {
    // The URL points nowhere reachable: declared rules must not connect.
    let (status, out) = cascade(&[
        "--url",
        "postgres://nobody@127.0.0.1:1/none",
        "rules",
        "--json",
    ])
    .await;
    assert_eq!(status.expect("rules"), Status::Clean);
    let report = json(&out);
    assert_eq!(report["source"], "declared");
    let tables = report["tables"].as_object().expect("tables");
    assert_eq!(tables.len(), 24);
    let run_rules: Vec<&Value> = tables["run"]["foreign_keys"]
        .as_array()
        .expect("fks")
        .iter()
        .map(|fk| &fk["on_delete"])
        .collect();
    assert_eq!(run_rules, ["set_null", "set_null", "set_null"]);

    let (status, out) = cascade(&["rules"]).await;
    assert_eq!(status.expect("human rules"), Status::Clean);
    assert!(out.contains("SET NULL") && out.contains("CASCADE") && out.contains("deployment"));
}

#[rstest]
#[tokio::test]
async fn migrate_then_live_rules_match_declared(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let url = db.url.as_str();
        let (status, out) = cascade(&["migrate", "status", "--url", url, "--json"]).await;
        assert_eq!(status.expect("status"), Status::Clean);
        assert_eq!(json(&out)["migrations"][0]["applied"], false);

        let (status, _) = cascade(&["--url", url, "migrate", "up"]).await;
        assert_eq!(status.expect("up"), Status::Clean);

        // Global options after the command name work too.
        let (status, out) = cascade(&["rules", "--url", url, "--rules", "live", "--json"]).await;
        assert_eq!(status.expect("live rules"), Status::Clean);
        let live = json(&out);
        assert_eq!(live["source"], "live");
        let graph: cascade_entity::RuleGraph = serde_json::from_value(live).expect("a RuleGraph");
        let declared = tests::domain_rules();
        assert_eq!(declared.diff(&graph, dialect), vec![]);

        let (status, out) = cascade(&["--url", url, "migrate", "down", "--json"]).await;
        assert_eq!(status.expect("down"), Status::Clean);
        assert_eq!(json(&out)["migrations"][0]["applied"], false);
        let (_, out) = cascade(&["--url", url, "--rules", "live", "rules", "--json"]).await;
        assert_eq!(json(&out)["tables"].as_object().map(|t| t.len()), Some(0));
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn seed_is_deterministic_and_refuses_non_empty_tables(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |first| async move {
        with_db(dialect, |second| async move {
            for db in [&first, &second] {
                let (status, _) = cascade(&["--url", &db.url, "migrate", "up"]).await;
                status.expect("up");
                let (status, out) = cascade(&[
                    "--url", &db.url, "seed", "--scale", "300", "--seed", "7", "--json",
                ])
                .await;
                assert_eq!(status.expect("seed"), Status::Clean);
                let report = json(&out);
                let total: u64 = report["rows"]
                    .as_object()
                    .expect("rows")
                    .values()
                    .filter_map(Value::as_u64)
                    .sum();
                assert!((250..=450).contains(&total), "about 300 rows, got {total}");
            }
            let declared = tests::domain_rules();
            for table in declared.tables.keys() {
                assert_eq!(
                    dump_table(&first.conn, table).await,
                    dump_table(&second.conn, table).await,
                    "{dialect}: {table} differs between two seeds with the same --seed"
                );
            }
            // Seeding again would collide: refused, nothing changed.
            let before = dump_table(&first.conn, "run").await;
            let (status, _) = cascade(&["--url", &first.url, "seed", "--scale", "300"]).await;
            let error = status.expect_err("non-empty tables are refused");
            assert!(error.to_string().contains("already holds rows"), "{error}");
            assert_eq!(dump_table(&first.conn, "run").await, before);
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn different_seeds_give_different_data() {
    with_db(Dialect::Sqlite, |a| async move {
        with_db(Dialect::Sqlite, |b| async move {
            for (db, seed) in [(&a, "1"), (&b, "2")] {
                cascade(&["--url", &db.url, "migrate", "up"])
                    .await
                    .0
                    .expect("up");
                cascade(&["--url", &db.url, "seed", "--scale", "200", "--seed", seed])
                    .await
                    .0
                    .expect("seed");
            }
            assert_ne!(
                dump_table(&a.conn, "run").await,
                dump_table(&b.conn, "run").await
            );
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn seed_without_schema_is_refused() {
    with_db(Dialect::Sqlite, |db| async move {
        let (status, _) = cascade(&["--url", &db.url, "seed"]).await;
        let error = status.expect_err("no schema");
        assert!(error.to_string().contains("cascade migrate up"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn demo_builds_and_reports_the_database() {
    with_db(Dialect::Sqlite, |db| async move {
        let (status, out) = cascade(&["--url", &db.url, "demo", "--json"]).await;
        assert_eq!(status.expect("demo"), Status::Clean);
        let report = json(&out);
        let tables = report["tables"].as_array().expect("tables");
        assert_eq!(tables.len(), 24);
        for table in tables {
            let name = table["table"].as_str().expect("name");
            let counted = cascade_service::counts::count_rows(&db.conn, name)
                .await
                .expect("count");
            assert_eq!(table["rows"].as_u64(), Some(counted), "{name}");
        }
        assert!(tables.iter().any(|t| t["rows"].as_u64() > Some(100)));
        // Running it again starts over: same rows, not twice as many.
        let (status, again) = cascade(&["--url", &db.url, "demo", "--json"]).await;
        status.expect("second demo");
        assert_eq!(json(&again)["tables"], report["tables"]);
    })
    .await;
}

#[tokio::test]
async fn demo_refuses_a_database_holding_other_tables() {
    with_db(Dialect::Sqlite, |db| async move {
        use sea_orm::ConnectionTrait;
        db.conn
            .execute_unprepared("CREATE TABLE precious (id INTEGER PRIMARY KEY)")
            .await
            .expect("create");
        db.conn
            .execute_unprepared("INSERT INTO precious VALUES (42)")
            .await
            .expect("insert");
        let (status, _) = cascade(&["--url", &db.url, "demo"]).await;
        let error = status.expect_err("refused");
        assert!(error.to_string().contains("precious"), "{error}");
        assert_eq!(
            dump_table(&db.conn, "precious").await,
            vec![vec![Some("42".to_owned())]]
        );
    })
    .await;
}

#[tokio::test]
async fn malformed_urls_are_usage_errors() {
    for url in [
        "nonsense",
        "oracle://x/y",
        "postgres://127.0.0.1:5432",
        "sqlite://",
    ] {
        let (status, out) = cascade(&["--url", url, "rules", "--rules", "live"]).await;
        let error = status.expect_err(url);
        assert!(
            error.to_string().contains("malformed database URL"),
            "{url}: {error}"
        );
        assert!(out.is_empty());
    }
}

#[tokio::test]
async fn unreachable_server_names_the_url_without_password() {
    let (status, _) = cascade(&[
        "--url",
        "postgres://me:secret@127.0.0.1:1/db",
        "migrate",
        "status",
    ])
    .await;
    let error = format!("{:#}", status.expect_err("unreachable"));
    assert!(
        error.contains("cannot connect to postgres://me:***@127.0.0.1:1/db"),
        "{error}"
    );
    assert!(!error.contains("secret"));
}
