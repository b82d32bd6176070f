//! `cascade demo`: the main job on the embedded default. Migrates a fresh database, seeds it and
//! prints every table with its declared delete rules and row count.
//!
//! `fresh` drops every table, so the demo refuses a database holding tables it did not create.

use std::io::Write;

use anyhow::bail;
use cascade_entity::rules::Dialect;
use clap::Args;
use serde::Serialize;

use super::seed::{SeedArgs, check_scale, seed};
use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::connect::redact;
use cascade_service::counts::count_all;

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub seed: SeedArgs,
}

#[derive(Serialize)]
struct DemoTable {
    table: String,
    rows: u64,
    rules: Vec<cascade_entity::rules::ForeignKey>,
}

#[derive(Serialize)]
struct DemoReport {
    url: String,
    tables: Vec<DemoTable>,
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &DemoArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    check_scale(app, &args.seed)?;
    let graph = app.registry().rules()?;
    let db = cli.connect().await?;
    let foreign: Vec<String> = cascade_migration::introspect(&db)
        .await?
        .tables
        .into_keys()
        .filter(|t| graph.table(t).is_none())
        .collect();
    if !foreign.is_empty() {
        bail!(
            "the demo recreates the whole database, but {} holds tables it did not create ({}); \
             point --url at a new database",
            redact(&cli.url),
            foreign.join(", ")
        );
    }
    match app.migrations() {
        Some(migrations) => migrations.fresh(&db).await?,
        // No migrator yet: the schema straight from the declarations.
        None => {
            let dialect = Dialect::from(db.get_database_backend());
            for step in cascade_migration::ddl::drop_schema(&graph, dialect)
                .iter()
                .chain(&cascade_migration::ddl::create_schema(&graph, dialect))
            {
                step.apply(&db).await?;
            }
        }
    }
    seed(app, cli, &db, &args.seed).await?;
    let counts = count_all(&db, &graph).await?;
    let report = DemoReport {
        url: redact(&cli.url),
        tables: graph
            .dependency_order()
            .into_iter()
            .filter_map(|name| graph.table(name))
            .map(|table| DemoTable {
                table: table.name.clone(),
                rows: counts.get(&table.name).copied().unwrap_or(0),
                rules: table.foreign_keys.clone(),
            })
            .collect(),
    };
    if cli.json {
        write_json(out, &report)?;
        return Ok(Status::Clean);
    }
    let mut grid = render::grid(&[
        "table",
        "rows",
        "delete rules (column -> parent: on delete)",
    ]);
    for row in &report.tables {
        let table = graph.table(&row.table);
        grid.add_row([
            row.table.clone(),
            row.rows.to_string(),
            table.map(render::rule_lines).unwrap_or_default(),
        ]);
    }
    writeln!(out, "{grid}")?;
    writeln!(
        out,
        "{} rows in {} tables at {}. Next: `cascade rules`, `cascade rules --rules live`.",
        counts.values().sum::<u64>(),
        counts.len(),
        report.url
    )?;
    Ok(Status::Clean)
}
