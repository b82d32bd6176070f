//! What the benchmark measures besides time: a per-table checksum of the final state (row count,
//! non-NULL count of every FK column, smallest and largest key) and the process's peak RSS,
//! reset before each method (Linux `clear_refs`).

use std::collections::BTreeMap;

use cascade_entity::RuleGraph;
use sea_orm::{ConnectionTrait, DbErr, Statement};

/// Table name -> its checksum values, rendered as text.
pub(crate) type Checksum = BTreeMap<String, Vec<Option<String>>>;

pub(crate) async fn checksum(
    db: &impl ConnectionTrait,
    graph: &RuleGraph,
) -> Result<Checksum, DbErr> {
    let backend = db.get_database_backend();
    let quote = |name: &str| cascade_entity::rules::Dialect::from(backend).quote(name);
    let text = if backend == sea_orm::DbBackend::MySql {
        "CHAR"
    } else {
        "TEXT"
    };
    let mut sums = Checksum::new();
    for table in graph.tables.values() {
        let mut parts = vec![format!("CAST(COUNT(*) AS {text})")];
        for fk in &table.foreign_keys {
            parts.extend(
                fk.columns
                    .iter()
                    .map(|c| format!("CAST(COUNT({}) AS {text})", quote(c))),
            );
        }
        for key in &table.primary_key {
            parts.push(format!(
                "CAST(MIN({0}) AS {text}), CAST(MAX({0}) AS {text})",
                quote(key)
            ));
        }
        let sql = format!("SELECT {} FROM {}", parts.join(", "), quote(&table.name));
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(table.name.clone()))?;
        let width = 1
            + table
                .foreign_keys
                .iter()
                .map(|fk| fk.columns.len())
                .sum::<usize>()
            + 2 * table.primary_key.len();
        let values = (0..width)
            .map(|i| row.try_get_by_index::<Option<String>>(i))
            .collect::<Result<_, _>>()?;
        sums.insert(table.name.clone(), values);
    }
    Ok(sums)
}

/// Resets the peak-RSS watermark of this process (ignored where unsupported).
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size of this process since the last reset, in bytes.
pub(crate) fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:")
}

/// Current resident set size of this process, in bytes.
pub(crate) fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
