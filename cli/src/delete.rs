//! `cascade plan|delete|verify --table T --where SQL`: preview, perform or verify a delete of the
//! root rows the operator's predicate selects, with its whole cascade.

use std::io::Write;

use anyhow::bail;
use cascade_entity::RuleGraph;
use clap::Args;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{
    DeleteError, DeleteMode, DeleteOptions, Effect, Outcome, Refusal, Selection, VerifyReport,
    delete, plan, verify_url,
};

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The root table to delete from.
    #[arg(long)]
    pub table: String,
    /// SQL predicate selecting the root rows (the operator's own SQL, e.g. "uid = 'p1'").
    #[arg(long = "where", value_name = "SQL")]
    pub predicate: String,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Our executor does every update and delete itself.
    Orm,
    /// One native DELETE; the engine cascades.
    Db,
}

impl From<ModeArg> for DeleteMode {
    fn from(arg: ModeArg) -> DeleteMode {
        match arg {
            ModeArg::Orm => DeleteMode::Orm,
            ModeArg::Db => DeleteMode::Db,
        }
    }
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// orm: our executor does every update and delete itself; db: one native DELETE, the
    /// engine cascades.
    #[arg(long, value_enum, default_value_t = ModeArg::Orm)]
    pub mode: ModeArg,
    /// Turn the database's FK enforcement off for this connection (SQLite foreign_keys=OFF,
    /// MariaDB foreign_key_checks=0, PostgreSQL session_replication_role=replica, superuser
    /// only), so ORM mode provably does all the work.
    #[arg(long)]
    pub no_enforce: bool,
    /// Do everything, report it, then roll back.
    #[arg(long)]
    pub dry_run: bool,
    /// Runs of the whole transaction allowed when it loses a write conflict (a deadlock, or a
    /// certification failure on a Galera cluster), the first included.
    #[arg(long, default_value_t = cascade_service::delete::DEFAULT_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,
}

async fn rules(
    app: &App,
    cli: &Cli,
    db: &sea_orm::DatabaseConnection,
) -> anyhow::Result<RuleGraph> {
    cli.graph(app, db).await
}

/// `--where`, parsed for the dialect `--url` names before anything connects or runs.
fn selection(cli: &Cli, predicate: &str) -> anyhow::Result<Selection> {
    let dialect = cascade_service::connect::dialect_of(&cli.url)?;
    Ok(Selection::parse_predicate(predicate, dialect)?)
}

/// A refusal is a finding (exit 1); other delete errors are errors (exit 2).
fn refused(cli: &Cli, error: DeleteError, out: &mut dyn Write) -> anyhow::Result<Status> {
    let DeleteError::Refused(refusal) = error else {
        return Err(error.into());
    };
    if cli.json {
        #[derive(Serialize)]
        struct Refused<'a> {
            refused: &'a Refusal,
        }
        write_json(out, &Refused { refused: &refusal })?;
    } else {
        writeln!(out, "{refusal}")?;
    }
    Ok(Status::Finding)
}

pub(super) async fn run_plan(
    app: &App,
    cli: &Cli,
    args: &TargetArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let selection = selection(cli, &args.predicate)?;
    let db = cli.connect().await?;
    let graph = rules(app, cli, &db).await?;
    match plan(&db, &graph, &args.table, &selection, DeleteMode::Orm).await {
        Ok(effect) if cli.json => write_json(out, &effect).map(|_| Status::Clean),
        Ok(effect) => {
            writeln!(out, "{}", effect_grid(&effect))?;
            writeln!(
                out,
                "{} rows would be deleted; cascade depth {}. Nothing was changed.",
                effect.total_deleted(),
                effect.depth
            )?;
            Ok(Status::Clean)
        }
        Err(error) => refused(cli, error, out),
    }
}

pub(super) async fn run_delete(
    app: &App,
    cli: &Cli,
    args: &DeleteArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let selection = selection(cli, &args.target.predicate)?;
    let enforce = if args.no_enforce {
        Enforce::Off
    } else {
        Enforce::On
    };
    let db = match connect(&cli.url, enforce).await {
        Ok(db) => db,
        Err(e) if args.no_enforce && cli.url.starts_with("postgres") => {
            bail!("{}", DeleteError::EnforcementOff(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let graph = rules(app, cli, &db).await?;
    let options = DeleteOptions::orm()
        .mode(args.mode.into())
        .dry_run(args.dry_run)
        .attempts(args.attempts);
    match delete(&db, &graph, &args.target.table, &selection, options).await {
        Ok(report) if cli.json => write_json(out, &report).map(|_| Status::Clean),
        Ok(report) => {
            writeln!(out, "{}", effect_grid(&report.effect))?;
            writeln!(
                out,
                "{} rows deleted ({:?} mode, {} statements){}{}.",
                report.effect.total_deleted(),
                report.mode,
                report.statements,
                retries(&report.conflicts),
                if report.dry_run {
                    "; dry run: rolled back"
                } else {
                    ""
                }
            )?;
            Ok(Status::Clean)
        }
        Err(error) => refused(cli, error, out),
    }
}

/// `; 3 attempts (2 retried after a write conflict: 1213, 1213)` when the delete was retried.
fn retries(conflicts: &[cascade_service::delete::RetriedConflict]) -> String {
    if conflicts.is_empty() {
        return String::new();
    }
    let codes: Vec<String> = conflicts
        .iter()
        .map(|c| match (c.number, &c.sqlstate) {
            (Some(n), _) => n.to_string(),
            (None, Some(state)) => state.clone(),
            (None, None) => "?".to_owned(),
        })
        .collect();
    format!(
        "; {} attempts ({} retried after a write conflict: {})",
        conflicts.len() + 1,
        conflicts.len(),
        codes.join(", ")
    )
}

pub(super) async fn run_verify(
    app: &App,
    cli: &Cli,
    args: &TargetArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let selection = selection(cli, &args.predicate)?;
    let graph = rules(app, cli, &cli.connect().await?).await?;
    let report = verify_url(&cli.url, &graph, &args.table, &selection).await?;
    if cli.json {
        write_json(out, &report)?;
    } else {
        print_verify(&report, out)?;
    }
    Ok(if report.matches {
        Status::Clean
    } else {
        Status::Finding
    })
}

fn print_verify(report: &VerifyReport, out: &mut dyn Write) -> anyhow::Result<()> {
    let describe = |o: &Outcome| match o {
        Outcome::Deleted { deleted } => format!("deleted {} rows", deleted.values().sum::<u64>()),
        Outcome::Refused { kind, message, .. } => format!("refused ({kind}): {message}"),
    };
    writeln!(
        out,
        "native ({}): {}",
        report.dialect,
        describe(&report.native)
    )?;
    writeln!(out, "orm (enforcement off): {}", describe(&report.orm))?;
    for diff in &report.diffs {
        writeln!(
            out,
            "table {}: {} rows only after native, {} only after orm",
            diff.table,
            diff.only_native.len(),
            diff.only_orm.len()
        )?;
        for row in diff.only_native.iter().take(5) {
            writeln!(out, "  native only: {row:?}")?;
        }
        for row in diff.only_orm.iter().take(5) {
            writeln!(out, "  orm only:    {row:?}")?;
        }
    }
    if !report.orm_only_rules.is_empty() {
        writeln!(
            out,
            "ORM-only rules (no database constraint; compared apart): {}",
            report.orm_only_rules.join("; ")
        )?;
        if let Some(outcome) = &report.with_orm_only {
            writeln!(out, "orm with ORM-only rules: {}", describe(outcome))?;
        }
        for diff in &report.explained_by_orm_only {
            writeln!(
                out,
                "table {}: {} rows changed by ORM-only rules (expected, not a mismatch)",
                diff.table,
                diff.only_orm.len().max(diff.only_native.len())
            )?;
        }
    }
    writeln!(
        out,
        "{}",
        if report.matches {
            "MATCH: same outcome, identical tables"
        } else if report.abstained {
            "ABSTAINED: the model refuses as order_dependent where the engine decided by an ordering it cannot know"
        } else {
            "MISMATCH"
        }
    )?;
    Ok(())
}

fn effect_grid(effect: &Effect) -> String {
    let mut grid = render::grid(&["table", "effect", "rows"]);
    for (table, rows) in &effect.deleted {
        grid.add_row([table.clone(), "deleted".into(), rows.to_string()]);
    }
    for update in &effect.updated {
        grid.add_row([
            format!("{}.{}", update.table, update.columns.join(",")),
            format!("ON DELETE {}", update.action),
            update.rows.to_string(),
        ]);
    }
    grid.to_string()
}
