//! The FK clauses of a tokenized `CREATE TABLE` column list, read with SQLite's grammar for the
//! parts that matter: the comma-separated items (table constraints may also follow each other
//! without a comma, as SQLite allows), column-level `[CONSTRAINT n] REFERENCES parent [(cols)]
//! [actions]` and table-level `[CONSTRAINT n] FOREIGN KEY (cols) REFERENCES ...` clauses, and in
//! them the `ON DELETE` / `ON UPDATE` actions. `REFERENCES`, `CONSTRAINT`, `FOREIGN`, `PRIMARY`,
//! `UNIQUE` and `CHECK` are reserved words in SQLite, so unquoted they can only start a
//! constraint; expressions sit inside parentheses and are skipped whole.

use std::ops::Range;

use cascade_entity::rules::FkAction;
use sqlparser::tokenizer::Token;

use super::lex::{Lexeme, closing};

/// Words that start a table constraint.
const CONSTRAINT_STARTS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];

/// One FK clause and the byte ranges a rewrite touches.
#[derive(Debug, Clone)]
pub(super) struct FkClause {
    /// Child columns (the column itself for a column-level clause).
    pub(super) columns: Vec<String>,
    /// The parent table as the clause names it.
    pub(super) parent: String,
    /// The whole constraint, `CONSTRAINT name` included.
    pub(super) whole: Range<usize>,
    /// The comma separating a table constraint from the item before it.
    pub(super) comma: Option<Range<usize>>,
    /// End of `REFERENCES parent [(cols)]`, where missing actions are inserted.
    pub(super) head_end: usize,
    /// Each `ON DELETE` action: its text and what it says (SQLite takes the last one).
    pub(super) on_delete: Vec<(Range<usize>, Option<FkAction>)>,
    /// Each `ON UPDATE` action, likewise.
    pub(super) on_update: Vec<(Range<usize>, Option<FkAction>)>,
}

/// An item of the column list: a column definition or a table constraint.
struct Item {
    first: usize,
    last: usize,
    comma: Option<usize>,
}

/// The FK clauses of the column list between the parentheses at `open` and `close`, in
/// declaration order, and the index of the last token of the last item.
pub(super) fn foreign_keys(
    tokens: &[Lexeme],
    open: usize,
    close: usize,
) -> Result<(Vec<FkClause>, Option<usize>), String> {
    let items = items(tokens, open, close);
    let last = items.last().map(|item| item.last);
    let mut found = Vec::new();
    for item in items {
        if CONSTRAINT_STARTS
            .iter()
            .any(|w| tokens[item.first].is_keyword(w))
        {
            for constraint in split_constraints(tokens, item) {
                found.extend(table_foreign_key(tokens, &constraint)?);
            }
        } else {
            column_foreign_keys(tokens, &item, &mut found)?;
        }
    }
    Ok((found, last))
}

/// The comma-separated items between `open` and `close`.
fn items(tokens: &[Lexeme], open: usize, close: usize) -> Vec<Item> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut first = open + 1;
    let mut comma = None;
    for (i, lexeme) in tokens.iter().enumerate().take(close).skip(open + 1) {
        match lexeme.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                if first < i {
                    items.push(Item {
                        first,
                        last: i - 1,
                        comma,
                    });
                }
                comma = Some(i);
                first = i + 1;
            }
            _ => {}
        }
    }
    if first < close {
        items.push(Item {
            first,
            last: close - 1,
            comma,
        });
    }
    items
}

/// A table-constraint item split where one constraint follows another without a comma.
fn split_constraints(tokens: &[Lexeme], item: Item) -> Vec<Item> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut first = item.first;
    for i in item.first..=item.last {
        match tokens[i].token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        let named = i >= item.first + 2 && tokens[i - 2].is_keyword("CONSTRAINT");
        let starts = CONSTRAINT_STARTS.iter().any(|w| tokens[i].is_keyword(w));
        if depth == 0 && starts && !named && i > first {
            parts.push(Item {
                first,
                last: i - 1,
                comma: None,
            });
            first = i;
        }
    }
    parts.push(Item {
        first,
        last: item.last,
        comma: None,
    });
    if let Some(head) = parts.first_mut() {
        head.comma = item.comma;
    }
    parts
}

/// The FK of a table constraint, if it is one.
fn table_foreign_key(tokens: &[Lexeme], item: &Item) -> Result<Option<FkClause>, String> {
    let mut at = item.first;
    if tokens[at].is_keyword("CONSTRAINT") {
        at += 2;
    }
    if !(at < item.last && tokens[at].is_keyword("FOREIGN")) {
        return Ok(None);
    }
    let open = at + 2;
    if !(tokens[at + 1].is_keyword("KEY")
        && tokens.get(open).map(|t| &t.token) == Some(&Token::LParen))
    {
        return Err("FOREIGN not followed by KEY (columns)".into());
    }
    let close = closing(tokens, open)
        .filter(|&c| c < item.last)
        .ok_or("bad FK column list")?;
    let columns = names(&tokens[open + 1..close])?;
    let mut clause = references(tokens, close + 1, item.last)?;
    if clause.1 <= item.last {
        return Err(format!(
            "unexpected `{}` after a FOREIGN KEY clause",
            tokens[clause.1].token
        ));
    }
    clause.0.columns = columns;
    clause.0.whole = tokens[item.first].bytes.start..tokens[item.last].bytes.end;
    clause.0.comma = item.comma.map(|c| tokens[c].bytes.clone());
    Ok(Some(clause.0))
}

/// The column-level FK clauses of a column definition.
fn column_foreign_keys(
    tokens: &[Lexeme],
    item: &Item,
    found: &mut Vec<FkClause>,
) -> Result<(), String> {
    let column = tokens[item.first]
        .name()
        .ok_or("a column definition without a name")?
        .to_owned();
    let mut depth = 0usize;
    let mut i = item.first + 1;
    while i <= item.last {
        match tokens[i].token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ if depth == 0 && tokens[i].is_keyword("REFERENCES") => {
                let (mut clause, next) = references(tokens, i, item.last)?;
                let named = i >= item.first + 3 && tokens[i - 2].is_keyword("CONSTRAINT");
                let start = if named { i - 2 } else { i };
                clause.columns = vec![column.clone()];
                clause.whole = tokens[start].bytes.start..tokens[next - 1].bytes.end;
                found.push(clause);
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// `REFERENCES parent [(cols)] [ON DELETE|UPDATE|INSERT action | MATCH name |
/// [NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]]...` from `at` (the `REFERENCES` token), within
/// `last`; the clause (columns and extent left to the caller) and the index after it.
fn references(tokens: &[Lexeme], at: usize, last: usize) -> Result<(FkClause, usize), String> {
    let word = |i: usize, w: &str| i <= last && tokens[i].is_keyword(w);
    if !word(at, "REFERENCES") {
        return Err("expected REFERENCES".into());
    }
    let parent = tokens
        .get(at + 1)
        .filter(|_| at < last)
        .and_then(|t| t.name())
        .ok_or("REFERENCES without a parent table")?
        .to_owned();
    let mut head_end = tokens[at + 1].bytes.end;
    let mut i = at + 2;
    if i <= last && tokens[i].token == Token::LParen {
        let close = closing(tokens, i)
            .filter(|&c| c <= last)
            .ok_or("bad parent column list")?;
        names(&tokens[i + 1..close])?;
        head_end = tokens[close].bytes.end;
        i = close + 1;
    }
    let mut clause = FkClause {
        columns: Vec::new(),
        parent,
        whole: 0..0,
        comma: None,
        head_end,
        on_delete: Vec::new(),
        on_update: Vec::new(),
    };
    loop {
        if word(i, "ON") {
            let start = i + 2;
            let width = if word(start, "SET") || word(start, "NO") {
                2
            } else {
                1
            };
            let end = start + width - 1;
            if end > last {
                return Err("ON without an action".into());
            }
            let range = tokens[start].bytes.start..tokens[end].bytes.end;
            let spelled = tokens[start..=end]
                .iter()
                .map(|t| t.token.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let action = (range, FkAction::parse(&spelled));
            if word(i + 1, "DELETE") {
                clause.on_delete.push(action);
            } else if word(i + 1, "UPDATE") {
                clause.on_update.push(action);
            } else if !word(i + 1, "INSERT") {
                return Err("ON not followed by DELETE, UPDATE or INSERT".into());
            }
            i = end + 1;
        } else if word(i, "MATCH") {
            i += 2;
        } else if word(i, "NOT") && word(i + 1, "DEFERRABLE") || word(i, "DEFERRABLE") {
            i += if word(i, "NOT") { 2 } else { 1 };
            if word(i, "INITIALLY") {
                i += 2;
            }
        } else {
            break;
        }
    }
    Ok((clause, i.min(last + 1)))
}

/// The names of a parenthesised, comma-separated name list.
fn names(tokens: &[Lexeme]) -> Result<Vec<String>, String> {
    tokens
        .iter()
        .filter(|t| t.token != Token::Comma)
        .map(|t| {
            t.name()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{}` in a column list", t.token))
        })
        .collect()
}
