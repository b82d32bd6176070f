//! PostgreSQL's order, replayed: referential actions are AFTER ROW trigger events in one FIFO
//! queue per statement (RI queries run with `fire_triggers = false`, so a cascaded statement's
//! events are appended to the outer queue, i.e. breadth-first).
//!
//! - The root statement deletes all its rows first (in physical, ctid, order), queuing for
//!   each row the action triggers of the FKs referencing its table in trigger-name order
//!   (`RI_ConstraintTrigger_a_<oid>`: FK creation order).
//! - A CASCADE event deletes the matching rows (queuing theirs); SET NULL / SET DEFAULT update
//!   them (NOT NULL, CHECK, UNIQUE fail at once; the new row version goes to the end of the
//!   heap; its ON UPDATE action triggers and FK check triggers are queued in name order,
//!   `a_` before `c_`, each only when its key changed); SET DEFAULT then re-runs the NO ACTION
//!   check on the old key (`ri_set`).
//! - RESTRICT checks when its event is reached; NO ACTION too, but passes if a row with an
//!   equal key exists again (`ri_Check_Pk_Match`), and a `DEFERRABLE INITIALLY DEFERRED` one
//!   waits for the end (`SET CONSTRAINTS ALL IMMEDIATE`). A check trigger skips a row deleted
//!   or updated again since it was queued.

use std::collections::VecDeque;

use cascade_entity::rules::FkAction;

use crate::delete::report::RefusalKind;
use crate::delete::simulate::world::{Replay, Row, RowId, State, Step, Stop, Val, World, outcome};

#[derive(Debug, Clone)]
enum Event {
    Delete {
        fk: usize,
        old: Vec<Val>,
    },
    Update {
        fk: usize,
        old: Vec<Val>,
        new: Vec<Val>,
    },
    Check {
        fk: usize,
        row: RowId,
        version: u32,
    },
}

struct Run<'w> {
    w: &'w mut World,
    queue: VecDeque<Event>,
    deferred: Vec<Event>,
}

fn alive(r: &Row) -> bool {
    r.state == State::Alive
}

/// Replays the delete of the world's root rows.
pub(crate) fn replay(w: &mut World) -> Replay {
    let mut run = Run {
        w,
        queue: VecDeque::new(),
        deferred: Vec::new(),
    };
    outcome(run.statement())
}

impl Run<'_> {
    fn statement(&mut self) -> Step {
        for root in self.w.roots() {
            self.delete(root);
        }
        while let Some(event) = self.queue.pop_front() {
            self.fire(event)?;
        }
        for event in std::mem::take(&mut self.deferred) {
            self.fire(event)?;
        }
        Ok(())
    }

    fn trigger_order(&self, name: Option<&String>, fk: usize, check: bool) -> (String, u32) {
        match name {
            Some(n) => (n.clone(), 0),
            // No catalog names (ORM-only rules): creation rank, action triggers first.
            None => (
                format!("~{}", if check { "c" } else { "a" }),
                self.w.fks[fk].rank,
            ),
        }
    }

    fn enqueue(&mut self, event: Event, deferrable_check: bool) {
        let fk = match &event {
            Event::Delete { fk, .. } | Event::Update { fk, .. } | Event::Check { fk, .. } => *fk,
        };
        let f = &self.w.fks[fk];
        let deferred = f.deferred
            && (deferrable_check
                || matches!(&event, Event::Delete { .. }) && f.on_delete == FkAction::NoAction
                || matches!(&event, Event::Update { .. }) && f.on_update == FkAction::NoAction);
        if deferred {
            self.deferred.push(event);
        } else {
            self.queue.push_back(event);
        }
    }

    fn delete(&mut self, id: RowId) {
        self.w.set_state(id, State::Deleted);
        let mut fks = self.w.referencing(id.0);
        fks.sort_by_key(|&g| self.trigger_order(self.w.fks[g].delete_trigger.as_ref(), g, false));
        for g in fks {
            let old = self.w.project(id, &self.w.fks[g].pcols);
            self.enqueue(Event::Delete { fk: g, old }, false);
        }
    }

    fn update(&mut self, id: RowId, changes: Vec<(usize, Val)>) -> Step {
        self.w.check_rewrite(id, &changes, alive)?;
        let old = self.w.row(id).values.clone();
        // A row version this transaction wrote is checked even where its key is unchanged.
        let ours = self.w.row(id).version > 0;
        self.w.set(id, &changes);
        self.w.move_to_end(id);
        let t = id.0;
        let mut events: Vec<((String, u32), Event, bool)> = Vec::new();
        for g in self.w.referencing(t) {
            let fk = &self.w.fks[g];
            let before: Vec<Val> = fk.pcols.iter().map(|&c| old[c].clone()).collect();
            let after = self.w.project(id, &fk.pcols);
            if before.iter().any(Option::is_none) || before == after {
                continue;
            }
            let order = self.trigger_order(fk.update_trigger.as_ref(), g, false);
            events.push((
                order,
                Event::Update {
                    fk: g,
                    old: before,
                    new: after,
                },
                false,
            ));
        }
        for f in self.w.own(t) {
            let fk = &self.w.fks[f];
            let before: Vec<Val> = fk.cols.iter().map(|&c| old[c].clone()).collect();
            let after = self.w.project(id, &fk.cols);
            if after.iter().any(Option::is_none) || (before == after && !ours) {
                continue;
            }
            let order = self.trigger_order(fk.check_trigger.as_ref(), f, true);
            let version = self.w.row(id).version;
            events.push((
                order,
                Event::Check {
                    fk: f,
                    row: id,
                    version,
                },
                true,
            ));
        }
        events.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, event, check) in events {
            self.enqueue(event, check);
        }
        Ok(())
    }

    /// RESTRICT / NO ACTION on `key`: refused while a row references it (NO ACTION passes
    /// if a row with an equal key exists again).
    fn restrict(&self, fk: usize, key: &[Val], no_action: bool) -> Step {
        if key.iter().any(Option::is_none) {
            return Ok(());
        }
        if no_action && self.w.parent_exists(fk, key, alive) {
            return Ok(());
        }
        if self.w.children(fk, key, alive).is_empty() {
            return Ok(());
        }
        let kind = if no_action {
            RefusalKind::NoAction
        } else {
            RefusalKind::Restrict
        };
        Err(Stop::Refused(self.w.fk_failure(
            fk,
            kind,
            "a referencing row remains when the check runs",
        )))
    }

    fn act(&mut self, fk: usize, action: FkAction, old: &[Val], new: &[Val]) -> Step {
        if old.iter().any(Option::is_none) {
            return Ok(());
        }
        match action {
            FkAction::Cascade if new.is_empty() => {
                for c in self.w.children(fk, old, alive) {
                    if self.w.state(c) == State::Alive {
                        self.delete(c);
                    }
                }
            }
            FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault => {
                for c in self.w.children(fk, old, alive) {
                    if self.w.state(c) == State::Alive {
                        let changes = self.w.rewrite(fk, action, new)?;
                        self.update(c, changes)?;
                    }
                }
                if action == FkAction::SetDefault {
                    self.restrict(fk, old, true)?;
                }
            }
            FkAction::Restrict => self.restrict(fk, old, false)?,
            FkAction::NoAction => self.restrict(fk, old, true)?,
        }
        Ok(())
    }

    fn fire(&mut self, event: Event) -> Step {
        match event {
            Event::Delete { fk, old } => {
                let action = self.w.fks[fk].on_delete;
                self.act(fk, action, &old, &[])
            }
            Event::Update { fk, old, new } => {
                let action = self.w.fks[fk].on_update;
                let new = if action == FkAction::Cascade {
                    new
                } else {
                    Vec::new()
                };
                // An ON UPDATE CASCADE writes the new key (never empty: a key has columns).
                self.act(fk, action, &old, &new)
            }
            Event::Check { fk, row, version } => {
                let r = self.w.row(row);
                if r.state != State::Alive || r.version != version {
                    return Ok(());
                }
                let values = self.w.project(row, &self.w.fks[fk].cols);
                if values.iter().any(Option::is_none) || self.w.parent_exists(fk, &values, alive) {
                    return Ok(());
                }
                Err(Stop::Refused(self.w.fk_failure(
                    fk,
                    RefusalKind::FkMissingParent,
                    "a rewritten row references a key no row holds",
                )))
            }
        }
    }
}
