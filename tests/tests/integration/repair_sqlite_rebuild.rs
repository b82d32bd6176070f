//! The SQLite repair rebuilds a table from its own `CREATE TABLE` text with only the FK clauses
//! rewritten: every other clause survives byte for byte and keeps refusing what it refused
//! (CHECK, NOCASE uniqueness), AUTOINCREMENT keeps its counter, generated columns, defaults,
//! indexes and triggers keep working. Views and triggers elsewhere that mention the table (which
//! used to fail the rebuild with "error in view ...: no such table") are saved and recreated
//! verbatim, and the rowids of a table without an INTEGER PRIMARY KEY are kept.

use cascade_cli::Status;
use cascade_entity::rules::{Deferrable, Dialect, Enforcement, FkAction, ForeignKey};
use cascade_migration::introspect;
use cascade_migration::repair::{self, run_script};
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tests::{cascade, with_db};

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Every row of `sql`, each column as text (NULL as `None`).
async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<Option<String>>> {
    let found = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    found
        .iter()
        .map(|row| {
            row.column_names()
                .iter()
                .map(|c| {
                    row.try_get::<Option<String>>("", c)
                        .or_else(|_| {
                            row.try_get::<Option<i64>>("", c)
                                .map(|v| v.map(|v| v.to_string()))
                        })
                        .or_else(|_| {
                            row.try_get::<Option<f64>>("", c)
                                .map(|v| v.map(|v| v.to_string()))
                        })
                        .unwrap_or_else(|e| panic!("{sql}: column {c}: {e}"))
                })
                .collect()
        })
        .collect()
}

/// The schema text of one object.
async fn schema_sql(db: &DatabaseConnection, name: &str) -> String {
    let found = rows(
        db,
        &format!("SELECT sql FROM sqlite_schema WHERE name = '{name}'"),
    )
    .await;
    match found.as_slice() {
        [row] => row[0].clone().expect("sql"),
        other => panic!("{name}: {other:?}"),
    }
}

/// Every schema object except `table` itself: (type, name, tbl_name, sql).
async fn other_objects(db: &DatabaseConnection, table: &str) -> Vec<Vec<Option<String>>> {
    rows(
        db,
        &format!(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name <> '{table}' \
             ORDER BY type, name"
        ),
    )
    .await
}

/// Every view and trigger: (type, name, tbl_name, sql).
async fn views_and_triggers(db: &DatabaseConnection) -> Vec<Vec<Option<String>>> {
    rows(
        db,
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger') \
         ORDER BY type, name",
    )
    .await
}

async fn refused(db: &DatabaseConnection, sql: &str, reason: &str) {
    match db.execute_unprepared(sql).await {
        Err(e) => assert!(e.to_string().contains(reason), "{sql}: {e}"),
        Ok(_) => panic!("{sql} was accepted"),
    }
}

const ITEM: &str = "CREATE TABLE \"item\" ( -- every clause SQLite has
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id INT NOT NULL REFERENCES owner (id),
  topic_id int8,
  code TEXT COLLATE NOCASE NOT NULL,
  qty INT DEFAULT 1 CHECK (qty > 0),
  price REAL DEFAULT (round(1.25 * 2, 1)),
  created TEXT DEFAULT CURRENT_TIMESTAMP,
  total REAL GENERATED ALWAYS AS (qty * price) VIRTUAL,
  label TEXT GENERATED ALWAYS AS (upper(code) || '#' || id) STORED,
  CONSTRAINT uq_item_code UNIQUE (code),
  CONSTRAINT ck_item_price CHECK (price >= 0),
  CONSTRAINT fk_item_topic FOREIGN KEY (topic_id) REFERENCES topic (id) ON DELETE SET NULL
)";

async fn create_items(db: &DatabaseConnection) {
    for sql in [
        "CREATE TABLE owner (id INTEGER PRIMARY KEY)",
        "CREATE TABLE topic (id INTEGER PRIMARY KEY)",
        "CREATE TABLE item_log (item_id INT, what TEXT)",
        ITEM,
        "CREATE INDEX ix_item_owner ON item (owner_id)",
        "CREATE INDEX ix_item_topic ON item (topic_id)",
        "CREATE TRIGGER tr_item_insert AFTER INSERT ON item \
         BEGIN INSERT INTO item_log VALUES (NEW.id, 'insert ' || NEW.label); END",
        "INSERT INTO owner VALUES (1), (2)",
        "INSERT INTO topic VALUES (10)",
        "INSERT INTO item (owner_id, topic_id, code) VALUES (1, 10, 'abc'), (1, NULL, 'def')",
        "INSERT INTO item (owner_id, code, qty, price) VALUES (2, 'ghi', 2, 1.5)",
        // The highest key is deleted: AUTOINCREMENT must never hand out 3 again.
        "DELETE FROM item WHERE id = 3",
    ] {
        run(db, sql).await;
    }
}

/// What the old schema refused, it still refuses; what it computed, it still computes.
async fn old_rules_hold(db: &DatabaseConnection) {
    refused(
        db,
        "INSERT INTO item (owner_id, code, qty) VALUES (1, 'zzz', 0)",
        "CHECK constraint failed",
    )
    .await;
    refused(
        db,
        "INSERT INTO item (owner_id, code, price) VALUES (1, 'zzz', -1)",
        "CHECK constraint failed",
    )
    .await;
    refused(
        db,
        "INSERT INTO item (owner_id, code) VALUES (1, 'ABC')",
        "UNIQUE constraint failed",
    )
    .await;
    refused(
        db,
        "INSERT INTO item (owner_id, code, total) VALUES (1, 'zzz', 1)",
        "generated column",
    )
    .await;
    assert_eq!(
        rows(
            db,
            "SELECT id, qty, price, total, label, created IS NOT NULL FROM item \
             WHERE code = 'ABC'"
        )
        .await,
        [["1", "1", "2.5", "2.5", "ABC#1", "1"].map(|v| Some(v.to_owned()))]
    );
}

#[rstest]
#[tokio::test]
async fn rebuild_keeps_every_clause_but_the_fk(#[values(Dialect::Sqlite)] dialect: Dialect) {
    with_db(dialect, |db| async move {
        create_items(&db.conn).await;
        let before = schema_sql(&db.conn, "item").await;
        assert_eq!(before, ITEM);
        let others = other_objects(&db.conn, "item").await;
        let columns = "SELECT name, type, \"notnull\", dflt_value, pk, hidden \
                       FROM pragma_table_xinfo('item') ORDER BY cid";
        let column_info = rows(&db.conn, columns).await;
        let contents = rows(&db.conn, "SELECT * FROM item ORDER BY id").await;
        old_rules_hold(&db.conn).await;

        let url = db.url.as_str();
        let policies = [
            "--rules",
            "live",
            "--policy",
            "owner=owner:cascade",
            "--policy",
            "owner=topic:cascade",
        ];
        let (status, out) =
            cascade(&[&["repair", "--url", url, "--apply"][..], &policies].concat()).await;
        assert_eq!(status.expect("repair"), Status::Clean, "{out}");
        let (status, out) = cascade(&[&["audit", "--url", url][..], &policies].concat()).await;
        assert_eq!(status.expect("audit"), Status::Clean, "{out}");

        // Only the two FK clauses differ, each in place.
        let expected = ITEM
            .replace(
                "REFERENCES owner (id),",
                "REFERENCES owner (id) ON DELETE CASCADE,",
            )
            .replace(
                "REFERENCES topic (id) ON DELETE SET NULL",
                "REFERENCES topic (id) ON DELETE CASCADE",
            );
        assert_eq!(schema_sql(&db.conn, "item").await, expected);
        assert_eq!(other_objects(&db.conn, "item").await, others);
        assert_eq!(rows(&db.conn, columns).await, column_info);
        assert_eq!(
            rows(&db.conn, "SELECT * FROM item ORDER BY id").await,
            contents
        );
        assert_eq!(
            rows(
                &db.conn,
                "SELECT seq FROM sqlite_sequence WHERE name = 'item'"
            )
            .await,
            [[Some("3".to_owned())]]
        );
        old_rules_hold(&db.conn).await;

        // The counter, the trigger and the generated columns still work on new rows; the index
        // is still used; and the FKs now cascade.
        run(
            &db.conn,
            "INSERT INTO item (owner_id, topic_id, code) VALUES (2, 10, 'new')",
        )
        .await;
        assert_eq!(
            rows(
                &db.conn,
                "SELECT item_id, what FROM item_log WHERE item_id = 4"
            )
            .await,
            [[Some("4".to_owned()), Some("insert NEW#4".to_owned())]]
        );
        let plan = rows(
            &db.conn,
            "EXPLAIN QUERY PLAN SELECT id FROM item WHERE owner_id = 2",
        )
        .await;
        assert!(format!("{plan:?}").contains("ix_item_owner"), "{plan:?}");
        run(&db.conn, "DELETE FROM topic WHERE id = 10").await;
        assert_eq!(
            rows(&db.conn, "SELECT id FROM item ORDER BY id").await,
            [[Some("2".to_owned())]]
        );
        run(&db.conn, "DELETE FROM owner WHERE id = 1").await;
        assert!(rows(&db.conn, "SELECT id FROM item").await.is_empty());
    })
    .await;
}

/// The views on `post` and joining it, a view on that view, a trigger on another table that
/// writes to `post`, an `INSTEAD OF` trigger on a view of it; a view joining `post` and `note`
/// (both rebuilt in one script) and a trigger on `note` that writes to `post`.
const DEPENDENTS: [&str; 7] = [
    "CREATE VIEW post_titles AS SELECT id, title FROM post",
    "CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN \"post\" p ON p.user_id = u.id",
    "CREATE VIEW user_post_count AS SELECT name, count(*) AS n FROM user_posts GROUP BY name",
    "CREATE TRIGGER users_renamed AFTER UPDATE OF name ON users \
     BEGIN UPDATE post SET title = title || '!' WHERE user_id = NEW.id; END",
    "CREATE TRIGGER post_titles_insert INSTEAD OF INSERT ON post_titles \
     BEGIN INSERT INTO post (id, user_id, title) VALUES (NEW.id, 1, NEW.title); END",
    "CREATE VIEW post_notes AS SELECT p.title, n.id AS note_id FROM post p JOIN note n ON n.post_id = p.id",
    "CREATE TRIGGER note_added AFTER INSERT ON note \
     BEGIN UPDATE post SET title = title || '+' WHERE id = NEW.post_id; END",
];

async fn view_contents(db: &DatabaseConnection) -> Vec<Vec<Vec<Option<String>>>> {
    let mut all = Vec::new();
    for sql in [
        "SELECT * FROM post_titles ORDER BY id",
        "SELECT * FROM user_posts ORDER BY name, title",
        "SELECT * FROM user_post_count ORDER BY name",
        "SELECT * FROM post_notes ORDER BY title, note_id",
        "SELECT rowid, id FROM post ORDER BY rowid",
    ] {
        all.push(rows(db, sql).await);
    }
    all
}

#[rstest]
#[tokio::test]
async fn rebuild_keeps_dependent_views_and_triggers(#[values(Dialect::Sqlite)] dialect: Dialect) {
    with_db(dialect, |db| async move {
        for sql in [
            "CREATE TABLE users (id INT PRIMARY KEY, name TEXT)",
            // No INTEGER PRIMARY KEY: the rowid is the table's own and must survive the copy.
            "CREATE TABLE post (id INT PRIMARY KEY, user_id INT NOT NULL REFERENCES users (id), \
             title TEXT)",
            "INSERT INTO users VALUES (1, 'ann'), (2, 'bob')",
            "INSERT INTO post VALUES (9, 1, 'a'), (10, 1, 'b'), (11, 2, 'c'), (12, 2, 'd')",
            "DELETE FROM post WHERE id = 9",
            "CREATE TABLE note (id INT PRIMARY KEY, post_id INT REFERENCES post (id), \
             user_id INT REFERENCES users (id))",
            "INSERT INTO note VALUES (1, 10, 1)",
        ] {
            run(&db.conn, sql).await;
        }
        for sql in DEPENDENTS {
            run(&db.conn, sql).await;
        }
        let post = schema_sql(&db.conn, "post").await;
        let others = views_and_triggers(&db.conn).await;
        assert_eq!(others.len(), DEPENDENTS.len());
        let seen = view_contents(&db.conn).await;

        let expected = cascade_service::expected::apply_policies(
            introspect(&db.conn).await.expect("introspect"),
            &["owner=users:cascade".parse().expect("policy")],
        )
        .expect("policy");
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(plan.changes.len(), 2, "post and note: {:?}", plan.changes);
        repair::apply(&db.conn, &plan)
            .await
            .expect("rebuild with views");

        let repaired = post.replace(
            "REFERENCES users (id)",
            "REFERENCES users (id) ON DELETE CASCADE",
        );
        assert_eq!(
            schema_sql(&db.conn, "post").await,
            repaired.replacen("post", "\"post\"", 1)
        );
        assert_eq!(views_and_triggers(&db.conn).await, others);
        assert_eq!(view_contents(&db.conn).await, seen);
        // The up script again (as a second application would run it) changes nothing.
        run_script(&db.conn, &plan.up).await.expect("up twice");
        assert_eq!(views_and_triggers(&db.conn).await, others);
        assert_eq!(view_contents(&db.conn).await, seen);

        // The triggers fire: on the other tables, and instead of an insert into the view.
        run(&db.conn, "UPDATE users SET name = 'bo' WHERE id = 2").await;
        run(&db.conn, "INSERT INTO post_titles VALUES (13, 'e')").await;
        run(&db.conn, "INSERT INTO note VALUES (2, 11, 2)").await;
        assert_eq!(
            rows(&db.conn, "SELECT id, title FROM post ORDER BY id").await,
            [["10", "b"], ["11", "c!+"], ["12", "d!"], ["13", "e"]]
                .map(|r| r.map(|v| Some(v.to_owned())).to_vec())
        );
        run(&db.conn, "DELETE FROM users WHERE id = 1").await;
        assert_eq!(
            rows(&db.conn, "SELECT * FROM user_post_count").await,
            [[Some("bo".to_owned()), Some("2".to_owned())]]
        );

        // Down rebuilds from the original text, views and triggers again intact.
        run_script(&db.conn, &plan.down).await.expect("down");
        assert_eq!(
            schema_sql(&db.conn, "post").await,
            post.replacen("post", "\"post\"", 1)
        );
        assert_eq!(views_and_triggers(&db.conn).await, others);
        refused(
            &db.conn,
            "DELETE FROM users WHERE id = 2",
            "FOREIGN KEY constraint failed",
        )
        .await;
    })
    .await;
}

fn fk(column: &str, parent: &str, on_delete: FkAction) -> ForeignKey {
    ForeignKey {
        name: None,
        columns: vec![column.into()],
        parent_table: parent.into(),
        parent_columns: vec!["id".into()],
        on_delete,
        on_update: FkAction::NoAction,
        on_delete_explicit: true,
        enforcement: Enforcement::Database,
        deferrable: Deferrable::No,
        set_null_columns: None,
        creation_rank: None,
    }
}

/// A dropped FK is cut out with its comma, an added one appended as a table constraint; the
/// remaining clauses keep their text and their declaration order.
#[rstest]
#[tokio::test]
async fn rebuild_drops_and_adds_fk_clauses(#[values(Dialect::Sqlite)] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let note = "CREATE TABLE \"note\" (id INT PRIMARY KEY,\n  \
                    a INT REFERENCES pa (id) ON DELETE CASCADE,\n  \
                    b INT,\n  c INT,\n  \
                    FOREIGN KEY (b) REFERENCES pb (id) ON DELETE SET NULL,\n  \
                    CONSTRAINT uq_note UNIQUE (a, b) /* kept */\n)";
        for sql in [
            "CREATE TABLE pa (id INT PRIMARY KEY)",
            "CREATE TABLE pb (id INT PRIMARY KEY)",
            "CREATE TABLE pc (id INT PRIMARY KEY)",
            note,
        ] {
            run(&db.conn, sql).await;
        }
        let mut expected = introspect(&db.conn).await.expect("introspect");
        let table = expected.tables.get_mut("note").expect("note");
        table.foreign_keys.retain(|fk| fk.parent_table != "pb");
        table.foreign_keys.push(fk("c", "pc", FkAction::SetNull));
        let plan = repair::plan(&db.conn, &expected).await.expect("plan");
        assert_eq!(plan.changes.len(), 2, "{:?}", plan.changes);
        repair::apply(&db.conn, &plan).await.expect("apply");
        assert_eq!(
            schema_sql(&db.conn, "note").await,
            note.replace(
                ",\n  FOREIGN KEY (b) REFERENCES pb (id) ON DELETE SET NULL",
                ""
            )
            .replace(
                " /* kept */",
                ", FOREIGN KEY (\"c\") REFERENCES \"pc\" (\"id\") ON DELETE SET NULL \
                     ON UPDATE NO ACTION /* kept */"
            )
        );
        // pragma_foreign_key_list numbers the last declared 0.
        assert_eq!(
            rows(
                &db.conn,
                "SELECT id, \"from\", \"table\", on_delete FROM pragma_foreign_key_list('note') \
                 ORDER BY id"
            )
            .await,
            [["0", "c", "pc", "SET NULL"], ["1", "a", "pa", "CASCADE"]]
                .map(|r| r.map(|v| Some(v.to_owned())).to_vec())
        );
        let again = repair::plan(&db.conn, &expected).await.expect("plan again");
        assert!(again.is_empty(), "{:?}", again.changes);
    })
    .await;
}
