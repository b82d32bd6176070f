//! Views and triggers a SQLite table rebuild must save, drop and recreate verbatim.
//!
//! With `legacy_alter_table` off, `ALTER TABLE .. RENAME` re-reads every view and trigger of the
//! schema, and one that names a table which is momentarily gone (the old table was just dropped)
//! fails the rename with "error in view v: no such table". SQLite's procedure
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>) therefore drops the views and
//! triggers that refer to the table first and recreates them afterwards. Which ones refer to it
//! is read from their `sqlite_schema.sql` tokens: any name token equal to a rebuilt table or to
//! a view already saved (views on views, `INSTEAD OF` triggers on them), to a fixpoint. A false
//! positive (a column that happens to share the name) only costs a verbatim drop and recreate.
//! Triggers on a rebuilt table itself are included: they name it after `ON`.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, DbErr};

use super::lex::lex;
use super::text;

/// A view or trigger as `sqlite_schema` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SchemaObject {
    /// View or trigger.
    pub(super) kind: ObjectKind,
    /// Its name in `sqlite_schema`.
    pub(super) name: String,
    /// Its `CREATE` statement, recreated verbatim.
    pub(super) sql: String,
    /// Lower-cased names the text mentions.
    mentions: BTreeSet<String>,
}

/// The kinds of schema object a rebuild saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjectKind {
    View,
    Trigger,
}

/// The views and triggers that mention any of `tables`, directly or through a saved view, in an
/// order they can be recreated in: views before triggers, a view after the views it mentions,
/// otherwise `sqlite_schema` order.
pub(super) async fn dependents(
    db: &impl ConnectionTrait,
    tables: &[&str],
) -> Result<Vec<SchemaObject>, DbErr> {
    let rows = crate::introspect::rows(
        db,
        "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('view', 'trigger') \
         AND sql IS NOT NULL ORDER BY rowid",
        vec![],
    )
    .await?;
    let mut all = Vec::with_capacity(rows.len());
    for row in rows {
        let sql = text(&row, "sql")?;
        let mentions = lex(&sql)
            .map_err(|e| DbErr::Custom(format!("cannot read `{sql}`: {e}")))?
            .iter()
            .filter_map(|t| t.name().map(str::to_ascii_lowercase))
            .collect();
        all.push(SchemaObject {
            kind: if text(&row, "type")? == "view" {
                ObjectKind::View
            } else {
                ObjectKind::Trigger
            },
            name: text(&row, "name")?,
            sql,
            mentions,
        });
    }
    Ok(select(all, tables))
}

/// The fixpoint selection and recreation order, over objects in `sqlite_schema` order.
fn select(all: Vec<SchemaObject>, tables: &[&str]) -> Vec<SchemaObject> {
    let mut gone: BTreeSet<String> = tables.iter().map(|t| t.to_ascii_lowercase()).collect();
    let mut chosen = vec![false; all.len()];
    loop {
        let mut grew = false;
        for (i, object) in all.iter().enumerate() {
            if !chosen[i] && object.mentions.iter().any(|m| gone.contains(m)) {
                chosen[i] = true;
                grew = true;
                if object.kind == ObjectKind::View {
                    gone.insert(object.name.to_ascii_lowercase());
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut pending: Vec<SchemaObject> = all
        .into_iter()
        .zip(chosen)
        .filter_map(|(object, chosen)| chosen.then_some(object))
        .collect();
    // Views whose mentioned views are all placed go next; a cycle (only possible through a false
    // positive) falls back to schema order.
    let mut ordered: Vec<SchemaObject> = Vec::with_capacity(pending.len());
    while pending.iter().any(|o| o.kind == ObjectKind::View) {
        let waiting = |object: &SchemaObject, pending: &[SchemaObject]| {
            pending.iter().any(|other| {
                other.kind == ObjectKind::View
                    && other.name != object.name
                    && object.mentions.contains(&other.name.to_ascii_lowercase())
            })
        };
        let next = pending
            .iter()
            .position(|o| o.kind == ObjectKind::View && !waiting(o, &pending))
            .or_else(|| pending.iter().position(|o| o.kind == ObjectKind::View));
        match next {
            Some(i) => ordered.push(pending.remove(i)),
            None => break,
        }
    }
    ordered.extend(pending);
    ordered
}

impl SchemaObject {
    /// `DROP VIEW IF EXISTS "v"` / `DROP TRIGGER IF EXISTS "t"`.
    pub(super) fn drop_sql(&self) -> String {
        let kind = match self.kind {
            ObjectKind::View => "VIEW",
            ObjectKind::Trigger => "TRIGGER",
        };
        format!(
            "DROP {kind} IF EXISTS {}",
            cascade_entity::rules::Dialect::Sqlite.quote(&self.name)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: ObjectKind, name: &str, sql: &str) -> SchemaObject {
        let mentions = match lex(sql) {
            Ok(tokens) => tokens
                .iter()
                .filter_map(|t| t.name().map(str::to_ascii_lowercase))
                .collect(),
            Err(e) => panic!("{sql}: {e}"),
        };
        SchemaObject {
            kind,
            name: name.into(),
            sql: sql.into(),
            mentions,
        }
    }

    #[test]
    fn views_on_views_and_their_triggers_follow_the_table() {
        let all = vec![
            object(
                ObjectKind::Trigger,
                "t_other",
                "CREATE TRIGGER t_other AFTER INSERT ON other BEGIN INSERT INTO top_v VALUES (1); END",
            ),
            object(
                ObjectKind::View,
                "top_v",
                "CREATE VIEW top_v AS SELECT * FROM mid_v",
            ),
            object(
                ObjectKind::View,
                "mid_v",
                "CREATE VIEW mid_v AS SELECT * FROM \"Child\" JOIN p USING (id)",
            ),
            object(
                ObjectKind::View,
                "unrelated",
                "CREATE VIEW unrelated AS SELECT * FROM p",
            ),
            object(
                ObjectKind::Trigger,
                "t_p",
                "CREATE TRIGGER t_p AFTER DELETE ON p BEGIN SELECT 1; END",
            ),
        ];
        let chosen: Vec<String> = select(all, &["child"])
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(chosen, ["mid_v", "top_v", "t_other"]);
    }
}
