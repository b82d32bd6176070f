//! The GenAI Factory controller domain: one SeaORM entity per table, each `belongs_to` stating its
//! delete rule. [`registry`] lists them; the RuleGraph is built from that list, never by hand.

pub mod data_source;
pub mod data_source_label;
pub mod dataset;
pub mod dataset_label;
pub mod deployment;
pub mod deployment_label;
pub mod document;
pub mod document_label;
pub mod model;
pub mod model_label;
pub mod project;
pub mod project_label;
pub mod prompt;
pub mod prompt_label;
pub mod run;
pub mod run_label;
pub mod schedule;
pub mod schedule_label;
pub mod session;
pub mod session_label;
pub mod user;
pub mod user_label;
pub mod workflow;
pub mod workflow_label;

use crate::rules::EntityDecl;

/// Every entity of the domain, in declaration order. Add a new entity here and every tool
/// (migration, delete engine, audit, lint, docs) picks it up.
pub fn registry() -> Vec<EntityDecl> {
    vec![
        EntityDecl::of::<user::Entity>(),
        EntityDecl::of::<user_label::Entity>(),
        EntityDecl::of::<project::Entity>(),
        EntityDecl::of::<project_label::Entity>(),
        EntityDecl::of::<data_source::Entity>(),
        EntityDecl::of::<data_source_label::Entity>(),
        EntityDecl::of::<dataset::Entity>(),
        EntityDecl::of::<dataset_label::Entity>(),
        EntityDecl::of::<model::Entity>(),
        EntityDecl::of::<model_label::Entity>(),
        EntityDecl::of::<prompt::Entity>(),
        EntityDecl::of::<prompt_label::Entity>(),
        EntityDecl::of::<document::Entity>(),
        EntityDecl::of::<document_label::Entity>(),
        EntityDecl::of::<workflow::Entity>(),
        EntityDecl::of::<workflow_label::Entity>(),
        EntityDecl::of::<session::Entity>(),
        EntityDecl::of::<session_label::Entity>(),
        EntityDecl::of::<deployment::Entity>(),
        EntityDecl::of::<deployment_label::Entity>(),
        EntityDecl::of::<schedule::Entity>(),
        EntityDecl::of::<schedule_label::Entity>(),
        EntityDecl::of::<run::Entity>(),
        EntityDecl::of::<run_label::Entity>(),
    ]
}
