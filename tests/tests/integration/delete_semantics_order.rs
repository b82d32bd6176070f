//! Pinned cases for each engine's firing order, each against every engine's own result: which
//! of two FKs between the same tables fires first (SQLite: newest declared; PostgreSQL: oldest
//! created; InnoDB: constraint-name order), and in which order one statement's root rows are
//! visited (SQLite: rowid; InnoDB: primary key; PostgreSQL deletes them all before any action).
//! The model replays the engine's order here rather than abstaining.

use cascade_entity::rules::Dialect;
use cascade_service::delete::RefusalKind;
use rstest::rstest;
use tests::pinned::{Case, Expect, check, strings};
use tests::with_db;

const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// `c` references `p` twice: `first` then `second` in declaration order, each `(name, action)`.
fn two_fks(first: (&str, &str), second: (&str, &str)) -> Vec<String> {
    vec![
        "CREATE TABLE p (id INT PRIMARY KEY)".into(),
        format!(
            "CREATE TABLE c (id INT PRIMARY KEY, a INT NULL, b INT NULL, \
             CONSTRAINT {} FOREIGN KEY (a) REFERENCES p (id) ON DELETE {}, \
             CONSTRAINT {} FOREIGN KEY (b) REFERENCES p (id) ON DELETE {})",
            first.0, first.1, second.0, second.1
        ),
    ]
}

fn two_fks_data() -> Vec<String> {
    strings(&[
        "INSERT INTO p VALUES (1), (2)",
        "INSERT INTO c VALUES (1, 1, 1), (2, 2, 2)",
    ])
}

/// Declared CASCADE then RESTRICT, named so that RESTRICT comes first by name.
#[rstest]
#[tokio::test]
async fn cascade_declared_first_restrict_named_first(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: two_fks(("c_z", "CASCADE"), ("c_a", "RESTRICT")),
            data: two_fks_data(),
            table: "p",
            predicate: "id = 1",
        };
        let expect = match dialect {
            // Newest declared first: RESTRICT sees the row before the cascade removes it.
            Dialect::Sqlite => Expect::Refused(RefusalKind::Restrict),
            // Oldest created first: the cascade's delete is queued before RESTRICT's check.
            Dialect::Postgres => Expect::Deleted(2),
            // Name order: `c_a` (RESTRICT) is checked first.
            Dialect::MySql => Expect::Refused(RefusalKind::Restrict),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// Declared RESTRICT then CASCADE, RESTRICT first by name too.
#[rstest]
#[tokio::test]
async fn restrict_declared_first(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: two_fks(("c_a", "RESTRICT"), ("c_z", "CASCADE")),
            data: two_fks_data(),
            table: "p",
            predicate: "id = 1",
        };
        let expect = match dialect {
            Dialect::Sqlite => Expect::Deleted(2),
            Dialect::Postgres | Dialect::MySql => Expect::Refused(RefusalKind::Restrict),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// Declared RESTRICT then CASCADE, CASCADE first by name.
#[rstest]
#[tokio::test]
async fn cascade_named_first(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: two_fks(("c_z", "RESTRICT"), ("c_a", "CASCADE")),
            data: two_fks_data(),
            table: "p",
            predicate: "id = 1",
        };
        let expect = match dialect {
            Dialect::Sqlite | Dialect::MySql => Expect::Deleted(2),
            Dialect::Postgres => Expect::Refused(RefusalKind::Restrict),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// A self-referencing table; rows inserted in `order` (so rowid order is insertion order).
fn tree(action: &str) -> Vec<String> {
    vec![format!(
        "CREATE TABLE t (id INT PRIMARY KEY, up INT NULL, \
         CONSTRAINT t_up FOREIGN KEY (up) REFERENCES t (id) ON DELETE {action})"
    )]
}

/// Two root rows, the child inserted after its parent: SQLite (rowid order) and InnoDB (key
/// order) delete the parent first and RESTRICT sees the child; PostgreSQL deletes both rows
/// before any check runs.
#[rstest]
#[tokio::test]
async fn multi_row_root_restrict(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: tree("RESTRICT"),
            data: strings(&[
                "INSERT INTO t VALUES (1, NULL)",
                "INSERT INTO t VALUES (2, 1)",
            ]),
            table: "t",
            predicate: "id IN (1, 2)",
        };
        let expect = match dialect {
            Dialect::Postgres => Expect::Deleted(2),
            _ => Expect::Refused(RefusalKind::Restrict),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// The parent has the larger key but was inserted first: SQLite's rowid order deletes it
/// first and RESTRICT sees the child; InnoDB's key order deletes the child first.
#[rstest]
#[tokio::test]
async fn multi_row_root_rowid_order(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: tree("RESTRICT"),
            data: strings(&[
                "INSERT INTO t VALUES (2, NULL)",
                "INSERT INTO t VALUES (1, 2)",
            ]),
            table: "t",
            predicate: "id IN (1, 2)",
        };
        let expect = match dialect {
            Dialect::Sqlite => Expect::Refused(RefusalKind::Restrict),
            _ => Expect::Deleted(2),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// NO ACTION on a self-reference: SQLite's end-of-statement counter nets to zero and
/// PostgreSQL's check finds the child gone; InnoDB checks at once, like RESTRICT.
#[rstest]
#[tokio::test]
async fn multi_row_root_no_action(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: tree("NO ACTION"),
            data: strings(&[
                "INSERT INTO t VALUES (1, NULL)",
                "INSERT INTO t VALUES (2, 1)",
            ]),
            table: "t",
            predicate: "id IN (1, 2)",
        };
        let expect = match dialect {
            Dialect::MySql => Expect::Refused(RefusalKind::Restrict),
            _ => Expect::Deleted(2),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// RESTRICT on a secondary unique key, CASCADE on the primary key, RESTRICT first by name and
/// by creation: InnoDB checks the FKs on the primary key with the clustered record first, so
/// the cascade has removed the row before the unique key's check; SQLite fires the newest
/// declared (CASCADE) first; PostgreSQL the oldest created (RESTRICT).
#[rstest]
#[tokio::test]
async fn innodb_checks_primary_key_references_first(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: strings(&[
                "CREATE TABLE p (id INT PRIMARY KEY, u INT NULL UNIQUE)",
                "CREATE TABLE c (id INT PRIMARY KEY, a INT NULL, b INT NULL, \
                 CONSTRAINT c_a FOREIGN KEY (a) REFERENCES p (u) ON DELETE RESTRICT, \
                 CONSTRAINT c_z FOREIGN KEY (b) REFERENCES p (id) ON DELETE CASCADE)",
            ]),
            data: strings(&[
                "INSERT INTO p VALUES (1, 1)",
                "INSERT INTO c VALUES (1, 1, 1)",
            ]),
            table: "p",
            predicate: "id = 1",
        };
        let expect = match dialect {
            Dialect::Postgres => Expect::Refused(RefusalKind::Restrict),
            _ => Expect::Deleted(2),
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// PostgreSQL: a NO ACTION check that is `DEFERRABLE INITIALLY DEFERRED` waits for the end, by
/// which the cascade of a later-created FK has removed the row; immediate, its queued event
/// comes first and refuses.
#[rstest]
#[tokio::test]
async fn deferred_no_action_waits_for_the_cascade(
    #[values("", " DEFERRABLE INITIALLY DEFERRED")] deferral: &str,
) {
    with_db(Dialect::Postgres, |db| async move {
        let case = Case {
            ddl: vec![
                "CREATE TABLE p (id INT PRIMARY KEY)".into(),
                format!(
                    "CREATE TABLE c (id INT PRIMARY KEY, a INT NULL, b INT NULL, \
                     CONSTRAINT c_a FOREIGN KEY (a) REFERENCES p (id) ON DELETE NO ACTION{deferral}, \
                     CONSTRAINT c_b FOREIGN KEY (b) REFERENCES p (id) ON DELETE CASCADE)"
                ),
            ],
            data: strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1, 1)"]),
            table: "p",
            predicate: "id = 1",
        };
        let expect = if deferral.is_empty() {
            Expect::Refused(RefusalKind::NoAction)
        } else {
            Expect::Deleted(2)
        };
        check(&db, case, expect).await;
    })
    .await;
}

/// Two rows reference each other through two unique columns: `a` references `b` (RESTRICT),
/// `b` references `a` (CASCADE). InnoDB delete-marks a row index by index, each just before it
/// checks the FKs referencing that index: deleting row 1 cascades (through `a`'s index) to row
/// 2, whose RESTRICT scan of `a`'s index then finds row 1 already marked and skips it. Deleting
/// row 2 first meets row 1 alive.
#[rstest]
#[tokio::test]
async fn rows_referencing_each_other_through_unique_indexes(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
    #[values("id = 1", "id = 2")] predicate: &'static str,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: strings(&[
                "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, b INT NULL, UNIQUE (a), \
                 UNIQUE (b), \
                 CONSTRAINT t_r FOREIGN KEY (a) REFERENCES t (b) ON DELETE RESTRICT, \
                 CONSTRAINT t_c FOREIGN KEY (b) REFERENCES t (a) ON DELETE CASCADE)",
            ]),
            data: strings(&["INSERT INTO t VALUES (1, 9, NULL), (2, NULL, 9)"]),
            table: "t",
            predicate,
        };
        let expect = if predicate == "id = 1" {
            Expect::Deleted(2)
        } else {
            Expect::Refused(RefusalKind::Restrict)
        };
        check(&db, case, expect).await;
    })
    .await;
}
