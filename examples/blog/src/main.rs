//! The blog's walkthrough, run by CI on SQLite and PostgreSQL: migrate with its frozen
//! migrations, fill it with fixtures, write and read through SeaORM, preview a delete, run it
//! inside the app's own transaction (rolled back, then committed), and verify it against the
//! database's own cascade. `blog [URL]` (default: a fresh SQLite file in a temp directory).

use anyhow::{Context, ensure};
use blog_example::{Migrator, author, comment, post, registry};
use cascade_migration::MigratorTrait;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{DeleteMode, DeleteOptions, Selection, delete_entity, plan_entity};
use cascade_service::fixtures::{FixturePlan, InsertOptions, insert};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, Set};
use sea_orm::{QueryFilter, TransactionTrait};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("blog-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("blog.db").display()));
    let db = connect(&url, Enforce::On).await?;
    Migrator::fresh(&db).await.context("migrating")?;
    println!(
        "migrated: {:?}",
        Migrator::get_applied_migrations(&db).await?.len()
    );

    let graph = registry().rules()?;
    let fixtures = FixturePlan::new(42)
        .rows("author", 5)
        .rows("post", 20)
        .rows("tag", 5)
        .rows("post_tag", 30)
        .rows("comment", 60)
        .build(&graph)?;
    let inserted = insert(&db, &graph, &fixtures, &InsertOptions::default()).await?;
    println!("seeded {} rows: {:?}", inserted.total(), inserted.rows);

    // The app's own writes still get keys from the database after the fixtures.
    let new_author = author::ActiveModel {
        name: Set("New".to_owned()),
        email: Set("new@example.com".to_owned()),
        joined: Set(chrono::NaiveDate::from_ymd_opt(2026, 11, 29).context("date")?),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    ensure!(
        new_author.id == 6,
        "the key after 5 fixtures is 6, got {}",
        new_author.id
    );
    let read: Vec<post::Model> = post::Entity::find().all(&db).await?;
    ensure!(read.len() == 20, "every post reads back through SeaORM");

    let first = Selection::condition(Condition::all().add(author::Column::Id.eq(1)));
    let preview = plan_entity::<author::Entity, _>(&db, &graph, &first, DeleteMode::Orm).await?;
    println!("deleting author 1 would delete {:?}", preview.deleted);
    println!("and rewrite {:?}", preview.updated);

    // Inside the app's transaction: the delete is part of it, and goes when it rolls back.
    let txn = db.begin().await?;
    delete_entity::<author::Entity, _>(&txn, &graph, &first, DeleteOptions::orm()).await?;
    ensure!(author::Entity::find_by_id(1).one(&txn).await?.is_none());
    txn.rollback().await?;
    ensure!(
        author::Entity::find_by_id(1).one(&db).await?.is_some(),
        "rolled back with the app"
    );

    let txn = db.begin().await?;
    let report =
        delete_entity::<author::Entity, _>(&txn, &graph, &first, DeleteOptions::orm()).await?;
    txn.commit().await?;
    let posts_left = post::Entity::find()
        .filter(post::Column::AuthorId.eq(1))
        .count(&db)
        .await?;
    ensure!(posts_left == 0, "the author's posts went with the author");
    let orphaned = comment::Entity::find()
        .filter(comment::Column::CommenterId.eq(1))
        .count(&db)
        .await?;
    ensure!(
        orphaned == 0,
        "the ORM-only rule nulled the author's comments"
    );
    println!(
        "deleted author 1 in the app's transaction: {} rows, {} statements",
        report.effect.total_deleted(),
        report.statements
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
