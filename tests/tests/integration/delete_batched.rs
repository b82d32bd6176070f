//! Batched deletes (`--batch-rows N`) on SQLite, PostgreSQL and MariaDB:
//!
//! - the final state equals the one-shot delete's, for N = 1, 7 and larger than the delete, on
//!   the shipped domain and on a schema with SET NULL, SET DEFAULT (not MariaDB, which stores it
//!   as RESTRICT) and a self-referencing tree;
//! - every committed batch leaves a consistent database: stopped after k batches, with FK
//!   enforcement off (so only the executor's order keeps it consistent), the orphan scan finds
//!   nothing, and running the delete again finishes it;
//! - refusals first: a restricted child anywhere refuses before any batch, nothing changes;
//! - a RESTRICT child written between two batches stops the delete with a report of what was
//!   done and what is left, consistent;
//! - `kill -9` of the real `cascade` binary mid-run, then the same command again: the final
//!   state equals the one-shot delete's.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{
    DeleteError, DeleteOptions, RefusalKind, Selection, delete, delete_reporting,
};
use cascade_service::progress::Progress;
use rstest::rstest;
use sea_orm::DatabaseConnection;
use tests::{TestDb, dump_table, exec, run_cli, scalar, with_db};

type Tables = BTreeMap<String, Vec<Vec<Option<String>>>>;

async fn tables(db: &DatabaseConnection, graph: &RuleGraph) -> Tables {
    let mut all = BTreeMap::new();
    for table in graph.tables.keys() {
        all.insert(table.clone(), dump_table(db, table).await);
    }
    all
}

async fn no_orphans(db: &DatabaseConnection, graph: &RuleGraph, when: &str) {
    let scan = cascade_service::orphans::scan(db, graph)
        .await
        .expect("orphan scan");
    assert_eq!(scan.total, 0, "{when}: orphans {:?}", scan.orphans);
}

/// A schema with every action a batch must order: CASCADE chains, SET NULL and SET DEFAULT of
/// survivors (SET DEFAULT not on MariaDB), a self-referencing tree, and a RESTRICT table left
/// empty unless a test fills it.
fn ddl(dialect: Dialect) -> Vec<String> {
    let set_default = if dialect == Dialect::MySql {
        ""
    } else {
        " DEFAULT 0 REFERENCES child (id) ON DELETE SET DEFAULT"
    };
    vec![
        "CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20))".to_owned(),
        "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL REFERENCES parent (id) \
         ON DELETE CASCADE)"
            .to_owned(),
        "CREATE TABLE grand (id INT PRIMARY KEY, child_id INT NOT NULL REFERENCES child (id) ON \
         DELETE CASCADE, note_parent INT NULL REFERENCES parent (id) ON DELETE SET NULL)"
            .to_owned(),
        format!("CREATE TABLE side (id INT PRIMARY KEY, child_id INT NULL{set_default})"),
        "CREATE TABLE tree (id INT PRIMARY KEY, up INT NULL REFERENCES tree (id) ON DELETE \
         CASCADE, owner INT NOT NULL REFERENCES parent (id) ON DELETE CASCADE)"
            .to_owned(),
        "CREATE TABLE lock_t (id INT PRIMARY KEY, parent_id INT NOT NULL REFERENCES parent (id) \
         ON DELETE RESTRICT)"
            .to_owned(),
        "CREATE INDEX ix_child ON child (parent_id)".to_owned(),
        "CREATE INDEX ix_grand ON grand (child_id)".to_owned(),
        "CREATE INDEX ix_grand_note ON grand (note_parent)".to_owned(),
        "CREATE INDEX ix_side ON side (child_id)".to_owned(),
        "CREATE INDEX ix_tree_up ON tree (up)".to_owned(),
        "CREATE INDEX ix_tree_owner ON tree (owner)".to_owned(),
        "CREATE INDEX ix_lock ON lock_t (parent_id)".to_owned(),
    ]
}

/// Rows: parents 1..=5 (5 survives everything), child 0 (parent 5) is the SET DEFAULT target.
fn data() -> Vec<String> {
    let mut rows = vec![];
    let values =
        |table: &str, rows: Vec<String>| format!("INSERT INTO {table} VALUES {}", rows.join(", "));
    rows.push(values(
        "parent",
        (1..=5).map(|i| format!("({i}, 'p{i}')")).collect(),
    ));
    rows.push(values(
        "child",
        (0..40)
            .map(|i| format!("({i}, {})", if i == 0 { 5 } else { 1 + i % 5 }))
            .collect(),
    ));
    rows.push(values(
        "grand",
        (0..120)
            .map(|i| {
                let note = if i % 3 == 0 {
                    "NULL".to_owned()
                } else {
                    (1 + i % 5).to_string()
                };
                format!("({i}, {}, {note})", i % 40)
            })
            .collect(),
    ));
    rows.push(values(
        "side",
        (0..30)
            .map(|i| format!("({i}, {})", (i * 7) % 40))
            .collect(),
    ));
    rows.push(values(
        "tree",
        (1..=60)
            .map(|i| {
                let up = if i == 1 {
                    "NULL".to_owned()
                } else {
                    (i / 2).to_string()
                };
                format!("({i}, {up}, {})", 1 + i % 5)
            })
            .collect(),
    ));
    rows
}

async fn build(db: &TestDb) -> RuleGraph {
    tests::build_fixture(db, &ddl(db.dialect), &data()).await;
    cascade_migration::introspect(&db.conn)
        .await
        .expect("introspect")
}

fn parents(dialect: Dialect) -> Selection {
    Selection::parse_predicate("id IN (1, 2)", dialect).expect("predicate")
}

fn domain_projects(dialect: Dialect) -> Selection {
    Selection::parse_predicate("uid IN ('project-0000001', 'project-0000003')", dialect)
        .expect("predicate")
}

/// The one-shot delete's final tables, on a twin database built by `setup`.
async fn one_shot<F, Fut>(
    dialect: Dialect,
    setup: F,
    table: &'static str,
    selection: Selection,
) -> Tables
where
    F: FnOnce(TestDb) -> Fut,
    Fut: std::future::Future<Output = (TestDb, RuleGraph)>,
{
    let result = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = result.clone();
    with_db(dialect, |db| async move {
        let (db, graph) = setup(db).await;
        delete(&db.conn, &graph, table, &selection, DeleteOptions::orm())
            .await
            .expect("one-shot delete");
        let after = tables(&db.conn, &graph).await;
        *slot.lock().expect("lock") = Some(after);
    })
    .await;
    let taken = result.lock().expect("lock").take();
    taken.expect("one-shot ran")
}

async fn domain(db: TestDb) -> (TestDb, RuleGraph) {
    let graph = tests::seed_domain(&db.conn, 300, 5).await;
    (db, graph)
}

async fn schema(db: TestDb) -> (TestDb, RuleGraph) {
    let graph = build(&db).await;
    (db, graph)
}

#[rstest]
#[tokio::test]
async fn batched_equals_one_shot(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
    #[values("domain", "schema")] fixture: &'static str,
) {
    let (table, selection) = match fixture {
        "domain" => ("project", domain_projects(dialect)),
        _ => ("parent", parents(dialect)),
    };
    let expected = match fixture {
        "domain" => one_shot(dialect, domain, table, selection.clone()).await,
        _ => one_shot(dialect, schema, table, selection.clone()).await,
    };
    for n in [1u64, 7, 1_000_000] {
        let expected = &expected;
        let selection = selection.clone();
        with_db(dialect, |db| async move {
            let (db, graph) = match fixture {
                "domain" => domain(db).await,
                _ => schema(db).await,
            };
            let options = DeleteOptions::orm().batch_rows(Some(n));
            let report = delete(&db.conn, &graph, table, &selection, options)
                .await
                .unwrap_or_else(|e| panic!("{dialect} N={n}: {e}"));
            let batches = report.batches.clone().expect("a batched report");
            assert!(batches.complete, "{batches:?}");
            assert!(batches.largest_batch <= n, "{dialect} N={n}: {batches:?}");
            assert!(
                batches.batches * n >= report.effect.total_deleted(),
                "{batches:?}"
            );
            if n == 1 {
                // A row rewritten by two FKs in one statement counts once per FK in the report.
                assert!(
                    batches.batches >= report.effect.total_deleted(),
                    "{batches:?}"
                );
            }
            if n == 1_000_000 {
                assert_eq!(batches.batches, 1, "{dialect}: one batch holds it all");
            }
            assert!(
                &tables(&db.conn, &graph).await == expected,
                "{dialect} {fixture} N={n}: final state differs from the one-shot delete"
            );
        })
        .await;
    }
}

#[rstest]
#[tokio::test]
async fn every_batch_leaves_a_consistent_database_and_resuming_finishes(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    let expected = one_shot(dialect, schema, "parent", parents(dialect)).await;
    let expected = &expected;
    with_db(dialect, |db| async move {
        let graph = build(&db).await;
        // Enforcement off: only the executor's order keeps the database consistent.
        let loose = connect(&db.url, Enforce::Off)
            .await
            .expect("enforcement off");
        let n = 5;
        let mut stops = 0;
        loop {
            let options = DeleteOptions::orm()
                .batch_rows(Some(n))
                .max_batches(Some(1));
            let report = delete(&loose, &graph, "parent", &parents(dialect), options).await;
            let report = match report {
                Ok(report) => report,
                Err(DeleteError::NothingMatched { .. }) => break,
                Err(e) => panic!("{dialect}: {e}"),
            };
            let batches = report.batches.clone().expect("batched");
            assert!(batches.largest_batch <= n, "{batches:?}");
            no_orphans(&db.conn, &graph, &format!("{dialect} after stop {stops}")).await;
            stops += 1;
            if batches.complete {
                break;
            }
            let left = batches.left.expect("what is left");
            assert!(left.total_deleted() > 0, "{left:?}");
            assert!(stops < 1000, "no end");
        }
        assert!(stops > 10, "{dialect}: stopped {stops} times");
        assert!(
            &tables(&db.conn, &graph).await == expected,
            "{dialect}: final state"
        );
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn a_restricted_child_anywhere_refuses_before_any_batch(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = build(&db).await;
        exec(&db.conn, "INSERT INTO lock_t VALUES (1, 2)").await;
        let before = tables(&db.conn, &graph).await;
        let options = DeleteOptions::orm().batch_rows(Some(1));
        let error = delete(&db.conn, &graph, "parent", &parents(dialect), options)
            .await
            .expect_err("refused");
        let refusal = error.refusal().unwrap_or_else(|| panic!("{error:?}"));
        assert_eq!(refusal.kind.engine_class(dialect), RefusalKind::Restrict);
        assert!(
            tables(&db.conn, &graph).await == before,
            "{dialect}: changed"
        );
    })
    .await;
}

/// Inserts a RESTRICT child of root row 1 after the first batch commits.
struct LockAfterFirstBatch {
    url: String,
    done: std::sync::atomic::AtomicBool,
}

impl Progress for LockAfterFirstBatch {
    fn start(&self, _label: &str, _total: u64) {}

    fn advance(&self, _done: u64) {
        if self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let url = self.url.clone();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move {
                let other = connect(&url, Enforce::On).await.expect("second connection");
                exec(&other, "INSERT INTO lock_t VALUES (7, 1)").await;
                other.close().await.expect("close");
            });
        });
    }

    fn finish(&self) {}
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restrict_child_written_between_batches_stops_with_a_report(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = build(&db).await;
        let hook = LockAfterFirstBatch {
            url: db.url.clone(),
            done: std::sync::atomic::AtomicBool::new(false),
        };
        let options = DeleteOptions::orm().batch_rows(Some(10));
        let error = delete_reporting(
            &db.conn,
            &graph,
            "parent",
            &parents(dialect),
            options,
            &hook,
        )
        .await
        .expect_err("stopped");
        let DeleteError::BatchStopped(stopped) = &error else {
            panic!("{dialect}: expected BatchStopped, got {error:?}");
        };
        let refusal = stopped.cause.refusal().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(refusal.kind.engine_class(dialect), RefusalKind::Restrict);
        let batches = stopped.report.batches.clone().expect("batches");
        assert!(!batches.complete && batches.batches >= 1, "{batches:?}");
        assert!(
            stopped.report.effect.total_deleted() > 0 || !stopped.report.effect.updated.is_empty()
        );
        let left = batches.left.expect("what is left");
        // Root 2's subtree had nothing blocking it; root 1 waits for its blocker.
        assert_eq!(left.deleted.get("parent"), Some(&1), "{left:?}");
        assert!(
            error.to_string().contains("run the same delete again"),
            "{error}"
        );
        no_orphans(&db.conn, &graph, &format!("{dialect} after the stop")).await;
        // The blocked root row is still there (roots go last).
        assert_eq!(
            scalar(&db.conn, "SELECT COUNT(*) FROM parent WHERE id = 1").await,
            1
        );
        // Once the blocker goes, the same delete finishes.
        exec(&db.conn, "DELETE FROM lock_t").await;
        let options = DeleteOptions::orm().batch_rows(Some(10));
        let report = delete(&db.conn, &graph, "parent", &parents(dialect), options)
            .await
            .expect("resumed");
        assert!(report.batches.expect("batches").complete);
        assert_eq!(
            scalar(&db.conn, "SELECT COUNT(*) FROM parent WHERE id IN (1, 2)").await,
            0
        );
        no_orphans(&db.conn, &graph, &format!("{dialect} at the end")).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn the_cli_reports_batches_in_json(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        tests::seed_domain(&db.conn, 200, 3).await;
        let run = run_cli(&[
            "delete",
            "--url",
            &db.url,
            "--table",
            "project",
            "--where",
            "uid = 'project-0000001'",
            "--batch-rows",
            "7",
            "--json",
        ])
        .await;
        assert_eq!(run.code, 0, "{run:?}");
        let report: serde_json::Value = serde_json::from_str(&run.out).expect("json");
        let batches = &report["batches"];
        assert_eq!(batches["batch_rows"], 7);
        assert!(
            batches["batches"].as_u64().is_some_and(|n| n > 1),
            "{report}"
        );
        assert!(
            batches["largest_batch"].as_u64().is_some_and(|n| n <= 7),
            "{report}"
        );
        assert_eq!(batches["complete"], true);
        assert_eq!(report["deleted"]["project"], 1);
        // Run again: nothing left to delete, success.
        let again = run_cli(&[
            "delete",
            "--url",
            &db.url,
            "--table",
            "project",
            "--where",
            "uid = 'project-0000001'",
            "--batch-rows",
            "7",
        ])
        .await;
        assert_eq!(again.code, 0, "{again:?}");
        assert!(again.out.contains("nothing to delete"), "{again:?}");
    })
    .await;
}

#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_rerun_equals_one_shot(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    let selection = Selection::parse_predicate(KILL_WHERE, dialect).expect("predicate");
    let expected = one_shot(dialect, big_domain, "project", selection).await;
    let expected = &expected;
    with_db(dialect, |db| async move {
        let (db, graph) = big_domain(db).await;
        let total = scalar(&db.conn, "SELECT COUNT(*) FROM project_label").await
            + scalar(&db.conn, "SELECT COUNT(*) FROM document").await;
        let args = [
            "delete",
            "--url",
            &db.url,
            "--table",
            "project",
            "--where",
            KILL_WHERE,
            "--batch-rows",
            "1",
        ];
        let mut child = Command::new(env!("CARGO_BIN_EXE_cascade-domain"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn cascade");
        // Wait until some batches committed, then kill -9 (SIGKILL) mid-run.
        let mut killed_mid_run = false;
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            let now = scalar(&db.conn, "SELECT COUNT(*) FROM project_label").await
                + scalar(&db.conn, "SELECT COUNT(*) FROM document").await;
            if now < total {
                child.kill().expect("kill -9");
                child.wait().expect("reap");
                killed_mid_run = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        assert!(
            killed_mid_run,
            "{dialect}: the delete finished before it could be killed"
        );
        no_orphans(&db.conn, &graph, &format!("{dialect} after kill -9")).await;
        let status = Command::new(env!("CARGO_BIN_EXE_cascade-domain"))
            .args(args)
            .stdout(Stdio::null())
            .status()
            .expect("re-run");
        assert!(status.success(), "{dialect}: re-run {status:?}");
        assert!(
            &tables(&db.conn, &graph).await == expected,
            "{dialect}: final state"
        );
    })
    .await;
}

const KILL_WHERE: &str = "uid IN ('project-0000001', 'project-0000002', 'project-0000004')";

async fn big_domain(db: TestDb) -> (TestDb, RuleGraph) {
    let graph = tests::seed_domain(&db.conn, 3000, 9).await;
    (db, graph)
}
