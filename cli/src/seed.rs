//! `cascade seed`: the app's deterministic fixture graph (its own shape, or about the same
//! number of rows in every table), into an empty, migrated database.
//!
//! A `--scale` that cannot be served is refused at once, before anything connects: zero, more
//! than [`MAX_SCALE`], or more rows than the memory available can hold while they are decided
//! (every value is decided before the first INSERT). Keys too narrow for the rows (a SMALLINT
//! key past 32767 rows) are refused before any value is decided. A long seed shows progress on
//! a terminal: deciding the rows, then inserting them.

use std::io::Write;

use clap::Args;

use super::{App, Cli, Status, write_json};
use crate::progress::Bar;
use crate::render;
use cascade_service::fixtures::{InsertOptions, Inserted, check_empty, estimated_bytes, insert};

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// About how many rows to insert across all tables.
    #[arg(long, default_value_t = 1000)]
    pub scale: usize,
    /// Random seed: the same scale and seed always produce the same rows.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The largest `--scale` served: the rows are decided in memory before the first INSERT.
const MAX_SCALE: usize = 20_000_000;

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &SeedArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    check_scale(app, args)?;
    let db = cli.connect().await?;
    let report = seed(app, cli, &db, args).await?;
    print_report(cli, &report, out)?;
    Ok(Status::Clean)
}

/// Refuses a scale that cannot be served before anything is touched.
pub(super) fn check_scale(app: &App, args: &SeedArgs) -> anyhow::Result<()> {
    if args.scale == 0 {
        anyhow::bail!("--scale must be at least 1");
    }
    if args.scale > MAX_SCALE {
        anyhow::bail!(
            "--scale {} is more than seed serves ({MAX_SCALE} rows are decided in memory first); \
             seed in several databases or use `cascade bench` for larger loads",
            args.scale
        );
    }
    let needed = estimated_bytes(&app.registry().rules()?, args.scale);
    if let Some(available) = available_memory()
        && needed > available
    {
        anyhow::bail!(
            "--scale {} needs about {} of memory (every row is decided before the first INSERT) \
             and {} is available; use a smaller --scale",
            args.scale,
            gib(needed),
            gib(available)
        );
    }
    Ok(())
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Memory available to a new allocation (Linux `MemAvailable`); `None` where it cannot be read,
/// and only the fixed [`MAX_SCALE`] bound applies.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Checks the tables are empty, builds the app's fixtures and inserts them.
pub(super) async fn seed(
    app: &App,
    cli: &Cli,
    db: &sea_orm::DatabaseConnection,
    args: &SeedArgs,
) -> anyhow::Result<Inserted> {
    let graph = app.registry().rules()?;
    check_empty(db, &graph).await?;
    let fixtures = app.build_fixtures(&graph, args.scale, args.seed)?;
    let bar = Bar::new(cli.json);
    let options = InsertOptions {
        seed: args.seed,
        progress: &bar,
    };
    Ok(insert(db, &graph, &fixtures, &options).await?)
}

fn print_report(cli: &Cli, report: &Inserted, out: &mut dyn Write) -> anyhow::Result<()> {
    if cli.json {
        return write_json(out, report);
    }
    let mut grid = render::grid(&["table", "rows inserted"]);
    for (table, rows) in &report.rows {
        grid.add_row([table.clone(), rows.to_string()]);
    }
    writeln!(out, "{grid}")?;
    writeln!(out, "{} rows in total", report.total())?;
    Ok(())
}
