//! `cascade migrate [up|down|fresh|status]`: the derived schema migration, through SeaORM's
//! migrator (the same one `cargo run -p migration` runs).

use std::io::Write;

use clap::{Args, ValueEnum};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::{Cli, Status, write_json};
use crate::render;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// up: apply pending; down: roll everything back (drops the domain tables); fresh: drop every
    /// table in the database, then apply all; status: list migrations.
    #[arg(value_enum, default_value_t = MigrateAction::Up)]
    pub action: MigrateAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrateAction {
    Up,
    Down,
    Fresh,
    Status,
}

#[derive(Serialize)]
struct MigrationState {
    name: String,
    applied: bool,
}

#[derive(Serialize)]
struct MigrateReport {
    action: MigrateAction,
    migrations: Vec<MigrationState>,
}

pub(super) async fn run(
    cli: &Cli,
    args: &MigrateArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    match args.action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down => Migrator::down(&db, None).await?,
        MigrateAction::Fresh => Migrator::fresh(&db).await?,
        MigrateAction::Status => {}
    }
    let report = MigrateReport {
        action: args.action,
        migrations: states(&db).await?,
    };
    if cli.json {
        write_json(out, &report)?;
    } else {
        let mut grid = render::grid(&["migration", "state"]);
        for m in &report.migrations {
            grid.add_row([
                m.name.as_str(),
                if m.applied { "applied" } else { "pending" },
            ]);
        }
        writeln!(out, "{grid}")?;
    }
    Ok(Status::Clean)
}

async fn states(db: &DatabaseConnection) -> anyhow::Result<Vec<MigrationState>> {
    let applied: Vec<String> = Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            applied: applied.iter().any(|a| a == m.name()),
        })
        .collect())
}
