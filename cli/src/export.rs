//! `cascade export --owner TABLE=KEY --out FILE [--relation SPEC]... [--strict]`: one owner's
//! rows of the database into a new SQLite file, leaking nothing (see
//! `cascade_service::export`). Exit 0 when the file is written (rows left out are listed),
//! 1 when `--strict` refuses because rows would be left out (nothing written), 2 on errors.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::progress::Bar;
use crate::render;
use cascade_service::export::{ExportError, ExportOptions, ExportReport, LeftOut, Owner, export};
use cascade_service::relation_spec::{RelationSpec, add_relations};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The owner: TABLE=KEY, or TABLE=K1,K2 for a composite primary key (key order).
    #[arg(long, value_name = "TABLE=KEY")]
    pub owner: Owner,
    /// The SQLite file to create; it must not exist.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A relation the database does not declare, repeatable:
    /// 'CHILD.COL[,COL] -> PARENT.COL[,COL] ACTION' (ACTION: cascade, set_null, set_default,
    /// restrict, no_action). A cascade relation makes the child part of its parent.
    #[arg(long = "relation", value_name = "SPEC")]
    pub relations: Vec<RelationSpec>,
    /// Refuse (exit 1, nothing written) when a row of the owner would have to be left out.
    #[arg(long)]
    pub strict: bool,
    /// Rows per INSERT into the export.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_rows: u64,
    /// Keys listed per relation for rows left out.
    #[arg(long, default_value_t = 20)]
    pub list: u64,
}

/// Keys shown per relation in the text report (`--json` has up to `--list`).
const TEXT_KEYS: usize = 5;

/// `--json` output of a refused `--strict` export.
#[derive(Serialize)]
struct Refused<'a> {
    refused: &'static str,
    rows: u64,
    left_out: &'a [LeftOut],
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &ExportArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    let mut graph = cli.graph(app, &db).await?;
    add_relations(&mut graph, &args.relations)?;
    let bar = Bar::new(cli.json);
    let options = ExportOptions {
        strict: args.strict,
        batch_rows: usize::try_from(args.batch_rows).unwrap_or(usize::MAX),
        list_limit: args.list,
        progress: &bar,
    };
    match export(&db, &graph, &args.owner, &args.out, &options).await {
        Ok(report) => {
            if cli.json {
                write_json(out, &report)?;
            } else {
                write_report(&report, out)?;
            }
            Ok(Status::Clean)
        }
        Err(ExportError::Strict { rows, left_out }) => {
            if cli.json {
                write_json(
                    out,
                    &Refused {
                        refused: "left_out",
                        rows,
                        left_out: &left_out,
                    },
                )?;
            } else {
                write_left_out(&left_out, out)?;
                writeln!(
                    out,
                    "refused (--strict): {rows} row(s) of {} would be left out; nothing written",
                    args.owner
                )?;
            }
            Ok(Status::Finding)
        }
        Err(error) => Err(error.into()),
    }
}

fn write_report(report: &ExportReport, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut grid = render::grid(&["table", "rows"]);
    for table in report.tables.iter().filter(|t| t.rows > 0) {
        grid.add_row([table.table.clone(), table.rows.to_string()]);
    }
    writeln!(out, "{grid}")?;
    if !report.nulled.is_empty() {
        let mut grid = render::grid(&["table", "reference written as NULL", "rows", "orphaned"]);
        for nulled in &report.nulled {
            grid.add_row([
                nulled.table.clone(),
                nulled.relation.clone(),
                nulled.rows.to_string(),
                nulled.orphaned.to_string(),
            ]);
        }
        writeln!(out, "{grid}")?;
    }
    write_left_out(&report.left_out, out)?;
    for dropped in &report.defaults_dropped {
        writeln!(out, "default SQLite cannot express, left off: {dropped}")?;
    }
    for drift in &report.checks.drift {
        writeln!(out, "audit: {drift}")?;
    }
    writeln!(
        out,
        "wrote {}: {} row(s) of {} ({} reference(s) nulled, {} row(s) left out); integrity {}, \
         {} FK violation(s), {} orphan(s), {} statement(s) on the source",
        report.out,
        report.total_rows,
        report.owner,
        report.references_nulled(),
        report.rows_left_out(),
        report.checks.integrity,
        report.checks.foreign_key_violations,
        report.checks.orphans,
        report.statements
    )?;
    Ok(())
}

fn write_left_out(left_out: &[LeftOut], out: &mut dyn Write) -> anyhow::Result<()> {
    if left_out.is_empty() {
        return Ok(());
    }
    let mut grid = render::grid(&[
        "table",
        "left out: parent not exported",
        "rows",
        "orphaned",
        "keys",
    ]);
    for set in left_out {
        let keys: Vec<String> = set
            .keys
            .iter()
            .take(TEXT_KEYS)
            .map(|key| {
                key.iter()
                    .map(|v| v.as_deref().unwrap_or("NULL"))
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        let more = if (keys.len() as u64) < set.rows {
            ", ..."
        } else {
            ""
        };
        grid.add_row([
            set.table.clone(),
            set.relation.clone(),
            set.rows.to_string(),
            set.orphaned.to_string(),
            format!("{}{more}", keys.join(", ")),
        ]);
    }
    writeln!(out, "{grid}")?;
    Ok(())
}
