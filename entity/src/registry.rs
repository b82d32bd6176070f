//! The app's list of entities: registered once, one line per entity, and handed to every tool.
//!
//! SeaORM's own entity registry is opaque, so an app names its entities here explicitly; each is
//! read through SeaORM's public traits ([`EntityDecl::of`]) and the whole list becomes a validated
//! [`RuleGraph`] with [`Registry::rules`].

use sea_orm::EntityTrait;

use crate::rules::{DeclarationErrors, EntityDecl, RuleGraph};

/// An app's entities, in registration order.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entities: Vec<EntityDecl>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds entity `E` (its columns, keys, indexes and `belongs_to` rules).
    #[must_use]
    pub fn register<E: EntityTrait>(mut self) -> Registry {
        self.entities.push(EntityDecl::of::<E>());
        self
    }

    /// Adds an already captured declaration.
    #[must_use]
    pub fn with(mut self, entity: EntityDecl) -> Registry {
        self.entities.push(entity);
        self
    }

    /// The captured declarations, in registration order.
    pub fn entities(&self) -> &[EntityDecl] {
        &self.entities
    }

    /// The validated rule graph of every registered entity; every declaration error at once.
    pub fn rules(&self) -> Result<RuleGraph, DeclarationErrors> {
        RuleGraph::from_entities(&self.entities)
    }
}
