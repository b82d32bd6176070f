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

/// `c` NO ACTION references `p.code`; deleting `q` 1 cascades to `p` 1 (code 7) and sets `p` 2's
/// code to its default, 7, in the same statement: an equal key exists again when PostgreSQL
/// checks NO ACTION (its FIFO order puts the SET DEFAULT, fired by the FK created second, before
/// the check fired by `p` 1's delete), so PostgreSQL deletes. SQLite fires the newest FK first:
/// the SET DEFAULT writes 7 while `p` 1 still holds it, a UNIQUE violation. InnoDB stores SET
/// DEFAULT as RESTRICT and refuses.
fn replacement_key() -> Case {
    Case {
        ddl: strings(&[
            "CREATE TABLE q (id INT PRIMARY KEY)",
            "CREATE TABLE p (id INT PRIMARY KEY, q_ref INT NULL, code INT NULL DEFAULT 7, \
             UNIQUE (code), \
             CONSTRAINT p_q_ref FOREIGN KEY (q_ref) REFERENCES q (id) ON DELETE CASCADE, \
             CONSTRAINT p_code FOREIGN KEY (code) REFERENCES q (id) ON DELETE SET DEFAULT)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_code INT NULL, \
             FOREIGN KEY (p_code) REFERENCES p (code) ON DELETE NO ACTION)",
        ]),
        data: strings(&[
            "INSERT INTO q VALUES (1), (7)",
            "INSERT INTO p VALUES (1, 1, 7), (2, 7, 1)",
            "INSERT INTO c VALUES (1, 7)",
        ]),
        table: "q",
        predicate: "id = 1",
    }
}

#[rstest]
#[tokio::test]
async fn no_action_with_a_key_written_back_in_the_same_statement(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let report = check(&db, replacement_key(), Expect::Any).await;
        match dialect {
            // SET DEFAULT is RESTRICT in InnoDB: refused, exactly.
            Dialect::MySql => {
                assert!(report.matches, "{report:#?}");
                assert!(matches!(report.native, Outcome::Refused { .. }));
            }
            // SQLite's order meets the UNIQUE key first; the model decides it exactly or
            // abstains.
            Dialect::Sqlite => {
                assert!(
                    matches!(
                        report.native,
                        Outcome::Refused {
                            kind: RefusalKind::Unique,
                            ..
                        }
                    ),
                    "{report:#?}"
                );
                assert!(report.matches || report.abstained, "{report:#?}");
            }
            // PostgreSQL passes because a key came back; the model decides it exactly or
            // abstains, never refuses as if nothing came back.
            Dialect::Postgres => {
                assert!(
                    matches!(report.native, Outcome::Deleted { .. }),
                    "{report:#?}"
                );
                assert!(report.matches || report.abstained, "{report:#?}");
            }
        }
    })
    .await;
}
