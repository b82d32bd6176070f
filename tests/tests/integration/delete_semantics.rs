//! Pinned edge cases of delete semantics, each asserted against the engine's own result on every
//! dialect: the verifier runs the native delete (enforcement on) and our executor (enforcement
//! off) on identical data and compares outcome and every table. Each case also states the
//! outcome expected per engine, so a case cannot pass by both sides being wrong the same way.

use cascade_entity::rules::Dialect;
use cascade_service::delete::{Outcome, RefusalKind, Selection};
use rstest::rstest;
use sea_orm::Condition;
use sea_orm::sea_query::Expr;
use tests::pinned::{Case, Expect, check, strings};
use tests::{TestDb, with_db};

/// Runs the delete through the ORM executor and commits (the verifier rolls back).
async fn delete_for_real(db: &TestDb, table: &str, predicate: &str) {
    let graph = cascade_migration::introspect(&db.conn)
        .await
        .expect("introspect");
    let selection = Selection::condition(Condition::all().add(Expr::cust(predicate.to_owned())));
    cascade_service::delete::delete(&db.conn, &graph, table, &selection, Default::default())
        .await
        .expect("delete");
}

const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

fn parent_child(action: &str) -> Vec<String> {
    vec![
        "CREATE TABLE p (id INT PRIMARY KEY)".into(),
        format!(
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE {action})"
        ),
    ]
}

#[rstest]
#[tokio::test]
async fn restrict_with_surviving_child_is_refused(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: parent_child("RESTRICT"),
            data: strings(&[
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1)",
            ]),
            table: "p",
            predicate: "id = 1",
        };
        let report = check(&db, case, Expect::Refused(RefusalKind::Restrict)).await;
        let Outcome::Refused { message, .. } = report.orm else {
            unreachable!()
        };
        assert!(message.contains("c(p_id) -> p(id)"), "{message}");
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn no_action_with_surviving_child_is_refused(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: parent_child("NO ACTION"),
            data: strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1)"]),
            table: "p",
            predicate: "id = 1",
        };
        let kind = if dialect == Dialect::MySql {
            RefusalKind::Restrict
        } else {
            RefusalKind::NoAction
        };
        check(&db, case, Expect::Refused(kind)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn unrelated_child_rows_do_not_block(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let case = Case {
            ddl: parent_child("RESTRICT"),
            data: strings(&[
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 2), (2, NULL)",
            ]),
            table: "p",
            predicate: "id = 1",
        };
        check(&db, case, Expect::Deleted(1)).await;
    })
    .await;
}

/// SQLite counts NO ACTION violations net: deleting a row whose own reference already dangled
/// cancels one. The other engines check each reference.
#[rstest]
#[tokio::test]
async fn sqlite_net_counter_lets_a_dangling_row_cancel_a_violation(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let mut ddl = parent_child("NO ACTION");
        ddl.push("CREATE TABLE x (id INT PRIMARY KEY)".into());
        ddl.push("CREATE TABLE d (id INT PRIMARY KEY, p_id INT NULL, x_id INT NULL, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE, FOREIGN KEY (x_id) REFERENCES x (id))".into());
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1)", "INSERT INTO d VALUES (1, 1, 77)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        let expect = match dialect {
            Dialect::Sqlite => Expect::Deleted(2),
            Dialect::MySql => Expect::Refused(RefusalKind::Restrict),
            Dialect::Postgres => Expect::Refused(RefusalKind::NoAction),
        };
        check(&db, case, expect).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn match_simple_composite_keys(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b))",
            "CREATE TABLE c (id INT PRIMARY KEY, a INT NULL, b INT NULL, FOREIGN KEY (a, b) REFERENCES p (a, b) ON DELETE CASCADE)",
            "CREATE TABLE n (id INT PRIMARY KEY, a INT NULL, b INT NULL, FOREIGN KEY (a, b) REFERENCES p (a, b) ON DELETE SET NULL)",
        ]);
        // c(2) and n(2) are partly NULL: MATCH SIMPLE neither checks nor matches them.
        let data = strings(&[
            "INSERT INTO p VALUES (1, 1), (1, 2)",
            "INSERT INTO c VALUES (1, 1, 1), (2, 1, NULL), (3, 1, 2)",
            "INSERT INTO n VALUES (1, 1, 1), (2, 1, NULL)",
        ]);
        let case = Case { ddl, data, table: "p", predicate: "a = 1 AND b = 1" };
        check(&db, case, Expect::Deleted(2)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn self_referencing_tree_and_several_roots(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let ddl = strings(&["CREATE TABLE node (id INT PRIMARY KEY, parent_id INT NULL, FOREIGN KEY (parent_id) REFERENCES node (id) ON DELETE CASCADE)"]);
        let data = strings(&["INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2), (4, 3), (5, 4), (10, NULL), (11, 10), (20, NULL), (21, 20)"]);
        let case = Case { ddl, data, table: "node", predicate: "id IN (1, 10)" };
        check(&db, case, Expect::Deleted(7)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn two_table_cycle(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let mut ddl = strings(&[
            "CREATE TABLE a (id INT PRIMARY KEY, b_id INT NULL)",
            "CREATE TABLE b (id INT PRIMARY KEY, a_id INT NULL, FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE CASCADE)",
        ]);
        if dialect == Dialect::Sqlite {
            ddl[0] = "CREATE TABLE a (id INT PRIMARY KEY, b_id INT NULL, FOREIGN KEY (b_id) REFERENCES b (id) ON DELETE CASCADE)".into();
        } else {
            ddl.push("ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id) ON DELETE CASCADE".into());
        }
        let data = strings(&["INSERT INTO a VALUES (1, 1), (2, 2), (3, NULL)", "INSERT INTO b VALUES (1, 1), (2, 1), (3, 3)"]);
        // a1 -> b1, b2 (a_id = 1) -> a2 (b_id = 2) -> nothing more; a3 and b3 survive.
        let case = Case { ddl, data, table: "a", predicate: "id = 1" };
        check(&db, case, Expect::Deleted(4)).await;
    })
    .await;
}

/// A row reached both by a CASCADE and a SET NULL: it is deleted; rows reached only by the
/// SET NULL are nulled.
#[rstest]
#[tokio::test]
async fn cascade_and_set_null_reaching_one_row(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE m (id INT PRIMARY KEY, p_id INT NULL, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, m_id INT NULL, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL, FOREIGN KEY (m_id) REFERENCES m (id) ON DELETE CASCADE)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO m VALUES (1, 1)", "INSERT INTO c VALUES (1, 1, 1), (2, 1, NULL)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        check(&db, case, Expect::Deleted(3)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn set_default_and_innodb_storing_restrict(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL DEFAULT 0, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET DEFAULT)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (0), (1)", "INSERT INTO c VALUES (1, 1), (2, 1)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        let expect = if dialect == Dialect::MySql { Expect::Refused(RefusalKind::Restrict) } else { Expect::Deleted(1) };
        check(&db, case, expect).await;
        if dialect != Dialect::MySql {
            delete_for_real(&db, "p", "id = 1").await;
            let dump = tests::dump_table(&db.conn, "c").await;
            assert!(dump.iter().all(|row| row[1].as_deref() == Some("0")), "{dump:?}");
        }
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn set_default_without_parent_row_is_refused(#[values(ALL[0], ALL[1])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL DEFAULT 0, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET DEFAULT)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        check(&db, case, Expect::Refused(RefusalKind::FkMissingParent)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn set_null_on_not_null_column_is_refused(#[values(ALL[0], ALL[1])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        check(&db, case, Expect::Refused(RefusalKind::NotNull)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
/// (MariaDB refuses a CHECK on a column that an FK action writes, at CREATE.)
async fn check_constraint_broken_by_set_null(#[values(ALL[0], ALL[1])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, kind INT NOT NULL, CONSTRAINT kind_needs_parent CHECK (kind = 0 OR p_id IS NOT NULL), FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1, 1)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        check(&db, case, Expect::Refused(RefusalKind::Check)).await;
    })
    .await;
}

#[rstest]
#[tokio::test]
async fn pre_existing_orphans_are_left_alone(#[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect) {
    with_db(dialect, |db| async move {
        let mut ddl = parent_child("CASCADE");
        ddl.push("CREATE TABLE g (id INT PRIMARY KEY, c_id INT NULL, FOREIGN KEY (c_id) REFERENCES c (id) ON DELETE SET NULL)".into());
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1), (2, 99)", "INSERT INTO g VALUES (1, 1), (2, 2), (3, 42)"]);
        let case = Case { ddl, data, table: "p", predicate: "id = 1" };
        check(&db, case, Expect::Deleted(2)).await;
    })
    .await;
}

/// InnoDB refuses cascades 15 levels deep; the model refuses the same delete.
#[tokio::test]
async fn innodb_cascade_depth_limit() {
    with_db(Dialect::MySql, |db| async move {
        let mut ddl = vec!["CREATE TABLE c0 (id INT PRIMARY KEY)".to_owned()];
        let mut data = vec!["INSERT INTO c0 VALUES (1)".to_owned()];
        for level in 1..=15 {
            ddl.push(format!("CREATE TABLE c{level} (id INT PRIMARY KEY, up INT NULL, FOREIGN KEY (up) REFERENCES c{} (id) ON DELETE CASCADE)", level - 1));
            data.push(format!("INSERT INTO c{level} VALUES (1, 1)"));
        }
        check(&db, Case { ddl, data, table: "c0", predicate: "id = 1" }, Expect::Refused(RefusalKind::CascadeDepth)).await;
    })
    .await;
}

#[tokio::test]
async fn innodb_row_referencing_itself_blocks_its_own_delete() {
    for dialect in ALL {
        with_db(dialect, |db| async move {
            let ddl = strings(&["CREATE TABLE t (id INT PRIMARY KEY, p INT NULL, FOREIGN KEY (p) REFERENCES t (id) ON DELETE RESTRICT)"]);
            let data = strings(&["INSERT INTO t VALUES (1, 1)"]);
            let expect = if dialect == Dialect::MySql { Expect::Refused(RefusalKind::Restrict) } else { Expect::Deleted(1) };
            check(&db, Case { ddl, data, table: "t", predicate: "id = 1" }, expect).await;
        })
        .await;
    }
}

#[tokio::test]
async fn sqlite_fk_to_non_key_columns_is_a_mismatch() {
    with_db(Dialect::Sqlite, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY, code INT)",
            "CREATE TABLE c (id INT PRIMARY KEY, code INT, FOREIGN KEY (code) REFERENCES p (code) ON DELETE CASCADE)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1, 5)", "INSERT INTO c VALUES (1, 5)"]);
        check(&db, Case { ddl, data, table: "p", predicate: "id = 1" }, Expect::Refused(RefusalKind::FkMismatch)).await;
    })
    .await;
}

#[tokio::test]
async fn postgres_set_null_column_list() {
    with_db(Dialect::Postgres, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE tenant (id INT PRIMARY KEY)",
            "CREATE TABLE doc (tenant_id INT NOT NULL REFERENCES tenant (id), id INT NOT NULL, PRIMARY KEY (tenant_id, id))",
            "CREATE TABLE note (id INT PRIMARY KEY, tenant_id INT NOT NULL, doc_id INT, FOREIGN KEY (tenant_id, doc_id) REFERENCES doc (tenant_id, id) ON DELETE SET NULL (doc_id))",
        ]);
        let data = strings(&["INSERT INTO tenant VALUES (1)", "INSERT INTO doc VALUES (1, 1), (1, 2)", "INSERT INTO note VALUES (1, 1, 1), (2, 1, 2)"]);
        check(&db, Case { ddl, data, table: "doc", predicate: "id = 1" }, Expect::Deleted(1)).await;
        delete_for_real(&db, "doc", "id = 1").await;
        let notes = tests::dump_table(&db.conn, "note").await;
        assert!(notes.contains(&vec![Some("1".into()), Some("1".into()), None]), "tenant kept, doc nulled: {notes:?}");
    })
    .await;
}

#[tokio::test]
async fn postgres_deferred_no_action_is_checked_at_commit() {
    with_db(Dialect::Postgres, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, p_id INT REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1)"]);
        check(&db, Case { ddl, data, table: "p", predicate: "id = 1" }, Expect::Refused(RefusalKind::NoAction)).await;
    })
    .await;
}

/// PostgreSQL checks RESTRICT when its queued event is reached. A referencing row that the
/// cascade deletes two layers later still exists then: refused. The other engines go
/// depth-first, and the model replays their order: SQLite fires the newest declared FK first
/// (`b`'s RESTRICT, refused), InnoDB the first by name (`a_ibfk_1`'s CASCADE, which removes
/// the row before `b_ibfk_2`'s RESTRICT looks).
#[rstest]
#[tokio::test]
async fn restrict_on_a_row_the_cascade_also_deletes(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE r (id INT PRIMARY KEY)",
            "CREATE TABLE a (id INT PRIMARY KEY, r_id INT NULL, FOREIGN KEY (r_id) REFERENCES r (id) ON DELETE CASCADE)",
            "CREATE TABLE b (id INT PRIMARY KEY, a_id INT NULL, r_id INT NULL, FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE CASCADE, FOREIGN KEY (r_id) REFERENCES r (id) ON DELETE RESTRICT)",
        ]);
        let data = strings(&["INSERT INTO r VALUES (1)", "INSERT INTO a VALUES (1, 1)", "INSERT INTO b VALUES (1, 1, 1)"]);
        let expect = match dialect {
            Dialect::Postgres | Dialect::Sqlite => Expect::Refused(RefusalKind::Restrict),
            Dialect::MySql => Expect::Deleted(3),
        };
        check(&db, Case { ddl, data, table: "r", predicate: "id = 1" }, expect).await;
    })
    .await;
}

/// SQLite re-checks a row's references to its own table whenever the row is updated, so an
/// action's SET NULL on a row whose self-reference already dangles fails; the others do not.
#[rstest]
#[tokio::test]
async fn sqlite_rechecks_self_references_of_updated_rows(
    #[values(ALL[0], ALL[1], ALL[2])] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let ddl = strings(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (k INT PRIMARY KEY, p_id INT NULL, s INT NULL, FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL, FOREIGN KEY (s) REFERENCES c (k))",
        ]);
        let data = strings(&["INSERT INTO p VALUES (1)", "INSERT INTO c VALUES (1, 1, 99)"]);
        let expect = if dialect == Dialect::Sqlite { Expect::Refused(RefusalKind::NoAction) } else { Expect::Deleted(1) };
        check(&db, Case { ddl, data, table: "p", predicate: "id = 1" }, expect).await;
    })
    .await;
}
