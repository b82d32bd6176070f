//! `comment`: cascades with its post, a reply keeps living when the comment it answers goes
//! (SET NULL on a self-reference), and the commenter is an ORM-only rule (`skip_fk`: no database
//! constraint, our executor nulls it).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub post_id: i32,
    pub reply_to: Option<i64>,
    pub commenter_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub text: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::post::Entity",
        from = "Column::PostId",
        to = "super::post::Column::Id",
        on_delete = "Cascade"
    )]
    Post,
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::ReplyTo",
        to = "Column::Id",
        on_delete = "SetNull"
    )]
    ReplyTo,
    #[sea_orm(
        belongs_to = "super::author::Entity",
        from = "Column::CommenterId",
        to = "super::author::Column::Id",
        on_delete = "SetNull",
        skip_fk
    )]
    Commenter,
}

impl ActiveModelBehavior for ActiveModel {}
