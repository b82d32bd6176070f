//! `cascade plan|delete|verify --table T --where SQL`: preview, perform or verify a delete of the
//! root rows the operator's predicate selects, with its whole cascade.
//!
//! A refused delete is a finding (exit 1); a selection no row matches is "nothing to delete"
//! (exit 0, `{"nothing_matched": ...}` under `--json`), so re-running a finished delete
//! succeeds; `--mode db --no-enforce` is refused before anything connects (the database would
//! cascade nothing, and no report of the cascade could be true). `--batch-rows N` deletes in
//! leaf-first transactions of at most N rows (a progress bar on a terminal); one stopped
//! part-way reports what was done and what is left, and running it again continues.

use std::io::Write;

use anyhow::bail;
use cascade_entity::RuleGraph;
use clap::Args;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::connect::{Enforce, connect};
use cascade_service::delete::{
    BatchStopped, DeleteError, DeleteMode, DeleteOptions, DeleteReport, Effect, EngineActions,
    Outcome, Refusal, Selection, VerifyReport, delete_reporting, plan, verify_url,
};
use cascade_service::snapshot::row_literal;

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
    /// only), so ORM mode provably does all the work. Refused with --mode db, where the
    /// database would cascade nothing.
    #[arg(long)]
    pub no_enforce: bool,
    /// Keep the database's own FK actions on while ORM mode deletes (by default they are
    /// suspended where that is safe, and an integrity check runs before commit).
    #[arg(long)]
    pub keep_engine_actions: bool,
    /// Do everything, report it, then roll back.
    #[arg(long)]
    pub dry_run: bool,
    /// Runs of the whole transaction allowed when it loses a write conflict (a deadlock, or a
    /// certification failure on a Galera cluster), the first included.
    #[arg(long, default_value_t = cascade_service::delete::DEFAULT_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,
    /// Delete leaf-first in transactions of at most N affected rows each (deleted + rewritten),
    /// consistent between batches; the verdict is decided on the whole delete first. Killed or
    /// stopped part-way, running the same command again finishes the job. ORM mode only.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_rows: Option<u64>,
    /// With --batch-rows: stop after K batches (consistently; run again to continue).
    #[arg(long, value_name = "K", requires = "batch_rows")]
    pub max_batches: Option<u64>,
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

/// A refusal is a finding (exit 1); a selection no row matches is nothing to do (exit 0); other
/// delete errors are errors (exit 2).
fn refused(cli: &Cli, error: DeleteError, out: &mut dyn Write) -> anyhow::Result<Status> {
    let refusal = match error {
        DeleteError::Refused(refusal) => refusal,
        DeleteError::NothingMatched { table } => return nothing_matched(cli, &table, out),
        error => return Err(error.into()),
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

/// "Nothing to delete": success, reported as such.
fn nothing_matched(cli: &Cli, table: &str, out: &mut dyn Write) -> anyhow::Result<Status> {
    let message = format!("nothing to delete: no row of `{table}` matches the selection");
    if cli.json {
        #[derive(Serialize)]
        struct Nothing<'a> {
            table: &'a str,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct NothingMatched<'a> {
            nothing_matched: Nothing<'a>,
        }
        let nothing = Nothing {
            table,
            message: &message,
        };
        write_json(
            out,
            &NothingMatched {
                nothing_matched: nothing,
            },
        )?;
    } else {
        writeln!(out, "{message}")?;
    }
    Ok(Status::Clean)
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
    if args.no_enforce && args.mode == ModeArg::Db {
        bail!(
            "--mode db with --no-enforce: with FK enforcement off the database deletes only the \
             root rows and cascades nothing, so the report would describe a cascade that did not \
             happen; use --mode orm --no-enforce (our executor does all the work) or --mode db \
             with enforcement on"
        );
    }
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
    if args.batch_rows.is_some() && args.mode == ModeArg::Db {
        bail!(
            "--batch-rows with --mode db: the database's own cascade deletes a whole subtree in \
             one statement, so it cannot be split into batches; use --mode orm"
        );
    }
    let graph = rules(app, cli, &db).await?;
    let options = DeleteOptions::orm()
        .mode(args.mode.into())
        .dry_run(args.dry_run)
        .attempts(args.attempts)
        .engine_actions(if args.keep_engine_actions {
            EngineActions::KeepOn
        } else {
            EngineActions::Auto
        })
        .batch_rows(args.batch_rows)
        .max_batches(args.max_batches);
    let bar = crate::progress::Bar::new(cli.json);
    let outcome = delete_reporting(&db, &graph, &args.target.table, &selection, options, &bar);
    match outcome.await {
        Ok(report) if cli.json => write_json(out, &report).map(|_| Status::Clean),
        Ok(report) => {
            print_report(&report, out)?;
            Ok(Status::Clean)
        }
        Err(DeleteError::BatchStopped(stopped)) => batch_stopped(cli, *stopped, out),
        Err(error) => refused(cli, error, out),
    }
}

fn print_report(report: &DeleteReport, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "{}", effect_grid(&report.effect))?;
    writeln!(
        out,
        "{} rows deleted ({} mode, {} statements){}{}.",
        report.effect.total_deleted(),
        match report.mode {
            DeleteMode::Orm => "orm",
            DeleteMode::Db => "db",
        },
        report.statements,
        retries(&report.conflicts),
        if report.dry_run {
            "; dry run: rolled back"
        } else {
            ""
        }
    )?;
    if let Some(batches) = &report.batches {
        writeln!(
            out,
            "{} batch(es) of at most {} rows (largest {}), {} round(s){}.",
            batches.batches,
            batches.batch_rows,
            batches.largest_batch,
            batches.rounds,
            match &batches.left {
                _ if batches.complete => String::new(),
                Some(left) => format!(
                    "; stopped as asked, {} rows left to delete and {} to rewrite: run the same \
                     command again to continue",
                    left.total_deleted(),
                    left.updated.iter().map(|u| u.rows).sum::<u64>()
                ),
                None => "; stopped as asked: run the same command again to continue".to_owned(),
            }
        )?;
    }
    Ok(())
}

/// A batched delete that stopped part-way: what was done and what is left; a refusal or a
/// blocked row is a finding (exit 1), anything else an error (exit 2).
fn batch_stopped(cli: &Cli, stopped: BatchStopped, out: &mut dyn Write) -> anyhow::Result<Status> {
    let finding = matches!(
        stopped.cause,
        DeleteError::Refused(_) | DeleteError::Blocked { .. }
    );
    if !finding {
        return Err(DeleteError::BatchStopped(Box::new(stopped)).into());
    }
    if cli.json {
        #[derive(Serialize)]
        struct Stopped<'a> {
            done: &'a DeleteReport,
            cause: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            refused: Option<&'a Refusal>,
        }
        #[derive(Serialize)]
        struct Wrapper<'a> {
            stopped: Stopped<'a>,
        }
        let stop = Stopped {
            done: &stopped.report,
            cause: stopped.cause.to_string(),
            refused: stopped.cause.refusal(),
        };
        write_json(out, &Wrapper { stopped: stop })?;
    } else {
        print_report(&stopped.report, out)?;
        writeln!(out, "{stopped}")?;
    }
    Ok(Status::Finding)
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
    let db = cli.connect().await?;
    let graph = rules(app, cli, &db).await?;
    // Where the live schema departs from the rules, the native side follows the database's FKs
    // and the ORM side the rules: a mismatch then says more about the schema than the engine.
    let drift = cascade_service::audit::audit(&db, &graph)
        .await?
        .drift
        .len();
    let report = match verify_url(&cli.url, &graph, &args.table, &selection).await {
        Ok(report) => report,
        Err(DeleteError::NothingMatched { table }) => return nothing_matched(cli, &table, out),
        Err(error) => return Err(error.into()),
    };
    if cli.json {
        #[derive(Serialize)]
        struct Verified<'a> {
            #[serde(flatten)]
            report: &'a VerifyReport,
            /// Drift items between the rules and the live schema (`cascade audit` lists them).
            schema_drift: usize,
        }
        write_json(
            out,
            &Verified {
                report: &report,
                schema_drift: drift,
            },
        )?;
    } else {
        print_verify(&report, &graph, out)?;
        if drift > 0 {
            writeln!(
                out,
                "the live schema differs from the rules in {drift} place(s): the native side \
                 follows the database's FKs, the ORM side the rules; run `cascade audit` to see \
                 where"
            )?;
        }
    }
    Ok(if report.matches {
        Status::Clean
    } else {
        Status::Finding
    })
}

fn print_verify(
    report: &VerifyReport,
    graph: &RuleGraph,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
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
        let columns = graph
            .table(&diff.table)
            .map(|t| t.columns.as_slice())
            .unwrap_or_default();
        writeln!(
            out,
            "  columns:     ({})",
            columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        for row in diff.only_native.iter().take(5) {
            writeln!(out, "  native only: {}", row_literal(columns, row))?;
        }
        for row in diff.only_orm.iter().take(5) {
            writeln!(out, "  orm only:    {}", row_literal(columns, row))?;
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
