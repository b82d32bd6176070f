//! The engine's own FK actions suspended while the ORM executor deletes (`EngineActions::Auto`):
//! same tables as with them kept on, the connection's enforcement restored afterwards, and the
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
    let suspended = delete_projects(dialect, EngineActions::Auto).await;
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
        assert_eq!(delete_p1(&db, EngineActions::Auto).await.expect("auto"), 3);
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
        match delete_p1(&db, EngineActions::Auto).await {
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
            delete_p1(&db, EngineActions::Auto).await.expect("delete"),
            2
        );
        assert!(dump_table(&db.conn, "l").await.is_empty());
        assert_eq!(dump_table(&db.conn, "c").await.len(), 1);
    })
    .await;
}
