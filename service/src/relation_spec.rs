//! Relations declared on the command line, for databases whose references have no FK (a 1:1
//! side table joined by an unenforced back-pointer, say): `--relation 'CHILD.COL[,COL] ->
//! PARENT.COL[,COL] ACTION'`, e.g. `workflow_status.workflow_id -> workflow.id cascade`.
//! Each becomes an ORM-only FK in the rule graph, so the orphan scan treats it like any other.

use std::str::FromStr;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Deferrable, Enforcement, FkAction, ForeignKey};
use thiserror::Error;

/// An ORM-only relation given as `--relation 'child.col[,col] -> parent.col[,col] ACTION'`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationSpec {
    /// The child table, which holds the reference.
    pub table: String,
    /// The relation as an ORM-only FK of the child.
    pub fk: ForeignKey,
}

/// Why a `--relation` spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RelationError {
    /// The spec does not parse.
    #[error(
        "bad relation `{spec}`: {reason} (expected CHILD.COL[,COL] -> PARENT.COL[,COL] ACTION, \
         ACTION one of cascade, set_null, set_default, restrict, no_action)"
    )]
    Syntax {
        /// The spec as written.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The spec names a table the rules do not have.
    #[error("relation `{spec}`: no table `{table}` in the rules")]
    UnknownTable {
        /// The spec as written.
        spec: String,
        /// The table named.
        table: String,
    },
    /// The table has no such column.
    #[error("relation `{spec}`: table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The spec as written.
        spec: String,
        /// The table.
        table: String,
        /// The column named.
        column: String,
    },
}

impl FromStr for RelationSpec {
    type Err = RelationError;

    fn from_str(spec: &str) -> Result<RelationSpec, RelationError> {
        let error = |reason: &str| RelationError::Syntax {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (child, rest) = spec.split_once("->").ok_or_else(|| error("missing `->`"))?;
        let rest = rest.trim();
        let (parent, action) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| error("missing ACTION after the parent"))?;
        let action = FkAction::parse(action).ok_or_else(|| error("unknown ACTION"))?;
        let split = |side: &str, what: &str| -> Result<(String, Vec<String>), RelationError> {
            let (table, columns) = side
                .trim()
                .split_once('.')
                .ok_or_else(|| error(&format!("{what} needs TABLE.COL")))?;
            let columns: Vec<String> = columns.split(',').map(|c| c.trim().to_owned()).collect();
            if table.trim().is_empty() || columns.iter().any(String::is_empty) {
                return Err(error(&format!("empty {what} table or column")));
            }
            Ok((table.trim().to_owned(), columns))
        };
        let (table, columns) = split(child, "child")?;
        let (parent_table, parent_columns) = split(parent, "parent")?;
        if columns.len() != parent_columns.len() {
            return Err(error("child and parent column counts differ"));
        }
        Ok(RelationSpec {
            table,
            fk: ForeignKey {
                name: None,
                columns,
                parent_table,
                parent_columns,
                on_delete: action,
                on_update: FkAction::NoAction,
                on_delete_explicit: true,
                enforcement: Enforcement::OrmOnly,
                deferrable: Deferrable::No,
                set_null_columns: None,
                creation_rank: None,
            },
        })
    }
}

/// Adds each relation to `graph` (as an ORM-only FK) unless an FK with the same reference is
/// already there; refuses relations naming unknown tables or columns, changing nothing then.
pub fn add_relations(graph: &mut RuleGraph, specs: &[RelationSpec]) -> Result<(), RelationError> {
    for spec in specs {
        let label = spec.fk.describe(&spec.table);
        for (table, columns) in [
            (&spec.table, &spec.fk.columns),
            (&spec.fk.parent_table, &spec.fk.parent_columns),
        ] {
            let found = graph
                .table(table)
                .ok_or_else(|| RelationError::UnknownTable {
                    spec: label.clone(),
                    table: table.clone(),
                })?;
            if let Some(column) = columns.iter().find(|c| found.column(c).is_none()) {
                return Err(RelationError::UnknownColumn {
                    spec: label,
                    table: table.clone(),
                    column: column.clone(),
                });
            }
        }
    }
    for spec in specs {
        if let Some(table) = graph.tables.get_mut(&spec.table)
            && !table
                .foreign_keys
                .iter()
                .any(|fk| fk.same_reference(&spec.fk))
        {
            table.foreign_keys.push(spec.fk.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_simple_and_composite_relations() -> Result<(), RelationError> {
        let spec: RelationSpec = "workflow_status.workflow_id -> workflow.id cascade".parse()?;
        assert_eq!(spec.table, "workflow_status");
        assert_eq!(spec.fk.columns, ["workflow_id"]);
        assert_eq!(spec.fk.parent_table, "workflow");
        assert_eq!(spec.fk.on_delete, FkAction::Cascade);
        let spec: RelationSpec = "m.a, b -> acc.region,code set null".parse()?;
        assert_eq!(spec.fk.columns, ["a", "b"]);
        assert_eq!(spec.fk.on_delete, FkAction::SetNull);
        for bad in [
            "a.b workflow.id cascade",
            "a.b -> workflow.id",
            "a.b -> workflow.id explode",
            "a -> b.c cascade",
            "a.x,y -> b.c cascade",
        ] {
            assert!(bad.parse::<RelationSpec>().is_err(), "{bad}");
        }
        Ok(())
    }
}
