//! Introspection of databases nobody here declared: hand-written DDL on each backend, read back
//! with its actions as stored, composite and self-referencing keys, unique keys, defaults, FK
//! index coverage and each engine's FK ordering facts.

use cascade_entity::rules::{Deferrable, Dialect, FkAction, ForeignKey, Table};
use cascade_migration::introspect;
use rstest::rstest;
use sea_orm::ConnectionTrait;
use tests::with_db;

/// Portable DDL (table-level FKs: InnoDB ignores column-level REFERENCES).
const SCHEMA: &[&str] = &[
    "CREATE TABLE account (id INT PRIMARY KEY, region VARCHAR(8) NOT NULL, \
     code VARCHAR(16) NOT NULL, UNIQUE (region, code))",
    "CREATE TABLE node (id INT PRIMARY KEY, parent_id INT NULL, \
     FOREIGN KEY (parent_id) REFERENCES node (id) ON DELETE CASCADE)",
    "CREATE TABLE membership (id INT PRIMARY KEY, account_region VARCHAR(8) NULL, \
     account_code VARCHAR(16) NULL, node_id INT NOT NULL, note VARCHAR(10) DEFAULT 'x', \
     CONSTRAINT m_account FOREIGN KEY (account_region, account_code) \
       REFERENCES account (region, code) ON DELETE SET NULL, \
     CONSTRAINT a_node FOREIGN KEY (node_id) REFERENCES node (id))",
    "CREATE TABLE tagged (id INT PRIMARY KEY, node_id INT NULL DEFAULT 1, \
     CONSTRAINT t_node FOREIGN KEY (node_id) REFERENCES node (id) ON DELETE SET DEFAULT)",
];

fn fk<'a>(table: &'a Table, columns: &[&str]) -> &'a ForeignKey {
    table
        .foreign_keys
        .iter()
        .find(|fk| fk.columns == columns)
        .unwrap_or_else(|| panic!("{}: no FK on {columns:?}", table.name))
}

#[rstest]
#[tokio::test]
async fn foreign_schema_reads_back_as_stored(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        for sql in SCHEMA {
            db.conn.execute_unprepared(sql).await.expect(sql);
        }
        let graph = introspect(&db.conn).await.expect("introspect");
        assert_eq!(
            graph.tables.keys().collect::<Vec<_>>(),
            ["account", "membership", "node", "tagged"]
        );

        let account = graph.table("account").expect("account");
        assert_eq!(account.primary_key, ["id"]);
        assert!(
            account
                .unique_keys
                .contains(&vec!["region".to_owned(), "code".to_owned()])
        );

        let node = graph.table("node").expect("node");
        let parent = fk(node, &["parent_id"]);
        assert_eq!(
            (parent.parent_table.as_str(), parent.on_delete),
            ("node", FkAction::Cascade)
        );

        let membership = graph.table("membership").expect("membership");
        let names: Vec<&str> = membership.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "account_region", "account_code", "node_id", "note"],
            "column order"
        );
        assert!(!membership.column("node_id").expect("node_id").nullable);
        assert!(
            membership
                .column("account_code")
                .expect("account_code")
                .nullable
        );
        assert!(membership.column("note").expect("note").default.is_some());
        assert!(
            membership
                .column("account_code")
                .expect("code")
                .default
                .is_none()
        );

        let composite = fk(membership, &["account_region", "account_code"]);
        assert_eq!(composite.parent_columns, ["region", "code"]);
        assert_eq!(composite.on_delete, FkAction::SetNull);
        let unstated = fk(membership, &["node_id"]);
        // An unstated action reads back as NO ACTION, except on InnoDB, which says RESTRICT.
        let expected = if dialect == Dialect::MySql {
            FkAction::Restrict
        } else {
            FkAction::NoAction
        };
        assert_eq!(unstated.on_delete, expected);
        assert_eq!(unstated.on_update, expected);

        // InnoDB indexes FK columns itself; PostgreSQL and SQLite never do.
        assert_eq!(
            membership.has_index_covering(&["node_id".to_owned()]),
            dialect == Dialect::MySql
        );

        // Ordering facts: declaration order (SQLite), creation order (PostgreSQL), names only
        // (MariaDB fires in constraint-name order).
        match dialect {
            Dialect::MySql => {
                assert_eq!(composite.creation_rank, None);
                assert_eq!(unstated.name.as_deref(), Some("a_node"));
            }
            _ => {
                assert_eq!(composite.creation_rank, Some(0));
                assert_eq!(unstated.creation_rank, Some(1));
            }
        }
        assert_eq!(composite.name.is_some(), dialect.keeps_constraint_names());

        // MariaDB accepts SET DEFAULT and stores RESTRICT; comparisons see through it.
        let tagged = fk(graph.table("tagged").expect("tagged"), &["node_id"]);
        let stored = if dialect == Dialect::MySql {
            FkAction::Restrict
        } else {
            FkAction::SetDefault
        };
        assert_eq!(tagged.on_delete, stored);
        assert_eq!(
            dialect.effective_action(FkAction::SetDefault),
            dialect.effective_action(tagged.on_delete)
        );
    })
    .await;
}

#[tokio::test]
async fn postgres_deferrable_and_set_null_column_list() {
    with_db(Dialect::Postgres, |db| async move {
        for sql in [
            "CREATE TABLE tenant (id INT PRIMARY KEY)",
            "CREATE TABLE doc (tenant_id INT NOT NULL, id INT NOT NULL, PRIMARY KEY (tenant_id, id))",
            "CREATE TABLE note (id INT PRIMARY KEY, tenant_id INT NOT NULL, doc_id INT, \
             CONSTRAINT z_doc FOREIGN KEY (tenant_id, doc_id) REFERENCES doc (tenant_id, id) \
               ON DELETE SET NULL (doc_id) DEFERRABLE INITIALLY DEFERRED, \
             CONSTRAINT b_tenant FOREIGN KEY (tenant_id) REFERENCES tenant (id) \
               ON DELETE RESTRICT DEFERRABLE)",
        ] {
            db.conn.execute_unprepared(sql).await.expect(sql);
        }
        let graph = introspect(&db.conn).await.expect("introspect");
        let note = graph.table("note").expect("note");
        let doc = fk(note, &["tenant_id", "doc_id"]);
        assert_eq!(doc.set_null_columns.as_deref(), Some(&["doc_id".to_owned()][..]));
        assert_eq!(doc.deferrable, Deferrable::InitiallyDeferred);
        assert_eq!(doc.creation_rank, Some(0), "z_doc was created first, whatever its name");
        let tenant = fk(note, &["tenant_id"]);
        assert_eq!(tenant.on_delete, FkAction::Restrict);
        assert_eq!(tenant.deferrable, Deferrable::InitiallyImmediate);
        assert_eq!(tenant.creation_rank, Some(1));
        assert_eq!(graph.table("doc").expect("doc").primary_key, ["tenant_id", "id"]);
    })
    .await;
}
