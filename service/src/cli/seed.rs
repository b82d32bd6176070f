//! `cascade seed`: the deterministic fixture graph of the domain.

use std::io::{IsTerminal, Write};

use clap::Args;

use super::{Cli, Status, write_json};
use crate::render;
use crate::seed::{SeedOptions, SeedReport, seed};

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// About how many rows to insert across all tables.
    #[arg(long, default_value_t = 1000)]
    pub scale: usize,
    /// Random seed: the same scale and seed always produce the same rows.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub(super) async fn run(cli: &Cli, args: &SeedArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    let report = seed(&db, &entity::declared_rules()?, options(args)).await?;
    print_report(cli, &report, out)?;
    Ok(Status::Clean)
}

pub(super) fn options(args: &SeedArgs) -> SeedOptions {
    SeedOptions {
        scale: args.scale,
        seed: args.seed,
        progress: std::io::stderr().is_terminal(),
    }
}

fn print_report(cli: &Cli, report: &SeedReport, out: &mut dyn Write) -> anyhow::Result<()> {
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
