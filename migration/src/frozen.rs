//! A migration frozen as data: the rule graph before it and after it, stored in a JSON file next
//! to the generated Rust file that loads it. `up` takes a database from `before` to `after`
//! ([`crate::evolve::script`]) on whichever dialect it runs on; `down` goes back. Because the
//! graphs are data, changing an entity later never changes what an old migration does.

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm_migration::prelude::*;
use serde::{Deserialize, Serialize};

use crate::evolve;
use crate::repair::run_script;

/// The contents of a frozen migration's JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The migration's name (`mYYYYMMDD_HHMMSS_name`), as recorded in `seaql_migrations`.
    pub name: String,
    /// The schema as the previous migration left it.
    pub before: RuleGraph,
    /// The schema this migration leaves.
    pub after: RuleGraph,
}

/// A sea-orm-migration step that applies a frozen [`Snapshot`].
///
/// ```
/// use cascade_migration::{GraphMigration, MigrationName};
/// let json = r#"{"name": "m20260101_000001_initial",
///               "before": {"tables": {}}, "after": {"tables": {}}}"#;
/// let migration = GraphMigration::frozen(json);
/// assert_eq!(migration.name(), "m20260101_000001_initial");
/// ```
#[derive(Debug, Clone)]
pub struct GraphMigration {
    snapshot: Result<Snapshot, String>,
    name: String,
}

impl GraphMigration {
    /// A migration from `before` to `after`.
    pub fn new(name: impl Into<String>, before: RuleGraph, after: RuleGraph) -> GraphMigration {
        let name = name.into();
        GraphMigration {
            snapshot: Ok(Snapshot {
                name: name.clone(),
                before,
                after,
            }),
            name,
        }
    }

    /// The migration stored in `json` (a generated file's `include_str!`). A file that does not
    /// parse makes `up`/`down` fail with the reason, naming the file's migration.
    pub fn frozen(json: &str) -> GraphMigration {
        match serde_json::from_str::<Snapshot>(json) {
            Ok(snapshot) => GraphMigration {
                name: snapshot.name.clone(),
                snapshot: Ok(snapshot),
            },
            Err(e) => GraphMigration {
                name: "unreadable_frozen_migration".to_owned(),
                snapshot: Err(e.to_string()),
            },
        }
    }

    /// The frozen graphs.
    pub fn snapshot(&self) -> Result<&Snapshot, DbErr> {
        self.snapshot
            .as_ref()
            .map_err(|e| DbErr::Migration(format!("frozen migration JSON does not parse: {e}")))
    }

    async fn apply(
        &self,
        manager: &SchemaManager<'_>,
        from: &RuleGraph,
        to: &RuleGraph,
    ) -> Result<(), DbErr> {
        let dialect = Dialect::from(manager.get_database_backend());
        let script = evolve::script(from, to, dialect)
            .map_err(|e| DbErr::Migration(format!("{}: {e}", self.name)))?;
        run_script(manager.get_connection(), &script)
            .await
            .map_err(|e| DbErr::Migration(format!("{}: {e}", self.name)))
    }
}

impl MigrationName for GraphMigration {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for GraphMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let snapshot = self.snapshot()?;
        self.apply(manager, &snapshot.before, &snapshot.after).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let snapshot = self.snapshot()?;
        self.apply(manager, &snapshot.after, &snapshot.before).await
    }

    /// SQLite rebuilds turn foreign keys off, which only works outside a transaction; the
    /// script manages its own transaction on every dialect.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }
}
