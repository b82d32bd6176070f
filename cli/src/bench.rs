//! `cascade bench`: db vs orm (engine actions suspended, and kept on) vs batched vs naive (and the plan preview), side by side, on identical fresh
//! copies; a table and the JSON report of DESIGN.md. Exit 1 when the methods' final tables differ.

use std::io::Write;
use std::sync::Arc;

use clap::Args;

use super::{App, Cli, Status, write_json};
use crate::lint::DialectArg;
use crate::progress::Bar;
use crate::render;
use cascade_service::bench::{BenchOptions, Method, run};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// About how many rows the deleted project's subtree (W1) or the user's rows (W2) hold.
    #[arg(long, default_value_t = 10_000)]
    pub scale: usize,
    /// Backend to measure; without --url a scratch SQLite file or a scratch database on the
    /// local server is used and dropped afterwards.
    #[arg(long, value_enum, default_value_t = DialectArg::Sqlite)]
    pub backend: DialectArg,
    /// The app's workload to run (by name, e.g. w1); all of them when not given.
    #[arg(long)]
    pub workload: Option<String>,
    /// Runs per method (the median is reported); the naive method runs once.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Statements the naive method may issue before it stops and is extrapolated.
    #[arg(long, default_value_t = 20_000)]
    pub naive_cap: u64,
    /// Time every method in this process instead of one child process per run (the peak RSS
    /// then includes the loaded workload).
    #[arg(long)]
    pub in_process: bool,
    /// Rows per transaction of the batched method.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_rows: u64,
    /// The methods to run, comma-separated (`db` always runs: every ratio is to it); all of
    /// them when not given.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub methods: Vec<MethodArg>,
}

/// A bench method as the command line names it (as `--json` spells it).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum MethodArg {
    /// The database's own cascade.
    Db,
    /// Our executor (engine actions suspended where that pays).
    Orm,
    /// Our executor with the engine's own actions kept on.
    OrmActionsOn,
    /// Our executor in batches of `--batch-rows`.
    Batched,
    /// The preview with exact counts.
    Plan,
    /// Row by row, as a naive ORM loop does.
    Naive,
}

impl From<MethodArg> for Method {
    fn from(method: MethodArg) -> Method {
        match method {
            MethodArg::Db => Method::Db,
            MethodArg::Orm => Method::Orm,
            MethodArg::OrmActionsOn => Method::OrmActionsOn,
            MethodArg::Batched => Method::Batched,
            MethodArg::Plan => Method::Plan,
            MethodArg::Naive => Method::Naive,
        }
    }
}

/// The binary's own command line (set by `main`, not by in-process runs such as tests): how a
/// bench re-runs itself to time one method in a child process.
pub(crate) static REEXEC: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();

pub(super) async fn run_bench(
    app: &App,
    cli: &Cli,
    args: &BenchArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let graph = app.registry().rules()?;
    // A child process started by the bench below: time the one method it names.
    if let Some(measured) = cascade_service::bench::run_child(&graph).await {
        writeln!(out, "{}", serde_json::to_string(&measured?)?)?;
        return Ok(Status::Clean);
    }
    let url_given = cli.url != cascade_service::connect::DEFAULT_URL
        && std::env::var("DATABASE_URL").ok().as_deref() != Some(cli.url.as_str());
    let workloads: Vec<_> = app
        .workloads()
        .iter()
        .filter(|w| args.workload.as_deref().is_none_or(|name| w.name() == name))
        .cloned()
        .collect();
    if workloads.is_empty() {
        let known: Vec<&str> = app.workloads().iter().map(|w| w.name()).collect();
        anyhow::bail!(
            "no benchmark workload {}; this app defines: {}",
            args.workload.as_deref().unwrap_or_default(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    }
    let options = BenchOptions {
        scale: args.scale,
        backend: args.backend.into(),
        workloads,
        repeats: args.repeats,
        url: url_given.then(|| cli.url.clone()),
        naive_cap: args.naive_cap,
        batch_rows: args.batch_rows,
        progress: Arc::new(Bar::new(cli.json)),
        isolate: (!args.in_process).then(|| REEXEC.get().cloned()).flatten(),
        methods: args.methods.iter().map(|m| Method::from(*m)).collect(),
    };
    let report = run(&graph, &options).await?;
    if cli.json {
        write_json(out, &report)?;
    } else {
        let mut grid = render::grid(&[
            "backend",
            "workload",
            "method",
            "median s",
            "ratio to db",
            "statements",
            "peak RSS MiB",
            "RSS growth MiB",
            "rows affected",
            "longest txn s",
        ]);
        for r in &report.results {
            grid.add_row([
                r.backend.to_string(),
                r.workload.clone(),
                format!(
                    "{}{}",
                    // The method as `--json` spells it (`orm_actions_on`).
                    serde_json::to_value(r.method)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    if r.extrapolated {
                        " (extrapolated)"
                    } else {
                        ""
                    }
                ),
                format!("{:.4}", r.median_s),
                format!("{:.3}", r.ratio_to_db),
                if r.method == Method::Plan {
                    "-".into()
                } else {
                    r.statements.to_string()
                },
                format!("{:.1}", r.peak_rss_bytes as f64 / 1_048_576.0),
                format!("{:.1}", r.rss_growth_bytes as f64 / 1_048_576.0),
                r.rows_affected.to_string(),
                if r.method == Method::Plan {
                    "-".into()
                } else {
                    format!("{:.4}", r.longest_transaction_s)
                },
            ]);
        }
        writeln!(out, "{grid}")?;
        writeln!(
            out,
            "{}",
            if report.tables_identical {
                "all methods left identical tables".to_owned()
            } else {
                format!("TABLES DIFFER: {}", report.mismatches.join("; "))
            }
        )?;
    }
    Ok(if report.tables_identical {
        Status::Clean
    } else {
        Status::Finding
    })
}
