//! The initial migration: the whole domain schema, derived from the entity declarations.
//!
//! Nothing here names a table: `up` creates what [`entity::declared_rules`] describes (tables in
//! dependency order, FKs with their actions, FK indexes) and `down` drops all of it.

use entity::rules::Dialect;
use sea_orm_migration::prelude::*;

use crate::ddl;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let dialect = Dialect::from(manager.get_database_backend());
        for step in ddl::create_schema(&declared()?, dialect) {
            step.apply(manager.get_connection()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let dialect = Dialect::from(manager.get_database_backend());
        for step in ddl::drop_schema(&declared()?, dialect) {
            step.apply(manager.get_connection()).await?;
        }
        Ok(())
    }
}

fn declared() -> Result<entity::RuleGraph, DbErr> {
    entity::declared_rules().map_err(|e| DbErr::Migration(e.to_string()))
}
