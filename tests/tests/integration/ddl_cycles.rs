//! Derived DDL for graphs the domain does not have: a two-table FK cycle and a self-reference.
//! `create_schema` must build them on every backend (FKs closing a cycle are added after both
//! tables exist, except on SQLite, which does not check references at CREATE time), introspect
//! back without drift, and `drop_schema` must remove everything.

use cascade_entity::rules::{Dialect, EntityDecl, RuleGraph};
use cascade_migration::ddl::{create_schema, drop_schema};
use cascade_migration::introspect;
use rstest::rstest;
use tests::with_db;

mod alpha {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "alpha")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub beta_id: Option<i32>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::beta::Entity",
            from = "Column::BetaId",
            to = "super::beta::Column::Id",
            on_delete = "SetNull"
        )]
        Beta,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

mod beta {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "beta")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub alpha_id: Option<i32>,
        pub parent_id: Option<i32>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::alpha::Entity",
            from = "Column::AlphaId",
            to = "super::alpha::Column::Id",
            on_delete = "Cascade"
        )]
        Alpha,
        #[sea_orm(
            belongs_to = "Entity",
            from = "Column::ParentId",
            to = "Column::Id",
            on_delete = "Cascade"
        )]
        Parent,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

#[rstest]
#[tokio::test]
async fn cycle_and_self_reference_round_trip(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let graph = RuleGraph::from_entities(&[
            EntityDecl::of::<alpha::Entity>(),
            EntityDecl::of::<beta::Entity>(),
        ])
        .expect("valid");
        for step in create_schema(&graph, dialect) {
            step.apply(&db.conn).await.expect("create");
        }
        let live = introspect(&db.conn).await.expect("introspect");
        assert_eq!(graph.diff(&live, dialect), vec![]);
        let beta = live.table("beta").expect("beta");
        assert!(
            beta.foreign_keys.iter().any(|fk| fk.parent_table == "beta"),
            "self-reference"
        );

        for step in drop_schema(&graph, dialect) {
            step.apply(&db.conn).await.expect("drop");
        }
        assert!(
            introspect(&db.conn)
                .await
                .expect("introspect")
                .tables
                .is_empty()
        );
    })
    .await;
}
