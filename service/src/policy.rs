//! Policies: rules about rules, for databases that have no entity declarations and as CI checks
//! on our own. Written on the command line as `--policy SPEC`:
//!
//! - `owner=TABLE:ACTION`: every FK that references TABLE must have that ON DELETE action
//!   (`owner=users:cascade`: deleting a user deletes everything of theirs).
//! - `protect=PATTERN`: no delete may cascade into a table matching PATTERN (`protect=audit_*`).
//! - `reach=TABLE:PATTERN[,PATTERN...]`: deleting TABLE may only cascade into matching tables.
//!
//! A PATTERN is a table name in which `*` stands for any run of characters (`audit_*`,
//! `*_label`).

use std::str::FromStr;

use cascade_entity::RuleGraph;
use cascade_entity::rules::FkAction;
use serde::Serialize;
use thiserror::Error;

/// One `--policy SPEC`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Policy {
    /// `owner=TABLE:ACTION`: every FK referencing `table` must have `action` on delete.
    Owner {
        /// The owner table.
        table: String,
        /// The ON DELETE action every FK referencing it must have.
        action: FkAction,
    },
    /// `protect=PATTERN`: no delete may cascade into a table matching `pattern`.
    Protect {
        /// A table name or glob pattern.
        pattern: String,
    },
    /// `reach=TABLE:PATTERN[,...]`: deleting `table` may only cascade into matching tables.
    Reach {
        /// The table whose deletes are limited.
        table: String,
        /// Table names or glob patterns a delete of `table` may cascade into.
        allowed: Vec<String>,
    },
}

/// A policy spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "bad policy `{spec}`: {reason} (expected owner=TABLE:ACTION, protect=PATTERN or \
     reach=TABLE:PATTERN[,PATTERN...])"
)]
pub struct PolicyError {
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A policy that names a table the rules do not have.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("policy `{policy}`: no table `{table}` in the rules")]
pub struct UnknownPolicyTable {
    /// The policy, spelled as on the command line.
    pub policy: String,
    /// The table it names.
    pub table: String,
}

impl Policy {
    /// The table the policy names outright (`owner=` and `reach=`; `protect=` takes a pattern).
    pub fn table(&self) -> Option<&str> {
        match self {
            Policy::Owner { table, .. } | Policy::Reach { table, .. } => Some(table),
            Policy::Protect { .. } => None,
        }
    }
}

/// Refuses the first policy that names a table `graph` does not have; every command that takes
/// `--policy` checks this before it does anything else.
pub fn check_tables(policies: &[Policy], graph: &RuleGraph) -> Result<(), UnknownPolicyTable> {
    for policy in policies {
        if let Some(table) = policy.table()
            && graph.table(table).is_none()
        {
            return Err(UnknownPolicyTable {
                policy: policy.to_string(),
                table: table.to_owned(),
            });
        }
    }
    Ok(())
}

/// The spec as written on the command line (`owner=users:cascade`).
impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Policy::Owner { table, action } => {
                let action = action.sql().to_ascii_lowercase().replace(' ', "_");
                write!(f, "owner={table}:{action}")
            }
            Policy::Protect { pattern } => write!(f, "protect={pattern}"),
            Policy::Reach { table, allowed } => write!(f, "reach={table}:{}", allowed.join(",")),
        }
    }
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(spec: &str) -> Result<Policy, PolicyError> {
        let error = |reason: &str| PolicyError {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (kind, body) = spec.split_once('=').ok_or_else(|| error("missing `=`"))?;
        let non_empty = |text: &str, what: &str| {
            let text = text.trim();
            if text.is_empty() {
                Err(error(&format!("empty {what}")))
            } else {
                Ok(text.to_owned())
            }
        };
        match kind.trim() {
            "owner" => {
                let (table, action) = body
                    .split_once(':')
                    .ok_or_else(|| error("missing `:ACTION`"))?;
                let action = FkAction::parse(action).ok_or_else(|| {
                    error("unknown action (cascade, set_null, set_default, restrict, no_action)")
                })?;
                Ok(Policy::Owner {
                    table: non_empty(table, "table")?,
                    action,
                })
            }
            "protect" => Ok(Policy::Protect {
                pattern: non_empty(body, "pattern")?,
            }),
            "reach" => {
                let (table, allowed) = body
                    .split_once(':')
                    .ok_or_else(|| error("missing `:PATTERN`"))?;
                Ok(Policy::Reach {
                    table: non_empty(table, "table")?,
                    allowed: allowed
                        .split(',')
                        .map(|p| non_empty(p, "pattern"))
                        .collect::<Result<_, _>>()?,
                })
            }
            other => Err(error(&format!("unknown policy kind `{other}`"))),
        }
    }
}

/// `name` matches `pattern`, where `*` in the pattern stands for any run of characters.
pub fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn policies_print_as_written() -> Result<(), super::PolicyError> {
        for spec in [
            "owner=users:cascade",
            "owner=a:set_null",
            "protect=audit_*",
            "reach=w:s*,l",
        ] {
            let policy: super::Policy = spec.parse()?;
            assert_eq!(policy.to_string(), spec);
        }
        Ok(())
    }

    #[test]
    fn glob_patterns() {
        assert!(matches("user", "user"));
        assert!(!matches("user", "users"));
        assert!(matches("audit_*", "audit_log"));
        assert!(matches("*_label", "run_label"));
        assert!(!matches("*_label", "label"));
        assert!(matches("a*b*c", "aXbYc"));
        assert!(!matches("a*b*c", "aXcYb"));
        assert!(matches("*", "anything"));
    }
}
