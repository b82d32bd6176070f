//! The rows a replay works on, in memory: the loaded rows of each table (values as text, their
//! physical position, whether they still exist), the foreign keys between them with the facts
//! each engine orders them by, hash indexes on every referencing and referenced column list,
//! and the row-level checks every engine applies to a rewritten row (NOT NULL, CHECK, UNIQUE).

use std::collections::HashMap;

use cascade_entity::rules::FkAction;
use sqlparser::ast::Expr;

use super::check_eval;
use crate::delete::report::RefusalKind;

/// A column value as text (`None` is SQL NULL).
pub(crate) type Val = Option<String>;

/// A row: its table and its position among that table's loaded rows.
pub(crate) type RowId = (usize, usize);

/// Where a row stands in the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Alive,
    /// Being deleted: gone for the statement, but (InnoDB) still visible in its secondary
    /// indexes until its own referential checks are done.
    Deleting,
    Deleted,
}

#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub values: Vec<Val>,
    /// The values as loaded.
    pub initial: Vec<Val>,
    pub state: State,
    /// Physical order key (rowid, ctid, or the primary key), ascending.
    pub pos: Vec<i64>,
    /// Bumped by every update (PostgreSQL skips checks queued for an older row version).
    pub version: u32,
    /// A row the root statement selects.
    pub root: bool,
    /// A row the set-based closure deletes (the executor's plan).
    pub planned_delete: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct SimTable {
    pub name: String,
    pub columns: Vec<String>,
    pub not_null: Vec<bool>,
    pub key: Vec<usize>,
    pub uniques: Vec<Vec<usize>>,
    /// The value SET DEFAULT writes, per column, where it was evaluated.
    pub defaults: Vec<Option<Val>>,
    pub checks: Vec<(String, Expr)>,
    pub rows: Vec<Row>,
    /// Creation order among tables (SQLite's schema order), 0 where unknown.
    pub created: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct SimFk {
    pub label: String,
    pub name: Option<String>,
    pub child: usize,
    pub parent: usize,
    pub cols: Vec<usize>,
    pub pcols: Vec<usize>,
    /// Columns ON DELETE SET NULL writes (PostgreSQL's `SET NULL (cols)`, else all).
    pub set_null: Vec<usize>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    /// NO ACTION checked at commit (PostgreSQL `DEFERRABLE INITIALLY DEFERRED`).
    pub deferred: bool,
    /// Declaration order within the child table.
    pub rank: u32,
    /// PostgreSQL's trigger names: the action triggers on the parent (delete, update) and the
    /// check trigger on the child (update); events of one row fire in name order.
    pub delete_trigger: Option<String>,
    pub update_trigger: Option<String>,
    pub check_trigger: Option<String>,
}

/// The refusal a replay ends in.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: RefusalKind,
    pub table: String,
    pub fk: Option<String>,
    pub message: String,
}

/// A replay's outcome: `Ok(None)` the engine deletes, `Ok(Some)` it refuses, `Err` the replay
/// cannot decide (the reason is named in the abstention).
pub(crate) type Replay = Result<Option<Failure>, String>;

/// Row positions by the text key of a column list, per `(table, columns)`.
type Indexes = HashMap<(usize, Vec<usize>), HashMap<Vec<String>, Vec<usize>>>;

#[derive(Debug, Default)]
pub(crate) struct World {
    pub tables: Vec<SimTable>,
    pub fks: Vec<SimFk>,
    index: Indexes,
    next_pos: i64,
}

impl World {
    pub(crate) fn new(tables: Vec<SimTable>, fks: Vec<SimFk>) -> World {
        let mut world = World {
            tables,
            fks,
            index: HashMap::new(),
            next_pos: 0,
        };
        let mut wanted: Vec<(usize, Vec<usize>)> = Vec::new();
        for fk in &world.fks {
            wanted.push((fk.child, fk.cols.clone()));
            wanted.push((fk.parent, fk.pcols.clone()));
        }
        for (t, table) in world.tables.iter().enumerate() {
            for unique in &table.uniques {
                wanted.push((t, unique.clone()));
            }
        }
        for (t, cols) in wanted {
            if world.index.contains_key(&(t, cols.clone())) {
                continue;
            }
            let mut map: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
            for (r, row) in world.tables[t].rows.iter().enumerate() {
                if let Some(key) = text_key(&row.values, &cols) {
                    map.entry(key).or_default().push(r);
                }
            }
            world.index.insert((t, cols), map);
        }
        world.next_pos = world
            .tables
            .iter()
            .flat_map(|t| t.rows.iter().filter_map(|r| r.pos.first().copied()))
            .max()
            .unwrap_or(0)
            + 1;
        world
    }

    pub(crate) fn row(&self, id: RowId) -> &Row {
        &self.tables[id.0].rows[id.1]
    }

    pub(crate) fn state(&self, id: RowId) -> State {
        self.row(id).state
    }

    pub(crate) fn set_state(&mut self, id: RowId, state: State) {
        self.tables[id.0].rows[id.1].state = state;
    }

    /// The values of `cols` of a row.
    pub(crate) fn project(&self, id: RowId, cols: &[usize]) -> Vec<Val> {
        let row = self.row(id);
        cols.iter().map(|&c| row.values[c].clone()).collect()
    }

    /// Rows of table `t` whose `cols` equal `values` (MATCH SIMPLE: nothing matches a value
    /// with a NULL part) and that `keep` accepts, in physical order.
    pub(crate) fn matching(
        &self,
        t: usize,
        cols: &[usize],
        values: &[Val],
        keep: impl Fn(&Row) -> bool,
    ) -> Vec<RowId> {
        let Some(key) = values.iter().cloned().collect::<Option<Vec<String>>>() else {
            return Vec::new();
        };
        let rows = &self.tables[t].rows;
        let mut found: Vec<usize> = match self.index.get(&(t, cols.to_vec())) {
            Some(map) => map.get(&key).cloned().unwrap_or_default(),
            None => (0..rows.len())
                .filter(|&r| text_key(&rows[r].values, cols).as_ref() == Some(&key))
                .collect(),
        };
        found.retain(|&r| keep(&rows[r]));
        found.sort_by(|a, b| rows[*a].pos.cmp(&rows[*b].pos));
        found.into_iter().map(|r| (t, r)).collect()
    }

    /// Children of `fk` referencing the parent key `key`, among rows `keep` accepts.
    pub(crate) fn children(
        &self,
        fk: usize,
        key: &[Val],
        keep: impl Fn(&Row) -> bool,
    ) -> Vec<RowId> {
        let fk = &self.fks[fk];
        self.matching(fk.child, &fk.cols, key, keep)
    }

    /// Whether a row of `fk`'s parent that `keep` accepts holds the key `values`.
    pub(crate) fn parent_exists(
        &self,
        fk: usize,
        values: &[Val],
        keep: impl Fn(&Row) -> bool,
    ) -> bool {
        let fk = &self.fks[fk];
        !self.matching(fk.parent, &fk.pcols, values, keep).is_empty()
    }

    /// FKs that reference table `t`.
    pub(crate) fn referencing(&self, t: usize) -> Vec<usize> {
        (0..self.fks.len())
            .filter(|&f| self.fks[f].parent == t)
            .collect()
    }

    /// FKs that table `t` holds.
    pub(crate) fn own(&self, t: usize) -> Vec<usize> {
        (0..self.fks.len())
            .filter(|&f| self.fks[f].child == t)
            .collect()
    }

    /// Writes `changes` into a row, keeping the indexes true.
    pub(crate) fn set(&mut self, id: RowId, changes: &[(usize, Val)]) {
        let (t, r) = id;
        let before = self.tables[t].rows[r].values.clone();
        for (c, v) in changes {
            self.tables[t].rows[r].values[*c] = v.clone();
        }
        let after = self.tables[t].rows[r].values.clone();
        self.tables[t].rows[r].version += 1;
        for ((table, cols), map) in &mut self.index {
            if *table != t || !cols.iter().any(|c| changes.iter().any(|(x, _)| x == c)) {
                continue;
            }
            if let Some(old) = text_key(&before, cols)
                && let Some(list) = map.get_mut(&old)
            {
                list.retain(|&x| x != r);
            }
            if let Some(new) = text_key(&after, cols) {
                map.entry(new).or_default().push(r);
            }
        }
    }

    /// Moves a row to the end of its table's physical order (a PostgreSQL update writes a new
    /// row version after the existing ones).
    pub(crate) fn move_to_end(&mut self, id: RowId) {
        self.next_pos += 1;
        self.tables[id.0].rows[id.1].pos = vec![self.next_pos, 0];
    }

    /// The values a rewrite through `fk` writes: `action` is the action applied (SET NULL,
    /// SET DEFAULT, or an ON UPDATE CASCADE carrying `parent_new`).
    pub(crate) fn rewrite(
        &self,
        fk: usize,
        action: FkAction,
        parent_new: &[Val],
    ) -> Result<Vec<(usize, Val)>, String> {
        let f = &self.fks[fk];
        let child = &self.tables[f.child];
        match action {
            FkAction::SetNull => Ok(f.set_null.iter().map(|&c| (c, None)).collect()),
            FkAction::SetDefault => f
                .cols
                .iter()
                .map(|&c| {
                    child.defaults[c].clone().map(|v| (c, v)).ok_or_else(|| {
                        format!(
                            "the default of `{}`.{} was not evaluated",
                            child.name, child.columns[c]
                        )
                    })
                })
                .collect(),
            FkAction::Cascade => Ok(f.cols.iter().copied().zip(parent_new.to_vec()).collect()),
            _ => Ok(Vec::new()),
        }
    }

    /// The row-level refusal a rewrite of `id` to `changes` meets, in the order the engines
    /// check: NOT NULL, then CHECK, then UNIQUE (against rows `live` accepts).
    pub(crate) fn row_failure(
        &self,
        id: RowId,
        changes: &[(usize, Val)],
        live: impl Fn(&Row) -> bool,
    ) -> Result<Option<Failure>, String> {
        let (t, r) = id;
        let table = &self.tables[t];
        let mut values = table.rows[r].values.clone();
        for (c, v) in changes {
            values[*c] = v.clone();
        }
        let fail = |kind: RefusalKind, message: String| Failure {
            kind,
            table: table.name.clone(),
            fk: None,
            message,
        };
        for (c, v) in changes {
            if v.is_none() && table.not_null[*c] {
                return Ok(Some(fail(
                    RefusalKind::NotNull,
                    format!(
                        "NULL written into NOT NULL `{}`.{}",
                        table.name, table.columns[*c]
                    ),
                )));
            }
        }
        for (name, expr) in &table.checks {
            if check_eval::fails(expr, &table.columns, &values)? {
                return Ok(Some(fail(
                    RefusalKind::Check,
                    format!("a row of `{}` fails CHECK {name}", table.name),
                )));
            }
        }
        for unique in &table.uniques {
            if !unique.iter().any(|c| changes.iter().any(|(x, _)| x == c)) {
                continue;
            }
            let key: Vec<Val> = unique.iter().map(|&c| values[c].clone()).collect();
            let clash = self
                .matching(t, unique, &key, &live)
                .into_iter()
                .any(|(_, other)| other != r);
            if clash {
                return Ok(Some(fail(
                    RefusalKind::Unique,
                    format!(
                        "a rewritten row of `{}` duplicates a unique key",
                        table.name
                    ),
                )));
            }
        }
        Ok(None)
    }

    /// Root rows, in physical order.
    pub(crate) fn roots(&self) -> Vec<RowId> {
        let mut roots: Vec<RowId> = self
            .tables
            .iter()
            .enumerate()
            .flat_map(|(t, table)| {
                table
                    .rows
                    .iter()
                    .enumerate()
                    .filter(|(_, row)| row.root)
                    .map(move |(r, _)| (t, r))
            })
            .collect();
        roots.sort_by(|a, b| self.row(*a).pos.cmp(&self.row(*b).pos));
        roots
    }

    /// A refusal naming `fk`.
    pub(crate) fn fk_failure(&self, fk: usize, kind: RefusalKind, what: &str) -> Failure {
        let f = &self.fks[fk];
        Failure {
            kind,
            table: self.tables[f.child].name.clone(),
            fk: Some(f.label.clone()),
            message: format!("{} ({what})", f.label),
        }
    }

    /// Whether `fk`'s parent columns are among `changed`.
    pub(crate) fn parent_changed(&self, fk: usize, changed: &[(usize, Val)]) -> bool {
        self.fks[fk]
            .pcols
            .iter()
            .any(|c| changed.iter().any(|(x, _)| x == c))
    }

    /// Whether `fk`'s own columns are among `changed`.
    pub(crate) fn child_changed(&self, fk: usize, changed: &[(usize, Val)]) -> bool {
        self.fks[fk]
            .cols
            .iter()
            .any(|c| changed.iter().any(|(x, _)| x == c))
    }
}

fn text_key(values: &[Val], cols: &[usize]) -> Option<Vec<String>> {
    cols.iter().map(|&c| values[c].clone()).collect()
}

/// Why a replay stops before the end of the statement.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The engine refuses.
    Refused(Failure),
    /// The replay cannot follow the engine here (named).
    Undecided(String),
}

impl From<String> for Stop {
    fn from(reason: String) -> Stop {
        Stop::Undecided(reason)
    }
}

/// One step of a replay.
pub(crate) type Step = Result<(), Stop>;

/// A replay's steps folded into its outcome.
pub(crate) fn outcome(result: Step) -> Replay {
    match result {
        Ok(()) => Ok(None),
        Err(Stop::Refused(failure)) => Ok(Some(failure)),
        Err(Stop::Undecided(reason)) => Err(reason),
    }
}

impl World {
    /// Stops the replay with the refusal `row_failure` finds for a rewrite, if any.
    pub(crate) fn check_rewrite(
        &self,
        id: RowId,
        changes: &[(usize, Val)],
        live: impl Fn(&Row) -> bool,
    ) -> Step {
        match self.row_failure(id, changes, live)? {
            Some(failure) => Err(Stop::Refused(failure)),
            None => Ok(()),
        }
    }
}
