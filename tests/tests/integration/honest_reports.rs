//! Reports that say what happened, on SQLite, PostgreSQL and MariaDB:
//!
//! - `delete --mode db` on a connection without FK enforcement is refused (the database would
//!   delete the root rows only) instead of reporting the plan's cascade as done;
//! - a missing FK index and an FK to non-key parent columns are one finding each, the same in
//!   `lint --rules live` (CL009 / CL013) and `audit --rules live`, and `plan` refuses the latter
//!   as `fk_mismatch` where the engine does (SQLite);
//! - the repair refusal's advice, run as printed by the real binary in the README's scenario,
//!   prunes the blocking orphans, and `orphans --prune` counts the rows the database's cascades
//!   deleted; the repair then goes through and audit is clean;
//! - `verify` prints differing rows as SQL literals and points at `audit` when the schema
//!   differs from the rules; JSON spells the dialect as the command line does.

use std::path::Path;
use std::process::Command;

use cascade_entity::rules::Dialect;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{DeleteError, DeleteMode, DeleteOptions, Selection, delete};
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tests::{TestDb, dump_table, exec, run_cli, with_db};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[rstest]
#[tokio::test]
async fn db_mode_without_enforcement_is_refused_and_changes_nothing(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        tests::seed_domain(&db.conn, 200, 1).await;
        let graph = tests::domain_rules();
        let before = dump_table(&db.conn, "project_label").await;
        let projects = dump_table(&db.conn, "project").await;
        let loose = connect(&db.url, Enforce::Off)
            .await
            .expect("enforcement off");
        let selection =
            Selection::parse_predicate("uid = 'project-0000001'", dialect).expect("predicate");
        let result = delete(
            &loose,
            &graph,
            "project",
            &selection,
            DeleteOptions::orm().mode(DeleteMode::Db),
        )
        .await;
        assert!(
            matches!(result, Err(DeleteError::DbModeWithoutEnforcement)),
            "{dialect}: {result:?}"
        );
        loose.close().await.expect("close");
        assert_eq!(dump_table(&db.conn, "project").await, projects);
        assert_eq!(dump_table(&db.conn, "project_label").await, before);
    })
    .await;
}

/// A parent with a non-unique `code` column, a child referencing it (SQLite and MariaDB accept
/// that FK; PostgreSQL refuses to create it), and a `note` whose FK no index supports (InnoDB
/// indexes every FK itself). Rows go in with enforcement off: SQLite refuses any write to a
/// parent behind such an FK ("foreign key mismatch").
async fn defective_schema(db: &TestDb, dialect: Dialect) {
    let mut ddl = vec!["CREATE TABLE parent (id INT PRIMARY KEY, code INT NOT NULL)".to_owned()];
    if dialect == Dialect::MySql {
        ddl.push("CREATE INDEX ix_parent_code ON parent (code)".to_owned());
    }
    if dialect != Dialect::Postgres {
        ddl.push(
            "CREATE TABLE child (id INT PRIMARY KEY, parent_code INT, \
             FOREIGN KEY (parent_code) REFERENCES parent (code) ON DELETE CASCADE)"
                .to_owned(),
        );
        ddl.push("CREATE INDEX ix_child_parent_code ON child (parent_code)".to_owned());
    }
    ddl.push(
        "CREATE TABLE note (id INT PRIMARY KEY, parent_id INT, \
         FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL)"
            .to_owned(),
    );
    let data = [
        "INSERT INTO parent VALUES (1, 7), (2, 7)".to_owned(),
        "INSERT INTO note VALUES (1, 1)".to_owned(),
    ];
    tests::build_fixture(db, &ddl, &data).await;
}

#[rstest]
#[tokio::test]
async fn lint_and_audit_report_the_same_defects_and_plan_agrees(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        defective_schema(&db, dialect).await;
        let url = db.url.as_str();
        let not_key = "child(parent_code) -> parent(code)";
        let unindexed = "note(parent_id) -> parent(id)";
        let expect_not_key = dialect != Dialect::Postgres;
        let expect_unindexed = dialect != Dialect::MySql;

        let lint = run_cli(&["--url", url, "--rules", "live", "--json", "lint"]).await;
        assert_eq!(
            lint.code,
            u8::from(expect_not_key),
            "{}{}",
            lint.out,
            lint.err
        );
        let lint = json(&lint.out);
        let lint_fks = |rule: &str| -> Vec<String> {
            lint["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .filter(|f| f["rule"] == rule)
                .map(|f| f["foreign_key"].as_str().expect("fk").to_owned())
                .collect()
        };
        assert_eq!(
            lint_fks("CL013"),
            if expect_not_key {
                vec![not_key]
            } else {
                vec![]
            },
            "{dialect}"
        );
        assert_eq!(
            lint_fks("CL009"),
            if expect_unindexed {
                vec![unindexed]
            } else {
                vec![]
            },
            "{dialect}"
        );

        let audit = run_cli(&["--url", url, "--rules", "live", "--json", "audit"]).await;
        let expect_findings = expect_not_key || expect_unindexed;
        assert_eq!(
            audit.code,
            u8::from(expect_findings),
            "{}{}",
            audit.out,
            audit.err
        );
        let report = json(&audit.out);
        assert_eq!(
            report["dialect"],
            dialect.to_string(),
            "JSON spells the dialect as --url"
        );
        let index_drift: Vec<&Value> = report["drift"]
            .as_array()
            .expect("drift")
            .iter()
            .filter(|d| d["kind"] == "missing_foreign_key_index")
            .collect();
        assert_eq!(index_drift.len(), usize::from(expect_unindexed), "{report}");
        if expect_unindexed {
            assert_eq!(index_drift[0]["table"], "note");
            assert_eq!(index_drift[0]["columns"], serde_json::json!(["parent_id"]));
        }
        let defects: Vec<&str> = report["defects"]
            .as_array()
            .expect("defects")
            .iter()
            .map(|d| {
                assert_eq!(d["kind"], "foreign_key_target_not_key", "{d}");
                d["foreign_key"].as_str().expect("fk")
            })
            .collect();
        assert_eq!(
            defects,
            if expect_not_key {
                vec![not_key]
            } else {
                vec![]
            },
            "{dialect}: audit's defect is lint's CL013"
        );

        // The engine's view of the same FK: SQLite refuses every delete from the parent.
        let plan = run_cli(&[
            "--url", url, "--rules", "live", "--json", "plan", "--table", "parent", "--where",
            "id = 1",
        ])
        .await;
        if dialect == Dialect::Sqlite {
            assert_eq!(plan.code, 1, "{}{}", plan.out, plan.err);
            assert_eq!(json(&plan.out)["refused"]["kind"], "fk_mismatch");
        } else {
            assert_eq!(plan.code, 0, "{}{}", plan.out, plan.err);
        }

        // Repair creates the missing index; the not-a-key FK is not its to fix.
        let repair = run_cli(&["--url", url, "--rules", "live", "repair", "--apply"]).await;
        assert_eq!(repair.code, 0, "{}{}", repair.out, repair.err);
        let audit = run_cli(&["--url", url, "--rules", "live", "--json", "audit"]).await;
        assert_eq!(
            audit.code,
            u8::from(expect_not_key),
            "{}{}",
            audit.out,
            audit.err
        );
        assert_eq!(json(&audit.out)["drift"], serde_json::json!([]));
    })
    .await;
}

/// The README's audit -> repair scenario, with an orphan: a post whose user is gone (inserted
/// while enforcement was off), with an attachment under it.
async fn incident(db: &DatabaseConnection, url: &str) {
    exec(
        db,
        "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL)",
    )
    .await;
    for (table, rule) in [
        ("post", ""),
        ("comment", " ON DELETE CASCADE"),
        ("token", " ON DELETE RESTRICT"),
    ] {
        exec(
            db,
            &format!(
                "CREATE TABLE {table} (id INT PRIMARY KEY, user_id INT NOT NULL, \
                 FOREIGN KEY (user_id) REFERENCES users (id){rule})"
            ),
        )
        .await;
    }
    exec(
        db,
        "CREATE TABLE attachment (id INT PRIMARY KEY, post_id INT NOT NULL, \
         FOREIGN KEY (post_id) REFERENCES post (id) ON DELETE CASCADE)",
    )
    .await;
    exec(db, "INSERT INTO users VALUES (1, 'u1')").await;
    exec(db, "INSERT INTO post VALUES (10, 1)").await;
    exec(db, "INSERT INTO comment VALUES (10, 1)").await;
    exec(db, "INSERT INTO token VALUES (10, 1)").await;
    let loose = connect(url, Enforce::Off).await.expect("enforcement off");
    exec(&loose, "INSERT INTO post VALUES (99, 42)").await;
    exec(&loose, "INSERT INTO token VALUES (99, 42)").await;
    loose.close().await.expect("close");
    exec(
        db,
        "INSERT INTO attachment VALUES (1, 99), (2, 99), (3, 10)",
    )
    .await;
}

/// Runs `line` (a `cascade ...` command as printed) through bash with the real binary as
/// `cascade` on the PATH and `DATABASE_URL` set, as a user following the README would.
fn shell(line: &str, url: &str, bin_dir: &Path) -> (i32, String, String) {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-c", line])
        .env("PATH", path)
        .env("DATABASE_URL", url)
        .output()
        .expect("bash runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[rstest]
#[tokio::test]
async fn repair_refusal_advice_works_as_written_and_prune_counts_cascades(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let url = db.url.as_str();
        incident(&db.conn, url).await;
        let bin_dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_cascade-domain"),
            bin_dir.path().join("cascade"),
        )
        .expect("symlink");

        let repair = "cascade repair --rules live --policy owner=users:cascade --apply";
        let (code, out, err) = shell(repair, url, bin_dir.path());
        assert_eq!(code, 1, "{out}{err}");
        let advice = out
            .lines()
            .skip_while(|l| !l.starts_with("prune them first"))
            .nth(1)
            .unwrap_or_else(|| panic!("no advice in:\n{out}"))
            .trim()
            .to_owned();
        assert_eq!(
            advice, "cascade orphans --rules live --policy owner=users:cascade --prune",
            "{dialect}"
        );

        let (code, out, err) = shell(&format!("{advice} --json"), url, bin_dir.path());
        assert_eq!(
            code, 0,
            "{dialect}: the advice as written failed:\n{out}{err}"
        );
        let report = json(&out);
        assert_eq!(
            report["removed"],
            serde_json::json!({"attachment": 2, "post": 1, "token": 1}),
            "{dialect}: every row removed, the database's cascade included"
        );
        let by_database: Vec<(&str, u64)> = report["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| c["by_database"] == true)
            .map(|c| {
                (
                    c["table"].as_str().expect("table"),
                    c["rows"].as_u64().expect("rows"),
                )
            })
            .collect();
        assert_eq!(by_database, [("attachment", 2)], "{dialect}");
        let (code, out, _) = shell(&advice, url, bin_dir.path());
        assert_eq!(code, 0, "{out}");

        let (code, out, err) = shell(repair, url, bin_dir.path());
        assert_eq!(code, 0, "{dialect}: repair after the advice:\n{out}{err}");
        let (code, out, err) = shell(
            "cascade audit --rules live --policy owner=users:cascade",
            url,
            bin_dir.path(),
        );
        assert_eq!(code, 0, "{dialect}: audit after repair:\n{out}{err}");
        assert_eq!(dump_table(&db.conn, "attachment").await.len(), 1);
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn verify_prints_sql_literals_and_points_at_audit(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        tests::seed_domain(&db.conn, 200, 1).await;
        let url = db.url.as_str();
        // The live label table loses its FK (and keys): the schema no longer is the rules.
        for sql in [
            "CREATE TABLE project_label_copy AS SELECT * FROM project_label",
            "DROP TABLE project_label",
            "ALTER TABLE project_label_copy RENAME TO project_label",
        ] {
            exec(&db.conn, sql).await;
        }
        let labels = dump_table(&db.conn, "project_label").await;
        let project: String = db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                db.conn.get_database_backend(),
                "SELECT MIN(parent_id) FROM project_label",
            ))
            .await
            .expect("query")
            .expect("a row")
            .try_get_by_index(0)
            .expect("a labelled project");
        let predicate = format!("uid = '{project}'");
        let args = [
            "--url", url, "verify", "--table", "project", "--where", &predicate,
        ];
        let run = run_cli(&args).await;
        assert_eq!(run.code, 1, "{}{}", run.out, run.err);
        assert!(run.out.contains("MISMATCH"), "{}", run.out);
        assert!(run.out.contains("run `cascade audit`"), "{}", run.out);
        let native_only = run
            .out
            .lines()
            .find(|l| l.trim_start().starts_with("native only:"))
            .unwrap_or_else(|| panic!("no differing row in:\n{}", run.out));
        assert!(
            native_only.contains(&format!("'{project}'")) && !native_only.contains("Some("),
            "{native_only}"
        );
        let json_run = run_cli(&[&["--json"][..], &args].concat()).await;
        assert_eq!(json_run.code, 1);
        let report = json(&json_run.out);
        assert!(
            report["schema_drift"].as_u64().expect("count") > 0,
            "{report}"
        );
        assert_eq!(report["dialect"], dialect.to_string());
        assert_eq!(
            dump_table(&db.conn, "project_label").await,
            labels,
            "verify rolls back"
        );
    })
    .await;
}
