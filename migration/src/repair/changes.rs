//! Which FKs and FK indexes a repair touches: expected vs live, under the dialect's
//! normalisation (the same effective-action comparison as `RuleGraph::diff`, so the repair and
//! the audit agree on what is drift).
//!
//! Only tables present on both sides are considered: creating or dropping tables and columns is
//! a schema migration's job, not a constraint repair's.

use cascade_entity::rules::{
    Dialect, Enforcement, ForeignKey, RuleGraph, Table, fk_constraint_name, fk_index_name,
};
use serde::Serialize;

/// One FK to add (`before` None), drop (`after` None) or replace (both).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FkChange {
    /// The child table, present in both graphs.
    pub table: String,
    /// The live FK; `None` when the FK is added.
    pub before: Option<ForeignKey>,
    /// The FK as it should be; `None` when it is dropped. A replacement keeps the live name and
    /// column order and changes only the rules; an added FK without a name gets
    /// `fk_<table>_<cols>` where the dialect keeps names.
    pub after: Option<ForeignKey>,
}

impl FkChange {
    /// `add`, `drop` or `replace`.
    pub fn kind(&self) -> &'static str {
        match (&self.before, &self.after) {
            (None, _) => "add",
            (_, None) => "drop",
            _ => "replace",
        }
    }

    /// A one-line description: `replace run(owner_id) -> user(uid): ON DELETE RESTRICT -> CASCADE`.
    pub fn describe(&self) -> String {
        let fk = self.after.as_ref().or(self.before.as_ref());
        let label = fk.map(|fk| fk.describe(&self.table)).unwrap_or_default();
        let rule =
            |fk: &ForeignKey| format!("ON DELETE {} ON UPDATE {}", fk.on_delete, fk.on_update);
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => format!("replace {label}: {} -> {}", rule(b), rule(a)),
            (None, Some(a)) => format!("add {label}: {}", rule(a)),
            (Some(b), None) => format!("drop {label}: {}", rule(b)),
            (None, None) => label,
        }
    }
}

/// An FK column set with no supporting index: the repair creates `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexChange {
    /// The child table.
    pub table: String,
    /// The index to create, `ix_<table>_<cols>` ([`fk_index_name`]).
    pub name: String,
    /// The FK's child columns, in FK order.
    pub columns: Vec<String>,
}

/// The FK and index changes that turn `live` into `expected` on `dialect`.
pub(crate) fn fk_changes(
    expected: &RuleGraph,
    live: &RuleGraph,
    dialect: Dialect,
) -> (Vec<FkChange>, Vec<IndexChange>) {
    let mut changes = Vec::new();
    let mut indexes = Vec::new();
    for (name, want) in &expected.tables {
        let Some(have) = live.table(name) else {
            continue;
        };
        table_changes(want, have, dialect, &mut changes);
        if !dialect.indexes_foreign_keys() {
            for fk in database_fks(want) {
                if want.has_index_covering(&fk.columns)
                    && !have.has_index_covering(&fk.columns)
                    && !indexes
                        .iter()
                        .any(|i: &IndexChange| i.table == *name && i.columns == fk.columns)
                {
                    indexes.push(IndexChange {
                        table: name.clone(),
                        name: fk_index_name(name, &fk.columns),
                        columns: fk.columns.clone(),
                    });
                }
            }
        }
    }
    (changes, indexes)
}

fn table_changes(want: &Table, have: &Table, dialect: Dialect, changes: &mut Vec<FkChange>) {
    let live: Vec<&ForeignKey> = database_fks(have).collect();
    for fk in database_fks(want) {
        match live.iter().find(|l| fk.same_reference(l)) {
            None => {
                let mut after = fk.clone();
                if after.name.is_none() && dialect.keeps_constraint_names() {
                    after.name = Some(fk_constraint_name(&want.name, &fk.columns));
                }
                changes.push(FkChange {
                    table: want.name.clone(),
                    before: None,
                    after: Some(after),
                });
            }
            Some(found) => {
                let same = |a, b| dialect.effective_action(a) == dialect.effective_action(b);
                if !same(fk.on_delete, found.on_delete) || !same(fk.on_update, found.on_update) {
                    // Keep the live constraint's name and column order: only the rule changes.
                    let mut after = (*found).clone();
                    after.on_delete = fk.on_delete;
                    after.on_update = fk.on_update;
                    after.deferrable = fk.deferrable;
                    after.set_null_columns = fk.set_null_columns.clone();
                    changes.push(FkChange {
                        table: want.name.clone(),
                        before: Some((*found).clone()),
                        after: Some(after),
                    });
                }
            }
        }
    }
    for fk in live
        .iter()
        .filter(|l| !database_fks(want).any(|w| w.same_reference(l)))
    {
        changes.push(FkChange {
            table: want.name.clone(),
            before: Some((*fk).clone()),
            after: None,
        });
    }
}

fn database_fks(table: &Table) -> impl Iterator<Item = &ForeignKey> {
    table
        .foreign_keys
        .iter()
        .filter(|fk| fk.enforcement == Enforcement::Database)
}
