//! The non-cascading edges of a delete: which surviving rows are nulled or defaulted (kept in
//! work tables for the executor), which rows would block, and the engine's verdict.
//!
//! For every RESTRICT / NO ACTION / SET NULL / SET DEFAULT edge into a table that loses rows,
//! the referencing rows split into survivors (not deleted themselves) and doomed rows (deleted
//! by another path). Doomed rows are counted by how their generation compares with their
//! parent's, which is what the engines' orderings turn on.

use cascade_entity::RuleGraph;
use cascade_entity::rules::{ColumnDefault, Deferrable, FkAction, ForeignKey, Table};

use super::closure::{Closure, parent_join};
use super::report::{ColumnUpdate, DeleteError, RefusalKind};
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
    /// The same rows as `rewrite`, as a join and a residual condition
    /// (`JOIN work d ON child.fk = d.key`, `WHERE ...`), for engines that rewrite faster by a
    /// multi-table UPDATE (`Engine::rewrites_by_join`); set for edges by the parent's key.
    pub rewrite_join: Option<(String, String)>,
    pub columns: Vec<String>,
    /// The values written into `columns` as SQL, where they are not NULL / the column default
    /// (an ON UPDATE CASCADE writes the parent's new key).
    pub values: Option<Vec<String>>,
    /// 0 for an ON DELETE edge; n for an ON UPDATE edge fired by a key rewrite n steps away
    /// (the executor rewrites deeper levels first, while the keys still hold their old values).
    pub key_update_depth: u32,
    /// Set when this edge's effect is a shape the model does not decide: the refusal says so.
    pub unsupported: Option<String>,
    /// Set when this edge's outcome turns on the engine's order (named): the judge replays it.
    pub order_dependent: Option<String>,
    /// Surviving rows the rewrite makes fail a CHECK constraint (the engine refuses), and the
    /// CHECK's name.
    pub check_violations: u64,
    pub check_name: Option<String>,
    /// Rows also deleted by another path that the rewrite would make fail a CHECK if it reached
    /// them first: the outcome turns on the engine's order.
    pub check_doomed: u64,
    /// `survivors` is an exact count. When false (a [`Counts::FromExecution`] delete of plain
    /// SET NULL edges only), `survivors` is 1 as "perhaps some": no verdict turns on it, and the
    /// executor takes the count from the rows its UPDATE changed.
    pub counted: bool,
}

/// How the surviving rows of SET NULL edges are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counts {
    /// Every edge counted before anything changes (a plan, DB mode, batches).
    Exact,
    /// Where every non-cascading edge is a plain SET NULL (no verdict can turn on a count),
    /// their rows are counted by the UPDATE that rewrites them: one pass over them, not two.
    FromExecution,
}

impl EdgeEffect {
    pub(crate) fn refusal_kind(&self) -> RefusalKind {
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

    pub(crate) fn survivors_fail(&self) -> bool {
        self.survivors > 0 && self.fails_on_existing_row()
    }

    pub(crate) fn doomed_fail(&self) -> bool {
        self.doomed > 0 && self.fails_on_existing_row()
    }

    pub(crate) fn doomed_other_rows(&self) -> u64 {
        self.doomed - self.doomed_self
    }

    /// Violations this edge adds to an end-of-statement counter (SQLite).
    pub(crate) fn net_violations(&self) -> u64 {
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
    counts: Counts,
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
    let uncounted = counts == Counts::FromExecution
        && edges
            .iter()
            .all(|(child, fk)| plain_set_null(s, graph, child, fk));
    for (child, fk) in edges {
        effects.push(measure_edge(s, graph, closure, child, fk, !uncounted).await?);
    }
    super::key_updates::measure(s, graph, closure, &mut effects).await?;
    Ok(effects)
}

async fn measure_edge(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    closure: &Closure,
    child: &Table,
    fk: &ForeignKey,
    count: bool,
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
        nulls_not_null: nulls_not_null(s, child, &columns),
        default_missing_parent: false,
        survivors: 0,
        survivor_parent_generation: 0,
        self_reference_violations: 0,
        doomed: 0,
        doomed_late: 0,
        doomed_next_layer: 0,
        doomed_self: 0,
        rewrite: None,
        rewrite_join: None,
        columns,
        values: None,
        key_update_depth: 0,
        unsupported: None,
        order_dependent: None,
        check_violations: 0,
        check_name: None,
        check_doomed: 0,
        counted: count,
    };
    let from = format!("FROM {} c {join}", s.q(&child.name));
    let sql = format!("SELECT COUNT(*), MAX(d.cascade_gen) {from}{not_doomed}");
    if !count {
        effect.survivors = 1;
    } else if let Some(row) = s.query(&sql).await?.first() {
        effect.survivors = u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0);
        let generation = row.try_get_by_index::<Option<i64>>(1)?.unwrap_or(0);
        effect.survivor_parent_generation = u32::try_from(generation).unwrap_or(u32::MAX);
    }
    if matches!(fk.on_delete, FkAction::SetNull | FkAction::SetDefault) {
        // The executor rewrites exactly the rows this predicate selects, in one statement.
        let (predicate, doomed_predicate) =
            rewrite_predicate(s, graph, fk, child, &parent_work, child_work.as_deref());
        if fk.on_delete == FkAction::SetDefault {
            effect.default_missing_parent =
                !default_parent_survives(s, graph, closure, child, fk).await?;
        }
        if effect.survivors > 0 && s.engine.rechecks_self_reference_on_update() {
            effect.self_reference_violations =
                dangling_self_references(s, closure, child, &predicate, &effect.columns).await?;
        }
        effect.rewrite = Some(predicate);
        effect.rewrite_join =
            rewrite_join(s, graph, fk, child, &parent_work, child_work.as_deref());
        super::checks::measure(s, child, &mut effect, doomed_predicate.as_deref()).await?;
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

/// Whether `fk` is a SET NULL edge no verdict can turn on: it writes NULL into nullable
/// columns outside the child's key, which no CHECK mentions, no FK references (no ON UPDATE
/// follows), and the child does not reference its own table (no re-check on update).
fn plain_set_null(s: &Session<'_>, graph: &RuleGraph, child: &Table, fk: &ForeignKey) -> bool {
    let columns = fk.set_null_columns.as_ref().unwrap_or(&fk.columns);
    fk.on_delete == FkAction::SetNull
        && !nulls_not_null(s, child, columns)
        && !columns.iter().any(|c| child.primary_key.contains(c))
        && child.checks.is_empty()
        && !child
            .foreign_keys
            .iter()
            .any(|other| other.parent_table == child.name)
        && !graph.foreign_keys().any(|(_, other)| {
            other.parent_table == child.name
                && other.parent_columns.iter().any(|c| columns.contains(c))
        })
}

/// Whether writing NULL into `columns` of `child` breaks NOT NULL: a column declared NOT NULL,
/// or a primary-key column where the engine makes key columns NOT NULL (SQLite's rowid tables
/// do not, unless the table is `WITHOUT ROWID` or the key is the rowid alias).
pub(crate) fn nulls_not_null(s: &Session<'_>, child: &Table, columns: &[String]) -> bool {
    columns.iter().any(|c| {
        child.column(c).is_some_and(|col| !col.nullable)
            || (child.primary_key.contains(c) && s.engine.key_columns_are_not_null())
    })
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
            && fk.enforcement == cascade_entity::rules::Enforcement::Database
            && !fk.columns.iter().any(|c| rewritten_columns.contains(c))
    }) {
        let not_null = fk
            .columns
            .iter()
            .map(|c| format!("{table}.{} IS NOT NULL", s.q(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        // A parent this delete removes fires the reference's own action (SET NULL, CASCADE,
        // SET DEFAULT) when it goes, so such a reference never dangles when the row is
        // re-checked; only NO ACTION / RESTRICT references to deleted parents do, and any
        // reference that dangled before the delete.
        let acts_on_delete = !matches!(fk.on_delete, FkAction::NoAction | FkAction::Restrict);
        let surviving = match closure.tables.get(&child.name) {
            Some(work) if !acts_on_delete => format!(
                " AND NOT EXISTS (SELECT 1 FROM {} x WHERE {})",
                s.q(&work.name),
                s.equal("x", key, "p", key)
            ),
            _ => String::new(),
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
/// on the unaliased child table, for UPDATE statements; and the same rows among the doomed
/// children (`IN`), which the action would rewrite if they still existed when it runs.
fn rewrite_predicate(
    s: &Session<'_>,
    graph: &RuleGraph,
    fk: &ForeignKey,
    child: &Table,
    parent_work: &str,
    child_work: Option<&str>,
) -> (String, Option<String>) {
    let table = s.q(&child.name);
    let tuple = |columns: &[String]| s.row_value(&table, columns);
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
    let base = format!("{} IN ({parent_keys})", tuple(&fk.columns));
    match child_work {
        Some(work) => {
            let doomed = |negate: &str| {
                format!(
                    "{base} AND {} {negate}IN (SELECT {} FROM {} x)",
                    tuple(&child.primary_key),
                    s.cols("x", &child.primary_key),
                    s.q(work)
                )
            };
            (doomed("NOT "), Some(doomed("")))
        }
        None => (base, None),
    }
}

/// [`rewrite_predicate`] as a join to the parent's work table and a residual condition, for an
/// FK to the parent's key.
fn rewrite_join(
    s: &Session<'_>,
    graph: &RuleGraph,
    fk: &ForeignKey,
    child: &Table,
    parent_work: &str,
    child_work: Option<&str>,
) -> Option<(String, String)> {
    let parent = graph.table(&fk.parent_table)?;
    let by_key = parent.primary_key.len() == fk.parent_columns.len()
        && fk
            .parent_columns
            .iter()
            .all(|c| parent.primary_key.contains(c));
    if !by_key {
        return None;
    }
    let table = s.q(&child.name);
    let work = super::suspend::WORK_ALIAS;
    let join = format!(
        "JOIN {} {work} ON {}",
        s.q(parent_work),
        s.equal(&table, &fk.columns, work, &fk.parent_columns)
    );
    let residual = match child_work {
        Some(work) => {
            let key = s.row_value(&table, &child.primary_key);
            format!(
                "{key} NOT IN (SELECT {} FROM {} cascade_doomed)",
                s.cols("cascade_doomed", &child.primary_key),
                s.q(work)
            )
        }
        None => "1 = 1".to_owned(),
    };
    Some((join, residual))
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
        ColumnDefault::Float(f) => f.to_string(),
        ColumnDefault::Text(t) => format!("'{}'", t.replace('\'', "''")),
        ColumnDefault::Sql(sql) => sql.clone(),
        _ => "NULL".to_owned(),
    }
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
