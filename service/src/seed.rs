//! Deterministic fixture data for the shipped domain: `cascade seed --scale N --seed S`.
//!
//! The *shape* (which rows hang under which parent) is domain knowledge and lives here; column
//! values are filled generically from the RuleGraph by column kind, so adding a column to an
//! entity needs no change here. The same scale and seed always give the same rows. Rows go in
//! with multi-row INSERTs inside one transaction, sized under every backend's parameter limit.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use entity::rules::{ColumnKind, RuleGraph, Table};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::sea_query::{Alias, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use thiserror::Error;

/// Rows in one project's subtree, labels included (see [`shape`]); sizes the project count.
const ROWS_PER_PROJECT: usize = 50;
/// The largest number of bound parameters one INSERT may carry on every backend (SQLite's
/// default limit is 32766).
const MAX_PARAMS_PER_STATEMENT: usize = 30_000;

#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    /// About how many rows to insert, across all tables.
    pub scale: usize,
    pub seed: u64,
    /// Draw a progress bar on stderr (when it is a terminal).
    pub progress: bool,
}

#[derive(Debug, Error)]
pub enum SeedError {
    #[error("table `{0}` is missing: run `cascade migrate up` first")]
    MissingTable(String),
    #[error(
        "table `{table}` already holds rows; seed needs empty tables (`cascade migrate fresh`)"
    )]
    NotEmpty { table: String },
    #[error("scale must be at least 1")]
    ZeroScale,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Rows inserted per table, in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub rows: BTreeMap<String, u64>,
}

impl SeedReport {
    pub fn total(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// One fixture row: its key and the FK values the shape chose; other columns are filled later.
pub(crate) struct FixtureRow {
    uid: String,
    links: Vec<(&'static str, Option<String>)>,
}

/// Inserts the fixture graph into the (empty, migrated) domain schema of `db`.
pub async fn seed(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    options: SeedOptions,
) -> Result<SeedReport, SeedError> {
    if options.scale == 0 {
        return Err(SeedError::ZeroScale);
    }
    check_empty(db, graph).await?;
    let fixtures = shape(graph, options);
    Ok(load(db, graph, &fixtures, options.seed, options.progress).await?)
}

/// Inserts `fixtures` in dependency order, in one transaction, with a progress bar on large
/// loads when `progress` is set.
pub(crate) async fn load(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    fixtures: &BTreeMap<String, Vec<FixtureRow>>,
    seed: u64,
    progress: bool,
) -> Result<SeedReport, DbErr> {
    let total: u64 = fixtures.values().map(|rows| rows.len() as u64).sum();
    let bar = progress_bar(progress && total >= 10_000, total);
    let txn = db.begin().await?;
    let mut report = SeedReport::default();
    for name in graph.dependency_order() {
        let (Some(table), Some(rows)) = (graph.table(name), fixtures.get(name)) else {
            continue;
        };
        insert_rows(&txn, table, rows, seed, &bar).await?;
        report.rows.insert(name.to_owned(), rows.len() as u64);
    }
    txn.commit().await?;
    bar.finish_and_clear();
    Ok(report)
}

async fn check_empty(db: &DatabaseConnection, graph: &RuleGraph) -> Result<(), SeedError> {
    let live = migration::introspect(db)
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    for name in graph.tables.keys() {
        if live.table(name).is_none() {
            return Err(SeedError::MissingTable(name.clone()));
        }
        let probe = Query::select()
            .expr(sea_orm::sea_query::Expr::val(1))
            .from(Alias::new(name))
            .limit(1)
            .to_owned();
        if db.query_one(&probe).await?.is_some() {
            return Err(SeedError::NotEmpty {
                table: name.clone(),
            });
        }
    }
    Ok(())
}

/// Fixture rows per table, in insertion order.
#[derive(Default)]
pub(crate) struct Fixtures(pub(crate) BTreeMap<String, Vec<FixtureRow>>);

impl Fixtures {
    /// Adds a row to `table` with the given FK values and returns its `uid`.
    pub(crate) fn add(
        &mut self,
        table: &str,
        links: Vec<(&'static str, Option<String>)>,
    ) -> String {
        let rows = self.0.entry(table.to_owned()).or_default();
        let uid = format!("{table}-{:07}", rows.len() + 1);
        rows.push(FixtureRow {
            uid: uid.clone(),
            links,
        });
        uid
    }
}

/// Decides every row and its parents. Deterministic in (scale, seed).
fn shape(graph: &RuleGraph, options: SeedOptions) -> BTreeMap<String, Vec<FixtureRow>> {
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut rows = Fixtures::default();
    let projects = options.scale.div_ceil(ROWS_PER_PROJECT).max(1);
    let users: Vec<String> = (0..(projects / 4).max(1) + 1)
        .map(|_| rows.add("user", vec![]))
        .collect();
    // One row in ten has lost its owner already.
    let owner = |rng: &mut fastrand::Rng| -> Option<String> {
        (rng.u8(..10) != 0).then(|| users[rng.usize(..users.len())].clone())
    };
    for _ in 0..projects {
        let project = rows.add("project", vec![("owner_id", owner(&mut rng))]);
        let in_project = |rng: &mut fastrand::Rng| {
            vec![
                ("project_id", Some(project.clone())),
                ("owner_id", owner(rng)),
            ]
        };
        for (table, count) in [
            ("data_source", 2),
            ("dataset", 3),
            ("prompt", 3),
            ("document", 8),
        ] {
            for _ in 0..count {
                rows.add(table, in_project(&mut rng));
            }
        }
        let models: Vec<String> = (0..2)
            .map(|_| rows.add("model", in_project(&mut rng)))
            .collect();
        let mut workflows = Vec::new();
        for _ in 0..2 {
            let workflow = rows.add("workflow", in_project(&mut rng));
            let under_workflow = |rng: &mut fastrand::Rng| {
                vec![
                    ("workflow_id", Some(workflow.clone())),
                    ("owner_id", owner(rng)),
                ]
            };
            let schedule = rows.add("schedule", under_workflow(&mut rng));
            for _ in 0..4 {
                let mut links = under_workflow(&mut rng);
                links.push(("schedule_id", rng.bool().then(|| schedule.clone())));
                rows.add("run", links);
            }
            for _ in 0..2 {
                rows.add("session", under_workflow(&mut rng));
            }
            workflows.push(workflow);
        }
        for _ in 0..2 {
            let mut links = in_project(&mut rng);
            links.push((
                "workflow_id",
                rng.bool().then(|| workflows[rng.usize(..2)].clone()),
            ));
            links.push((
                "model_id",
                rng.bool().then(|| models[rng.usize(..2)].clone()),
            ));
            rows.add("deployment", links);
        }
    }
    // Labels on about one row in four of every table that has a label table.
    let parents: Vec<(String, Vec<String>)> = rows
        .0
        .iter()
        .map(|(table, r)| {
            (
                format!("{table}_label"),
                r.iter().map(|r| r.uid.clone()).collect(),
            )
        })
        .filter(|(label_table, _)| graph.table(label_table).is_some())
        .collect();
    for (label_table, uids) in parents {
        for uid in uids.into_iter().filter(|_| rng.u8(..4) == 0) {
            rows.add(&label_table, vec![("parent_id", Some(uid))]);
        }
    }
    rows.0
}

async fn insert_rows(
    db: &impl ConnectionTrait,
    table: &Table,
    rows: &[FixtureRow],
    seed: u64,
    bar: &ProgressBar,
) -> Result<(), DbErr> {
    let columns: Vec<Alias> = table.columns.iter().map(|c| Alias::new(&c.name)).collect();
    let per_statement = (MAX_PARAMS_PER_STATEMENT / columns.len().max(1)).clamp(1, 1000);
    let mut rng = fastrand::Rng::with_seed(seed ^ fxhash(&table.name));
    for chunk in rows.chunks(per_statement) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(&table.name))
            .columns(columns.clone());
        for row in chunk {
            let values: Vec<Value> = table
                .columns
                .iter()
                .map(|column| match column.name.as_str() {
                    "uid" => row.uid.clone().into(),
                    name => match row.links.iter().find(|(c, _)| *c == name) {
                        Some((_, link)) => Value::String(link.clone()),
                        None => filler(&column.kind, &row.uid, &mut rng),
                    },
                })
                .collect();
            insert
                .values(values.into_iter().map(Into::into))
                .map_err(|e| DbErr::Custom(format!("building insert: {e}")))?;
        }
        db.execute(&insert).await?;
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}

/// A plausible value of `kind` for row `uid`.
fn filler(kind: &ColumnKind, uid: &str, rng: &mut fastrand::Rng) -> Value {
    let base = NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MIN);
    match kind {
        ColumnKind::String(len) => {
            let mut text = format!("{uid}-{}", rng.u32(..10_000));
            text.truncate(len.unwrap_or(255) as usize);
            text.into()
        }
        ColumnKind::Text => format!("text of {uid}").into(),
        ColumnKind::Integer | ColumnKind::BigInteger => rng.i64(0..1_000_000).into(),
        ColumnKind::Float => rng.f64().into(),
        ColumnKind::Boolean => rng.bool().into(),
        ColumnKind::Json => serde_json::json!({ "source": uid, "n": rng.u32(..100) }).into(),
        ColumnKind::Timestamp => (base + TimeDelta::seconds(rng.i64(0..31_536_000))).into(),
        ColumnKind::Other(_) => Value::String(None),
    }
}

/// A stable hash of a table name (std's hasher is randomly keyed per process).
fn fxhash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("seeding {bar:40} {pos}/{len} rows ({per_sec}, eta {eta})")
    {
        bar.set_style(style);
    }
    bar
}
