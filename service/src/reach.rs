//! Schema-level reach of a delete: starting from one table, which tables lose rows (CASCADE,
//! transitively), which columns are nulled or defaulted, which rules would block it, by which
//! paths, and how deep the cascade goes. No data is read; this is what the rules allow.
//!
//! Lint (depth limits, several paths, protected tables) and the generated docs (cascade
//! summaries, the delete-behaviour matrix) are both computed from [`reach`].

use std::collections::BTreeMap;

use cascade_entity::rules::{Enforcement, FkAction, ForeignKey, RuleGraph};
use serde::Serialize;

/// Enough paths to tell "one" from "several" without enumerating a combinatorial explosion.
const MAX_PATHS: usize = 64;

/// One FK edge, named from the child side: `child.columns -> parent`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    /// The child table (holds the FK).
    pub child: String,
    /// The FK columns.
    pub columns: Vec<String>,
    /// The parent table.
    pub parent: String,
    /// The ON DELETE action.
    pub action: FkAction,
    /// Whether only the ORM enforces the edge.
    pub orm_only: bool,
}

impl Edge {
    fn of(child: &str, fk: &ForeignKey) -> Edge {
        Edge {
            child: child.to_owned(),
            columns: fk.columns.clone(),
            parent: fk.parent_table.clone(),
            action: fk.on_delete,
            orm_only: fk.enforcement == Enforcement::OrmOnly,
        }
    }

    /// `child.col -> parent`.
    pub fn label(&self) -> String {
        format!(
            "{}.{} -> {}",
            self.child,
            self.columns.join(","),
            self.parent
        )
    }
}

/// What deleting rows of `root` can do to the rest of the schema.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    /// The table whose rows are deleted.
    pub root: String,
    /// Tables whose rows may be deleted (root excluded), each with the cascade paths reaching it.
    pub deleted: BTreeMap<String, Vec<Vec<Edge>>>,
    /// SET NULL / SET DEFAULT edges fired by a deleted table (root included).
    pub updated: Vec<Edge>,
    /// RESTRICT / NO ACTION edges into a deleted table: the delete fails if such rows exist
    /// (and are not themselves deleted).
    pub blocking: Vec<Edge>,
    /// Longest CASCADE chain in edges; `None` when a cascade cycle makes it data-dependent.
    pub max_depth: Option<usize>,
}

impl Reach {
    /// Every path by which rows of `table` may be affected (deleted, or updated by SET NULL /
    /// SET DEFAULT as the last step).
    pub fn paths_into(&self, table: &str) -> Vec<Vec<Edge>> {
        let mut paths = self.deleted.get(table).cloned().unwrap_or_default();
        for edge in self.updated.iter().filter(|e| e.child == table) {
            let prefixes = if edge.parent == self.root {
                vec![Vec::new()]
            } else {
                self.deleted.get(&edge.parent).cloned().unwrap_or_default()
            };
            for mut path in prefixes {
                path.push(edge.clone());
                paths.push(path);
            }
        }
        paths.truncate(MAX_PATHS);
        paths
    }
}

/// The reach of deleting rows of `root` under `graph`'s rules.
pub fn reach(graph: &RuleGraph, root: &str) -> Reach {
    let mut deleted: BTreeMap<String, Vec<Vec<Edge>>> = BTreeMap::new();
    let mut cyclic = false;
    let mut max_depth = 0;
    // Depth-first over simple cascade paths; each table's paths are collected as found.
    let mut stack: Vec<(String, Vec<Edge>)> = vec![(root.to_owned(), Vec::new())];
    while let Some((table, path)) = stack.pop() {
        max_depth = max_depth.max(path.len());
        for (child, fk) in graph.referencing(&table) {
            if fk.on_delete != FkAction::Cascade {
                continue;
            }
            let edge = Edge::of(&child.name, fk);
            let revisits = child.name == root || path.iter().any(|e| e.child == child.name);
            if revisits {
                cyclic = true;
                continue;
            }
            let mut next = path.clone();
            next.push(edge);
            let paths = deleted.entry(child.name.clone()).or_default();
            if paths.len() < MAX_PATHS {
                paths.push(next.clone());
                stack.push((child.name.clone(), next));
            }
        }
    }
    let mut updated = Vec::new();
    let mut blocking = Vec::new();
    let affected = std::iter::once(root).chain(deleted.keys().map(String::as_str));
    for table in affected {
        for (child, fk) in graph.referencing(table) {
            match fk.on_delete {
                FkAction::Cascade => {}
                FkAction::SetNull | FkAction::SetDefault => updated.push(Edge::of(&child.name, fk)),
                FkAction::Restrict | FkAction::NoAction => blocking.push(Edge::of(&child.name, fk)),
            }
        }
    }
    updated.sort();
    updated.dedup();
    blocking.sort();
    blocking.dedup();
    Reach {
        root: root.to_owned(),
        deleted,
        updated,
        blocking,
        max_depth: (!cyclic).then_some(max_depth),
    }
}
