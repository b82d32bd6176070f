//! Test harness: the library's own test-database helper (`cascade_service::testdb`, the one an
//! app uses: a fresh, uniquely named database per test on each real backend, dropped when the test
//! passes, kept when it fails), plus the shipped domain's CLI run in-process and table dumps.

pub mod pinned;
pub mod random_schema;

use sea_orm::{ConnectionTrait, DatabaseConnection};

pub use cascade_entity::rules::Dialect as Backend;
pub use cascade_service::testdb::{TestDb, with_db, with_migrated_db};

/// The shipped domain's rule graph.
pub fn domain_rules() -> cascade_entity::RuleGraph {
    genai_factory::registry()
        .rules()
        .expect("the shipped declarations are valid")
}

/// Migrates `db` with the domain's frozen migrations and inserts its fixture shape (about
/// `scale` rows, deterministic for `seed`); returns the domain's rules.
pub async fn seed_domain(
    db: &DatabaseConnection,
    scale: usize,
    seed: u64,
) -> cascade_entity::RuleGraph {
    use cascade_migration::MigratorTrait;
    use cascade_service::fixtures::{InsertOptions, insert};
    genai_factory::Migrator::up(db, None)
        .await
        .expect("migrate up");
    let graph = domain_rules();
    let fixtures = genai_factory::fixtures::shape(&graph, scale, seed).expect("fixtures");
    let options = InsertOptions {
        seed,
        ..InsertOptions::default()
    };
    insert(db, &graph, &fixtures, &options).await.expect("seed");
    graph
}

/// Every row of `table`, each column cast to text, ordered by all columns: a comparable
/// snapshot of the table's contents.
pub async fn dump_table(db: &DatabaseConnection, table: &str) -> Vec<Vec<Option<String>>> {
    let graph = cascade_migration::introspect(db).await.expect("introspect");
    let columns = &graph
        .table(table)
        .unwrap_or_else(|| panic!("no table {table}"))
        .columns;
    cascade_service::snapshot::table_rows(db, table, columns)
        .await
        .expect("dump")
}

/// Runs the shipped domain's `cascade ARGS...` in-process; returns the outcome and what it wrote
/// to stdout.
pub async fn cascade(args: &[&str]) -> (anyhow::Result<cascade_cli::Status>, String) {
    cascade_with(&genai_factory::app(), args).await
}

/// What one run of the command line ended with, as the binary would: exit code, stdout, stderr.
#[derive(Debug)]
pub struct Run {
    /// 0, 1 or 2.
    pub code: u8,
    /// The report.
    pub out: String,
    /// Errors and usage messages.
    pub err: String,
}

/// Runs the shipped domain's `cascade ARGS...` in-process exactly as the binary does
/// (`cascade_cli::run_args`: clap's usage errors, exit codes, errors printed once).
pub async fn run_cli(args: &[&str]) -> Run {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = cascade_cli::run_args(
        &genai_factory::app(),
        std::iter::once("cascade").chain(args.iter().copied()),
        &mut out,
        &mut err,
    )
    .await;
    Run {
        code,
        out: String::from_utf8_lossy(&out).into_owned(),
        err: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Runs `cascade ARGS...` for `app` in-process.
pub async fn cascade_with(
    app: &cascade_cli::App,
    args: &[&str],
) -> (anyhow::Result<cascade_cli::Status>, String) {
    use clap::Parser;
    let cli =
        cascade_cli::Cli::try_parse_from(std::iter::once("cascade").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("usage error for {args:?}: {e}"));
    let mut out = Vec::new();
    let status = cascade_cli::run(app, cli, &mut out).await;
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
    let loose = cascade_service::connect::connect(&db.url, cascade_service::connect::Enforce::Off)
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

/// Runs one statement, panicking with the statement and the error when it fails.
pub async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The first column of the first row of `sql` as an integer, panicking when there is none.
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .and_then(|row| row.try_get_by_index::<i64>(0).ok())
    .unwrap_or_else(|| panic!("{sql}: no value"))
}
