//! One delete's database session: the transaction every statement runs in, identifier quoting
//! for the dialect, and the statement counter behind the report's `statements` figure.
//!
//! Identifiers are always quoted (doubling embedded quote characters); values are always bound
//! parameters. Work tables live in the session (temporary tables), so everything runs on the
//! transaction's single connection.

use cascade_entity::rules::Dialect;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, QueryResult, Statement, Value};

use super::engine::{Engine, engine};
use crate::progress::{NoProgress, Progress};

pub(crate) struct Session<'a> {
    pub txn: &'a DatabaseTransaction,
    pub dialect: Dialect,
    pub engine: &'static dyn Engine,
    pub statements: u64,
    /// Put before every DELETE the executor runs: the engine's per-statement switch that
    /// suspends its own FK actions (`super::suspend`), when they are suspended.
    pub delete_prefix: Option<&'static str>,
    /// Work tables outlive COMMIT (a batched delete's closure, kept across its batches).
    pub lasting: bool,
    /// Whether the closure's rows are write-locked as they are found (the `locks` module): a
    /// delete that will change rows does, a plan does not.
    pub locking: bool,
    /// Where the executor reports the rows each of its statements changed.
    pub progress: &'a dyn Progress,
}

impl<'a> Session<'a> {
    pub(crate) fn new(txn: &'a DatabaseTransaction) -> Session<'a> {
        let dialect = Dialect::from(txn.get_database_backend());
        Session {
            txn,
            dialect,
            engine: engine(dialect),
            statements: 0,
            delete_prefix: None,
            lasting: false,
            locking: false,
            progress: &NoProgress,
        }
    }

    /// A quoted identifier ([`Dialect::quote`], the one quoting path).
    pub(crate) fn q(&self, ident: &str) -> String {
        self.dialect.quote(ident)
    }

    /// `alias.col1, alias.col2`
    pub(crate) fn cols(&self, alias: &str, columns: &[String]) -> String {
        columns
            .iter()
            .map(|c| format!("{alias}.{}", self.q(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `col1, col2`, quoted, without alias.
    pub(crate) fn names(&self, columns: &[String]) -> String {
        columns
            .iter()
            .map(|c| self.q(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `alias.col`, or `(alias.c1, alias.c2)` for several: a row value to compare with `IN`.
    pub(crate) fn row_value(&self, alias: &str, columns: &[String]) -> String {
        parenthesised(self.cols(alias, columns), columns.len())
    }

    /// `col`, or `(c1, c2)` for several, quoted, without alias.
    pub(crate) fn row_value_of_names(&self, columns: &[String]) -> String {
        parenthesised(self.names(columns), columns.len())
    }

    /// `a.x = b.y AND ...`, pairwise.
    pub(crate) fn equal(&self, a: &str, a_cols: &[String], b: &str, b_cols: &[String]) -> String {
        a_cols
            .iter()
            .zip(b_cols)
            .map(|(x, y)| format!("{a}.{} = {b}.{}", self.q(x), self.q(y)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Creates an empty work table `name` for `table`'s `key` (dropping a leftover first where
    /// the engine keeps work tables across a rollback).
    pub(crate) async fn create_work_table(
        &mut self,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Result<(), DbErr> {
        self.drop_leftovers(&[name.to_owned()]).await?;
        self.create_work_table_only(name, table, key).await
    }

    /// Where the engine keeps work tables across a rollback, drops any of `names` a refused
    /// delete left behind (one statement where the engine drops a list).
    pub(crate) async fn drop_leftovers(&mut self, names: &[String]) -> Result<(), DbErr> {
        if self.engine.work_tables_outlive_rollback() {
            self.drop_work_tables(names).await?;
        }
        Ok(())
    }

    /// Drops every work table of `names`.
    pub(crate) async fn drop_work_tables(&mut self, names: &[String]) -> Result<(), DbErr> {
        let q = |i: &str| self.q(i);
        for statement in self.engine.drop_work_tables(&q, names) {
            self.exec(&statement).await?;
        }
        Ok(())
    }

    /// [`Session::create_work_table`] without the leftover drop (the caller did it, for many
    /// names at once).
    pub(crate) async fn create_work_table_only(
        &mut self,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Result<(), DbErr> {
        let q = |i: &str| self.q(i);
        let statements = if self.lasting {
            self.engine.create_lasting_work_table(&q, name, table, key)
        } else {
            self.engine.create_work_table(&q, name, table, key)
        };
        for statement in statements {
            self.exec(&statement).await?;
        }
        Ok(())
    }

    /// Like [`Session::create_work_table`], with key columns typed like `table`'s (see
    /// `Engine::create_typed_work_table`).
    pub(crate) async fn create_typed_work_table(
        &mut self,
        name: &str,
        table: &str,
        key: &[String],
    ) -> Result<(), DbErr> {
        self.drop_leftovers(&[name.to_owned()]).await?;
        let q = |i: &str| self.q(i);
        for statement in self.engine.create_typed_work_table(&q, name, table, key) {
            self.exec(&statement).await?;
        }
        Ok(())
    }

    pub(crate) async fn exec(&mut self, sql: &str) -> Result<u64, DbErr> {
        self.exec_with(sql, Vec::new()).await
    }

    pub(crate) async fn exec_with(&mut self, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
        self.statements += 1;
        let started = std::time::Instant::now();
        let statement =
            Statement::from_sql_and_values(self.txn.get_database_backend(), sql, values);
        let rows = self.txn.execute_raw(statement).await?.rows_affected();
        trace(sql, started, rows);
        Ok(rows)
    }

    pub(crate) async fn query(&mut self, sql: &str) -> Result<Vec<QueryResult>, DbErr> {
        self.query_with(sql, Vec::new()).await
    }

    pub(crate) async fn query_with(
        &mut self,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<QueryResult>, DbErr> {
        self.statements += 1;
        let started = std::time::Instant::now();
        let statement =
            Statement::from_sql_and_values(self.txn.get_database_backend(), sql, values);
        let rows = self.txn.query_all_raw(statement).await?;
        trace(sql, started, rows.len() as u64);
        Ok(rows)
    }

    /// A single integer result (`COUNT(*)`, `MAX(...)`), NULL read as 0.
    pub(crate) async fn scalar(&mut self, sql: &str) -> Result<i64, DbErr> {
        let rows = self.query(sql).await?;
        let Some(row) = rows.first() else {
            return Ok(0);
        };
        Ok(row.try_get_by_index::<Option<i64>>(0)?.unwrap_or(0))
    }
}

/// `list` as a row value: bare for one column, in parentheses for several.
fn parenthesised(list: String, columns: usize) -> String {
    if columns == 1 {
        list
    } else {
        format!("({list})")
    }
}

/// With `CASCADE_TRACE_SQL` set, every statement goes to stderr with its duration and row
/// count: the per-statement profile of a delete.
fn trace(sql: &str, started: std::time::Instant, rows: u64) {
    if std::env::var_os("CASCADE_TRACE_SQL").is_some() {
        eprintln!(
            "{:>9.3} ms {rows:>8} rows  {sql}",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}
