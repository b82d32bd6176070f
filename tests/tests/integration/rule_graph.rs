//! The RuleGraph built from declarations: the shipped domain matches DESIGN.md's table, and
//! declarations no database could honour are refused with a clear error. No database needed.

use cascade_entity::rules::{DeclarationError, Enforcement, EntityDecl, FkAction, RuleGraph};

/// Test entities: a parent with a non-unique column, and children declaring various rules.
mod parent {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "parent")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub name: String,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

mod set_null_on_not_null {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "set_null_on_not_null")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub parent_id: i32,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::parent::Entity",
            from = "Column::ParentId",
            to = "super::parent::Column::Id",
            on_delete = "SetNull"
        )]
        Parent,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

mod to_non_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "to_non_key")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub parent_name: Option<String>,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::parent::Entity",
            from = "Column::ParentName",
            to = "super::parent::Column::Name",
            on_delete = "Cascade"
        )]
        Parent,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

/// Implicit delete rule, an ORM-only rule and a custom constraint name.
mod mixed {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mixed")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub implicit_id: i32,
        pub orm_only_id: Option<i32>,
        pub named_id: Option<i32>,
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
            on_delete = "Cascade",
            skip_fk
        )]
        OrmOnly,
        #[sea_orm(
            belongs_to = "super::parent::Entity",
            from = "Column::NamedId",
            to = "super::parent::Column::Id",
            on_delete = "SetNull",
            fk_name = "custom_name"
        )]
        Named,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

fn errors_of(entities: &[EntityDecl]) -> Vec<DeclarationError> {
    match RuleGraph::from_entities(entities) {
        Ok(graph) => panic!("expected a refusal, got {graph:#?}"),
        Err(errors) => errors.0,
    }
}

#[test]
fn domain_matches_the_design_table() {
    let graph = genai_factory::registry()
        .rules()
        .expect("the shipped declarations are valid");
    let rule = |table: &str, column: &str| {
        let t = graph
            .table(table)
            .unwrap_or_else(|| panic!("table {table}"));
        let fk = t
            .foreign_keys
            .iter()
            .find(|fk| fk.columns == [column])
            .unwrap_or_else(|| panic!("{table}.{column} has no FK"));
        (fk.parent_table.as_str(), fk.on_delete)
    };
    use FkAction::{Cascade, SetNull};
    assert_eq!(rule("project", "owner_id"), ("user", SetNull));
    for table in [
        "data_source",
        "dataset",
        "model",
        "prompt",
        "document",
        "workflow",
    ] {
        assert_eq!(rule(table, "project_id"), ("project", Cascade), "{table}");
        assert_eq!(rule(table, "owner_id"), ("user", SetNull), "{table}");
    }
    assert_eq!(rule("session", "workflow_id"), ("workflow", SetNull));
    assert_eq!(rule("deployment", "project_id"), ("project", Cascade));
    assert_eq!(rule("deployment", "workflow_id"), ("workflow", SetNull));
    assert_eq!(rule("deployment", "model_id"), ("model", SetNull));
    assert_eq!(rule("schedule", "workflow_id"), ("workflow", Cascade));
    assert_eq!(rule("run", "workflow_id"), ("workflow", SetNull));
    assert_eq!(rule("run", "schedule_id"), ("schedule", SetNull));
    assert_eq!(rule("run", "owner_id"), ("user", SetNull));
    let labelled: Vec<&String> = graph
        .tables
        .keys()
        .filter(|t| !t.ends_with("_label"))
        .collect();
    assert_eq!(labelled.len(), 12);
    for table in labelled {
        assert_eq!(
            rule(&format!("{table}_label"), "parent_id"),
            (table.as_str(), Cascade)
        );
    }
    // Every rule is stated, enforced by the database, and has an index to use.
    for (table, fk) in graph.foreign_keys() {
        assert!(fk.on_delete_explicit, "{}", fk.describe(&table.name));
        assert_eq!(fk.enforcement, Enforcement::Database);
        assert!(
            table.has_index_covering(&fk.columns),
            "{}",
            fk.describe(&table.name)
        );
    }
    // Workflow status lives on the workflow row, not in a side table.
    let workflow = graph.table("workflow").expect("workflow");
    for column in [
        "run_id",
        "has_detected_need_to_run_completion_script",
        "is_canceled",
        "is_archived",
    ] {
        assert!(workflow.column(column).is_some(), "workflow.{column}");
    }
    assert!(graph.table("workflow_status").is_none());
}

#[test]
fn dependency_order_puts_parents_first() {
    let graph = tests::domain_rules();
    let order = graph.dependency_order();
    assert_eq!(order.len(), graph.tables.len());
    let position = |t: &str| order.iter().position(|o| *o == t).expect("placed");
    for (table, fk) in graph.foreign_keys() {
        assert!(
            position(&fk.parent_table) < position(&table.name),
            "{}",
            fk.describe(&table.name)
        );
    }
}

#[test]
fn set_null_on_not_null_column_is_refused() {
    let errors = errors_of(&[
        EntityDecl::of::<parent::Entity>(),
        EntityDecl::of::<set_null_on_not_null::Entity>(),
    ]);
    assert!(
        matches!(&errors[..], [DeclarationError::SetNullOnNotNull { column, .. }] if column == "parent_id"),
        "{errors:?}"
    );
    assert!(errors[0].to_string().contains("make the column nullable"));
}

#[test]
fn relation_to_unregistered_entity_is_refused() {
    let errors = errors_of(&[EntityDecl::of::<to_non_key::Entity>()]);
    assert!(
        matches!(&errors[..], [DeclarationError::UnknownParent { parent, .. }] if parent == "parent"),
        "{errors:?}"
    );
}

#[test]
fn reference_to_non_key_columns_is_refused() {
    let errors = errors_of(&[
        EntityDecl::of::<parent::Entity>(),
        EntityDecl::of::<to_non_key::Entity>(),
    ]);
    assert!(
        matches!(&errors[..], [DeclarationError::ParentNotKey { parent, .. }] if parent == "parent"),
        "{errors:?}"
    );
}

#[test]
fn duplicate_entities_are_refused() {
    let errors = errors_of(&[
        EntityDecl::of::<parent::Entity>(),
        EntityDecl::of::<parent::Entity>(),
    ]);
    assert_eq!(
        errors,
        vec![DeclarationError::DuplicateTable {
            table: "parent".into()
        }]
    );
}

#[test]
fn implicit_rules_orm_only_rules_and_names_are_kept() {
    let graph = RuleGraph::from_entities(&[
        EntityDecl::of::<parent::Entity>(),
        EntityDecl::of::<mixed::Entity>(),
    ])
    .expect("valid");
    let mixed = graph.table("mixed").expect("mixed");
    let fk = |column: &str| {
        mixed
            .foreign_keys
            .iter()
            .find(|fk| fk.columns == [column])
            .expect("declared")
    };
    let implicit = fk("implicit_id");
    assert!(!implicit.on_delete_explicit);
    assert_eq!(implicit.on_delete, FkAction::NoAction);
    assert_eq!(implicit.name.as_deref(), Some("fk_mixed_implicit_id"));
    let orm_only = fk("orm_only_id");
    assert_eq!(orm_only.enforcement, Enforcement::OrmOnly);
    assert!(orm_only.on_delete_explicit);
    assert_eq!(fk("named_id").name.as_deref(), Some("custom_name"));
    // Declaration order is the creation rank.
    let ranks: Vec<Option<u32>> = mixed
        .foreign_keys
        .iter()
        .map(|fk| fk.creation_rank)
        .collect();
    assert_eq!(ranks, [Some(0), Some(1), Some(2)]);
    // Every FK column set, ORM-only included, gets a derived index.
    for column in ["implicit_id", "orm_only_id", "named_id"] {
        assert!(mixed.has_index_covering(&[column.to_owned()]), "{column}");
    }
}
