//! PostgreSQL: the root statement deletes all its rows first; referential actions are AFTER ROW
//! events in one FIFO queue, so cascades proceed in breadth-first layers (the BFS generation of
//! a row is the layer that deletes it). RESTRICT and non-deferred NO ACTION are checked when
//! their event is reached: a referencing row deleted in an earlier or the same layer is gone by
//! then, one deleted two or more layers later is still there. Within one layer the order
//! follows physical (ctid) order and trigger-name order: where that decides, the judge replays
//! the queue (`postgres/replay.rs`) over the rows involved.

mod replay;

use cascade_entity::rules::{Deferrable, FkAction};
use sea_orm::DbErr;

use super::super::effects::EdgeEffect;
use super::super::report::RefusalKind;
use super::super::simulate::world::{Replay, World};
use super::{ActionSwitch, Engine, OrderFacts, Verdict, error_code, error_text};

pub(crate) struct Postgres;

/// A temporary work table typed like `table`'s key, unique on it; `on_commit` is
/// `" ON COMMIT DROP"` or empty.
fn work_table(
    q: &dyn Fn(&str) -> String,
    name: &str,
    table: &str,
    key: &[String],
    on_commit: &str,
) -> Vec<String> {
    let cols: Vec<String> = key.iter().map(|c| q(c)).collect();
    vec![
        format!(
            "CREATE TEMP TABLE {}{on_commit} AS SELECT {}, CAST(0 AS BIGINT) AS cascade_gen \
             FROM {} WITH NO DATA",
            q(name),
            cols.join(", "),
            q(table)
        ),
        format!("CREATE UNIQUE INDEX ON {} ({})", q(name), cols.join(", ")),
    ]
}

impl Engine for Postgres {
    fn create_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String> {
        work_table(q, name, table, key, " ON COMMIT DROP")
    }

    fn drop_work_table(&self, q: &dyn Fn(&str) -> String, name: &str) -> String {
        format!("DROP TABLE IF EXISTS {}", q(name))
    }

    /// Without `ON COMMIT DROP`: a temporary table lives until the session ends.
    fn create_lasting_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String> {
        work_table(q, name, table, key, "")
    }

    fn insert_ignore(&self, into: &str, select: &str) -> String {
        format!("INSERT INTO {into} {select} ON CONFLICT DO NOTHING")
    }

    /// Created `ON COMMIT DROP`; a rolled-back transaction takes them along too.
    fn work_tables_end_with_transaction(&self) -> bool {
        true
    }

    fn parser_dialect(&self) -> &'static dyn sqlparser::dialect::Dialect {
        &sqlparser::dialect::PostgreSqlDialect {}
    }

    fn replay(&self, world: &mut World) -> Replay {
        replay::replay(world)
    }

    fn order_facts(&self) -> OrderFacts {
        OrderFacts::Triggers(
            "SELECT cl.relname::text, c.conname::text, t.tgname::text, t.tgtype::int8, \
             t.tgrelid = c.conrelid FROM pg_constraint c JOIN pg_trigger t ON t.tgconstraint = c.oid \
             JOIN pg_class cl ON cl.oid = c.conrelid WHERE c.contype = 'f' \
             AND cl.relnamespace = current_schema()::regnamespace",
        )
    }

    /// Scans visit the heap in ctid order.
    fn row_position(&self, alias: &str) -> Option<String> {
        Some(format!("{alias}.ctid"))
    }

    fn judge(&self, e: &EdgeEffect) -> Verdict {
        if e.action == FkAction::Cascade {
            return Verdict::Fine;
        }
        let deferred =
            e.deferrable == Deferrable::InitiallyDeferred && e.action == FkAction::NoAction;
        if e.survivors_fail() {
            return Verdict::Refuse(e.refusal_kind());
        }
        if deferred || !e.doomed_fail() {
            return Verdict::Fine;
        }
        if e.doomed_late > 0 {
            Verdict::Refuse(e.refusal_kind())
        } else if e.doomed_next_layer > 0 {
            Verdict::Refuse(RefusalKind::OrderDependent)
        } else {
            Verdict::Fine
        }
    }

    fn classify(&self, error: &DbErr) -> Option<RefusalKind> {
        // SQLSTATE class 23 (integrity constraint violation) and 54001 (stack depth).
        match error_code(error)?.as_str() {
            // One code for both directions of an FK violation; the server says which.
            "23503" if error_text(error).contains("insert or update on table") => {
                Some(RefusalKind::FkMissingParent)
            }
            "23503" => Some(RefusalKind::Restrict),
            "23502" => Some(RefusalKind::NotNull),
            "23514" => Some(RefusalKind::Check),
            "23505" => Some(RefusalKind::Unique),
            "54001" => Some(RefusalKind::CascadeDepth),
            _ => None,
        }
    }

    fn refusing_depth(&self) -> Option<u32> {
        None
    }

    fn check_deferred(&self) -> Option<&'static str> {
        Some("SET CONSTRAINTS ALL IMMEDIATE")
    }

    /// REPEATABLE READ is a snapshot for every statement, `INSERT ... SELECT` included.
    fn consistent_read_isolation(&self) -> Option<sea_orm::IsolationLevel> {
        Some(sea_orm::IsolationLevel::RepeatableRead)
    }

    /// A read-only transaction may still write temporary tables (not create them).
    fn read_only_from_here(&self) -> Option<&'static str> {
        Some("SET TRANSACTION READ ONLY")
    }

    /// `SET LOCAL` ends with the transaction. Replica mode also silences user triggers and
    /// rules, so it is used only when none exists on a changed table, and only by a superuser
    /// (a role granted the parameter on PostgreSQL 15 is not detected: actions stay on).
    fn action_switch(&self) -> Option<ActionSwitch> {
        Some(ActionSwitch::Local {
            off: "SET LOCAL session_replication_role = replica",
        })
    }

    fn may_switch_actions(&self, tables: &[String]) -> Option<(String, Vec<sea_orm::Value>)> {
        let list: Vec<String> = (1..=tables.len()).map(|n| self.placeholder(n)).collect();
        let list = list.join(", ");
        let in_schema = "c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = \
                         current_schema())";
        let sql = format!(
            "SELECT current_setting('is_superuser') = 'on' AND NOT EXISTS (SELECT 1 FROM \
             pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND \
             {in_schema} AND c.relname IN ({list})) AND NOT EXISTS (SELECT 1 FROM pg_rewrite r \
             JOIN pg_class c ON c.oid = r.ev_class WHERE r.rulename <> '_RETURN' AND {in_schema} \
             AND c.relname IN ({list}))"
        );
        let values = tables.iter().map(|t| sea_orm::Value::from(t.clone()));
        Some((sql, values.collect()))
    }

    /// `FOR UPDATE` (what a DELETE takes) conflicts with every row lock, `FOR KEY SHARE`
    /// included; no aggregate may carry a locking clause, so the count wraps it.
    fn lock_for_delete(&self, from_where: &str) -> Option<String> {
        Some(format!(
            "SELECT COUNT(*) FROM (SELECT 1 {from_where} FOR UPDATE) AS cascade_locked"
        ))
    }

    /// `FOR KEY SHARE`: what an FK check takes on the parent row; blocks its DELETE, not its
    /// updates of non-key columns.
    fn lock_against_delete(&self, from_where: &str) -> String {
        format!("SELECT COUNT(*) FROM (SELECT 1 {from_where} FOR KEY SHARE) AS cascade_locked")
    }

    /// READ COMMITTED: each statement sees the rows committed before it started, so the
    /// children a writer committed while the delete waited for its parent's lock are read by
    /// the next generation's statement (a REPEATABLE READ snapshot would miss them).
    fn owned_transaction(&self) -> sea_orm::TransactionOptions {
        sea_orm::TransactionOptions {
            isolation_level: Some(sea_orm::IsolationLevel::ReadCommitted),
            ..Default::default()
        }
    }

    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }
}
