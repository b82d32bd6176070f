//! Opening database connections the way every command needs them: URL checked before anything
//! is touched, FK enforcement on unless a command explicitly turns it off, secrets kept out of
//! error messages.
//!
//! A server that cannot be reached is reported at once by what happened ("connection refused",
//! an unknown database, bad credentials): one direct connection attempt precedes the pool,
//! whose own connect retries a refused connection until its timeout and then only says "pool
//! timed out".
//!
//! sqlx 0.9 already turns SQLite's `foreign_keys` pragma on; we set it explicitly either way and
//! read it back, so a connection never silently runs without enforcement.

use std::sync::Arc;

use cascade_entity::rules::Dialect;
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr, Statement,
};
use thiserror::Error;

use crate::db_error::{Failure, describe};

/// Used when neither `--url` nor `DATABASE_URL` is given: a SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://cascade.db?mode=rwc";

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the database enforces FK constraints on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforce {
    /// The database checks and applies every FK (the default for every command).
    On,
    /// SQLite `foreign_keys=OFF`, MariaDB `foreign_key_checks=0`, PostgreSQL
    /// `session_replication_role=replica` (superuser only).
    Off,
}

/// Why no connection was opened. URLs in messages have their password replaced.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not one we can connect to; nothing was attempted.
    #[error(
        "malformed database URL `{url}`: {reason} \
         (expected sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB)"
    )]
    BadUrl {
        /// The URL as given, password redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server (or file) could not be reached or refused us; the database's own words.
    #[error("cannot connect to {url}: {}", describe(source))]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's error.
        #[source]
        source: DbErr,
    },
    /// FK enforcement could not be set as asked.
    #[error("cannot set FK enforcement on {url}: {reason}")]
    Enforcement {
        /// The URL, password redacted.
        url: String,
        /// Why the setting did not take.
        reason: String,
    },
}

impl ConnectError {
    /// What kind of failure this is (connection refused, unknown database, ...), by code.
    pub fn failure(&self) -> Failure {
        match self {
            ConnectError::Connect { source, .. } => Failure::of(source),
            _ => Failure::Other,
        }
    }
}

/// The dialect a URL names, or why it names none. Checked before connecting.
pub fn dialect_of(url: &str) -> Result<Dialect, ConnectError> {
    let bad = |reason: &str| ConnectError::BadUrl {
        url: redact(url),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("missing `://`"))?;
    let dialect = match scheme {
        "sqlite" => Dialect::Sqlite,
        "postgres" | "postgresql" => Dialect::Postgres,
        "mysql" | "mariadb" => Dialect::MySql,
        other => return Err(bad(&format!("unknown scheme `{other}`"))),
    };
    if rest.is_empty() {
        return Err(bad("nothing after `://`"));
    }
    if dialect != Dialect::Sqlite {
        let path = rest.split('?').next().unwrap_or_default();
        let database = path.split_once('/').map(|(_, db)| db).unwrap_or_default();
        if database.is_empty() {
            return Err(bad("no database name after the host"));
        }
    }
    Ok(dialect)
}

/// Connects to `url` with FK enforcement as asked, and checks it took effect on SQLite.
pub async fn connect(url: &str, enforce: Enforce) -> Result<DatabaseConnection, ConnectError> {
    let dialect = dialect_of(url)?;
    let url = normalise(url);
    probe(dialect, &url)
        .await
        .map_err(|source| ConnectError::Connect {
            url: redact(&url),
            source,
        })?;
    let mut options = ConnectOptions::new(url.clone());
    // A refused connection is retried until the acquire timeout; a CLI should answer quickly.
    options
        .sqlx_logging(false)
        .connect_timeout(CONNECT_TIMEOUT)
        .acquire_timeout(CONNECT_TIMEOUT);
    let on = enforce == Enforce::On;
    match dialect {
        Dialect::Sqlite => {
            options.map_sqlx_sqlite_opts(move |o| o.foreign_keys(on));
        }
        Dialect::Postgres if !on => {
            options
                .map_sqlx_postgres_opts(|o| o.options([("session_replication_role", "replica")]));
        }
        Dialect::MySql if !on => {
            options.map_sqlx_mysql_pool_opts(|pool| {
                pool.after_connect(|conn, _| {
                    Box::pin(async move {
                        sea_orm::sqlx::Executor::execute(conn, "SET SESSION foreign_key_checks = 0")
                            .await
                            .map(drop)
                    })
                })
            });
        }
        _ => {}
    }
    let db = Database::connect(options)
        .await
        .map_err(|source| ConnectError::Connect {
            url: redact(&url),
            source,
        })?;
    if dialect == Dialect::Sqlite {
        check_sqlite_enforcement(&db, on, &url).await?;
    }
    Ok(db)
}

/// One direct connection attempt to a server, so that a refused port, an unknown database or bad
/// credentials are reported at once, in the server's words. SQLite opens a file: nothing to
/// probe.
async fn probe(dialect: Dialect, url: &str) -> Result<(), DbErr> {
    let attempt = async {
        match dialect {
            Dialect::Postgres => sqlx::PgConnection::connect(url).await?.close().await,
            Dialect::MySql => sqlx::MySqlConnection::connect(url).await?.close().await,
            Dialect::Sqlite => Ok(()),
        }
    };
    let error = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(error)) => error,
        Err(_) => sqlx::Error::PoolTimedOut,
    };
    Err(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error))))
}

/// Whether `db`'s session enforces FKs: SQLite `PRAGMA foreign_keys`, MariaDB
/// `@@foreign_key_checks`, PostgreSQL `session_replication_role` other than `replica` (which
/// skips the triggers that implement FK actions and checks).
pub async fn enforces_foreign_keys(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let sql = match Dialect::from(db.get_database_backend()) {
        Dialect::Sqlite => "SELECT foreign_keys <> 0 FROM pragma_foreign_keys",
        Dialect::MySql => "SELECT @@foreign_key_checks <> 0",
        Dialect::Postgres => "SELECT current_setting('session_replication_role') <> 'replica'",
    };
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("`{sql}` returned no row")))?;
    // SQLite and MariaDB answer with an integer, PostgreSQL with a boolean.
    match row.try_get_by_index::<bool>(0) {
        Ok(on) => Ok(on),
        Err(_) => Ok(row.try_get_by_index::<i64>(0)? != 0),
    }
}

async fn check_sqlite_enforcement(
    db: &DatabaseConnection,
    expected: bool,
    url: &str,
) -> Result<(), ConnectError> {
    let failure = |reason: String| ConnectError::Enforcement {
        url: redact(url),
        reason,
    };
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA foreign_keys",
        ))
        .await
        .map_err(|e| failure(e.to_string()))?
        .ok_or_else(|| failure("PRAGMA foreign_keys returned nothing".into()))?;
    let value: i32 = row
        .try_get_by_index(0)
        .map_err(|e| failure(e.to_string()))?;
    if (value != 0) != expected {
        return Err(failure(format!("foreign_keys is {value}")));
    }
    Ok(())
}

/// `mariadb://` is accepted as a spelling of `mysql://`.
fn normalise(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    }
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((auth, host)) if auth.contains(':') => {
            let user = auth.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Pool options for exactly one connection that is never closed or recycled.
fn one_lasting_connection<DB: sqlx::Database>() -> sea_orm::sqlx::pool::PoolOptions<DB> {
    sea_orm::sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(CONNECT_TIMEOUT)
}

/// A second connection to `db`'s database, one session that outlives its transactions (a pool
/// of exactly one connection that is never recycled), with `db`'s FK enforcement: what a
/// batched delete keeps its work tables in between batches. Closing it ends the session.
pub async fn dedicated(db: &DatabaseConnection) -> Result<DatabaseConnection, DbErr> {
    let enforced = enforces_foreign_keys(db).await?;
    let conn_err = |e: sqlx::Error| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e)));
    let conn = match Dialect::from(db.get_database_backend()) {
        Dialect::Sqlite => {
            let options = (*db.get_sqlite_connection_pool().connect_options()).clone();
            let pool = one_lasting_connection::<sqlx::Sqlite>()
                .connect_with(options)
                .await
                .map_err(conn_err)?;
            sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        Dialect::Postgres => {
            let options = (*db.get_postgres_connection_pool().connect_options()).clone();
            let pool = one_lasting_connection::<sqlx::Postgres>()
                .connect_with(options)
                .await
                .map_err(conn_err)?;
            sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
        }
        Dialect::MySql => {
            let options = (*db.get_mysql_connection_pool().connect_options()).clone();
            let pool = one_lasting_connection::<sqlx::MySql>()
                .connect_with(options)
                .await
                .map_err(conn_err)?;
            sea_orm::SqlxMySqlConnector::from_sqlx_mysql_pool(pool)
        }
    };
    // Settings made after connecting (MariaDB's foreign_key_checks) are not in the options.
    if enforces_foreign_keys(&conn).await? != enforced {
        let sql = match (Dialect::from(conn.get_database_backend()), enforced) {
            (Dialect::Sqlite, on) => {
                format!("PRAGMA foreign_keys = {}", if on { "ON" } else { "OFF" })
            }
            (Dialect::MySql, on) => format!("SET SESSION foreign_key_checks = {}", u8::from(on)),
            (Dialect::Postgres, true) => "SET session_replication_role = origin".to_owned(),
            (Dialect::Postgres, false) => "SET session_replication_role = replica".to_owned(),
        };
        conn.execute_unprepared(&sql).await?;
        if enforces_foreign_keys(&conn).await? != enforced {
            return Err(DbErr::Custom(format!(
                "a second connection does not enforce FKs as the first does after `{sql}`"
            )));
        }
    }
    Ok(conn)
}
