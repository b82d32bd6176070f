//! Incident 1, end to end on every backend: a schema grown by migrations, early ones with bare
//! `REFERENCES users (id)`, later ones `ON DELETE CASCADE`. The owner policy audit lists exactly
//! the bare ones; the repair (written as up/down SQL, applied through the CLI, re-applied as a
//! sea-orm-migration step) makes "delete my data" work and empties every per-user table for that
//! user; repair then finds nothing; down restores the previous constraints.

use std::collections::BTreeMap;

use cascade_cli::Status;
use cascade_entity::rules::{Dialect, FkAction};
use cascade_migration::repair::{self, DOWN_WARNING, RepairMigration};
use cascade_migration::{MigrationTrait, SchemaManager, introspect};
use cascade_service::expected::apply_policies;
use cascade_service::policy::Policy;
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tests::{cascade, with_db};

/// Per-user tables and whether their migration said `ON DELETE CASCADE` (else: bare, or RESTRICT).
const TABLES: &[(&str, &str)] = &[
    ("profile", ""),
    ("post", ""),
    ("comment", " ON DELETE CASCADE"),
    ("upload", ""),
    ("session", " ON DELETE CASCADE"),
    ("token", " ON DELETE RESTRICT"),
    ("setting", " ON DELETE CASCADE"),
    ("invoice", ""),
    ("address", " ON DELETE CASCADE"),
    ("device", ""),
    ("follow", " ON DELETE CASCADE"),
    ("message", " ON DELETE CASCADE"),
];

const USERS: [i32; 3] = [1, 2, 3];

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("count")
}

/// "Migrations" over time: users, then per-user tables in batches, one attachment table that
/// hangs off `post` (so the SQLite rebuild of `post` must keep its incoming reference working).
async fn create_and_seed(db: &DatabaseConnection) {
    run(
        db,
        "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL)",
    )
    .await;
    for (table, rule) in TABLES {
        run(
            db,
            &format!(
                "CREATE TABLE {table} (id INT PRIMARY KEY, user_id INT NOT NULL, \
                 body VARCHAR(32) DEFAULT 'x', FOREIGN KEY (user_id) REFERENCES users (id){rule})"
            ),
        )
        .await;
    }
    run(
        db,
        "CREATE TABLE attachment (id INT PRIMARY KEY, post_id INT NOT NULL, \
         FOREIGN KEY (post_id) REFERENCES post (id) ON DELETE CASCADE)",
    )
    .await;
    for user in USERS {
        run(db, &format!("INSERT INTO users VALUES ({user}, 'u{user}')")).await;
        for (table, _) in TABLES {
            for k in 1..=2 {
                let id = user * 10 + k;
                run(
                    db,
                    &format!("INSERT INTO {table} (id, user_id) VALUES ({id}, {user})"),
                )
                .await;
            }
        }
        run(
            db,
            &format!("INSERT INTO attachment VALUES ({user}1, {user}1)"),
        )
        .await;
    }
}

/// ON DELETE action of each table's FK to `users`.
async fn user_actions(db: &DatabaseConnection) -> BTreeMap<String, FkAction> {
    let graph = introspect(db).await.expect("introspect");
    graph
        .referencing("users")
        .map(|(t, fk)| (t.name.clone(), fk.on_delete))
        .collect()
}

#[rstest]
#[tokio::test]
async fn owner_policy_audit_repair_delete_and_rollback(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        create_and_seed(&db.conn).await;
        let url = db.url.as_str();
        let policy = ["--rules", "live", "--policy", "owner=users:cascade"];
        let original = user_actions(&db.conn).await;

        // The incident: deleting a user fails on the first bare reference.
        assert!(
            db.conn
                .execute_unprepared("DELETE FROM users WHERE id = 1")
                .await
                .is_err()
        );

        // Audit lists exactly the non-cascading FKs to users, and (where the engine does not
        // index FKs itself) every FK no index supports: drift under `--rules live` too.
        let (status, out) =
            cascade(&[&["audit", "--url", url, "--json"][..], &policy].concat()).await;
        assert_eq!(status.expect("audit"), Status::Finding, "{out}");
        let report: Value = serde_json::from_str(&out).expect("json");
        let drift = report["drift"].as_array().expect("drift");
        let tables_of = |kind: &str| -> Vec<&str> {
            let mut tables: Vec<&str> = drift
                .iter()
                .filter(|d| d["kind"] == kind)
                .map(|d| d["table"].as_str().expect("table"))
                .collect();
            tables.sort();
            tables
        };
        for d in drift {
            match d["kind"].as_str() {
                Some("foreign_key_action") => assert_eq!(d["expected"], "cascade"),
                Some("missing_foreign_key_index") => {}
                _ => panic!("{dialect}: unexpected drift {d}"),
            }
        }
        let mut bare: Vec<&str> = TABLES
            .iter()
            .filter(|(_, rule)| !rule.contains("CASCADE"))
            .map(|(t, _)| *t)
            .collect();
        bare.sort();
        assert_eq!(tables_of("foreign_key_action"), bare, "{dialect}");
        let mut unindexed: Vec<&str> = match dialect {
            Dialect::MySql => Vec::new(),
            _ => TABLES
                .iter()
                .map(|(t, _)| *t)
                .chain(["attachment"])
                .collect(),
        };
        unindexed.sort();
        assert_eq!(
            tables_of("missing_foreign_key_index"),
            unindexed,
            "{dialect}"
        );

        // The plan, as files: up and down, down starting with the warning.
        let dir = tempfile::tempdir().expect("tempdir");
        let out_dir = dir.path().to_str().expect("utf-8 path");
        let (status, out) =
            cascade(&[&["repair", "--url", url, "--out", out_dir][..], &policy].concat()).await;
        assert_eq!(status.expect("repair plan"), Status::Finding, "{out}");
        let up = std::fs::read_to_string(dir.path().join("up.sql")).expect("up.sql");
        let down = std::fs::read_to_string(dir.path().join("down.sql")).expect("down.sql");
        assert!(up.contains("CASCADE"), "{up}");
        assert!(
            down.lines().nth(1).is_some_and(|l| l.contains("WARNING")),
            "{down}"
        );
        assert!(down.contains(&DOWN_WARNING[..40]));
        if dialect == Dialect::Postgres {
            assert!(
                up.contains("NOT VALID") && up.contains("VALIDATE CONSTRAINT"),
                "{up}"
            );
        }
        // Nothing changed by planning.
        assert_eq!(user_actions(&db.conn).await, original);

        // The same plan through the library (the expected graph `audit` and `repair` use: the
        // policy applied, every FK indexed), kept for the migration-step checks below.
        let expected = apply_policies(
            introspect(&db.conn).await.expect("introspect"),
            &["owner=users:cascade".parse::<Policy>().expect("policy")],
        )
        .expect("policy applies")
        .with_fk_indexes();
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(plan.changes.len(), bare.len());
        assert!(plan.blockers.is_empty());

        // Apply through the CLI: verified, then audit and repair find nothing.
        let (status, out) =
            cascade(&[&["repair", "--url", url, "--apply"][..], &policy].concat()).await;
        assert_eq!(status.expect("apply"), Status::Clean, "{out}");
        let (status, out) = cascade(&[&["audit", "--url", url][..], &policy].concat()).await;
        assert_eq!(status.expect("audit after"), Status::Clean, "{out}");
        let (status, out) = cascade(&[&["repair", "--url", url][..], &policy].concat()).await;
        assert_eq!(status.expect("repair again"), Status::Clean, "{out}");
        assert!(out.contains("nothing to repair"), "{out}");

        // Applying the same up script again (as a migration step) changes nothing.
        let step = RepairMigration::new("m_repair_owner_cascade", plan);
        step.up(&SchemaManager::new(&db.conn))
            .await
            .expect("second up");
        let repaired = user_actions(&db.conn).await;
        assert!(
            repaired.values().all(|a| *a == FkAction::Cascade),
            "{repaired:?}"
        );
        let (status, _) = cascade(&[&["audit", "--url", url][..], &policy].concat()).await;
        assert_eq!(status.expect("audit after twice"), Status::Clean);

        // "Delete my data" now works and leaves nothing of user 1 anywhere.
        run(&db.conn, "DELETE FROM users WHERE id = 1").await;
        for (table, _) in TABLES {
            assert_eq!(
                count(
                    &db.conn,
                    &format!("SELECT COUNT(*) FROM {table} WHERE user_id = 1")
                )
                .await,
                0,
                "{dialect}: {table}"
            );
            assert_eq!(
                count(&db.conn, &format!("SELECT COUNT(*) FROM {table}")).await,
                4,
                "{dialect}: {table} keeps the other users' rows"
            );
        }
        // The attachment of user 1's post went with it (incoming reference survived a rebuild).
        assert_eq!(
            count(&db.conn, "SELECT COUNT(*) FROM attachment").await,
            2,
            "{dialect}"
        );

        // Down restores the previous constraints exactly.
        step.down(&SchemaManager::new(&db.conn))
            .await
            .expect("down");
        assert_eq!(user_actions(&db.conn).await, original, "{dialect}");
        let (status, _) = cascade(&[&["audit", "--url", url][..], &policy].concat()).await;
        assert_eq!(status.expect("audit after down"), Status::Finding);
        assert!(
            db.conn
                .execute_unprepared("DELETE FROM users WHERE id = 2")
                .await
                .is_err(),
            "{dialect}: bare references block again"
        );
    })
    .await;
}

/// The pre-flight: with an orphan behind a bare reference (inserted while enforcement was off),
/// the repair names the blocking FK and its count, refuses, and changes nothing; once the orphan
/// is pruned, the same repair goes through.
#[rstest]
#[tokio::test]
async fn repair_refuses_when_orphans_would_fail_the_new_constraint(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        create_and_seed(&db.conn).await;
        {
            let unenforced =
                cascade_service::connect::connect(&db.url, cascade_service::connect::Enforce::Off)
                    .await
                    .expect("enforcement off");
            run(
                &unenforced,
                "INSERT INTO post (id, user_id) VALUES (99, 42)",
            )
            .await;
            unenforced.close().await.expect("close");
        }
        let url = db.url.as_str();
        let policy = ["--rules", "live", "--policy", "owner=users:cascade"];
        let original = user_actions(&db.conn).await;

        let expected = apply_policies(
            introspect(&db.conn).await.expect("introspect"),
            &["owner=users:cascade".parse::<Policy>().expect("policy")],
        )
        .expect("policy applies");
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(
            plan.blockers,
            [repair::Blocker {
                table: "post".into(),
                foreign_key: "post(user_id) -> users(id)".into(),
                orphans: 1,
            }]
        );
        match repair::apply(&db.conn, &plan).await {
            Err(repair::RepairError::Orphans(blockers)) => assert_eq!(blockers.len(), 1),
            other => panic!("expected an orphan refusal, got {other:?}"),
        }
        let (status, out) =
            cascade(&[&["repair", "--url", url, "--apply"][..], &policy].concat()).await;
        assert_eq!(status.expect("refused"), Status::Finding, "{out}");
        assert!(
            out.contains("1 orphan row(s)") && out.contains("not applied"),
            "{out}"
        );
        assert_eq!(
            user_actions(&db.conn).await,
            original,
            "{dialect}: nothing changed"
        );

        let (status, out) = cascade(&[
            "orphans",
            "--url",
            url,
            "--rules",
            "live",
            "--prune",
            "--include-restricted",
        ])
        .await;
        assert_eq!(status.expect("prune"), Status::Clean, "{out}");
        let (status, out) =
            cascade(&[&["repair", "--url", url, "--apply"][..], &policy].concat()).await;
        assert_eq!(status.expect("repair after prune"), Status::Clean, "{out}");
    })
    .await;
}

/// A SQLite rebuild re-checks every FK of the rebuilt table, so an orphan behind an FK the repair
/// does not change blocks it there (and only there: PostgreSQL and MariaDB alter just the one
/// constraint and go ahead).
#[rstest]
#[tokio::test]
async fn rebuild_preflight_covers_unchanged_fks_of_the_table(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        run(&db.conn, "CREATE TABLE users (id INT PRIMARY KEY)").await;
        run(&db.conn, "CREATE TABLE topic (id INT PRIMARY KEY)").await;
        run(
            &db.conn,
            "CREATE TABLE note (id INT PRIMARY KEY, user_id INT NOT NULL, topic_id INT NULL, \
             FOREIGN KEY (user_id) REFERENCES users (id), \
             FOREIGN KEY (topic_id) REFERENCES topic (id) ON DELETE SET NULL)",
        )
        .await;
        run(&db.conn, "INSERT INTO users VALUES (1)").await;
        {
            let unenforced =
                cascade_service::connect::connect(&db.url, cascade_service::connect::Enforce::Off)
                    .await
                    .expect("enforcement off");
            run(&unenforced, "INSERT INTO note VALUES (1, 1, 7)").await;
            unenforced.close().await.expect("close");
        }
        let expected = apply_policies(
            introspect(&db.conn).await.expect("introspect"),
            &["owner=users:cascade".parse::<Policy>().expect("policy")],
        )
        .expect("policy applies");
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(plan.changes.len(), 1);
        let blocking: Vec<&str> = plan
            .blockers
            .iter()
            .map(|b| b.foreign_key.as_str())
            .collect();
        match dialect {
            Dialect::Sqlite => assert_eq!(blocking, ["note(topic_id) -> topic(id)"]),
            _ => {
                assert!(blocking.is_empty(), "{dialect}: {blocking:?}");
                repair::apply(&db.conn, &plan).await.expect("apply");
                assert_eq!(
                    user_actions(&db.conn).await.get("note"),
                    Some(&FkAction::Cascade)
                );
            }
        }
    })
    .await;
}
