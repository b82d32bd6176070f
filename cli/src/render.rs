//! Human-readable tables for the terminal (comfy-table); JSON goes through serde instead.

use cascade_entity::rules::{Enforcement, ForeignKey, RuleGraph, Table};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table as Grid};

/// A fresh grid with the house style.
pub(crate) fn grid(header: &[&str]) -> Grid {
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    grid
}

/// One row per foreign key: what it references, both actions, who enforces it, whether its
/// columns are nullable and indexed. Tables without FKs get one row saying so.
pub(crate) fn rules(graph: &RuleGraph) -> String {
    let mut grid = grid(&[
        "table",
        "column(s)",
        "references",
        "on delete",
        "on update",
        "enforced by",
        "nullable",
        "indexed",
    ]);
    for name in graph.dependency_order() {
        let Some(table) = graph.table(name) else {
            continue;
        };
        if table.foreign_keys.is_empty() {
            grid.add_row([name, "-", "-", "-", "-", "-", "-", "-"]);
        }
        for fk in &table.foreign_keys {
            grid.add_row([
                name.to_owned(),
                fk.columns.join(", "),
                format!("{}({})", fk.parent_table, fk.parent_columns.join(", ")),
                fk.on_delete.to_string(),
                fk.on_update.to_string(),
                enforcement(fk).to_owned(),
                yes_no(table.all_nullable(&fk.columns)).to_owned(),
                yes_no(table.has_index_covering(&fk.columns)).to_owned(),
            ]);
        }
    }
    grid.to_string()
}

/// `project_id -> project: CASCADE` lines, for compact summaries.
pub(crate) fn rule_lines(table: &Table) -> String {
    table
        .foreign_keys
        .iter()
        .map(|fk| {
            format!(
                "{} -> {}: {}{}",
                fk.columns.join(", "),
                fk.parent_table,
                fk.on_delete,
                match fk.enforcement {
                    Enforcement::Database => "",
                    Enforcement::OrmOnly => " (ORM only)",
                }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn enforcement(fk: &ForeignKey) -> &'static str {
    match fk.enforcement {
        Enforcement::Database => "db + orm",
        Enforcement::OrmOnly => "orm only",
    }
}

pub(crate) fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
