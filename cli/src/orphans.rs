//! `cascade orphans [--relation SPEC]... [--policy owner=T:ACTION]... [--prune [--dry-run]
//! [--include-restricted]]`: rows whose parent is missing, per relation; exit 1 when a scan finds
//! any, or when orphans remain after a prune. `owner=` policies prune towards the rules a repair
//! with the same policies would install (so the advice in a refused repair works as written); a
//! prune reports every row removed, the database's own cascades included.

use std::io::Write;

use clap::Args;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::expected::apply_policies;
use cascade_service::orphans::{PruneOptions, ScanReport, prune_reporting, scan};
use cascade_service::policy::Policy;
use cascade_service::relation_spec::{RelationSpec, add_relations};

#[derive(Debug, Args)]
pub struct OrphansArgs {
    /// A relation the database does not declare, repeatable:
    /// 'CHILD.COL[,COL] -> PARENT.COL[,COL] ACTION' (ACTION: cascade, set_null, set_default,
    /// restrict, no_action).
    #[arg(long = "relation", value_name = "SPEC")]
    pub relations: Vec<RelationSpec>,
    /// An FK policy, repeatable: owner=TABLE:ACTION (every relation to TABLE is treated as
    /// having that ON DELETE action, as `repair` with the same policy would make it).
    #[arg(long = "policy", value_name = "SPEC")]
    pub policies: Vec<Policy>,
    /// Repair the orphans, in one transaction, as the database's rules would have.
    #[arg(long)]
    pub prune: bool,
    /// With --prune: do it, report it, roll it back.
    #[arg(long, requires = "prune")]
    pub dry_run: bool,
    /// With --prune: also delete orphans of RESTRICT / NO ACTION relations.
    #[arg(long, requires = "prune")]
    pub include_restricted: bool,
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &OrphansArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    let mut graph = apply_policies(cli.graph(app, &db).await?, &args.policies)?;
    add_relations(&mut graph, &args.relations)?;
    if !args.prune {
        let report = scan(&db, &graph).await?;
        if cli.json {
            write_json(out, &report)?;
        } else {
            write_scan(&report, out)?;
        }
        return Ok(status(&report));
    }
    let options = PruneOptions {
        include_restricted: args.include_restricted,
        dry_run: args.dry_run,
    };
    let bar = crate::progress::Bar::new(cli.json);
    let report = prune_reporting(&db, &graph, options, &bar).await?;
    if cli.json {
        write_json(out, &report)?;
    } else {
        write_scan(&report.before, out)?;
        let mut grid = render::grid(&["table", "relation", "change", "rows"]);
        for change in &report.changes {
            grid.add_row([
                change.table.clone(),
                change.relation.clone(),
                if change.by_database {
                    format!("{} by the database's cascade", change.action)
                } else {
                    change.action.to_owned()
                },
                change.rows.to_string(),
            ]);
        }
        if !report.changes.is_empty() {
            writeln!(out, "{grid}")?;
        }
        writeln!(
            out,
            "{}; {} row(s) removed in {} table(s); {} orphan(s) left{}",
            if report.dry_run {
                "dry run, rolled back"
            } else {
                "pruned in one transaction"
            },
            report.removed.values().sum::<u64>(),
            report.removed.len(),
            report.after.total,
            if report.after.total > 0 {
                " (RESTRICT / NO ACTION: use --include-restricted to delete them)"
            } else {
                ""
            }
        )?;
    }
    Ok(status(&report.after))
}

fn status(report: &ScanReport) -> Status {
    if report.total > 0 {
        Status::Finding
    } else {
        Status::Clean
    }
}

fn write_scan(report: &ScanReport, out: &mut dyn Write) -> anyhow::Result<()> {
    if !report.orphans.is_empty() {
        let mut grid = render::grid(&["table", "relation", "on delete", "orphans", "sample keys"]);
        for set in &report.orphans {
            let samples: Vec<String> = set
                .samples
                .iter()
                .map(|key| {
                    key.iter()
                        .map(|v| v.as_deref().unwrap_or("NULL"))
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .collect();
            grid.add_row([
                set.table.clone(),
                format!(
                    "{}{}",
                    set.relation,
                    if set.orm_only { " (no FK)" } else { "" }
                ),
                set.on_delete.to_string(),
                set.count.to_string(),
                samples.join(", "),
            ]);
        }
        writeln!(out, "{grid}")?;
    }
    writeln!(
        out,
        "{} orphan row(s) in {} of {} relation(s)",
        report.total,
        report.orphans.len(),
        report.relations
    )?;
    Ok(())
}
