//! Building a validated RuleGraph from entity declarations.
//!
//! The builder turns each [`EntityDecl`] into a table, gives every FK a deterministic constraint
//! name, derives an index for every FK column set no key or index already covers (PostgreSQL and
//! SQLite never create one), and refuses declarations no database could honour.

use std::collections::BTreeMap;

use thiserror::Error;

use super::declare::EntityDecl;
use super::model::{
    Column, Deferrable, Enforcement, FkAction, ForeignKey, Index, RuleGraph, Table,
};

/// PostgreSQL truncates identifiers at 63 bytes; MariaDB allows 64. Keep under both.
const MAX_IDENTIFIER_LEN: usize = 63;

/// A declaration the builder refuses, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DeclarationError {
    /// Two registered entities share a table name.
    #[error("table `{table}` is declared twice")]
    DuplicateTable {
        /// The table name declared twice.
        table: String,
    },
    /// A table without a primary key.
    #[error("table `{table}` has no primary key; declare one so rows can be identified")]
    NoPrimaryKey {
        /// The table without one.
        table: String,
    },
    /// An FK whose parent table is not a registered entity.
    #[error("{fk}: parent table `{parent}` is not a registered entity; add it to the registry")]
    UnknownParent {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// The unregistered parent table.
        parent: String,
    },
    /// An FK names a column its child or parent table does not have.
    #[error("{fk}: column `{column}` does not exist on `{table}`")]
    UnknownColumn {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// The table that lacks the column (the child or the parent).
        table: String,
        /// The missing column.
        column: String,
    },
    /// An FK with unequal numbers of child and parent columns.
    #[error("{fk}: {child} child column(s) but {parent} parent column(s)")]
    ArityMismatch {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// How many child columns it has.
        child: usize,
        /// How many parent columns it has.
        parent: usize,
    },
    /// An FK whose parent columns are not a key of the parent ([`Table::is_key`]).
    #[error(
        "{fk}: the parent columns are neither the primary key nor a unique key of `{parent}` \
         (the database would refuse deletes with `foreign key mismatch`)"
    )]
    ParentNotKey {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// The parent table.
        parent: String,
    },
    /// SET NULL on delete or update while a child column is NOT NULL.
    #[error(
        "{fk}: ON {event} SET NULL on NOT NULL column `{column}`; make the column nullable or \
         choose another action"
    )]
    SetNullOnNotNull {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// Which rule says SET NULL: `DELETE` or `UPDATE`.
        event: &'static str,
        /// The NOT NULL child column.
        column: String,
    },
    /// A constraint name longer than 63 bytes (PostgreSQL would truncate it).
    #[error("{fk}: constraint name `{name}` is longer than {MAX_IDENTIFIER_LEN} characters")]
    NameTooLong {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// The name, declared or derived.
        name: String,
    },
    /// A constraint name already used by another FK of the graph (tables in name order; the
    /// later one is reported).
    #[error("{fk}: constraint name `{name}` is used twice")]
    DuplicateConstraintName {
        /// The FK, as `child(cols) -> parent(cols)`.
        fk: String,
        /// The name used twice.
        name: String,
    },
}

/// All problems found, so one run reports every mistake at once.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid rule declarations:\n  {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
pub struct DeclarationErrors(pub Vec<DeclarationError>);

impl RuleGraph {
    /// Builds and validates the graph of a set of entity declarations.
    pub fn from_entities(entities: &[EntityDecl]) -> Result<RuleGraph, DeclarationErrors> {
        let mut errors = Vec::new();
        let mut tables = BTreeMap::new();
        for entity in entities {
            if tables.contains_key(&entity.table) {
                errors.push(DeclarationError::DuplicateTable {
                    table: entity.table.clone(),
                });
                continue;
            }
            tables.insert(entity.table.clone(), table_of(entity));
        }
        let mut graph = RuleGraph { tables };
        errors.extend(validate(&graph));
        if !errors.is_empty() {
            return Err(DeclarationErrors(errors));
        }
        derive_fk_indexes(&mut graph);
        Ok(graph)
    }
}

fn table_of(entity: &EntityDecl) -> Table {
    let columns = entity
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            kind: c.kind.clone(),
            nullable: c.nullable,
            default: c.default.clone(),
            auto_increment: c.auto_increment,
            unique: c.unique,
            comment: c.comment.clone(),
            extra: c.extra.clone(),
        })
        .collect();
    let unique_keys = entity
        .columns
        .iter()
        .filter(|c| c.unique)
        .map(|c| vec![c.name.clone()])
        .collect();
    let foreign_keys = entity
        .relations
        .iter()
        .zip(0u32..)
        .map(|(rel, rank)| ForeignKey {
            name: Some(
                rel.fk_name
                    .clone()
                    .unwrap_or_else(|| fk_constraint_name(&entity.table, &rel.columns)),
            ),
            columns: rel.columns.clone(),
            parent_table: rel.parent_table.clone(),
            parent_columns: rel.parent_columns.clone(),
            on_delete: rel.on_delete.unwrap_or(FkAction::NoAction),
            on_update: rel.on_update.unwrap_or(FkAction::NoAction),
            on_delete_explicit: rel.on_delete.is_some(),
            enforcement: if rel.skip_fk {
                Enforcement::OrmOnly
            } else {
                Enforcement::Database
            },
            deferrable: Deferrable::No,
            set_null_columns: None,
            creation_rank: Some(rank),
        })
        .collect();
    Table {
        name: entity.table.clone(),
        columns,
        primary_key: entity.primary_key.clone(),
        unique_keys,
        indexes: entity.indexes.clone(),
        foreign_keys,
        checks: Vec::new(),
    }
}

/// `fk_<table>_<col>[_<col>...]`: stable across runs and dialects.
pub fn fk_constraint_name(table: &str, columns: &[String]) -> String {
    format!("fk_{table}_{}", columns.join("_"))
}

/// `ix_<table>_<col>[_<col>...]`: the index the migration derives for an FK column set.
pub fn fk_index_name(table: &str, columns: &[String]) -> String {
    format!("ix_{table}_{}", columns.join("_"))
}

fn validate(graph: &RuleGraph) -> Vec<DeclarationError> {
    let mut errors = Vec::new();
    let mut names_seen = BTreeMap::new();
    for table in graph.tables.values() {
        if table.primary_key.is_empty() {
            errors.push(DeclarationError::NoPrimaryKey {
                table: table.name.clone(),
            });
        }
        for fk in &table.foreign_keys {
            let label = fk.describe(&table.name);
            if let Some(name) = &fk.name {
                if name.len() > MAX_IDENTIFIER_LEN {
                    errors.push(DeclarationError::NameTooLong {
                        fk: label.clone(),
                        name: name.clone(),
                    });
                }
                if names_seen.insert(name.clone(), ()).is_some() {
                    errors.push(DeclarationError::DuplicateConstraintName {
                        fk: label.clone(),
                        name: name.clone(),
                    });
                }
            }
            errors.extend(validate_fk(graph, table, fk, &label));
        }
    }
    errors
}

fn validate_fk(
    graph: &RuleGraph,
    table: &Table,
    fk: &ForeignKey,
    label: &str,
) -> Vec<DeclarationError> {
    let mut errors = Vec::new();
    if fk.columns.len() != fk.parent_columns.len() {
        errors.push(DeclarationError::ArityMismatch {
            fk: label.to_owned(),
            child: fk.columns.len(),
            parent: fk.parent_columns.len(),
        });
    }
    for column in &fk.columns {
        match table.column(column) {
            None => errors.push(DeclarationError::UnknownColumn {
                fk: label.to_owned(),
                table: table.name.clone(),
                column: column.clone(),
            }),
            Some(c) if !c.nullable => {
                for (event, action) in [("DELETE", fk.on_delete), ("UPDATE", fk.on_update)] {
                    if action == FkAction::SetNull {
                        errors.push(DeclarationError::SetNullOnNotNull {
                            fk: label.to_owned(),
                            event,
                            column: column.clone(),
                        });
                    }
                }
            }
            Some(_) => {}
        }
    }
    let Some(parent) = graph.table(&fk.parent_table) else {
        errors.push(DeclarationError::UnknownParent {
            fk: label.to_owned(),
            parent: fk.parent_table.clone(),
        });
        return errors;
    };
    for column in &fk.parent_columns {
        if parent.column(column).is_none() {
            errors.push(DeclarationError::UnknownColumn {
                fk: label.to_owned(),
                table: parent.name.clone(),
                column: column.clone(),
            });
        }
    }
    if graph.fk_targets_key(fk) == Some(false) {
        errors.push(DeclarationError::ParentNotKey {
            fk: label.to_owned(),
            parent: parent.name.clone(),
        });
    }
    errors
}

/// Adds an index for every FK column set (DB-enforced or ORM-only) that nothing covers yet.
pub(super) fn derive_fk_indexes(graph: &mut RuleGraph) {
    for table in graph.tables.values_mut() {
        let needed: Vec<Vec<String>> = table
            .foreign_keys
            .iter()
            .map(|fk| fk.columns.clone())
            .collect();
        for columns in needed {
            if !table.has_index_covering(&columns) {
                table.indexes.push(Index {
                    name: Some(fk_index_name(&table.name, &columns)),
                    columns,
                    unique: false,
                });
            }
        }
    }
}
