//! Incident 2, end to end: rows deleted with FK enforcement off leave orphans, including behind a
//! 1:1 side table's unenforced back-pointer (declared with `--relation`). `cascade orphans`
//! finds each one with counts and sample keys, `--prune --dry-run` changes nothing, `--prune`
//! repairs them as the rules say (CASCADE deleted, to a fixpoint; SET NULL nulled; RESTRICT only
//! reported unless `--include-restricted`), and a second scan finds zero. Named for SQLite in the
//! incident; run on every backend because nothing in it is SQLite-specific.

use cascade_cli::Status;
use cascade_entity::rules::Dialect;
use cascade_service::connect::{Enforce, connect};
use rstest::rstest;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tests::{cascade, dump_table, exec, with_db};

const SCHEMA: &[&str] = &[
    "CREATE TABLE account (id INT PRIMARY KEY)",
    "CREATE TABLE workflow (id INT PRIMARY KEY, owner_id INT NOT NULL, \
     FOREIGN KEY (owner_id) REFERENCES account (id) ON DELETE CASCADE)",
    // The 1:1 side table: its back-pointer has no FK at all.
    "CREATE TABLE workflow_status (id INT PRIMARY KEY, workflow_id INT NOT NULL, state VARCHAR(8))",
    "CREATE TABLE run (id INT PRIMARY KEY, workflow_id INT NULL, \
     FOREIGN KEY (workflow_id) REFERENCES workflow (id) ON DELETE SET NULL)",
    "CREATE TABLE workflow_label (id INT PRIMARY KEY, parent_id INT NOT NULL, \
     FOREIGN KEY (parent_id) REFERENCES workflow (id) ON DELETE CASCADE)",
    "CREATE TABLE review (id INT PRIMARY KEY, workflow_id INT NOT NULL, \
     FOREIGN KEY (workflow_id) REFERENCES workflow (id) ON DELETE RESTRICT)",
];

const STATUS_RELATION: &str = "workflow_status.workflow_id -> workflow.id cascade";

/// Three accounts, two workflows each (`A1`, `A2`), each workflow with a status, two runs and a
/// label; one review on workflow 32.
async fn seed(db: &DatabaseConnection) {
    for sql in SCHEMA {
        exec(db, sql).await;
    }
    for account in 1..=3 {
        exec(db, &format!("INSERT INTO account VALUES ({account})")).await;
        for k in 1..=2 {
            let w = account * 10 + k;
            exec(db, &format!("INSERT INTO workflow VALUES ({w}, {account})")).await;
            exec(
                db,
                &format!("INSERT INTO workflow_status VALUES ({w}, {w}, 'ok')"),
            )
            .await;
            exec(
                db,
                &format!("INSERT INTO run VALUES ({w}1, {w}), ({w}2, {w})"),
            )
            .await;
            exec(db, &format!("INSERT INTO workflow_label VALUES ({w}, {w})")).await;
        }
    }
    exec(db, "INSERT INTO review VALUES (1, 32)").await;
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// `{relation: count}` of a scan report.
fn counts(report: &Value) -> Vec<(String, u64)> {
    report["orphans"]
        .as_array()
        .expect("orphans")
        .iter()
        .map(|o| {
            (
                o["relation"].as_str().expect("relation").to_owned(),
                o["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

#[rstest]
#[tokio::test]
async fn orphans_found_pruned_and_gone(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        seed(&db.conn).await;
        // The incident: deletes with enforcement off.
        {
            let unenforced = connect(&db.url, Enforce::Off)
                .await
                .expect("enforcement off");
            exec(&unenforced, "DELETE FROM account WHERE id = 1").await;
            exec(&unenforced, "DELETE FROM workflow WHERE id = 32").await;
            unenforced.close().await.expect("close");
        }
        let url = db.url.as_str();
        let base = ["orphans", "--url", url, "--rules", "live", "--json"];
        let relation = ["--relation", STATUS_RELATION];

        let (status, out) = cascade(&[&base[..], &relation].concat()).await;
        assert_eq!(status.expect("scan"), Status::Finding, "{out}");
        let report = json(&out);
        let mut found = counts(&report);
        found.sort();
        assert_eq!(
            found,
            [
                ("review(workflow_id) -> workflow(id)".to_owned(), 1),
                ("run(workflow_id) -> workflow(id)".to_owned(), 2),
                ("workflow(owner_id) -> account(id)".to_owned(), 2),
                ("workflow_label(parent_id) -> workflow(id)".to_owned(), 1),
                ("workflow_status(workflow_id) -> workflow(id)".to_owned(), 1),
            ],
            "{dialect}"
        );
        assert_eq!(report["total"], 7);
        let workflow = report["orphans"]
            .as_array()
            .expect("orphans")
            .iter()
            .find(|o| o["table"] == "workflow")
            .expect("workflow orphans");
        assert_eq!(workflow["samples"], serde_json::json!([["11"], ["12"]]));
        let status_set = report["orphans"]
            .as_array()
            .expect("orphans")
            .iter()
            .find(|o| o["table"] == "workflow_status")
            .expect("status orphans");
        assert_eq!(status_set["orm_only"], true);

        // Without the declared relation, the unenforced back-pointer is invisible.
        let (_, out) = cascade(&base).await;
        assert_eq!(json(&out)["total"], 6);

        // A dry run reports and changes nothing.
        let tables = [
            "workflow",
            "workflow_status",
            "run",
            "workflow_label",
            "review",
        ];
        let mut before = Vec::new();
        for t in tables {
            before.push(dump_table(&db.conn, t).await);
        }
        let (status, out) =
            cascade(&[&base[..], &relation, &["--prune", "--dry-run"]].concat()).await;
        assert_eq!(status.expect("dry run"), Status::Finding, "{out}");
        assert_eq!(json(&out)["dry_run"], true);
        assert!(
            !json(&out)["changes"]
                .as_array()
                .expect("changes")
                .is_empty()
        );
        for (t, rows) in tables.iter().zip(&before) {
            assert_eq!(
                &dump_table(&db.conn, t).await,
                rows,
                "{dialect}: dry run changed {t}"
            );
        }

        // Prune: CASCADE orphans deleted (and, next round, the side-table rows of the deleted
        // workflows), SET NULL nulled, RESTRICT left and reported.
        let (status, out) = cascade(&[&base[..], &relation, &["--prune"]].concat()).await;
        assert_eq!(status.expect("prune"), Status::Finding, "{out}");
        let pruned = json(&out);
        assert_eq!(pruned["after"]["total"], 1, "{out}");
        let change = |table: &str| {
            pruned["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .filter(|c| c["table"] == table)
                .map(|c| {
                    (
                        c["action"].as_str().expect("action").to_owned(),
                        c["rows"].as_u64().expect("rows"),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(change("workflow"), [("deleted".to_owned(), 2)]);
        assert_eq!(change("workflow_status"), [("deleted".to_owned(), 3)]);
        assert_eq!(change("run"), [("nulled".to_owned(), 2)]);

        assert_eq!(
            dump_table(&db.conn, "workflow").await,
            [
                vec![Some("21".to_owned()), Some("2".to_owned())],
                vec![Some("22".to_owned()), Some("2".to_owned())],
                vec![Some("31".to_owned()), Some("3".to_owned())],
            ]
        );
        let statuses: Vec<_> = dump_table(&db.conn, "workflow_status")
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(
            statuses,
            [
                Some("21".to_owned()),
                Some("22".to_owned()),
                Some("31".to_owned())
            ]
        );
        let labels: Vec<_> = dump_table(&db.conn, "workflow_label")
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert_eq!(
            labels,
            [
                Some("21".to_owned()),
                Some("22".to_owned()),
                Some("31".to_owned())
            ]
        );
        let runs = dump_table(&db.conn, "run").await;
        assert_eq!(runs.len(), 12, "runs are kept");
        assert_eq!(
            runs.iter().filter(|r| r[1].is_none()).count(),
            6,
            "{runs:?}"
        );
        assert_eq!(dump_table(&db.conn, "review").await.len(), 1);

        // The RESTRICT orphan goes only when asked; then a scan finds zero.
        let (status, out) =
            cascade(&[&base[..], &relation, &["--prune", "--include-restricted"]].concat()).await;
        assert_eq!(status.expect("prune restricted"), Status::Clean, "{out}");
        assert!(dump_table(&db.conn, "review").await.is_empty());
        let (status, out) = cascade(&[&base[..], &relation].concat()).await;
        assert_eq!(status.expect("rescan"), Status::Clean, "{out}");
        assert_eq!(json(&out)["total"], 0);
    })
    .await;
}

#[tokio::test]
async fn bad_relation_is_refused_and_changes_nothing() {
    with_db(Dialect::Sqlite, |db| async move {
        seed(&db.conn).await;
        let before = dump_table(&db.conn, "workflow_status").await;
        for spec in [
            "workflow_status.nope -> workflow.id cascade",
            "ghost.workflow_id -> workflow.id cascade",
        ] {
            let (status, _) = cascade(&[
                "orphans",
                "--url",
                &db.url,
                "--rules",
                "live",
                "--prune",
                "--relation",
                spec,
            ])
            .await;
            let error = status.expect_err("refused");
            assert!(
                error.to_string().contains("nope") || error.to_string().contains("ghost"),
                "{error}"
            );
        }
        assert_eq!(dump_table(&db.conn, "workflow_status").await, before);
        // Audit and repair take only FK policies.
        let (status, _) = cascade(&[
            "audit",
            "--url",
            &db.url,
            "--rules",
            "live",
            "--policy",
            "protect=review",
        ])
        .await;
        assert!(status.is_err());
    })
    .await;
}
