//! The set of rows a delete removes, computed in the database: one work table per table the
//! cascade can reach, holding the keys of its doomed rows and the breadth-first generation at
//! which each is first reached (root rows are generation 0).
//!
//! Generation by generation, each CASCADE edge whose parent gained rows in the previous
//! generation adds the children of those rows (`INSERT ... SELECT` that skips keys already
//! present, so a row keeps its smallest generation). The loop ends when a generation adds
//! nothing: one statement per active edge per generation, independent of the row count.

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use cascade_entity::rules::{FkAction, ForeignKey, Table};
use sea_orm::Value;

use super::report::DeleteError;
use super::session::Session;

/// The work table of one table.
#[derive(Debug, Clone)]
pub(crate) struct WorkTable {
    /// Temporary table holding `key` columns and `cascade_gen`.
    pub name: String,
    /// A copy for statements that must read the work table twice (MySQL), filled after the
    /// closure is complete.
    pub mirror: Option<String>,
    pub key: Vec<String>,
    pub deleted: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Closure {
    pub tables: BTreeMap<String, WorkTable>,
    pub max_generation: u32,
    /// Root rows selected (generation 0).
    pub roots: u64,
}

impl Closure {
    /// Every work table and mirror created, for cleanup.
    pub(crate) fn all_names(&self) -> Vec<String> {
        self.tables
            .values()
            .flat_map(|w| std::iter::once(w.name.clone()).chain(w.mirror.clone()))
            .collect()
    }

    /// The work table to read as the child side `x` when the parent side is already `parent`
    /// in the same statement (needs a mirror where work tables cannot be reopened).
    pub(crate) fn child_side(&self, s: &Session<'_>, child: &str, parent: &str) -> Option<&str> {
        let work = self.tables.get(child)?;
        if child == parent && !s.engine.reopens_work_tables() {
            work.mirror.as_deref()
        } else {
            Some(work.name.as_str())
        }
    }
}

/// `JOIN` clause matching child rows `c` to doomed parent rows in work table alias `d`.
pub(crate) fn parent_join(
    s: &Session<'_>,
    graph: &RuleGraph,
    fk: &ForeignKey,
    work: &str,
) -> String {
    let parent = graph.table(&fk.parent_table);
    let by_key = parent.is_some_and(|p| {
        p.primary_key.len() == fk.parent_columns.len()
            && fk.parent_columns.iter().all(|c| p.primary_key.contains(c))
    });
    if by_key {
        format!(
            "JOIN {} d ON {}",
            s.q(work),
            s.equal("c", &fk.columns, "d", &fk.parent_columns)
        )
    } else {
        let key = parent.map(|p| p.primary_key.clone()).unwrap_or_default();
        format!(
            "JOIN {} p ON {} JOIN {} d ON {}",
            s.q(&fk.parent_table),
            s.equal("c", &fk.columns, "p", &fk.parent_columns),
            s.q(work),
            s.equal("p", &key, "d", &key)
        )
    }
}

/// Creates the work tables for `tables` and fills them: root rows from `root_select` (a
/// `SELECT key..., 0` with its bound values), then the cascade fixpoint.
pub(crate) async fn compute(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    root: &str,
    root_select: (String, Vec<Value>),
    reachable: &[&Table],
) -> Result<Closure, DeleteError> {
    let mut closure = Closure::default();
    let mut created = Vec::new();
    for (index, table) in reachable.iter().enumerate() {
        if table.primary_key.is_empty() {
            return Err(DeleteError::NoPrimaryKey(table.name.clone()));
        }
        let name = format!("cascade_d{index}");
        let self_referencing = table
            .foreign_keys
            .iter()
            .any(|fk| fk.parent_table == table.name);
        let mirror = (self_referencing && !s.engine.reopens_work_tables())
            .then(|| format!("cascade_m{index}"));
        for work in std::iter::once(&name).chain(mirror.as_ref()) {
            created.push((work.clone(), table));
        }
        closure.tables.insert(
            table.name.clone(),
            WorkTable {
                name,
                mirror,
                key: table.primary_key.clone(),
                deleted: 0,
            },
        );
    }

    let names: Vec<String> = created.iter().map(|(name, _)| name.clone()).collect();
    s.drop_leftovers(&names).await?;
    for (name, table) in created {
        s.create_work_table_only(&name, &table.name, &table.primary_key)
            .await?;
    }

    let root_work = closure
        .tables
        .get(root)
        .cloned()
        .ok_or_else(|| DeleteError::UnknownTable(root.to_owned()))?;
    let into = format!(
        "{} ({}, cascade_gen)",
        s.q(&root_work.name),
        s.names(&root_work.key)
    );
    let sql = s.engine.insert_ignore(&into, &root_select.0);
    let roots = s.exec_with(&sql, root_select.1).await?;
    if roots == 0 {
        return Err(DeleteError::NothingMatched {
            table: root.to_owned(),
        });
    }
    closure.roots = roots;
    super::locks::lock_generation(s, &closure, [root], 0).await?;
    let mut gained: BTreeMap<String, u64> = BTreeMap::from([(root.to_owned(), roots)]);
    add_deleted(&mut closure, root, roots);

    let edges: Vec<(&Table, &ForeignKey)> = graph
        .foreign_keys()
        .filter(|(child, fk)| {
            fk.on_delete == FkAction::Cascade
                && closure.tables.contains_key(&child.name)
                && closure.tables.contains_key(&fk.parent_table)
        })
        .collect();
    let mut generation: u32 = 1;
    loop {
        let mut next: BTreeMap<String, u64> = BTreeMap::new();
        for (child, fk) in &edges {
            if gained.get(&fk.parent_table).copied().unwrap_or(0) == 0 {
                continue;
            }
            let added = cascade_step(s, graph, &closure, child, fk, generation).await?;
            *next.entry(child.name.clone()).or_default() += added;
        }
        next.retain(|_, n| *n > 0);
        if next.is_empty() {
            break;
        }
        for (table, added) in &next {
            add_deleted(&mut closure, table, *added);
        }
        super::locks::lock_generation(s, &closure, next.keys(), generation).await?;
        closure.max_generation = generation;
        gained = next;
        generation += 1;
    }
    fill_mirrors(s, &closure).await?;
    Ok(closure)
}

fn add_deleted(closure: &mut Closure, table: &str, rows: u64) {
    if let Some(work) = closure.tables.get_mut(table) {
        work.deleted += rows;
    }
}

/// Adds the children (via `fk`) of rows that joined the parent's set in `generation - 1`.
async fn cascade_step(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    child: &Table,
    fk: &ForeignKey,
    generation: u32,
) -> Result<u64, DeleteError> {
    let (Some(child_work), Some(parent_work)) = (
        closure.tables.get(&child.name),
        closure.tables.get(&fk.parent_table),
    ) else {
        return Ok(0);
    };
    let key_list = s.names(&child_work.key);
    let select = format!(
        "SELECT {}, {generation} FROM {} c {} WHERE d.cascade_gen = {}",
        s.cols("c", &child_work.key),
        s.q(&child.name),
        parent_join(s, graph, fk, &parent_work.name),
        generation - 1
    );
    let target = format!("{} ({key_list}, cascade_gen)", s.q(&child_work.name));
    match &child_work.mirror {
        // Reading and writing one temporary table in one statement: stage through the mirror.
        Some(mirror) if child.name == fk.parent_table => {
            let staged = format!("{} ({key_list}, cascade_gen)", s.q(mirror));
            s.exec(&format!("INSERT INTO {staged} {select}")).await?;
            let copy = s.engine.insert_ignore(
                &target,
                &format!("SELECT {key_list}, cascade_gen FROM {}", s.q(mirror)),
            );
            let added = s.exec(&copy).await?;
            s.exec(&format!("DELETE FROM {}", s.q(mirror))).await?;
            Ok(added)
        }
        _ => Ok(s.exec(&s.engine.insert_ignore(&target, &select)).await?),
    }
}

/// Copies each work table into its mirror once the closure is final.
async fn fill_mirrors(s: &mut Session<'_>, closure: &Closure) -> Result<(), DeleteError> {
    for work in closure.tables.values() {
        if let Some(mirror) = &work.mirror {
            let sql = format!(
                "INSERT INTO {} SELECT * FROM {}",
                s.q(mirror),
                s.q(&work.name)
            );
            s.exec(&sql).await?;
        }
    }
    Ok(())
}
