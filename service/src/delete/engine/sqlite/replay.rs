//! SQLite's order, replayed row by row (`sqlite3GenerateRowDelete`, `sqlite3Update`,
//! `sqlite3FkCheck`, `sqlite3FkActions`):
//!
//! - the root statement collects its rows first and visits them in rowid order; every action
//!   statement (`DELETE` / `UPDATE` of the child rows matching the old key) does the same, and
//!   each row's own FK work runs depth-first before the next row;
//! - deleting a row: first the FK counter (its own dangling references take one off, only
//!   while the counter is above zero; every row still referencing it adds one per FK), then
//!   the row goes, then the actions of the FKs referencing its table, newest declared first
//!   (newest table first): CASCADE deletes, SET NULL / SET DEFAULT update, RESTRICT fails at
//!   once if a referencing row remains, NO ACTION only counted;
//! - updating a row (an action's rewrite): NOT NULL, CHECK and UNIQUE fail at once; the counter
//!   for the old values (a reference to its own table is always re-checked), the write, the
//!   counter for the new values (a new key takes one off per row it resolves, a new dangling
//!   reference adds one, SET NULL's own FK excepted), then the ON UPDATE actions of the FKs
//!   whose referenced columns changed;
//! - at the end of the statement a counter above zero fails ("FOREIGN KEY constraint failed").

use std::cmp::Reverse;

use cascade_entity::rules::FkAction;

use crate::delete::report::RefusalKind;
use crate::delete::simulate::world::{Replay, RowId, State, Step, Stop, Val, World, outcome};

/// SQLite's trigger depth limit (`SQLITE_MAX_TRIGGER_DEPTH`).
const DEPTH_LIMIT: u32 = 1000;

struct Run<'w> {
    w: &'w mut World,
    counter: i64,
    deferred: i64,
    /// The FK that last added a violation, and the kind it reports, for the refusal.
    last: Option<(usize, RefusalKind)>,
}

/// Replays the delete of the world's root rows.
pub(crate) fn replay(w: &mut World) -> Replay {
    let mut run = Run {
        w,
        counter: 0,
        deferred: 0,
        last: None,
    };
    outcome(run.statement())
}

fn alive(r: &crate::delete::simulate::world::Row) -> bool {
    r.state == State::Alive
}

impl Run<'_> {
    fn statement(&mut self) -> Step {
        for root in self.w.roots() {
            if self.w.state(root) == State::Alive {
                self.delete(root, 0)?;
            }
        }
        if self.counter > 0 {
            let (fk, kind) = self.last.unwrap_or((0, RefusalKind::NoAction));
            return Err(Stop::Refused(self.w.fk_failure(
                fk,
                kind,
                "SQLite's end-of-statement FK counter is above zero",
            )));
        }
        Ok(())
    }

    /// FKs referencing table `t` in the order SQLite runs their actions: newest first.
    fn referencing(&self, t: usize) -> Vec<usize> {
        let mut fks = self.w.referencing(t);
        fks.sort_by_key(|&f| {
            let fk = &self.w.fks[f];
            Reverse((self.w.tables[fk.child].created, fk.rank))
        });
        fks
    }

    /// Adds `n` violations of `fk`: a parent row gone (`NoAction`), or a rewritten reference
    /// with no parent (`FkMissingParent`).
    fn add(&mut self, fk: usize, n: i64, kind: RefusalKind) {
        if n == 0 {
            return;
        }
        if self.w.fks[fk].deferred {
            self.deferred += n;
        } else {
            self.counter += n;
            self.last = Some((fk, kind));
        }
    }

    /// Takes `n` off, only if the counter is above zero when the scan starts (`OP_FkIfZero`).
    fn take(&mut self, fk: usize, n: i64) {
        if self.w.fks[fk].deferred {
            if self.deferred > 0 {
                self.deferred -= n;
            }
        } else if self.counter > 0 {
            self.counter -= n;
        }
    }

    fn parent_missing(&self, fk: usize, values: &[Val], except: Option<RowId>) -> bool {
        let f = &self.w.fks[fk];
        let rows = self.w.matching(f.parent, &f.pcols, values, alive);
        !rows.iter().any(|r| Some(*r) != except)
    }

    fn delete(&mut self, id: RowId, depth: u32) -> Step {
        if depth > DEPTH_LIMIT {
            return Err(Stop::Refused(crate::delete::simulate::world::Failure {
                kind: RefusalKind::CascadeDepth,
                table: self.w.tables[id.0].name.clone(),
                fk: None,
                message: format!("too many levels of trigger recursion (over {DEPTH_LIMIT})"),
            }));
        }
        let t = id.0;
        // The row as a child: a reference that already dangled takes one off.
        for f in self.w.own(t) {
            let values = self.w.project(id, &self.w.fks[f].cols);
            if values.iter().all(Option::is_some) && self.parent_missing(f, &values, None) {
                self.take(f, 1);
            }
        }
        let referencing = self.referencing(t);
        // The row as a parent: every row still referencing it adds one.
        for &g in &referencing {
            let key = self.w.project(id, &self.w.fks[g].pcols);
            let n = self
                .w
                .children(g, &key, alive)
                .into_iter()
                .filter(|c| *c != id)
                .count();
            self.add(g, n as i64, RefusalKind::NoAction);
        }
        self.w.set_state(id, State::Deleted);
        for g in referencing {
            let key = self.w.project(id, &self.w.fks[g].pcols);
            let rows = self.w.children(g, &key, alive);
            match self.w.fks[g].on_delete {
                FkAction::Cascade => {
                    for c in rows {
                        if self.w.state(c) == State::Alive {
                            self.delete(c, depth + 1)?;
                        }
                    }
                }
                action @ (FkAction::SetNull | FkAction::SetDefault) => {
                    self.rewrite_alive(&rows, g, action, &[], depth)?;
                }
                FkAction::Restrict if !rows.is_empty() => {
                    return Err(Stop::Refused(self.w.fk_failure(
                        g,
                        RefusalKind::Restrict,
                        "RESTRICT: a referencing row remains when the action runs",
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Rewrites, one row at a time, the `rows` of FK `g` still alive when their turn comes, by
    /// `action` (`new_key`: the parent's new key, for ON UPDATE CASCADE).
    fn rewrite_alive(
        &mut self,
        rows: &[RowId],
        g: usize,
        action: FkAction,
        new_key: &[Val],
        depth: u32,
    ) -> Step {
        for &c in rows {
            if self.w.state(c) == State::Alive {
                let changes = self.w.rewrite(g, action, new_key)?;
                self.update(c, changes, Some((g, action)), depth + 1)?;
            }
        }
        Ok(())
    }

    fn update(
        &mut self,
        id: RowId,
        changes: Vec<(usize, Val)>,
        via: Option<(usize, FkAction)>,
        depth: u32,
    ) -> Step {
        if depth > DEPTH_LIMIT {
            return Err(Stop::Undecided(format!(
                "trigger recursion deeper than {DEPTH_LIMIT}"
            )));
        }
        let t = id.0;
        self.w.check_rewrite(id, &changes, alive)?;
        let old = self.w.row(id).values.clone();
        let own = self.w.own(t);
        let checked = |w: &World, f: usize| w.fks[f].parent == t || w.child_changed(f, &changes);
        for &f in &own {
            if !checked(self.w, f) {
                continue;
            }
            let values = self.w.project(id, &self.w.fks[f].cols);
            if values.iter().all(Option::is_some) && self.parent_missing(f, &values, None) {
                self.take(f, 1);
            }
        }
        let referencing: Vec<usize> = self
            .referencing(t)
            .into_iter()
            .filter(|&g| self.w.parent_changed(g, &changes))
            .collect();
        for &g in &referencing {
            let key = self.w.project(id, &self.w.fks[g].pcols);
            let n = self
                .w
                .children(g, &key, alive)
                .into_iter()
                .filter(|c| *c != id)
                .count();
            self.add(g, n as i64, RefusalKind::NoAction);
        }
        self.w.set(id, &changes);
        for &g in &referencing {
            let key = self.w.project(id, &self.w.fks[g].pcols);
            let n = self
                .w
                .children(g, &key, alive)
                .into_iter()
                .filter(|c| *c != id)
                .count();
            if n > 0 {
                self.take(g, n as i64);
            }
        }
        for &f in &own {
            if !checked(self.w, f) || via == Some((f, FkAction::SetNull)) {
                continue;
            }
            let fk = &self.w.fks[f];
            let values = self.w.project(id, &fk.cols);
            if values.iter().any(Option::is_none) {
                continue;
            }
            if fk.parent == t && self.w.project(id, &fk.pcols) == values {
                continue;
            }
            if self.parent_missing(f, &values, Some(id)) {
                // A reference the update wrote, or one to its own table merely re-checked.
                let kind = if self.w.child_changed(f, &changes) {
                    RefusalKind::FkMissingParent
                } else {
                    RefusalKind::NoAction
                };
                self.add(f, 1, kind);
            }
        }
        for g in referencing {
            let fk = &self.w.fks[g];
            let old_key: Vec<Val> = fk.pcols.iter().map(|&c| old[c].clone()).collect();
            let new_key = self.w.project(id, &fk.pcols);
            if old_key == new_key {
                continue;
            }
            let rows = self.w.children(g, &old_key, alive);
            match fk.on_update {
                action @ (FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault) => {
                    self.rewrite_alive(&rows, g, action, &new_key, depth)?;
                }
                FkAction::Restrict if !rows.is_empty() => {
                    return Err(Stop::Refused(self.w.fk_failure(
                        g,
                        RefusalKind::Restrict,
                        "ON UPDATE RESTRICT: a row references the changed key",
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }
}
