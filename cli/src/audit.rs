//! `cascade audit [--policy owner=T:ACTION]...`: the live database against the expected rules,
//! and the live schema's own defects (the definitions `lint` reports as CL009 / CL013), human
//! table or JSON; exit 1 on any drift, defect or unenforced FK.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::audit::{AuditReport, audit};
use cascade_service::expected::expected_graph;
use cascade_service::policy::Policy;
use cascade_service::rules_source::RulesSource;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// An FK policy the live database must satisfy, repeatable: owner=TABLE:ACTION (every FK
    /// referencing TABLE must have that ON DELETE action). Applied on top of --rules.
    #[arg(long = "policy", value_name = "SPEC")]
    pub policies: Vec<Policy>,
}

#[derive(Serialize)]
struct Report<'a> {
    source: RulesSource,
    policies: &'a [Policy],
    drift_count: usize,
    #[serde(flatten)]
    report: &'a AuditReport,
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &AuditArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    let expected = expected_graph(cli.source(), app.registry(), &args.policies, &db).await?;
    let report = audit(&db, &expected).await?;
    if cli.json {
        write_json(
            out,
            &Report {
                source: cli.source(),
                policies: &args.policies,
                drift_count: report.drift.len(),
                report: &report,
            },
        )?;
    } else {
        write_human(&report, out)?;
    }
    Ok(if report.is_clean() {
        Status::Clean
    } else {
        Status::Finding
    })
}

fn write_human(report: &AuditReport, out: &mut dyn Write) -> anyhow::Result<()> {
    if !report.drift.is_empty() || !report.defects.is_empty() {
        let mut grid = render::grid(&["kind", "drift"]);
        for drift in &report.drift {
            let kind = serde_json::to_value(drift)?
                .get("kind")
                .and_then(|k| k.as_str().map(str::to_owned))
                .unwrap_or_default();
            grid.add_row([kind, drift.to_string()]);
        }
        for defect in &report.defects {
            grid.add_row([defect.kind().to_owned(), defect.to_string()]);
        }
        writeln!(out, "{grid}")?;
    }
    for line in &report.unenforced {
        writeln!(out, "not enforced: {line}")?;
    }
    writeln!(
        out,
        "{}: {} drift item(s), {} schema defect(s), {} enforcement issue(s)",
        report.dialect,
        report.drift.len(),
        report.defects.len(),
        report.unenforced.len()
    )?;
    Ok(())
}
