//! The expected rule graph that audit and repair compare a live database with: the declarations
//! (`--rules declared`) or the database's own FKs (`--rules live`), with `owner=` policies
//! applied on top. A policy turns into graph edits (every FK referencing the owner table gets the
//! policy's ON DELETE action), so one diff and one repair machinery serve declarations and
//! policies alike.

use cascade_entity::rules::FkAction;
use cascade_entity::{Registry, RuleGraph};
use sea_orm::DatabaseConnection;
use thiserror::Error;

use crate::policy::Policy;
use crate::rules_source::{self, RulesError, RulesSource};

#[derive(Debug, Error)]
pub enum ExpectedError {
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(
        "policy `{0}` states no FK rule that a database can hold; audit and repair take \
         owner=TABLE:ACTION policies (use `cascade lint` for protect= and reach=)"
    )]
    NotAConstraint(String),
    #[error("policy owner={table}: no table `{table}` in the rules")]
    UnknownOwner { table: String },
}

/// The rules from `source` (the app's `registry`, or `db`'s own FKs) with `policies` applied.
pub async fn expected_graph(
    source: RulesSource,
    registry: &Registry,
    policies: &[Policy],
    db: &DatabaseConnection,
) -> Result<RuleGraph, ExpectedError> {
    let graph = rules_source::load(source, registry, db).await?;
    apply_policies(graph, policies)
}

/// `graph` with every `owner=` policy applied: each FK referencing the owner table gets the
/// policy's ON DELETE action. Other policy kinds are refused (they constrain reach, not FKs).
pub fn apply_policies(
    mut graph: RuleGraph,
    policies: &[Policy],
) -> Result<RuleGraph, ExpectedError> {
    for policy in policies {
        let Policy::Owner { table, action } = policy else {
            return Err(ExpectedError::NotAConstraint(format!("{policy:?}")));
        };
        if !graph.tables.contains_key(table) {
            return Err(ExpectedError::UnknownOwner {
                table: table.clone(),
            });
        }
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
