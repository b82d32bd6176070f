//! SQLite: root rows one at a time, each row's actions depth-first; RESTRICT fails at once, NO
//! ACTION is a net counter checked at the end of the statement (a deleted row whose reference
//! was already dangling cancels a violation); "foreign key mismatch" when a parent's FK points
//! at non-key columns; trigger depth limit 1000. Any UPDATE of a row (an action's SET NULL or
//! SET DEFAULT included) re-checks that row's references to its own table, and a dangling one
//! counts as a violation. Where the order decides, the judge replays it (`sqlite/replay.rs`).

mod replay;

use sea_orm::DbErr;

use super::super::effects::{EdgeEffect, default_sql};
use super::super::report::RefusalKind;
use super::super::simulate::world::{Replay, World};
use super::{ActionSwitch, Engine, OrderFacts, Verdict, error_code, error_text};
use cascade_entity::rules::FkAction;

pub(crate) struct Sqlite;

impl Engine for Sqlite {
    fn create_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        _table: &str,
        key: &[String],
    ) -> Vec<String> {
        // Untyped key columns take the values as they are (comparisons apply the base
        // table's affinity); the key is the clustered primary key, no separate index.
        let cols: Vec<String> = key.iter().map(|c| q(c)).collect();
        vec![format!(
            "CREATE TEMP TABLE {} ({}, cascade_gen INTEGER, PRIMARY KEY ({})) WITHOUT ROWID",
            q(name),
            cols.join(", "),
            cols.join(", ")
        )]
    }

    /// Untyped columns have no affinity, so `work.k = child.ref` takes the child column's and
    /// the key index cannot serve it (each probe scans the work table). `CREATE TABLE AS`
    /// gives each key column the table column's affinity.
    fn create_typed_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String> {
        let cols: Vec<String> = key.iter().map(|c| q(c)).collect();
        vec![
            format!(
                "CREATE TEMP TABLE {} AS SELECT {}, 0 AS cascade_gen FROM {} WHERE 0",
                q(name),
                cols.join(", "),
                q(table)
            ),
            format!(
                "CREATE UNIQUE INDEX temp.{} ON {} ({})",
                q(&format!("{name}_key")),
                q(name),
                cols.join(", ")
            ),
        ]
    }

    fn drop_work_table(&self, q: &dyn Fn(&str) -> String, name: &str) -> String {
        format!("DROP TABLE IF EXISTS temp.{}", q(name))
    }

    fn insert_ignore(&self, into: &str, select: &str) -> String {
        format!("INSERT OR IGNORE INTO {into} {select}")
    }

    fn default_value_sql(&self, default: Option<&cascade_entity::rules::ColumnDefault>) -> String {
        default.map_or_else(|| "NULL".to_owned(), |d| format!("({})", default_sql(d)))
    }

    fn parser_dialect(&self) -> &'static dyn sqlparser::dialect::Dialect {
        &sqlparser::dialect::SQLiteDialect {}
    }

    fn replay(&self, world: &mut World) -> Replay {
        replay::replay(world)
    }

    fn order_facts(&self) -> OrderFacts {
        OrderFacts::TableCreation("SELECT name, rowid FROM sqlite_master WHERE type = 'table'")
    }

    /// Statements collect their rows into a rowid set first, visited in rowid order.
    fn row_position(&self, alias: &str) -> Option<String> {
        Some(format!("{alias}.rowid"))
    }

    fn judge(&self, e: &EdgeEffect) -> Verdict {
        match e.action {
            FkAction::NoAction if e.survivors > 0 => Verdict::NetCounted,
            // The rewritten row references a missing parent: counted like NO ACTION; a doomed
            // row adds one and takes it off again when it is deleted.
            FkAction::SetDefault if e.net_violations() > 0 => Verdict::NetCounted,
            FkAction::SetDefault => Verdict::Fine,
            // Deleted later or earlier in the same statement: the counter nets to zero.
            FkAction::NoAction => Verdict::Fine,
            FkAction::Restrict | FkAction::SetNull => {
                let kind = e.refusal_kind();
                if e.survivors_fail() {
                    Verdict::Refuse(kind)
                } else if e.doomed_fail() && e.doomed_other_rows() > 0 {
                    // Whether the doomed row is gone when the check runs depends on the order
                    // SQLite visits rows and FKs; a row referencing itself is already gone.
                    Verdict::Refuse(RefusalKind::OrderDependent)
                } else if e.net_violations() > 0 {
                    Verdict::NetCounted
                } else {
                    Verdict::Fine
                }
            }
            FkAction::Cascade => Verdict::Fine,
        }
    }

    fn classify(&self, error: &DbErr) -> Option<RefusalKind> {
        // Extended result codes; the two plain SQLITE_ERROR (1) cases have only their message.
        match error_code(error)?.as_str() {
            // SQLITE_CONSTRAINT_FOREIGNKEY (the end-of-statement counter), and
            // SQLITE_CONSTRAINT_TRIGGER (RESTRICT, raised by the FK's action trigger).
            "787" | "1811" => Some(RefusalKind::Restrict),
            "1299" => Some(RefusalKind::NotNull),
            "275" => Some(RefusalKind::Check),
            "2067" | "1555" => Some(RefusalKind::Unique),
            "1" if error_text(error).contains("foreign key mismatch") => {
                Some(RefusalKind::FkMismatch)
            }
            "1" if error_text(error).contains("too many levels of trigger recursion") => {
                Some(RefusalKind::CascadeDepth)
            }
            _ => None,
        }
    }

    /// `BEGIN IMMEDIATE`: the database's single write lock from the start, so no other
    /// connection writes between the closure's first read and the commit (a deferred
    /// transaction would read first and could be refused the lock, or miss a write, later).
    fn owned_transaction(&self) -> sea_orm::TransactionOptions {
        sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        }
    }

    fn refusing_depth(&self) -> Option<u32> {
        Some(1000)
    }

    fn key_columns_are_not_null(&self) -> bool {
        // Rowid tables take NULL in a key column unless declared NOT NULL; the catalog's
        // nullability already says which (introspection reports what is declared).
        false
    }

    /// `foreign_keys` is a no-op inside a transaction: the transaction restarts around it.
    /// `BEGIN IMMEDIATE` takes the write lock at once, so no other writer can interleave
    /// between the closure and the deletes.
    fn action_switch(&self) -> Option<ActionSwitch> {
        Some(ActionSwitch::Restart {
            is_on: "SELECT foreign_keys FROM pragma_foreign_keys",
            triggers: "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger') + \
                       (SELECT COUNT(*) FROM sqlite_temp_master WHERE type = 'trigger')",
            off: "PRAGMA foreign_keys = OFF",
            on: "PRAGMA foreign_keys = ON",
            begin: "BEGIN IMMEDIATE",
        })
    }

    fn splits_independent_updates(&self) -> bool {
        true
    }

    fn rechecks_self_reference_on_update(&self) -> bool {
        true
    }

    fn refuses_fk_mismatch(&self) -> bool {
        true
    }
}
