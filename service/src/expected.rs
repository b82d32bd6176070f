//! The expected rule graph that audit and repair compare a live database with: the declarations
//! (`--rules declared`) or the database's own FKs (`--rules live`), with `owner=` policies
//! applied on top. A policy turns into graph edits (every FK referencing the owner table gets the
//! policy's ON DELETE action), so one diff and one repair machinery serve declarations and
//! policies alike.
//!
//! The expected graph also has an index for every FK column set: the declarations derive them,
//! and for live rules this makes a missing FK index drift that `repair` creates, as it is for
//! declarations.

use cascade_entity::rules::FkAction;
use cascade_entity::{Registry, RuleGraph};
use sea_orm::DatabaseConnection;
use thiserror::Error;

use crate::policy::{Policy, UnknownPolicyTable, check_tables};
use crate::rules_source::{self, RulesError, RulesSource};

/// Why the expected graph could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExpectedError {
    /// The rules themselves could not be loaded.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A `protect=` or `reach=` policy, which constrains reach, not FKs.
    #[error(
        "policy `{0}` states no FK rule that a database can hold; audit and repair take \
         owner=TABLE:ACTION policies (use `cascade lint` for protect= and reach=)"
    )]
    NotAConstraint(String),
    /// A policy names a table the rules do not have.
    #[error(transparent)]
    UnknownTable(#[from] UnknownPolicyTable),
}

/// The rules from `source` (the app's `registry`, or `db`'s own FKs) with `policies` applied and
/// every FK column set indexed.
pub async fn expected_graph(
    source: RulesSource,
    registry: &Registry,
    policies: &[Policy],
    db: &DatabaseConnection,
) -> Result<RuleGraph, ExpectedError> {
    let graph = rules_source::load(source, registry, db).await?;
    Ok(apply_policies(graph, policies)?.with_fk_indexes())
}

/// `graph` with every `owner=` policy applied: each FK referencing the owner table gets the
/// policy's ON DELETE action. Other policy kinds are refused (they constrain reach, not FKs).
pub fn apply_policies(
    mut graph: RuleGraph,
    policies: &[Policy],
) -> Result<RuleGraph, ExpectedError> {
    check_tables(policies, &graph)?;
    for policy in policies {
        let Policy::Owner { table, action } = policy else {
            return Err(ExpectedError::NotAConstraint(policy.to_string()));
        };
        for child in graph.tables.values_mut() {
            for fk in child
                .foreign_keys
                .iter_mut()
                .filter(|fk| &fk.parent_table == table)
            {
                fk.on_delete = *action;
                fk.on_delete_explicit = true;
                if *action != FkAction::SetNull {
                    fk.set_null_columns = None;
                }
            }
        }
    }
    Ok(graph)
}
