//! The torc incident, generally: an export "for one user" must carry that user's rows and
//! nothing else. Two owners with interleaved data on each source dialect (rows shared through
//! SET NULL references, a 1:1 side table linked only by an unenforced back-pointer declared
//! with `--relation`, orphans already in the source, an autoincrement key): the export of one
//! owner holds none of the other's rows, no counter that counts them, no statistics, passes
//! `integrity_check`, `foreign_key_check`, `cascade orphans` and the audit against the rules,
//! is byte-identical when made twice, and leaves the source untouched. The shipped domain
//! exports a user the same way under its declared rules.

use std::collections::BTreeMap;
use std::path::Path;

use cascade_cli::Status;
use cascade_entity::rules::Dialect;
use cascade_service::connect::{Enforce, connect};
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tests::{Backend, TestDb, build_fixture, cascade, dump_table, seed_domain, with_db};

const STATUS_RELATION: &str = "workflow_status.workflow_id -> workflow.id cascade";
const TABLES: [&str; 7] = [
    "account",
    "project",
    "workflow",
    "workflow_status",
    "run",
    "workflow_label",
    "review",
];

fn schema(dialect: Dialect) -> Vec<String> {
    let (serial, json, blob, timestamp) = match dialect {
        Dialect::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "TEXT",
            "BLOB",
            "TIMESTAMP",
        ),
        Dialect::Postgres => ("SERIAL PRIMARY KEY", "JSONB", "BYTEA", "TIMESTAMP"),
        Dialect::MySql => (
            "INT AUTO_INCREMENT PRIMARY KEY",
            "JSON",
            "VARBINARY(64)",
            "DATETIME",
        ),
    };
    vec![
        "CREATE TABLE account (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL UNIQUE)".into(),
        "CREATE TABLE project (id INT PRIMARY KEY, owner_id INT NULL, title VARCHAR(64) NOT NULL, \
         FOREIGN KEY (owner_id) REFERENCES account (id) ON DELETE SET NULL)"
            .into(),
        format!(
            "CREATE TABLE workflow (id {serial}, owner_id INT NOT NULL, project_id INT NULL, \
             name VARCHAR(64) NOT NULL, spec {json} NULL, score DECIMAL(10,2) NULL, \
             active BOOLEAN NOT NULL DEFAULT TRUE, payload {blob} NULL, created {timestamp} NULL, \
             FOREIGN KEY (owner_id) REFERENCES account (id) ON DELETE CASCADE, \
             FOREIGN KEY (project_id) REFERENCES project (id) ON DELETE SET NULL)"
        ),
        // The 1:1 side table: its back-pointer has no FK at all.
        "CREATE TABLE workflow_status (id INT PRIMARY KEY, workflow_id INT NOT NULL, \
         state VARCHAR(16) NOT NULL)"
            .into(),
        "CREATE TABLE run (id INT PRIMARY KEY, workflow_id INT NULL, owner_id INT NULL, \
         FOREIGN KEY (workflow_id) REFERENCES workflow (id) ON DELETE SET NULL, \
         FOREIGN KEY (owner_id) REFERENCES account (id) ON DELETE SET NULL)"
            .into(),
        "CREATE TABLE workflow_label (id INT PRIMARY KEY, parent_id INT NOT NULL, \
         label VARCHAR(32) NOT NULL, \
         FOREIGN KEY (parent_id) REFERENCES workflow (id) ON DELETE CASCADE)"
            .into(),
        "CREATE TABLE review (id INT PRIMARY KEY, owner_id INT NOT NULL, workflow_id INT NOT NULL, \
         note VARCHAR(64) NULL, \
         FOREIGN KEY (owner_id) REFERENCES account (id) ON DELETE CASCADE, \
         FOREIGN KEY (workflow_id) REFERENCES workflow (id) ON DELETE RESTRICT)"
            .into(),
    ]
}

/// Alice (1) and Bob (2), interleaved; every string of Bob's says `bob`. Loaded with FK
/// enforcement off, so the orphans (owner 99, project 999, workflows 8, 9 and 42) stay.
fn data(dialect: Dialect) -> Vec<String> {
    let bytes = match dialect {
        Dialect::Postgres => "'\\x00ff'::bytea",
        _ => "X'00FF'",
    };
    let mut rows = vec![
        "INSERT INTO account VALUES (1, 'alice'), (2, 'bob')".to_owned(),
        "INSERT INTO project VALUES (10, 1, 'alice-project'), (20, 2, 'bob-project'), \
         (30, NULL, 'unowned-project')"
            .to_owned(),
        format!(
            "INSERT INTO workflow (id, owner_id, project_id, name, spec, score, active, payload, \
             created) VALUES (1, 1, 10, 'alice-wf-1', '{{\"b\": 1, \"a\": [1, 2]}}', 12.50, TRUE, \
             {bytes}, '2024-01-02 03:04:05')"
        ),
    ];
    // (id, owner, project, name): 3 sits in Bob's project, 4 is Bob's in Alice's project,
    // 5 points at a project that does not exist, 7 belongs to an owner that does not exist.
    for (id, owner, project, name) in [
        (2, "2", "20", "bob-wf-2"),
        (3, "1", "20", "alice-wf-3"),
        (4, "2", "10", "bob-wf-4"),
        (5, "1", "999", "alice-wf-5"),
        (6, "2", "NULL", "bob-wf-6"),
        (7, "99", "30", "ghost-wf-7"),
    ] {
        rows.push(format!(
            "INSERT INTO workflow (id, owner_id, project_id, name, active) \
             VALUES ({id}, {owner}, {project}, '{name}', FALSE)"
        ));
    }
    rows.extend([
        "INSERT INTO workflow_status VALUES (101, 1, 'alice'), (102, 2, 'bob'), \
         (103, 3, 'alice'), (104, 4, 'bob'), (105, 5, 'alice'), (106, 6, 'bob'), \
         (107, 7, 'ghost'), (108, 8, 'orphan')"
            .to_owned(),
        // (id, workflow, owner): 1002 is Alice's run of Bob's workflow (shared through a SET
        // NULL reference), 1003 Bob's run of Alice's, 1004 nobody's, 1007 of a workflow that
        // does not exist.
        "INSERT INTO run VALUES (1001, 1, 1), (1002, 2, 1), (1003, 1, 2), (1004, 1, NULL), \
         (1005, 7, 1), (1006, 3, 1), (1007, 42, 1)"
            .to_owned(),
        "INSERT INTO workflow_label VALUES (201, 1, 'alice'), (202, 2, 'bob'), (203, 3, 'alice'), \
         (204, 4, 'bob'), (205, 5, 'alice'), (209, 9, 'orphan')"
            .to_owned(),
        // 301 is Alice's review of Bob's workflow (NOT NULL: cannot be nulled), 303 of a
        // workflow that does not exist, 304 Bob's review of Alice's workflow.
        "INSERT INTO review VALUES (301, 1, 2, 'alice-301'), (302, 1, 1, 'alice-302'), \
         (303, 1, 8, 'alice-303'), (304, 2, 1, 'bob-304')"
            .to_owned(),
    ]);
    rows
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

async fn open(path: &Path) -> DatabaseConnection {
    connect(&format!("sqlite://{}", path.display()), Enforce::On)
        .await
        .expect("open the export")
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `SELECT id FROM table ORDER BY id` of the export.
async fn ids(db: &DatabaseConnection, table: &str) -> Vec<i64> {
    rows(db, &format!("SELECT id FROM {table} ORDER BY id"))
        .await
        .iter()
        .map(|r| r.try_get::<i64>("", "id").expect("id"))
        .collect()
}

/// Each column of `table`'s row `id` that is NULL in the export.
async fn is_null(db: &DatabaseConnection, table: &str, id: i64, column: &str) -> bool {
    rows(
        db,
        &format!("SELECT {column} IS NULL AS n FROM {table} WHERE id = {id}"),
    )
    .await
    .first()
    .map(|r| r.try_get::<bool>("", "n").expect("n"))
    .unwrap_or_else(|| panic!("{table} {id} not exported"))
}

/// The checks every export must pass, on the file itself.
async fn assert_sound(db: &DatabaseConnection, path: &Path, relation: Option<&str>) {
    let integrity = rows(db, "PRAGMA integrity_check").await;
    assert_eq!(integrity.len(), 1);
    assert_eq!(
        integrity[0].try_get_by_index::<String>(0).expect("ok"),
        "ok"
    );
    assert!(rows(db, "PRAGMA foreign_key_check").await.is_empty());
    assert!(
        rows(
            db,
            "SELECT name FROM sqlite_schema WHERE name LIKE 'sqlite_stat%'"
        )
        .await
        .is_empty(),
        "statistics copied"
    );
    let url = format!("sqlite://{}", path.display());
    let mut args = vec!["orphans", "--url", &url, "--rules", "live"];
    if let Some(relation) = relation {
        args.extend(["--relation", relation]);
    }
    let (status, out) = cascade(&args).await;
    assert_eq!(status.expect("orphans"), Status::Clean, "{out}");
}

async fn dump_all(
    db: &DatabaseConnection,
    tables: &[&str],
) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let mut all = BTreeMap::new();
    for table in tables {
        all.insert((*table).to_owned(), dump_table(db, table).await);
    }
    all
}

async fn export_json(url: &str, args: &[&str]) -> Value {
    let mut all = vec![
        "export",
        "--url",
        url,
        "--rules",
        "live",
        "--relation",
        STATUS_RELATION,
        "--json",
    ];
    all.extend(args);
    let (status, out) = cascade(&all).await;
    assert_eq!(status.expect("export"), Status::Clean, "{out}");
    json_of(&out)
}

#[rstest]
#[tokio::test]
async fn one_owner_exported_leaking_nothing(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db: TestDb| async move {
        build_fixture(&db, &schema(dialect), &data(dialect)).await;
        let source_before = dump_all(&db.conn, &TABLES).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let alice = dir.path().join("alice.db");
        let out = alice.to_str().expect("utf-8 path");
        let report = export_json(&db.url, &["--owner", "account=1", "--out", out]).await;

        // Exactly Alice's rows.
        let export = open(&alice).await;
        let expected: [(&str, &[i64]); 7] = [
            ("account", &[1]),
            ("project", &[10]),
            ("workflow", &[1, 3, 5]),
            ("workflow_status", &[101, 103, 105]),
            ("run", &[1001, 1002, 1005, 1006, 1007]),
            ("workflow_label", &[201, 203, 205]),
            ("review", &[302]),
        ];
        for (table, want) in expected {
            assert_eq!(ids(&export, table).await, want, "{dialect}: {table}");
            let reported = report["tables"]
                .as_array()
                .expect("tables")
                .iter()
                .find(|t| t["table"] == table)
                .expect("table reported");
            assert_eq!(reported["rows"], want.len(), "{dialect}: {table}");
        }
        // References to rows outside the export are NULL; the rest are kept.
        assert!(is_null(&export, "workflow", 3, "project_id").await);
        assert!(is_null(&export, "workflow", 5, "project_id").await);
        assert!(!is_null(&export, "workflow", 1, "project_id").await);
        for run in [1002, 1005, 1007] {
            assert!(
                is_null(&export, "run", run, "workflow_id").await,
                "run {run}"
            );
        }
        assert!(!is_null(&export, "run", 1006, "workflow_id").await);
        let mut nulled = report["nulled"].as_array().expect("nulled").clone();
        nulled.sort_by_key(|n| n["relation"].as_str().map(str::to_owned));
        assert_eq!(
            Value::Array(nulled),
            json!([
                {"table": "run", "relation": "run(workflow_id) -> workflow(id)",
                 "rows": 3, "orphaned": 1},
                {"table": "workflow", "relation": "workflow(project_id) -> project(id)",
                 "rows": 2, "orphaned": 1},
            ]),
            "{dialect}"
        );
        // Alice's reviews of a workflow outside the export cannot be nulled: left out, listed.
        assert_eq!(
            report["left_out"],
            json!([{
                "table": "review", "relation": "review(workflow_id) -> workflow(id)",
                "rows": 2, "orphaned": 1, "key_columns": ["id"], "keys": [["301"], ["303"]],
            }]),
            "{dialect}"
        );

        // Values arrive typed, as SeaORM would have written them into SQLite.
        let sql = "SELECT spec, score, payload, created, active FROM workflow WHERE id = 1";
        let row = &rows(&export, sql).await[0];
        let spec: String = row.try_get("", "spec").expect("spec");
        assert_eq!(json_of(&spec), json!({"a": [1, 2], "b": 1}), "{dialect}");
        assert_eq!(row.try_get::<f64>("", "score").expect("score"), 12.5);
        assert_eq!(
            row.try_get::<Vec<u8>>("", "payload").expect("payload"),
            [0x00, 0xff]
        );
        assert_eq!(
            row.try_get::<String>("", "created").expect("created"),
            "2024-01-02 03:04:05"
        );
        assert!(row.try_get::<bool>("", "active").expect("active"));

        // No row, string or counter of Bob's: the autoincrement state is Alice's largest key
        // (not Bob's 6 or the source's 7), and no byte of the file says "bob".
        let sql = "SELECT seq FROM sqlite_sequence WHERE name = 'workflow'";
        let sequence = rows(&export, sql).await;
        assert_eq!(
            sequence[0].try_get::<i64>("", "seq").expect("seq"),
            5,
            "{dialect}"
        );
        assert_eq!(
            report["sequences"],
            json!([{"table": "workflow", "seq": 5}])
        );
        assert_sound(&export, &alice, Some(STATUS_RELATION)).await;
        let rules = {
            let mut graph = cascade_migration::introspect(&db.conn)
                .await
                .expect("introspect");
            cascade_service::relation_spec::add_relations(
                &mut graph,
                &[STATUS_RELATION.parse().expect("relation")],
            )
            .expect("relation");
            graph
        };
        let audit = cascade_service::audit::audit(&export, &rules)
            .await
            .expect("audit");
        assert!(audit.is_clean(), "{dialect}: {:?}", audit.drift);
        assert_eq!(report["checks"]["drift"], json!([]));
        export.close().await.expect("close");
        let bytes = std::fs::read(&alice).expect("read export");
        assert!(
            !bytes.windows(3).any(|w| w.eq_ignore_ascii_case(b"bob")),
            "{dialect}: the export contains `bob`"
        );

        // Byte-identical when made again, in batches of two rows; Bob's is the mirror image.
        let again = dir.path().join("alice-again.db");
        let again_out = again.to_str().expect("utf-8");
        let args = [
            "--owner",
            "account=1",
            "--out",
            again_out,
            "--batch-rows",
            "2",
        ];
        export_json(&db.url, &args).await;
        let same = bytes == std::fs::read(&again).expect("read");
        assert!(same, "{dialect}: not deterministic");
        let bob = dir.path().join("bob.db");
        let bob_out = bob.to_str().expect("utf-8");
        let report = export_json(&db.url, &["--owner", "account=2", "--out", bob_out]).await;
        let export = open(&bob).await;
        assert_eq!(ids(&export, "workflow").await, [2, 4, 6], "{dialect}");
        assert_eq!(ids(&export, "workflow_status").await, [102, 104, 106]);
        assert_eq!(ids(&export, "run").await, [1003]);
        assert_eq!(ids(&export, "review").await, Vec::<i64>::new());
        assert_eq!(report["left_out"][0]["keys"], json!([["304"]]));
        assert_sound(&export, &bob, Some(STATUS_RELATION)).await;
        export.close().await.expect("close");
        let bytes = std::fs::read(&bob).expect("read export");
        assert!(
            !bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"alice")),
            "{dialect}"
        );

        // --strict refuses: Alice's reviews would be left out; nothing is written.
        let strict = dir.path().join("strict.db");
        let strict_out = strict.to_str().expect("utf-8");
        let (status, out) = cascade(&[
            "export",
            "--url",
            &db.url,
            "--rules",
            "live",
            "--relation",
            STATUS_RELATION,
            "--owner",
            "account=1",
            "--out",
            strict_out,
            "--strict",
            "--json",
        ])
        .await;
        assert_eq!(status.expect("strict"), Status::Finding, "{out}");
        assert_eq!(json_of(&out)["rows"], 2);
        assert!(!strict.exists());

        // The source was only read.
        assert_eq!(
            dump_all(&db.conn, &TABLES).await,
            source_before,
            "{dialect}"
        );
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn export_refusals_write_nothing(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db: TestDb| async move {
        build_fixture(&db, &schema(dialect), &data(dialect)).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("x.db");
        let out = out.to_str().expect("utf-8");
        for (owner, message) in [
            ("account=3", "no owner row"),
            ("account=x", "not a valid"),
            ("account=1,2", "1-column primary key"),
            ("nosuch=1", "not in the rules"),
        ] {
            let (status, _) = cascade(&[
                "export", "--url", &db.url, "--rules", "live", "--owner", owner, "--out", out,
            ])
            .await;
            let error = status.expect_err(owner).to_string();
            assert!(error.contains(message), "{dialect} {owner}: {error}");
            assert!(!Path::new(out).exists());
        }
        std::fs::write(out, b"keep me").expect("write");
        let (status, _) = cascade(&[
            "export",
            "--url",
            &db.url,
            "--rules",
            "live",
            "--owner",
            "account=1",
            "--out",
            out,
        ])
        .await;
        assert!(
            status
                .expect_err("exists")
                .to_string()
                .contains("already there")
        );
        assert_eq!(std::fs::read(out).expect("read"), b"keep me");
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn domain_user_exported_under_declared_rules(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db: TestDb| async move {
        let graph = seed_domain(&db.conn, 400, 7).await;
        let user = Backend::quote(dialect, "user");
        let uids: Vec<String> = rows(&db.conn, &format!("SELECT uid FROM {user} ORDER BY uid"))
            .await
            .iter()
            .map(|r| r.try_get::<String>("", "uid").expect("uid"))
            .collect();
        assert!(uids.len() > 1);
        let uid = &uids[0];
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("user.db");
        let owner = format!("user={uid}");
        let (status, out) = cascade(&[
            "export",
            "--url",
            &db.url,
            "--owner",
            &owner,
            "--out",
            path.to_str().expect("utf-8"),
            "--json",
        ])
        .await;
        assert_eq!(status.expect("export"), Status::Clean, "{out}");
        let report = json_of(&out);
        assert!(report["total_rows"].as_u64().expect("total") > 10, "{out}");

        let export = open(&path).await;
        let users = rows(&export, "SELECT uid FROM \"user\"").await;
        assert_eq!(users.len(), 1);
        assert_eq!(&users[0].try_get::<String>("", "uid").expect("uid"), uid);
        // No other user's row anywhere: every owner reference is this user's or NULL.
        for table in graph.tables.values() {
            if table.column("owner_id").is_none() {
                continue;
            }
            let sql = format!(
                "SELECT COUNT(*) AS n FROM \"{}\" \
                 WHERE owner_id IS NOT NULL AND owner_id <> '{uid}'",
                table.name
            );
            let n: i64 = rows(&export, &sql).await[0].try_get("", "n").expect("n");
            assert_eq!(n, 0, "{dialect}: {} holds another user's rows", table.name);
        }
        assert_sound(&export, &path, None).await;
        let url = format!("sqlite://{}", path.display());
        let (status, out) = cascade(&["audit", "--url", &url]).await;
        assert_eq!(status.expect("audit"), Status::Clean, "{dialect}: {out}");
    })
    .await;
}

/// A composite owner key (`tenant=eu,1`), a claim through a unique key that is not the primary
/// key, and a folder tree that belongs to the owner through a CASCADE self-reference (two
/// generations deep), except where another tenant claims a subtree.
const TREE: &[&str] = &[
    "CREATE TABLE tenant (region VARCHAR(8) NOT NULL, code INT NOT NULL, \
     name VARCHAR(32) NOT NULL UNIQUE, PRIMARY KEY (region, code))",
    "CREATE TABLE folder (id INT PRIMARY KEY, region VARCHAR(8) NULL, code INT NULL, \
     parent_id INT NULL, title VARCHAR(32) NOT NULL, \
     FOREIGN KEY (region, code) REFERENCES tenant (region, code) ON DELETE SET NULL, \
     FOREIGN KEY (parent_id) REFERENCES folder (id) ON DELETE CASCADE)",
    "CREATE TABLE note (id INT PRIMARY KEY, tenant_name VARCHAR(32) NULL, folder_id INT NULL, \
     body VARCHAR(32) NOT NULL, \
     FOREIGN KEY (tenant_name) REFERENCES tenant (name) ON DELETE CASCADE, \
     FOREIGN KEY (folder_id) REFERENCES folder (id) ON DELETE SET NULL)",
];

const TREE_DATA: &[&str] = &[
    "INSERT INTO tenant VALUES ('eu', 1, 'eu-one'), ('eu', 2, 'eu-two'), ('us', 1, 'us-one')",
    // 2 and 3 sit below 1 without an owner of their own; 4 (and so 5) is eu-two's; 6 is
    // eu-one's below eu-two's 4; 7's key is partly NULL (claims nothing); 8 is us-one's.
    "INSERT INTO folder VALUES (1, 'eu', 1, NULL, 'root'), (2, NULL, NULL, 1, 'sub'), \
     (3, NULL, NULL, 2, 'subsub'), (4, 'eu', 2, 1, 'two'), (5, NULL, NULL, 4, 'two-sub'), \
     (6, 'eu', 1, 4, 'mine'), (7, 'eu', NULL, NULL, 'partial'), (8, 'us', 1, 3, 'us')",
    "INSERT INTO note VALUES (10, 'eu-one', 3, 'mine'), (11, 'eu-one', 5, 'mine'), \
     (12, 'eu-two', 1, 'two'), (13, NULL, 2, 'nobody')",
];

#[rstest]
#[tokio::test]
async fn composite_owner_key_and_self_referencing_tree(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db: TestDb| async move {
        let ddl: Vec<String> = TREE.iter().map(|s| (*s).to_owned()).collect();
        let data: Vec<String> = TREE_DATA.iter().map(|s| (*s).to_owned()).collect();
        build_fixture(&db, &ddl, &data).await;
        let dir = tempfile::tempdir().expect("temp dir");
        for (owner, folders, notes, nulled) in [
            ("tenant=eu,1", &[1, 2, 3, 6][..], &[10, 11][..], [6, 11]),
            ("tenant=eu,2", &[4, 5][..], &[12][..], [4, 12]),
        ] {
            let path = dir.path().join(format!("{owner}.db"));
            let (status, out) = cascade(&[
                "export",
                "--url",
                &db.url,
                "--rules",
                "live",
                "--owner",
                owner,
                "--out",
                path.to_str().expect("utf-8"),
                "--json",
            ])
            .await;
            assert_eq!(
                status.expect("export"),
                Status::Clean,
                "{dialect} {owner}: {out}"
            );
            let report = json_of(&out);
            assert_eq!(report["left_out"], json!([]), "{dialect} {owner}");
            let export = open(&path).await;
            assert_eq!(ids(&export, "folder").await, folders, "{dialect} {owner}");
            assert_eq!(ids(&export, "note").await, notes, "{dialect} {owner}");
            assert_eq!(rows(&export, "SELECT region FROM tenant").await.len(), 1);
            assert!(is_null(&export, "folder", nulled[0], "parent_id").await);
            assert!(is_null(&export, "note", nulled[1], "folder_id").await);
            assert_sound(&export, &path, None).await;
            export.close().await.expect("close");
        }
    })
    .await;
}

/// Catalog types of each engine, as `--rules live` reads them, land in SQLite as values SeaORM
/// could read back (arrays and JSON as JSON text, UUIDs as 16 bytes, timestamps as SeaORM's
/// text, PostgreSQL money and decimals as numbers, MariaDB bits as integers); a SQLite source
/// keeps every value's storage class, whatever the declared type.
fn catalog(dialect: Dialect) -> (Vec<String>, Vec<String>, Vec<(&'static str, &'static str)>) {
    let (ddl, data, expected): (&[&str], &[&str], Vec<(&str, &str)>) = match dialect {
        Dialect::Postgres => (
            &[
                "CREATE TYPE mood AS ENUM ('ok', 'sad')",
                "CREATE TABLE account (id INT PRIMARY KEY)",
                "CREATE TABLE thing (id BIGSERIAL PRIMARY KEY, account_id INT NOT NULL \
                 REFERENCES account (id) ON DELETE CASCADE, tags TEXT[], span INTERVAL, \
                 price MONEY, u UUID, at TIMESTAMPTZ, addr INET, feeling mood, bits BIT(3), \
                 code CHAR(4), d DATE, t TIME, r REAL, n NUMERIC(8,3), \
                 label VARCHAR(16) DEFAULT 'new'::character varying)",
            ],
            &[
                "INSERT INTO account VALUES (1), (2)",
                "INSERT INTO thing VALUES (7, 1, ARRAY['a','b'], '1 day', 12.5, \
                 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-01-02 03:04:05+00', '10.0.0.1', \
                 'sad', B'101', 'ab', '2024-01-02', '03:04:05', 1.5, 2.125, 'x'), \
                 (8, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                 NULL, 'other')",
            ],
            vec![
                ("tags", "text '[\"a\",\"b\"]'"),
                ("span", "text '1 day'"),
                ("price", "real 12.5"),
                ("u", "blob X'A0EEBC999C0B4EF8BB6D6BB9BD380A11'"),
                ("at", "text '2024-01-02T03:04:05+00:00'"),
                ("addr", "text '10.0.0.1/32'"),
                ("feeling", "text 'sad'"),
                ("bits", "text '101'"),
                ("code", "text 'ab  '"),
                ("d", "text '2024-01-02'"),
                ("t", "text '03:04:05'"),
                ("r", "real 1.5"),
                ("n", "real 2.125"),
                ("label", "text 'x'"),
            ],
        ),
        Dialect::MySql => (
            &[
                "CREATE TABLE account (id INT PRIMARY KEY)",
                "CREATE TABLE thing (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
                 account_id INT NOT NULL, bits BIT(3), yr YEAR, st ENUM('a','b') DEFAULT 'a', \
                 sets SET('x','y'), small TINYINT UNSIGNED, flag TINYINT(1), at TIMESTAMP NULL, \
                 d DATE, t TIME, dbl DOUBLE, n DECIMAL(8,3), j JSON, bin BINARY(4), code CHAR(4), \
                 FOREIGN KEY (account_id) REFERENCES account (id) ON DELETE CASCADE)",
            ],
            &[
                "INSERT INTO account VALUES (1), (2)",
                "INSERT INTO thing VALUES (7, 1, b'101', 2024, 'b', 'x,y', 200, 1, \
                 '2024-01-02 03:04:05', '2024-01-02', '03:04:05', 1.5, 2.125, '{\"a\": 1}', \
                 X'00010203', 'ab'), (8, 2, NULL, NULL, 'a', NULL, NULL, NULL, NULL, NULL, NULL, \
                 NULL, NULL, NULL, NULL, 'zz')",
            ],
            vec![
                ("bits", "integer 5"),
                ("yr", "integer 2024"),
                ("st", "text 'b'"),
                ("sets", "text 'x,y'"),
                ("small", "integer 200"),
                ("flag", "integer 1"),
                ("at", "text '2024-01-02 03:04:05'"),
                ("d", "text '2024-01-02'"),
                ("t", "text '03:04:05'"),
                ("dbl", "real 1.5"),
                ("n", "real 2.125"),
                ("j", "text '{\"a\":1}'"),
                ("bin", "blob X'00010203'"),
                ("code", "text 'ab'"),
            ],
        ),
        Dialect::Sqlite => (
            &[
                "CREATE TABLE account (id INTEGER PRIMARY KEY)",
                "CREATE TABLE thing (id INTEGER PRIMARY KEY, account_id INT NOT NULL \
                 REFERENCES account (id) ON DELETE CASCADE, untyped, price MONEY2, mixed INT, \
                 j JSON, at DATETIME DEFAULT CURRENT_TIMESTAMP)",
            ],
            &[
                "INSERT INTO account VALUES (1), (2)",
                "INSERT INTO thing VALUES (7, 1, X'01FF', 12.5, 'text-in-int', '{\"a\": 1}', \
                 '2024-01-02 03:04:05'), (8, 2, 'other', NULL, NULL, NULL, NULL)",
            ],
            vec![
                ("untyped", "blob X'01FF'"),
                ("price", "real 12.5"),
                ("mixed", "text 'text-in-int'"),
                ("j", "text '{\"a\": 1}'"),
                ("at", "text '2024-01-02 03:04:05'"),
            ],
        ),
    };
    (
        ddl.iter().map(|s| (*s).to_owned()).collect(),
        data.iter().map(|s| (*s).to_owned()).collect(),
        expected,
    )
}

#[rstest]
#[tokio::test]
async fn catalog_types_map_to_sqlite(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db: TestDb| async move {
        let (ddl, data, expected) = catalog(dialect);
        build_fixture(&db, &ddl, &data).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("one.db");
        let (status, out) = cascade(&[
            "export",
            "--url",
            &db.url,
            "--rules",
            "live",
            "--owner",
            "account=1",
            "--out",
            path.to_str().expect("utf-8"),
            "--json",
        ])
        .await;
        assert_eq!(status.expect("export"), Status::Clean, "{dialect}: {out}");
        let report = json_of(&out);
        let export = open(&path).await;
        assert_eq!(ids(&export, "thing").await, [7], "{dialect}");
        for (column, want) in expected {
            let sql = format!("SELECT typeof({column}) || ' ' || quote({column}) AS v FROM thing");
            let got: String = rows(&export, &sql).await[0].try_get("", "v").expect("v");
            assert_eq!(got, want, "{dialect}: thing.{column}");
        }
        assert_eq!(report["defaults_dropped"], json!([]), "{dialect}");
        assert_eq!(report["checks"]["drift"], json!([]), "{dialect}");
        assert_sound(&export, &path, None).await;
    })
    .await;
}
