//! Migrations that evolve with the declarations, on each dialect: generate the initial migration,
//! change the declarations (a new table, a new and a dropped column, a changed delete rule, a new
//! index), generate again, migrate up step by step with data in between, audit shows zero drift
//! after each step, and down takes the schema back.

use std::path::Path;

use blog_example::registry;
use cascade_entity::RuleGraph;
use cascade_entity::rules::{Column, ColumnKind, Dialect, FkAction, Index};
use cascade_migration::generate::{generate, last_migrated};
use cascade_migration::{GraphMigration, MigrationTrait, SchemaManager};
use cascade_service::audit::audit;
use rstest::rstest;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tests::with_db;

/// Version 2 of the blog's declarations.
fn evolved(v1: &RuleGraph) -> RuleGraph {
    let mut v2 = v1.clone();
    let post = v2.tables.get_mut("post").expect("post");
    post.columns.push(Column::new(
        "subtitle",
        ColumnKind::String(Some(80)),
        true,
        None,
    ));
    post.indexes.push(Index {
        name: Some("ix_post_title".to_owned()),
        columns: vec!["title".to_owned()],
        unique: false,
    });
    for fk in &mut post.foreign_keys {
        fk.on_delete = FkAction::Restrict;
    }
    let comment = v2.tables.get_mut("comment").expect("comment");
    comment.columns.retain(|c| c.name != "text");
    let mut note = v1.table("tag").expect("tag").clone();
    note.name = "note".to_owned();
    note.columns
        .push(Column::new("author_id", ColumnKind::BigInteger, true, None));
    note.unique_keys.clear();
    note.columns.iter_mut().for_each(|c| c.unique = false);
    let mut fk = v1.table("post").expect("post").foreign_keys[0].clone();
    fk.name = Some("fk_note_author_id".to_owned());
    fk.columns = vec!["author_id".to_owned()];
    fk.on_delete = FkAction::SetNull;
    note.foreign_keys = vec![fk];
    note.indexes = vec![Index {
        name: Some("ix_note_author_id".to_owned()),
        columns: vec!["author_id".to_owned()],
        unique: false,
    }];
    v2.tables.insert("note".to_owned(), note);
    v2
}

async fn migrations(dir: &Path) -> Vec<GraphMigration> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| GraphMigration::frozen(&std::fs::read_to_string(p).expect("read")))
        .collect()
}

async fn assert_no_drift(db: &DatabaseConnection, expected: &RuleGraph, step: &str) {
    let report = audit(db, expected).await.expect("audit");
    assert!(report.drift.is_empty(), "{step}: {:#?}", report.drift);
}

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[rstest]
#[tokio::test]
async fn declare_generate_migrate_audit(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let dir = tempfile::tempdir().expect("dir");
        let v1 = registry().rules().expect("valid");
        let first = generate(dir.path(), "initial", "20260101_000001", &v1)
            .expect("generate")
            .expect("a migration");
        assert!(first.changes.iter().any(|c| c.0 == "create table post"));
        let v2 = evolved(&v1);
        let second = generate(dir.path(), "evolve", "20260102_000001", &v2)
            .expect("generate")
            .expect("a migration");
        let words: Vec<&str> = second.changes.iter().map(|c| c.0.as_str()).collect();
        for expected in [
            "create table note",
            "add column post.subtitle",
            "drop column comment.text",
            "create index ix_post_title on post",
        ] {
            assert!(words.contains(&expected), "{expected} in {words:?}");
        }
        assert!(words.iter().any(|w| w.starts_with("replace post(author_id)")), "{words:?}");
        assert_eq!(last_migrated(dir.path()).expect("last").1, v2);
        assert!(
            generate(dir.path(), "again", "20260103_000001", &v2)
                .expect("generate")
                .is_none(),
            "nothing left to migrate"
        );
        let mod_rs = std::fs::read_to_string(dir.path().join("mod.rs")).expect("mod.rs");
        assert!(mod_rs.contains("m20260101_000001_initial::migration()"));
        assert!(mod_rs.contains("m20260102_000001_evolve::migration()"));

        let steps = migrations(dir.path()).await;
        let manager = SchemaManager::new(&db.conn);
        steps[0].up(&manager).await.expect("initial up");
        assert_no_drift(&db.conn, &v1, "after initial").await;
        run(&db.conn, "INSERT INTO author (id, name, email, joined, active) VALUES (1, 'a', 'a@x', '2026-01-01', TRUE)").await;
        let (status, guid) = match dialect {
            Dialect::Postgres => ("'draft'::post_status", "'00000000-0000-0000-0000-000000000001'"),
            // MariaDB stores a UUID as BINARY(16).
            Dialect::MySql => ("'draft'", "0x00000000000000000000000000000001"),
            Dialect::Sqlite => ("'draft'", "'00000000-0000-0000-0000-000000000001'"),
        };
        run(&db.conn, &format!(
            "INSERT INTO post (id, author_id, title, body, views, rating, score, price, created, \
             edited, meta, guid, draft, status) VALUES (1, 1, 't', 'b', 1, 1, 1, 1, \
             '2026-01-01 00:00:00', '2026-01-01 00:00:00', '{{}}', {guid}, FALSE, {status})"
        ))
        .await;

        steps[1].up(&manager).await.expect("evolve up");
        assert_no_drift(&db.conn, &v2, "after evolve").await;
        // The data survived the change, and the new rule holds: RESTRICT refuses.
        let refused = db.conn.execute_unprepared("DELETE FROM author WHERE id = 1").await;
        assert!(refused.is_err(), "post.author_id is RESTRICT after the migration");
        run(&db.conn, "INSERT INTO note (id, name, author_id) VALUES (1, 'n', 1)").await;

        run(&db.conn, "DELETE FROM note").await;
        steps[1].down(&manager).await.expect("evolve down");
        assert_no_drift(&db.conn, &v1, "after down").await;
        run(&db.conn, "DELETE FROM author WHERE id = 1").await;
        steps[0].down(&manager).await.expect("initial down");
        let live = cascade_migration::introspect(&db.conn).await.expect("introspect");
        assert!(live.tables.is_empty(), "{:?}", live.tables.keys());
    })
    .await;
}

#[test]
fn unexpressible_changes_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("dir");
    let v1 = registry().rules().expect("valid");
    generate(dir.path(), "initial", "20260101_000001", &v1).expect("generate");
    let mut v2 = v1.clone();
    let post = v2.tables.get_mut("post").expect("post");
    if let Some(views) = post.columns.iter_mut().find(|c| c.name == "views") {
        views.kind = ColumnKind::BigInteger;
    }
    let error = generate(dir.path(), "retype", "20260102_000001", &v2)
        .expect_err("a type change is not generated");
    assert!(
        error
            .to_string()
            .contains("`post`.`views` changes its type"),
        "{error}"
    );
    let files = std::fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(files, 3, "only the initial migration's files");
    assert!(generate(dir.path(), "Bad-Name", "20260102_000001", &v1).is_err());
}

/// Every app's migrations directory must hold its current declarations: a change to an entity
/// without `cascade migrate generate` fails here, before any database meets it.
#[test]
fn shipped_migrations_are_up_to_date_with_the_declarations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (dir, declared) in [
        ("domain/src/migrations", genai_factory::registry().rules()),
        (
            "examples/blog/src/migrations",
            blog_example::registry().rules(),
        ),
    ] {
        let declared = declared.expect("valid declarations");
        let (_, migrated) = last_migrated(&root.join(dir)).expect("frozen migrations");
        for dialect in Dialect::ALL {
            let pending = cascade_migration::evolve::changes(&migrated, &declared, dialect)
                .expect("expressible");
            assert!(
                pending.is_empty(),
                "{dir}: declarations changed without a migration ({dialect}): {pending:?}; run \
                 `cascade migrate generate NAME`"
            );
        }
    }
}
