//! The domain's benchmark workloads for `cascade bench`, built with the library's public
//! fixture API.
//!
//! W1: one project whose subtree holds about N rows (documents, datasets, models with labels;
//! workflows with schedules and many runs, runs referencing schedules; sessions and deployments
//! pointing in), plus about 10% more rows in other projects that must survive. W2: one user
//! owning about N rows across every table (deleting them is a SET NULL fan-out), plus about 10%
//! rows owned by others.

use cascade_entity::RuleGraph;
use cascade_service::bench::{Prepared, Workload};
use cascade_service::fixtures::{FixtureError, RowRef};

use crate::fixtures::Rows;

/// W1: delete one project whose subtree holds about N rows.
#[derive(Debug, Clone, Copy)]
pub struct W1;

/// W2: delete one user owning about N rows (a SET NULL fan-out).
#[derive(Debug, Clone, Copy)]
pub struct W2;

impl Workload for W1 {
    fn name(&self) -> &str {
        "w1"
    }

    fn describe(&self) -> &str {
        "delete one project whose subtree holds about N rows"
    }

    fn build(&self, _graph: &RuleGraph, scale: usize, seed: u64) -> Result<Prepared, FixtureError> {
        Ok(build(Which::W1, scale, seed))
    }
}

impl Workload for W2 {
    fn name(&self) -> &str {
        "w2"
    }

    fn describe(&self) -> &str {
        "delete one user owning about N rows across every table"
    }

    fn build(&self, _graph: &RuleGraph, scale: usize, seed: u64) -> Result<Prepared, FixtureError> {
        Ok(build(Which::W2, scale, seed))
    }
}

#[derive(Clone, Copy)]
enum Which {
    W1,
    W2,
}

const USERS: usize = 10;

fn build(workload: Which, scale: usize, seed: u64) -> Prepared {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut rows = Rows::default();
    let users: Vec<RowRef> = (0..USERS).map(|_| rows.add("user", vec![])).collect();
    for user in &users {
        rows.add("user_label", vec![("parent_id", Some(user.clone()))]);
    }
    match workload {
        Which::W1 => {
            let owner = |rng: &mut fastrand::Rng| Some(users[rng.usize(..USERS)].clone());
            let target = rows.add("project", vec![("owner_id", owner(&mut rng))]);
            let (workflows, models) = subtree(&mut rows, &mut rng, &target, scale, &owner);
            let others = (scale / 10).max(5);
            for _ in 0..5 {
                let project = rows.add("project", vec![("owner_id", owner(&mut rng))]);
                subtree(&mut rows, &mut rng, &project, others / 5, &owner);
                // Rows elsewhere that point into the target's subtree (SET NULL when it goes).
                for _ in 0..(others / 50).max(1) {
                    let mut links = vec![
                        ("project_id", Some(project.clone())),
                        ("owner_id", owner(&mut rng)),
                    ];
                    links.push((
                        "workflow_id",
                        Some(workflows[rng.usize(..workflows.len())].clone()),
                    ));
                    links.push(("model_id", Some(models[rng.usize(..models.len())].clone())));
                    rows.add("deployment", links);
                    let session = vec![
                        (
                            "workflow_id",
                            Some(workflows[rng.usize(..workflows.len())].clone()),
                        ),
                        ("owner_id", owner(&mut rng)),
                    ];
                    rows.add("session", session);
                }
            }
            Prepared {
                fixtures: rows.0,
                root: target,
            }
        }
        Which::W2 => {
            let target = users[0].clone();
            let mine = |_: &mut fastrand::Rng| Some(target.clone());
            let projects = (scale / 20_000).max(1);
            for _ in 0..projects {
                let project = rows.add("project", vec![("owner_id", mine(&mut rng))]);
                subtree(&mut rows, &mut rng, &project, scale / projects, &mine);
            }
            let others = |rng: &mut fastrand::Rng| Some(users[1 + rng.usize(..USERS - 1)].clone());
            let project = rows.add("project", vec![("owner_id", others(&mut rng))]);
            subtree(&mut rows, &mut rng, &project, (scale / 10).max(5), &others);
            Prepared {
                fixtures: rows.0,
                root: target,
            }
        }
    }
}

/// About `size` rows under `project`; returns its workflows and models.
fn subtree(
    rows: &mut Rows,
    rng: &mut fastrand::Rng,
    project: &RowRef,
    size: usize,
    owner: &dyn Fn(&mut fastrand::Rng) -> Option<RowRef>,
) -> (Vec<RowRef>, Vec<RowRef>) {
    let part = |percent: usize| (size * percent / 100).max(1);
    let in_project = |rng: &mut fastrand::Rng| {
        vec![
            ("project_id", Some(project.clone())),
            ("owner_id", owner(rng)),
        ]
    };
    let labelled =
        |rows: &mut Rows, rng: &mut fastrand::Rng, table: &str, count: usize, labels: usize| {
            let uids: Vec<RowRef> = (0..count)
                .map(|_| rows.add(table, in_project(rng)))
                .collect();
            let label_table = format!("{table}_label");
            for _ in 0..labels {
                rows.add(
                    &label_table,
                    vec![("parent_id", Some(uids[rng.usize(..uids.len())].clone()))],
                );
            }
            uids
        };
    labelled(rows, rng, "document", part(25), part(5));
    labelled(rows, rng, "dataset", part(5), part(2));
    let models = labelled(rows, rng, "model", part(3), part(2));
    labelled(rows, rng, "data_source", part(2), 0);
    labelled(rows, rng, "prompt", part(3), 0);
    let workflows = labelled(rows, rng, "workflow", (size / 1000).max(1), 0);
    let schedules: Vec<(usize, RowRef)> = (0..workflows.len() * 2)
        .map(|i| {
            let w = i / 2;
            let links = vec![
                ("workflow_id", Some(workflows[w].clone())),
                ("owner_id", owner(rng)),
            ];
            (w, rows.add("schedule", links))
        })
        .collect();
    for _ in 0..part(40) {
        let w = rng.usize(..workflows.len());
        let schedule = rng
            .bool()
            .then(|| schedules[w * 2 + rng.usize(..2)].1.clone());
        let links = vec![
            ("workflow_id", Some(workflows[w].clone())),
            ("schedule_id", schedule),
            ("owner_id", owner(rng)),
        ];
        rows.add("run", links);
    }
    for _ in 0..part(8) {
        let links = vec![
            (
                "workflow_id",
                Some(workflows[rng.usize(..workflows.len())].clone()),
            ),
            ("owner_id", owner(rng)),
        ];
        rows.add("session", links);
    }
    for _ in 0..part(5) {
        let mut links = in_project(rng);
        links.push((
            "workflow_id",
            rng.bool()
                .then(|| workflows[rng.usize(..workflows.len())].clone()),
        ));
        links.push((
            "model_id",
            rng.bool()
                .then(|| models[rng.usize(..models.len())].clone()),
        ));
        rows.add("deployment", links);
    }
    (workflows, models)
}
