//! The verifier: the same delete through the database's own cascade (enforcement on) and through
//! our executor (enforcement off, so it provably does all the work), each in a transaction that
//! is rolled back, then outcomes and the full contents of every table compared.

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Dialect, Enforcement};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Serialize;

use super::report::{DeleteError, DeleteMode, RefusalKind};
use super::selection::Selection;
use super::{EngineActions, Run, Stage, run};
use crate::connect::{Enforce, connect};
use crate::progress::NoProgress;
use crate::snapshot::{Row, snapshot};

/// How one side ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The delete went through.
    Deleted {
        /// Rows deleted per table.
        deleted: BTreeMap<String, u64>,
    },
    /// The delete was refused.
    Refused {
        /// Which rule refused (the engine's error class on the native side).
        kind: RefusalKind,
        /// Other refusals the model found for the same delete (see `Refusal::also`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        also: Vec<RefusalKind>,
        /// The refusal's message.
        message: String,
    },
}

/// Rows present on one side only, for one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    /// The table.
    pub table: String,
    /// Rows only the native delete left.
    pub only_native: Vec<Row>,
    /// Rows only the ORM delete left.
    pub only_orm: Vec<Row>,
}

/// The native delete and the ORM delete of the same rows, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The databases' dialect.
    pub dialect: Dialect,
    /// The table whose rows were deleted.
    pub table: String,
    /// How the database's own delete ended.
    pub native: Outcome,
    /// How our ORM-mode delete ended.
    pub orm: Outcome,
    /// Same outcome (same refusal class, or both deleted) and identical tables.
    pub matches: bool,
    /// The model refused as `order_dependent` or `unsupported`: it abstained rather than guess.
    pub abstained: bool,
    /// Differences between the database's own cascade and ours under the rules the database
    /// enforces: any is a real mismatch.
    pub diffs: Vec<TableDiff>,
    /// ORM-only rules (`skip_fk`) in the graph: the database does not enforce them, so it does
    /// less than the ORM by design.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orm_only_rules: Vec<String>,
    /// How the ORM-mode delete with the ORM-only rules ends (when there are any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_orm_only: Option<Outcome>,
    /// What the ORM-only rules change beyond the database's cascade (`only_native`: rows as
    /// the database leaves them, `only_orm`: as the ORM-only rules leave them): expected, not
    /// a mismatch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explained_by_orm_only: Vec<TableDiff>,
}

/// How the verifier runs the ORM side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OrmSide {
    /// On a connection with FK enforcement off, in a transaction that is rolled back: the
    /// executor provably does all the work.
    #[default]
    EnforcementOff,
    /// On a connection that enforces FKs, in a transaction the engine owns, with the engine's
    /// own actions suspended where safe ([`super::EngineActions::Auto`]) and the integrity
    /// check before the end; rolled back after the tables are read. Proves the fast mode.
    ActionsSuspended,
}

/// [`verify`] on the database at `url`: the native side on a connection with FK enforcement on,
/// the ORM side on one with enforcement off (so it provably does all the work).
pub async fn verify_url(
    url: &str,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
) -> Result<VerifyReport, DeleteError> {
    verify_url_with(url, graph, table, selection, OrmSide::EnforcementOff).await
}

/// [`verify_url`] with the ORM side run as `orm_side` says.
pub async fn verify_url_with(
    url: &str,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    orm_side: OrmSide,
) -> Result<VerifyReport, DeleteError> {
    let native_db = connect(url, Enforce::On).await.map_err(connect_error)?;
    let dialect = Dialect::from(native_db.get_database_backend());
    let enforce = match orm_side {
        OrmSide::EnforcementOff => Enforce::Off,
        OrmSide::ActionsSuspended => Enforce::On,
    };
    let orm_db = connect(url, enforce).await.map_err(|e| match dialect {
        Dialect::Postgres => DeleteError::EnforcementOff(e.to_string()),
        _ => connect_error(e),
    })?;
    let report = verify_with(&native_db, &orm_db, graph, table, selection, orm_side).await;
    native_db.close().await.map_err(DeleteError::Db)?;
    orm_db.close().await.map_err(DeleteError::Db)?;
    report
}

/// Runs the delete natively on `native` and through the ORM executor on `orm` (two connections
/// to the same database; give `orm` FK enforcement off to prove the executor does all the work),
/// each in a transaction that is rolled back, and compares outcomes and every table. Changes
/// nothing. `native` must enforce FKs ([`DeleteError::DbModeWithoutEnforcement`] otherwise).
pub async fn verify(
    native_db: &DatabaseConnection,
    orm_db: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
) -> Result<VerifyReport, DeleteError> {
    verify_with(
        native_db,
        orm_db,
        graph,
        table,
        selection,
        OrmSide::EnforcementOff,
    )
    .await
}

/// [`verify`] with the ORM side run as `orm_side` says.
pub async fn verify_with(
    native_db: &DatabaseConnection,
    orm_db: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    orm_side: OrmSide,
) -> Result<VerifyReport, DeleteError> {
    let dialect = Dialect::from(native_db.get_database_backend());
    if !crate::connect::enforces_foreign_keys(native_db).await? {
        return Err(DeleteError::DbModeWithoutEnforcement);
    }
    let (native, native_tables) =
        side(native_db, graph, table, selection, DeleteMode::Db, None).await?;
    // The database enforces only its own constraints: the parity claim is about those. ORM-only
    // rules (`skip_fk`) do more by design; their difference is reported apart.
    let orm_only_rules: Vec<String> = graph
        .foreign_keys()
        .filter(|(_, fk)| fk.enforcement == Enforcement::OrmOnly)
        .map(|(t, fk)| fk.describe(&t.name))
        .collect();
    let database_rules = RuleGraph {
        tables: graph
            .tables
            .iter()
            .map(|(name, t)| {
                let mut t = t.clone();
                t.foreign_keys
                    .retain(|fk| fk.enforcement == Enforcement::Database);
                (name.clone(), t)
            })
            .collect(),
    };
    let (orm, orm_tables) = side(
        orm_db,
        &database_rules,
        table,
        selection,
        DeleteMode::Orm,
        Some(orm_side),
    )
    .await?;
    let diffs = table_diffs(&native_tables, &orm_tables);
    let (with_orm_only, explained_by_orm_only) = if orm_only_rules.is_empty() {
        (None, Vec::new())
    } else {
        let (full, full_tables) = side(
            orm_db,
            graph,
            table,
            selection,
            DeleteMode::Orm,
            Some(orm_side),
        )
        .await?;
        (Some(full), table_diffs(&orm_tables, &full_tables))
    };
    let same_outcome = match (&native, &orm) {
        (Outcome::Deleted { .. }, Outcome::Deleted { .. }) => true,
        (Outcome::Refused { kind: native, .. }, Outcome::Refused { kind, also, .. }) => {
            std::iter::once(kind)
                .chain(also)
                .any(|k| k.engine_class(dialect) == native.engine_class(dialect))
        }
        _ => false,
    };
    let abstained = matches!(
        orm,
        Outcome::Refused {
            kind: RefusalKind::OrderDependent | RefusalKind::Unsupported,
            ..
        }
    );
    Ok(VerifyReport {
        dialect,
        table: table.to_owned(),
        matches: same_outcome && diffs.is_empty(),
        abstained,
        native,
        orm,
        diffs,
        orm_only_rules,
        with_orm_only,
        explained_by_orm_only,
    })
}

/// Rows present on one side only, per table (`left` is the native side's place).
fn table_diffs(
    left: &BTreeMap<String, Vec<Row>>,
    right: &BTreeMap<String, Vec<Row>>,
) -> Vec<TableDiff> {
    left.iter()
        .filter_map(|(name, rows)| {
            let other = right.get(name).cloned().unwrap_or_default();
            let only_native: Vec<Row> = rows
                .iter()
                .filter(|r| !other.contains(r))
                .cloned()
                .collect();
            let only_orm: Vec<Row> = other
                .iter()
                .filter(|r| !rows.contains(r))
                .cloned()
                .collect();
            (!only_native.is_empty() || !only_orm.is_empty()).then(|| TableDiff {
                table: name.clone(),
                only_native,
                only_orm,
            })
        })
        .collect()
}

fn connect_error(error: crate::connect::ConnectError) -> DeleteError {
    DeleteError::Db(sea_orm::DbErr::Custom(error.to_string()))
}

/// One side: run the delete inside an outer transaction (or, for the suspended ORM side, in the
/// engine's own), snapshot, roll back.
async fn side(
    db: &DatabaseConnection,
    graph: &RuleGraph,
    table: &str,
    selection: &Selection,
    mode: DeleteMode,
    orm_side: Option<OrmSide>,
) -> Result<(Outcome, BTreeMap<String, Vec<Row>>), DeleteError> {
    if orm_side == Some(OrmSide::ActionsSuspended) {
        let how = Run::new(mode, Stage::Inspect, EngineActions::Suspend);
        return match run(db, graph, table, selection, how, &NoProgress).await {
            Ok(ran) => {
                let tables = match ran.tables {
                    Some(tables) => tables,
                    None => snapshot(db, graph).await?,
                };
                Ok((
                    Outcome::Deleted {
                        deleted: ran.effect.deleted,
                    },
                    tables,
                ))
            }
            Err(DeleteError::Refused(refusal)) => {
                Ok((refused(*refusal), snapshot(db, graph).await?))
            }
            Err(other) => Err(other),
        };
    }
    let outer = db.begin().await?;
    let how = Run::new(mode, Stage::Commit, EngineActions::KeepOn);
    let outcome = match run(&outer, graph, table, selection, how, &NoProgress).await {
        Ok(ran) => Outcome::Deleted {
            deleted: ran.effect.deleted,
        },
        Err(DeleteError::Refused(refusal)) => refused(*refusal),
        Err(other) => {
            outer.rollback().await?;
            return Err(other);
        }
    };
    let tables = snapshot(&outer, graph).await?;
    outer.rollback().await?;
    Ok((outcome, tables))
}

fn refused(refusal: super::report::Refusal) -> Outcome {
    Outcome::Refused {
        kind: refusal.kind,
        also: refusal.also,
        message: refusal.message,
    }
}
