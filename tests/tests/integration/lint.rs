//! `cascade lint`: every rule fires on a schema built to trigger it and stays quiet on one that
//! does not, on declared graphs and on live graphs of all three dialects; the shipped domain
//! lints clean.

use cascade_cli::Status;
use cascade_entity::rules::{Dialect, EntityDecl, FkAction, RuleGraph};
use cascade_service::lint::{Finding, LintConfig, Severity, lint};
use cascade_service::policy::Policy;
use rstest::rstest;
use sea_orm::ConnectionTrait;
use tests::{cascade, with_db};

fn config(dialects: &[Dialect], policies: &[&str]) -> LintConfig {
    LintConfig {
        dialects: dialects.to_vec(),
        policies: policies
            .iter()
            .map(|p| p.parse().expect("policy"))
            .collect(),
    }
}

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    ids.sort();
    ids.dedup();
    ids
}

fn fired<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn domain() -> RuleGraph {
    tests::domain_rules()
}

#[test]
fn domain_lints_clean_on_every_dialect() {
    let findings = lint(&domain(), &config(&Dialect::ALL, &[]));
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    // The notes are the real multiple paths (project reaches deployment three ways).
    assert_eq!(ids(&findings), ["CL008"]);
    assert!(
        findings
            .iter()
            .any(|f| f.table == "project" && f.message.contains("`deployment` by 3 paths"))
    );
}

#[tokio::test]
async fn cli_lint_exit_status_follows_errors() {
    let (status, out) = cascade(&["lint"]).await;
    assert_eq!(status.expect("lint"), Status::Clean, "{out}");
    let (status, out) = cascade(&["lint", "--policy", "owner=user:cascade", "--json"]).await;
    assert_eq!(status.expect("lint"), Status::Finding);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        report["errors"], 11,
        "every owner_id FK breaks owner=user:cascade"
    );
    assert!(
        report["findings"][0]["fix"]
            .as_str()
            .expect("fix")
            .contains("Cascade")
    );
    // A malformed policy is a usage error (exit 2), caught before anything runs.
    use clap::Parser;
    let usage = cascade_cli::Cli::try_parse_from(["cascade", "lint", "--policy", "owner=user"]);
    let message = usage.expect_err("usage error").to_string();
    assert!(message.contains("missing `:ACTION`"), "{message}");
}

#[test]
fn bad_policies_are_rejected() {
    for spec in [
        "owner=user",
        "owner=user:explode",
        "nothing",
        "protect=",
        "colour=red",
    ] {
        let parsed: Result<Policy, _> = spec.parse();
        assert!(parsed.is_err(), "{spec} should be rejected");
    }
}

/// Declarations with an implicit rule and an ORM-only rule.
mod parent {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "parent")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
mod child {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "child")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub implicit_id: i32,
        pub orm_only_id: Option<i32>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::parent::Entity",
            from = "Column::ImplicitId",
            to = "super::parent::Column::Id"
        )]
        Implicit,
        #[sea_orm(
            belongs_to = "super::parent::Entity",
            from = "Column::OrmOnlyId",
            to = "super::parent::Column::Id",
            on_delete = "SetNull",
            skip_fk
        )]
        OrmOnly,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

#[test]
fn implicit_and_orm_only_rules_on_declarations() {
    let graph = RuleGraph::from_entities(&[
        EntityDecl::of::<parent::Entity>(),
        EntityDecl::of::<child::Entity>(),
    ])
    .expect("valid");
    let findings = lint(&graph, &config(&Dialect::ALL, &[]));
    assert_eq!(ids(&findings), ["CL001", "CL010"]);
    assert!(
        fired(&findings, "CL001")[0]
            .foreign_key
            .as_deref()
            .is_some_and(|fk| fk.contains("implicit_id"))
    );
    assert!(
        fired(&findings, "CL010")[0]
            .foreign_key
            .as_deref()
            .is_some_and(|fk| fk.contains("orm_only_id"))
    );
    // The domain states every rule and enforces every one in the database.
    let clean = lint(&domain(), &config(&Dialect::ALL, &[]));
    assert!(fired(&clean, "CL001").is_empty() && fired(&clean, "CL010").is_empty());
}

#[test]
fn column_rules_on_edited_declarations() {
    // Hand-edited graphs stand for declarations the builder would refuse or accept.
    let mut graph = domain();
    let run = graph.tables.get_mut("run").expect("run");
    run.columns
        .iter_mut()
        .filter(|c| c.name == "workflow_id")
        .for_each(|c| c.nullable = false);
    run.foreign_keys
        .iter_mut()
        .filter(|fk| fk.columns == ["schedule_id"])
        .for_each(|fk| fk.on_delete = FkAction::SetDefault);
    run.indexes.clear();
    let findings = lint(&graph, &config(&[Dialect::Postgres], &[]));
    assert_eq!(ids(&findings), ["CL002", "CL003", "CL008", "CL009"]);
    assert_eq!(
        fired(&findings, "CL009").len(),
        3,
        "run's three FKs lost their indexes"
    );
    // SET DEFAULT is also unusable on MariaDB.
    let on_mysql = lint(&graph, &config(&[Dialect::MySql], &[]));
    assert_eq!(fired(&on_mysql, "CL004").len(), 1);
    assert!(fired(&lint(&domain(), &config(&[Dialect::MySql], &[])), "CL004").is_empty());
}

#[test]
fn policies_on_the_domain() {
    let findings = lint(&domain(), &config(&Dialect::ALL, &["protect=*_label"]));
    let protected = fired(&findings, "CL011");
    assert!(
        protected
            .iter()
            .any(|f| f.table == "document_label" && f.message.contains("deleting `document`"))
    );
    assert!(
        fired(
            &lint(&domain(), &config(&Dialect::ALL, &["protect=user"])),
            "CL011"
        )
        .is_empty()
    );

    let allowed = lint(
        &domain(),
        &config(&Dialect::ALL, &["reach=workflow:schedule*,workflow_label"]),
    );
    assert!(fired(&allowed, "CL011").is_empty());
    let narrowed = lint(
        &domain(),
        &config(&Dialect::ALL, &["reach=workflow:workflow_label"]),
    );
    let tables: Vec<&str> = fired(&narrowed, "CL011")
        .iter()
        .map(|f| f.table.as_str())
        .collect();
    assert_eq!(tables, ["schedule", "schedule_label"]);

    assert_eq!(
        fired(
            &lint(&domain(), &config(&Dialect::ALL, &["owner=user:set_null"])),
            "CL012"
        )
        .len(),
        1,
        "only user_label cascades"
    );
    assert!(
        fired(
            &lint(
                &domain(),
                &config(&Dialect::ALL, &["owner=project:cascade"])
            ),
            "CL012"
        )
        .is_empty()
    );
}

/// A schema that breaks as many rules as the dialect lets it create.
fn bad_schema(dialect: Dialect) -> Vec<String> {
    let mut sql = vec![
        "CREATE TABLE parent (id INT PRIMARY KEY)".to_owned(),
        "CREATE TABLE parent_status (parent_id INT PRIMARY KEY, status VARCHAR(10), \
         FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)"
            .to_owned(),
        "CREATE TABLE sd_child (id INT PRIMARY KEY, parent_id INT NULL, \
         FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET DEFAULT)"
            .to_owned(),
    ];
    // MariaDB refuses SET NULL on a NOT NULL column at CREATE; the others accept it.
    if dialect != Dialect::MySql {
        sql.push(
            "CREATE TABLE nn_child (id INT PRIMARY KEY, parent_id INT NOT NULL, \
             FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL)"
                .into(),
        );
    }
    // hen <-> egg, both NOT NULL.
    if dialect == Dialect::Sqlite {
        sql.push("CREATE TABLE hen (id INT PRIMARY KEY, egg_id INT NOT NULL, FOREIGN KEY (egg_id) REFERENCES egg (id))".into());
        sql.push("CREATE TABLE egg (id INT PRIMARY KEY, hen_id INT NOT NULL, FOREIGN KEY (hen_id) REFERENCES hen (id))".into());
    } else {
        sql.push("CREATE TABLE hen (id INT PRIMARY KEY, egg_id INT NOT NULL)".into());
        sql.push("CREATE TABLE egg (id INT PRIMARY KEY, hen_id INT NOT NULL, FOREIGN KEY (hen_id) REFERENCES hen (id))".into());
        sql.push(
            "ALTER TABLE hen ADD CONSTRAINT hen_egg FOREIGN KEY (egg_id) REFERENCES egg (id)"
                .into(),
        );
    }
    // A cascade chain 15 levels deep from c0 (InnoDB refuses it), 14 from c1 (accepted).
    sql.push("CREATE TABLE c0 (id INT PRIMARY KEY)".into());
    for level in 1..=15 {
        sql.push(format!(
            "CREATE TABLE c{level} (id INT PRIMARY KEY, up INT NULL, \
             FOREIGN KEY (up) REFERENCES c{} (id) ON DELETE CASCADE)",
            level - 1
        ));
    }
    sql
}

const GOOD_SCHEMA: &[&str] = &[
    "CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(10))",
    "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NULL, \
     FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL)",
    "CREATE INDEX ix_child_parent ON child (parent_id)",
    "CREATE TABLE grandchild (id INT PRIMARY KEY, child_id INT NOT NULL, \
     FOREIGN KEY (child_id) REFERENCES child (id) ON DELETE CASCADE)",
    "CREATE INDEX ix_grandchild_child ON grandchild (child_id)",
];

#[rstest]
#[tokio::test]
async fn live_schemas_trigger_exactly_their_rules(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        if dialect == Dialect::MySql {
            let refused = db
                .conn
                .execute_unprepared(
                    "CREATE TABLE nn (id INT PRIMARY KEY, p INT NOT NULL, \
                     FOREIGN KEY (p) REFERENCES nn (id) ON DELETE SET NULL)",
                )
                .await;
            assert!(
                refused.is_err(),
                "MariaDB refuses SET NULL on NOT NULL at CREATE"
            );
        }
        for sql in bad_schema(dialect) {
            db.conn.execute_unprepared(&sql).await.expect(&sql);
        }
        let graph = cascade_migration::introspect(&db.conn)
            .await
            .expect("introspect");
        // Live: lint for this dialect, plus MariaDB's depth limit everywhere.
        let findings = lint(&graph, &config(&[dialect, Dialect::MySql], &[]));
        let mut expected = vec!["CL005", "CL006", "CL007"];
        match dialect {
            // InnoDB indexed every FK and stored SET DEFAULT as RESTRICT.
            Dialect::MySql => {}
            _ => expected.extend(["CL002", "CL003", "CL004", "CL009"]),
        }
        expected.sort();
        assert_eq!(ids(&findings), expected, "{dialect}: {findings:#?}");
        assert_eq!(fired(&findings, "CL006")[0].table, "parent_status");
        assert!(
            fired(&findings, "CL005")[0].message.contains("hen")
                && fired(&findings, "CL005")[0].message.contains("egg")
        );
        let depth = fired(&findings, "CL007");
        assert_eq!(depth.len(), 1, "only c0 cascades 15 levels");
        assert_eq!(depth[0].table, "c0");
        assert!(
            fired(&findings, "CL001").is_empty(),
            "catalogs always state the action"
        );

        if dialect == Dialect::MySql {
            // The engine agrees with the lint: 15 levels are refused, 14 go through.
            db.conn
                .execute_unprepared("INSERT INTO c0 VALUES (1)")
                .await
                .expect("c0");
            for level in 1..=15 {
                let sql = format!("INSERT INTO c{level} VALUES (1, 1)");
                db.conn.execute_unprepared(&sql).await.expect(&sql);
            }
            assert!(
                db.conn.execute_unprepared("DELETE FROM c0").await.is_err(),
                "15 levels"
            );
            assert_eq!(
                tests::dump_table(&db.conn, "c15").await.len(),
                1,
                "nothing changed"
            );
            db.conn
                .execute_unprepared("DELETE FROM c1")
                .await
                .expect("14 levels");
            assert!(tests::dump_table(&db.conn, "c15").await.is_empty());
        }
    })
    .await;

    with_db(dialect, |db| async move {
        for sql in GOOD_SCHEMA {
            db.conn.execute_unprepared(sql).await.expect(sql);
        }
        let graph = cascade_migration::introspect(&db.conn)
            .await
            .expect("introspect");
        let findings = lint(&graph, &config(&Dialect::ALL, &[]));
        assert!(findings.is_empty(), "{dialect}: {findings:#?}");
        // And through the CLI, which lints a live database for its own dialect.
        let (status, out) = cascade(&["--url", &db.url, "--rules", "live", "lint"]).await;
        assert_eq!(status.expect("lint"), Status::Clean, "{out}");
    })
    .await;
}
