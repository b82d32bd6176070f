//! PostgreSQL FKs left `NOT VALID` (added that way by hand, or by a repair interrupted between
//! its COMMIT and its `VALIDATE CONSTRAINT`) are audit findings, and `repair` finishes them:
//! audit exits 1, `repair --apply` validates and exits 0, audit exits 0. With an orphan behind
//! such an FK, the repair refuses and changes nothing.

use cascade_cli::Status;
use cascade_entity::rules::{Dialect, FkAction};
use cascade_migration::introspect;
use cascade_migration::repair::{self, Blocker, run_script};
use cascade_service::expected::apply_policies;
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;
use tests::{cascade, dump_table, with_db};

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `post`'s FKs as `(name, validated, ON DELETE code)` from the catalog.
async fn post_fks(db: &DatabaseConnection) -> Vec<(String, bool, String)> {
    let sql = "SELECT conname::text AS name, convalidated AS valid, confdeltype::text AS del \
               FROM pg_constraint WHERE contype = 'f' AND conrelid = 'post'::regclass \
               ORDER BY conname";
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("catalog")
        .iter()
        .map(|row| {
            (
                row.try_get("", "name").expect("name"),
                row.try_get("", "valid").expect("valid"),
                row.try_get("", "del").expect("del"),
            )
        })
        .collect()
}

async fn create(db: &DatabaseConnection) {
    for sql in [
        "CREATE TABLE users (id INT PRIMARY KEY)",
        "CREATE TABLE post (id INT PRIMARY KEY, user_id INT NOT NULL)",
        "INSERT INTO users VALUES (1), (2)",
        "INSERT INTO post VALUES (10, 1), (11, 2)",
    ] {
        run(db, sql).await;
    }
}

/// `audit ARGS` then its status and the `unenforced` list of its JSON report.
async fn audit(url: &str, args: &[&str]) -> (Status, Vec<String>) {
    let (status, out) = cascade(&[&["audit", "--url", url, "--json"][..], args].concat()).await;
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let unenforced = report["unenforced"]
        .as_array()
        .expect("unenforced")
        .iter()
        .map(|v| v.as_str().expect("text").to_owned())
        .collect();
    (status.expect("audit"), unenforced)
}

/// audit (1) -> repair --apply (0) -> audit (0) -> repair (0, nothing left).
async fn audit_repair_audit(url: &str, args: &[&str]) {
    let (status, unenforced) = audit(url, args).await;
    assert_eq!(status, Status::Finding);
    assert_eq!(unenforced.len(), 1, "{unenforced:?}");
    assert!(unenforced[0].contains("fk_post_user"), "{unenforced:?}");

    let (status, out) = cascade(&[&["repair", "--url", url][..], args].concat()).await;
    assert_eq!(status.expect("plan"), Status::Finding, "{out}");
    assert!(
        out.contains("validate post(user_id) -> users(id)")
            && out.contains("VALIDATE CONSTRAINT \"fk_post_user\""),
        "{out}"
    );
    let (status, out) = cascade(&[&["repair", "--url", url, "--apply"][..], args].concat()).await;
    assert_eq!(status.expect("apply"), Status::Clean, "{out}");
    assert!(out.contains("verified: nothing left to repair"), "{out}");

    let (status, unenforced) = audit(url, args).await;
    assert_eq!(status, Status::Clean, "{unenforced:?}");
    let (status, out) = cascade(&[&["repair", "--url", url][..], args].concat()).await;
    assert_eq!(status.expect("again"), Status::Clean, "{out}");
    assert!(out.contains("nothing to repair"), "{out}");
}

#[rstest]
#[tokio::test]
async fn hand_made_not_valid_fk_is_validated(#[values(Dialect::Postgres)] dialect: Dialect) {
    with_db(dialect, |db| async move {
        create(&db.conn).await;
        run(
            &db.conn,
            "ALTER TABLE post ADD CONSTRAINT fk_post_user FOREIGN KEY (user_id) \
             REFERENCES users (id) ON DELETE CASCADE NOT VALID",
        )
        .await;
        assert_eq!(
            post_fks(&db.conn).await,
            [("fk_post_user".into(), false, "c".into())]
        );
        audit_repair_audit(&db.url, &["--rules", "live"]).await;
        assert_eq!(
            post_fks(&db.conn).await,
            [("fk_post_user".into(), true, "c".into())]
        );
    })
    .await;
}

/// A repair that stopped after its COMMIT, before `VALIDATE CONSTRAINT`: the new rule is in
/// place but `NOT VALID`; running the repair again finishes it.
#[rstest]
#[tokio::test]
async fn interrupted_repair_is_finished_by_running_it_again(
    #[values(Dialect::Postgres)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        create(&db.conn).await;
        run(
            &db.conn,
            "ALTER TABLE post ADD CONSTRAINT fk_post_user FOREIGN KEY (user_id) \
             REFERENCES users (id)",
        )
        .await;
        let policy = ["--rules", "live", "--policy", "owner=users:cascade"];
        let expected = apply_policies(
            introspect(&db.conn).await.expect("introspect"),
            &["owner=users:cascade".parse().expect("policy")],
        )
        .expect("policy");
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.up.after_commit.len(), 1, "{:?}", plan.up);
        let mut interrupted = plan.up.clone();
        interrupted.after_commit.clear();
        run_script(&db.conn, &interrupted)
            .await
            .expect("up to COMMIT");
        assert_eq!(
            post_fks(&db.conn).await,
            [("fk_post_user".into(), false, "c".into())]
        );
        let (status, out) = cascade(&[&["audit", "--url", &db.url][..], &policy].concat()).await;
        assert_eq!(status.expect("audit"), Status::Finding, "{out}");

        audit_repair_audit(&db.url, &policy).await;
        assert_eq!(
            post_fks(&db.conn).await,
            [("fk_post_user".into(), true, "c".into())]
        );
        let graph = introspect(&db.conn).await.expect("introspect");
        assert_eq!(
            graph
                .referencing("users")
                .map(|(_, fk)| fk.on_delete)
                .collect::<Vec<_>>(),
            [FkAction::Cascade]
        );
    })
    .await;
}

/// The validation has the same pre-flight as an added FK: an orphan (accepted while the FK was
/// `NOT VALID`) makes the repair refuse, name the FK and its count, and change nothing.
#[rstest]
#[tokio::test]
async fn not_valid_fk_with_an_orphan_is_refused(#[values(Dialect::Postgres)] dialect: Dialect) {
    with_db(dialect, |db| async move {
        create(&db.conn).await;
        run(&db.conn, "INSERT INTO post VALUES (12, 42)").await;
        run(
            &db.conn,
            "ALTER TABLE post ADD CONSTRAINT fk_post_user FOREIGN KEY (user_id) \
             REFERENCES users (id) NOT VALID",
        )
        .await;
        let rows = dump_table(&db.conn, "post").await;
        let fks = post_fks(&db.conn).await;
        let expected = introspect(&db.conn).await.expect("introspect");
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(plan.validations.len(), 1);
        assert_eq!(
            plan.blockers,
            [Blocker {
                table: "post".into(),
                foreign_key: "post(user_id) -> users(id)".into(),
                orphans: 1,
            }]
        );
        assert!(matches!(
            repair::apply(&db.conn, &plan).await,
            Err(repair::RepairError::Orphans(_))
        ));

        let url = db.url.as_str();
        let (status, unenforced) = audit(url, &["--rules", "live"]).await;
        assert_eq!(status, Status::Finding, "{unenforced:?}");
        let (status, out) = cascade(&["repair", "--url", url, "--rules", "live", "--apply"]).await;
        assert_eq!(status.expect("refused"), Status::Finding, "{out}");
        assert!(
            out.contains("1 orphan row(s)") && out.contains("not applied"),
            "{out}"
        );
        assert_eq!(post_fks(&db.conn).await, fks, "constraint unchanged");
        assert_eq!(dump_table(&db.conn, "post").await, rows, "rows unchanged");
        let (status, _) = audit(url, &["--rules", "live"]).await;
        assert_eq!(status, Status::Finding);
    })
    .await;
}
