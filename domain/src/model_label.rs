//! `model_label`: free-form labels of a `model` row, keyed by the parent's `uid` (not its name).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_label")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub uid: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(255))")]
    pub value: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub parent_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::model::Entity",
        from = "Column::ParentId",
        to = "super::model::Column::Uid",
        on_delete = "Cascade",
        on_update = "NoAction"
    )]
    Parent,
}

impl ActiveModelBehavior for ActiveModel {}
