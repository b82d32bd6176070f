//! The domain's fixture shape for `cascade seed --scale N --seed S` and the demo: projects with
//! their documents, datasets, models, workflows with schedules, runs and sessions, deployments
//! pointing in, labels on about one row in four, and one row in ten that has lost its owner.
//! Built with the library's public fixture API; the library fills every other column.

use cascade_entity::RuleGraph;
use cascade_service::fixtures::{FixtureError, Fixtures, RowRef};

/// Rows in one project's subtree, labels included; sizes the project count.
const ROWS_PER_PROJECT: usize = 50;

/// A [`Fixtures`] builder that takes links as owned pairs, which reads better in shapes.
#[derive(Debug, Default)]
pub struct Rows(pub Fixtures);

impl Rows {
    /// Adds a row to `table` linked to the given parent rows (`None`: NULL).
    pub fn add(&mut self, table: &str, links: Vec<(&str, Option<RowRef>)>) -> RowRef {
        let links: Vec<(&str, Option<&RowRef>)> =
            links.iter().map(|(c, r)| (*c, r.as_ref())).collect();
        self.0.add(table, &links)
    }
}

/// About `scale` rows of the domain, deterministic for `seed`.
pub fn shape(graph: &RuleGraph, scale: usize, seed: u64) -> Result<Fixtures, FixtureError> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut rows = Rows::default();
    let projects = scale.div_ceil(ROWS_PER_PROJECT).max(1);
    let users: Vec<RowRef> = (0..(projects / 4).max(1) + 1)
        .map(|_| rows.add("user", vec![]))
        .collect();
    let owner = |rng: &mut fastrand::Rng| -> Option<RowRef> {
        (rng.u8(..10) != 0).then(|| users[rng.usize(..users.len())].clone())
    };
    for _ in 0..projects {
        let project = rows.add("project", vec![("owner_id", owner(&mut rng))]);
        let in_project = |rng: &mut fastrand::Rng| {
            vec![
                ("project_id", Some(project.clone())),
                ("owner_id", owner(rng)),
            ]
        };
        for (table, count) in [
            ("data_source", 2),
            ("dataset", 3),
            ("prompt", 3),
            ("document", 8),
        ] {
            for _ in 0..count {
                rows.add(table, in_project(&mut rng));
            }
        }
        let models: Vec<RowRef> = (0..2)
            .map(|_| rows.add("model", in_project(&mut rng)))
            .collect();
        let mut workflows = Vec::new();
        for _ in 0..2 {
            let workflow = rows.add("workflow", in_project(&mut rng));
            let under_workflow = |rng: &mut fastrand::Rng| {
                vec![
                    ("workflow_id", Some(workflow.clone())),
                    ("owner_id", owner(rng)),
                ]
            };
            let schedule = rows.add("schedule", under_workflow(&mut rng));
            for _ in 0..4 {
                let mut links = under_workflow(&mut rng);
                links.push(("schedule_id", rng.bool().then(|| schedule.clone())));
                rows.add("run", links);
            }
            for _ in 0..2 {
                rows.add("session", under_workflow(&mut rng));
            }
            workflows.push(workflow);
        }
        for _ in 0..2 {
            let mut links = in_project(&mut rng);
            links.push((
                "workflow_id",
                rng.bool().then(|| workflows[rng.usize(..2)].clone()),
            ));
            links.push((
                "model_id",
                rng.bool().then(|| models[rng.usize(..2)].clone()),
            ));
            rows.add("deployment", links);
        }
    }
    // Labels on about one row in four of every table that has a label table.
    let labelled: Vec<(String, Vec<RowRef>)> = graph
        .tables
        .keys()
        .filter(|t| graph.table(&format!("{t}_label")).is_some())
        .map(|t| (format!("{t}_label"), rows.0.refs(t)))
        .collect();
    for (label_table, parents) in labelled {
        for parent in parents.into_iter().filter(|_| rng.u8(..4) == 0) {
            rows.add(&label_table, vec![("parent_id", Some(parent))]);
        }
    }
    Ok(rows.0)
}
