//! The `cascade` command line as a library. An app builds its own `cascade` binary in a few lines
//! by handing its registry (and optionally its migrator, fixture shape and benchmark workloads)
//! to [`main`]:
//!
//! ```no_run
//! # mod app { pub fn registry() -> cascade_entity::Registry { cascade_entity::Registry::new() } }
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     cascade_cli::main(cascade_cli::App::new(app::registry())).await
//! }
//! ```
//!
//! Each command lives in its own module, writes its report to the given output (stdout in the
//! binary, a buffer in tests) and returns whether it found something (exit 1) or not (exit 0);
//! errors become exit 2 in [`run_args`], which [`main`] calls. Clap types and terminal rendering
//! live here only.
//!
//! Exit codes are a contract users' scripts rely on: [`EXIT_CODES`] states it, `--help` prints
//! it and the README repeats it verbatim (a test holds the three together).

#![warn(missing_docs, unreachable_pub)]

mod app;
mod audit;
mod bench;
mod delete;
mod demo;
mod docs;
mod errors;
mod export;
pub(crate) mod lint;
mod migrate;
mod orphans;
mod progress;
mod render;
mod repair;
mod rules;
mod seed;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use sea_orm::DatabaseConnection;

use cascade_service::connect::{self, DEFAULT_URL, Enforce};
use cascade_service::rules_source::RulesSource;

pub use app::{App, FixtureShape};

/// The command line: global options and one command.
#[derive(Debug, Parser)]
#[command(
    name = "cascade",
    version,
    about = "Delete rules declared once on SeaORM entities, enforced by the database and by the \
             ORM, proven to agree.",
    long_about = "Delete rules declared once on SeaORM entities, enforced by the database and by \
                  the ORM, proven to agree.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Database URL: sqlite://PATH[?mode=rwc], postgres://USER@HOST:PORT/DB or
    /// mysql://USER@HOST:PORT/DB. Defaults to $DATABASE_URL, else the embedded SQLite file.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// Where the rules come from: the entity declarations, or the live database's own FKs.
    #[arg(long, global = true, value_enum, default_value_t = RulesArg::Declared)]
    pub rules: RulesArg,
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// What each exit code means, as `--help` prints it.
pub const EXIT_CODES: &str = "Exit codes:\n  \
    0  success, or nothing found (a selection no row matches: nothing to delete; a closed \
    stdout, as in `cascade ... | head`)\n  \
    1  a finding: drift, a schema defect, a mismatch, a lint error, orphans, a refused delete\n  \
    2  usage error (bad arguments or input), connection error, or internal error";

/// The commands of `cascade`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Main job on the embedded default: migrate a fresh SQLite database, seed it, and print
    /// every table with its declared delete rules and row count.
    Demo(demo::DemoArgs),
    /// Apply, roll back or inspect the schema migration derived from the declarations.
    Migrate(migrate::MigrateArgs),
    /// Insert the deterministic fixture graph of the domain into an empty, migrated database.
    Seed(seed::SeedArgs),
    /// Print the rule graph: declared (no database needed) or the live database's (--rules live).
    Rules,
    /// Lint the rules (declared, or the live database's) under stable rule ids; exit 1 on errors.
    Lint(lint::LintArgs),
    /// Generate the schema docs: per-table FKs, what deleting each table does, the
    /// delete-behaviour matrix and a Mermaid ER diagram.
    Docs(docs::DocsArgs),
    /// Preview a delete: rows deleted per table, rows nulled/defaulted per FK, cascade depth,
    /// or the refusal with blocking keys and path. Changes nothing.
    Plan(delete::TargetArgs),
    /// Delete the selected rows with their cascade, in one transaction (ORM or native mode).
    Delete(delete::DeleteArgs),
    /// Run the delete natively and through the ORM executor (enforcement off) on the same data,
    /// compare outcomes and every table, roll both back; exit 1 on a mismatch.
    Verify(delete::TargetArgs),
    /// Measure the ORM-level cascade against the database's own and the naive row-by-row
    /// baseline on identical fresh copies (wall time, statements, peak RSS).
    Bench(bench::BenchArgs),
    /// Compare the live database with the rules (declared, or --rules live with owner=
    /// policies): missing/extra/different FKs and actions, missing FK indexes; exit 1 on drift.
    Audit(audit::AuditArgs),
    /// The idempotent migration (up.sql/down.sql) that removes FK drift; --apply runs it.
    Repair(repair::RepairArgs),
    /// Rows whose parent is missing, per relation (FK or not); --prune repairs them.
    Orphans(orphans::OrphansArgs),
    /// One owner's rows (the owner row, everything that belongs to it by the rules) into a new
    /// SQLite file, leaking nothing of other owners; checked before it is written.
    Export(export::ExportArgs),
}

/// `--rules`: where the rules come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesArg {
    /// The app's entity declarations.
    Declared,
    /// The database's own foreign keys, introspected.
    Live,
}

impl From<RulesArg> for RulesSource {
    fn from(arg: RulesArg) -> RulesSource {
        match arg {
            RulesArg::Declared => RulesSource::Declared,
            RulesArg::Live => RulesSource::Live,
        }
    }
}

/// What a successful command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success, or nothing found: exit 0.
    Clean,
    /// A finding (drift, mismatch, orphans, a refused delete): exit 1.
    Finding,
}

impl Status {
    /// The exit code: 0 clean, 1 a finding.
    pub fn code(self) -> u8 {
        match self {
            Status::Clean => 0,
            Status::Finding => 1,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// Exit code of usage, connection and internal errors.
pub const ERROR_EXIT: u8 = 2;

/// Parses the process's arguments, runs the command for `app` with its report on stdout and any
/// error on stderr, and returns the exit code (see the crate docs).
pub async fn main(app: App) -> ExitCode {
    // How to run this very command again: `bench` runs each timed method in a child process.
    if let Ok(program) = std::env::current_exe() {
        let command = std::iter::once(program.into_os_string())
            .chain(std::env::args_os().skip(1))
            .collect();
        let _ = bench::REEXEC.set(command);
    }
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    ExitCode::from(run_args(&app, std::env::args_os(), &mut stdout, &mut stderr).await)
}

/// Runs `cascade ARGS...` for `app` exactly as the binary does (`args` starts with the program
/// name): `--help`, `--version` and usage errors from clap, the command's report to `out`, any
/// error printed once to `err`. Returns the exit code: 0, 1 or 2 (see the crate docs). A closed
/// `out` (`cascade ... | head`) ends the command early and is not an error.
pub async fn run_args<I, T>(app: &App, args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` go to stdout and succeed (also into a closed pipe);
            // usage errors go to stderr and exit 2 whether or not they could be written.
            return if e.use_stderr() {
                let _ = write_usage(err, &e);
                ERROR_EXIT
            } else {
                let _ = write_usage(out, &e);
                0
            };
        }
    };
    let result = match run(app, cli, out).await {
        Ok(status) => out.flush().map(|()| status).map_err(anyhow::Error::from),
        Err(error) => Err(error),
    };
    match result {
        Ok(status) => status.code(),
        Err(error) if errors::is_broken_pipe(&error) => 0,
        Err(error) => {
            let _ = writeln!(err, "error: {}", errors::render(&error));
            ERROR_EXIT
        }
    }
}

/// Runs one command for `app`, writing its report to `out`.
pub async fn run(app: &App, cli: Cli, out: &mut dyn Write) -> anyhow::Result<Status> {
    match &cli.command {
        Command::Demo(args) => demo::run(app, &cli, args, out).await,
        Command::Migrate(args) => migrate::run(app, &cli, args, out).await,
        Command::Seed(args) => seed::run(app, &cli, args, out).await,
        Command::Rules => rules::run(app, &cli, out).await,
        Command::Lint(args) => lint::run(app, &cli, args, out).await,
        Command::Docs(args) => docs::run(app, &cli, args, out).await,
        Command::Plan(args) => delete::run_plan(app, &cli, args, out).await,
        Command::Delete(args) => delete::run_delete(app, &cli, args, out).await,
        Command::Verify(args) => delete::run_verify(app, &cli, args, out).await,
        Command::Bench(args) => bench::run_bench(app, &cli, args, out).await,
        Command::Audit(args) => audit::run(app, &cli, args, out).await,
        Command::Repair(args) => repair::run(app, &cli, args, out).await,
        Command::Orphans(args) => orphans::run(app, &cli, args, out).await,
        Command::Export(args) => export::run(app, &cli, args, out).await,
    }
}

impl Cli {
    /// Where the rules come from.
    pub fn source(&self) -> RulesSource {
        self.rules.into()
    }

    /// The rules the command works from: the app's declarations, or `db`'s own FKs.
    pub async fn graph(
        &self,
        app: &App,
        db: &DatabaseConnection,
    ) -> anyhow::Result<cascade_entity::RuleGraph> {
        Ok(cascade_service::rules_source::load(self.source(), app.registry(), db).await?)
    }

    /// The rules, connecting only when they are the live database's.
    pub async fn graph_maybe_offline(
        &self,
        app: &App,
    ) -> anyhow::Result<cascade_entity::RuleGraph> {
        match self.rules {
            RulesArg::Declared => Ok(app.registry().rules()?),
            RulesArg::Live => self.graph(app, &self.connect().await?).await,
        }
    }

    /// Connects to `--url` with FK enforcement on.
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        Ok(connect::connect(&self.url, Enforce::On).await?)
    }
}

/// Clap's message (help, version or a usage error), as plain text.
fn write_usage(target: &mut dyn Write, error: &clap::Error) -> std::io::Result<()> {
    write!(target, "{}", error.render())?;
    target.flush()
}

/// Writes `value` as pretty JSON followed by a newline. The text is built first, so a failing
/// write (a closed stdout) surfaces as the `io::Error` it is.
pub(crate) fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(())
}
