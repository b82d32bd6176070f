//! Rows of the owner whose references would dangle in the export, decided in the source
//! against the work tables: a reference (fully non-NULL, MATCH SIMPLE) is dangling when its
//! parent is not exported. Where it cannot be NULL (a NOT NULL or key column) the row is left
//! out, and so, round after round to a fixpoint, are rows that needed it; each relation's rows
//! are counted (orphans among them: no parent in the source at all) with sample keys. Where it
//! can be NULL, the row's key goes into the relation's flag table and the copy writes NULL.

use std::collections::{BTreeMap, BTreeSet};

use cascade_entity::RuleGraph;
use cascade_entity::rules::ForeignKey;

use super::owned::{Member, Membership, nullable, same_columns};
use super::report::{ExportError, LeftOut, Nulled};
use crate::delete::session::Session;

/// The work table to read a parent's exported rows from, in a statement that also reads the
/// child's (`child == parent` needs the mirror where temporary tables cannot be reopened);
/// refreshes the mirror first. `None`: the parent holds none of the owner's rows.
async fn parent_work(
    s: &mut Session<'_>,
    m: &Membership,
    child: &str,
    fk: &ForeignKey,
) -> Result<Option<(String, Vec<String>)>, ExportError> {
    let Some(parent) = m.members.get(&fk.parent_table) else {
        return Ok(None);
    };
    match &parent.mirror {
        Some(mirror) if fk.parent_table == child => {
            s.exec(&format!("DELETE FROM {}", s.q(mirror))).await?;
            s.exec(&format!(
                "INSERT INTO {} SELECT * FROM {}",
                s.q(mirror),
                s.q(&parent.work)
            ))
            .await?;
            Ok(Some((mirror.clone(), parent.key.clone())))
        }
        _ => Ok(Some((parent.work.clone(), parent.key.clone()))),
    }
}

/// Row `x` references through `fk` a parent outside the export (`parent`: its work table).
fn dangling(s: &Session<'_>, fk: &ForeignKey, parent: Option<&(String, Vec<String>)>) -> String {
    let mut condition = not_null(s, fk);
    if let Some((work, key)) = parent {
        let exported = if same_columns(&fk.parent_columns, key) {
            format!(
                "SELECT 1 FROM {} z WHERE {}",
                s.q(work),
                s.equal("z", &fk.parent_columns, "x", &fk.columns)
            )
        } else {
            format!(
                "SELECT 1 FROM {} y JOIN {} z ON {} WHERE {}",
                s.q(&fk.parent_table),
                s.q(work),
                s.equal("z", key, "y", key),
                s.equal("y", &fk.parent_columns, "x", &fk.columns)
            )
        };
        condition.push_str(&format!(" AND NOT EXISTS ({exported})"));
    }
    condition
}

/// Row `x` references through `fk` a parent the source does not have at all.
fn orphaned(s: &Session<'_>, fk: &ForeignKey) -> String {
    format!(
        "{} AND NOT EXISTS (SELECT 1 FROM {} y WHERE {})",
        not_null(s, fk),
        s.q(&fk.parent_table),
        s.equal("y", &fk.parent_columns, "x", &fk.columns)
    )
}

/// Every column of the reference is set (MATCH SIMPLE: a partly NULL key references nothing).
fn not_null(s: &Session<'_>, fk: &ForeignKey) -> String {
    fk.columns
        .iter()
        .map(|c| format!("x.{} IS NOT NULL", s.q(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Removes, to a fixpoint, rows whose reference that cannot be NULL would dangle; records
/// them (counts, orphans among them, sample keys) per relation.
pub(super) async fn prune(
    s: &mut Session<'_>,
    graph: &RuleGraph,
    m: &mut Membership,
    list_limit: u64,
) -> Result<(), ExportError> {
    let mut changed: Option<BTreeSet<String>> = None;
    let mut left_out: BTreeMap<(String, String), LeftOut> = BTreeMap::new();
    loop {
        let mut lost = BTreeSet::new();
        let members: Vec<(String, Member)> = m
            .members
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, member) in &members {
            let Some(table) = graph.table(name) else {
                continue;
            };
            for fk in &table.foreign_keys {
                if nullable(table, fk, &member.key) {
                    continue;
                }
                let parent_changed = match &changed {
                    None => true,
                    Some(changed) => changed.contains(&fk.parent_table),
                };
                if !parent_changed {
                    continue;
                }
                let parent = parent_work(s, m, name, fk).await?;
                let condition = dangling(s, fk, parent.as_ref());
                let relation = fk.describe(name);
                let entry = left_out
                    .entry((name.clone(), relation.clone()))
                    .or_insert_with(|| LeftOut {
                        table: name.clone(),
                        relation,
                        rows: 0,
                        orphaned: 0,
                        key_columns: member.key.clone(),
                        keys: Vec::new(),
                    });
                let room = list_limit.saturating_sub(entry.keys.len() as u64);
                if room > 0 {
                    entry
                        .keys
                        .extend(sample_keys(s, name, member, &condition, room).await?);
                }
                let from = format!(
                    "FROM {} d JOIN {} x ON {} WHERE ",
                    s.q(&member.work),
                    s.q(name),
                    s.equal("x", &member.key, "d", &member.key)
                );
                entry.orphaned += s
                    .scalar(&format!(
                        "SELECT COUNT(*) {from}{condition} AND {}",
                        orphaned(s, fk)
                    ))
                    .await?
                    .unsigned_abs();
                let work = s.q(&member.work);
                let removed = s
                    .exec(&format!(
                        "DELETE FROM {work} WHERE EXISTS \
                         (SELECT 1 FROM {} x WHERE {} AND {condition})",
                        s.q(name),
                        member
                            .key
                            .iter()
                            .map(|k| format!("x.{} = {work}.{}", s.q(k), s.q(k)))
                            .collect::<Vec<_>>()
                            .join(" AND ")
                    ))
                    .await?;
                entry.rows += removed;
                if removed > 0 {
                    lost.insert(name.clone());
                }
            }
        }
        if lost.is_empty() {
            break;
        }
        changed = Some(lost);
    }
    m.left_out = left_out
        .into_values()
        .filter(|l| l.rows > 0)
        .map(|mut l| {
            // Rounds each list their keys in key order; one list in text order.
            l.keys.sort();
            l
        })
        .collect();
    for member in m.members.values_mut() {
        member.rows = s
            .scalar(&format!("SELECT COUNT(*) FROM {}", s.q(&member.work)))
            .await?
            .unsigned_abs();
    }
    Ok(())
}

/// Up to `limit` keys (as text, in key order) of `member`'s rows matching `condition`.
async fn sample_keys(
    s: &mut Session<'_>,
    name: &str,
    member: &Member,
    condition: &str,
    limit: u64,
) -> Result<Vec<Vec<Option<String>>>, ExportError> {
    let text = s.engine.text_type();
    let columns: Vec<String> = member
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("CAST(x.{} AS {text}) AS k{i}", s.q(k)))
        .collect();
    let sql = format!(
        "SELECT {} FROM {} d JOIN {} x ON {} WHERE {condition} ORDER BY {} LIMIT {limit}",
        columns.join(", "),
        s.q(&member.work),
        s.q(name),
        s.equal("x", &member.key, "d", &member.key),
        s.cols("x", &member.key)
    );
    let mut keys = Vec::new();
    for row in s.query(&sql).await? {
        let mut key = Vec::with_capacity(member.key.len());
        for i in 0..member.key.len() {
            key.push(row.try_get::<Option<String>>("", &format!("k{i}"))?);
        }
        keys.push(key);
    }
    Ok(keys)
}

/// Fills each nullable relation's flag table with the exported rows whose reference would
/// dangle, and counts them (orphans among them too).
pub(super) async fn flag_nulled(
    s: &mut Session<'_>,
    m: &mut Membership,
) -> Result<(), ExportError> {
    let names: Vec<String> = m.members.keys().cloned().collect();
    for name in names {
        let Some(member) = m.members.get(&name).cloned() else {
            continue;
        };
        let mut kept = Vec::new();
        for (fk, flags) in &member.nulled {
            let parent = parent_work(s, m, &name, fk).await?;
            let condition = dangling(s, fk, parent.as_ref());
            let from = format!(
                "FROM {} d JOIN {} x ON {} WHERE {condition}",
                s.q(&member.work),
                s.q(&name),
                s.equal("x", &member.key, "d", &member.key)
            );
            let rows = s
                .exec(&format!(
                    "INSERT INTO {} ({}, cascade_gen) SELECT {}, 0 {from}",
                    s.q(flags),
                    s.names(&member.key),
                    s.cols("x", &member.key)
                ))
                .await?;
            if rows == 0 {
                continue;
            }
            let orphans = s
                .scalar(&format!("SELECT COUNT(*) {from} AND {}", orphaned(s, fk)))
                .await?
                .unsigned_abs();
            m.nulled.push(Nulled {
                table: name.clone(),
                relation: fk.describe(&name),
                rows,
                orphaned: orphans,
            });
            kept.push((fk.clone(), flags.clone()));
        }
        if let Some(member) = m.members.get_mut(&name) {
            member.nulled = kept;
        }
    }
    Ok(())
}
