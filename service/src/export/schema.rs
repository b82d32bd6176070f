//! The export's schema: the rules' own tables, keys, unique keys, indexes and FKs with their
//! actions, written by `cascade_migration::ddl::create_schema` for SQLite, with what SQLite
//! cannot declare mapped on the way:
//!
//! - column kinds become what the values are read as ([`Read::target_kind`]): a PostgreSQL
//!   array or vector becomes JSON, network and other catalog types text, `YEAR` an integer;
//!   kinds SQLite spells itself (and everything from a SQLite source) stay as they are;
//! - a default expression of another engine becomes SQLite's spelling where one exists
//!   (`now()` is `CURRENT_TIMESTAMP`, `'x'::text` is `'x'`), and is left off and reported
//!   where none does (`gen_random_uuid()`);
//! - auto-increment stays only on a single-column integer key (SQLite's `INTEGER PRIMARY KEY
//!   AUTOINCREMENT`);
//! - index names are made unique across the file (MariaDB scopes them per table);
//! - every DB-enforced FK gets an index on its columns if nothing covers them (the rules'
//!   derived FK index).

use std::collections::{BTreeMap, BTreeSet};

use cascade_entity::RuleGraph;
use cascade_entity::rules::{
    ColumnDefault, ColumnKind, Dialect, Enforcement, Index, fk_index_name,
};

use super::values::Read;

/// The export's rule graph and how each column is read from the source.
#[derive(Debug, Clone)]
pub(crate) struct TargetSchema {
    pub graph: RuleGraph,
    /// Per table, one read per column (in column order).
    pub reads: BTreeMap<String, Vec<Read>>,
    /// `table.column: expression` for defaults SQLite cannot express.
    pub defaults_dropped: Vec<String>,
}

/// The SQLite schema for an export of a `source` database under `rules`.
pub(crate) fn target_schema(rules: &RuleGraph, source: Dialect) -> TargetSchema {
    let mut graph = rules.clone();
    let mut reads = BTreeMap::new();
    let mut defaults_dropped = Vec::new();
    for table in graph.tables.values_mut() {
        let single_key = (table.primary_key.len() == 1).then(|| table.primary_key[0].clone());
        let mut table_reads = Vec::with_capacity(table.columns.len());
        for column in &mut table.columns {
            let read = Read::of(source, &column.kind);
            column.kind = read.target_kind(&column.kind);
            table_reads.push(read);
            if let Some(default) = &column.default {
                let mapped = sqlite_default(default, source);
                if mapped.is_none()
                    && let ColumnDefault::Sql(sql) = default
                {
                    defaults_dropped.push(format!("{}.{}: {sql}", table.name, column.name));
                }
                column.default = mapped;
            }
            if column.auto_increment {
                let is_key = single_key.as_deref() == Some(column.name.as_str());
                column.auto_increment = is_key && column.kind.is_integer();
                if column.auto_increment {
                    // Only `INTEGER PRIMARY KEY` may autoincrement (sea-query spells the
                    // narrower kinds `tinyint` / `smallint`).
                    column.kind = ColumnKind::Integer;
                }
            }
        }
        reads.insert(table.name.clone(), table_reads);
        let uncovered: Vec<Vec<String>> = table
            .foreign_keys
            .iter()
            .filter(|fk| fk.enforcement == Enforcement::Database)
            .map(|fk| fk.columns.clone())
            .filter(|columns| !table.has_index_covering(columns))
            .collect();
        for columns in uncovered {
            if !table.has_index_covering(&columns) {
                table.indexes.push(Index {
                    name: Some(fk_index_name(&table.name, &columns)),
                    columns,
                    unique: false,
                });
            }
        }
    }
    unique_index_names(&mut graph);
    TargetSchema {
        graph,
        reads,
        defaults_dropped,
    }
}

/// Renames indexes whose name another index or a table of the file also has to
/// `<table>_<name>` (SQLite's index names share one namespace with tables).
fn unique_index_names(graph: &mut RuleGraph) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for name in graph.tables.keys() {
        *seen.entry(name.to_ascii_lowercase()).or_default() += 1;
    }
    for index in graph.tables.values().flat_map(|t| &t.indexes) {
        if let Some(name) = &index.name {
            *seen.entry(name.to_ascii_lowercase()).or_default() += 1;
        }
    }
    let mut taken: BTreeSet<String> = seen.keys().cloned().collect();
    for table in graph.tables.values_mut() {
        for index in &mut table.indexes {
            let Some(name) = &index.name else {
                continue;
            };
            if seen.get(&name.to_ascii_lowercase()).copied().unwrap_or(0) <= 1 {
                continue;
            }
            let mut renamed = format!("{}_{name}", table.name);
            let mut n = 1;
            while taken.contains(&renamed.to_ascii_lowercase()) {
                n += 1;
                renamed = format!("{}_{name}_{n}", table.name);
            }
            taken.insert(renamed.to_ascii_lowercase());
            index.name = Some(renamed);
        }
    }
}

/// A default as SQLite spells it; `None` when SQLite has no spelling for it.
fn sqlite_default(default: &ColumnDefault, source: Dialect) -> Option<ColumnDefault> {
    match default {
        ColumnDefault::Sql(sql) if source != Dialect::Sqlite => {
            portable_default(sql).map(ColumnDefault::Sql)
        }
        other => Some(other.clone()),
    }
}

/// A PostgreSQL or MariaDB default expression in SQLite's spelling: literals (casts and
/// wrapping parentheses removed), booleans, and the current date/time functions.
fn portable_default(sql: &str) -> Option<String> {
    let mut text = sql.trim();
    while text.starts_with('(') && text.ends_with(')') && text.len() >= 2 {
        text = text[1..text.len() - 1].trim();
    }
    let text = strip_cast(text).trim();
    let lower = text.to_ascii_lowercase();
    let now = [
        "now()",
        "current_timestamp",
        "localtimestamp",
        "transaction_timestamp()",
    ];
    if now.contains(&lower.as_str())
        || lower.starts_with("current_timestamp(")
        || lower.starts_with("localtimestamp(")
    {
        return Some("CURRENT_TIMESTAMP".to_owned());
    }
    if ["current_date", "current_date()", "curdate()"].contains(&lower.as_str()) {
        return Some("CURRENT_DATE".to_owned());
    }
    if ["current_time", "curtime()"].contains(&lower.as_str()) || lower.starts_with("current_time(")
    {
        return Some("CURRENT_TIME".to_owned());
    }
    if ["true", "false"].contains(&lower.as_str()) {
        return Some(lower.to_ascii_uppercase());
    }
    if text.parse::<f64>().is_ok() && !lower.contains("inf") && !lower.contains("nan") {
        return Some(text.to_owned());
    }
    quoted_literal(text).then(|| text.to_owned())
}

/// `'...'` with every inner quote doubled: one SQL string literal.
fn quoted_literal(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) else {
        return false;
    };
    !inner.replace("''", "").contains('\'')
}

/// Removes a trailing PostgreSQL cast (`'a'::character varying`, `'{}'::jsonb`), outside quotes.
fn strip_cast(text: &str) -> &str {
    let mut quoted = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b':' if !quoted && bytes.get(i + 1) == Some(&b':') => return &text[..i],
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_in_sqlite_spelling_or_dropped() {
        for (source, expected) in [
            ("'draft'::character varying", Some("'draft'")),
            ("('it''s'::text)", Some("'it''s'")),
            ("0", Some("0")),
            ("'-1'::integer", Some("'-1'")),
            ("(-1.5)", Some("-1.5")),
            ("now()", Some("CURRENT_TIMESTAMP")),
            ("current_timestamp(6)", Some("CURRENT_TIMESTAMP")),
            ("CURRENT_DATE", Some("CURRENT_DATE")),
            ("false", Some("FALSE")),
            ("'{}'::jsonb", Some("'{}'")),
            ("gen_random_uuid()", None),
            ("nextval('x_id_seq'::regclass)", None),
            ("b'0'", None),
        ] {
            assert_eq!(portable_default(source).as_deref(), expected, "{source}");
        }
    }
}
