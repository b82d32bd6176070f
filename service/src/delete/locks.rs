//! Row locks that keep an ORM-mode delete right while other transactions write.
//!
//! Where the database does not enforce a relation (an ORM-only FK: `skip_fk`, `--relation`, or a
//! connection with enforcement off), nothing stops another transaction from inserting a child of
//! a row the delete is about to remove. Two locks close that gap:
//!
//! - The delete write-locks the rows of its closure, generation by generation, *before* it reads
//!   their children ([`lock_generation`], called by the closure computation): one statement per
//!   table and generation (`SELECT COUNT(*) FROM t WHERE key IN (SELECT key FROM work WHERE
//!   cascade_gen = g) FOR UPDATE`), never per row. A writer that locked a parent first makes the
//!   delete wait, and its child is then read with the next generation; a writer that comes later
//!   waits for the delete and finds its parent gone.
//! - The app's writer share-locks the parent before it inserts a child ([`lock_parent`]), as the
//!   database's own FK check would: PostgreSQL `FOR KEY SHARE`, MariaDB `LOCK IN SHARE MODE`.
//!
//! SQLite has no row locks and one writer at a time: the delete's own transaction starts with
//! `BEGIN IMMEDIATE` ([`begin`]), so no write lands between its first read and its commit, and
//! [`lock_parent`] only checks that the parent is there (the writer's transaction should be
//! `IMMEDIATE` too, or its insert may be refused with `SQLITE_BUSY`).
//!
//! Children inserted by writers that take no lock are swept up before commit by the `sweep`
//! module, as far as they have committed by then.

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement, Value};
use thiserror::Error;

use super::Connection;
use super::closure::Closure;
use super::engine::engine;
use super::session::Session;

/// Why [`lock_parent`] did not lock the parent row.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LockError {
    /// No row of `table` has this key: it was deleted (perhaps by a delete that held it locked
    /// until it committed), or never existed. Do not insert the child.
    #[error("the parent row of `{table}` is gone (deleted, or never there); insert no child of it")]
    ParentGone {
        /// The parent table.
        table: String,
        /// The key looked for.
        key: Vec<Value>,
    },
    /// The graph has no table of that name.
    #[error("unknown table `{0}`")]
    UnknownTable(String),
    /// The key does not have one value per primary-key column.
    #[error("table `{table}` has a {expected}-column primary key; {given} value(s) given")]
    KeyArity {
        /// The parent table.
        table: String,
        /// Its primary-key column count.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// The database failed (a lock wait timeout or deadlock among them: roll back and retry).
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Locks the row of `table` whose primary key is `key` against deletion until `txn` ends, or
/// fails with [`LockError::ParentGone`] when it no longer exists. Call it in the transaction
/// that inserts a child of that row through a relation the database does not enforce, before
/// the insert: a concurrent ORM-mode delete of the parent then either sees the child (and
/// applies the relation's rule to it) or has already removed the parent, which this reports.
///
/// PostgreSQL takes `FOR KEY SHARE` (what its FK check takes), MariaDB `LOCK IN SHARE MODE`;
/// SQLite only checks the row exists (its writers are serialised: begin the transaction with
/// `sea_orm::SqliteTransactionMode::Immediate`).
///
/// ```no_run
/// # async fn demo(db: &sea_orm::DatabaseConnection, graph: &cascade_entity::RuleGraph)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use sea_orm::{ConnectionTrait, TransactionTrait};
/// use cascade_service::delete::{LockError, lock_parent};
/// let txn = db.begin().await?;
/// match lock_parent(&txn, graph, "post", &[7.into()]).await {
///     Ok(()) => {
///         txn.execute_unprepared("INSERT INTO comment (post_id, body) VALUES (7, 'hi')").await?;
///         txn.commit().await?;
///     }
///     Err(LockError::ParentGone { .. }) => txn.rollback().await?, // the post was deleted
///     Err(other) => return Err(other.into()),
/// }
/// # Ok(()) }
/// ```
pub async fn lock_parent(
    txn: &DatabaseTransaction,
    graph: &RuleGraph,
    table: &str,
    key: &[Value],
) -> Result<(), LockError> {
    let parent = graph
        .table(table)
        .ok_or_else(|| LockError::UnknownTable(table.to_owned()))?;
    if parent.primary_key.len() != key.len() || key.is_empty() {
        return Err(LockError::KeyArity {
            table: table.to_owned(),
            expected: parent.primary_key.len(),
            given: key.len(),
        });
    }
    let backend = txn.get_database_backend();
    let dialect = Dialect::from(backend);
    let engine = engine(dialect);
    let condition: Vec<String> = parent
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{} = {}", dialect.quote(column), engine.placeholder(i + 1)))
        .collect();
    let from_where = format!(
        "FROM {} WHERE {}",
        dialect.quote(table),
        condition.join(" AND ")
    );
    let sql = engine.lock_against_delete(&from_where);
    let statement = Statement::from_sql_and_values(backend, sql, key.to_vec());
    let found = match txn.query_one_raw(statement).await? {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    };
    if found == 0 {
        return Err(LockError::ParentGone {
            table: table.to_owned(),
            key: key.to_vec(),
        });
    }
    Ok(())
}

/// Opens the delete's transaction: on a connection the engine owns, as the dialect's locking
/// needs it ([`super::engine::Engine::owned_transaction`]: SQLite `BEGIN IMMEDIATE`, PostgreSQL
/// READ COMMITTED); inside the caller's transaction, a savepoint (the caller chose how it began).
/// A `plan` takes no lock and begins plainly.
pub(crate) async fn begin<C: Connection>(
    db: &C,
    locking: bool,
) -> Result<DatabaseTransaction, DbErr> {
    if !locking || db.in_callers_transaction() {
        return db.begin().await;
    }
    let options = engine(Dialect::from(db.get_database_backend())).owned_transaction();
    db.begin_with_options(options).await
}

/// Write-locks the rows of `tables` that joined the closure at `generation`, one statement per
/// table, when the session locks ([`Session::locking`]). Call it after a generation is filled
/// and before the next one reads its children.
pub(crate) async fn lock_generation<T: AsRef<str>>(
    s: &mut Session<'_>,
    closure: &Closure,
    tables: impl IntoIterator<Item = T>,
    generation: u32,
) -> Result<(), DbErr> {
    if s.locking {
        lock_rows(s, closure, tables, Some(generation)).await?;
    }
    Ok(())
}

/// Write-locks the closure rows of `tables` (of one `generation`, or all of them), one
/// statement per table, where the engine has row locks; whatever [`Session::locking`] says.
/// For steps that need the closure held against other writers (e.g. while FK actions are
/// suspended).
pub(crate) async fn lock_rows<T: AsRef<str>>(
    s: &mut Session<'_>,
    closure: &Closure,
    tables: impl IntoIterator<Item = T>,
    generation: Option<u32>,
) -> Result<(), DbErr> {
    for table in tables {
        let table = table.as_ref();
        let Some(work) = closure.tables.get(table) else {
            continue;
        };
        let key = s.names(&work.key);
        let left = s.row_value_of_names(&work.key);
        let of_generation = generation
            .map(|g| format!(" WHERE cascade_gen = {g}"))
            .unwrap_or_default();
        let from_where = format!(
            "FROM {} WHERE {left} IN (SELECT {key} FROM {}{of_generation})",
            s.q(table),
            s.q(&work.name)
        );
        if let Some(sql) = s.engine.lock_for_delete(&from_where) {
            s.query(&sql).await?;
        }
    }
    Ok(())
}

/// Write-locks the rows of `table` whose keys are in the work table `pick` (a batch's picked
/// rows), one statement, where the engine has row locks. A batched delete calls it right after
/// picking, before it re-checks which picked rows are still leaves.
pub(crate) async fn lock_picked(
    s: &mut Session<'_>,
    table: &str,
    key: &[String],
    pick: &str,
) -> Result<(), DbErr> {
    let names = s.names(key);
    let left = s.row_value_of_names(key);
    let from_where = format!(
        "FROM {} WHERE {left} IN (SELECT {names} FROM {})",
        s.q(table),
        s.q(pick)
    );
    if let Some(sql) = s.engine.lock_for_delete(&from_where) {
        s.query(&sql).await?;
    }
    Ok(())
}
