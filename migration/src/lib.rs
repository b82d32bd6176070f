//! Schema side: DDL derived from a RuleGraph exactly as SeaORM derives it for an entity, plus our
//! FK names, actions and indexes ([`ddl`]); frozen migrations that evolve with the declarations
//! ([`GraphMigration`], [`generate`], [`evolve`]); an app's migrator as a value
//! ([`MigrationSet`]); introspection of any live database back into a RuleGraph
//! ([`introspect`](mod@introspect)); and idempotent repair migrations towards a RuleGraph
//! ([`repair`]).

#![warn(missing_docs, unreachable_pub)]

pub use sea_orm_migration::prelude::*;

pub mod ddl;
pub mod evolve;
mod frozen;
pub mod generate;
pub mod introspect;
mod migrations;
pub mod orphan_query;
pub mod progress;
pub mod repair;

pub use frozen::{GraphMigration, Snapshot};
pub use introspect::{IntrospectError, introspect};
pub use migrations::{MigrationSet, migrator_of};
