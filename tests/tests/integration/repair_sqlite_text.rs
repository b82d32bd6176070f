//! Unusual but valid SQLite `CREATE TABLE` texts survive an FK repair: only the FK clause to the
//! owner changes, every other byte stays, and every row keeps its values and its rowid. Cases:
//! untyped columns, bracket and backtick quoting, several `REFERENCES` on one column, table
//! constraints without separating commas, `DEFERRABLE`, `STRICT, WITHOUT ROWID`, constraint
//! names and strings that look like SQL, non-ASCII comments, columns shadowing `rowid`/`oid`, a
//! self-reference.

use cascade_entity::rules::{Dialect, FkAction};
use cascade_migration::introspect;
use cascade_migration::repair;
use cascade_service::expected::apply_policies;
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tests::with_db;

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn texts(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

struct Case {
    /// The child table `c`: columns `a` (unique) and `b` (references `p`) at least.
    before: &'static str,
    /// The same text after `owner=p:cascade`.
    after: &'static str,
    /// How the rowid is spelled in this table, if it has one.
    rowid: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        before: "CREATE TABLE \"c\"(a UNIQUE, b REFERENCES p)",
        after: "CREATE TABLE \"c\"(a UNIQUE, b REFERENCES p ON DELETE CASCADE)",
        rowid: Some("rowid"),
    },
    Case {
        before: "CREATE TABLE \"c\" ([my col] INT, a INT UNIQUE, \
                 b INT REFERENCES p(id) REFERENCES q ON DELETE SET NULL)",
        after: "CREATE TABLE \"c\" ([my col] INT, a INT UNIQUE, \
                b INT REFERENCES p(id) ON DELETE CASCADE REFERENCES q ON DELETE SET NULL)",
        rowid: Some("rowid"),
    },
    Case {
        before: "CREATE TABLE \"c\" (a INT PRIMARY KEY, b INT, UNIQUE (a, b) \
                 FOREIGN KEY (b) REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED \
                 CHECK (b <> 0)) STRICT, WITHOUT ROWID",
        after: "CREATE TABLE \"c\" (a INT PRIMARY KEY, b INT, UNIQUE (a, b) \
                FOREIGN KEY (b) REFERENCES p (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED \
                CHECK (b <> 0)) STRICT, WITHOUT ROWID",
        rowid: None,
    },
    Case {
        before: "CREATE TABLE \"c\" ( /* ünïcödé — before */ rowid TEXT, oid INT, a INT UNIQUE,\n\
                 \tb INT CONSTRAINT \"fk ; --\" REFERENCES `p` ON UPDATE CASCADE ON DELETE RESTRICT,\n\
                 \tnote TEXT DEFAULT 'REFERENCES x' CHECK (note <> 'FOREIGN KEY (b)'),\n\
                 \tself INT REFERENCES \"c\" (a) -- ünïcödé — after\n)",
        after: "CREATE TABLE \"c\" ( /* ünïcödé — before */ rowid TEXT, oid INT, a INT UNIQUE,\n\
                \tb INT CONSTRAINT \"fk ; --\" REFERENCES `p` ON UPDATE CASCADE ON DELETE CASCADE,\n\
                \tnote TEXT DEFAULT 'REFERENCES x' CHECK (note <> 'FOREIGN KEY (b)'),\n\
                \tself INT REFERENCES \"c\" (a) -- ünïcödé — after\n)",
        rowid: Some("_rowid_"),
    },
];

/// `a|b` per row, with the rowid in front where the table has one.
async fn contents(db: &DatabaseConnection, rowid: Option<&str>) -> Vec<String> {
    let rowid = rowid.map(|r| format!("{r} || ':' || ")).unwrap_or_default();
    texts(
        db,
        &format!("SELECT {rowid}quote(a) || '|' || quote(b) FROM c ORDER BY a"),
    )
    .await
}

#[rstest]
#[tokio::test]
async fn unusual_texts_keep_every_byte_but_the_fk(#[values(Dialect::Sqlite)] dialect: Dialect) {
    for case in CASES {
        with_db(dialect, |db| async move {
            for sql in [
                "CREATE TABLE p (id INTEGER PRIMARY KEY)",
                "CREATE TABLE q (id INTEGER PRIMARY KEY)",
                case.before,
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO q VALUES (1), (2)",
                "INSERT INTO c (a, b) VALUES (6, 1), (7, 1), (8, 2)",
                "DELETE FROM c WHERE a = 6",
            ] {
                run(&db.conn, sql).await;
            }
            let rows = contents(&db.conn, case.rowid).await;
            let expected = apply_policies(
                introspect(&db.conn).await.expect("introspect"),
                &["owner=p:cascade".parse().expect("policy")],
            )
            .expect("policy");
            let plan = repair::plan(&db.conn, &expected).await.expect("plan");
            assert_eq!(plan.changes.len(), 1, "{}", case.before);
            repair::apply(&db.conn, &plan)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.before));

            assert_eq!(
                texts(&db.conn, "SELECT sql FROM sqlite_schema WHERE name = 'c'").await,
                [case.after]
            );
            assert_eq!(
                contents(&db.conn, case.rowid).await,
                rows,
                "{}",
                case.before
            );
            let graph = introspect(&db.conn).await.expect("introspect");
            assert_eq!(
                graph
                    .referencing("p")
                    .map(|(_, fk)| fk.on_delete)
                    .collect::<Vec<_>>(),
                [FkAction::Cascade],
                "{}",
                case.before
            );
            run(&db.conn, "DELETE FROM p WHERE id = 1").await;
            assert_eq!(contents(&db.conn, None).await, ["8|2"], "{}", case.before);
        })
        .await;
    }
}
