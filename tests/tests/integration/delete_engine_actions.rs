//! The engine's own FK actions suspended while the ORM executor deletes
//! (`EngineActions::Suspend`, which `Auto` is wherever it pays): same tables as with them kept on, the connection's enforcement restored afterwards, and the
//! rows a user trigger writes behind the executor's back handled: SQLite (the session does not
//! enforce, so the late-children sweep cascades them), MariaDB (the integrity check before
//! commit refuses and rolls back), PostgreSQL (a user trigger keeps the engine's actions on).

use cascade_entity::rules::Dialect;
use cascade_service::connect::enforces_foreign_keys;
use cascade_service::delete::{DeleteError, DeleteOptions, EngineActions, Selection, delete};
use rstest::rstest;
use tests::{TestDb, build_fixture, dump_table, seed_domain, with_db};

/// Every table's rows after deleting every project with the engine's actions as given.
async fn delete_projects(
    dialect: Dialect,
    actions: EngineActions,
) -> Vec<Vec<Vec<Option<String>>>> {
    let mut dumps = Vec::new();
    let slot = &mut dumps;
    with_db(dialect, |db| async move {
        let graph = seed_domain(&db.conn, 400, 3).await;
        let options = DeleteOptions::default().engine_actions(actions);
        let report = delete(&db.conn, &graph, "project", &Selection::all(), options)
            .await
            .expect("delete every project");
        assert!(report.effect.total_deleted() > 100, "{dialect}: {report:?}");
        assert!(
            enforces_foreign_keys(&db.conn).await.expect("read"),
            "{dialect}: enforcement is on again after the delete"
        );
        for table in graph.tables.keys() {
            slot.push(dump_table(&db.conn, table).await);
        }
    })
    .await;
    dumps
}

#[rstest]
#[tokio::test]
async fn suspended_actions_leave_the_same_tables(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    let suspended = delete_projects(dialect, EngineActions::Suspend).await;
    let kept_on = delete_projects(dialect, EngineActions::KeepOn).await;
    assert_eq!(suspended, kept_on, "{dialect}");
}

/// `p` with children `c` and `l` (both CASCADE); deleting a `c` row logs its parent into `l`.
async fn trigger_fixture(db: &TestDb, trigger: &[&str]) {
    let mut ddl = vec![
        "CREATE TABLE p (id INT PRIMARY KEY)".to_owned(),
        "CREATE TABLE c (id INT PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE CASCADE)"
            .to_owned(),
        "CREATE TABLE l (id INT PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE CASCADE)"
            .to_owned(),
    ];
    ddl.extend(trigger.iter().map(|s| s.to_string()));
    let data = [
        "INSERT INTO p VALUES (1), (2)",
        "INSERT INTO c VALUES (10, 1), (20, 2)",
    ];
    build_fixture(db, &ddl, &data.map(str::to_owned)).await;
}

async fn delete_p1(db: &TestDb, actions: EngineActions) -> Result<u64, DeleteError> {
    let graph = cascade_migration::introspect(&db.conn)
        .await
        .expect("introspect");
    let selection = Selection::condition(
        sea_orm::Condition::all().add(sea_orm::sea_query::Expr::cust("id = 1")),
    );
    let options = DeleteOptions::default().engine_actions(actions);
    delete(&db.conn, &graph, "p", &selection, options)
        .await
        .map(|r| r.effect.total_deleted())
}

#[tokio::test]
async fn sqlite_late_child_written_by_a_trigger_is_cascaded_with_actions_suspended() {
    with_db(Dialect::Sqlite, |db| async move {
        trigger_fixture(
            &db,
            &["CREATE TRIGGER log AFTER DELETE ON c BEGIN \
               INSERT INTO l VALUES (old.id, old.p_id); END"],
        )
        .await;
        // The pragma is off for the delete: the late-children sweep applies l's CASCADE to the
        // row the trigger logged, as the engine's own action would have.
        assert_eq!(
            delete_p1(&db, EngineActions::Suspend).await.expect("auto"),
            3
        );
        assert!(dump_table(&db.conn, "l").await.is_empty());
        assert_eq!(dump_table(&db.conn, "c").await.len(), 1);
        assert!(
            enforces_foreign_keys(&db.conn).await.expect("read"),
            "foreign_keys restored after the delete"
        );
    })
    .await;
}

#[tokio::test]
async fn mariadb_integrity_check_refuses_a_reference_left_to_a_deleted_key() {
    with_db(Dialect::MySql, |db| async move {
        trigger_fixture(
            &db,
            &["CREATE TRIGGER log AFTER DELETE ON c FOR EACH ROW \
               INSERT INTO l VALUES (OLD.id, OLD.p_id)"],
        )
        .await;
        let before = (
            dump_table(&db.conn, "p").await,
            dump_table(&db.conn, "c").await,
        );
        // `SET STATEMENT foreign_key_checks = 0` skips p's actions for the logged row; the
        // check before commit finds it and rolls everything back.
        match delete_p1(&db, EngineActions::Suspend).await {
            Err(DeleteError::DanglingReference { foreign_key }) => {
                assert_eq!(foreign_key, "l(p_id) -> p(id)");
            }
            other => panic!("expected the integrity check to refuse: {other:?}"),
        }
        let after = (
            dump_table(&db.conn, "p").await,
            dump_table(&db.conn, "c").await,
        );
        assert_eq!(before, after, "rolled back");
        assert!(dump_table(&db.conn, "l").await.is_empty(), "rolled back");
        // With the engine's actions on, it cascades the logged row itself.
        assert_eq!(
            delete_p1(&db, EngineActions::KeepOn)
                .await
                .expect("kept on"),
            2
        );
        assert!(dump_table(&db.conn, "l").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn postgres_user_trigger_keeps_the_engines_actions_on() {
    with_db(Dialect::Postgres, |db| async move {
        trigger_fixture(
            &db,
            &[
                "CREATE FUNCTION log_c() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN INSERT INTO l VALUES (OLD.id, OLD.p_id); RETURN OLD; END $$",
                "CREATE TRIGGER log AFTER DELETE ON c FOR EACH ROW EXECUTE FUNCTION log_c()",
            ],
        )
        .await;
        // Replica mode would silence the trigger: the actions stay on, and the engine
        // cascades the row the trigger logs.
        assert_eq!(
            delete_p1(&db, EngineActions::Suspend)
                .await
                .expect("delete"),
            2
        );
        assert!(dump_table(&db.conn, "l").await.is_empty());
        assert_eq!(dump_table(&db.conn, "c").await.len(), 1);
    })
    .await;
}

/// A delete SQLite accepts only as one statement: its end-of-statement counter nets a NO ACTION
/// survivor (`t2(f2_0) -> t2(id)`) against cascaded rows whose own references already dangled.
/// ORM mode on a connection that checks FKs cannot reproduce that in several statements, so it
/// refuses as `unsupported` before changing anything; the database's own delete goes through.
/// (Found by the differential suite, seed 20261130, case 17163305741152257806.)
#[tokio::test]
async fn sqlite_net_counted_delete_is_refused_while_fks_are_checked() {
    with_db(Dialect::Sqlite, |db| async move {
        let ddl = [
            "CREATE TABLE t6 (id INT NOT NULL, PRIMARY KEY (id))",
            "CREATE TABLE t2 (id INT NOT NULL, f0_0 INT NULL DEFAULT 1, f1_0 INT NULL DEFAULT 1, \
             f2_0 INT NULL, PRIMARY KEY (id), UNIQUE (f1_0), \
             CONSTRAINT t2_ck CHECK (f0_0 IS NOT NULL OR id > 3), \
             CONSTRAINT t2_z0 FOREIGN KEY (f0_0) REFERENCES t2 (f1_0) ON DELETE CASCADE ON UPDATE SET DEFAULT, \
             CONSTRAINT t2_z1 FOREIGN KEY (f1_0) REFERENCES t3 (id) ON DELETE NO ACTION ON UPDATE SET DEFAULT, \
             CONSTRAINT t2_a2 FOREIGN KEY (f2_0) REFERENCES t2 (id) ON DELETE NO ACTION ON UPDATE CASCADE)",
            "CREATE TABLE t5 (id INT NOT NULL, f0_0 INT NULL, PRIMARY KEY (id), \
             CONSTRAINT t5_a0 FOREIGN KEY (f0_0) REFERENCES t2 (id) ON DELETE CASCADE ON UPDATE CASCADE)",
            "CREATE TABLE t1 (k1 INT NOT NULL, k2 INT NOT NULL, f1_0 INT NOT NULL DEFAULT 1, \
             PRIMARY KEY (k1, k2), \
             CONSTRAINT t1_a0 FOREIGN KEY (k2) REFERENCES t5 (id) ON DELETE SET NULL ON UPDATE NO ACTION, \
             CONSTRAINT t1_a1 FOREIGN KEY (f1_0) REFERENCES t4 (id) ON DELETE CASCADE ON UPDATE SET DEFAULT)",
            "CREATE TABLE t3 (id INT NOT NULL, f0_0 INT NULL, f1_0 INT NOT NULL, f1_1 INT NOT NULL, \
             PRIMARY KEY (id), \
             CONSTRAINT t3_z0 FOREIGN KEY (f0_0) REFERENCES t6 (id) ON DELETE CASCADE ON UPDATE CASCADE, \
             CONSTRAINT t3_a1 FOREIGN KEY (f1_0, f1_1) REFERENCES t1 (k1, k2) ON DELETE CASCADE ON UPDATE NO ACTION)",
            "CREATE TABLE t4 (id INT NOT NULL, f0_0 INT NOT NULL, PRIMARY KEY (id), \
             CONSTRAINT t4_a0 FOREIGN KEY (f0_0) REFERENCES t3 (id) ON DELETE CASCADE ON UPDATE NO ACTION)",
            "CREATE TABLE t0 (k1 INT NOT NULL, k2 INT NOT NULL, f0_0 INT NULL, f1_0 INT NOT NULL, \
             PRIMARY KEY (k1, k2), \
             CONSTRAINT t0_m0 FOREIGN KEY (f0_0) REFERENCES t5 (id) ON DELETE CASCADE ON UPDATE NO ACTION, \
             CONSTRAINT t0_a1 FOREIGN KEY (f1_0) REFERENCES t5 (id) ON DELETE CASCADE ON UPDATE NO ACTION)",
        ]
        .map(str::to_owned);
        let data = [
            "INSERT INTO t0 (k1, k2, f0_0, f1_0) VALUES (4, 5, 1, 9), (4, 1, 9, 1), (2, 2, 9, 7), (5, 5, 2, 3)",
            "INSERT INTO t2 (id, f0_0, f1_0, f2_0) VALUES (4, 5, 8, 1), (6, 3, NULL, 4), (3, 1, 1, 4), (1, 7, 3, 9)",
            "INSERT INTO t3 (id, f0_0, f1_0, f1_1) VALUES (1, NULL, 9, 3), (6, 6, 9, 5), (2, NULL, 6, 3)",
            "INSERT INTO t4 (id, f0_0) VALUES (5, 4)",
            "INSERT INTO t5 (id, f0_0) VALUES (3, NULL), (1, 4)",
            "INSERT INTO t6 (id) VALUES (6)",
        ]
        .map(str::to_owned);
        // The rows go in with FKs off (some references dangle on purpose), as the suite does.
        sea_orm::ConnectionTrait::execute_unprepared(&db.conn, "PRAGMA foreign_keys = OFF")
            .await
            .expect("fks off");
        build_fixture(&db, &ddl, &data).await;
        sea_orm::ConnectionTrait::execute_unprepared(&db.conn, "PRAGMA foreign_keys = ON")
            .await
            .expect("fks on");
        let graph = cascade_migration::introspect(&db.conn)
            .await
            .expect("introspect");
        let selection = Selection::condition(
            sea_orm::Condition::all().add(sea_orm::sea_query::Expr::cust("id = 4")),
        );
        let tables = ["t0", "t2", "t5"];
        let mut before = Vec::new();
        for t in tables {
            before.push(dump_table(&db.conn, t).await);
        }
        let kept_on = DeleteOptions::default().engine_actions(EngineActions::KeepOn);
        match delete(&db.conn, &graph, "t2", &selection, kept_on).await {
            Err(DeleteError::Refused(refusal)) => {
                assert_eq!(
                    refusal.kind,
                    cascade_service::delete::RefusalKind::Unsupported,
                    "{refusal:?}"
                );
                assert_eq!(refusal.foreign_key.as_deref(), Some("t2(f2_0) -> t2(id)"));
            }
            other => panic!("expected an unsupported refusal: {other:?}"),
        }
        let mut after = Vec::new();
        for t in tables {
            after.push(dump_table(&db.conn, t).await);
        }
        assert_eq!(before, after, "nothing changed");
        let native = DeleteOptions::default().mode(cascade_service::delete::DeleteMode::Db);
        let report = delete(&db.conn, &graph, "t2", &selection, native)
            .await
            .expect("SQLite's own delete goes through");
        let deleted: Vec<(String, u64)> = report.effect.deleted.into_iter().collect();
        assert_eq!(
            deleted,
            [("t0".to_owned(), 2), ("t2".to_owned(), 1), ("t5".to_owned(), 1)]
        );
    })
    .await;
}
