//! What an app hands the command line: its registry, and optionally its migrator, the directory
//! its generated migrations live in, its fixture shape for `seed`/`demo`, and its benchmark
//! workloads. Everything else is derived.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cascade_entity::{Registry, RuleGraph};
use cascade_migration::{MigrationSet, MigratorTrait, migrator_of};
use cascade_service::bench::Workload;
use cascade_service::fixtures::{FixtureError, FixturePlan, Fixtures};

/// An app's fixture shape: the rows `cascade seed --scale N --seed S` inserts.
pub trait FixtureShape: Send + Sync {
    /// About `scale` rows, deterministic for `seed`.
    fn build(&self, graph: &RuleGraph, scale: usize, seed: u64) -> Result<Fixtures, FixtureError>;
}

impl<F> FixtureShape for F
where
    F: Fn(&RuleGraph, usize, u64) -> Result<Fixtures, FixtureError> + Send + Sync,
{
    fn build(&self, graph: &RuleGraph, scale: usize, seed: u64) -> Result<Fixtures, FixtureError> {
        self(graph, scale, seed)
    }
}

/// An app, as the `cascade` command line sees it.
pub struct App {
    registry: Registry,
    migrations: Option<Box<dyn MigrationSet>>,
    migrations_dir: PathBuf,
    fixtures: Option<Box<dyn FixtureShape>>,
    workloads: Vec<Arc<dyn Workload>>,
    docs_path: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tables", &self.registry.entities().len())
            .field("migrations_dir", &self.migrations_dir)
            .finish()
    }
}

impl App {
    /// An app with these entities; migrations are generated into `migration/src/migrations`.
    pub fn new(registry: Registry) -> App {
        App {
            registry,
            migrations: None,
            migrations_dir: PathBuf::from("migration/src/migrations"),
            fixtures: None,
            workloads: Vec::new(),
            docs_path: "docs/SCHEMA.md".to_owned(),
        }
    }

    /// The app's `MigratorTrait`, for `cascade migrate up|down|fresh|status` and `demo`.
    #[must_use]
    pub fn migrator<M: MigratorTrait + Send + Sync + 'static>(mut self) -> App {
        self.migrations = Some(migrator_of::<M>());
        self
    }

    /// Where `cascade migrate generate` writes (and reads the last migrated schema from).
    #[must_use]
    pub fn migrations_dir(mut self, dir: impl Into<PathBuf>) -> App {
        self.migrations_dir = dir.into();
        self
    }

    /// The app's fixture shape for `seed` and `demo` (default: about the same number of rows in
    /// every table, references to random parents).
    #[must_use]
    pub fn fixtures(mut self, shape: impl FixtureShape + 'static) -> App {
        self.fixtures = Some(Box::new(shape));
        self
    }

    /// A workload `cascade bench` can run.
    #[must_use]
    pub fn workload(mut self, workload: impl Workload + 'static) -> App {
        self.workloads.push(Arc::new(workload));
        self
    }

    /// Where the app keeps its generated docs (named in the docs' regeneration hint).
    #[must_use]
    pub fn docs_path(mut self, path: impl Into<String>) -> App {
        self.docs_path = path.into();
        self
    }

    /// The registered entities.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The migrator, if the app gave one.
    pub fn migrations(&self) -> Option<&dyn MigrationSet> {
        self.migrations.as_deref()
    }

    /// The app's migrator, or an error saying how to make one.
    pub fn require_migrations(&self) -> anyhow::Result<&dyn MigrationSet> {
        self.migrations().ok_or_else(|| {
            anyhow::anyhow!(
                "this app registered no migrator: generate the first migration with `cascade \
                 migrate generate initial`, return its `migrations()` from your MigratorTrait, \
                 and pass it with `App::migrator::<Migrator>()`"
            )
        })
    }

    /// The generated migrations' directory.
    pub fn migrations_dir_path(&self) -> &Path {
        &self.migrations_dir
    }

    /// The app's workloads.
    pub fn workloads(&self) -> &[Arc<dyn Workload>] {
        &self.workloads
    }

    /// Where the generated docs live.
    pub fn docs_file(&self) -> &str {
        &self.docs_path
    }

    /// The fixtures `seed --scale scale --seed seed` inserts.
    pub fn build_fixtures(
        &self,
        graph: &RuleGraph,
        scale: usize,
        seed: u64,
    ) -> Result<Fixtures, FixtureError> {
        match &self.fixtures {
            Some(shape) => shape.build(graph, scale, seed),
            None => {
                let per_table = scale.div_ceil(graph.tables.len().max(1)).max(1);
                FixturePlan::new(seed).every_table(per_table).build(graph)
            }
        }
    }
}
