//! Declaration lint: findings about a RuleGraph (declared or live), each under a stable rule id
//! with a severity, the table and FK it concerns, why it matters and how to fix it.
//!
//! Per-FK rules live in [`fk_rules`], rules over the shape of the graph (cycles, cascade depth
//! and paths) and policies in [`graph_rules`]. Ids are part of the CLI contract: never renumber.

mod fk_rules;
mod graph_rules;

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use serde::Serialize;

use crate::policy::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// A lint rule: stable id, short name, default severity and why it matters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub why: &'static str,
}

pub const IMPLICIT_DELETE_RULE: Rule = Rule {
    id: "CL001",
    name: "implicit-delete-rule",
    severity: Severity::Warning,
    why: "an unstated ON DELETE means NO ACTION on PostgreSQL and SQLite but RESTRICT on \
          MariaDB, and nobody decided which one the data needs",
};
pub const SET_NULL_NOT_NULL: Rule = Rule {
    id: "CL002",
    name: "set-null-on-not-null",
    severity: Severity::Error,
    why: "deleting the parent must write NULL into a column that cannot hold it, so every \
          such delete fails (or, on SQLite, NULL lands in a primary key)",
};
pub const SET_DEFAULT_NO_DEFAULT: Rule = Rule {
    id: "CL003",
    name: "set-default-without-default",
    severity: Severity::Error,
    why: "with no default the column is set to NULL (or the delete fails on NOT NULL); the \
          rule says something it does not do",
};
pub const SET_DEFAULT_UNSUPPORTED: Rule = Rule {
    id: "CL004",
    name: "set-default-unsupported",
    severity: Severity::Error,
    why: "MariaDB/InnoDB accepts ON DELETE SET DEFAULT and silently stores RESTRICT, so the \
          delete is refused instead",
};
pub const NOT_NULL_CYCLE: Rule = Rule {
    id: "CL005",
    name: "not-null-fk-cycle",
    severity: Severity::Error,
    why: "every table on the cycle needs an existing row of the next one, so no first row can \
          ever be inserted without deferrable constraints",
};
pub const ONE_TO_ONE_SIDE_TABLE: Rule = Rule {
    id: "CL006",
    name: "one-to-one-side-table",
    severity: Severity::Warning,
    why: "a 1:1 side table joined by a back-pointer is where orphans accumulate when the \
          pointer is not enforced; its columns belong on the parent row",
};
pub const CASCADE_DEPTH: Rule = Rule {
    id: "CL007",
    name: "cascade-depth-limit",
    severity: Severity::Error,
    why: "InnoDB refuses a delete whose cascade reaches 15 levels (SQLite stops past 1000)",
};
pub const MULTIPLE_CASCADE_PATHS: Rule = Rule {
    id: "CL008",
    name: "multiple-cascade-paths",
    severity: Severity::Info,
    why: "fine on PostgreSQL, SQLite and MariaDB, whose outcome we reproduce; SQL Server \
          refuses to create such constraints",
};
pub const UNINDEXED_FK: Rule = Rule {
    id: "CL009",
    name: "unindexed-foreign-key",
    severity: Severity::Warning,
    why: "every delete of a parent scans the child table to find referencing rows",
};
pub const ORM_ONLY_RULE: Rule = Rule {
    id: "CL010",
    name: "orm-only-rule",
    severity: Severity::Warning,
    why: "the rule exists only in our executor; a raw SQL DELETE of the parent neither \
          cascades nor refuses, and leaves orphans",
};
pub const PROTECTED_TABLE_REACHED: Rule = Rule {
    id: "CL011",
    name: "cascade-into-protected-table",
    severity: Severity::Error,
    why: "a policy says this table must never lose rows through a cascade",
};
pub const OWNER_POLICY: Rule = Rule {
    id: "CL012",
    name: "owner-policy",
    severity: Severity::Error,
    why: "a policy fixes the delete rule of every FK to this table",
};

pub const FK_TARGET_NOT_KEY: Rule = Rule {
    id: "CL013",
    name: "fk-target-not-key",
    severity: Severity::Error,
    why: "the referenced columns are neither the primary key nor a unique key of the parent: \
          SQLite refuses every delete from the parent (`foreign key mismatch`, the delete \
          engine's fk_mismatch), PostgreSQL refuses to create the FK, and InnoDB matches one \
          child row to several parents",
};

/// Every rule, in id order (for `--help`-style listings and docs).
pub const RULES: &[Rule] = &[
    IMPLICIT_DELETE_RULE,
    SET_NULL_NOT_NULL,
    SET_DEFAULT_NO_DEFAULT,
    SET_DEFAULT_UNSUPPORTED,
    NOT_NULL_CYCLE,
    ONE_TO_ONE_SIDE_TABLE,
    CASCADE_DEPTH,
    MULTIPLE_CASCADE_PATHS,
    UNINDEXED_FK,
    ORM_ONLY_RULE,
    PROTECTED_TABLE_REACHED,
    OWNER_POLICY,
    FK_TARGET_NOT_KEY,
];

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub table: String,
    /// The FK concerned, as `child(cols) -> parent(cols)`, when there is one.
    pub foreign_key: Option<String>,
    pub message: String,
    pub why: &'static str,
    pub fix: String,
}

impl Finding {
    pub(crate) fn new(
        rule: &Rule,
        table: &str,
        foreign_key: Option<String>,
        message: String,
        fix: String,
    ) -> Finding {
        Finding {
            rule: rule.id,
            name: rule.name,
            severity: rule.severity,
            table: table.to_owned(),
            foreign_key,
            message,
            why: rule.why,
            fix,
        }
    }
}

/// What to lint for.
#[derive(Debug, Clone)]
pub struct LintConfig {
    /// Dialects the rules must work on (all three for declarations, the live one for a
    /// database).
    pub dialects: Vec<Dialect>,
    pub policies: Vec<Policy>,
}

/// All findings for `graph`, most severe first, then by table.
pub fn lint(graph: &RuleGraph, config: &LintConfig) -> Vec<Finding> {
    let mut config = config.clone();
    config.dialects.sort_by_key(|d| d.to_string());
    config.dialects.dedup();
    let config = &config;
    let mut findings = fk_rules::check(graph, config);
    findings.extend(graph_rules::check(graph, config));
    findings.sort_by(|a, b| {
        (b.severity, &a.table, a.rule, &a.foreign_key).cmp(&(
            a.severity,
            &b.table,
            b.rule,
            &b.foreign_key,
        ))
    });
    findings
}
