//! `cascade docs [--out FILE]`: the generated schema documentation (Markdown with a Mermaid ER
//! diagram), from the declared rules or a live database's.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{Cli, Status, write_json};
use crate::docs::{markdown, summaries};
use crate::rules_source::{self, RulesSource};

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Write the Markdown to FILE instead of stdout (the domain's copy is docs/SCHEMA.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub(super) async fn run(cli: &Cli, args: &DocsArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let graph = match cli.rules {
        RulesSource::Declared => entity::declared_rules()?,
        RulesSource::Live => rules_source::load(cli.rules, &cli.connect().await?).await?,
    };
    if cli.json {
        write_json(out, &summaries(&graph))?;
        return Ok(Status::Clean);
    }
    let source = match cli.rules {
        RulesSource::Declared => "declared",
        RulesSource::Live => "live database's",
    };
    let text = markdown(&graph, source);
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "wrote {}", path.display())?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(Status::Clean)
}
