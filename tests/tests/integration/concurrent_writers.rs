//! Issue 9, item 8: an ORM-mode delete (one-shot, and batched) while 16 other transactions insert children of the rows
//! it deletes, through relations the database does not enforce (ORM-only FKs, or every FK on a
//! connection with enforcement off) and through enforced ones. Writers of unenforced children
//! call `lock_parent` first, as the README tells apps to. Afterwards no relation has an orphan,
//! and every insert either committed (its child then has a surviving parent, or got its
//! relation's rule: deleted, or nulled) or failed with a typed or known error, counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt};

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{DeleteOptions, LockError, Selection, delete, lock_parent};
use rstest::rstest;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    Condition, ConnectionTrait, DatabaseConnection, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use tests::{exec, with_db};

const WRITERS: usize = 16;
/// Inserts per writer while the delete may run (bounded, so SQLite's delete gets its turn).
const ATTEMPTS: usize = 24;
const OWNERS: i64 = 120;
/// Owners `1..=DELETED` are deleted; the others survive.
const DELETED: i64 = 60;
const ITEMS_PER_OWNER: i64 = 8;
const NOTES_PER_ITEM: i64 = 2;
/// Keys of rows the writers insert start here.
const FIRST_NEW_KEY: i64 = 1_000_000;

const SCHEMA: &[&str] = &[
    "CREATE TABLE owner (id INT PRIMARY KEY)",
    // Enforced: the database cascades (and checks inserts).
    "CREATE TABLE item (id INT PRIMARY KEY, owner_id INT NOT NULL, \
     FOREIGN KEY (owner_id) REFERENCES owner (id) ON DELETE CASCADE)",
    "CREATE INDEX item_owner ON item (owner_id)",
    "CREATE TABLE link (id INT PRIMARY KEY, owner_id INT NOT NULL, \
     FOREIGN KEY (owner_id) REFERENCES owner (id) ON DELETE CASCADE)",
    "CREATE INDEX link_owner ON link (owner_id)",
    // ORM-only: no FK, the relations below.
    "CREATE TABLE note (id INT PRIMARY KEY, item_id INT NOT NULL)",
    "CREATE INDEX note_item ON note (item_id)",
    "CREATE TABLE tag (id INT PRIMARY KEY, owner_id INT NULL)",
    "CREATE INDEX tag_owner ON tag (owner_id)",
];

const RELATIONS: &[&str] = &[
    "note.item_id -> item.id cascade",
    "tag.owner_id -> owner.id set_null",
];

/// A child a writer inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Of an item, ORM-only CASCADE (a grandchild of the deleted owners).
    Note,
    /// Of an owner, ORM-only SET NULL.
    Tag,
    /// Of an owner, enforced CASCADE (ORM-only too when enforcement is off).
    Link,
}

impl Kind {
    fn of(n: usize) -> Kind {
        [Kind::Note, Kind::Tag, Kind::Link][n % 3]
    }

    fn table(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Tag => "tag",
            Kind::Link => "link",
        }
    }

    fn parent(self) -> (&'static str, &'static str) {
        match self {
            Kind::Note => ("item", "item_id"),
            Kind::Tag | Kind::Link => ("owner", "owner_id"),
        }
    }

    /// A parent key from a pseudo-random draw: every owner, or every item.
    fn parent_key(self, draw: u64) -> i64 {
        let owners = u64::try_from(OWNERS).unwrap_or(1);
        match self {
            Kind::Note => {
                let items = owners * u64::try_from(ITEMS_PER_OWNER).unwrap_or(1);
                i64::try_from(draw % items).unwrap_or(0) + 1
            }
            Kind::Tag | Kind::Link => i64::try_from(draw % owners).unwrap_or(0) + 1,
        }
    }

    /// Whether the parent survives the delete.
    fn parent_survives(self, parent: i64) -> bool {
        let owner = match self {
            Kind::Note => (parent - 1) / ITEMS_PER_OWNER + 1,
            Kind::Tag | Kind::Link => parent,
        };
        owner > DELETED
    }
}

/// How one insert ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Committed,
    /// `LockError::ParentGone`: the parent was deleted before the writer could lock it.
    ParentGone,
    /// The database's FK check refused the child (an enforced relation).
    FkRefused,
    /// A deadlock, lock timeout or busy database: rolled back, the writer may retry.
    Conflict,
}

#[derive(Debug, Clone, Copy)]
struct Attempt {
    kind: Kind,
    id: i64,
    parent: i64,
    outcome: Outcome,
}

/// The database error's code: SQLSTATE (PostgreSQL), error number (MariaDB), extended result
/// code (SQLite).
fn code(error: &DbErr) -> Option<String> {
    match cascade_service::db_error::sqlx_error(error)? {
        sea_orm::sqlx::Error::Database(db) => {
            match db.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
                Some(mysql) => Some(mysql.number().to_string()),
                None => db.code().map(|c| c.into_owned()),
            }
        }
        _ => None,
    }
}

/// A failed insert as a known outcome, or the error itself.
fn known(error: &DbErr) -> Result<Outcome, String> {
    match code(error).as_deref() {
        // FK violation: PostgreSQL, MariaDB, SQLite (SQLITE_CONSTRAINT_FOREIGNKEY).
        Some("23503" | "1452" | "787") => Ok(Outcome::FkRefused),
        // Deadlock / serialization, lock wait timeout, SQLITE_BUSY (and its snapshot variant).
        Some("40P01" | "40001" | "1213" | "1205" | "5" | "517" | "261") => Ok(Outcome::Conflict),
        _ => Err(format!("unexpected error: {error}")),
    }
}

/// One insert of a `kind` child with key `id` under `parent`, in its own transaction
/// (`BEGIN IMMEDIATE` on SQLite), locking the parent first when `lock`.
async fn insert_child(
    conn: &DatabaseConnection,
    graph: &RuleGraph,
    kind: Kind,
    id: i64,
    parent: i64,
    lock: bool,
) -> Result<Outcome, String> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = match conn.begin_with_options(options).await {
        Ok(txn) => txn,
        Err(error) => return known(&error),
    };
    let (parent_table, column) = kind.parent();
    if lock {
        match lock_parent(&txn, graph, parent_table, &[parent.into()]).await {
            Ok(()) => {}
            Err(LockError::ParentGone { .. }) => {
                txn.rollback().await.map_err(|e| e.to_string())?;
                return Ok(Outcome::ParentGone);
            }
            Err(LockError::Db(error)) => return known(&error),
            Err(other) => return Err(other.to_string()),
        }
    }
    let insert = Query::insert()
        .into_table(Alias::new(kind.table()))
        .columns([Alias::new("id"), Alias::new(column)])
        .values_panic([id.into(), parent.into()])
        .to_owned();
    if let Err(error) = txn.execute(&insert).await {
        return known(&error);
    }
    match txn.commit().await {
        Ok(()) => Ok(Outcome::Committed),
        Err(error) => known(&error),
    }
}

async fn seed(db: &DatabaseConnection) {
    for sql in SCHEMA {
        exec(db, sql).await;
    }
    let owners: Vec<String> = (1..=OWNERS).map(|o| format!("({o})")).collect();
    exec(
        db,
        &format!("INSERT INTO owner VALUES {}", owners.join(", ")),
    )
    .await;
    let items: Vec<String> = (1..=OWNERS * ITEMS_PER_OWNER)
        .map(|i| format!("({i}, {})", (i - 1) / ITEMS_PER_OWNER + 1))
        .collect();
    exec(db, &format!("INSERT INTO item VALUES {}", items.join(", "))).await;
    let notes: Vec<String> = (1..=OWNERS * ITEMS_PER_OWNER * NOTES_PER_ITEM)
        .map(|n| format!("({n}, {})", (n - 1) / NOTES_PER_ITEM + 1))
        .collect();
    exec(db, &format!("INSERT INTO note VALUES {}", notes.join(", "))).await;
    let per_owner: Vec<String> = (1..=OWNERS).map(|o| format!("({o}, {o})")).collect();
    for table in ["link", "tag"] {
        exec(
            db,
            &format!("INSERT INTO {table} VALUES {}", per_owner.join(", ")),
        )
        .await;
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0).expect("count")
}

/// 16 writers insert children while an ORM-mode delete removes half the owners; with
/// `enforce` off, no relation is enforced and every writer locks its parent.
#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orm_delete_under_concurrent_writers_leaves_no_orphan(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
    #[values(Enforce::On, Enforce::Off)] enforce: Enforce,
) {
    delete_under_writers(dialect, enforce, DeleteOptions::orm()).await;
}

/// The same writers during a batched delete (`--batch-rows 25`): each batch locks the rows it
/// picked and deletes only those still leaves, so a child inserted between its pick and its
/// DELETE is not orphaned.
#[rstest]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batched_delete_under_concurrent_writers_leaves_no_orphan(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
    #[values(Enforce::On, Enforce::Off)] enforce: Enforce,
) {
    let options = DeleteOptions::orm().batch_rows(Some(25));
    delete_under_writers(dialect, enforce, options).await;
}

/// Seeds, starts the writers, runs the delete with `options` once every writer is inserting,
/// and checks no orphan and every insert accounted for.
async fn delete_under_writers(dialect: Dialect, enforce: Enforce, options: DeleteOptions) {
    with_db(dialect, |db| async move {
        seed(&db.conn).await;
        let mut graph = cascade_migration::introspect(&db.conn)
            .await
            .expect("introspect");
        let relations: Vec<_> = RELATIONS
            .iter()
            .map(|r| r.parse().expect("relation"))
            .collect();
        cascade_service::relation_spec::add_relations(&mut graph, &relations).expect("relations");
        let graph = Arc::new(graph);
        let conn = connect(&db.url, enforce).await.expect("delete connection");

        let next_key = Arc::new(AtomicI64::new(FIRST_NEW_KEY));
        // Each writer says when it has inserted once; the delete then starts, and says when
        // it has committed.
        let (started_tx, mut started) = mpsc::channel::<()>(WRITERS);
        let (deleted_tx, deleted) = oneshot::channel::<()>();
        let deleted = deleted.shared();
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (graph, url) = (Arc::clone(&graph), db.url.clone());
            let (next_key, mut started, deleted) = (
                Arc::clone(&next_key),
                Some(started_tx.clone()),
                deleted.clone(),
            );
            writers.push(tokio::spawn(async move {
                let conn = connect(&url, enforce).await.expect("writer connection");
                let mut rng = fastrand::Rng::with_seed(u64::try_from(w).unwrap_or(0) + 9);
                let mut attempts = Vec::new();
                let lock = |kind: Kind| kind != Kind::Link || enforce == Enforce::Off;
                for n in 0..ATTEMPTS {
                    if n == 1
                        && let Some(mut started) = started.take()
                    {
                        started.send(()).await.expect("report the start");
                    }
                    if deleted.peek().is_some() {
                        break;
                    }
                    let kind = Kind::of(w + n);
                    let parent = kind.parent_key(rng.u64(..));
                    let id = next_key.fetch_add(1, Ordering::SeqCst);
                    let outcome = insert_child(&conn, &graph, kind, id, parent, lock(kind))
                        .await
                        .unwrap_or_else(|e| panic!("{dialect} writer {w}: {e}"));
                    attempts.push(Attempt {
                        kind,
                        id,
                        parent,
                        outcome,
                    });
                    tokio::task::yield_now().await;
                }
                // Once the delete committed, a child of a deleted parent is refused.
                deleted.await.expect("the delete finished");
                let kind = Kind::of(w);
                let id = next_key.fetch_add(1, Ordering::SeqCst);
                let outcome = insert_child(&conn, &graph, kind, id, 1, lock(kind))
                    .await
                    .unwrap_or_else(|e| panic!("{dialect} writer {w}: {e}"));
                assert!(
                    matches!(outcome, Outcome::ParentGone | Outcome::FkRefused),
                    "{dialect} writer {w}: a {kind:?} of deleted parent 1 was {outcome:?}"
                );
                attempts.push(Attempt {
                    kind,
                    id,
                    parent: 1,
                    outcome,
                });
                conn.close().await.expect("close writer");
                attempts
            }));
        }
        // Start the delete once every writer is inserting.
        drop(started_tx);
        for _ in 0..WRITERS {
            started.next().await.expect("a writer started");
        }
        let selection =
            Selection::condition(Condition::all().add(Expr::col(Alias::new("id")).lte(DELETED)));
        let report = delete(&conn, &graph, "owner", &selection, options)
            .await
            .unwrap_or_else(|e| panic!("{dialect} {enforce:?}: delete: {e}"));
        deleted_tx.send(()).expect("writers wait");
        let mut attempts = Vec::new();
        for writer in writers {
            attempts.extend(writer.await.expect("writer"));
        }

        // No orphan in any relation, ORM-only ones included.
        let scan = cascade_service::orphans::scan(&db.conn, &graph)
            .await
            .expect("scan");
        assert_eq!(scan.total, 0, "{dialect} {enforce:?}: {:?}", scan.orphans);

        // Every insert is accounted for, and none was lost or wrongly kept.
        let tally = |o: Outcome| attempts.iter().filter(|a| a.outcome == o).count();
        let (committed, gone, refused, conflicts) = (
            tally(Outcome::Committed),
            tally(Outcome::ParentGone),
            tally(Outcome::FkRefused),
            tally(Outcome::Conflict),
        );
        eprintln!(
            "{dialect} {enforce:?}: {} inserts: {committed} committed, {gone} parent gone, \
             {refused} refused by the FK, {conflicts} conflicts; delete: {:?}, {} statements, \
             {} attempt(s)",
            attempts.len(),
            report.effect.deleted,
            report.statements,
            report.attempts
        );
        assert_eq!(committed + gone + refused + conflicts, attempts.len());
        assert!(
            gone + refused >= WRITERS,
            "{dialect}: every late insert refused"
        );
        assert_eq!(report.effect.deleted.get("owner"), Some(&(DELETED as u64)));
        for kind in [Kind::Note, Kind::Tag, Kind::Link] {
            let table = kind.table();
            let (_, column) = kind.parent();
            let mut kept: Vec<i64> = attempts
                .iter()
                .filter(|a| a.kind == kind && a.outcome == Outcome::Committed)
                .filter(|a| kind == Kind::Tag || kind.parent_survives(a.parent))
                .map(|a| a.id)
                .collect();
            kept.sort_unstable();
            let sql = format!("SELECT id FROM {table} WHERE id >= {FIRST_NEW_KEY} ORDER BY id");
            let present: Vec<i64> = db
                .conn
                .query_all_raw(sea_orm::Statement::from_string(
                    db.conn.get_database_backend(),
                    sql.clone(),
                ))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|row| i64::from(row.try_get_by_index::<i32>(0).expect("id")))
                .collect();
            assert_eq!(
                present, kept,
                "{dialect} {enforce:?}: the committed {table} rows kept"
            );
            if kind == Kind::Tag {
                let pointing_to_deleted = attempts
                    .iter()
                    .filter(|a| a.kind == kind && a.outcome == Outcome::Committed)
                    .filter(|a| !kind.parent_survives(a.parent))
                    .count();
                let nulled = count(
                    &db.conn,
                    &format!(
                        "SELECT COUNT(*) FROM {table} WHERE id >= {FIRST_NEW_KEY} AND {column} \
                         IS NULL"
                    ),
                )
                .await;
                assert_eq!(
                    nulled,
                    i64::try_from(pointing_to_deleted).unwrap_or(-1),
                    "{dialect} {enforce:?}: committed tags of deleted owners nulled"
                );
            }
        }
        conn.close().await.expect("close");
    })
    .await;
}

/// `lock_parent` on every dialect: a present parent locks, a missing one is `ParentGone`, an
/// unknown table and a key of the wrong width are typed errors; nothing is written.
#[rstest]
#[tokio::test]
async fn lock_parent_reports_a_missing_parent(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        for sql in SCHEMA {
            exec(&db.conn, sql).await;
        }
        exec(&db.conn, "INSERT INTO owner VALUES (1)").await;
        let graph = cascade_migration::introspect(&db.conn)
            .await
            .expect("introspect");
        let txn = db.conn.begin().await.expect("begin");
        lock_parent(&txn, &graph, "owner", &[1.into()])
            .await
            .unwrap_or_else(|e| panic!("{dialect}: owner 1 is there: {e}"));
        let gone = lock_parent(&txn, &graph, "owner", &[2.into()]).await;
        assert!(
            matches!(&gone, Err(LockError::ParentGone { table, key }) if table == "owner" && key.len() == 1),
            "{dialect}: {gone:?}"
        );
        assert!(matches!(
            lock_parent(&txn, &graph, "nope", &[1.into()]).await,
            Err(LockError::UnknownTable(t)) if t == "nope"
        ));
        assert!(matches!(
            lock_parent(&txn, &graph, "owner", &[1.into(), 2.into()]).await,
            Err(LockError::KeyArity { expected: 1, given: 2, .. })
        ));
        txn.rollback().await.expect("rollback");
        assert_eq!(count(&db.conn, "SELECT COUNT(*) FROM owner").await, 1);
    })
    .await;
}

/// A trigger stands in for a writer that inserts without `lock_parent` after the closure was
/// computed: deleting an item inserts a note under it, deleting an owner a tag and (in the
/// refusing case) a memo under it, all through ORM-only relations. The sweep before commit
/// deletes the late notes (CASCADE), nulls the late tags (SET NULL) and counts both in the
/// report; a late memo (RESTRICT) refuses the delete, which changes nothing.
#[rstest]
#[tokio::test]
async fn late_children_of_unenforced_relations_get_their_rule(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
    #[values(false, true)] restrict: bool,
) {
    with_db(dialect, |db| async move {
        for sql in SCHEMA {
            exec(&db.conn, sql).await;
        }
        exec(
            &db.conn,
            "CREATE TABLE memo (id INT PRIMARY KEY, owner_id INT NOT NULL)",
        )
        .await;
        exec(&db.conn, "INSERT INTO owner VALUES (1), (2)").await;
        exec(&db.conn, "INSERT INTO item VALUES (10, 1), (20, 2)").await;
        exec(&db.conn, "INSERT INTO note VALUES (100, 10), (200, 20)").await;
        exec(&db.conn, "INSERT INTO tag VALUES (1, 1), (2, 2)").await;
        let late_tag = if restrict {
            "INSERT INTO memo VALUES (OLD.id + 5000, OLD.id)"
        } else {
            "INSERT INTO tag VALUES (OLD.id + 5000, OLD.id)"
        };
        let late_note = "INSERT INTO note VALUES (OLD.id + 5000, OLD.id)";
        for (name, table, body) in [
            ("late_note", "item", late_note),
            ("late_tag", "owner", late_tag),
        ] {
            match dialect {
                Dialect::Sqlite => {
                    exec(
                        &db.conn,
                        &format!("CREATE TRIGGER {name} AFTER DELETE ON {table} BEGIN {body}; END"),
                    )
                    .await
                }
                Dialect::Postgres => {
                    exec(
                        &db.conn,
                        &format!(
                            "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                             $$ BEGIN {body}; RETURN OLD; END $$"
                        ),
                    )
                    .await;
                    exec(
                        &db.conn,
                        &format!(
                            "CREATE TRIGGER {name} AFTER DELETE ON {table} FOR EACH ROW \
                             EXECUTE FUNCTION {name}()"
                        ),
                    )
                    .await;
                }
                Dialect::MySql => {
                    exec(
                        &db.conn,
                        &format!(
                            "CREATE TRIGGER {name} AFTER DELETE ON {table} FOR EACH ROW {body}"
                        ),
                    )
                    .await
                }
            }
        }
        let mut graph = cascade_migration::introspect(&db.conn)
            .await
            .expect("introspect");
        let mut relations: Vec<_> = RELATIONS
            .iter()
            .map(|r| r.parse().expect("relation"))
            .collect();
        relations.push(
            "memo.owner_id -> owner.id restrict"
                .parse()
                .expect("relation"),
        );
        cascade_service::relation_spec::add_relations(&mut graph, &relations).expect("relations");
        let selection =
            Selection::condition(Condition::all().add(Expr::col(Alias::new("id")).eq(1)));
        let outcome = delete(&db.conn, &graph, "owner", &selection, DeleteOptions::orm()).await;
        if restrict {
            let error = outcome.expect_err("a late memo refuses the delete");
            let refusal = error.refusal().expect("a refusal");
            assert_eq!(
                refusal.kind,
                cascade_service::delete::RefusalKind::Restrict,
                "{refusal}"
            );
            assert_eq!(
                (refusal.table.as_str(), refusal.rows),
                ("memo", 1),
                "{refusal}"
            );
            for (table, rows) in [
                ("owner", 2),
                ("item", 2),
                ("note", 2),
                ("tag", 2),
                ("memo", 0),
            ] {
                let sql = format!("SELECT COUNT(*) FROM {table}");
                assert_eq!(
                    count(&db.conn, &sql).await,
                    rows,
                    "{dialect}: {table} unchanged"
                );
            }
            return;
        }
        let report = outcome.unwrap_or_else(|e| panic!("{dialect}: {e}"));
        // The plan's note 100 and the late note 5010; the late tag 5001 nulled with tag 1.
        assert_eq!(
            report.effect.deleted.get("note"),
            Some(&2),
            "{dialect}: {report:?}"
        );
        let nulled: u64 = report
            .effect
            .updated
            .iter()
            .filter(|u| u.table == "tag")
            .map(|u| u.rows)
            .sum();
        assert_eq!(nulled, 2, "{dialect}: {:?}", report.effect.updated);
        let scan = cascade_service::orphans::scan(&db.conn, &graph)
            .await
            .expect("scan");
        assert_eq!(scan.total, 0, "{dialect}: {:?}", scan.orphans);
        assert_eq!(count(&db.conn, "SELECT COUNT(*) FROM note").await, 1);
        assert_eq!(
            count(&db.conn, "SELECT COUNT(*) FROM tag WHERE owner_id IS NULL").await,
            2
        );
    })
    .await;
}
