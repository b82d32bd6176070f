//! Where a tool's rules come from: the app's registered declarations (`--rules declared`, the
//! source of truth) or the live database's own FKs (`--rules live`, for databases nobody here
//! declared).

use cascade_entity::{Registry, RuleGraph};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use thiserror::Error;

/// Which rules a tool works from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulesSource {
    /// The app's entity declarations.
    Declared,
    /// The database's own foreign keys, introspected.
    Live,
}

/// Why the rules could not be loaded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The app's declarations do not build a graph.
    #[error(transparent)]
    Declaration(#[from] cascade_entity::DeclarationErrors),
    /// The live catalog could not be read.
    #[error(transparent)]
    Introspect(#[from] cascade_migration::IntrospectError),
}

/// The rule graph from `source`: `declared` builds `registry`'s, `live` reads `db`'s catalog.
pub async fn load(
    source: RulesSource,
    registry: &Registry,
    db: &impl ConnectionTrait,
) -> Result<RuleGraph, RulesError> {
    match source {
        RulesSource::Declared => Ok(registry.rules()?),
        RulesSource::Live => Ok(cascade_migration::introspect(db).await?),
    }
}
