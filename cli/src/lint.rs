//! `cascade lint`: the declaration lint, human or JSON; exit 1 when any error is found.

use std::io::Write;

use cascade_entity::rules::Dialect;
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::lint::{Finding, LintConfig, Severity, lint};
use cascade_service::policy::{Policy, check_tables};
use cascade_service::rules_source::RulesSource;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// A policy to enforce, repeatable: owner=TABLE:ACTION (every FK to TABLE must have
    /// ACTION), protect=PATTERN (no cascade into matching tables), reach=TABLE:PATTERN[,...]
    /// (deleting TABLE may only cascade into matching tables). PATTERN may end in `*`.
    #[arg(long = "policy", value_name = "SPEC")]
    pub policies: Vec<Policy>,
    /// Dialects the rules must work on (repeatable). Default: all three for declared rules,
    /// the database's own for --rules live.
    #[arg(long = "dialect", value_enum)]
    pub dialects: Vec<DialectArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Sqlite,
    Postgres,
    Mysql,
}

impl From<DialectArg> for Dialect {
    fn from(arg: DialectArg) -> Dialect {
        match arg {
            DialectArg::Sqlite => Dialect::Sqlite,
            DialectArg::Postgres => Dialect::Postgres,
            DialectArg::Mysql => Dialect::MySql,
        }
    }
}

#[derive(Serialize)]
struct LintReport<'a> {
    source: RulesSource,
    dialects: &'a [Dialect],
    errors: usize,
    warnings: usize,
    infos: usize,
    findings: &'a [Finding],
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &LintArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let (graph, live_dialect) = match cli.source() {
        RulesSource::Declared => (app.registry().rules()?, None),
        RulesSource::Live => {
            let db = cli.connect().await?;
            let dialect = Dialect::from(db.get_database_backend());
            (cli.graph(app, &db).await?, Some(dialect))
        }
    };
    check_tables(&args.policies, &graph)?;
    let dialects: Vec<Dialect> = match (args.dialects.is_empty(), live_dialect) {
        (false, _) => args.dialects.iter().map(|d| Dialect::from(*d)).collect(),
        (true, Some(dialect)) => vec![dialect],
        (true, None) => Dialect::ALL.to_vec(),
    };
    let config = LintConfig {
        dialects: dialects.clone(),
        policies: args.policies.clone(),
    };
    let findings = lint(&graph, &config);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let report = LintReport {
        source: cli.source(),
        dialects: &dialects,
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        findings: &findings,
    };
    if cli.json {
        write_json(out, &report)?;
    } else {
        let mut grid = render::grid(&["severity", "rule", "table", "finding", "fix"]);
        for f in &findings {
            grid.add_row([
                format!("{:?}", f.severity).to_lowercase(),
                format!("{} {}", f.rule, f.name),
                f.table.clone(),
                format!("{}\nwhy: {}", f.message, f.why),
                f.fix.clone(),
            ]);
        }
        if !findings.is_empty() {
            writeln!(out, "{grid}")?;
        }
        writeln!(
            out,
            "{} error(s), {} warning(s), {} note(s)",
            report.errors, report.warnings, report.infos
        )?;
    }
    Ok(if report.errors > 0 {
        Status::Finding
    } else {
        Status::Clean
    })
}
