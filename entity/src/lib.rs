//! Declarations: the domain's SeaORM entities, where every relation states its delete rule once,
//! and the [`rules::RuleGraph`] derived from them.
//!
//! ```
//! let graph = entity::declared_rules().expect("the shipped declarations are valid");
//! let run = graph.table("run").expect("run is declared");
//! assert!(run.foreign_keys.iter().all(|fk| fk.on_delete_explicit));
//! ```

pub mod domain;
pub mod rules;

pub use rules::{DeclarationErrors, RuleGraph};

/// The validated rule graph of the shipped domain.
pub fn declared_rules() -> Result<RuleGraph, DeclarationErrors> {
    RuleGraph::from_entities(&domain::registry())
}
