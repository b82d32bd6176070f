//! Lint rules that look at one foreign key (or one table) at a time, and the schema defects
//! ([`RuleGraph::defects`], the definition audit shares) as findings.

use cascade_entity::RuleGraph;
use cascade_entity::rules::{
    Defect, Dialect, Enforcement, FkAction, ForeignKey, Table, fk_index_name,
};

use super::{
    FK_TARGET_NOT_KEY, Finding, IMPLICIT_DELETE_RULE, LintConfig, ONE_TO_ONE_SIDE_TABLE,
    ORM_ONLY_RULE, SET_DEFAULT_NO_DEFAULT, SET_DEFAULT_UNSUPPORTED, SET_NULL_NOT_NULL,
    UNINDEXED_FK,
};

pub(super) fn check(graph: &RuleGraph, config: &LintConfig) -> Vec<Finding> {
    let mut findings: Vec<Finding> = graph.defects().iter().map(defect_finding).collect();
    for table in graph.tables.values() {
        for fk in &table.foreign_keys {
            check_fk(table, fk, config, &mut findings);
        }
        if let Some(finding) = one_to_one_side_table(graph, table) {
            findings.push(finding);
        }
    }
    findings
}

fn check_fk(table: &Table, fk: &ForeignKey, config: &LintConfig, findings: &mut Vec<Finding>) {
    let label = || Some(fk.describe(&table.name));
    if !fk.on_delete_explicit {
        findings.push(Finding::new(
            &IMPLICIT_DELETE_RULE,
            &table.name,
            label(),
            format!(
                "{} does not state its delete rule",
                fk.describe(&table.name)
            ),
            "add `on_delete = \"...\"` to the `belongs_to` attribute".into(),
        ));
    }
    let nulled = fk.set_null_columns.as_ref().unwrap_or(&fk.columns);
    if fk.on_delete == FkAction::SetNull {
        for column in nulled {
            let not_null = table.column(column).is_some_and(|c| !c.nullable);
            let in_key = table.primary_key.contains(column);
            if not_null || in_key {
                findings.push(Finding::new(
                    &SET_NULL_NOT_NULL,
                    &table.name,
                    label(),
                    format!(
                        "ON DELETE SET NULL on {} column `{}.{column}`",
                        if in_key { "primary-key" } else { "NOT NULL" },
                        table.name
                    ),
                    "make the column nullable (and not part of the primary key), or use CASCADE"
                        .into(),
                ));
            }
        }
    }
    if fk.on_delete == FkAction::SetDefault {
        for column in fk.columns.iter().filter(|c| {
            table
                .column(c)
                .is_some_and(|column| column.default.is_none())
        }) {
            findings.push(Finding::new(
                &SET_DEFAULT_NO_DEFAULT,
                &table.name,
                label(),
                format!(
                    "ON DELETE SET DEFAULT but `{}.{column}` has no default",
                    table.name
                ),
                "declare a default that references an existing parent, or use SET NULL".into(),
            ));
        }
        if config.dialects.contains(&Dialect::MySql) {
            findings.push(Finding::new(
                &SET_DEFAULT_UNSUPPORTED,
                &table.name,
                label(),
                format!(
                    "{} uses SET DEFAULT, which MariaDB stores as RESTRICT",
                    fk.describe(&table.name)
                ),
                "use SET NULL or CASCADE, or do not target MariaDB".into(),
            ));
        }
    }
    if fk.enforcement == Enforcement::OrmOnly {
        findings.push(Finding::new(
            &ORM_ONLY_RULE,
            &table.name,
            label(),
            format!(
                "ON DELETE {} on {} is applied by the ORM only (skip_fk)",
                fk.on_delete,
                fk.describe(&table.name)
            ),
            "drop `skip_fk` so the database enforces the rule too, or make sure every delete \
             of the parent goes through the ORM"
                .into(),
        ));
    }
}

/// A schema defect (the one definition audit reports too) as its lint finding.
fn defect_finding(defect: &Defect) -> Finding {
    let fk = Some(defect.foreign_key().to_owned());
    match defect {
        Defect::UnindexedForeignKey { table, columns, .. } => Finding::new(
            &UNINDEXED_FK,
            table,
            fk,
            format!("no index starts with `{table}`({})", columns.join(", ")),
            format!(
                "CREATE INDEX {} ON {table} ({})",
                fk_index_name(table, columns),
                columns.join(", ")
            ),
        ),
        Defect::ForeignKeyTargetNotKey {
            table,
            foreign_key,
            parent,
            parent_columns,
        } => Finding::new(
            &FK_TARGET_NOT_KEY,
            table,
            fk,
            format!(
                "{foreign_key} references `{parent}`({}), which is not a key of `{parent}`",
                parent_columns.join(", ")
            ),
            format!(
                "add a unique key on `{parent}`({}), or reference its primary key",
                parent_columns.join(", ")
            ),
        ),
    }
}

/// A table whose only FK is also a key of it (so at most one row per parent row), that no
/// other table references: a side table holding attributes of its parent.
fn one_to_one_side_table(graph: &RuleGraph, table: &Table) -> Option<Finding> {
    let [fk] = table.foreign_keys.as_slice() else {
        return None;
    };
    let unique = table.is_key(&fk.columns);
    let referenced = graph.referencing(&table.name).next().is_some();
    (unique && !referenced && fk.parent_table != table.name).then(|| {
        Finding::new(
            &ONE_TO_ONE_SIDE_TABLE,
            &table.name,
            Some(fk.describe(&table.name)),
            format!(
                "`{}` holds at most one row per `{}` row and nothing references it",
                table.name, fk.parent_table
            ),
            format!(
                "move its columns onto `{}` and drop the side table",
                fk.parent_table
            ),
        )
    })
}
