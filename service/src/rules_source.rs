//! Where a command's rules come from: the entity declarations (`--rules declared`, the source of
//! truth) or the live database's own FKs (`--rules live`, for databases nobody here declared).

use clap::ValueEnum;
use entity::RuleGraph;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulesSource {
    /// The entity crate's declarations.
    Declared,
    /// The database's own foreign keys, introspected.
    Live,
}

#[derive(Debug, Error)]
pub enum RulesError {
    #[error(transparent)]
    Declaration(#[from] entity::DeclarationErrors),
    #[error(transparent)]
    Introspect(#[from] migration::IntrospectError),
}

/// The rule graph from `source`; `live` reads `db`'s catalog.
pub async fn load(source: RulesSource, db: &DatabaseConnection) -> Result<RuleGraph, RulesError> {
    match source {
        RulesSource::Declared => Ok(entity::declared_rules()?),
        RulesSource::Live => Ok(migration::introspect(db).await?),
    }
}
