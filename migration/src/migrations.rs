//! An app's migrator as a value: sea-orm-migration's `MigratorTrait` is static (no `self`), so a
//! tool that is handed "the app's migrations" at run time (the `cascade` CLI, the test-database
//! helper) holds a [`MigrationSet`] made by [`migrator_of`].

use std::marker::PhantomData;

use sea_orm::DatabaseConnection;
use sea_orm_migration::prelude::*;

/// Runs an app's migrations on a connection.
#[async_trait::async_trait]
pub trait MigrationSet: Send + Sync {
    /// Every migration's name, in order.
    fn names(&self) -> Vec<String>;
    /// Applies every pending migration.
    async fn up(&self, db: &DatabaseConnection) -> Result<(), DbErr>;
    /// Rolls every applied migration back.
    async fn down(&self, db: &DatabaseConnection) -> Result<(), DbErr>;
    /// Drops every table of the database, then applies every migration.
    async fn fresh(&self, db: &DatabaseConnection) -> Result<(), DbErr>;
    /// The names of the applied migrations.
    async fn applied(&self, db: &DatabaseConnection) -> Result<Vec<String>, DbErr>;
}

/// The [`MigrationSet`] of an app's `MigratorTrait` type.
pub fn migrator_of<M: MigratorTrait + Send + Sync + 'static>() -> Box<dyn MigrationSet> {
    Box::new(MigratorOf::<M>(PhantomData))
}

struct MigratorOf<M>(PhantomData<fn() -> M>);

#[async_trait::async_trait]
impl<M: MigratorTrait + Send + Sync> MigrationSet for MigratorOf<M> {
    fn names(&self) -> Vec<String> {
        M::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect()
    }

    async fn up(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        M::up(db, None).await
    }

    async fn down(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        M::down(db, None).await
    }

    async fn fresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        M::fresh(db).await
    }

    async fn applied(&self, db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
        Ok(M::get_applied_migrations(db)
            .await?
            .iter()
            .map(|m| m.name().to_owned())
            .collect())
    }
}
