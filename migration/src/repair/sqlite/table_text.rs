//! A table's own `CREATE TABLE` text (from `sqlite_schema.sql`) with its FK clauses located, so
//! a rebuild can rewrite exactly those clauses and keep every other byte: types as spelled,
//! CHECK, COLLATE, AUTOINCREMENT, generated columns, named UNIQUE constraints, defaults,
//! comments, `WITHOUT ROWID`, `STRICT`.
//!
//! The text is tokenized (never matched by patterns): the table name is the name token before
//! the column list, the FK clauses are found by [`super::clauses`], and edits are spliced in at
//! their byte ranges, back to front.

use std::ops::Range;

use cascade_entity::rules::{Dialect, FkAction, ForeignKey};
use sqlparser::tokenizer::Token;

use super::clauses::{FkClause, foreign_keys};
use super::lex::{closing, lex};

const D: Dialect = Dialect::Sqlite;

/// A parsed `CREATE TABLE` statement.
#[derive(Debug, Clone)]
pub(super) struct TableText {
    sql: String,
    /// The table name token (without a schema prefix).
    name: Range<usize>,
    /// Right after the last token of the last item: where an added table constraint goes.
    append_at: usize,
    /// FK clauses in declaration order (SQLite fires the last declared first).
    pub(super) foreign_keys: Vec<FkClause>,
    /// `WITHOUT ROWID`: the table has no rowid to carry over.
    pub(super) without_rowid: bool,
    /// Some column is `AUTOINCREMENT`, so the table has a `sqlite_sequence` row to keep.
    pub(super) autoincrement: bool,
}

/// What to do with one existing FK clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClauseEdit {
    Keep,
    Drop,
    /// Keep the clause, with these actions (everything else in it, such as `DEFERRABLE` or
    /// `MATCH`, stays as written).
    Rules {
        on_delete: FkAction,
        on_update: FkAction,
    },
}

impl TableText {
    /// Parses `sql`, a `CREATE TABLE` statement as `sqlite_schema` stores it.
    pub(super) fn parse(sql: &str) -> Result<TableText, String> {
        let tokens = lex(sql)?;
        if !tokens.first().is_some_and(|t| t.is_keyword("CREATE")) {
            return Err("not a CREATE TABLE statement".into());
        }
        let open = tokens
            .iter()
            .position(|t| t.token == Token::LParen)
            .ok_or("no column list")?;
        if !tokens[..open].iter().any(|t| t.is_keyword("TABLE")) {
            return Err("not a CREATE TABLE statement".into());
        }
        let name = open
            .checked_sub(1)
            .map(|i| &tokens[i])
            .filter(|t| t.name().is_some())
            .ok_or("no table name before the column list")?
            .bytes
            .clone();
        let close = closing(&tokens, open).ok_or("unbalanced parentheses")?;
        let tail = &tokens[close + 1..];
        let mut text = TableText {
            sql: sql.to_owned(),
            name,
            append_at: tokens[close].bytes.start,
            foreign_keys: Vec::new(),
            without_rowid: tail
                .windows(2)
                .any(|w| w[0].is_keyword("WITHOUT") && w[1].is_keyword("ROWID")),
            autoincrement: tokens[open..close]
                .iter()
                .any(|t| t.is_keyword("AUTOINCREMENT")),
        };
        let (foreign_keys, last) = foreign_keys(&tokens, open, close)?;
        text.foreign_keys = foreign_keys;
        if let Some(last) = last {
            text.append_at = tokens[last].bytes.end;
        }
        Ok(text)
    }

    /// The statement with the table renamed to `name` (quoted by [`Dialect::quote`]), each FK
    /// clause edited as `edits` says (one per clause, in order), and `added` appended as table
    /// constraints. Every other byte is the original's.
    pub(super) fn rewrite(
        &self,
        name: &str,
        edits: &[ClauseEdit],
        added: &[&ForeignKey],
    ) -> Result<String, String> {
        if edits.len() != self.foreign_keys.len() {
            return Err("FK edits do not match the FK clauses".into());
        }
        let mut splices: Vec<(Range<usize>, String)> = vec![(self.name.clone(), D.quote(name))];
        for (clause, edit) in self.foreign_keys.iter().zip(edits) {
            match *edit {
                ClauseEdit::Keep => {}
                ClauseEdit::Drop => {
                    // With the whitespace before it, so no blank is left before a comma.
                    let kept = self.sql[..clause.whole.start].trim_end().len();
                    splices.push((kept..clause.whole.end, String::new()));
                    if let Some(comma) = &clause.comma {
                        splices.push((comma.clone(), String::new()));
                    }
                }
                ClauseEdit::Rules {
                    on_delete,
                    on_update,
                } => {
                    let mut missing = String::new();
                    for (word, found, action) in [
                        ("DELETE", &clause.on_delete, on_delete),
                        ("UPDATE", &clause.on_update, on_update),
                    ] {
                        if found.is_empty() && action != FkAction::NoAction {
                            missing.push_str(&format!(" ON {word} {}", action.sql()));
                        }
                        for (range, was) in found {
                            if *was != Some(action) {
                                splices.push((range.clone(), action.sql().to_owned()));
                            }
                        }
                    }
                    if !missing.is_empty() {
                        splices.push((clause.head_end..clause.head_end, missing));
                    }
                }
            }
        }
        let appended: String = added
            .iter()
            .map(|fk| format!(", {}", table_constraint(fk)))
            .collect();
        if !appended.is_empty() {
            splices.push((self.append_at..self.append_at, appended));
        }
        // Back to front, so earlier ranges keep their offsets.
        splices.sort_by_key(|(range, _)| std::cmp::Reverse((range.start, range.end)));
        let mut sql = self.sql.clone();
        let mut floor = usize::MAX;
        for (range, text) in splices {
            if range.end > floor {
                return Err("overlapping FK edits".into());
            }
            floor = range.start;
            sql.replace_range(range, &text);
        }
        Ok(sql)
    }
}

/// `FOREIGN KEY ("c") REFERENCES "parent" ("id") ON DELETE .. ON UPDATE ..`, names quoted.
fn table_constraint(fk: &ForeignKey) -> String {
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| D.quote(n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
        list(&fk.columns),
        D.quote(&fk.parent_table),
        list(&fk.parent_columns),
        fk.on_delete.sql(),
        fk.on_update.sql()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_entity::rules::{Deferrable, Enforcement};

    fn parsed(sql: &str) -> TableText {
        TableText::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn rewritten(sql: &str, edits: &[ClauseEdit], added: &[&ForeignKey]) -> String {
        parsed(sql)
            .rewrite("t2", edits, added)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn fk(columns: &[&str], parent: &str, on_delete: FkAction) -> ForeignKey {
        ForeignKey {
            name: None,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            parent_table: parent.into(),
            parent_columns: vec!["id".into()],
            on_delete,
            on_update: FkAction::NoAction,
            on_delete_explicit: true,
            enforcement: Enforcement::Database,
            deferrable: Deferrable::No,
            set_null_columns: None,
            creation_rank: None,
        }
    }

    const RICH: &str = "CREATE TABLE \"t\" ( -- the table\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  \
        a INT CONSTRAINT fa REFERENCES p(id) ON UPDATE cascade NOT NULL CHECK (a > 0),\n  \
        b TEXT COLLATE NOCASE DEFAULT ('x,y') REFERENCES \"q\" DEFERRABLE INITIALLY DEFERRED,\n  \
        g INT GENERATED ALWAYS AS (a * 2) STORED,\n  \
        CONSTRAINT uq UNIQUE (b), CHECK (a < 100)\n  \
        FOREIGN KEY (a, b) REFERENCES r (x, y) ON DELETE SET NULL MATCH SIMPLE /* c */\n) STRICT";

    #[test]
    fn finds_every_clause_in_declaration_order() {
        let text = parsed(RICH);
        let found: Vec<(Vec<String>, String)> = text
            .foreign_keys
            .iter()
            .map(|c| (c.columns.clone(), c.parent.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (vec!["a".to_string()], "p".to_string()),
                (vec!["b".to_string()], "q".to_string()),
                (vec!["a".to_string(), "b".to_string()], "r".to_string()),
            ]
        );
        assert!(text.autoincrement && !text.without_rowid);
        assert!(parsed("CREATE TABLE w (k TEXT PRIMARY KEY) WITHOUT ROWID").without_rowid);
    }

    #[test]
    fn rewrites_only_the_clauses() {
        let keep = [ClauseEdit::Keep; 3];
        assert_eq!(
            rewritten(RICH, &keep, &[]),
            RICH.replacen("\"t\"", "\"t2\"", 1)
        );
        let rules = |on_delete| ClauseEdit::Rules {
            on_delete,
            on_update: FkAction::NoAction,
        };
        let out = rewritten(
            RICH,
            &[
                rules(FkAction::Cascade),
                ClauseEdit::Drop,
                rules(FkAction::Restrict),
            ],
            &[],
        );
        let expected = RICH
            .replacen("\"t\"", "\"t2\"", 1)
            .replace(
                "REFERENCES p(id) ON UPDATE cascade",
                "REFERENCES p(id) ON DELETE CASCADE ON UPDATE NO ACTION",
            )
            .replace(" REFERENCES \"q\" DEFERRABLE INITIALLY DEFERRED", "")
            .replace("ON DELETE SET NULL MATCH", "ON DELETE RESTRICT MATCH");
        assert_eq!(out, expected);
    }

    #[test]
    fn drops_a_table_constraint_with_its_comma_and_appends_added_ones() {
        let sql = "CREATE TABLE t (id INT, a INT, FOREIGN KEY (a) REFERENCES p (id), UNIQUE (a))";
        let added = fk(&["we\"ird"], "p q", FkAction::SetNull);
        assert_eq!(
            rewritten(sql, &[ClauseEdit::Drop], &[&added]),
            "CREATE TABLE \"t2\" (id INT, a INT, UNIQUE (a), FOREIGN KEY (\"we\"\"ird\") \
             REFERENCES \"p q\" (\"id\") ON DELETE SET NULL ON UPDATE NO ACTION)"
        );
        let last = "CREATE TABLE main.t (a INT,\n FOREIGN KEY (a) REFERENCES p -- gone\n)";
        assert_eq!(
            rewritten(last, &[ClauseEdit::Drop], &[]),
            "CREATE TABLE main.\"t2\" (a INT -- gone\n)"
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for sql in [
            "CREATE VIEW v AS SELECT 1",
            "CREATE TABLE t (a INT REFERENCES)",
            "CREATE TABLE t (a INT, FOREIGN KEY a REFERENCES p)",
            "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES p (id) ON DELETE)",
            "CREATE TABLE t (a INT",
        ] {
            assert!(TableText::parse(sql).is_err(), "{sql}");
        }
    }
}
