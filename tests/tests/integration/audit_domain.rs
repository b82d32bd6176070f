//! Drift on our own domain: a freshly migrated database audits clean on every backend; one FK's
//! action changed by hand (the way a DBA would on each engine) is reported as exactly that FK,
//! and the repair brings it back without touching the data.

use cascade_cli::Status;
use cascade_entity::rules::Dialect;
use cascade_service::connect::{Enforce, connect};
use rstest::rstest;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use tests::{cascade, dump_table, with_db};

/// Changes `run.owner_id -> user` from SET NULL to CASCADE by hand, per engine.
fn alter_by_hand(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &[
            "ALTER TABLE run DROP CONSTRAINT fk_run_owner_id",
            "ALTER TABLE run ADD CONSTRAINT fk_run_owner_id FOREIGN KEY (owner_id) \
             REFERENCES \"user\" (uid) ON DELETE CASCADE",
        ],
        Dialect::MySql => &[
            "ALTER TABLE run DROP FOREIGN KEY fk_run_owner_id",
            "ALTER TABLE run ADD CONSTRAINT fk_run_owner_id FOREIGN KEY (owner_id) \
             REFERENCES `user` (uid) ON DELETE CASCADE",
        ],
        // SQLite cannot alter a constraint; a hand edit of the stored DDL is what people do.
        Dialect::Sqlite => &[
            "PRAGMA writable_schema = ON",
            "UPDATE sqlite_schema SET sql = replace(sql, \
             'FOREIGN KEY (\"owner_id\") REFERENCES \"user\" (\"uid\") ON DELETE SET NULL', \
             'FOREIGN KEY (\"owner_id\") REFERENCES \"user\" (\"uid\") ON DELETE CASCADE') \
             WHERE type = 'table' AND name = 'run'",
            "PRAGMA writable_schema = OFF",
        ],
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[rstest]
#[tokio::test]
async fn domain_drift_is_reported_and_repaired(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let url = db.url.as_str();
        cascade(&["--url", url, "migrate", "up"])
            .await
            .0
            .expect("up");
        let (status, out) = cascade(&["--url", url, "audit", "--json"]).await;
        assert_eq!(
            status.expect("fresh audit"),
            Status::Clean,
            "{dialect}: {out}"
        );
        assert_eq!(json(&out)["drift_count"], 0);
        cascade(&["--url", url, "seed", "--scale", "60"])
            .await
            .0
            .expect("seed");
        let runs = dump_table(&db.conn, "run").await;
        assert!(!runs.is_empty());

        {
            let conn = connect(url, Enforce::On).await.expect("connect");
            for sql in alter_by_hand(dialect) {
                conn.execute_unprepared(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            conn.close().await.expect("close");
        }

        let (status, out) = cascade(&["--url", url, "audit", "--json"]).await;
        assert_eq!(status.expect("audit"), Status::Finding, "{out}");
        let drift = json(&out)["drift"].clone();
        assert_eq!(
            drift,
            serde_json::json!([{
                "kind": "foreign_key_action",
                "table": "run",
                "foreign_key": "run(owner_id) -> user(uid)",
                "event": "delete",
                "expected": "set_null",
                "actual": "cascade",
            }]),
            "{dialect}"
        );

        let (status, out) = cascade(&["--url", url, "repair", "--json"]).await;
        assert_eq!(status.expect("plan"), Status::Finding);
        let plan = json(&out);
        assert_eq!(plan["changes"].as_array().map(Vec::len), Some(1), "{out}");
        assert_eq!(plan["changes"][0]["table"], "run");

        let (status, out) = cascade(&["--url", url, "repair", "--apply"]).await;
        assert_eq!(status.expect("apply"), Status::Clean, "{out}");
        let (status, out) = cascade(&["--url", url, "audit"]).await;
        assert_eq!(
            status.expect("audit after"),
            Status::Clean,
            "{dialect}: {out}"
        );
        assert_eq!(
            dump_table(&db.conn, "run").await,
            runs,
            "{dialect}: data kept"
        );
    })
    .await;
}

/// A dropped FK index is drift (where the engine does not index FKs by itself), and the repair
/// recreates it; applying that repair again is harmless.
#[rstest]
#[tokio::test]
async fn missing_fk_index_is_reported_and_recreated(
    #[values(Dialect::Sqlite, Dialect::Postgres)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let url = db.url.as_str();
        cascade(&["--url", url, "migrate", "up"])
            .await
            .0
            .expect("up");
        db.conn
            .execute_unprepared("DROP INDEX ix_document_owner_id")
            .await
            .expect("drop index");
        let (status, out) = cascade(&["--url", url, "audit", "--json"]).await;
        assert_eq!(status.expect("audit"), Status::Finding);
        assert_eq!(
            json(&out)["drift"],
            serde_json::json!([{
                "kind": "missing_foreign_key_index",
                "table": "document",
                "columns": ["owner_id"],
            }])
        );
        let expected = tests::domain_rules();
        let plan = cascade_migration::repair::plan(&db.conn, &expected)
            .await
            .expect("plan");
        assert_eq!(plan.indexes.len(), 1);
        cascade_migration::repair::apply(&db.conn, &plan)
            .await
            .expect("apply");
        cascade_migration::repair::apply(&db.conn, &plan)
            .await
            .expect("apply twice");
        let (status, out) = cascade(&["--url", url, "audit"]).await;
        assert_eq!(status.expect("audit after"), Status::Clean, "{out}");
    })
    .await;
}

/// FKs the database does not enforce are findings: a SQLite or MariaDB session with enforcement
/// off, a PostgreSQL constraint left `NOT VALID`. A seeded domain database has no orphans.
#[rstest]
#[tokio::test]
async fn unenforced_fks_are_reported(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let url = db.url.as_str();
        cascade(&["--url", url, "migrate", "up"])
            .await
            .0
            .expect("up");
        cascade(&["--url", url, "seed", "--scale", "60"])
            .await
            .0
            .expect("seed");
        let (status, out) = cascade(&["--url", url, "orphans"]).await;
        assert_eq!(status.expect("orphans"), Status::Clean, "{out}");

        let declared = tests::domain_rules();
        let report = match dialect {
            Dialect::Postgres => {
                db.conn
                    .execute_unprepared(
                        "ALTER TABLE run DROP CONSTRAINT fk_run_owner_id; \
                         ALTER TABLE run ADD CONSTRAINT fk_run_owner_id FOREIGN KEY (owner_id) \
                         REFERENCES \"user\" (uid) ON DELETE SET NULL NOT VALID",
                    )
                    .await
                    .expect("not valid");
                cascade_service::audit::audit(&db.conn, &declared)
                    .await
                    .expect("audit")
            }
            _ => {
                let off = connect(url, Enforce::Off).await.expect("enforcement off");
                cascade_service::audit::audit(&off, &declared)
                    .await
                    .expect("audit")
            }
        };
        assert!(report.drift.is_empty(), "{:?}", report.drift);
        assert_eq!(
            report.unenforced.len(),
            1,
            "{dialect}: {:?}",
            report.unenforced
        );
        assert!(!report.is_clean());
        if dialect == Dialect::Postgres {
            assert!(report.unenforced[0].contains("fk_run_owner_id"));
        }
    })
    .await;
}
