//! `cascade docs [--out FILE]`: the generated schema documentation (Markdown with a Mermaid ER
//! diagram), from the declared rules or a live database's.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{App, Cli, Status, write_json};
use cascade_service::docs::{markdown, summaries};
use cascade_service::rules_source::RulesSource;

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Write the Markdown to FILE instead of stdout (the domain's copy is docs/SCHEMA.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &DocsArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let graph = cli.graph_maybe_offline(app).await?;
    if cli.json {
        write_json(out, &summaries(&graph))?;
        return Ok(Status::Clean);
    }
    let source = match cli.source() {
        RulesSource::Declared => "declared",
        RulesSource::Live => "live database's",
    };
    let text = markdown(&graph, source, app.docs_file());
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "wrote {}", path.display())?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(Status::Clean)
}
