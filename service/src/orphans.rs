//! Orphan scan and prune: per relation of a rule graph (DB-enforced FK or ORM-only), the rows
//! whose fully non-NULL reference matches no parent row, counted and sampled by the engine's own
//! matching (see `cascade_migration::orphan_query`); and their repair as the database would have done it,
//! had enforcement been on when the parent went.
//!
//! Prune runs in one transaction, set-based, to a fixpoint: CASCADE orphans are deleted (their
//! DB-enforced children follow through the database's own actions, ORM-only children become
//! orphans of the next round), SET NULL / SET DEFAULT orphans get their reference nulled /
//! defaulted, RESTRICT / NO ACTION orphans are reported, or deleted with `include_restricted`.
//! The report counts every row removed, those the database's own cascades deleted included
//! (row counts before and after, inside the transaction).

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Dialect, Enforcement, FkAction, ForeignKey, Table};
use cascade_migration::orphan_query::{count_orphans, orphan_condition, sample_orphans};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde::Serialize;
use thiserror::Error;

use crate::counts::count_all;

/// Sample keys reported per relation.
const SAMPLES: u64 = 5;
/// Prune rounds before giving up (each round removes or fixes rows, so this is only a guard).
const MAX_ROUNDS: usize = 1000;

/// Why a scan or prune failed; a failed prune changed nothing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OrphanError {
    /// A statement failed.
    #[error("orphan query failed: {0}")]
    Db(#[from] DbErr),
    /// A SET DEFAULT prune would leave the rows orphaned again.
    #[error(
        "{relation}: {rows} row(s) were set to the column default, which references no parent \
         either (the database would refuse this SET DEFAULT); rolled back"
    )]
    DefaultHasNoParent {
        /// The relation, `child(cols) -> parent(cols)`.
        relation: String,
        /// Rows set to the default.
        rows: u64,
    },
    /// Pruning kept finding new orphans (a cycle of rules); rolled back.
    #[error("prune did not reach a fixpoint after {0} rounds; rolled back")]
    NoFixpoint(usize),
}

/// The orphans of one relation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrphanSet {
    /// The child table.
    pub table: String,
    /// The relation, `child(cols) -> parent(cols)`.
    pub relation: String,
    /// The relation's ON DELETE action (what prune applies).
    pub on_delete: FkAction,
    /// Whether only the ORM enforces the relation (no database constraint).
    pub orm_only: bool,
    /// Orphaned rows.
    pub count: u64,
    /// Columns of each sample key: the child's primary key, else the reference itself.
    pub key_columns: Vec<String>,
    /// A few orphans' keys, in key order, as text.
    pub samples: Vec<Vec<Option<String>>>,
}

/// What [`scan`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanReport {
    /// Relations scanned.
    pub relations: usize,
    /// Orphans, all relations together.
    pub total: u64,
    /// Relations with at least one orphan.
    pub orphans: Vec<OrphanSet>,
}

/// What prune did to one relation's orphans (summed over rounds), or what the database's own
/// cascades deleted from one table on top of that (`by_database`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneChange {
    /// The table whose rows changed.
    pub table: String,
    /// The relation whose orphans these were; for `by_database`, the table's cascading FKs.
    pub relation: String,
    /// `deleted`, `nulled` or `defaulted`.
    pub action: &'static str,
    /// Rows changed.
    pub rows: u64,
    /// Deleted by the database's own ON DELETE CASCADE, following rows prune deleted.
    pub by_database: bool,
}

/// How [`prune`] runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PruneOptions {
    /// Delete RESTRICT / NO ACTION orphans too (otherwise they are only reported).
    pub include_restricted: bool,
    /// Do everything in the transaction, report it, then roll back.
    pub dry_run: bool,
}

/// What [`prune`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneReport {
    /// The scan before pruning.
    pub before: ScanReport,
    /// What prune changed, per relation, and what the database's cascades removed.
    pub changes: Vec<PruneChange>,
    /// The scan after pruning (in the transaction, so also meaningful for a dry run): what is
    /// left are RESTRICT / NO ACTION orphans that were not asked to be deleted.
    pub after: ScanReport,
    /// Rows removed per table, counted before and after (prune's own deletes and the
    /// database's cascades together); tables that lost none are omitted.
    pub removed: BTreeMap<String, u64>,
    /// Everything was rolled back.
    pub dry_run: bool,
}

/// Counts and samples the orphans of every relation in `graph`.
pub async fn scan(db: &impl ConnectionTrait, graph: &RuleGraph) -> Result<ScanReport, OrphanError> {
    let dialect = Dialect::from(db.get_database_backend());
    let mut relations = 0;
    let mut orphans = Vec::new();
    for (table, fk) in graph.foreign_keys() {
        relations += 1;
        let count = count(db, &table.name, fk).await?;
        if count == 0 {
            continue;
        }
        let key_columns = if table.primary_key.is_empty() {
            fk.columns.clone()
        } else {
            table.primary_key.clone()
        };
        let text = if dialect == Dialect::MySql {
            "CHAR"
        } else {
            "TEXT"
        };
        let rows = db
            .query_all(&sample_orphans(
                &table.name,
                fk,
                &key_columns,
                text,
                SAMPLES,
            ))
            .await?;
        let mut samples = Vec::with_capacity(rows.len());
        for row in rows {
            let mut key = Vec::with_capacity(key_columns.len());
            for i in 0..key_columns.len() {
                key.push(row.try_get::<Option<String>>("", &format!("k{i}"))?);
            }
            samples.push(key);
        }
        orphans.push(OrphanSet {
            table: table.name.clone(),
            relation: fk.describe(&table.name),
            on_delete: dialect.effective_action(fk.on_delete),
            orm_only: fk.enforcement == Enforcement::OrmOnly,
            count,
            key_columns,
            samples,
        });
    }
    Ok(ScanReport {
        relations,
        total: orphans.iter().map(|o| o.count).sum(),
        orphans,
    })
}

/// Repairs every relation's orphans in one transaction, to a fixpoint (see the module docs).
pub async fn prune(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    options: PruneOptions,
) -> Result<PruneReport, OrphanError> {
    prune_reporting(db, graph, options, &crate::progress::NoProgress).await
}

/// [`prune`], reporting the orphan rows repaired to `progress` (the total is the orphans the
/// first scan finds; rows the database cascades from them come on top).
pub async fn prune_reporting(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    options: PruneOptions,
    progress: &dyn crate::progress::Progress,
) -> Result<PruneReport, OrphanError> {
    let tx = db.begin().await?;
    let outcome = prune_in(&tx, graph, options, progress).await;
    progress.finish();
    match outcome {
        Ok(report) => {
            if options.dry_run {
                tx.rollback().await?;
            } else {
                tx.commit().await?;
            }
            Ok(report)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

async fn prune_in(
    db: &impl ConnectionTrait,
    graph: &RuleGraph,
    options: PruneOptions,
    progress: &dyn crate::progress::Progress,
) -> Result<PruneReport, OrphanError> {
    let dialect = Dialect::from(db.get_database_backend());
    let before = scan(db, graph).await?;
    progress.start("pruning orphans", before.total);
    let rows_before = count_all(db, graph).await?;
    let mut changes: BTreeMap<(String, String, &'static str), u64> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        let mut changed = 0;
        for (table, fk) in graph.foreign_keys() {
            let relation = fk.describe(&table.name);
            let (action, rows) = match dialect.effective_action(fk.on_delete) {
                FkAction::Cascade => ("deleted", delete(db, &table.name, fk).await?),
                FkAction::Restrict | FkAction::NoAction if options.include_restricted => {
                    ("deleted", delete(db, &table.name, fk).await?)
                }
                FkAction::Restrict | FkAction::NoAction => continue,
                FkAction::SetNull => ("nulled", set_null(db, table, fk).await?),
                FkAction::SetDefault => {
                    let rows = set_default(db, table, fk).await?;
                    if rows > 0 && count(db, &table.name, fk).await? > 0 {
                        return Err(OrphanError::DefaultHasNoParent { relation, rows });
                    }
                    ("defaulted", rows)
                }
            };
            if rows > 0 {
                *changes
                    .entry((table.name.clone(), relation, action))
                    .or_default() += rows;
                changed += rows;
                progress.advance(rows);
            }
        }
        if changed == 0 {
            let after = scan(db, graph).await?;
            let rows_after = count_all(db, graph).await?;
            let mut changes: Vec<PruneChange> = changes
                .into_iter()
                .map(|((table, relation, action), rows)| PruneChange {
                    table,
                    relation,
                    action,
                    rows,
                    by_database: false,
                })
                .collect();
            let removed: BTreeMap<String, u64> = rows_before
                .iter()
                .map(|(table, n)| {
                    let left = rows_after.get(table).copied().unwrap_or_default();
                    (table.clone(), n.saturating_sub(left))
                })
                .filter(|(_, gone)| *gone > 0)
                .collect();
            changes.extend(cascaded(graph, dialect, &removed, &changes));
            return Ok(PruneReport {
                before,
                changes,
                after,
                removed,
                dry_run: options.dry_run,
            });
        }
    }
    Err(OrphanError::NoFixpoint(MAX_ROUNDS))
}

/// Rows the database's own cascades deleted: per table, the rows removed beyond those prune
/// deleted itself.
fn cascaded(
    graph: &RuleGraph,
    dialect: Dialect,
    removed: &BTreeMap<String, u64>,
    ours: &[PruneChange],
) -> Vec<PruneChange> {
    let mut by_database = Vec::new();
    for (table, gone) in removed {
        let deleted: u64 = ours
            .iter()
            .filter(|c| &c.table == table && c.action == "deleted")
            .map(|c| c.rows)
            .sum();
        if *gone <= deleted {
            continue;
        }
        let cascading: Vec<String> = graph
            .table(table)
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| {
                        fk.enforcement == Enforcement::Database
                            && dialect.effective_action(fk.on_delete) == FkAction::Cascade
                    })
                    .map(|fk| fk.describe(table))
                    .collect()
            })
            .unwrap_or_default();
        by_database.push(PruneChange {
            table: table.clone(),
            relation: cascading.join(", "),
            action: "deleted",
            rows: gone - deleted,
            by_database: true,
        });
    }
    by_database
}

async fn count(db: &impl ConnectionTrait, table: &str, fk: &ForeignKey) -> Result<u64, DbErr> {
    let n: i64 = match db.query_one(&count_orphans(table, fk)).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n.unsigned_abs())
}

async fn delete(db: &impl ConnectionTrait, table: &str, fk: &ForeignKey) -> Result<u64, DbErr> {
    let statement = Query::delete()
        .from_table(Alias::new(table))
        .cond_where(orphan_condition(table, fk))
        .to_owned();
    Ok(db.execute(&statement).await?.rows_affected())
}

async fn set_null(db: &impl ConnectionTrait, table: &Table, fk: &ForeignKey) -> Result<u64, DbErr> {
    let columns = fk.set_null_columns.as_ref().unwrap_or(&fk.columns);
    let mut statement = Query::update();
    statement.table(Alias::new(&table.name));
    for column in columns {
        statement.value(Alias::new(column), Expr::null());
    }
    statement.cond_where(orphan_condition(&table.name, fk));
    Ok(db.execute(&statement).await?.rows_affected())
}

/// Sets the reference to each column's default (from the graph; NULL where there is none), the
/// same on every dialect (SQLite has no `SET col = DEFAULT`).
async fn set_default(
    db: &impl ConnectionTrait,
    table: &Table,
    fk: &ForeignKey,
) -> Result<u64, DbErr> {
    let mut statement = Query::update();
    statement.table(Alias::new(&table.name));
    for column in &fk.columns {
        let value = match table.column(column).and_then(|c| c.default.as_ref()) {
            Some(default) => cascade_migration::ddl::default_expr(default),
            None => Expr::null(),
        };
        statement.value(Alias::new(column), value);
    }
    statement.cond_where(orphan_condition(&table.name, fk));
    Ok(db.execute(&statement).await?.rows_affected())
}
