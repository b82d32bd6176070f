//! The GenAI Factory controller: the shipped domain, the library's first tenant. One SeaORM entity
//! per table, each `belongs_to` stating its delete rule; [`registry`] registers them exactly as
//! any app would, and everything else (the frozen migrations in [`migrations`], the fixture shape
//! in [`fixtures`], the benchmark workloads in [`workloads`], the `cascade` binary) goes through
//! the library's public API only.
//!
//! ```
//! let graph = genai_factory::registry().rules().expect("the shipped declarations are valid");
//! let run = graph.table("run").expect("run is declared");
//! assert!(run.foreign_keys.iter().all(|fk| fk.on_delete_explicit));
//! ```

pub mod fixtures;
pub mod migrations;
pub mod workloads;

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

use cascade_entity::Registry;

/// Every entity of the domain, in declaration order. Add a new entity here and every tool
/// (migration, delete engine, audit, lint, docs) picks it up.
pub fn registry() -> Registry {
    Registry::new()
        .register::<user::Entity>()
        .register::<user_label::Entity>()
        .register::<project::Entity>()
        .register::<project_label::Entity>()
        .register::<data_source::Entity>()
        .register::<data_source_label::Entity>()
        .register::<dataset::Entity>()
        .register::<dataset_label::Entity>()
        .register::<model::Entity>()
        .register::<model_label::Entity>()
        .register::<prompt::Entity>()
        .register::<prompt_label::Entity>()
        .register::<document::Entity>()
        .register::<document_label::Entity>()
        .register::<workflow::Entity>()
        .register::<workflow_label::Entity>()
        .register::<session::Entity>()
        .register::<session_label::Entity>()
        .register::<deployment::Entity>()
        .register::<deployment_label::Entity>()
        .register::<schedule::Entity>()
        .register::<schedule_label::Entity>()
        .register::<run::Entity>()
        .register::<run_label::Entity>()
}

/// The domain's migrator: its frozen migrations, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl cascade_migration::MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn cascade_migration::MigrationTrait>> {
        migrations::migrations()
    }
}

/// The domain as the `cascade` command line sees it: its registry, migrator, fixture shape and
/// benchmark workloads.
pub fn app() -> cascade_cli::App {
    cascade_cli::App::new(registry())
        .migrator::<Migrator>()
        .migrations_dir("domain/src/migrations")
        .fixtures(fixtures::shape)
        .workload(workloads::W1)
        .workload(workloads::W2)
        .docs_path("docs/SCHEMA.md")
}
