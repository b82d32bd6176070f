//! Comparing two RuleGraphs (the expected one, usually declared, and the actual one, usually
//! introspected) under one dialect's normalisation.
//!
//! Only what a database can carry is compared: tables, columns (nullability, presence of a
//! default), keys, DB-enforced FKs with their effective actions, and whether every FK column set
//! has a supporting index. Index and constraint names and column types are informational.

use serde::Serialize;

use super::dialect::Dialect;
use super::model::{Enforcement, FkAction, ForeignKey, RuleGraph, Table};

/// One difference between the expected and the actual graph; FKs are named as
/// `child(cols) -> parent(cols)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Drift {
    /// An expected table the actual graph lacks.
    MissingTable {
        /// The missing table.
        table: String,
    },
    /// An actual table the expected graph does not have.
    ExtraTable {
        /// The undeclared table.
        table: String,
    },
    /// An expected column the actual table lacks.
    MissingColumn {
        /// The table, present on both sides.
        table: String,
        /// The missing column.
        column: String,
    },
    /// An actual column the expected table does not have.
    ExtraColumn {
        /// The table, present on both sides.
        table: String,
        /// The undeclared column.
        column: String,
    },
    /// A column that accepts NULL on one side only.
    Nullability {
        /// The table, present on both sides.
        table: String,
        /// The column, present on both sides.
        column: String,
        /// Whether the expected column accepts NULL (the actual one does the opposite).
        expected_nullable: bool,
    },
    /// A column with a default on one side only (default values are not compared).
    DefaultPresence {
        /// The table, present on both sides.
        table: String,
        /// The column, present on both sides.
        column: String,
        /// Whether the expected column has a default (the actual one does the opposite).
        expected_default: bool,
    },
    /// Primary keys whose columns differ, in key order.
    PrimaryKey {
        /// The table, present on both sides.
        table: String,
        /// The expected key columns, in key order.
        expected: Vec<String>,
        /// The actual key columns, in key order; empty when there is no primary key.
        actual: Vec<String>,
    },
    /// An expected unique key (a column set) the actual table lacks.
    MissingUniqueKey {
        /// The table, present on both sides.
        table: String,
        /// The key's columns, sorted by name.
        columns: Vec<String>,
    },
    /// An actual unique key the expected table does not have.
    ExtraUniqueKey {
        /// The table, present on both sides.
        table: String,
        /// The key's columns, sorted by name.
        columns: Vec<String>,
    },
    /// An expected DB-enforced FK with no actual one of the same reference
    /// ([`ForeignKey::same_reference`]).
    MissingForeignKey {
        /// The child table.
        table: String,
        /// The expected FK.
        foreign_key: String,
    },
    /// An actual DB-enforced FK the expected table does not have (ORM-only FKs are never
    /// compared).
    ExtraForeignKey {
        /// The child table.
        table: String,
        /// The undeclared FK.
        foreign_key: String,
    },
    /// An FK on both sides whose rule for one event differs as the dialect applies it.
    ForeignKeyAction {
        /// The child table.
        table: String,
        /// The FK, as the expected graph has it.
        foreign_key: String,
        /// Which of its rules differs.
        event: FkEvent,
        /// The expected rule, as the dialect applies it ([`Dialect::effective_action`]).
        expected: FkAction,
        /// The actual rule, as the dialect applies it.
        actual: FkAction,
    },
    /// An FK column set the expected table has a key or index for and the actual one has not.
    MissingForeignKeyIndex {
        /// The child table.
        table: String,
        /// The FK's child columns, in FK order.
        columns: Vec<String>,
    },
}

/// Which of an FK's two rules a [`Drift::ForeignKeyAction`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FkEvent {
    /// The `ON DELETE` rule.
    Delete,
    /// The `ON UPDATE` rule.
    Update,
}

impl RuleGraph {
    /// Everything in which `actual` departs from `self`, as `dialect` would store `self`: table
    /// by table in name order, then the tables `actual` has on top.
    ///
    /// ```
    /// use cascade_entity::rules::{Dialect, Drift, FkAction, FkEvent, RuleGraph};
    /// # use cascade_entity::rules::{Column, ColumnKind, Deferrable, Enforcement, ForeignKey};
    /// # use cascade_entity::rules::Table;
    /// # fn blog(on_delete: FkAction) -> RuleGraph {
    /// #     let column = |name: &str| Column::new(name, ColumnKind::BigInteger, false, None);
    /// #     let mut post = Table::named("post");
    /// #     post.columns.push(column("id"));
    /// #     post.primary_key.push("id".into());
    /// #     let mut comment = Table::named("comment");
    /// #     comment.columns.extend([column("id"), column("post_id")]);
    /// #     comment.primary_key.push("id".into());
    /// #     comment.foreign_keys.push(ForeignKey {
    /// #         name: Some("fk_comment_post_id".into()),
    /// #         columns: vec!["post_id".into()],
    /// #         parent_table: "post".into(),
    /// #         parent_columns: vec!["id".into()],
    /// #         on_delete,
    /// #         on_update: FkAction::NoAction,
    /// #         on_delete_explicit: true,
    /// #         enforcement: Enforcement::Database,
    /// #         deferrable: Deferrable::No,
    /// #         set_null_columns: None,
    /// #         creation_rank: Some(0),
    /// #     });
    /// #     RuleGraph { tables: [post, comment].map(|t| (t.name.clone(), t)).into() }
    /// # }
    /// // `comment(post_id) -> post(id)`, declared NO ACTION, read back from a catalog as RESTRICT.
    /// let declared = blog(FkAction::NoAction);
    /// let live = blog(FkAction::Restrict);
    ///
    /// // InnoDB checks NO ACTION at once, exactly like RESTRICT: no drift on MariaDB.
    /// assert!(declared.diff(&live, Dialect::MySql).is_empty());
    ///
    /// // PostgreSQL defers a NO ACTION check to the end of the statement: a real difference.
    /// let drift = declared.diff(&live, Dialect::Postgres);
    /// assert!(matches!(
    ///     &drift[..],
    ///     [Drift::ForeignKeyAction { event: FkEvent::Delete, actual: FkAction::Restrict, .. }]
    /// ));
    /// assert_eq!(
    ///     drift[0].to_string(),
    ///     "foreign key comment(post_id) -> post(id): ON DELETE is RESTRICT, expected NO ACTION"
    /// );
    /// ```
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
