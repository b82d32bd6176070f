//! `workflow`: A GenAI workflow; its run status lives on the row itself (no 1:1 status side table).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub uid: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub spec: Option<Json>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub project_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub owner_id: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub workflow_type: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub workflow_function: Option<String>,
    pub configuration: Option<Json>,
    pub graph: Option<Json>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub run_id: Option<String>,
    #[sea_orm(default_value = false)]
    pub has_detected_need_to_run_completion_script: bool,
    #[sea_orm(default_value = false)]
    pub is_canceled: bool,
    #[sea_orm(default_value = false)]
    pub is_archived: bool,
    pub created: DateTime,
    pub updated: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::project::Entity",
        from = "Column::ProjectId",
        to = "super::project::Column::Uid",
        on_delete = "Cascade",
        on_update = "NoAction"
    )]
    Project,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerId",
        to = "super::user::Column::Uid",
        on_delete = "SetNull",
        on_update = "NoAction"
    )]
    Owner,
}

impl ActiveModelBehavior for ActiveModel {}
