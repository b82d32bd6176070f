//! An outside app's entities (`examples/blog`): the tables we derive are SeaORM's own, and every
//! common column type, an auto-increment key and a database enum are written and read back
//! through SeaORM on each dialect, also after fixtures took the first keys.

use blog_example::{Migrator, author, post, registry, tag};
use cascade_entity::rules::Dialect;
use cascade_migration::{MigratorTrait, ddl};
use cascade_service::fixtures::{FixturePlan, InsertOptions, insert};
use rstest::rstest;
use sea_orm::prelude::{Decimal, Uuid};
use sea_orm::{ActiveModelTrait, DbBackend, EntityTrait, Schema, Set};
use tests::with_db;

/// A CREATE TABLE statement up to its first FK clause, without the closing parenthesis (FK
/// names and actions are ours by design).
fn before_foreign_keys(sql: &str) -> &str {
    match [", CONSTRAINT", ", FOREIGN KEY"]
        .iter()
        .filter_map(|marker| sql.find(marker))
        .min()
    {
        Some(i) => &sql[..i],
        None => {
            let sql = sql.trim_end();
            sql.strip_suffix(')').unwrap_or(sql).trim_end()
        }
    }
}

#[test]
fn derived_tables_are_seaorms_own() {
    let graph = registry().rules().expect("valid");
    for (dialect, backend) in [
        (Dialect::Sqlite, DbBackend::Sqlite),
        (Dialect::Postgres, DbBackend::Postgres),
        (Dialect::MySql, DbBackend::MySql),
    ] {
        let schema = Schema::new(backend);
        let theirs = [
            (
                "author",
                backend.build(&schema.create_table_from_entity(author::Entity)),
            ),
            (
                "tag",
                backend.build(&schema.create_table_from_entity(tag::Entity)),
            ),
            (
                "post",
                backend.build(&schema.create_table_from_entity(post::Entity)),
            ),
            (
                "post_tag",
                backend.build(&schema.create_table_from_entity(blog_example::post_tag::Entity)),
            ),
            (
                "comment",
                backend.build(&schema.create_table_from_entity(blog_example::comment::Entity)),
            ),
        ];
        for (table, theirs) in theirs {
            let ours = backend
                .build(&ddl::create_table(
                    graph.table(table).expect("declared"),
                    dialect,
                ))
                .to_string();
            let theirs = theirs.to_string();
            assert_eq!(
                before_foreign_keys(&ours),
                before_foreign_keys(&theirs),
                "{dialect}: {table}"
            );
        }
    }
}

#[rstest]
#[tokio::test]
async fn every_common_type_round_trips_through_seaorm(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        Migrator::up(&db.conn, None).await.expect("migrate up");
        let graph = registry().rules().expect("valid");
        let fixtures = FixturePlan::new(3)
            .rows("author", 3)
            .rows("post", 4)
            .build(&graph)
            .expect("fixtures");
        insert(&db.conn, &graph, &fixtures, &InsertOptions::default())
            .await
            .expect("fixtures insert");
        // Every fixture row reads back through SeaORM's own types.
        assert_eq!(
            post::Entity::find()
                .all(&db.conn)
                .await
                .expect("read")
                .len(),
            4
        );

        // The database assigns the next key after the fixtures' keys.
        let author = author::ActiveModel {
            name: Set("Ada".to_owned()),
            email: Set("ada@example.com".to_owned()),
            joined: Set(chrono::NaiveDate::from_ymd_opt(2026, 1, 2).expect("date")),
            ..Default::default()
        }
        .insert(&db.conn)
        .await
        .expect("insert author");
        assert_eq!(author.id, 4);
        assert!(author.active, "the declared default");

        let created = chrono::DateTime::parse_from_rfc3339("2026-11-29T10:11:12Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let written = post::ActiveModel {
            author_id: Set(author.id),
            title: Set("Types".to_owned()),
            body: Set("A long text".to_owned()),
            views: Set(-12),
            rating: Set(4.5),
            score: Set(0.125),
            price: Set(Decimal::new(1999, 2)),
            published_on: Set(chrono::NaiveDate::from_ymd_opt(2026, 11, 29)),
            created: Set(created),
            edited: Set(created.naive_utc()),
            cover: Set(Some(vec![0, 1, 254, 255])),
            meta: Set(serde_json::json!({"tags": ["a", "b"], "n": 3})),
            guid: Set(Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0)),
            draft: Set(false),
            status: Set(post::Status::Published),
            ..Default::default()
        }
        .insert(&db.conn)
        .await
        .expect("insert post");
        assert_eq!(written.id, 5, "auto-increment after 4 fixture posts");
        let read = post::Entity::find_by_id(written.id)
            .one(&db.conn)
            .await
            .expect("read")
            .expect("the post");
        assert_eq!(read, written);
    })
    .await;
}
