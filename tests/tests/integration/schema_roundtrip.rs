//! The derived migration round-trips on every backend: migrate → introspect gives back exactly
//! the declared RuleGraph (tables, columns, nullability, keys, FKs with actions, FK indexes), and
//! `down` leaves an empty database.

use cascade_entity::rules::{Dialect, Drift, Enforcement, FkAction};
use cascade_migration::{MigratorTrait, introspect};
use genai_factory::Migrator;
use rstest::rstest;
use tests::with_db;

#[rstest]
#[tokio::test]
async fn migrate_then_introspect_equals_declared(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        Migrator::up(&db.conn, None).await.expect("migrate up");
        let declared = genai_factory::registry()
            .rules()
            .expect("declarations are valid");
        let live = introspect(&db.conn).await.expect("introspect");

        let drift: Vec<Drift> = declared.diff(&live, dialect);
        assert!(
            drift.is_empty(),
            "{dialect}: drift after migrate: {drift:#?}"
        );
        assert_eq!(
            live.tables.len(),
            24,
            "{dialect}: 12 tables and their label tables"
        );

        // Every declared FK reads back with its action, and is backed by an index.
        for (table, fk) in declared.foreign_keys() {
            let live_table = live.table(&table.name).expect("table exists");
            let found = live_table
                .foreign_keys
                .iter()
                .find(|l| l.columns == fk.columns && l.parent_table == fk.parent_table)
                .unwrap_or_else(|| panic!("{dialect}: {} missing", fk.describe(&table.name)));
            assert_eq!(
                found.on_delete,
                fk.on_delete,
                "{}",
                fk.describe(&table.name)
            );
            assert_eq!(found.enforcement, Enforcement::Database);
            assert!(
                live_table.has_index_covering(&fk.columns),
                "{dialect}: {} unindexed",
                fk.describe(&table.name)
            );
            if dialect.keeps_constraint_names() {
                assert_eq!(found.name, fk.name, "{dialect}: constraint name");
            }
            for column in &fk.columns {
                assert_eq!(
                    live_table.column(column).map(|c| c.nullable),
                    table.column(column).map(|c| c.nullable),
                    "{dialect}: nullability of {}.{column}",
                    table.name
                );
            }
        }
        // Spot-check the behaviour table of DESIGN.md on the live catalog.
        let run = live.table("run").expect("run");
        assert!(
            run.foreign_keys
                .iter()
                .all(|fk| fk.on_delete == FkAction::SetNull)
        );
        let deployment = live.table("deployment").expect("deployment");
        let project_fk = deployment
            .foreign_keys
            .iter()
            .find(|fk| fk.parent_table == "project");
        assert_eq!(project_fk.map(|fk| fk.on_delete), Some(FkAction::Cascade));

        Migrator::down(&db.conn, None).await.expect("migrate down");
        let after = introspect(&db.conn).await.expect("introspect after down");
        assert!(
            after.tables.is_empty(),
            "{dialect}: left behind {:?}",
            after.tables.keys()
        );
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn migrate_is_idempotent_and_fresh_recreates(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        Migrator::up(&db.conn, None).await.expect("first up");
        Migrator::up(&db.conn, None)
            .await
            .expect("second up is a no-op");
        assert!(
            Migrator::get_pending_migrations(&db.conn)
                .await
                .expect("status")
                .is_empty()
        );
        Migrator::fresh(&db.conn).await.expect("fresh");
        let declared = tests::domain_rules();
        let live = introspect(&db.conn).await.expect("introspect");
        assert_eq!(declared.diff(&live, dialect), vec![]);
    })
    .await;
}
