//! The engine inside an outside app (`examples/blog`), on each dialect: plan and delete inside
//! the app's own transaction (nothing commits behind its back; a refusal leaves its transaction
//! usable), the typed per-entity entry points, verify on two connections, and the app's own
//! `cascade` binary driving the same library.

use blog_example::{Migrator, author, comment, post, registry};
use cascade_cli::Status;
use cascade_entity::rules::{Dialect, FkAction};
use cascade_migration::MigratorTrait;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{
    DeleteError, DeleteMode, DeleteOptions, RefusalKind, Selection, delete, delete_entity,
    plan_entity, verify,
};
use cascade_service::fixtures::{FixturePlan, InsertOptions, insert};
use rstest::rstest;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait};
use tests::{TestDb, cascade_with, with_db};

async fn seeded(db: &TestDb) -> cascade_entity::RuleGraph {
    Migrator::up(&db.conn, None).await.expect("migrate up");
    let graph = registry().rules().expect("valid");
    let fixtures = FixturePlan::new(5)
        .rows("author", 4)
        .rows("post", 12)
        .rows("tag", 4)
        .rows("post_tag", 16)
        .rows("comment", 40)
        .build(&graph)
        .expect("fixtures");
    insert(&db.conn, &graph, &fixtures, &InsertOptions::default())
        .await
        .expect("insert");
    graph
}

fn author_1() -> Selection {
    Selection::condition(Condition::all().add(author::Column::Id.eq(1)))
}

#[rstest]
#[tokio::test]
async fn deletes_join_the_apps_transaction(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = seeded(&db).await;
        let posts = post::Entity::find().count(&db.conn).await.expect("count");
        let preview =
            plan_entity::<author::Entity, _>(&db.conn, &graph, &author_1(), DeleteMode::Orm)
                .await
                .expect("plan");
        let doomed_posts = preview.deleted.get("post").copied().unwrap_or(0);

        // Rolled back by the app: the delete goes with it.
        let txn = db.conn.begin().await.expect("begin");
        let report =
            delete_entity::<author::Entity, _>(&txn, &graph, &author_1(), DeleteOptions::orm())
                .await
                .expect("delete");
        assert_eq!(
            report.effect.deleted, preview.deleted,
            "plan equals outcome"
        );
        assert!(
            author::Entity::find_by_id(1)
                .one(&txn)
                .await
                .expect("read")
                .is_none()
        );
        txn.rollback().await.expect("rollback");
        assert!(
            author::Entity::find_by_id(1)
                .one(&db.conn)
                .await
                .expect("read")
                .is_some()
        );
        assert_eq!(
            post::Entity::find().count(&db.conn).await.expect("count"),
            posts
        );

        // Committed by the app: it happened, ORM-only rule included.
        let txn = db.conn.begin().await.expect("begin");
        delete_entity::<author::Entity, _>(&txn, &graph, &author_1(), DeleteOptions::orm())
            .await
            .expect("delete");
        txn.commit().await.expect("commit");
        assert_eq!(
            post::Entity::find().count(&db.conn).await.expect("count"),
            posts - doomed_posts
        );
        let nulled = comment::Entity::find()
            .filter(comment::Column::CommenterId.eq(1))
            .count(&db.conn)
            .await
            .expect("count");
        assert_eq!(nulled, 0, "skip_fk rule applied by the executor");
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn a_refusal_leaves_the_apps_transaction_usable(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let mut graph = seeded(&db).await;
        // The app declares posts RESTRICT their author (rules are data the app may tighten).
        for fk in &mut graph.tables.get_mut("post").expect("post").foreign_keys {
            fk.on_delete = FkAction::Restrict;
        }
        let author_with_posts = post::Entity::find()
            .one(&db.conn)
            .await
            .expect("read")
            .expect("a post")
            .author_id;
        let selection =
            Selection::condition(Condition::all().add(author::Column::Id.eq(author_with_posts)));
        let txn = db.conn.begin().await.expect("begin");
        let tag = blog_example::tag::ActiveModel {
            name: sea_orm::Set("kept".to_owned()),
            ..Default::default()
        };
        sea_orm::ActiveModelTrait::insert(tag, &txn)
            .await
            .expect("app's own write");
        let refused = delete(&txn, &graph, "author", &selection, DeleteOptions::orm()).await;
        match refused {
            Err(DeleteError::Refused(r)) => assert_eq!(r.kind, RefusalKind::Restrict),
            other => panic!("expected a refusal, got {other:?}"),
        }
        txn.commit()
            .await
            .expect("the app's transaction still commits");
        let kept = blog_example::tag::Entity::find()
            .filter(blog_example::tag::Column::Name.eq("kept"))
            .count(&db.conn)
            .await
            .expect("count");
        assert_eq!(kept, 1, "the app's write survived the refusal");
        assert!(
            author::Entity::find_by_id(author_with_posts)
                .one(&db.conn)
                .await
                .expect("read")
                .is_some()
        );
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn verify_takes_the_apps_connections_and_the_cli_serves_the_app(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = seeded(&db).await;
        let loose = connect(&db.url, Enforce::Off)
            .await
            .expect("enforcement off");
        let report = verify(&db.conn, &loose, &graph, "post", &Selection::all())
            .await
            .expect("verify");
        // The ORM-only commenter rule is the only thing the native side cannot do; with every
        // post deleted it changes nothing, so the two sides agree exactly.
        assert!(report.matches, "{report:#?}");

        // Deleting an author: the database leaves that author's comments on other posts
        // pointing at nothing (no constraint), the ORM-only rule nulls them. Reported apart.
        let commenter = comment::Entity::find()
            .filter(comment::Column::CommenterId.is_not_null())
            .one(&db.conn)
            .await
            .expect("read")
            .and_then(|c| c.commenter_id)
            .expect("a comment with a commenter");
        let selection =
            Selection::condition(Condition::all().add(author::Column::Id.eq(commenter)));
        let report = verify(&db.conn, &loose, &graph, "author", &selection)
            .await
            .expect("verify");
        assert!(
            report.matches,
            "the database's own rules agree: {report:#?}"
        );
        assert_eq!(
            report.orm_only_rules,
            ["comment(commenter_id) -> author(id)"]
        );
        let explained: Vec<&str> = report
            .explained_by_orm_only
            .iter()
            .map(|d| d.table.as_str())
            .collect();
        assert_eq!(explained, ["comment"], "{report:#?}");

        let app = blog_example::app();
        let url = db.url.as_str();
        let (status, out) = cascade_with(&app, &["--url", url, "rules", "--json"]).await;
        assert_eq!(status.expect("rules"), Status::Clean);
        assert!(out.contains("\"post_tag\""), "{out}");
        let (status, out) = cascade_with(
            &app,
            &[
                "--url", url, "plan", "--table", "author", "--where", "id = 2", "--json",
            ],
        )
        .await;
        assert_eq!(status.expect("plan"), Status::Clean, "{out}");
        let (status, _) = cascade_with(&app, &["--url", url, "audit"]).await;
        assert_eq!(
            status.expect("audit"),
            Status::Clean,
            "migrated by its own migrations"
        );
        let (status, _) = cascade_with(&app, &["--url", url, "lint"]).await;
        status.expect("lint runs on the app's rules");
    })
    .await;
}
