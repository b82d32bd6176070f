//! `cascade repair [--policy ...] [--out DIR] [--apply]`: the migration that removes FK drift.
//!
//! Without `--apply` it prints the plan (and with `--out` writes `up.sql` and `down.sql`) and
//! exits 1 when there is something to repair (FK changes, FK indexes, PostgreSQL constraints left
//! `NOT VALID` to validate) or drift it cannot repair, 0 when there is nothing. `--apply` refuses with
//! exit 1 and changes nothing when orphans would make a new constraint fail; otherwise it applies
//! the plan, re-plans from the catalog as the verification, and exits 0 when nothing is left.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use cascade_migration::repair::{self, DOWN_WARNING, RepairError, RepairPlan};
use clap::Args;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::expected::expected_graph;
use cascade_service::policy::Policy;

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// An FK policy to repair towards, repeatable: owner=TABLE:ACTION. Applied on top of --rules.
    #[arg(long = "policy", value_name = "SPEC")]
    pub policies: Vec<Policy>,
    /// Write the migration as DIR/up.sql and DIR/down.sql.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Apply the plan to the database (in one transaction where the dialect allows).
    #[arg(long)]
    pub apply: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    plan: &'a RepairPlan,
    up_sql: String,
    down_sql: String,
    applied: bool,
    /// After `--apply`: what a fresh plan still finds (0 when the repair took).
    remaining: Option<usize>,
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &RepairArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    let expected = expected_graph(cli.source(), app.registry(), &args.policies, &db).await?;
    let plan = repair::plan(&db, &expected).await?;
    let up_sql = plan.up.to_sql_file(&format!(
        "cascade repair (up, {}): {} FK change(s), {} index(es), {} validation(s)",
        plan.dialect,
        plan.changes.len(),
        plan.indexes.len(),
        plan.validations.len()
    ));
    let down_sql = plan.down.to_sql_file(&format!(
        "cascade repair (down, {})\n{DOWN_WARNING}",
        plan.dialect
    ));
    if let (Some(dir), false) = (&args.out, plan.is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in [("up.sql", &up_sql), ("down.sql", &down_sql)] {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let mut applied = false;
    let mut remaining = None;
    if args.apply && !plan.is_empty() {
        match repair::apply(&db, &plan).await {
            Ok(()) => {
                applied = true;
                let again = repair::plan(&db, &expected).await?;
                remaining = Some(again.len());
            }
            Err(RepairError::Orphans(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if cli.json {
        write_json(
            out,
            &Report {
                plan: &plan,
                up_sql,
                down_sql,
                applied,
                remaining,
            },
        )?;
    } else {
        write_human(&plan, args, applied, remaining, &up_sql, out)?;
    }
    let done = plan.unrepaired.is_empty() && (plan.is_empty() || (applied && remaining == Some(0)));
    Ok(if done { Status::Clean } else { Status::Finding })
}

fn write_human(
    plan: &RepairPlan,
    args: &RepairArgs,
    applied: bool,
    remaining: Option<usize>,
    up_sql: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if !plan.unrepaired.is_empty() {
        writeln!(
            out,
            "{} drift item(s) are not FK drift (tables, columns, keys) and are left to a schema \
             migration; see `cascade audit`",
            plan.unrepaired.len()
        )?;
    }
    if plan.is_empty() {
        writeln!(out, "{}: nothing to repair", plan.dialect)?;
        return Ok(());
    }
    let mut grid = render::grid(&["table", "change"]);
    for change in &plan.changes {
        grid.add_row([change.table.clone(), change.describe()]);
    }
    for validation in &plan.validations {
        grid.add_row([validation.table.clone(), validation.describe()]);
    }
    for index in &plan.indexes {
        grid.add_row([
            index.table.clone(),
            format!("create index {} ({})", index.name, index.columns.join(", ")),
        ]);
    }
    writeln!(out, "{grid}")?;
    for blocker in &plan.blockers {
        writeln!(
            out,
            "blocked: {} has {} orphan row(s); run `cascade orphans --prune` first",
            blocker.foreign_key, blocker.orphans
        )?;
    }
    if let Some(dir) = &args.out {
        writeln!(out, "wrote {0}/up.sql and {0}/down.sql", dir.display())?;
    } else if !args.apply {
        writeln!(out, "{up_sql}")?;
    }
    match (args.apply, applied, remaining) {
        (true, true, Some(0)) => writeln!(out, "applied; verified: nothing left to repair")?,
        (true, true, Some(n)) => writeln!(out, "applied, but {n} change(s) remain")?,
        (true, false, _) => writeln!(out, "not applied: nothing was changed")?,
        _ => {}
    }
    Ok(())
}
