//! Which rows belong to the owner, decided in the source database, set-based: one temporary
//! work table per table that can hold the owner's rows (its key columns and the generation at
//! which a row joined), filled by `INSERT ... SELECT` per rule and generation; then
//! `dangling.rs` prunes, to a fixpoint, rows whose non-nullable references would dangle, and
//! marks references that may be NULL in one flag table per relation, so the copy writes them
//! as NULL. The number of statements depends on the rules and the number of rounds, never on
//! the rows; no key ever travels through the application.
//!
//! See the [module docs](super) for the ownership rules this implements.

use std::collections::{BTreeMap, BTreeSet};

use cascade_entity::RuleGraph;
use cascade_entity::rules::{FkAction, ForeignKey, Table};
use sea_orm::Value;

use super::dangling;
use super::owner::KeyPart;
use super::report::{ExportError, LeftOut, Nulled};
use crate::delete::engine::Engine;
use crate::delete::session::Session;

/// A table that can hold the owner's rows, with its work table.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// Temporary table of the exported rows' keys.
    pub work: String,
    /// A copy of `work`, for statements that read a table's work table twice where the engine
    /// cannot reopen a temporary table (self-references on MariaDB).
    pub mirror: Option<String>,
    /// The key rows are identified and ordered by: the primary key, else a NOT NULL unique key.
    pub key: Vec<String>,
    /// Rows in the export.
    pub rows: u64,
    /// References written as NULL: the FK and the flag table holding the keys of its rows.
    pub nulled: Vec<(ForeignKey, String)>,
}

/// The owner's rows, as work tables in the source transaction.
#[derive(Debug, Default)]
pub(crate) struct Membership {
    pub members: BTreeMap<String, Member>,
    pub left_out: Vec<LeftOut>,
    pub nulled: Vec<Nulled>,
}

/// The rows a table is identified by: its primary key, else a unique key of NOT NULL columns.
pub(crate) fn row_key(table: &Table) -> Option<Vec<String>> {
    if !table.primary_key.is_empty() {
        return Some(table.primary_key.clone());
    }
    table
        .unique_keys
        .iter()
        .chain(
            table
                .indexes
                .iter()
                .filter(|i| i.unique)
                .map(|i| &i.columns),
        )
        .find(|key| !key.is_empty() && none_nullable(table, key))
        .cloned()
}

fn none_nullable(table: &Table, columns: &[String]) -> bool {
    columns
        .iter()
        .all(|c| table.column(c).is_some_and(|c| !c.nullable))
}

/// Whether a dangling reference through `fk` can be written as NULL: every column accepts
/// NULL and none is part of the row's key.
pub(crate) fn nullable(table: &Table, fk: &ForeignKey, key: &[String]) -> bool {
    table.all_nullable(&fk.columns) && !fk.columns.iter().any(|c| key.contains(c))
}

/// Tables that can hold the owner's rows: the owner table, tables with an FK to it, and the
/// tables CASCADE rules reach from those (never the owner table again).
fn reachable<'g>(graph: &'g RuleGraph, owner: &str) -> BTreeSet<&'g str> {
    let mut set: BTreeSet<&str> = graph
        .table(owner)
        .map(|t| t.name.as_str())
        .into_iter()
        .collect();
    for (child, fk) in graph.foreign_keys() {
        if fk.parent_table == owner && child.name != owner {
            set.insert(child.name.as_str());
        }
    }
    loop {
        let before = set.len();
        for (child, fk) in graph.foreign_keys() {
            if fk.on_delete == FkAction::Cascade
                && child.name != owner
                && set.contains(fk.parent_table.as_str())
            {
                set.insert(child.name.as_str());
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// Bound values of one statement, with the engine's placeholders.
struct Params {
    engine: &'static dyn Engine,
    values: Vec<Value>,
}

impl Params {
    fn new(s: &Session<'_>) -> Params {
        Params {
            engine: s.engine,
            values: Vec::new(),
        }
    }

    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        self.engine.placeholder(self.values.len())
    }
}

/// Computes the owner's rows into work tables on `s` (see the module docs).
pub(crate) async fn compute(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    owner: &Table,
    key: &[KeyPart],
    list_limit: u64,
    temporary: &mut Vec<String>,
) -> Result<Membership, ExportError> {
    let mut m = create_work_tables(s, graph, &owner.name, temporary).await?;
    if let Some(sql) = s.engine.read_only_from_here() {
        s.exec(sql).await?;
    }
    seed(s, graph, &m, owner, key).await?;
    inherit(s, graph, &m, owner, key).await?;
    dangling::prune(s, graph, &mut m, list_limit).await?;
    if m.members.get(&owner.name).is_none_or(|o| o.rows == 0) {
        let relation = m
            .left_out
            .iter()
            .find(|l| l.table == owner.name)
            .map(|l| l.relation.clone())
            .unwrap_or_default();
        return Err(ExportError::OwnerLeftOut {
            owner: describe_key(owner, key),
            relation,
        });
    }
    dangling::flag_nulled(s, &mut m).await?;
    Ok(m)
}

fn describe_key(owner: &Table, key: &[KeyPart]) -> String {
    let values: Vec<String> = key.iter().map(|p| format!("{:?}", p.value)).collect();
    format!("{}({})", owner.name, values.join(", "))
}

async fn create_work_tables(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    owner: &str,
    temporary: &mut Vec<String>,
) -> Result<Membership, ExportError> {
    let mut m = Membership::default();
    for (index, name) in reachable(graph, owner).into_iter().enumerate() {
        let Some(table) = graph.table(name) else {
            continue;
        };
        let key = row_key(table).ok_or_else(|| ExportError::NoKey(name.to_owned()))?;
        let work = format!("cascade_export_{index}");
        let self_referencing = table.foreign_keys.iter().any(|fk| fk.parent_table == name);
        let mirror = (self_referencing && !s.engine.reopens_work_tables())
            .then(|| format!("cascade_export_{index}_m"));
        let mut nulled = Vec::new();
        for (j, fk) in table.foreign_keys.iter().enumerate() {
            if nullable(table, fk, &key) {
                nulled.push((fk.clone(), format!("cascade_export_{index}_n{j}")));
            }
        }
        let names: Vec<String> = std::iter::once(work.clone())
            .chain(mirror.clone())
            .chain(nulled.iter().map(|(_, n)| n.clone()))
            .collect();
        for work_table in names {
            s.create_typed_work_table(&work_table, name, &key).await?;
            temporary.push(work_table);
        }
        m.members.insert(
            name.to_owned(),
            Member {
                work,
                mirror,
                key,
                rows: 0,
                nulled,
            },
        );
    }
    Ok(m)
}

/// `alias.col = ? AND ...`: the owner row's key (text-compared where the kind has no value).
fn owner_match(s: &Session<'_>, alias: &str, key: &[KeyPart], p: &mut Params) -> String {
    key.iter()
        .map(|part| {
            let column = format!("{alias}.{}", s.q(&part.column));
            let lhs = if part.as_text {
                format!("CAST({column} AS {})", s.engine.text_type())
            } else {
                column
            };
            format!("{lhs} = {}", p.bind(part.value.clone()))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The owner row and every row with an FK to it.
async fn seed(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    m: &Membership,
    owner: &Table,
    key: &[KeyPart],
) -> Result<(), ExportError> {
    let Some(root) = m.members.get(&owner.name) else {
        return Err(ExportError::NoKey(owner.name.clone()));
    };
    let mut p = Params::new(s);
    let sql = format!(
        "INSERT INTO {} ({}, cascade_gen) SELECT {}, 0 FROM {} x WHERE {}",
        s.q(&root.work),
        s.names(&root.key),
        s.cols("x", &root.key),
        s.q(&owner.name),
        owner_match(s, "x", key, &mut p)
    );
    let values = p.values;
    if s.exec_with(&sql, values).await? == 0 {
        return Err(ExportError::OwnerNotFound(describe_key(owner, key)));
    }
    for (child, fk) in graph.foreign_keys() {
        if fk.parent_table != owner.name || child.name == owner.name {
            continue;
        }
        let Some(work) = m.members.get(&child.name) else {
            continue;
        };
        let mut p = Params::new(s);
        let select = format!(
            "SELECT {}, 0 FROM {} x WHERE EXISTS (SELECT 1 FROM {} o WHERE {} AND {})",
            s.cols("x", &work.key),
            s.q(&child.name),
            s.q(&owner.name),
            s.equal("o", &fk.parent_columns, "x", &fk.columns),
            owner_match(s, "o", key, &mut p)
        );
        let into = format!("{} ({}, cascade_gen)", s.q(&work.work), s.names(&work.key));
        let sql = s.engine.insert_ignore(&into, &select);
        let values = p.values;
        s.exec_with(&sql, values).await?;
    }
    Ok(())
}

/// `NOT EXISTS` a claim of another owner row: for each FK of `child` to the owner table, the
/// reference matches no row of the owner table but the owner's.
fn unclaimed(
    s: &Session<'_>,
    child: &Table,
    owner: &Table,
    key: &[KeyPart],
    p: &mut Params,
) -> String {
    let mut conditions = vec!["1 = 1".to_owned()];
    for fk in child
        .foreign_keys
        .iter()
        .filter(|fk| fk.parent_table == owner.name)
    {
        conditions.push(format!(
            "NOT EXISTS (SELECT 1 FROM {} o WHERE {} AND NOT ({}))",
            s.q(&owner.name),
            s.equal("o", &fk.parent_columns, "x", &fk.columns),
            owner_match(s, "o", key, p)
        ));
    }
    conditions.join(" AND ")
}

/// The join from child rows `x` to the parent's work table `d` through `fk`: directly when
/// the FK references the work table's key, else through the parent table `y`.
fn join_parent_work(s: &Session<'_>, fk: &ForeignKey, parent_key: &[String], work: &str) -> String {
    if same_columns(&fk.parent_columns, parent_key) {
        format!(
            "JOIN {} d ON {}",
            s.q(work),
            s.equal("d", &fk.parent_columns, "x", &fk.columns)
        )
    } else {
        format!(
            "JOIN {} y ON {} JOIN {} d ON {}",
            s.q(&fk.parent_table),
            s.equal("y", &fk.parent_columns, "x", &fk.columns),
            s.q(work),
            s.equal("d", parent_key, "y", parent_key)
        )
    }
}

/// Whether `a` and `b` hold the same columns (in any order).
pub(super) fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|c| b.contains(c))
}

/// Rows below the owner's rows through CASCADE rules, generation by generation, unless
/// another owner row claims them.
async fn inherit(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    m: &Membership,
    owner: &Table,
    key: &[KeyPart],
) -> Result<(), ExportError> {
    let edges: Vec<(&Table, &ForeignKey)> = graph
        .foreign_keys()
        .filter(|(child, fk)| {
            fk.on_delete == FkAction::Cascade
                && child.name != owner.name
                && fk.parent_table != owner.name
                && m.members.contains_key(&child.name)
                && m.members.contains_key(&fk.parent_table)
        })
        .collect();
    let mut gained: BTreeSet<String> = m.members.keys().cloned().collect();
    let mut generation: u64 = 1;
    while !gained.is_empty() {
        let mut next = BTreeSet::new();
        for (child, fk) in &edges {
            if !gained.contains(&fk.parent_table) {
                continue;
            }
            let (Some(work), Some(parent)) =
                (m.members.get(&child.name), m.members.get(&fk.parent_table))
            else {
                continue;
            };
            let mut p = Params::new(s);
            let select = format!(
                "SELECT {}, {generation} FROM {} x {} WHERE d.cascade_gen = {} AND {}",
                s.cols("x", &work.key),
                s.q(&child.name),
                join_parent_work(s, fk, &parent.key, &parent.work),
                generation - 1,
                unclaimed(s, child, owner, key, &mut p)
            );
            let values = p.values;
            let key_list = s.names(&work.key);
            let target = format!("{} ({key_list}, cascade_gen)", s.q(&work.work));
            let added = match &work.mirror {
                // One statement may not read and write the same temporary table here: stage.
                Some(mirror) if child.name == fk.parent_table => {
                    let staged = format!("{} ({key_list}, cascade_gen)", s.q(mirror));
                    s.exec_with(&format!("INSERT INTO {staged} {select}"), values)
                        .await?;
                    let copy = s.engine.insert_ignore(
                        &target,
                        &format!("SELECT {key_list}, cascade_gen FROM {}", s.q(mirror)),
                    );
                    let added = s.exec(&copy).await?;
                    s.exec(&format!("DELETE FROM {}", s.q(mirror))).await?;
                    added
                }
                _ => {
                    let sql = s.engine.insert_ignore(&target, &select);
                    s.exec_with(&sql, values).await?
                }
            };
            if added > 0 {
                next.insert(child.name.clone());
            }
        }
        gained = next;
        generation += 1;
    }
    Ok(())
}
