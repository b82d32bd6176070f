//! A fresh database per test, on every real backend, as `#[sqlx::test]` gives one: SQLite in a
//! temporary file; PostgreSQL and MariaDB as a uniquely named database created on the server and
//! dropped when the test passes, kept (and named on stderr) when it fails, for debugging.
//! Optionally migrated with the app's own migrations. A server that cannot be reached fails the
//! test with the command that starts it: a backend is never skipped.
//!
//! ```no_run
//! use cascade_entity::rules::Dialect;
//! use cascade_service::testdb::with_db;
//!
//! # async fn test(dialect: Dialect) {
//! // With rstest: `#[rstest] #[tokio::test] async fn t(#[values(Dialect::Sqlite,
//! // Dialect::Postgres, Dialect::MySql)] dialect: Dialect)`.
//! with_db(dialect, |db| async move {
//!     // db.conn is connected, db.url names the database.
//!     assert!(db.url.contains("cascade_t_"));
//! })
//! .await;
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use cascade_entity::rules::Dialect;
use cascade_migration::MigrationSet;
use futures::FutureExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use crate::connect::{Enforce, connect};

/// Server URLs the test databases are created on; override with `CASCADE_TEST_POSTGRES_URL` /
/// `CASCADE_TEST_MYSQL_URL`.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// See [`DEFAULT_POSTGRES_URL`].
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

const POSTGRES_START: &str =
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const MYSQL_START: &str =
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

/// A database that exists for one test.
pub struct TestDb {
    /// Its dialect.
    pub dialect: Dialect,
    /// URL of the test database itself (what `cascade --url` would be given).
    pub url: String,
    /// A connection to it, FK enforcement on.
    pub conn: DatabaseConnection,
    sqlite_dir: Option<tempfile::TempDir>,
    /// Admin connection and database name, to drop a server database afterwards.
    server: Option<(DatabaseConnection, String)>,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestDb({}, {})", self.dialect, self.url)
    }
}

/// Runs `body` against a fresh database of `dialect`, then drops it; when the body panics, the
/// database is kept for inspection and the panic resumed.
pub async fn with_db<F, Fut>(dialect: Dialect, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDb::create(dialect).await;
    run_and_clean(db, body).await;
}

/// Like [`with_db`], with the app's migrations applied first.
pub async fn with_migrated_db<F, Fut>(dialect: Dialect, migrations: &dyn MigrationSet, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDb::create(dialect).await;
    if let Err(e) = migrations.up(&db.conn).await {
        panic!("migrating the test database {}: {e}", db.url);
    }
    run_and_clean(db, body).await;
}

async fn run_and_clean<F, Fut>(mut db: TestDb, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    // Keep the SQLite directory and the admin handle here, not in the body: an `async move`
    // block captures only the fields it uses and would drop the rest (and the file) early.
    let sqlite_dir = db.sqlite_dir.take();
    let server = db.server.take();
    let url = db.url.clone();
    let outcome = AssertUnwindSafe(body(db)).catch_unwind().await;
    match (&outcome, server, sqlite_dir) {
        (Ok(()), Some((admin, name)), _) => {
            let sql = match dialect_of_admin(&admin) {
                Dialect::Postgres => format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    Dialect::Postgres.quote(&name)
                ),
                dialect => format!("DROP DATABASE IF EXISTS {}", dialect.quote(&name)),
            };
            if let Err(e) = admin.execute_unprepared(&sql).await {
                eprintln!("warning: could not drop test database {name}: {e}");
            }
        }
        (Err(_), _, Some(dir)) => {
            let kept = dir.keep();
            eprintln!("test failed; its database is kept at {}", kept.display());
        }
        (Err(_), Some(_), None) => eprintln!("test failed; its database is kept: {url}"),
        _ => {}
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn dialect_of_admin(admin: &DatabaseConnection) -> Dialect {
    Dialect::from(admin.get_database_backend())
}

impl TestDb {
    /// Creates a fresh, empty database of `dialect` (panics, naming the start command, when the
    /// server cannot be reached). Prefer [`with_db`], which also cleans up.
    pub async fn create(dialect: Dialect) -> TestDb {
        let name = unique_name();
        match dialect {
            Dialect::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
                let url = format!("sqlite://{}?mode=rwc", dir.path().join(&name).display());
                let conn = connect(&url, Enforce::On)
                    .await
                    .unwrap_or_else(|e| panic!("opening SQLite file {url}: {e}"));
                TestDb {
                    dialect,
                    url,
                    conn,
                    sqlite_dir: Some(dir),
                    server: None,
                }
            }
            Dialect::Postgres | Dialect::MySql => {
                let (admin_url, start) = match dialect {
                    Dialect::Postgres => (
                        std::env::var("CASCADE_TEST_POSTGRES_URL")
                            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into()),
                        POSTGRES_START,
                    ),
                    _ => (
                        std::env::var("CASCADE_TEST_MYSQL_URL")
                            .unwrap_or_else(|_| DEFAULT_MYSQL_URL.into()),
                        MYSQL_START,
                    ),
                };
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "{dialect} is not reachable at {admin_url} ({e}).\n\
                         Start it with: {start}"
                    )
                });
                let create = format!("CREATE DATABASE {}", dialect.quote(&name));
                admin
                    .execute_unprepared(&create)
                    .await
                    .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
                let url = replace_database(&admin_url, &name);
                let conn = connect(&url, Enforce::On)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
                TestDb {
                    dialect,
                    url,
                    conn,
                    sqlite_dir: None,
                    server: Some((admin, name)),
                }
            }
        }
    }
}

/// `cascade_t_<pid>_<counter>_<nanos>`: unique across parallel test processes and reruns.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cascade_t_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Swaps the database path of a server URL: `scheme://auth@host:port/db?opts`.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{root}/{name}{query}")
}
