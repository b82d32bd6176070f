//! `cascade migrate [up|down|fresh|status]`: the app's migrations, through SeaORM's migrator;
//! `cascade migrate generate NAME`: a new frozen migration from the declarations vs the schema as
//! last migrated (no database needed).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_migration::MigrationSet;
use cascade_migration::generate::{Generated, generate};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// up: apply pending; down: roll everything back (drops the app's tables); fresh: drop every
    /// table in the database, then apply all; status: list migrations; generate NAME: write a
    /// new migration for what changed in the declarations.
    #[arg(value_enum, default_value_t = MigrateAction::Up)]
    pub action: MigrateAction,
    /// The new migration's name (`generate` only): lower-case letters, digits and `_`.
    #[arg(value_name = "NAME", required_if_eq("action", "generate"))]
    pub name: Option<String>,
    /// Where generated migrations live (default: the app's migrations directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrateAction {
    Up,
    Down,
    Fresh,
    Status,
    Generate,
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
    app: &App,
    cli: &Cli,
    args: &MigrateArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    if args.action == MigrateAction::Generate {
        return run_generate(app, cli, args, out);
    }
    let migrations = app.require_migrations()?;
    let db = cli.connect().await?;
    match args.action {
        MigrateAction::Up => migrations.up(&db).await?,
        MigrateAction::Down => migrations.down(&db).await?,
        MigrateAction::Fresh => migrations.fresh(&db).await?,
        MigrateAction::Status | MigrateAction::Generate => {}
    }
    let report = MigrateReport {
        action: args.action,
        migrations: states(migrations, &db).await?,
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

fn run_generate(
    app: &App,
    cli: &Cli,
    args: &MigrateArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let name = args.name.as_deref().unwrap_or_default();
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| app.migrations_dir_path().to_path_buf());
    let stamp = chrono::Utc::now().format("%Y%m%d_%H%M%S").to_string();
    let generated = generate(&dir, name, &stamp, &app.registry().rules()?)?;
    #[derive(Serialize)]
    struct Report<'a> {
        directory: &'a std::path::Path,
        generated: Option<&'a Generated>,
    }
    if cli.json {
        write_json(
            out,
            &Report {
                directory: &dir,
                generated: generated.as_ref(),
            },
        )?;
        return Ok(Status::Clean);
    }
    match &generated {
        None => writeln!(
            out,
            "nothing to migrate: the declarations match the schema as last migrated in {}",
            dir.display()
        )?,
        Some(g) => {
            writeln!(
                out,
                "wrote {} and {}",
                g.rust_file.display(),
                g.json_file.display()
            )?;
            for change in &g.changes {
                writeln!(out, "  - {}", change.0)?;
            }
            writeln!(
                out,
                "{} lists it; run `cascade migrate up` to apply it",
                dir.join("mod.rs").display()
            )?;
        }
    }
    Ok(Status::Clean)
}

async fn states(
    migrations: &dyn MigrationSet,
    db: &DatabaseConnection,
) -> anyhow::Result<Vec<MigrationState>> {
    let applied = migrations.applied(db).await?;
    Ok(migrations
        .names()
        .into_iter()
        .map(|name| MigrationState {
            applied: applied.contains(&name),
            name,
        })
        .collect())
}
