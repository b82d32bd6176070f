//! Database errors as a person reads them: the server's own message with its code (SQLSTATE on
//! PostgreSQL, the error number on MariaDB, the extended result code on SQLite), PostgreSQL's
//! detail and hint, and nothing of the driver's wrapping ("Execution Error: error returned from
//! database: ...") or the server's source position (PostgreSQL's `at line 1188` is a line of the
//! server's C source, not of the user's SQL). Failures to reach a server are named by what
//! happened (connection refused, timed out), from the I/O error kind.
//!
//! What a failure *is* is decided by codes ([`Failure::of`]), never by English message text.

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

/// What kind of failure a database error is, decided by its code or I/O error kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Nothing listens at the host and port (the I/O error `ConnectionRefused`).
    ConnectionRefused,
    /// The server did not answer in time, or no pooled connection became free.
    TimedOut,
    /// The server refused the credentials (PostgreSQL 28000 / 28P01, MariaDB 1045 / 1698).
    AuthenticationFailed,
    /// The database the URL names does not exist (PostgreSQL 3D000, MariaDB 1049).
    UnknownDatabase,
    /// The SQL names a column or table that does not exist (PostgreSQL 42703 / 42P01, MariaDB
    /// 1054 / 1146).
    UnknownObject,
    /// The server's error, of no kind singled out here.
    Server,
    /// Anything else (driver, protocol, TLS, configuration).
    Other,
}

impl Failure {
    /// The kind of `error`.
    pub fn of(error: &DbErr) -> Failure {
        sqlx_error(error).map_or(Failure::Other, failure_of)
    }
}

/// The sqlx error under a SeaORM error, where there is one.
pub fn sqlx_error(error: &DbErr) -> Option<&sqlx::Error> {
    match error {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// The kind of a sqlx error.
pub fn failure_of(error: &sqlx::Error) -> Failure {
    match error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Failure::ConnectionRefused
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Failure::TimedOut,
        sqlx::Error::PoolTimedOut => Failure::TimedOut,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(sqlx::mysql::MySqlDatabaseError::number);
            match (code.as_deref(), number) {
                (_, Some(1045 | 1698)) | (Some("28000" | "28P01"), None) => {
                    Failure::AuthenticationFailed
                }
                (_, Some(1049)) | (Some("3D000"), None) => Failure::UnknownDatabase,
                (_, Some(1054 | 1146)) | (Some("42703" | "42P01"), None) => Failure::UnknownObject,
                _ => Failure::Server,
            }
        }
        _ => Failure::Other,
    }
}

/// `error` in a person's words (see the module docs).
pub fn describe(error: &DbErr) -> String {
    match error {
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => {
            describe_runtime(runtime)
        }
        other => other.to_string(),
    }
}

/// A SeaORM runtime error in a person's words.
pub fn describe_runtime(error: &RuntimeErr) -> String {
    match error {
        RuntimeErr::SqlxError(e) => describe_sqlx(e),
        other => other.to_string(),
    }
}

/// A sqlx error in a person's words.
pub fn describe_sqlx(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let mut text = pg.message().to_owned();
                if let Some(detail) = pg.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = pg.hint() {
                    text.push_str(&format!("; hint: {hint}"));
                }
                format!("{text} [SQLSTATE {}]", pg.code())
            } else if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                format!("{} [MariaDB error {}]", my.message(), my.number())
            } else {
                match db.code() {
                    Some(code) => format!("{} [SQLite code {code}]", db.message()),
                    None => db.message().to_owned(),
                }
            }
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused: is the server running and listening there?".to_owned()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".to_owned(),
        other => other.to_string(),
    }
}
