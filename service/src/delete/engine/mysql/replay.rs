//! InnoDB's order, replayed (`row_upd_del_mark_clust_rec`, `row_upd_check_references_constraints`,
//! `row_ins_foreign_check_on_constraint`):
//!
//! - the root statement visits its rows in primary-key order; each row's referential work runs
//!   depth-first before the next row;
//! - deleting a row: its clustered record is delete-marked and the FKs referencing the primary
//!   key are checked, then per secondary unique index the FKs referencing it (each group in
//!   constraint-name order), each scanning the child's FK index (rows in primary-key order for
//!   one key). A row being deleted further up (or the row itself) is delete-marked index by
//!   index: its clustered record first, then each secondary index as that index's step begins
//!   (`row_upd_sec_index_entry` marks the entry, then checks the FKs referencing it). A RESTRICT
//!   scan that finds it fails where its entry in the scanned index is not marked yet and skips
//!   it where it is (where that index is a non-unique one, whose place in the index order is not
//!   modelled, the replay abstains); a CASCADE / SET NULL scan skips it. Every check is
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
    /// The index step each row being deleted is in (`Run::index_step`: 0 its clustered record,
    /// k its k-th unique secondary index): its entries in that index and the ones before are
    /// delete-marked.
    steps: std::collections::HashMap<RowId, usize>,
}

fn visible(r: &Row) -> bool {
    r.state != State::Deleted
}

/// Replays the delete of the world's root rows.
pub(crate) fn replay(w: &mut World) -> Replay {
    let mut run = Run {
        w,
        updating: Vec::new(),
        steps: std::collections::HashMap::new(),
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

    /// The index step of table `t` at which InnoDB checks the FKs whose parent columns are
    /// `pcols`: 0 with the clustered record (the primary key), k with the k-th unique secondary
    /// index; `usize::MAX` where no unique index of `t` has exactly those columns.
    fn index_step(&self, t: usize, pcols: &[usize]) -> usize {
        let table = &self.w.tables[t];
        let same = |a: &[usize], b: &[usize]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        if same(pcols, &table.key) {
            return 0;
        }
        table
            .uniques
            .iter()
            .position(|u| same(u, pcols))
            .map_or(usize::MAX, |p| p + 1)
    }

    /// FKs referencing table `t` in the order a delete checks them: those referencing the
    /// primary key with the clustered record, then per secondary unique index those
    /// referencing it, each group in constraint-name order.
    fn delete_order(&self, t: usize) -> Vec<usize> {
        let mut fks = self.referencing(t);
        fks.sort_by_key(|&g| self.index_step(t, &self.w.fks[g].pcols));
        fks
    }

    /// Whether row `c`, being deleted further up, is already delete-marked in the index a scan
    /// of FK `g`'s child columns reads: its clustered record is marked first, then each
    /// secondary index as its step begins (`row_upd_sec_index_entry` marks the entry, then
    /// checks the FKs referencing that index). `None` where the order of that index among the
    /// others is not known (a non-unique FK index).
    fn marked_in_child_index(&self, c: RowId, g: usize) -> Option<bool> {
        let step = self.steps.get(&c).copied().unwrap_or(0);
        match self.index_step(c.0, &self.w.fks[g].cols) {
            0 => Some(true),
            _ if step == 0 => Some(false),
            usize::MAX => None,
            index => Some(index <= step),
        }
    }

    fn delete(&mut self, id: RowId, depth: u32) -> Step {
        self.w.set_state(id, State::Deleting);
        for g in self.delete_order(id.0) {
            let step = self.index_step(id.0, &self.w.fks[g].pcols);
            self.steps.insert(id, step);
            let key = self.w.project(id, &self.w.fks[g].pcols);
            for c in self.w.children(g, &key, visible) {
                let state = self.w.state(c);
                if state == State::Deleted {
                    continue;
                }
                match self.w.fks[g].on_delete {
                    FkAction::Cascade | FkAction::SetNull if state == State::Deleting => {}
                    _ if state == State::Deleting => match self.marked_in_child_index(c, g) {
                        Some(true) => {}
                        Some(false) => {
                            return Err(Stop::Refused(self.w.fk_failure(
                                g,
                                RefusalKind::Restrict,
                                "a row being deleted further up is still in the FK index",
                            )));
                        }
                        None => {
                            return Err(Stop::Undecided(format!(
                                "{} finds a row being deleted further up through a non-unique \
                                 index, whose place in InnoDB's index order is not modelled",
                                self.w.fks[g].label
                            )));
                        }
                    },
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
        self.steps.remove(&id);
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
