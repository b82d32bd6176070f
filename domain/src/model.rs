//! `model`: A model (hosted or local) a project's workflows call.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model")]
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
    pub model_type: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub base_model: Option<String>,
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
