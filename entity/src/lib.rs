//! Declarations: an app's SeaORM entities, registered once in a [`Registry`], where every
//! relation states its delete rule on its `belongs_to`; and the [`RuleGraph`] derived from them,
//! the one runtime model every other tool consumes (DDL, migrations, the delete engine, audit,
//! repair, orphans, lint, docs, fixtures).
//!
//! ```
//! use cascade_entity::Registry;
//!
//! mod post {
//!     use sea_orm::entity::prelude::*;
//!     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
//!     #[sea_orm(table_name = "post")]
//!     pub struct Model {
//!         #[sea_orm(primary_key)]
//!         pub id: i64,
//!         pub title: String,
//!     }
//!     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//!     pub enum Relation {}
//!     impl ActiveModelBehavior for ActiveModel {}
//! }
//! mod comment {
//!     use sea_orm::entity::prelude::*;
//!     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
//!     #[sea_orm(table_name = "comment")]
//!     pub struct Model {
//!         #[sea_orm(primary_key)]
//!         pub id: i64,
//!         pub post_id: i64,
//!     }
//!     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
//!     pub enum Relation {
//!         #[sea_orm(belongs_to = "super::post::Entity", from = "Column::PostId",
//!                   to = "super::post::Column::Id", on_delete = "Cascade")]
//!         Post,
//!     }
//!     impl ActiveModelBehavior for ActiveModel {}
//! }
//!
//! fn main() {
//!     let registry = Registry::new().register::<post::Entity>().register::<comment::Entity>();
//!     let graph = registry.rules().expect("valid declarations");
//!     let fk = &graph.table("comment").expect("declared").foreign_keys[0];
//!     assert_eq!(fk.on_delete, cascade_entity::rules::FkAction::Cascade);
//! }
//! ```

#![warn(missing_docs, unreachable_pub)]

mod registry;
pub mod rules;

pub use registry::Registry;
pub use rules::{DeclarationErrors, RuleGraph};
