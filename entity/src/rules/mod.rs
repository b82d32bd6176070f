//! The RuleGraph: the single runtime model every tool consumes, its construction from entity
//! declarations, the per-dialect facts that normalise it, graph-to-graph comparison, and the
//! defects one graph shows on its own.

mod build;
mod declare;
mod defects;
mod dialect;
mod diff;
mod model;

pub use build::{DeclarationError, DeclarationErrors, fk_constraint_name, fk_index_name};
pub use declare::{ColumnDecl, EntityDecl, RelationDecl, column_kind};
pub use defects::Defect;
pub use dialect::Dialect;
pub use diff::{Drift, FkEvent};
pub use model::{
    Check, Column, ColumnDefault, ColumnKind, Deferrable, Enforcement, FkAction, ForeignKey, Index,
    RuleGraph, Table,
};
