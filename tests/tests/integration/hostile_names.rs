//! Identifiers nobody should have to think about: a live schema whose table, column, constraint
//! and index names contain `"`, `` ` ``, `'`, `;`, `--`, spaces, mixed case, reserved words and
//! non-ASCII, on every dialect. Every command (export included) runs on it with `--rules live`;
//! each must work on exactly those names, and a canary table proves no name ever became SQL.

use cascade_cli::Status;
use cascade_entity::rules::Dialect;
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use tests::{cascade, with_db};

const PARENT: &str = "Owner's \"Tbl\"";
const PARENT_KEY: &str = "key \"id\"";
const PARENT_NAME: &str = "naïve Name";
const CHILD: &str = "order; child";
const CHILD_REF: &str = "ref`to'P;--";
const GRAND: &str = "Grand Ünï";
const GRAND_REF: &str = "c id";
/// The constraint name from the report: it closes the quote and drops the canary if pasted.
const INJECTING_FK: &str = "a\" CHECK (true); DROP TABLE canary; --";
const TICK_FK: &str = "fk`tick' \"x\"";
const INDEX: &str = "ix \"R\"; x";

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(db: &DatabaseConnection, dialect: Dialect, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {}", dialect.quote(table));
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.clone(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("count")
}

/// The schema, written by hand with the dialect's quoting; the child's FK is bare (NO ACTION),
/// the grandchild's CASCADE.
async fn create(db: &DatabaseConnection, dialect: Dialect) {
    let q = |name: &str| dialect.quote(name);
    let text = "VARCHAR(32)";
    run(db, "CREATE TABLE canary (id INT PRIMARY KEY)").await;
    run(db, "INSERT INTO canary VALUES (1)").await;
    run(
        db,
        &format!(
            "CREATE TABLE {} ({} {text} PRIMARY KEY, {} {text})",
            q(PARENT),
            q(PARENT_KEY),
            q(PARENT_NAME)
        ),
    )
    .await;
    run(
        db,
        &format!(
            "CREATE TABLE {} (id {text} PRIMARY KEY, {} {text} NULL, CONSTRAINT {} FOREIGN KEY \
             ({}) REFERENCES {} ({}))",
            q(CHILD),
            q(CHILD_REF),
            q(INJECTING_FK),
            q(CHILD_REF),
            q(PARENT),
            q(PARENT_KEY)
        ),
    )
    .await;
    run(
        db,
        &format!(
            "CREATE INDEX {} ON {} ({})",
            q(INDEX),
            q(CHILD),
            q(CHILD_REF)
        ),
    )
    .await;
    run(
        db,
        &format!(
            "CREATE TABLE {} (id {text} PRIMARY KEY, {} {text} NOT NULL, CONSTRAINT {} FOREIGN \
             KEY ({}) REFERENCES {} (id) ON DELETE CASCADE)",
            q(GRAND),
            q(GRAND_REF),
            q(TICK_FK),
            q(GRAND_REF),
            q(CHILD)
        ),
    )
    .await;
    if dialect != Dialect::MySql {
        run(
            db,
            &format!("CREATE INDEX ix_grand ON {} ({})", q(GRAND), q(GRAND_REF)),
        )
        .await;
    }
    for (parent, child, grand) in [("p1", "c1", "g1"), ("p2", "c2", "g2")] {
        run(
            db,
            &format!(
                "INSERT INTO {} VALUES ('{parent}', 'n {parent}')",
                q(PARENT)
            ),
        )
        .await;
        run(
            db,
            &format!("INSERT INTO {} VALUES ('{child}', '{parent}')", q(CHILD)),
        )
        .await;
        run(
            db,
            &format!("INSERT INTO {} VALUES ('{grand}', '{child}')", q(GRAND)),
        )
        .await;
    }
}

async fn ok(args: &[&str], expected: Status) -> String {
    let (status, out) = cascade(args).await;
    match status {
        Ok(status) => assert_eq!(status, expected, "{args:?}:\n{out}"),
        Err(e) => panic!("{args:?} failed: {e:#}\n{out}"),
    }
    out
}

#[rstest]
#[tokio::test]
async fn every_command_works_on_hostile_names(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        create(&db.conn, dialect).await;
        let url = db.url.as_str();
        let live = ["--url", url, "--rules", "live"];
        let with = |rest: &[&'static str]| -> Vec<String> {
            live.iter().chain(rest).map(|s| s.to_string()).collect()
        };
        let call = |args: Vec<String>, expected: Status| async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok(&args, expected).await
        };

        // The live rules carry every name exactly.
        let rules: Value =
            serde_json::from_str(&call(with(&["rules", "--json"]), Status::Clean).await)
                .expect("rules JSON");
        let child = &rules["tables"][CHILD];
        assert_eq!(
            child["foreign_keys"][0]["columns"][0], CHILD_REF,
            "{rules:#}"
        );
        assert_eq!(child["foreign_keys"][0]["parent_table"], PARENT);
        if dialect != Dialect::Sqlite {
            assert_eq!(child["foreign_keys"][0]["name"], INJECTING_FK);
            assert_eq!(rules["tables"][GRAND]["foreign_keys"][0]["name"], TICK_FK);
        }

        call(with(&["lint"]), Status::Clean).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let docs = dir.path().join("docs.md");
        let mut args = with(&["docs", "--out"]);
        args.push(docs.display().to_string());
        call(args, Status::Clean).await;
        assert!(
            std::fs::read_to_string(&docs)
                .expect("docs")
                .contains(GRAND)
        );
        call(with(&["orphans"]), Status::Clean).await;

        // Audit and repair under an owner policy rewrite the injecting constraint.
        let policy = format!("owner={PARENT}:cascade");
        let policed = |command: &str, extra: &[&str]| {
            let mut args = with(&[]);
            args.push(command.to_owned());
            args.push("--policy".to_owned());
            args.push(policy.clone());
            args.extend(extra.iter().map(|s| s.to_string()));
            args
        };
        call(policed("audit", &[]), Status::Finding).await;
        let fix = dir.path().join("fix");
        call(
            policed("repair", &["--out", &fix.display().to_string()]),
            Status::Finding,
        )
        .await;
        let up = std::fs::read_to_string(fix.join("up.sql")).expect("up.sql");
        assert!(up.contains(&dialect.quote(CHILD)), "{up}");
        if dialect != Dialect::Sqlite {
            assert!(up.contains(&dialect.quote(INJECTING_FK)), "{up}");
        }
        call(policed("repair", &["--apply"]), Status::Clean).await;
        assert_eq!(
            count(&db.conn, dialect, "canary").await,
            1,
            "the canary survived"
        );
        call(policed("audit", &[]), Status::Clean).await;

        // Delete through every path, by a predicate on a hostile column.
        let predicate = format!("{} = 'p1'", dialect.quote(PARENT_KEY));
        let target = |command: &str, extra: &[&str]| {
            let mut args = with(&[]);
            args.extend(
                [command, "--table", PARENT, "--where", predicate.as_str()]
                    .iter()
                    .map(|s| s.to_string()),
            );
            args.extend(extra.iter().map(|s| s.to_string()));
            args
        };
        let plan: Value =
            serde_json::from_str(&call(target("plan", &["--json"]), Status::Clean).await)
                .expect("plan JSON");
        assert_eq!(plan["deleted"][PARENT], 1, "{plan:#}");
        assert_eq!(plan["deleted"][CHILD], 1);
        assert_eq!(plan["deleted"][GRAND], 1);
        call(target("verify", &[]), Status::Clean).await;
        call(target("delete", &[]), Status::Clean).await;
        for table in [PARENT, CHILD, GRAND] {
            assert_eq!(count(&db.conn, dialect, table).await, 1, "{table}");
        }

        // Export the remaining owner: its child (an FK to it) and grandchild (CASCADE below).
        let exported = dir.path().join("p2.db");
        let mut args = with(&["export", "--json", "--owner"]);
        args.push(format!("{PARENT}=p2"));
        args.push("--out".to_owned());
        args.push(exported.display().to_string());
        let report: Value =
            serde_json::from_str(&call(args, Status::Clean).await).expect("export JSON");
        assert_eq!(report["total_rows"], 3, "{report:#}");
        assert_eq!(
            report["checks"]["drift"],
            serde_json::json!([]),
            "{report:#}"
        );
        assert_eq!(
            count(&db.conn, dialect, "canary").await,
            1,
            "the canary survived"
        );
    })
    .await;
}
