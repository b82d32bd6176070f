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

/// How serious a finding is; `Error` findings make `cascade lint` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// Likely a mistake or a cost; the rules still work.
    Warning,
    /// The rules cannot work as declared on some dialect, or break a policy.
    Error,
}

/// A lint rule: stable id, short name, default severity and why it matters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    /// Stable id (`CL001`...), what configurations and suppressions name.
    pub id: &'static str,
    /// Short kebab-case name.
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Why it matters, one sentence.
    pub why: &'static str,
}

/// CL001: an FK declares no ON DELETE rule and gets the engine's default.
pub const IMPLICIT_DELETE_RULE: Rule = Rule {
    id: "CL001",
    name: "implicit-delete-rule",
    severity: Severity::Warning,
    why: "an unstated ON DELETE means NO ACTION on PostgreSQL and SQLite but RESTRICT on \
          MariaDB, and nobody decided which one the data needs",
};
/// CL002: SET NULL on a NOT NULL column.
pub const SET_NULL_NOT_NULL: Rule = Rule {
    id: "CL002",
    name: "set-null-on-not-null",
    severity: Severity::Error,
    why: "deleting the parent must write NULL into a column that cannot hold it, so every \
          such delete fails (or, on SQLite, NULL lands in a primary key)",
};
/// CL003: SET DEFAULT on a column without a default.
pub const SET_DEFAULT_NO_DEFAULT: Rule = Rule {
    id: "CL003",
    name: "set-default-without-default",
    severity: Severity::Error,
    why: "with no default the column is set to NULL (or the delete fails on NOT NULL); the \
          rule says something it does not do",
};
/// CL004: SET DEFAULT on a dialect that does not support it (InnoDB).
pub const SET_DEFAULT_UNSUPPORTED: Rule = Rule {
    id: "CL004",
    name: "set-default-unsupported",
    severity: Severity::Error,
    why: "MariaDB/InnoDB accepts ON DELETE SET DEFAULT and silently stores RESTRICT, so the \
          delete is refused instead",
};
/// CL005: a cycle of NOT NULL references.
pub const NOT_NULL_CYCLE: Rule = Rule {
    id: "CL005",
    name: "not-null-fk-cycle",
    severity: Severity::Error,
    why: "every table on the cycle needs an existing row of the next one, so no first row can \
          ever be inserted without deferrable constraints",
};
/// CL006: a one-to-one side table.
pub const ONE_TO_ONE_SIDE_TABLE: Rule = Rule {
    id: "CL006",
    name: "one-to-one-side-table",
    severity: Severity::Warning,
    why: "a 1:1 side table joined by a back-pointer is where orphans accumulate when the \
          pointer is not enforced; its columns belong on the parent row",
};
/// CL007: a cascade deeper than an engine's limit.
pub const CASCADE_DEPTH: Rule = Rule {
    id: "CL007",
    name: "cascade-depth-limit",
    severity: Severity::Error,
    why: "InnoDB refuses a delete whose cascade reaches 15 levels (SQLite stops past 1000)",
};
/// CL008: a table reached by several cascade paths.
pub const MULTIPLE_CASCADE_PATHS: Rule = Rule {
    id: "CL008",
    name: "multiple-cascade-paths",
    severity: Severity::Info,
    why: "fine on PostgreSQL, SQLite and MariaDB, whose outcome we reproduce; SQL Server \
          refuses to create such constraints",
};
/// CL009: an FK no index covers.
pub const UNINDEXED_FK: Rule = Rule {
    id: "CL009",
    name: "unindexed-foreign-key",
    severity: Severity::Warning,
    why: "every delete of a parent scans the child table to find referencing rows",
};
/// CL010: a rule only the ORM enforces (no database constraint).
pub const ORM_ONLY_RULE: Rule = Rule {
    id: "CL010",
    name: "orm-only-rule",
    severity: Severity::Warning,
    why: "the rule exists only in our executor; a raw SQL DELETE of the parent neither \
          cascades nor refuses, and leaves orphans",
};
/// CL011: a cascade reaches a table a `protect=` policy names.
pub const PROTECTED_TABLE_REACHED: Rule = Rule {
    id: "CL011",
    name: "cascade-into-protected-table",
    severity: Severity::Error,
    why: "a policy says this table must never lose rows through a cascade",
};
/// CL012: an `owner=` policy the rules do not follow.
pub const OWNER_POLICY: Rule = Rule {
    id: "CL012",
    name: "owner-policy",
    severity: Severity::Error,
    why: "a policy fixes the delete rule of every FK to this table",
};

/// CL013: an FK whose parent columns are not a key of the parent.
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

/// One finding of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
    /// The rule's name.
    pub name: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// The table concerned.
    pub table: String,
    /// The FK concerned, as `child(cols) -> parent(cols)`, when there is one.
    pub foreign_key: Option<String>,
    /// What was found, in one sentence.
    pub message: String,
    /// Why it matters (the rule's).
    pub why: &'static str,
    /// What to change.
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
    /// `--policy` specs to check the rules against.
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
