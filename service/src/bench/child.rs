//! One timed method in its own process, so the peak RSS it reports is the method's own (not the
//! bench process's, which also holds the generated workload).
//!
//! The parent re-runs the command that started it (`BenchOptions::isolate`) with
//! [`CHILD_ENV`] set to a [`ChildSpec`] (JSON); the app's command line sees the variable, runs
//! [`run_child`] instead of the bench, and prints the [`ChildRun`] as one JSON line. Keys travel
//! as JSON strings and integers; a key of any other type runs in-process instead.

use std::ffi::OsString;

use cascade_entity::RuleGraph;
use sea_orm::Value;
use serde::{Deserialize, Serialize};

use super::{BenchError, Method};
use crate::connect::{Enforce, connect};
use crate::delete::Selection;

/// The environment variable that makes the bench command run one method and exit.
pub const CHILD_ENV: &str = "CASCADE_BENCH_CHILD";

/// One key column's value, as it travels to the child.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum KeyValue {
    Int(i64),
    Text(String),
}

/// What the child runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildSpec {
    url: String,
    method: Method,
    table: String,
    key: Vec<KeyValue>,
    naive_cap: u64,
    batch_rows: u64,
}

/// What the child measured (its own wall time, statements and peak RSS).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildRun {
    pub(crate) seconds: f64,
    pub(crate) statements: u64,
    pub(crate) peak_rss: u64,
    pub(crate) rss_growth: u64,
    pub(crate) completed_rows: Option<u64>,
    pub(crate) longest_transaction: Option<f64>,
}

impl ChildSpec {
    /// `None` when a key value cannot travel as JSON text or integer.
    pub(crate) fn new(
        url: &str,
        method: Method,
        table: &str,
        key: &[Value],
        (naive_cap, batch_rows): (u64, u64),
    ) -> Option<ChildSpec> {
        let key = key
            .iter()
            .map(|v| match v {
                Value::String(Some(s)) => Some(KeyValue::Text(s.clone())),
                Value::BigInt(Some(i)) => Some(KeyValue::Int(*i)),
                Value::Int(Some(i)) => Some(KeyValue::Int(i64::from(*i))),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ChildSpec {
            url: url.to_owned(),
            method,
            table: table.to_owned(),
            key,
            naive_cap,
            batch_rows,
        })
    }

    fn key_values(&self) -> Vec<Value> {
        self.key
            .iter()
            .map(|v| match v {
                KeyValue::Int(i) => Value::BigInt(Some(*i)),
                KeyValue::Text(s) => Value::String(Some(s.clone())),
            })
            .collect()
    }
}

/// Runs `spec` in a child process started as `command` (program, then arguments).
pub(crate) async fn spawn(command: &[OsString], spec: &ChildSpec) -> Result<ChildRun, BenchError> {
    let setup = |e: String| BenchError::Setup(format!("bench child process: {e}"));
    let (program, args) = command
        .split_first()
        .ok_or_else(|| setup("no command".into()))?;
    let spec = serde_json::to_string(spec).map_err(|e| setup(e.to_string()))?;
    let mut child = std::process::Command::new(program);
    child.args(args).env(CHILD_ENV, spec);
    let output = tokio::task::spawn_blocking(move || child.output())
        .await
        .map_err(|e| setup(e.to_string()))?
        .map_err(|e| setup(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(setup(format!(
            "exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line).map_err(|e| setup(format!("{e} in `{stdout}`")))
}

/// In the child: when [`CHILD_ENV`] is set, runs the method it names against `graph` and
/// returns its measurements (the command line prints them as JSON); `None` otherwise.
pub async fn run_child(graph: &RuleGraph) -> Option<Result<ChildRun, BenchError>> {
    let spec = std::env::var(CHILD_ENV).ok()?;
    Some(run_spec(graph, &spec).await)
}

async fn run_spec(graph: &RuleGraph, spec: &str) -> Result<ChildRun, BenchError> {
    let spec: ChildSpec = serde_json::from_str(spec)
        .map_err(|e| BenchError::Setup(format!("bad {CHILD_ENV}: {e}")))?;
    let key = spec.key_values();
    let selection = Selection::keys([key.clone()]);
    let db = connect(&spec.url, Enforce::On).await?;
    let run = super::time_method(
        &db,
        graph,
        spec.method,
        &spec.table,
        &key,
        &selection,
        (spec.naive_cap, spec.batch_rows),
    )
    .await?;
    db.close().await?;
    Ok(run)
}
