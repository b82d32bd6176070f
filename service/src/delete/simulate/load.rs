//! Loading the rows a replay needs, set-based, with a stated bound.
//!
//! The rows an engine's order can decide about are the deleted rows, the rows that reference
//! them (checked, rewritten or deleted), and, through rewritten keys, the rows that reference
//! those in turn. They are marked in one temporary table per table (`INSERT ... SELECT` per FK
//! per round, to a fixpoint, like the closure), then read once per table; the parents those rows
//! reference (for the engines' existence checks), and the rows holding a key a SET DEFAULT may
//! write, are read with them. Statements depend on the schema and the chain depth, never on the
//! row count. More than [`ROW_BOUND`] rows: the replay abstains, naming the bound.

use std::collections::{BTreeMap, BTreeSet};

use cascade_entity::RuleGraph;
use cascade_entity::rules::{FkAction, ForeignKey, Table};
use sea_orm::QueryResult;
use sqlparser::parser::Parser;

use super::world::{Row, SimFk, SimTable, State, Val, World};
use crate::delete::closure::Closure;
use crate::delete::effects::default_sql;
use crate::delete::engine::OrderFacts;
use crate::delete::report::DeleteError;
use crate::delete::session::Session;

/// Rows a replay may load; beyond it the verdict stays `order_dependent`.
pub(crate) const ROW_BOUND: usize = 100_000;

/// The loaded world, or why none could be loaded (an abstention reason).
pub(crate) type Loaded = Result<World, String>;

/// Columns an action may rewrite in `table` (SET NULL / SET DEFAULT on delete, any writing
/// action on update).
fn rewritable(table: &Table) -> BTreeSet<&str> {
    let mut cols = BTreeSet::new();
    for fk in &table.foreign_keys {
        if matches!(fk.on_delete, FkAction::SetNull | FkAction::SetDefault) {
            let nulled = fk.set_null_columns.as_ref().unwrap_or(&fk.columns);
            cols.extend(nulled.iter().map(String::as_str));
            cols.extend(fk.columns.iter().map(String::as_str));
        }
        if matches!(
            fk.on_update,
            FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault
        ) {
            cols.extend(fk.columns.iter().map(String::as_str));
        }
    }
    cols
}

/// Columns a SET DEFAULT may write in `table`.
fn defaulted(table: &Table) -> BTreeSet<&str> {
    table
        .foreign_keys
        .iter()
        .filter(|fk| fk.on_delete == FkAction::SetDefault || fk.on_update == FkAction::SetDefault)
        .flat_map(|fk| fk.columns.iter().map(String::as_str))
        .collect()
}

struct Marked {
    work: String,
    stage: Option<String>,
}

/// Marks, loads and assembles the world for `closure`'s delete; every temporary table it makes
/// is dropped again before it returns.
pub(crate) async fn load(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
) -> Result<Loaded, DeleteError> {
    let mut marked: BTreeMap<String, Marked> = BTreeMap::new();
    let result = load_marked(s, graph, closure, &mut marked).await;
    for m in marked.values() {
        for name in std::iter::once(&m.work).chain(m.stage.as_ref()) {
            let q = |i: &str| s.q(i);
            let drop = s.engine.drop_work_table(&q, name);
            s.exec(&drop).await?;
        }
    }
    result
}

fn deleted(closure: &Closure, table: &str) -> bool {
    closure.tables.get(table).is_some_and(|w| w.deleted > 0)
}

async fn load_marked(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    marked: &mut BTreeMap<String, Marked>,
) -> Result<Loaded, DeleteError> {
    let follows = |fk: &ForeignKey| -> Option<bool> {
        let parent = graph.table(&fk.parent_table)?;
        let all = fk
            .parent_columns
            .iter()
            .any(|c| rewritable(parent).contains(c.as_str()));
        (all || deleted(closure, &fk.parent_table)).then_some(all)
    };
    let deleted_rows: u64 = closure.tables.values().map(|w| w.deleted).sum();
    if deleted_rows > ROW_BOUND as u64 {
        return Ok(Err(bound_message()));
    }
    // Tables whose rows the replay may touch: a schema-level fixpoint.
    let mut set: BTreeSet<String> = closure
        .tables
        .keys()
        .filter(|t| deleted(closure, t))
        .cloned()
        .collect();
    loop {
        let before = set.len();
        for (child, fk) in graph.foreign_keys() {
            if set.contains(&fk.parent_table) && follows(fk).is_some() {
                set.insert(child.name.clone());
            }
        }
        if set.len() == before {
            break;
        }
    }
    for (index, name) in set.iter().enumerate() {
        let Some(table) = graph.table(name) else {
            continue;
        };
        let work = format!("cascade_s{index}");
        let self_referencing = table.foreign_keys.iter().any(|fk| fk.parent_table == *name);
        let stage = (self_referencing && !s.engine.reopens_work_tables())
            .then(|| format!("cascade_u{index}"));
        for w in std::iter::once(&work).chain(stage.as_ref()) {
            s.create_work_table(w, name, &table.primary_key).await?;
        }
        marked.insert(name.clone(), Marked { work, stage });
    }
    // Seed: the deleted rows, generation + 1 (root rows are 1 in the root table).
    let mut total: u64 = 0;
    for (name, m) in marked.iter() {
        let Some(work) = closure.tables.get(name).filter(|w| w.deleted > 0) else {
            continue;
        };
        let keys = s.names(&work.key);
        let sql = format!(
            "INSERT INTO {} ({keys}, cascade_gen) SELECT {keys}, cascade_gen + 1 FROM {}",
            s.q(&m.work),
            s.q(&work.name)
        );
        total += s.exec(&sql).await?;
    }
    // Rounds: rows referencing marked rows whose referenced columns may change.
    for _ in 0..64 {
        let mut added = 0;
        for (child, fk) in graph.foreign_keys() {
            let (Some(cm), Some(pm), Some(all)) = (
                marked.get(&child.name),
                marked.get(&fk.parent_table),
                follows(fk),
            ) else {
                continue;
            };
            let Some(parent) = graph.table(&fk.parent_table) else {
                continue;
            };
            let condition = if all {
                String::new()
            } else {
                " WHERE s.cascade_gen >= 1".to_owned()
            };
            let keys = s.names(&child.primary_key);
            let select = format!(
                "SELECT {}, 0 FROM {} c JOIN {} p ON {} JOIN {} s ON {}{condition}",
                s.cols("c", &child.primary_key),
                s.q(&child.name),
                s.q(&parent.name),
                s.equal("c", &fk.columns, "p", &fk.parent_columns),
                s.q(&pm.work),
                s.equal("s", &parent.primary_key, "p", &parent.primary_key),
            );
            let into = format!("{} ({keys}, cascade_gen)", s.q(&cm.work));
            match &cm.stage {
                Some(stage) if child.name == fk.parent_table => {
                    let staged = format!("{} ({keys}, cascade_gen)", s.q(stage));
                    s.exec(&format!("INSERT INTO {staged} {select}")).await?;
                    let copy = s.engine.insert_ignore(
                        &into,
                        &format!("SELECT {keys}, cascade_gen FROM {}", s.q(stage)),
                    );
                    added += s.exec(&copy).await?;
                    s.exec(&format!("DELETE FROM {}", s.q(stage))).await?;
                }
                _ => added += s.exec(&s.engine.insert_ignore(&into, &select)).await?,
            }
        }
        total += added;
        if total > ROW_BOUND as u64 {
            return Ok(Err(bound_message()));
        }
        if added == 0 {
            break;
        }
    }
    assemble(s, graph, marked).await
}

fn bound_message() -> String {
    format!(
        "the rows whose order decides exceed the replay's bound of {ROW_BOUND} rows, so the \
         engine's order is not replayed"
    )
}

/// Reads the marked rows and the rows they reference, and builds the world.
async fn assemble(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    marked: &BTreeMap<String, Marked>,
) -> Result<Loaded, DeleteError> {
    // Tables in the world: marked ones, parents of their FKs, children of defaulted keys.
    let mut names: BTreeSet<String> = marked.keys().cloned().collect();
    for name in marked.keys() {
        if let Some(t) = graph.table(name) {
            names.extend(t.foreign_keys.iter().map(|fk| fk.parent_table.clone()));
        }
        for (child, fk) in graph.referencing(name) {
            if defaulted_key(graph, fk).is_some() {
                names.insert(child.name.clone());
            }
        }
    }
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| graph.table(n).is_some())
        .collect();
    let position = |n: &str| names.iter().position(|x| x == n);
    let mut tables: Vec<SimTable> = Vec::new();
    for name in &names {
        let Some(t) = graph.table(name) else { continue };
        let referenced: BTreeSet<String> = graph
            .referencing(name)
            .flat_map(|(_, fk)| fk.parent_columns.iter().cloned())
            .collect();
        match sim_table(s, t, &referenced).await? {
            Ok(table) => tables.push(table),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    let mut seen: Vec<BTreeSet<Vec<Val>>> = vec![BTreeSet::new(); tables.len()];
    let mut loaded = 0usize;
    // Marked rows first (they carry the deleted / root flags).
    for (name, m) in marked {
        let (Some(t), Some(i)) = (graph.table(name), position(name)) else {
            continue;
        };
        let from = format!(
            "FROM {} t JOIN {} s ON {}",
            s.q(name),
            s.q(&m.work),
            s.equal("s", &t.primary_key, "t", &t.primary_key)
        );
        if let Err(reason) =
            read_rows(s, &mut tables[i], &mut seen[i], &from, true, &mut loaded).await?
        {
            return Ok(Err(reason));
        }
    }
    // Parents of marked rows, and rows holding a key a SET DEFAULT may write.
    for (name, m) in marked {
        let Some(t) = graph.table(name) else { continue };
        for fk in &t.foreign_keys {
            let (Some(i), Some(parent)) =
                (position(&fk.parent_table), graph.table(&fk.parent_table))
            else {
                continue;
            };
            let from = format!(
                "FROM {} t WHERE EXISTS (SELECT 1 FROM {} c JOIN {} s ON {} WHERE {})",
                s.q(&parent.name),
                s.q(name),
                s.q(&m.work),
                s.equal("s", &t.primary_key, "c", &t.primary_key),
                s.equal("c", &fk.columns, "t", &fk.parent_columns)
            );
            if let Err(reason) =
                read_rows(s, &mut tables[i], &mut seen[i], &from, false, &mut loaded).await?
            {
                return Ok(Err(reason));
            }
            if let Some(defaults) = defaulted_values(s, t, &fk.columns) {
                let from = format!(
                    "FROM {} t WHERE {}",
                    s.q(&parent.name),
                    equal_values(s, &fk.parent_columns, &defaults)
                );
                if let Err(reason) =
                    read_rows(s, &mut tables[i], &mut seen[i], &from, false, &mut loaded).await?
                {
                    return Ok(Err(reason));
                }
            }
        }
        // Rows (of this table, and of tables referencing it) that hold a key equal to the
        // defaults a SET DEFAULT writes here: unique clashes and references it resolves.
        for (child, fk) in graph.referencing(name) {
            let (Some(i), Some(defaults)) = (position(&child.name), defaulted_key(graph, fk))
            else {
                continue;
            };
            let from = format!(
                "FROM {} t WHERE {}",
                s.q(&child.name),
                equal_values(s, &fk.columns, &defaults)
            );
            if let Err(reason) =
                read_rows(s, &mut tables[i], &mut seen[i], &from, false, &mut loaded).await?
            {
                return Ok(Err(reason));
            }
        }
        if let Some(i) = position(name) {
            for unique in unique_sets(t) {
                if let Some(defaults) = defaulted_values(s, t, &unique) {
                    let from = format!(
                        "FROM {} t WHERE {}",
                        s.q(name),
                        equal_values(s, &unique, &defaults)
                    );
                    if let Err(reason) =
                        read_rows(s, &mut tables[i], &mut seen[i], &from, false, &mut loaded)
                            .await?
                    {
                        return Ok(Err(reason));
                    }
                }
            }
        }
    }
    if loaded > ROW_BOUND {
        return Ok(Err(bound_message()));
    }
    // Evaluated defaults of the columns SET DEFAULT writes.
    for table in &mut tables {
        let Some(t) = graph.table(&table.name) else {
            continue;
        };
        for column in defaulted(t) {
            let Some(c) = table.columns.iter().position(|x| x == column) else {
                continue;
            };
            let value = match t.column(column).and_then(|col| col.default.as_ref()) {
                None => Some(None),
                Some(d) => {
                    let sql = default_sql(d);
                    if sql.to_ascii_lowercase().contains("nextval") {
                        None
                    } else {
                        let rows = s
                            .query(&format!("SELECT CAST(({sql}) AS {})", s.engine.text_type()))
                            .await?;
                        match rows.first() {
                            Some(row) => Some(row.try_get_by_index::<Option<String>>(0)?),
                            None => None,
                        }
                    }
                }
            };
            table.defaults[c] = value;
        }
    }
    // Each engine's ordering facts.
    let mut fks: Vec<SimFk> = Vec::new();
    for (child, fk) in graph.foreign_keys() {
        let (Some(ci), Some(pi)) = (position(&child.name), position(&fk.parent_table)) else {
            continue;
        };
        let index_of = |table: &SimTable, cols: &[String]| -> Option<Vec<usize>> {
            cols.iter()
                .map(|c| table.columns.iter().position(|x| x == c))
                .collect()
        };
        let (Some(cols), Some(pcols)) = (
            index_of(&tables[ci], &fk.columns),
            index_of(&tables[pi], &fk.parent_columns),
        ) else {
            return Ok(Err(format!(
                "the columns of {} were not loaded",
                fk.describe(&child.name)
            )));
        };
        let set_null = index_of(
            &tables[ci],
            fk.set_null_columns.as_ref().unwrap_or(&fk.columns),
        )
        .unwrap_or_else(|| cols.clone());
        fks.push(SimFk {
            label: fk.describe(&child.name),
            name: fk.name.clone(),
            child: ci,
            parent: pi,
            cols,
            pcols,
            set_null,
            on_delete: fk.on_delete,
            on_update: fk.on_update,
            deferred: fk.deferrable == cascade_entity::rules::Deferrable::InitiallyDeferred,
            rank: fk.creation_rank.unwrap_or(0),
            delete_trigger: None,
            update_trigger: None,
            check_trigger: None,
        });
    }
    match s.engine.order_facts() {
        OrderFacts::None => {}
        OrderFacts::TableCreation(sql) => {
            for row in s.query(sql).await? {
                let name: String = row.try_get_by_index(0)?;
                let rank: i64 = row.try_get_by_index(1)?;
                for table in tables.iter_mut().filter(|t| t.name == name) {
                    table.created = rank;
                }
            }
        }
        OrderFacts::Triggers(sql) => {
            for row in s.query(sql).await? {
                let child: String = row.try_get_by_index(0)?;
                let constraint: String = row.try_get_by_index(1)?;
                let trigger: String = row.try_get_by_index(2)?;
                let kind: i64 = row.try_get_by_index(3)?;
                let on_child: bool = row.try_get_by_index(4)?;
                for fk in fks.iter_mut().filter(|fk| {
                    fk.name.as_deref() == Some(constraint.as_str())
                        && tables[fk.child].name == child
                }) {
                    // pg_trigger.tgtype: 4 INSERT, 8 DELETE, 16 UPDATE.
                    match (on_child, kind & 8 != 0, kind & 16 != 0) {
                        (false, true, _) => fk.delete_trigger = Some(trigger.clone()),
                        (false, false, true) => fk.update_trigger = Some(trigger.clone()),
                        (true, _, true) => fk.check_trigger = Some(trigger.clone()),
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(Ok(World::new(tables, fks)))
}

/// The defaults SET DEFAULT writes into `fk`'s parent columns, when `fk` references columns a
/// SET DEFAULT of the parent writes (so rows of the child may come to reference a new key).
fn defaulted_key(graph: &RuleGraph, fk: &ForeignKey) -> Option<Vec<String>> {
    let parent = graph.table(&fk.parent_table)?;
    let written = defaulted(parent);
    if !fk
        .parent_columns
        .iter()
        .all(|c| written.contains(c.as_str()))
    {
        return None;
    }
    fk.parent_columns
        .iter()
        .map(|c| parent.column(c)?.default.as_ref().map(default_sql))
        .collect()
}

/// The defaults of `columns` of `table` as SQL, when a SET DEFAULT writes all of them.
fn defaulted_values(s: &Session<'_>, table: &Table, columns: &[String]) -> Option<Vec<String>> {
    let written = defaulted(table);
    let _ = s;
    if columns.is_empty() || !columns.iter().all(|c| written.contains(c.as_str())) {
        return None;
    }
    columns
        .iter()
        .map(|c| table.column(c)?.default.as_ref().map(default_sql))
        .collect()
}

fn equal_values(s: &Session<'_>, columns: &[String], values: &[String]) -> String {
    columns
        .iter()
        .zip(values)
        .map(|(c, v)| format!("t.{} = ({v})", s.q(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn unique_sets(t: &Table) -> Vec<Vec<String>> {
    let mut sets = vec![t.primary_key.clone()];
    sets.extend(t.unique_keys.iter().cloned());
    sets.extend(
        t.columns
            .iter()
            .filter(|c| c.unique)
            .map(|c| vec![c.name.clone()]),
    );
    sets.sort();
    sets.dedup();
    sets
}

/// An empty table of the world: the columns any key, reference or CHECK of `t` needs.
async fn sim_table(
    s: &Session<'_>,
    t: &Table,
    referenced: &BTreeSet<String>,
) -> Result<Result<SimTable, String>, DeleteError> {
    let mut wanted: BTreeSet<&str> = t.primary_key.iter().map(String::as_str).collect();
    for fk in &t.foreign_keys {
        wanted.extend(fk.columns.iter().map(String::as_str));
    }
    for set in unique_sets(t) {
        for c in set {
            if let Some(col) = t.column(&c) {
                wanted.insert(col.name.as_str());
            }
        }
    }
    wanted.extend(referenced.iter().map(String::as_str));
    // Columns a CHECK may name (by text: naming one too many only loads it).
    for check in &t.checks {
        let text = check.expression.to_ascii_lowercase();
        wanted.extend(
            t.columns
                .iter()
                .filter(|c| text.contains(&c.name.to_ascii_lowercase()))
                .map(|c| c.name.as_str()),
        );
    }
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|c| wanted.contains(c.as_str()))
        .collect();
    let not_null = columns
        .iter()
        .map(|c| {
            t.column(c).is_some_and(|col| !col.nullable)
                || (t.primary_key.contains(c) && s.engine.key_columns_are_not_null())
        })
        .collect();
    let index = |cols: &[String]| -> Vec<usize> {
        cols.iter()
            .filter_map(|c| columns.iter().position(|x| x == c))
            .collect()
    };
    let key = index(&t.primary_key);
    let uniques = unique_sets(t).iter().map(|u| index(u)).collect();
    let mut checks = Vec::new();
    for check in &t.checks {
        let parsed = Parser::new(s.engine.parser_dialect())
            .try_with_sql(&check.expression)
            .and_then(|mut p| p.parse_expr());
        match parsed {
            Ok(expr) => checks.push((check.name.clone().unwrap_or_default(), expr)),
            Err(_) => {
                return Ok(Err(format!(
                    "the CHECK {} of `{}` could not be read",
                    check.name.as_deref().unwrap_or("constraint"),
                    t.name
                )));
            }
        }
    }
    Ok(Ok(SimTable {
        name: t.name.clone(),
        defaults: vec![None; columns.len()],
        columns,
        not_null,
        key,
        uniques,
        checks,
        rows: Vec::new(),
        created: 0,
    }))
}

/// Reads the rows `from` selects (alias `t`; `s.cascade_gen` when `marked`) into `table`,
/// skipping keys already loaded.
async fn read_rows(
    s: &mut Session<'_>,
    table: &mut SimTable,
    seen: &mut BTreeSet<Vec<Val>>,
    from: &str,
    marked: bool,
    loaded: &mut usize,
) -> Result<Result<(), String>, DeleteError> {
    let text = s.engine.text_type();
    let mut select: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("CAST(t.{} AS {text})", s.q(c)))
        .collect();
    let position = s.engine.row_position("t");
    select.push(match &position {
        Some(p) => format!("CAST({p} AS {text})"),
        None => "NULL".to_owned(),
    });
    if marked {
        select.push("s.cascade_gen".to_owned());
    }
    let sql = format!(
        "SELECT {} {from} LIMIT {}",
        select.join(", "),
        ROW_BOUND + 1
    );
    // A table without the position column (SQLite `WITHOUT ROWID`) is not replayed.
    let rows: Vec<QueryResult> = match s.query(&sql).await {
        Ok(rows) => rows,
        Err(error) => {
            return Ok(Err(format!(
                "the rows of `{}` could not be read in the engine's order: {error}",
                table.name
            )));
        }
    };
    let n = table.columns.len();
    for row in rows {
        let Ok(values) = (0..n)
            .map(|i| row.try_get_by_index::<Option<String>>(i))
            .collect::<Result<Vec<Val>, _>>()
        else {
            return Ok(Err(format!(
                "a key or reference column of `{}` is not readable as text",
                table.name
            )));
        };
        let key: Vec<Val> = table.key.iter().map(|&k| values[k].clone()).collect();
        if !seen.insert(key.clone()) {
            continue;
        }
        let physical: Option<String> = row.try_get_by_index(n)?;
        let generation: i64 = if marked {
            row.try_get_by_index::<Option<i64>>(n + 1)?.unwrap_or(0)
        } else {
            -1
        };
        let pos = match physical {
            Some(text) => numbers(&text),
            None => {
                let mut pos = Vec::new();
                for k in &key {
                    match k.as_deref().map(str::parse::<i64>) {
                        Some(Ok(v)) => pos.push(v),
                        _ => {
                            return Ok(Err(format!(
                                "`{}` has a primary key that is not an integer, whose order \
                                 the replay does not model",
                                table.name
                            )));
                        }
                    }
                }
                pos
            }
        };
        table.rows.push(Row {
            initial: values.clone(),
            values,
            state: State::Alive,
            pos,
            version: 0,
            // Generation + 1: only root rows are generation 0.
            root: generation == 1,
            planned_delete: generation >= 1,
        });
        *loaded += 1;
    }
    Ok(Ok(()))
}

/// The integers in a physical position's text (`5`, `(0,3)`).
fn numbers(text: &str) -> Vec<i64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}
