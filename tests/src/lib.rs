//! Test harness: a fresh, uniquely named database per test on each real backend.
//!
//! SQLite gets a file in a temporary directory; PostgreSQL and MariaDB get a new database created
//! through the server's admin URL and dropped afterwards, whether the test passed or panicked. A
//! server that cannot be reached fails the test with the command that starts it: backends are
//! never skipped.

pub mod random_schema;

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use entity::rules::Dialect;
use futures::FutureExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

pub use entity::rules::Dialect as Backend;

/// Admin URLs; override with `CASCADE_TEST_POSTGRES_URL` / `CASCADE_TEST_MYSQL_URL`.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

const POSTGRES_START: &str =
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
const MYSQL_START: &str =
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

/// A database that exists for one test.
pub struct TestDb {
    pub dialect: Dialect,
    /// URL of the test database itself (what `cascade --url` would be given).
    pub url: String,
    pub conn: DatabaseConnection,
    /// Holds the SQLite file's directory until the test is done.
    _sqlite_dir: Option<tempfile::TempDir>,
    /// Admin connection and database name, to drop a server database afterwards.
    server: Option<(DatabaseConnection, String)>,
}

impl fmt::Debug for TestDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TestDb({}, {})", self.dialect, self.url)
    }
}

/// Runs `body` against a fresh database of `dialect`, then drops that database, even if the
/// body panicked (the panic is then resumed).
pub async fn with_db<F, Fut>(dialect: Dialect, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut db = TestDb::create(dialect).await;
    // Keep the SQLite directory and the admin handle here, not in the body: an `async move`
    // block captures only the fields it uses and would drop the rest (and the file) early.
    let _sqlite_dir = db._sqlite_dir.take();
    let server = db.server.take();
    let outcome = AssertUnwindSafe(body(db)).catch_unwind().await;
    if let Some((admin, name)) = server {
        let sql = match dialect {
            Dialect::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        if let Err(e) = admin.execute_unprepared(&sql).await {
            eprintln!("warning: could not drop test database {name}: {e}");
        }
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

impl TestDb {
    pub async fn create(dialect: Dialect) -> TestDb {
        let name = unique_name();
        match dialect {
            Dialect::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
                let url = format!("sqlite://{}?mode=rwc", dir.path().join(&name).display());
                let conn = service::connect::connect(&url, service::connect::Enforce::On)
                    .await
                    .unwrap_or_else(|e| panic!("opening SQLite file {url}: {e}"));
                TestDb {
                    dialect,
                    url,
                    conn,
                    _sqlite_dir: Some(dir),
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
                let create = match dialect {
                    Dialect::Postgres => format!("CREATE DATABASE \"{name}\""),
                    _ => format!("CREATE DATABASE `{name}`"),
                };
                admin
                    .execute_unprepared(&create)
                    .await
                    .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
                let url = replace_database(&admin_url, &name);
                let conn = service::connect::connect(&url, service::connect::Enforce::On)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
                TestDb {
                    dialect,
                    url,
                    conn,
                    _sqlite_dir: None,
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
fn replace_database(url: &str, name: &str) -> String {
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

/// Every row of `table`, each column cast to text, ordered by all columns: a comparable
/// snapshot of the table's contents.
pub async fn dump_table(db: &DatabaseConnection, table: &str) -> Vec<Vec<Option<String>>> {
    let graph = migration::introspect(db).await.expect("introspect");
    let columns: Vec<String> = graph
        .table(table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    service::snapshot::table_rows(db, table, &columns)
        .await
        .expect("dump")
}

/// Runs `cascade ARGS...` in-process; returns the outcome and what it wrote to stdout.
pub async fn cascade(args: &[&str]) -> (anyhow::Result<service::cli::Status>, String) {
    use clap::Parser;
    let cli =
        service::cli::Cli::try_parse_from(std::iter::once("cascade").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("usage error for {args:?}: {e}"));
    let mut out = Vec::new();
    let status = service::cli::run(cli, &mut out).await;
    (status, String::from_utf8_lossy(&out).into_owned())
}

/// Creates `ddl` with enforcement on, then inserts `data` with enforcement off (so fixtures may
/// hold orphans), on the test database.
pub async fn build_fixture(db: &TestDb, ddl: &[String], data: &[String]) {
    for sql in ddl {
        db.conn
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let loose = service::connect::connect(&db.url, service::connect::Enforce::Off)
        .await
        .expect("connection with enforcement off");
    for sql in data {
        loose
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    loose.close().await.expect("close");
}
