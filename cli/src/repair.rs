//! `cascade repair [--policy ...] [--out DIR] [--apply]`: the migration that removes FK drift.
//!
//! Without `--apply` it prints the plan (and with `--out` writes `up.sql` and `down.sql`) and
//! exits 1 when there is something to repair (FK changes, FK indexes, PostgreSQL constraints left
//! `NOT VALID` to validate) or drift it cannot repair, 0 when there is nothing. `--apply` refuses with
//! exit 1 and changes nothing when orphans would make a new constraint fail; otherwise it applies
//! the plan, re-plans from the catalog as the verification, and exits 0 when nothing is left.
//!
//! When orphans block the repair, it prints the `cascade orphans` command that prunes them
//! towards the same rules (same `--rules` and `--policy`, `--include-restricted` where a
//! blocking FK is RESTRICT / NO ACTION), so the advice works as written.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use cascade_entity::RuleGraph;
use cascade_entity::rules::FkAction;
use cascade_migration::repair::{self, Blocker, DOWN_WARNING, RepairError, RepairPlan};
use clap::Args;
use serde::Serialize;

use super::{App, Cli, Status, write_json};
use crate::render;
use cascade_service::connect::{DEFAULT_URL, redact};
use cascade_service::expected::expected_graph;
use cascade_service::policy::Policy;
use cascade_service::rules_source::RulesSource;

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// An FK policy to repair towards, repeatable: owner=TABLE:ACTION. Applied on top of --rules.
    #[arg(long = "policy", value_name = "SPEC")]
    pub policies: Vec<Policy>,
    /// Write the migration as DIR/up.sql and DIR/down.sql.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Apply the plan to the database (in one transaction where the dialect allows).
    #[arg(long)]
    pub apply: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    plan: &'a RepairPlan,
    up_sql: String,
    down_sql: String,
    applied: bool,
    /// After `--apply`: what a fresh plan still finds (0 when the repair took).
    remaining: Option<usize>,
    /// When orphans block the repair: the command that prunes them towards the same rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    prune_command: Option<String>,
}

pub(super) async fn run(
    app: &App,
    cli: &Cli,
    args: &RepairArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let db = cli.connect().await?;
    let expected = expected_graph(cli.source(), app.registry(), &args.policies, &db).await?;
    let plan = repair::plan(&db, &expected).await?;
    let up_sql = plan.up.to_sql_file(&format!(
        "cascade repair (up, {}): {} FK change(s), {} index(es), {} validation(s)",
        plan.dialect,
        plan.changes.len(),
        plan.indexes.len(),
        plan.validations.len()
    ));
    let down_sql = plan.down.to_sql_file(&format!(
        "cascade repair (down, {})\n{DOWN_WARNING}",
        plan.dialect
    ));
    if let (Some(dir), false) = (&args.out, plan.is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in [("up.sql", &up_sql), ("down.sql", &down_sql)] {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let mut applied = false;
    let mut remaining = None;
    if args.apply && !plan.is_empty() {
        let bar = crate::progress::Bar::new(cli.json);
        match repair::apply_reporting(&db, &plan, &bar).await {
            Ok(()) => {
                applied = true;
                let again = repair::plan(&db, &expected).await?;
                remaining = Some(again.len());
            }
            Err(RepairError::Orphans(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let prune_command =
        (!plan.blockers.is_empty()).then(|| prune_command(cli, args, &expected, &plan));
    if cli.json {
        write_json(
            out,
            &Report {
                plan: &plan,
                up_sql,
                down_sql,
                applied,
                remaining,
                prune_command,
            },
        )?;
    } else {
        let human = Human {
            applied,
            remaining,
            up_sql: &up_sql,
            prune_command: prune_command.as_deref(),
        };
        write_human(&plan, args, &human, out)?;
    }
    let done = plan.unrepaired.is_empty() && (plan.is_empty() || (applied && remaining == Some(0)));
    Ok(if done { Status::Clean } else { Status::Finding })
}

/// The `cascade orphans` command that prunes the orphans blocking `plan`, towards the rules the
/// repair installs: the same `--rules` and `--policy` (and `--url`, when it did not come from
/// `$DATABASE_URL`; a password in it is shown as `***`), plus `--include-restricted` when a
/// blocking FK is RESTRICT or NO ACTION (prune would only report those orphans otherwise).
fn prune_command(cli: &Cli, args: &RepairArgs, expected: &RuleGraph, plan: &RepairPlan) -> String {
    let mut words = vec!["cascade".to_owned(), "orphans".to_owned()];
    let from_env = std::env::var("DATABASE_URL").ok();
    let implicit = match &from_env {
        Some(env) => *env == cli.url,
        None => cli.url == DEFAULT_URL,
    };
    if !implicit {
        words.extend(["--url".to_owned(), shell_word(&redact(&cli.url))]);
    }
    if cli.source() == RulesSource::Live {
        words.extend(["--rules".to_owned(), "live".to_owned()]);
    }
    for policy in &args.policies {
        words.extend(["--policy".to_owned(), shell_word(&policy.to_string())]);
    }
    words.push("--prune".to_owned());
    let restricted = |blocker: &Blocker| {
        expected.foreign_keys().any(|(table, fk)| {
            fk.describe(&table.name) == blocker.foreign_key
                && matches!(
                    plan.dialect.effective_action(fk.on_delete),
                    FkAction::Restrict | FkAction::NoAction
                )
        })
    };
    if plan.blockers.iter().any(restricted) {
        words.push("--include-restricted".to_owned());
    }
    words.join(" ")
}

/// `word` as one shell word: bare when it holds only characters no shell treats specially,
/// single-quoted otherwise.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-=:,./@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What the human report says beyond the plan.
struct Human<'a> {
    applied: bool,
    remaining: Option<usize>,
    up_sql: &'a str,
    prune_command: Option<&'a str>,
}

fn write_human(
    plan: &RepairPlan,
    args: &RepairArgs,
    human: &Human<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Human {
        applied,
        remaining,
        up_sql,
        prune_command,
    } = *human;
    if !plan.unrepaired.is_empty() {
        writeln!(
            out,
            "{} drift item(s) are not FK drift (tables, columns, keys) and are left to a schema \
             migration; see `cascade audit`",
            plan.unrepaired.len()
        )?;
    }
    if plan.is_empty() {
        writeln!(out, "{}: nothing to repair", plan.dialect)?;
        return Ok(());
    }
    let mut grid = render::grid(&["table", "change"]);
    for change in &plan.changes {
        grid.add_row([change.table.clone(), change.describe()]);
    }
    for validation in &plan.validations {
        grid.add_row([validation.table.clone(), validation.describe()]);
    }
    for index in &plan.indexes {
        grid.add_row([
            index.table.clone(),
            format!("create index {} ({})", index.name, index.columns.join(", ")),
        ]);
    }
    writeln!(out, "{grid}")?;
    for blocker in &plan.blockers {
        writeln!(
            out,
            "blocked: {} has {} orphan row(s)",
            blocker.foreign_key, blocker.orphans
        )?;
    }
    if let Some(command) = prune_command {
        writeln!(
            out,
            "prune them first (as the repaired rules would), then repair again:\n  {command}"
        )?;
    }
    if let Some(dir) = &args.out {
        writeln!(out, "wrote {0}/up.sql and {0}/down.sql", dir.display())?;
    } else if !args.apply {
        writeln!(out, "{up_sql}")?;
    }
    match (args.apply, applied, remaining) {
        (true, true, Some(0)) => writeln!(out, "applied; verified: nothing left to repair")?,
        (true, true, Some(n)) => writeln!(out, "applied, but {n} change(s) remain")?,
        (true, false, _) => writeln!(out, "not applied: nothing was changed")?,
        _ => {}
    }
    Ok(())
}
