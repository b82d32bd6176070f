//! `cascade rules`: print the rule graph, declared (no database needed) or live.

use std::io::Write;

use entity::RuleGraph;
use serde::Serialize;

use super::{Cli, Status, write_json};
use crate::render;
use crate::rules_source::{self, RulesSource};

#[derive(Serialize)]
struct RulesReport<'a> {
    source: RulesSource,
    #[serde(flatten)]
    graph: &'a RuleGraph,
}

pub(super) async fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Status> {
    let graph = match cli.rules {
        RulesSource::Declared => entity::declared_rules()?,
        RulesSource::Live => rules_source::load(cli.rules, &cli.connect().await?).await?,
    };
    if cli.json {
        write_json(
            out,
            &RulesReport {
                source: cli.rules,
                graph: &graph,
            },
        )?;
    } else {
        writeln!(out, "{}", render::rules(&graph))?;
    }
    Ok(Status::Clean)
}
