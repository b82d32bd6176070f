//! Comparing two RuleGraphs (the expected one, usually declared, and the actual one, usually
//! introspected) under one dialect's normalisation.
//!
//! Only what a database can carry is compared: tables, columns (nullability, presence of a
//! default), keys, DB-enforced FKs with their effective actions, and whether every FK column set
//! has a supporting index. Index and constraint names and column types are informational.

use serde::Serialize;

use super::dialect::Dialect;
use super::model::{Enforcement, FkAction, ForeignKey, RuleGraph, Table};

/// One difference between the expected and the actual graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    MissingTable {
        table: String,
    },
    ExtraTable {
        table: String,
    },
    MissingColumn {
        table: String,
        column: String,
    },
    ExtraColumn {
        table: String,
        column: String,
    },
    Nullability {
        table: String,
        column: String,
        expected_nullable: bool,
    },
    DefaultPresence {
        table: String,
        column: String,
        expected_default: bool,
    },
    PrimaryKey {
        table: String,
        expected: Vec<String>,
        actual: Vec<String>,
    },
    MissingUniqueKey {
        table: String,
        columns: Vec<String>,
    },
    ExtraUniqueKey {
        table: String,
        columns: Vec<String>,
    },
    MissingForeignKey {
        table: String,
        foreign_key: String,
    },
    ExtraForeignKey {
        table: String,
        foreign_key: String,
    },
    ForeignKeyAction {
        table: String,
        foreign_key: String,
        event: FkEvent,
        expected: FkAction,
        actual: FkAction,
    },
    MissingForeignKeyIndex {
        table: String,
        columns: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FkEvent {
    Delete,
    Update,
}

impl RuleGraph {
    /// Everything in which `actual` departs from `self`, as `dialect` would store `self`.
    pub fn diff(&self, actual: &RuleGraph, dialect: Dialect) -> Vec<Drift> {
        let mut drifts = Vec::new();
        for (name, expected) in &self.tables {
            match actual.table(name) {
                None => drifts.push(Drift::MissingTable {
                    table: name.clone(),
                }),
                Some(live) => diff_table(expected, live, dialect, &mut drifts),
            }
        }
        for name in actual.tables.keys() {
            if !self.tables.contains_key(name) {
                drifts.push(Drift::ExtraTable {
                    table: name.clone(),
                });
            }
        }
        drifts
    }
}

fn diff_table(expected: &Table, actual: &Table, dialect: Dialect, drifts: &mut Vec<Drift>) {
    let table = || expected.name.clone();
    for column in &expected.columns {
        let Some(live) = actual.column(&column.name) else {
            drifts.push(Drift::MissingColumn {
                table: table(),
                column: column.name.clone(),
            });
            continue;
        };
        // A key column's NULL acceptance is a storage detail (PostgreSQL and MariaDB never take
        // NULL there, SQLite's rowid tables do unless the key is the rowid), not a rule.
        let in_key = expected.primary_key.contains(&column.name);
        if live.nullable != column.nullable && !in_key {
            drifts.push(Drift::Nullability {
                table: table(),
                column: column.name.clone(),
                expected_nullable: column.nullable,
            });
        }
        if live.default.is_some() != column.default.is_some() {
            drifts.push(Drift::DefaultPresence {
                table: table(),
                column: column.name.clone(),
                expected_default: column.default.is_some(),
            });
        }
    }
    for column in &actual.columns {
        if expected.column(&column.name).is_none() {
            drifts.push(Drift::ExtraColumn {
                table: table(),
                column: column.name.clone(),
            });
        }
    }
    if expected.primary_key != actual.primary_key {
        drifts.push(Drift::PrimaryKey {
            table: table(),
            expected: expected.primary_key.clone(),
            actual: actual.primary_key.clone(),
        });
    }
    let expected_uniques = sorted_sets(&expected.unique_keys);
    let actual_uniques = sorted_sets(&actual.unique_keys);
    for columns in expected_uniques
        .iter()
        .filter(|k| !actual_uniques.contains(k))
    {
        drifts.push(Drift::MissingUniqueKey {
            table: table(),
            columns: columns.clone(),
        });
    }
    for columns in actual_uniques
        .iter()
        .filter(|k| !expected_uniques.contains(k))
    {
        drifts.push(Drift::ExtraUniqueKey {
            table: table(),
            columns: columns.clone(),
        });
    }
    diff_foreign_keys(expected, actual, dialect, drifts);
}

fn diff_foreign_keys(expected: &Table, actual: &Table, dialect: Dialect, drifts: &mut Vec<Drift>) {
    let table = || expected.name.clone();
    let enforced = |t: &'_ Table| -> Vec<ForeignKey> {
        t.foreign_keys
            .iter()
            .filter(|fk| fk.enforcement == Enforcement::Database)
            .cloned()
            .collect()
    };
    let (wanted, live) = (enforced(expected), enforced(actual));
    for fk in &wanted {
        let label = fk.describe(&expected.name);
        let Some(found) = live.iter().find(|l| same_reference(fk, l)) else {
            drifts.push(Drift::MissingForeignKey {
                table: table(),
                foreign_key: label,
            });
            continue;
        };
        for (event, want, have) in [
            (FkEvent::Delete, fk.on_delete, found.on_delete),
            (FkEvent::Update, fk.on_update, found.on_update),
        ] {
            let (want, have) = (
                dialect.effective_action(want),
                dialect.effective_action(have),
            );
            if want != have {
                drifts.push(Drift::ForeignKeyAction {
                    table: table(),
                    foreign_key: label.clone(),
                    event,
                    expected: want,
                    actual: have,
                });
            }
        }
    }
    for fk in live
        .iter()
        .filter(|l| !wanted.iter().any(|w| same_reference(w, l)))
    {
        drifts.push(Drift::ExtraForeignKey {
            table: table(),
            foreign_key: fk.describe(&actual.name),
        });
    }
    for fk in &expected.foreign_keys {
        if expected.has_index_covering(&fk.columns) && !actual.has_index_covering(&fk.columns) {
            drifts.push(Drift::MissingForeignKeyIndex {
                table: table(),
                columns: fk.columns.clone(),
            });
        }
    }
}

impl ForeignKey {
    /// Same child columns referencing the same parent columns, pairwise (column order may
    /// differ): the identity of an FK when names are not comparable.
    pub fn same_reference(&self, other: &ForeignKey) -> bool {
        same_reference(self, other)
    }
}

fn same_reference(a: &ForeignKey, b: &ForeignKey) -> bool {
    let pairs = |fk: &ForeignKey| {
        let mut p: Vec<(String, String)> = fk
            .columns
            .iter()
            .cloned()
            .zip(fk.parent_columns.iter().cloned())
            .collect();
        p.sort();
        p
    };
    a.parent_table == b.parent_table && pairs(a) == pairs(b)
}

fn sorted_sets(keys: &[Vec<String>]) -> Vec<Vec<String>> {
    keys.iter()
        .map(|k| {
            let mut k = k.clone();
            k.sort();
            k
        })
        .collect()
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::MissingTable { table } => write!(f, "table `{table}` is missing"),
            Drift::ExtraTable { table } => write!(f, "table `{table}` is not declared"),
            Drift::MissingColumn { table, column } => {
                write!(f, "column `{table}.{column}` is missing")
            }
            Drift::ExtraColumn { table, column } => {
                write!(f, "column `{table}.{column}` is not declared")
            }
            Drift::Nullability {
                table,
                column,
                expected_nullable,
            } => write!(
                f,
                "column `{table}.{column}` should be {}",
                if *expected_nullable {
                    "NULL"
                } else {
                    "NOT NULL"
                }
            ),
            Drift::DefaultPresence {
                table,
                column,
                expected_default,
            } => write!(
                f,
                "column `{table}.{column}` should {}have a default",
                if *expected_default { "" } else { "not " }
            ),
            Drift::PrimaryKey {
                table,
                expected,
                actual,
            } => write!(
                f,
                "`{table}` primary key is ({}), expected ({})",
                actual.join(", "),
                expected.join(", ")
            ),
            Drift::MissingUniqueKey { table, columns } => {
                write!(f, "`{table}` lacks unique key ({})", columns.join(", "))
            }
            Drift::ExtraUniqueKey { table, columns } => {
                write!(
                    f,
                    "`{table}` has undeclared unique key ({})",
                    columns.join(", ")
                )
            }
            Drift::MissingForeignKey { foreign_key, .. } => {
                write!(f, "foreign key {foreign_key} is missing")
            }
            Drift::ExtraForeignKey { foreign_key, .. } => {
                write!(f, "foreign key {foreign_key} is not declared")
            }
            Drift::ForeignKeyAction {
                foreign_key,
                event,
                expected,
                actual,
                ..
            } => write!(
                f,
                "foreign key {foreign_key}: ON {} is {actual}, expected {expected}",
                match event {
                    FkEvent::Delete => "DELETE",
                    FkEvent::Update => "UPDATE",
                }
            ),
            Drift::MissingForeignKeyIndex { table, columns } => write!(
                f,
                "no index supports foreign key columns `{table}`({})",
                columns.join(", ")
            ),
        }
    }
}
