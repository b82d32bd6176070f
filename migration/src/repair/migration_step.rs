//! A computed repair as a sea-orm-migration step, so it can join a project's own migrator:
//! `up` runs the plan's up script, `down` its down script. The step manages its own transaction
//! (SQLite's `foreign_keys` pragma must be switched outside one).

use sea_orm::DbErr;
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};

use super::{RepairPlan, run_script};

/// A computed [`RepairPlan`] as a sea-orm-migration step: `up` runs its up script (refused while
/// the plan has blockers), `down` its down script.
#[derive(Debug, Clone)]
pub struct RepairMigration {
    /// The migration's name, as recorded in `seaql_migrations`.
    pub name: String,
    /// The plan it runs, as computed from the live catalog (not recomputed when it runs).
    pub plan: RepairPlan,
}

impl RepairMigration {
    /// A step named `name` that runs `plan`.
    pub fn new(name: impl Into<String>, plan: RepairPlan) -> RepairMigration {
        RepairMigration {
            name: name.into(),
            plan,
        }
    }
}

impl MigrationName for RepairMigration {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RepairMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !self.plan.blockers.is_empty() {
            return Err(DbErr::Migration(
                super::RepairError::Orphans(self.plan.blockers.clone()).to_string(),
            ));
        }
        run_script(manager.get_connection(), &self.plan.up)
            .await
            .map_err(|e| DbErr::Migration(e.to_string()))
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_script(manager.get_connection(), &self.plan.down)
            .await
            .map_err(|e| DbErr::Migration(e.to_string()))
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }
}
