//! The blog's entities: ordinary SeaORM entities, each `belongs_to` stating its delete rule.

pub mod author;
pub mod comment;
pub mod post;
pub mod post_tag;
pub mod tag;
