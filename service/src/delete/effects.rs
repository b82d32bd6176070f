//! The non-cascading edges of a delete: which surviving rows are nulled or defaulted (kept in
//! work tables for the executor), which rows would block, and the engine's verdict.
//!
//! For every RESTRICT / NO ACTION / SET NULL / SET DEFAULT edge into a table that loses rows,
//! the referencing rows split into survivors (not deleted themselves) and doomed rows (deleted
//! by another path). Doomed rows are counted by how their generation compares with their
//! parent's, which is what the engines' orderings turn on.

use entity::RuleGraph;
use entity::rules::{ColumnDefault, Deferrable, FkAction, ForeignKey, Table};

use super::closure::{Closure, parent_join};
use super::engine::Verdict;
use super::report::{ColumnUpdate, DeleteError, Refusal, RefusalKind};
use super::session::Session;

/// Referencing rows of one edge, split the way the engines' checks see them.
#[derive(Debug, Clone)]
pub(crate) struct EdgeEffect {
    pub child: String,
    pub parent: String,
    pub label: String,
    /// The action as the engine applies it (dialect-normalised).
    pub action: FkAction,
    pub deferrable: Deferrable,
    /// SET NULL writes NULL into a NOT NULL or primary-key column.
    pub nulls_not_null: bool,
    /// SET DEFAULT writes a key that no surviving parent row has.
    pub default_missing_parent: bool,
    /// Referencing rows that are not deleted.
    pub survivors: u64,
    /// The latest generation among the deleted parents of surviving RESTRICT / NO ACTION rows.
    pub survivor_parent_generation: u32,
    /// Referencing rows deleted by another path, and of those: deleted two or more generations
    /// after their parent, exactly one generation after, or the parent row itself.
    pub doomed: u64,
    pub doomed_late: u64,
    pub doomed_next_layer: u64,
    pub doomed_self: u64,
    /// Rows this edge updates whose reference to their own table has no surviving parent
    /// (counted as violations by engines that re-check them on update).
    pub self_reference_violations: u64,
    /// SET NULL / SET DEFAULT: the condition (on the unaliased child table) selecting the
    /// surviving rows the action rewrites.
    pub rewrite: Option<String>,
    pub columns: Vec<String>,
}

impl EdgeEffect {
    pub fn refusal_kind(&self) -> RefusalKind {
        match self.action {
            FkAction::NoAction => RefusalKind::NoAction,
            FkAction::SetNull => RefusalKind::NotNull,
            FkAction::SetDefault => RefusalKind::FkMissingParent,
            FkAction::Restrict | FkAction::Cascade => RefusalKind::Restrict,
        }
    }

    /// Whether the action fails on a row that still exists when it runs.
    fn fails_on_existing_row(&self) -> bool {
        match self.action {
            FkAction::Restrict | FkAction::NoAction => true,
            FkAction::SetNull => self.nulls_not_null,
            FkAction::SetDefault => self.default_missing_parent,
            FkAction::Cascade => false,
        }
    }

    pub fn survivors_fail(&self) -> bool {
        self.survivors > 0 && self.fails_on_existing_row()
    }

    pub fn doomed_fail(&self) -> bool {
        self.doomed > 0 && self.fails_on_existing_row()
    }

    pub fn doomed_other_rows(&self) -> u64 {
        self.doomed - self.doomed_self
    }

    /// Violations this edge adds to an end-of-statement counter (SQLite).
    pub fn net_violations(&self) -> u64 {
        let own = match self.action {
            FkAction::NoAction => self.survivors,
            FkAction::SetDefault if self.default_missing_parent => self.survivors,
            _ => 0,
        };
        own + self.self_reference_violations
    }
}

/// Measures every non-cascading edge into a table that loses rows.
pub(crate) async fn measure(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
) -> Result<Vec<EdgeEffect>, DeleteError> {
    let mut effects = Vec::new();
    let edges: Vec<(&Table, &ForeignKey)> = graph
        .foreign_keys()
        .filter(|(_, fk)| fk.on_delete != FkAction::Cascade)
        .filter(|(_, fk)| {
            closure
                .tables
                .get(&fk.parent_table)
                .is_some_and(|w| w.deleted > 0)
        })
        .collect();
    for (child, fk) in edges {
        effects.push(measure_edge(s, graph, closure, child, fk).await?);
    }
    Ok(effects)
}

async fn measure_edge(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    child: &Table,
    fk: &ForeignKey,
) -> Result<EdgeEffect, DeleteError> {
    let parent_work = closure
        .tables
        .get(&fk.parent_table)
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let join = parent_join(s, graph, fk, &parent_work);
    let child_work = closure
        .child_side(s, &child.name, &fk.parent_table)
        .map(str::to_owned);
    let not_doomed = match &child_work {
        Some(work) => format!(
            " WHERE NOT EXISTS (SELECT 1 FROM {} x WHERE {})",
            s.q(work),
            s.equal("x", &child.primary_key, "c", &child.primary_key)
        ),
        None => String::new(),
    };
    let columns = fk
        .set_null_columns
        .clone()
        .unwrap_or_else(|| fk.columns.clone());
    let mut effect = EdgeEffect {
        child: child.name.clone(),
        parent: fk.parent_table.clone(),
        label: fk.describe(&child.name),
        action: fk.on_delete,
        deferrable: fk.deferrable,
        nulls_not_null: columns.iter().any(|c| {
            child.primary_key.contains(c) || child.column(c).is_some_and(|col| !col.nullable)
        }),
        default_missing_parent: false,
        survivors: 0,
        survivor_parent_generation: 0,
        self_reference_violations: 0,
        doomed: 0,
        doomed_late: 0,
        doomed_next_layer: 0,
        doomed_self: 0,
        rewrite: None,
        columns,
    };
    let from = format!("FROM {} c {join}", s.q(&child.name));
    let sql = format!("SELECT COUNT(*), MAX(d.cascade_gen) {from}{not_doomed}");
    if let Some(row) = s.query(&sql).await?.first() {
        effect.survivors = u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0);
        let generation = row.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0);
        effect.survivor_parent_generation = u32::try_from(generation).unwrap_or(u32::MAX);
    }
    if matches!(fk.on_delete, FkAction::SetNull | FkAction::SetDefault) {
        // The executor rewrites exactly the rows this predicate selects, in one statement.
        let predicate = rewrite_predicate(s, graph, fk, child, &parent_work, child_work.as_deref());
        if fk.on_delete == FkAction::SetDefault {
            effect.default_missing_parent =
                !default_parent_survives(s, graph, closure, child, fk).await?;
        }
        if effect.survivors > 0 && s.engine.rechecks_self_reference_on_update() {
            effect.self_reference_violations =
                dangling_self_references(s, closure, child, &predicate, &effect.columns).await?;
        }
        effect.rewrite = Some(predicate);
    }
    if let Some(work) = &child_work {
        let self_row = if child.name == fk.parent_table {
            format!(
                "CASE WHEN {} THEN 1 END",
                s.equal("x", &child.primary_key, "d", &child.primary_key)
            )
        } else {
            "NULL".to_owned()
        };
        let sql = format!(
            "SELECT COUNT(*), COUNT(CASE WHEN d.cascade_gen <= x.cascade_gen - 2 THEN 1 END), \
             COUNT(CASE WHEN d.cascade_gen = x.cascade_gen - 1 THEN 1 END), COUNT({self_row}) \
             {from} JOIN {} x ON {}",
            s.q(work),
            s.equal("x", &child.primary_key, "c", &child.primary_key)
        );
        let rows = s.query(&sql).await?;
        if let Some(row) = rows.first() {
            let n = |i: usize| -> Result<u64, DeleteError> {
                Ok(u64::try_from(row.try_get_by_index::<i64>(i)?).unwrap_or(0))
            };
            effect.doomed = n(0)?;
            effect.doomed_late = n(1)?;
            effect.doomed_next_layer = n(2)?;
            effect.doomed_self = n(3)?;
        }
    }
    Ok(effect)
}

/// Rows in `update` (keys of `child` rows an action rewrites) whose non-NULL reference to their
/// own table has no parent row that survives the delete.
async fn dangling_self_references(
    s: &mut Session<'_>,
    closure: &Closure,
    child: &Table,
    rewrite: &str,
    rewritten_columns: &[String],
) -> Result<u64, DeleteError> {
    let mut total = 0;
    let key = &child.primary_key;
    let table = s.q(&child.name);
    // A self-reference the action itself rewrites is checked with its new value (NULL, or a
    // default covered by `default_missing_parent`), not its old one.
    for fk in child.foreign_keys.iter().filter(|fk| {
        fk.parent_table == child.name
            && fk.enforcement == entity::rules::Enforcement::Database
            && !fk.columns.iter().any(|c| rewritten_columns.contains(c))
    }) {
        let not_null = fk
            .columns
            .iter()
            .map(|c| format!("{table}.{} IS NOT NULL", s.q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let surviving = match closure.tables.get(&child.name) {
            Some(work) => format!(
                " AND NOT EXISTS (SELECT 1 FROM {} x WHERE {})",
                s.q(&work.name),
                s.equal("x", key, "p", key)
            ),
            None => String::new(),
        };
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE {rewrite} AND {not_null} AND NOT EXISTS \
             (SELECT 1 FROM {table} p WHERE {}{surviving})",
            s.equal("p", &fk.parent_columns, &table, &fk.columns),
        );
        total += u64::try_from(s.scalar(&sql).await?).unwrap_or(0);
    }
    Ok(total)
}

/// `(child.fk...) IN (keys of deleted parents) [AND (child.key...) NOT IN (doomed children)]`,
/// on the unaliased child table, for UPDATE statements.
fn rewrite_predicate(
    s: &Session<'_>,
    graph: &RuleGraph,
    fk: &ForeignKey,
    child: &Table,
    parent_work: &str,
    child_work: Option<&str>,
) -> String {
    let table = s.q(&child.name);
    let tuple = |columns: &[String]| {
        let list = s.cols(&table, columns);
        if columns.len() == 1 {
            list
        } else {
            format!("({list})")
        }
    };
    let parent = graph.table(&fk.parent_table);
    let by_key = parent.is_some_and(|p| {
        p.primary_key.len() == fk.parent_columns.len()
            && fk.parent_columns.iter().all(|c| p.primary_key.contains(c))
    });
    let parent_keys = if by_key {
        format!(
            "SELECT {} FROM {} d",
            s.cols("d", &fk.parent_columns),
            s.q(parent_work)
        )
    } else {
        let key = parent.map(|p| p.primary_key.clone()).unwrap_or_default();
        format!(
            "SELECT {} FROM {} p JOIN {} d ON {}",
            s.cols("p", &fk.parent_columns),
            s.q(&fk.parent_table),
            s.q(parent_work),
            s.equal("p", &key, "d", &key)
        )
    };
    let mut predicate = format!("{} IN ({parent_keys})", tuple(&fk.columns));
    if let Some(work) = child_work {
        predicate.push_str(&format!(
            " AND {} NOT IN (SELECT {} FROM {} x)",
            tuple(&child.primary_key),
            s.cols("x", &child.primary_key),
            s.q(work)
        ));
    }
    predicate
}

/// Whether the key SET DEFAULT writes has a parent row that survives. A default with a NULL
/// part references nothing (MATCH SIMPLE), which is fine.
async fn default_parent_survives(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    child: &Table,
    fk: &ForeignKey,
) -> Result<bool, DeleteError> {
    let mut conditions = Vec::new();
    for (column, parent_column) in fk.columns.iter().zip(&fk.parent_columns) {
        match child.column(column).and_then(|c| c.default.as_ref()) {
            None => return Ok(true),
            Some(default) => conditions.push(format!(
                "p.{} = ({})",
                s.q(parent_column),
                default_sql(default)
            )),
        }
    }
    let parent_key = graph
        .table(&fk.parent_table)
        .map(|p| p.primary_key.clone())
        .unwrap_or_default();
    let surviving = match closure.tables.get(&fk.parent_table) {
        Some(work) => format!(
            " AND NOT EXISTS (SELECT 1 FROM {} d WHERE {})",
            s.q(&work.name),
            s.equal("d", &parent_key, "p", &parent_key)
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM {} p WHERE {}{surviving}",
        s.q(&fk.parent_table),
        conditions.join(" AND ")
    );
    Ok(s.scalar(&sql).await? > 0)
}

/// A column default as SQL: catalog text verbatim, declared literals rendered.
pub(crate) fn default_sql(default: &ColumnDefault) -> String {
    match default {
        ColumnDefault::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        ColumnDefault::Int(i) => i.to_string(),
        ColumnDefault::Text(t) => format!("'{}'", t.replace('\'', "''")),
        ColumnDefault::Sql(sql) => sql.clone(),
    }
}

/// The refusal (if any) the engine makes, given every edge's effect and the closure.
pub(crate) async fn judge(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &[EdgeEffect],
    path_to: &dyn Fn(&str) -> Vec<String>,
) -> Result<Option<Refusal>, DeleteError> {
    if let Some(limit) = s.engine.refusing_depth()
        && closure.max_generation >= limit
    {
        return Ok(Some(Refusal {
            kind: RefusalKind::CascadeDepth,
            also: Vec::new(),
            table: closure.tables.keys().next().cloned().unwrap_or_default(),
            foreign_key: None,
            rows: 0,
            sample_keys: Vec::new(),
            path: Vec::new(),
            message: format!(
                "the cascade reaches {} levels; {} refuses at {limit}",
                closure.max_generation, s.dialect
            ),
        }));
    }
    if s.engine.refuses_fk_mismatch() {
        for (table, work) in &closure.tables {
            if work.deleted == 0 {
                continue;
            }
            let parent = graph.table(table);
            if let Some((child, fk)) = graph
                .referencing(table)
                .find(|(_, fk)| parent.is_some_and(|p| !p.is_key(&fk.parent_columns)))
            {
                return Ok(Some(refusal(
                    RefusalKind::FkMismatch,
                    &child.name,
                    Some(fk.describe(&child.name)),
                    0,
                    path_to(table),
                    format!(
                        "{} references columns of `{table}` that are not a key",
                        fk.describe(&child.name)
                    ),
                )));
            }
        }
    }
    // Every definite refusal counts: which one an engine reports first depends on its order.
    let mut definite: Vec<Refusal> = Vec::new();
    let mut undecided: Option<Refusal> = None;
    let mut counted: Vec<&EdgeEffect> = Vec::new();
    for effect in effects {
        match s.engine.judge(effect) {
            Verdict::Fine => {}
            Verdict::NetCounted => counted.push(effect),
            Verdict::Refuse(kind) => {
                let blocking = if effect.survivors_fail() {
                    effect.survivors
                } else {
                    effect.doomed
                };
                let mut r = refusal(
                    kind,
                    &effect.child,
                    Some(effect.label.clone()),
                    blocking,
                    path_to(&effect.parent),
                    describe(kind, effect),
                );
                r.sample_keys = sample_keys(s, graph, closure, effect).await?;
                if kind == RefusalKind::OrderDependent {
                    undecided.get_or_insert(r);
                } else {
                    definite.push(r);
                }
            }
        }
    }
    let net_counted: u64 = counted.iter().map(|e| e.net_violations()).sum();
    if net_counted > 0 {
        match net_verdict(s, graph, closure, effects, &counted, net_counted).await? {
            Verdict::Fine => {}
            Verdict::Refuse(verdict) => {
                if let Some(effect) = counted.first() {
                    let counter_note = format!(
                        "SQLite's end-of-statement FK counter sees {net_counted} violation(s) \
                         that later decrements may or may not cancel, depending on the order \
                         it visits rows"
                    );
                    let kind = match verdict {
                        RefusalKind::OrderDependent => verdict,
                        _ if effect.action == FkAction::SetDefault
                            && effect.default_missing_parent =>
                        {
                            RefusalKind::FkMissingParent
                        }
                        // A counted FK violation, as NO ACTION reports it.
                        _ => RefusalKind::NoAction,
                    };
                    let mut r = refusal(
                        kind,
                        &effect.child,
                        Some(effect.label.clone()),
                        effect.survivors,
                        path_to(&effect.parent),
                        if kind == RefusalKind::OrderDependent {
                            counter_note
                        } else {
                            describe(kind, effect)
                        },
                    );
                    r.sample_keys = sample_keys(s, graph, closure, effect).await?;
                    if kind == RefusalKind::OrderDependent {
                        undecided.get_or_insert(r);
                    } else {
                        definite.push(r);
                    }
                }
            }
            Verdict::NetCounted => {}
        }
    }
    if definite.is_empty() {
        return Ok(undecided);
    }
    let mut first = definite.remove(0);
    first.also = definite.iter().map(|r| r.kind).collect();
    // PostgreSQL reports a SET DEFAULT that leaves the deleted key in place as the parent's
    // delete violating the FK, i.e. like RESTRICT.
    if std::iter::once(first.kind)
        .chain(first.also.iter().copied())
        .any(|k| k == RefusalKind::FkMissingParent)
    {
        first.also.push(RefusalKind::Restrict);
    }
    Ok(Some(first))
}

fn refusal(
    kind: RefusalKind,
    table: &str,
    foreign_key: Option<String>,
    rows: u64,
    path: Vec<String>,
    message: String,
) -> Refusal {
    Refusal {
        kind,
        also: Vec::new(),
        table: table.to_owned(),
        foreign_key,
        rows,
        sample_keys: Vec::new(),
        path,
        message,
    }
}

fn describe(kind: RefusalKind, e: &EdgeEffect) -> String {
    if kind == RefusalKind::NoAction
        && e.self_reference_violations > 0
        && e.action != FkAction::NoAction
    {
        return format!(
            "{} the rows {} rewrites re-check their references to `{}`, and {} of them have no surviving parent",
            e.label, e.action, e.child, e.self_reference_violations
        );
    }
    match kind {
        RefusalKind::OrderDependent => format!(
            "{} rows of `{}` are both deleted by the cascade and checked by {} ({}); whether \
             the engine checks before or after deleting them depends on an ordering the model \
             cannot determine",
            e.doomed_other_rows(),
            e.child,
            e.label,
            e.action
        ),
        RefusalKind::NotNull => format!(
            "ON DELETE SET NULL would write NULL into NOT NULL `{}`.{}",
            e.child,
            e.columns.join(",")
        ),
        RefusalKind::FkMissingParent => format!(
            "ON DELETE SET DEFAULT on {} writes a key with no parent row",
            e.label
        ),
        _ => format!(
            "rows of `{}` still reference deleted `{}` rows through {} ({})",
            e.child, e.parent, e.label, e.action
        ),
    }
}

/// Up to five keys of the rows an effect is about, rendered as text.
async fn sample_keys(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    e: &EdgeEffect,
) -> Result<Vec<String>, DeleteError> {
    let Some(child) = graph.table(&e.child) else {
        return Ok(Vec::new());
    };
    let Some(fk) = child
        .foreign_keys
        .iter()
        .find(|fk| fk.describe(&child.name) == e.label)
    else {
        return Ok(Vec::new());
    };
    let parent_work = closure
        .tables
        .get(&e.parent)
        .map(|w| w.name.clone())
        .unwrap_or_default();
    let text = s.engine.text_type();
    let key = child
        .primary_key
        .iter()
        .map(|k| format!("CAST(c.{} AS {text})", s.q(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {key} FROM {} c {} ORDER BY 1 LIMIT 5",
        s.q(&child.name),
        parent_join(s, graph, fk, &parent_work)
    );
    let rows = s.query(&sql).await?;
    let mut keys = Vec::new();
    for row in rows {
        let parts: Vec<String> = (0..child.primary_key.len())
            .map(|i| {
                row.try_get_by_index::<Option<String>>(i)
                    .map(|v| v.unwrap_or_else(|| "NULL".into()))
            })
            .collect::<Result<_, _>>()?;
        keys.push(if parts.len() == 1 {
            parts.concat()
        } else {
            format!("({})", parts.join(", "))
        });
    }
    Ok(keys)
}

/// SQLite's end-of-statement FK counter (NO ACTION references to deleted rows, SET DEFAULT
/// writing a key with no parent, rewritten rows whose reference to their own table dangles).
/// Each violation adds one; deleting a row whose own reference already dangled, or rewriting a
/// row whose parent is gone, takes one off, but only while the counter is above zero. So a
/// decrement cancels a violation only if it comes later: certain when one root row holds every
/// violation (its checks come first) and the dangling rows lie below it; otherwise the order
/// decides, and the model abstains unless the counts settle it either way.
async fn net_verdict(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    effects: &[EdgeEffect],
    counted: &[&EdgeEffect],
    violations: u64,
) -> Result<Verdict, DeleteError> {
    // Every row an action rewrites had a parent that is now gone: its old key takes one off
    // (before its new key, if dangling, adds one).
    let rewritten: u64 = effects
        .iter()
        .filter(|e| e.rewrite.is_some())
        .map(|e| e.survivors)
        .sum();
    let only_rewrites_violate = counted.iter().all(|e| e.action != FkAction::NoAction);
    let dangling_all = dangling_references_deleted(s, graph, closure, 0).await?;
    if violations > dangling_all + rewritten {
        return Ok(Verdict::Refuse(RefusalKind::NoAction));
    }
    if dangling_all == 0 && only_rewrites_violate && violations >= rewritten {
        // Each rewritten row takes one off before it adds its own, so the first row that adds
        // one never had its own decrement: at most `rewritten - 1` decrements land.
        return Ok(Verdict::Refuse(RefusalKind::NoAction));
    }
    // One root row: its own NO ACTION violations are counted before anything below it runs,
    // and everything below only takes off (dangling deleted rows, rewritten rows).
    let from_single_root = closure.roots == 1
        && counted.iter().all(|e| {
            e.action == FkAction::NoAction
                && e.survivor_parent_generation == 0
                && e.self_reference_violations == 0
        });
    if !from_single_root {
        return Ok(Verdict::Refuse(RefusalKind::OrderDependent));
    }
    let dangling_below = dangling_references_deleted(s, graph, closure, 1).await?;
    Ok(if violations > dangling_below + rewritten {
        Verdict::Refuse(RefusalKind::NoAction)
    } else {
        Verdict::Fine
    })
}

/// Deleted rows (of generation `min_generation` or later) whose own non-NULL reference already
/// had no parent, counted per reference.
async fn dangling_references_deleted(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    min_generation: u32,
) -> Result<u64, DeleteError> {
    let mut total = 0;
    for (table, work) in &closure.tables {
        let Some(t) = graph.table(table) else {
            continue;
        };
        for fk in t
            .foreign_keys
            .iter()
            .filter(|fk| fk.enforcement == entity::rules::Enforcement::Database)
        {
            let not_null = fk
                .columns
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", s.q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let sql = format!(
                "SELECT COUNT(*) FROM {} c JOIN {} x ON {} WHERE x.cascade_gen >= {min_generation} \
                 AND {not_null} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                s.q(table),
                s.q(&work.name),
                s.equal("x", &t.primary_key, "c", &t.primary_key),
                s.q(&fk.parent_table),
                s.equal("p", &fk.parent_columns, "c", &fk.columns)
            );
            total += u64::try_from(s.scalar(&sql).await?).unwrap_or(0);
        }
    }
    Ok(total)
}

/// The updates the executor applies, for the report.
pub(crate) fn column_updates(effects: &[EdgeEffect]) -> Vec<ColumnUpdate> {
    effects
        .iter()
        .filter(|e| e.rewrite.is_some() && e.survivors > 0)
        .map(|e| ColumnUpdate {
            table: e.child.clone(),
            columns: e.columns.clone(),
            action: e.action,
            rows: e.survivors,
        })
        .collect()
}
