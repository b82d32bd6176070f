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

use cascade_entity::rules::FkAction;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Policy {
    Owner { table: String, action: FkAction },
    Protect { pattern: String },
    Reach { table: String, allowed: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "bad policy `{spec}`: {reason} (expected owner=TABLE:ACTION, protect=PATTERN or \
     reach=TABLE:PATTERN[,PATTERN...])"
)]
pub struct PolicyError {
    pub spec: String,
    pub reason: String,
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
