//! Defects of one schema, seen without comparing it to anything: the one definition of each,
//! used by every tool that reports it (`lint` as CL009 / CL013, `audit` beside its drift, the
//! declaration builder for the parent-key rule).
//!
//! - An FK whose column set no key or index covers: every delete of a parent scans the child.
//! - An FK whose parent columns are not a key of the parent (neither the primary key nor a
//!   unique key or index): SQLite refuses every delete from the parent ("foreign key
//!   mismatch"), PostgreSQL refuses to create it, InnoDB accepts it and matches one child row to
//!   many parents. The delete engine's `fk_mismatch` refusal is the same test
//!   ([`Table::is_key`]).

use serde::Serialize;

use super::model::{ForeignKey, RuleGraph, Table};

/// One defect of a schema, with the table and FK it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Defect {
    /// No key or index starts with the FK's columns.
    UnindexedForeignKey {
        /// The child table holding the FK.
        table: String,
        /// The FK, as `child(cols) -> parent(cols)`.
        foreign_key: String,
        /// The FK's child columns, which want an index.
        columns: Vec<String>,
    },
    /// The FK's parent columns are not a key of the parent table.
    ForeignKeyTargetNotKey {
        /// The child table holding the FK.
        table: String,
        /// The FK, as `child(cols) -> parent(cols)`.
        foreign_key: String,
        /// The parent table.
        parent: String,
        /// The referenced columns, which are not a key of `parent`.
        parent_columns: Vec<String>,
    },
}

impl Defect {
    /// The table the defect is on (the FK's child table).
    pub fn table(&self) -> &str {
        match self {
            Defect::UnindexedForeignKey { table, .. }
            | Defect::ForeignKeyTargetNotKey { table, .. } => table,
        }
    }

    /// The FK concerned, as `child(cols) -> parent(cols)`.
    pub fn foreign_key(&self) -> &str {
        match self {
            Defect::UnindexedForeignKey { foreign_key, .. }
            | Defect::ForeignKeyTargetNotKey { foreign_key, .. } => foreign_key,
        }
    }

    /// The `kind` spelling of the JSON form (`unindexed_foreign_key`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Defect::UnindexedForeignKey { .. } => "unindexed_foreign_key",
            Defect::ForeignKeyTargetNotKey { .. } => "foreign_key_target_not_key",
        }
    }
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Defect::UnindexedForeignKey { table, columns, .. } => write!(
                f,
                "no index starts with `{table}`({}), so every delete of a parent scans `{table}`",
                columns.join(", ")
            ),
            Defect::ForeignKeyTargetNotKey {
                foreign_key,
                parent,
                ..
            } => write!(
                f,
                "{foreign_key} references columns that are not a key of `{parent}` (SQLite \
                 refuses every delete from `{parent}` with `foreign key mismatch`)"
            ),
        }
    }
}

impl RuleGraph {
    /// Whether `fk`'s parent columns are a key of its parent table, so a child row matches at
    /// most one parent row; `None` when the parent table is not in the graph.
    pub fn fk_targets_key(&self, fk: &ForeignKey) -> Option<bool> {
        self.table(&fk.parent_table)
            .map(|parent| parent.is_key(&fk.parent_columns))
    }

    /// Every defect of the graph, tables in name order, FKs in their order.
    pub fn defects(&self) -> Vec<Defect> {
        let mut defects = Vec::new();
        for table in self.tables.values() {
            for fk in table.unindexed_foreign_keys() {
                defects.push(Defect::UnindexedForeignKey {
                    table: table.name.clone(),
                    foreign_key: fk.describe(&table.name),
                    columns: fk.columns.clone(),
                });
            }
            for fk in &table.foreign_keys {
                if self.fk_targets_key(fk) == Some(false) {
                    defects.push(Defect::ForeignKeyTargetNotKey {
                        table: table.name.clone(),
                        foreign_key: fk.describe(&table.name),
                        parent: fk.parent_table.clone(),
                        parent_columns: fk.parent_columns.clone(),
                    });
                }
            }
        }
        defects
    }

    /// The graph with an index added for every FK column set nothing covers yet, named
    /// `ix_<table>_<cols>`: the state every tool expects (the declarations derive the same).
    #[must_use]
    pub fn with_fk_indexes(mut self) -> RuleGraph {
        super::build::derive_fk_indexes(&mut self);
        self
    }
}

impl Table {
    /// This table's FKs whose column set no key or index covers (each column set once).
    pub fn unindexed_foreign_keys(&self) -> impl Iterator<Item = &ForeignKey> {
        self.foreign_keys.iter().enumerate().filter_map(|(i, fk)| {
            let first = self.foreign_keys[..i]
                .iter()
                .all(|earlier| earlier.columns != fk.columns);
            (first && !self.has_index_covering(&fk.columns)).then_some(fk)
        })
    }
}
