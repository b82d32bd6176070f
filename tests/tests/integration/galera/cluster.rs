//! The Galera test harness: the three nodes of the cluster `scripts/galera start` runs, a fresh
//! uniquely named database per test (created on node 1, replicated to all three, dropped
//! afterwards even on panic), and helpers to read every node once it has caught up.
//!
//! Node URLs come from `CASCADE_TEST_GALERA_URLS` (three comma-separated admin URLs), default
//! the script's loopback ports. A node that cannot be reached, or a cluster that is not three
//! synced nodes, fails the test with the command that starts it: never skipped. Tests run one at
//! a time (they change global settings of node 1 and count lock waits on it).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use cascade_service::connect::{Enforce, connect};
use futures::FutureExt;
use sea_orm::sqlx::{Connection, MySqlConnection};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The three loopback nodes of `scripts/galera start`.
pub const DEFAULT_URLS: &str = "mysql://root@127.0.0.1:3311/test,mysql://root@127.0.0.1:3312/test,\
                                mysql://root@127.0.0.1:3313/test";
const START: &str = "scripts/galera start";

/// One test at a time on the cluster.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A database that exists on every node for one test.
pub struct Cluster {
    /// URL of the test database on node 1, 2, 3 (what `cascade --url` would be given).
    pub urls: Vec<String>,
    /// One pool per node whose every session waits for the node to apply all writes committed
    /// anywhere in the cluster before it reads (`wsrep_sync_wait = 1`): reads are current.
    pub nodes: Vec<DatabaseConnection>,
}

impl Cluster {
    /// A plain connection to node `i` (0-based), FK enforcement on: what an application uses.
    pub async fn app(&self, i: usize) -> DatabaseConnection {
        connect(&self.urls[i], Enforce::On)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.urls[i]))
    }

    /// A single raw session on node `i`, for writers that must hold one transaction.
    pub async fn session(&self, i: usize) -> MySqlConnection {
        MySqlConnection::connect(&self.urls[i])
            .await
            .unwrap_or_else(|e| panic!("session on {}: {e}", self.urls[i]))
    }

    /// Waits until every node has applied everything committed so far, so that connections
    /// without `wsrep_sync_wait` (the CLI's) read current data too.
    pub async fn settle(&self) {
        for (i, node) in self.nodes.iter().enumerate() {
            node.execute_unprepared("SELECT 1")
                .await
                .unwrap_or_else(|e| panic!("node {} did not catch up: {e}", i + 1));
        }
    }
}

/// Runs `body` against a fresh database on the cluster, then drops it, even if the body
/// panicked (the panic is then resumed).
pub async fn with_cluster<F, Fut>(body: F)
where
    F: FnOnce(Cluster) -> Fut,
    Fut: Future<Output = ()>,
{
    let _serial = SERIAL.lock().await;
    let admin_urls = admin_urls();
    let mut admins = Vec::new();
    for (i, url) in admin_urls.iter().enumerate() {
        admins.push(node_pool(i, url).await);
    }
    let name = unique_name();
    admins[0]
        .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
        .await
        .unwrap_or_else(|e| panic!("creating {name} on node 1: {e}"));
    let urls: Vec<String> = admin_urls
        .iter()
        .map(|u| replace_database(u, &name))
        .collect();
    let mut nodes = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        // The admin session waits for the replicated CREATE DATABASE before the node is used.
        admins[i]
            .execute_unprepared("SELECT 1")
            .await
            .unwrap_or_else(|e| panic!("node {} did not catch up: {e}", i + 1));
        nodes.push(node_pool(i, url).await);
    }
    let cluster = Cluster { urls, nodes };
    let outcome = AssertUnwindSafe(body(cluster)).catch_unwind().await;
    if let Err(e) = admins[0]
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
    {
        eprintln!("warning: could not drop test database {name}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The three admin URLs: `CASCADE_TEST_GALERA_URLS`, else the script's defaults.
fn admin_urls() -> Vec<String> {
    let urls: Vec<String> = std::env::var("CASCADE_TEST_GALERA_URLS")
        .unwrap_or_else(|_| DEFAULT_URLS.replace(' ', ""))
        .split(',')
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    assert_eq!(
        urls.len(),
        3,
        "CASCADE_TEST_GALERA_URLS must name three nodes, comma-separated"
    );
    urls
}

/// A pool on node `i` whose sessions read causally (`wsrep_sync_wait = 1`); fails the test with
/// the start command unless the node is reachable and a synced member of a 3-node cluster.
async fn node_pool(i: usize, url: &str) -> DatabaseConnection {
    let n = i + 1;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(std::time::Duration::from_secs(5))
        .acquire_timeout(std::time::Duration::from_secs(5))
        .map_sqlx_mysql_pool_opts(|pool| {
            pool.after_connect(|conn, _| {
                Box::pin(async move {
                    sea_orm::sqlx::Executor::execute(conn, "SET SESSION wsrep_sync_wait = 1")
                        .await
                        .map(drop)
                })
            })
        });
    let db = Database::connect(options).await.unwrap_or_else(|e| {
        panic!(
            "Galera node {n} is not reachable at {url} ({e}).\n\
             Start the test cluster with: {START}"
        )
    });
    let size = status(&db, "wsrep_cluster_size").await;
    let ready = status(&db, "wsrep_ready").await;
    assert!(
        size == "3" && ready == "ON",
        "Galera node {n} at {url} is not a ready member of a 3-node cluster \
         (wsrep_cluster_size={size}, wsrep_ready={ready}).\nStart it with: {START}"
    );
    db
}

/// A global status variable of a node, as text.
pub async fn status(db: &DatabaseConnection, name: &str) -> String {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SHOW GLOBAL STATUS LIKE '{name}'"),
        ))
        .await
        .unwrap_or_else(|e| panic!("SHOW STATUS: {e}.\nIs it a Galera node? Start with: {START}"));
    row.and_then(|r| r.try_get_by_index::<String>(1).ok())
        .unwrap_or_default()
}

/// `cascade_g_<pid>_<counter>_<nanos>`.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cascade_g_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `mysql://auth@host:port/db?opts` with another database.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    if query.is_empty() {
        format!("{root}/{name}")
    } else {
        format!("{root}/{name}?{query}")
    }
}

/// The MySQL error number of a failed statement, if the server sent one.
pub fn error_number(error: &sea_orm::sqlx::Error) -> Option<u16> {
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sea_orm::SqlxMySqlError>())
        .map(|e| e.number())
}
