//! Lint rules over the shape of the graph: NOT NULL cycles, cascade depth and paths, and the
//! policies (owner rule, protected tables, allowed reach).

use std::collections::BTreeSet;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{Deferrable, Dialect, FkAction};

use super::{
    CASCADE_DEPTH, Finding, LintConfig, MULTIPLE_CASCADE_PATHS, NOT_NULL_CYCLE, OWNER_POLICY,
    PROTECTED_TABLE_REACHED,
};
use crate::policy::{Policy, matches};
use crate::reach::{Edge, Reach, reach};

/// The cascade depth at which each engine refuses the delete (measured on MariaDB 10.11: a
/// chain 14 levels deep deletes, 15 fails; SQLite's trigger depth limit is 1000).
fn refusing_depth(dialect: Dialect) -> Option<usize> {
    match dialect {
        Dialect::MySql => Some(15),
        Dialect::Sqlite => Some(1001),
        Dialect::Postgres => None,
    }
}

pub(super) fn check(graph: &RuleGraph, config: &LintConfig) -> Vec<Finding> {
    let mut findings = not_null_cycles(graph);
    for root in graph.tables.keys() {
        let reach = reach(graph, root);
        findings.extend(cascade_depth(&reach, config));
        findings.extend(multiple_paths(&reach));
        for policy in &config.policies {
            findings.extend(reach_policy(&reach, policy));
        }
    }
    for policy in &config.policies {
        findings.extend(owner_policy(graph, policy));
    }
    findings
}

/// Cycles of two or more tables linked by NOT NULL, non-deferrable FKs. (A row may reference
/// itself, so a self-reference alone is insertable.)
fn not_null_cycles(graph: &RuleGraph) -> Vec<Finding> {
    let hard_parents = |table: &str| -> Vec<String> {
        graph
            .table(table)
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|fk| fk.deferrable == Deferrable::No && fk.parent_table != t.name)
                    .filter(|fk| {
                        fk.columns
                            .iter()
                            .all(|c| t.column(c).is_some_and(|c| !c.nullable))
                    })
                    .map(|fk| fk.parent_table.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut reported: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    let mut findings = Vec::new();
    for start in graph.tables.keys() {
        // Depth-first search for a path of hard edges leading back to `start`.
        let mut stack = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let Some(last) = path.last() else { continue };
            for parent in hard_parents(last) {
                if parent == *start {
                    let members: BTreeSet<String> = path.iter().cloned().collect();
                    if reported.insert(members) {
                        findings.push(Finding::new(
                            &NOT_NULL_CYCLE,
                            start,
                            None,
                            format!(
                                "NOT NULL foreign keys form a cycle: {} -> {start}",
                                path.join(" -> ")
                            ),
                            "make one FK column on the cycle nullable (or the constraint \
                             DEFERRABLE on PostgreSQL)"
                                .into(),
                        ));
                    }
                } else if !path.contains(&parent) && graph.table(&parent).is_some() {
                    let mut next = path.clone();
                    next.push(parent);
                    stack.push(next);
                }
            }
        }
    }
    findings
}

fn cascade_depth(reach: &Reach, config: &LintConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for &dialect in &config.dialects {
        let Some(limit) = refusing_depth(dialect) else {
            continue;
        };
        let message = match reach.max_depth {
            Some(depth) if depth >= limit => format!(
                "deleting `{}` cascades {depth} levels deep; {dialect} refuses at {limit}",
                reach.root
            ),
            // Only the tables on the cycle report it, once each.
            None if reach
                .deleted
                .values()
                .flatten()
                .any(|path| path.last().is_some_and(|e| e.parent == reach.root)) =>
            {
                format!(
                    "`{}` cascades into itself, so the depth depends on the data; {dialect} \
                     refuses a delete at {limit} levels",
                    reach.root
                )
            }
            _ => continue,
        };
        let mut finding = Finding::new(
            &CASCADE_DEPTH,
            &reach.root,
            None,
            message,
            "break the chain: SET NULL or RESTRICT on one level, or delete level by level".into(),
        );
        if reach.max_depth.is_none() {
            finding.severity = super::Severity::Warning;
        }
        findings.push(finding);
    }
    findings
}

fn multiple_paths(reach: &Reach) -> Vec<Finding> {
    let mut tables: BTreeSet<&str> = reach.deleted.keys().map(String::as_str).collect();
    tables.extend(reach.updated.iter().map(|e| e.child.as_str()));
    tables
        .into_iter()
        .filter_map(|table| {
            let paths = reach.paths_into(table);
            (paths.len() > 1).then(|| {
                Finding::new(
                    &MULTIPLE_CASCADE_PATHS,
                    &reach.root,
                    None,
                    format!(
                        "deleting `{}` reaches `{table}` by {} paths: {}",
                        reach.root,
                        paths.len(),
                        paths
                            .iter()
                            .map(|p| path_label(&reach.root, p))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    "nothing to do for PostgreSQL, SQLite or MariaDB".into(),
                )
            })
        })
        .collect()
}

fn reach_policy(reach: &Reach, policy: &Policy) -> Vec<Finding> {
    let offending: Vec<(&String, &Vec<Vec<Edge>>)> = match policy {
        Policy::Protect { pattern } => reach
            .deleted
            .iter()
            .filter(|(table, _)| matches(pattern, table))
            .collect(),
        Policy::Reach { table, allowed } if *table == reach.root => reach
            .deleted
            .iter()
            .filter(|(t, _)| !allowed.iter().any(|p| matches(p, t)))
            .collect(),
        _ => Vec::new(),
    };
    offending
        .into_iter()
        .map(|(table, paths)| {
            let path = paths
                .first()
                .map(|p| path_label(&reach.root, p))
                .unwrap_or_default();
            Finding::new(
                &PROTECTED_TABLE_REACHED,
                table,
                paths.first().and_then(|p| p.last()).map(Edge::label),
                format!(
                    "deleting `{}` deletes rows of `{table}` ({path})",
                    reach.root
                ),
                "change the CASCADE on that path to RESTRICT or SET NULL, or relax the policy"
                    .into(),
            )
        })
        .collect()
}

fn owner_policy(graph: &RuleGraph, policy: &Policy) -> Vec<Finding> {
    let Policy::Owner {
        table: owner,
        action,
    } = policy
    else {
        return Vec::new();
    };
    graph
        .referencing(owner)
        .filter(|(_, fk)| fk.on_delete != *action)
        .map(|(child, fk)| {
            Finding::new(
                &OWNER_POLICY,
                &child.name,
                Some(fk.describe(&child.name)),
                format!(
                    "{} is ON DELETE {}, policy owner={owner} requires {action}",
                    fk.describe(&child.name),
                    fk.on_delete
                ),
                format!(
                    "declare `on_delete = \"{}\"` (or run `cascade repair`)",
                    pascal(*action)
                ),
            )
        })
        .collect()
}

/// SeaORM's attribute spelling of an action.
fn pascal(action: FkAction) -> &'static str {
    match action {
        FkAction::NoAction => "NoAction",
        FkAction::Restrict => "Restrict",
        FkAction::Cascade => "Cascade",
        FkAction::SetNull => "SetNull",
        FkAction::SetDefault => "SetDefault",
    }
}

/// `root -> a (CASCADE) -> b (SET NULL)`.
pub(crate) fn path_label(root: &str, path: &[Edge]) -> String {
    let mut label = root.to_owned();
    for edge in path {
        label.push_str(&format!(
            " -> {}.{} ({})",
            edge.child,
            edge.columns.join(","),
            edge.action
        ));
    }
    label
}
