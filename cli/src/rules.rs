//! `cascade rules`: print the rule graph, declared (no database needed) or live.

use std::io::Write;

use cascade_entity::RuleGraph;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::rules_source::RulesSource;

#[derive(Serialize)]
struct RulesReport<'a> {
    source: RulesSource,
    #[serde(flatten)]
    graph: &'a RuleGraph,
}

pub(super) async fn run(app: &App, cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Status> {
    let graph = cli.graph_maybe_offline(app).await?;
    if cli.json {
        write_json(
            out,
            &RulesReport {
                source: cli.source(),
                graph: &graph,
            },
        )?;
    } else {
        writeln!(out, "{}", render::rules(&graph))?;
    }
    Ok(Status::Clean)
}
