//! Schema side of the workspace: DDL derived from the RuleGraph ([`ddl`]), the SeaORM migrator
//! that applies it, and introspection of any live database back into a RuleGraph
//! ([`introspect`]), and idempotent repair migrations towards a RuleGraph ([`repair`]).

pub use sea_orm_migration::prelude::*;

pub mod ddl;
pub mod introspect;
mod m20260101_000001_initial;
pub mod orphan_query;
pub mod repair;

pub use introspect::{IntrospectError, introspect};

/// The migrator run by `cargo run -p migration` and by `cascade migrate`.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20260101_000001_initial::Migration)]
    }
}
