//! InnoDB's order, replayed (`row_upd_del_mark_clust_rec`, `row_upd_check_references_constraints`,
//! `row_ins_foreign_check_on_constraint`):
//!
//! - the root statement visits its rows in primary-key order; each row's referential work runs
//!   depth-first before the next row;
//! - deleting a row: its clustered record is delete-marked and the FKs referencing the primary
//!   key are checked, then per secondary unique index the FKs referencing it (each group in
//!   constraint-name order), each scanning the child's FK index (rows in primary-key order for
//!   one key). A row being deleted further up (or the row itself) is
//!   still in its secondary indexes until its own checks are done: a RESTRICT scan finds it and
//!   fails, a CASCADE / SET NULL scan finds it delete-marked and skips it. Every check is
//!   immediate (NO ACTION and SET DEFAULT are RESTRICT);
//! - a cascade deeper than 15 levels fails; an ON UPDATE CASCADE / SET NULL into a table an
//!   ancestor update is changing fails ("possibly causing a cyclic cascaded update");
//! - an update's new reference must have a parent (except through the FK that cascades it).

use cascade_entity::rules::FkAction;

use crate::delete::report::RefusalKind;
use crate::delete::simulate::world::{
    Failure, Replay, Row, RowId, State, Step, Stop, Val, World, outcome,
};

/// `FK_MAX_CASCADE_DEL`.
const MAX_CASCADE: u32 = 15;

struct Run<'w> {
    w: &'w mut World,
    /// Tables updated by the cascade operations in progress.
    updating: Vec<usize>,
}

fn visible(r: &Row) -> bool {
    r.state != State::Deleted
}

/// Replays the delete of the world's root rows.
pub(crate) fn replay(w: &mut World) -> Replay {
    let mut run = Run {
        w,
        updating: Vec::new(),
    };
    outcome(run.statement())
}

impl Run<'_> {
    fn statement(&mut self) -> Step {
        for root in self.w.roots() {
            if self.w.state(root) == State::Alive {
                self.delete(root, 0)?;
            }
        }
        Ok(())
    }

    /// FKs referencing table `t`, in constraint-name order.
    fn referencing(&self, t: usize) -> Vec<usize> {
        let mut fks = self.w.referencing(t);
        fks.sort_by(|a, b| self.w.fks[*a].name.cmp(&self.w.fks[*b].name));
        fks
    }

    fn depth_failure(&self, id: RowId) -> Stop {
        Stop::Refused(Failure {
            kind: RefusalKind::CascadeDepth,
            table: self.w.tables[id.0].name.clone(),
            fk: None,
            message: format!("a cascade deeper than {MAX_CASCADE} levels"),
        })
    }

    /// FKs referencing table `t` in the order a delete checks them: those referencing the
    /// primary key with the clustered record, then per secondary unique index those
    /// referencing it, each group in constraint-name order.
    fn delete_order(&self, t: usize) -> Vec<usize> {
        let table = &self.w.tables[t];
        let group = |g: usize| -> usize {
            let mut pcols = self.w.fks[g].pcols.clone();
            pcols.sort_unstable();
            let mut key = table.key.clone();
            key.sort_unstable();
            if pcols == key {
                return 0;
            }
            table
                .uniques
                .iter()
                .position(|u| {
                    let mut u = u.clone();
                    u.sort_unstable();
                    u == pcols
                })
                .map_or(usize::MAX, |p| p + 1)
        };
        let mut fks = self.referencing(t);
        fks.sort_by_key(|&g| group(g));
        fks
    }

    fn delete(&mut self, id: RowId, depth: u32) -> Step {
        self.w.set_state(id, State::Deleting);
        for g in self.delete_order(id.0) {
            let key = self.w.project(id, &self.w.fks[g].pcols);
            for c in self.w.children(g, &key, visible) {
                let state = self.w.state(c);
                if state == State::Deleted {
                    continue;
                }
                match self.w.fks[g].on_delete {
                    FkAction::Cascade | FkAction::SetNull if state == State::Deleting => {}
                    FkAction::Cascade => {
                        if depth + 1 >= MAX_CASCADE {
                            return Err(self.depth_failure(c));
                        }
                        self.delete(c, depth + 1)?;
                    }
                    FkAction::SetNull => {
                        if depth + 1 >= MAX_CASCADE {
                            return Err(self.depth_failure(c));
                        }
                        let changes = self.w.rewrite(g, FkAction::SetNull, &[])?;
                        self.update(c, changes, g, depth + 1)?;
                    }
                    _ => {
                        return Err(Stop::Refused(self.w.fk_failure(
                            g,
                            RefusalKind::Restrict,
                            "a referencing row is still in the FK index",
                        )));
                    }
                }
            }
        }
        self.w.set_state(id, State::Deleted);
        Ok(())
    }

    fn update(&mut self, id: RowId, changes: Vec<(usize, Val)>, via: usize, depth: u32) -> Step {
        self.w.check_rewrite(id, &changes, visible)?;
        let t = id.0;
        let old = self.w.row(id).values.clone();
        self.w.set(id, &changes);
        self.updating.push(t);
        for g in self.referencing(t) {
            let fk = &self.w.fks[g];
            let before: Vec<Val> = fk.pcols.iter().map(|&c| old[c].clone()).collect();
            let after = self.w.project(id, &fk.pcols);
            if before == after || before.iter().any(Option::is_none) {
                continue;
            }
            for c in self.w.children(g, &before, visible) {
                let state = self.w.state(c);
                if state == State::Deleted {
                    continue;
                }
                match self.w.fks[g].on_update {
                    FkAction::Cascade | FkAction::SetNull if state == State::Deleting => {}
                    action @ (FkAction::Cascade | FkAction::SetNull) => {
                        if self.updating.contains(&c.0) {
                            return Err(Stop::Refused(self.w.fk_failure(
                                g,
                                RefusalKind::Restrict,
                                "an update possibly causing a cyclic cascaded update",
                            )));
                        }
                        if depth + 1 >= MAX_CASCADE {
                            return Err(self.depth_failure(c));
                        }
                        let changes = self.w.rewrite(g, action, &after)?;
                        self.update(c, changes, g, depth + 1)?;
                    }
                    _ => {
                        return Err(Stop::Refused(self.w.fk_failure(
                            g,
                            RefusalKind::Restrict,
                            "ON UPDATE: a row references the changed key",
                        )));
                    }
                }
            }
        }
        for f in self.w.own(t) {
            if f == via || !self.w.child_changed(f, &changes) {
                continue;
            }
            let values = self.w.project(id, &self.w.fks[f].cols);
            if values.iter().all(Option::is_some)
                && !self
                    .w
                    .parent_exists(f, &values, |r| r.state == State::Alive)
            {
                return Err(Stop::Refused(self.w.fk_failure(
                    f,
                    RefusalKind::FkMissingParent,
                    "an updated row references a key no row holds",
                )));
            }
        }
        self.updating.pop();
        Ok(())
    }
}
