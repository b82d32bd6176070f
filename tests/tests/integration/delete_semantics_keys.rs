//! Pinned cases for what a rewrite does beyond its own row, each against every engine's own
//! result: an ON DELETE SET NULL / SET DEFAULT that changes a referenced key fires the
//! referencing rows' ON UPDATE rule (refusing, cascading, nulling, in chains); a rewrite that
//! breaks a CHECK constraint; SET NULL into a composite primary key column (SQLite's rowid
//! tables accept it, PostgreSQL refuses); PostgreSQL's NO ACTION passing when an equal key
//! exists again at check time.

use cascade_entity::rules::Dialect;
use cascade_service::delete::{Outcome, RefusalKind};
use rstest::rstest;
use tests::pinned::{Case, Expect, check, strings};
use tests::with_db;

const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// `p` <- `m.p_id` (UNIQUE, ON DELETE SET NULL) <- `c.m_p` (ON UPDATE `on_update`).
fn key_chain(on_update: &str, c_not_null: bool) -> Vec<String> {
    let null = if c_not_null { "NOT NULL" } else { "NULL" };
    vec![
        "CREATE TABLE p (id INT PRIMARY KEY)".into(),
        "CREATE TABLE m (id INT PRIMARY KEY, p_id INT NULL UNIQUE, \
         FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL)"
            .into(),
        format!(
            "CREATE TABLE c (id INT PRIMARY KEY, m_p INT {null}, \
             FOREIGN KEY (m_p) REFERENCES m (p_id) ON UPDATE {on_update})"
        ),
    ]
}

fn key_chain_data() -> Vec<String> {
    strings(&[
        "INSERT INTO p VALUES (1), (2)",
        "INSERT INTO m VALUES (1, 1), (2, 2)",
        "INSERT INTO c VALUES (1, 1), (2, 2)",
    ])
}

#[rstest]
#[tokio::test]
async fn on_update_cascade_follows_a_nulled_key(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: key_chain("CASCADE", false),
            data: key_chain_data(),
            table: "p",
            predicate: "id = 1",
        };
        check(&db, case, Expect::Deleted(1)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn on_update_set_null_follows_a_nulled_key(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: key_chain("SET NULL", false),
            data: key_chain_data(),
            table: "p",
            predicate: "id = 1",
        };
        check(&db, case, Expect::Deleted(1)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn on_update_restrict_refuses_a_nulled_key(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: key_chain("RESTRICT", false),
            data: key_chain_data(),
            table: "p",
            predicate: "id = 1",
        };
        check(&db, case, Expect::Refused(RefusalKind::Restrict)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn on_update_no_action_refuses_a_nulled_key(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: key_chain("NO ACTION", false),
            data: key_chain_data(),
            table: "p",
            predicate: "id = 1",
        };
        // InnoDB checks NO ACTION immediately, exactly like RESTRICT.
        let kind = match dialect {
            Dialect::MySql => RefusalKind::Restrict,
            _ => RefusalKind::NoAction,
        };
        check(&db, case, Expect::Refused(kind)).await;
    })
    .await;
}

/// MariaDB refuses at CREATE an ON UPDATE CASCADE from a nullable key into a NOT NULL column.
#[rstest]
#[tokio::test]
async fn on_update_cascade_into_not_null_is_refused(#[values(ALL[0], ALL[1])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: key_chain("CASCADE", true),
            data: key_chain_data(),
            table: "p",
            predicate: "id = 1",
        };
        check(&db, case, Expect::Refused(RefusalKind::NotNull)).await;
    })
    .await;
}

/// MariaDB refuses a CHECK on a column an FK action writes (error 1901) at CREATE.
#[rstest]
#[tokio::test]
async fn set_null_breaking_a_check_is_refused(#[values(ALL[0], ALL[1])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: strings(&[
                "CREATE TABLE p (id INT PRIMARY KEY)",
                "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, \
                 CONSTRAINT c_has_parent CHECK (p_id IS NOT NULL OR id > 100), \
                 FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL)",
            ]),
            data: strings(&[
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1), (2, 2), (101, 1)",
            ]),
            table: "p",
            predicate: "id = 1",
        };
        check(&db, case, Expect::Refused(RefusalKind::Check)).await;
    })
    .await;
}

/// MariaDB refuses SET NULL on a key column (NOT NULL) at CREATE.
#[rstest]
#[tokio::test]
async fn set_null_into_a_composite_key_column(#[values(ALL[0], ALL[1])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: strings(&[
                "CREATE TABLE p (id INT PRIMARY KEY)",
                "CREATE TABLE c (a INT NOT NULL, b INT, PRIMARY KEY (a, b), \
                 FOREIGN KEY (b) REFERENCES p (id) ON DELETE SET NULL)",
            ]),
            data: strings(&[
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1), (2, 2)",
            ]),
            table: "p",
            predicate: "id = 1",
        };
        let expect = match dialect {
            // SQLite's rowid tables take NULL in a key column that was not declared NOT NULL.
            Dialect::Sqlite => Expect::Deleted(1),
            _ => Expect::Refused(RefusalKind::NotNull),
        };
        let report = check(&db, case, expect).await;
        if dialect == Dialect::Sqlite {
            assert!(matches!(report.orm, Outcome::Deleted { .. }));
        }
    })
    .await;
}
