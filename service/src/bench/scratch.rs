//! Scratch databases for the benchmark: load the workload once, hand out identical fresh copies,
//! clean everything up afterwards. Per backend: SQLite copies the file, PostgreSQL clones a
//! template database, MariaDB creates the schema and copies every table from a template
//! database on the same server (`INSERT ... SELECT`); an explicit `--url` reloads the rows for
//! each copy.

use std::path::PathBuf;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use super::{BenchError, BenchOptions};
use crate::connect::{Enforce, connect};
use crate::fixtures::{Fixtures, InsertOptions, insert};
use crate::progress::Progress;

const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

pub(crate) enum Scratch {
    Sqlite {
        dir: tempfile::TempDir,
        template: PathBuf,
        counter: std::sync::atomic::AtomicU32,
    },
    Server {
        admin: DatabaseConnection,
        dialect: Dialect,
        base: String,
        prefix: String,
        template: Option<String>,
        counter: std::sync::atomic::AtomicU32,
        progress: std::sync::Arc<dyn Progress>,
    },
    Given {
        url: String,
        progress: std::sync::Arc<dyn Progress>,
    },
}

fn admin_url(dialect: Dialect) -> String {
    let (var, default) = match dialect {
        Dialect::Postgres => ("CASCADE_BENCH_POSTGRES_URL", POSTGRES_ADMIN),
        _ => ("CASCADE_BENCH_MYSQL_URL", MYSQL_ADMIN),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// `scheme://auth@host:port` of a server URL.
fn server_root(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('/') {
        Some(slash) => url[..start + slash].to_owned(),
        None => url.to_owned(),
    }
}

async fn migrate_and_load(
    url: &str,
    graph: &RuleGraph,
    fixtures: &Fixtures,
    progress: &std::sync::Arc<dyn Progress>,
) -> Result<(), BenchError> {
    let db = connect(url, Enforce::On).await?;
    let dialect = Dialect::from(db.get_database_backend());
    for step in cascade_migration::ddl::drop_schema(graph, dialect)
        .iter()
        .chain(&cascade_migration::ddl::create_schema(graph, dialect))
    {
        step.apply(&db).await?;
    }
    let options = InsertOptions {
        seed: 7,
        progress: progress.as_ref(),
    };
    insert(&db, graph, fixtures, &options).await?;
    db.close().await?;
    Ok(())
}

/// MariaDB has no template databases (and `CREATE TABLE ... LIKE` drops FKs): the schema is
/// created from the graph and every table filled from the template database on the same server
/// with `INSERT ... SELECT`, parents first, enforcement off for the copy.
async fn copy_rows(url: &str, graph: &RuleGraph, template: &str) -> Result<(), BenchError> {
    let db = connect(url, Enforce::Off).await?;
    let dialect = Dialect::from(db.get_database_backend());
    for step in cascade_migration::ddl::create_schema(graph, dialect) {
        step.apply(&db).await?;
    }
    for table in graph.dependency_order() {
        let sql = format!(
            "INSERT INTO {} SELECT * FROM {}.{}",
            dialect.quote(table),
            dialect.quote(template),
            dialect.quote(table)
        );
        db.execute_unprepared(&sql).await?;
    }
    db.close().await?;
    Ok(())
}

impl Scratch {
    pub(super) async fn prepare(
        options: &BenchOptions,
        graph: &RuleGraph,
        fixtures: &Fixtures,
    ) -> Result<Scratch, BenchError> {
        if let Some(url) = &options.url {
            // Every run resets this database: refuse one that holds anything else.
            let db = connect(url, Enforce::On).await?;
            let live = cascade_migration::introspect(&db)
                .await
                .map_err(|e| BenchError::Setup(e.to_string()))?;
            db.close().await?;
            let foreign: Vec<String> = live
                .tables
                .into_keys()
                .filter(|t| graph.table(t).is_none())
                .collect();
            if !foreign.is_empty() {
                return Err(BenchError::Setup(format!(
                    "the bench resets {} for every run, but it holds other tables ({}); point --url at an empty database",
                    crate::connect::redact(url),
                    foreign.join(", ")
                )));
            }
            return Ok(Scratch::Given {
                url: url.clone(),
                progress: options.progress.clone(),
            });
        }
        let counter = std::sync::atomic::AtomicU32::new(0);
        match options.backend {
            Dialect::Sqlite => {
                let dir = tempfile::tempdir().map_err(|e| BenchError::Setup(e.to_string()))?;
                let template = dir.path().join("template.db");
                migrate_and_load(
                    &format!("sqlite://{}?mode=rwc", template.display()),
                    graph,
                    fixtures,
                    &options.progress,
                )
                .await?;
                Ok(Scratch::Sqlite {
                    dir,
                    template,
                    counter,
                })
            }
            dialect => {
                let admin_url = admin_url(dialect);
                let admin = Database::connect(&admin_url)
                    .await
                    .map_err(|e| BenchError::Setup(format!("{dialect} at {admin_url}: {e}")))?;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let prefix = format!("cascade_bench_{}_{nanos}", std::process::id());
                let base = server_root(&admin_url);
                let template = Some(format!("{prefix}_template"));
                let scratch = Scratch::Server {
                    admin,
                    dialect,
                    base,
                    prefix,
                    template,
                    counter,
                    progress: options.progress.clone(),
                };
                if let Scratch::Server {
                    template: Some(name),
                    ..
                } = &scratch
                {
                    scratch.create(name).await?;
                    migrate_and_load(&scratch.url_of(name), graph, fixtures, &options.progress)
                        .await?;
                }
                Ok(scratch)
            }
        }
    }

    fn url_of(&self, name: &str) -> String {
        match self {
            Scratch::Server { base, .. } => format!("{base}/{name}"),
            Scratch::Sqlite { dir, .. } => {
                format!("sqlite://{}?mode=rwc", dir.path().join(name).display())
            }
            Scratch::Given { url, .. } => url.clone(),
        }
    }

    async fn create(&self, name: &str) -> Result<(), BenchError> {
        if let Scratch::Server {
            admin,
            dialect,
            template,
            ..
        } = self
        {
            let sql = match (dialect, template) {
                (Dialect::Postgres, Some(t)) if t != name => format!(
                    "CREATE DATABASE {} TEMPLATE {}",
                    dialect.quote(name),
                    dialect.quote(t)
                ),
                _ => format!("CREATE DATABASE {}", dialect.quote(name)),
            };
            admin.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    /// A URL to a database holding exactly the loaded workload.
    pub(super) async fn fresh_copy(
        &self,
        graph: &RuleGraph,
        fixtures: &Fixtures,
    ) -> Result<String, BenchError> {
        match self {
            Scratch::Sqlite {
                template, counter, ..
            } => {
                let name = format!(
                    "run{}.db",
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                let url = self.url_of(&name);
                if let Scratch::Sqlite { dir, .. } = self {
                    std::fs::copy(template, dir.path().join(&name))
                        .map_err(|e| BenchError::Setup(e.to_string()))?;
                }
                Ok(url)
            }
            Scratch::Server {
                prefix,
                counter,
                template,
                progress,
                ..
            } => {
                let name = format!(
                    "{prefix}_{}",
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                self.create(&name).await?;
                let url = self.url_of(&name);
                match (self, template) {
                    (_, None) => migrate_and_load(&url, graph, fixtures, progress).await?,
                    (
                        Scratch::Server {
                            dialect: Dialect::MySql,
                            ..
                        },
                        Some(template),
                    ) => copy_rows(&url, graph, template).await?,
                    _ => {}
                }
                Ok(url)
            }
            Scratch::Given { url, progress } => {
                migrate_and_load(url, graph, fixtures, progress).await?;
                Ok(url.clone())
            }
        }
    }

    /// Drops a copy handed out by `fresh_copy`.
    pub(super) async fn discard(&self, url: &str) -> Result<(), BenchError> {
        match self {
            Scratch::Sqlite { .. } => {
                if let Some(path) = url
                    .strip_prefix("sqlite://")
                    .and_then(|p| p.split('?').next())
                {
                    let _ = std::fs::remove_file(path);
                }
            }
            Scratch::Server { admin, dialect, .. } => {
                let name = url.rsplit('/').next().unwrap_or_default();
                let force = match dialect {
                    Dialect::Postgres => " WITH (FORCE)",
                    _ => "",
                };
                let sql = format!("DROP DATABASE IF EXISTS {}{force}", dialect.quote(name));
                admin.execute_unprepared(&sql).await?;
            }
            Scratch::Given { .. } => {}
        }
        Ok(())
    }

    /// Removes the template (scratch files go with their directory).
    pub(super) async fn finish(self) -> Result<(), BenchError> {
        if let Scratch::Server {
            template: Some(name),
            ..
        } = &self
        {
            let url = self.url_of(name);
            self.discard(&url).await?;
        }
        Ok(())
    }
}
