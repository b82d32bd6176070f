//! Per-engine delete semantics: how each database orders and checks referential actions, how
//! its errors map to refusal kinds, and the SQL spelling of work tables. One module per dialect;
//! nothing outside this directory branches on the dialect.
//!
//! The closure (which rows are deleted) is the same on every engine; what differs is *whether*
//! a delete fails. The judge sees, per non-cascading FK edge, the rows that survive and the rows
//! that are themselves deleted by another path ("doomed"), with the BFS generation of parent and
//! child, and decides per engine.

mod mysql;
mod postgres;
mod sqlite;

use cascade_entity::rules::Dialect;
use sea_orm::DbErr;

use super::effects::EdgeEffect;
use super::report::RefusalKind;
use super::simulate::world::{Replay, World};

/// Where a replay reads the order of FKs that is not in the rule graph.
pub(crate) enum OrderFacts {
    /// The graph's creation ranks and constraint names suffice.
    None,
    /// `SELECT table_name, creation_order`: tables' order of creation (SQLite's schema).
    TableCreation(&'static str),
    /// `SELECT child_table, constraint_name, trigger_name, trigger_type, on_child`: the RI
    /// triggers, whose name order is the firing order (PostgreSQL).
    Triggers(&'static str),
}

/// The verdict on one edge's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Fine,
    Refuse(RefusalKind),
    /// SQLite NO ACTION: counted and checked at the end of the statement, net of deleted rows
    /// whose own reference was already dangling.
    NetCounted,
}

/// How an engine's own FK actions are switched off for a transaction the delete engine owns
/// (see `super::suspend`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ActionSwitch {
    /// A connection setting that only changes outside a transaction (SQLite's pragma): `is_on`
    /// reads it; the still empty transaction is ended, `off` run and the transaction begun again
    /// with `begin`; before the connection is given back the transaction ends the same way,
    /// `on` is run and an empty transaction begun for the driver to close.
    /// `triggers` counts the triggers that could fire, and write unchecked, while it is off.
    Restart {
        is_on: &'static str,
        triggers: &'static str,
        off: &'static str,
        on: &'static str,
        begin: &'static str,
    },
    /// A transaction-scoped setting (PostgreSQL `SET LOCAL`), run when the query
    /// [`Engine::may_switch_actions`] builds for the changed tables returns true.
    Local { off: &'static str },
    /// A prefix making one statement run without FK processing (MariaDB `SET STATEMENT`), put
    /// before each DELETE.
    Prefix(&'static str),
}

pub(crate) trait Engine: Sync {
    /// Statements creating an empty work table `name` with `table`'s key columns and a
    /// `cascade_gen` BIGINT column, unique on the key.
    fn create_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String>;

    /// Like [`Engine::create_work_table`], with key columns that compare exactly like the
    /// table's own (same type, or affinity), so a correlated probe of the work table by a
    /// reference column can use the key index.
    fn create_typed_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String> {
        self.create_work_table(q, name, table, key)
    }

    fn drop_work_table(&self, q: &dyn Fn(&str) -> String, name: &str) -> String;

    /// Statements dropping every work table in `names` (those that exist): one each, or one
    /// for all where the engine drops a list.
    fn drop_work_tables(&self, q: &dyn Fn(&str) -> String, names: &[String]) -> Vec<String> {
        names.iter().map(|n| self.drop_work_table(q, n)).collect()
    }

    /// Like [`Engine::create_work_table`], for a table that must outlive COMMIT (a batched
    /// delete keeps its closure across the transactions of its batches, on one connection).
    fn create_lasting_work_table(
        &self,
        q: &dyn Fn(&str) -> String,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Vec<String> {
        self.create_work_table(q, name, table, key)
    }

    /// `INSERT ... SELECT` that skips rows whose key is already present.
    fn insert_ignore(&self, into: &str, select: &str) -> String;

    /// The value an ON DELETE SET DEFAULT writes: the `DEFAULT` keyword where UPDATE accepts
    /// it, the default expression itself where it does not (SQLite).
    fn default_value_sql(&self, _default: Option<&cascade_entity::rules::ColumnDefault>) -> String {
        "DEFAULT".to_owned()
    }

    /// The type to CAST a key to for display.
    fn text_type(&self) -> &'static str {
        "TEXT"
    }

    /// Whether one UPDATE may carry several edges' conditions (each naming its work table):
    /// not where a temporary table cannot be opened twice in one statement.
    fn merges_updates(&self) -> bool {
        self.reopens_work_tables()
    }

    /// Whether independent edges into one child table (disjoint columns, constant values) are
    /// better rewritten by one UPDATE each than by one merged `CASE` UPDATE: SQLite plans the
    /// merged `WHERE (a IN ...) OR (b IN ...)` as a multi-index OR and rewrites rows in storage
    /// order, touching every secondary index in random order.
    fn splits_independent_updates(&self) -> bool {
        false
    }

    /// Whether DELETEs keyed by a work table are written as multi-table statements joined to
    /// it (`DELETE t FROM t JOIN work d ON ...`) rather than with `IN (SELECT ...)`: MariaDB
    /// runs a single-table DELETE with an `IN` subquery as a scan of the whole table.
    fn deletes_by_join(&self) -> bool {
        false
    }

    /// Whether SET NULL rewrites are written as multi-table UPDATEs joined to the parent's work
    /// table. Off everywhere: MariaDB buffers the rows of a multi-table UPDATE that writes its
    /// own join column (measured slower than the `IN` form on the W2 fan-out).
    fn rewrites_by_join(&self) -> bool {
        false
    }

    /// Whether temporary tables survive a rolled-back transaction (MariaDB's do), so a refused
    /// delete can leave one behind for the next call to drop.
    fn work_tables_outlive_rollback(&self) -> bool {
        false
    }

    /// Whether work tables vanish when the transaction that created them ends, committed or
    /// not (PostgreSQL's `ON COMMIT DROP`), so a transaction the engine owns need not drop them.
    fn work_tables_end_with_transaction(&self) -> bool {
        false
    }

    /// Whether a work table may appear twice in one statement (MySQL temporary tables may not).
    fn reopens_work_tables(&self) -> bool {
        true
    }

    /// The SQL dialect the operator's `--where` is parsed with.
    fn parser_dialect(&self) -> &'static dyn sqlparser::dialect::Dialect;

    /// Whether a backslash in a string literal is an escape character (MariaDB's default).
    fn backslash_escapes_in_strings(&self) -> bool {
        false
    }

    /// Whether the effect of one non-cascading edge makes the engine refuse the delete.
    fn judge(&self, effect: &EdgeEffect) -> Verdict;

    /// The refusal kind of a native error, if the error is a refusal at all.
    fn classify(&self, error: &DbErr) -> Option<RefusalKind>;

    /// Cascade depth (in levels below the root) at which the engine refuses the delete.
    fn refusing_depth(&self) -> Option<u32>;

    /// Whether a NO ACTION check can pass because an equal key was written into the parent in
    /// the same statement (PostgreSQL looks for one when the check runs, SQLite's counter
    /// decrements for a new key); not where NO ACTION is checked at once like RESTRICT (InnoDB).
    fn no_action_sees_replacement_keys(&self) -> bool {
        true
    }

    /// Whether every primary-key column refuses NULL (SQLite's rowid tables accept it in a
    /// column not declared NOT NULL).
    fn key_columns_are_not_null(&self) -> bool {
        true
    }

    /// Whether updating a row re-checks its references to its own table (SQLite).
    fn rechecks_self_reference_on_update(&self) -> bool {
        false
    }

    /// Whether deleting from a parent whose FK references non-key columns fails outright.
    fn refuses_fk_mismatch(&self) -> bool {
        false
    }

    /// SQL that surfaces deferred constraint violations before the transaction ends.
    fn check_deferred(&self) -> Option<&'static str> {
        None
    }

    /// The isolation level under which a series of reads (work tables filled by
    /// `INSERT ... SELECT`, then plain `SELECT`s) sees one consistent state of the database;
    /// `None` where every transaction already reads one snapshot (SQLite).
    fn consistent_read_isolation(&self) -> Option<sea_orm::IsolationLevel> {
        None
    }

    /// SQL that makes the rest of the current transaction read-only while its work tables stay
    /// writable, once they exist; `None` where the engine has no such switch.
    fn read_only_from_here(&self) -> Option<&'static str> {
        None
    }

    /// Replays this engine's firing order over the loaded rows (`simulate`): the exact verdict
    /// where the aggregate model cannot decide.
    fn replay(&self, world: &mut World) -> Replay;

    /// Where the replay reads FK firing order facts the graph does not hold.
    fn order_facts(&self) -> OrderFacts {
        OrderFacts::None
    }

    /// SQL for a row's physical position under alias `alias` (the order a scan visits rows);
    /// `None` where the primary key is that order.
    fn row_position(&self, _alias: &str) -> Option<String> {
        None
    }

    /// How this engine's own FK actions are switched off; `None` where they cannot be.
    fn action_switch(&self) -> Option<ActionSwitch> {
        None
    }

    /// Whether suspending the engine's own actions makes the delete faster, so that
    /// `EngineActions::Auto` does it (measured with `cascade bench`, `orm` vs `orm_actions_on`).
    fn suspension_pays(&self) -> bool {
        true
    }

    /// For [`ActionSwitch::Local`]: a query (with its bound values) returning one boolean, true
    /// when this session may switch the actions off for a delete changing `tables`.
    fn may_switch_actions(&self, _tables: &[String]) -> Option<(String, Vec<sea_orm::Value>)> {
        None
    }

    /// Whether the closing integrity check must read with shared locks to see rows committed
    /// since the transaction's snapshot and keep new ones out until commit (InnoDB).
    fn check_reads_with_locks(&self) -> bool {
        false
    }

    /// A statement that write-locks the rows `from_where` (`FROM t WHERE ...`) selects until
    /// the transaction ends and returns their count (one row, never the rows themselves);
    /// `None` where the engine has no row locks (SQLite: the delete's transaction holds the
    /// database's single write lock from its start, see [`Engine::owned_transaction`]).
    fn lock_for_delete(&self, _from_where: &str) -> Option<String> {
        None
    }

    /// A statement that share-locks the rows `from_where` selects until the transaction ends,
    /// so no other transaction can delete them (or change their key) meanwhile, and returns
    /// their count: what an app runs before inserting a child of an unenforced relation. A
    /// plain count where the engine has no row locks.
    fn lock_against_delete(&self, from_where: &str) -> String {
        format!("SELECT COUNT(*) {from_where}")
    }

    /// How a delete that owns its connection starts its transaction so that its row locks
    /// mean what the `locks` module relies on (each statement reads the latest committed rows
    /// once the locks it waited for are released; SQLite: the write lock taken at `BEGIN`).
    fn owned_transaction(&self) -> sea_orm::TransactionOptions {
        sea_orm::TransactionOptions::default()
    }

    /// The `n`-th (1-based) bound-parameter placeholder of a raw statement.
    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }
}

pub(crate) fn engine(dialect: Dialect) -> &'static dyn Engine {
    match dialect {
        Dialect::Sqlite => &sqlite::Sqlite,
        Dialect::Postgres => &postgres::Postgres,
        Dialect::MySql => &mysql::MySql,
    }
}

/// The driver's message of a database error (sqlx wraps it a few levels deep).
pub(crate) fn error_text(error: &DbErr) -> String {
    error.to_string()
}

/// The server's error code: SQLSTATE on PostgreSQL, the error number on MariaDB, the extended
/// result code on SQLite. Refusals are classified by it, not by message text.
pub(crate) fn error_code(error: &DbErr) -> Option<String> {
    match crate::db_error::sqlx_error(error)? {
        sea_orm::sqlx::Error::Database(db) => {
            match db.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
                Some(mysql) => Some(mysql.number().to_string()),
                None => db.code().map(|c| c.into_owned()),
            }
        }
        _ => None,
    }
}
