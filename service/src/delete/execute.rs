//! Carrying out a planned delete. ORM mode: one UPDATE per SET NULL / SET DEFAULT edge (by the
//! keys the plan materialised), then one DELETE per table, children before parents, all keyed by
//! the work tables; it relies on nothing the database enforces. DB mode: the native DELETE of the
//! root rows, the engine's own cascade, its error mapped to a refusal kind.

use entity::RuleGraph;
use entity::rules::FkAction;
use sea_orm::{ConnectionTrait, DbErr};

use super::closure::Closure;
use super::effects::EdgeEffect;
use super::report::{DeleteError, Refusal};
use super::selection::Selection;
use super::session::Session;

pub(crate) async fn apply_orm(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &[EdgeEffect],
) -> Result<(), DeleteError> {
    for effect in effects.iter().filter(|e| e.survivors > 0) {
        let (Some(work), Some(child)) = (&effect.update_table, graph.table(&effect.child)) else {
            continue;
        };
        let assignments: Vec<String> = effect
            .columns
            .iter()
            .map(|column| {
                let value = match effect.action {
                    FkAction::SetDefault => s
                        .engine
                        .default_value_sql(child.column(column).and_then(|c| c.default.as_ref())),
                    _ => "NULL".to_owned(),
                };
                format!("{} = {value}", s.q(column))
            })
            .collect();
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            s.q(&child.name),
            assignments.join(", "),
            key_in(s, &child.primary_key, work)
        );
        if let Err(error) = s.exec(&sql).await {
            return Err(engine_refusal(s, error, &child.name));
        }
    }
    let order = graph.dependency_order();
    for table in order.iter().rev() {
        let Some(work) = closure.tables.get(*table).filter(|w| w.deleted > 0) else {
            continue;
        };
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            s.q(table),
            key_in(s, &work.key, &work.name)
        );
        s.exec(&sql).await?;
    }
    Ok(())
}

/// `(k1, k2) IN (SELECT k1, k2 FROM work)`.
fn key_in(s: &Session<'_>, key: &[String], work: &str) -> String {
    let names = s.names(key);
    let left = if key.len() == 1 {
        names.clone()
    } else {
        format!("({names})")
    };
    format!("{left} IN (SELECT {names} FROM {})", s.q(work))
}

/// The native DELETE; an engine refusal becomes `DeleteError::Refused` with the engine's words.
pub(crate) async fn apply_native(
    s: &mut Session<'_>,
    root: &str,
    selection: &Selection,
    key: &[String],
) -> Result<u64, DeleteError> {
    let statement = selection.delete_statement(s.txn.get_database_backend(), root, key);
    let outcome = async {
        let rows = s
            .exec_with(
                &statement.sql,
                statement.values.map(|v| v.0).unwrap_or_default(),
            )
            .await?;
        if let Some(check) = s.engine.check_deferred() {
            s.exec(check).await?;
        }
        Ok::<u64, sea_orm::DbErr>(rows)
    }
    .await;
    outcome.map_err(|error| engine_refusal(s, error, root))
}

/// A database error that is a refusal (a constraint the engine enforces) as a typed refusal.
pub(crate) fn engine_refusal(s: &Session<'_>, error: DbErr, table: &str) -> DeleteError {
    match s.engine.classify(&error) {
        Some(kind) => DeleteError::Refused(Box::new(Refusal {
            kind,
            also: Vec::new(),
            table: table.to_owned(),
            foreign_key: None,
            rows: 0,
            sample_keys: Vec::new(),
            path: Vec::new(),
            message: format!("the database refused: {error}"),
        })),
        None => DeleteError::Db(error),
    }
}
