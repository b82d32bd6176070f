//! The operator's own SQL predicate (`cascade plan|delete|verify --where`), the only raw SQL a
//! user gives us. It is parsed with the connection's SQL dialect (the `sqlparser` crate) as
//! exactly one expression before any statement runs, and what runs is the parsed expression
//! written out again, never the input text: a second statement, a placeholder, a statement in
//! place of a condition or a parser/engine disagreement is refused with what was wrong.

use std::ops::ControlFlow;

use cascade_entity::rules::Dialect;
use sqlparser::ast::{Expr, Value, visit_expressions, visit_expressions_mut};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use thiserror::Error;

use super::engine::engine;

/// Why a `--where` predicate was refused. Nothing has run when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PredicateError {
    /// Nothing but whitespace (or comments).
    #[error("--where is empty: give a condition on the root table, e.g. --where \"uid = 'p1'\"")]
    Empty,
    /// One or more SQL statements instead of a condition.
    #[error(
        "--where must be a condition on the root table, not a statement (found `{0}`); the \
         delete itself is the command's job"
    )]
    Statement(String),
    /// A condition followed by `;` and more text.
    #[error(
        "--where must be exactly one condition: `;` ends it{}",
        if .0.is_empty() { String::new() } else { format!(" and `{}` follows", .0) }
    )]
    Several(String),
    /// `?`, `$1`, `:name`...: nothing is ever bound to a placeholder here.
    #[error("--where contains the placeholder `{0}`; write the value itself")]
    Placeholder(String),
    /// An expression that cannot be a condition (a bare literal).
    #[error("--where `{0}` is a value, not a condition")]
    NotCondition(String),
    /// Not valid SQL for the connection's dialect.
    #[error("--where is not a valid {dialect} expression: {message}")]
    Syntax {
        /// The dialect it was parsed for.
        dialect: Dialect,
        /// The parser's message.
        message: String,
    },
    /// The parsed expression does not read back identically when written out again.
    #[error("--where `{0}` cannot be written back exactly for {1}; simplify it")]
    Unfaithful(String, Dialect),
}

/// Parses `input` as one condition in `dialect` and returns the SQL to run for it.
pub(crate) fn parse(input: &str, dialect: Dialect) -> Result<String, PredicateError> {
    let engine = engine(dialect);
    let parser_dialect = engine.parser_dialect();
    let syntax = |message: String| PredicateError::Syntax { dialect, message };
    let mut parser = Parser::new(parser_dialect)
        .try_with_sql(input)
        .map_err(|e| syntax(e.to_string()))?;
    if parser.peek_token().token == Token::EOF {
        return Err(PredicateError::Empty);
    }
    // Input that reads as SQL statements is named as such, whatever else it might parse as.
    let statement = || match Parser::parse_sql(parser_dialect, input) {
        Ok(statements) => statements
            .first()
            .map(|s| PredicateError::Statement(first_words(&s.to_string()))),
        Err(_) => None,
    };
    let expr = match parser.parse_expr() {
        Ok(expr) => expr,
        Err(error) => return Err(statement().unwrap_or_else(|| syntax(error.to_string()))),
    };
    match parser.peek_token().token {
        Token::EOF => {}
        Token::SemiColon => {
            let rest = input
                .split_once(';')
                .map(|(_, rest)| rest.trim().to_owned())
                .unwrap_or_default();
            return Err(PredicateError::Several(first_words(&rest)));
        }
        other => {
            return Err(statement().unwrap_or_else(|| {
                syntax(format!("unexpected `{other}` after the condition `{expr}`"))
            }));
        }
    }
    if let ControlFlow::Break(placeholder) = visit_expressions(&expr, |e| match e {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => ControlFlow::Break(p.clone()),
            _ => ControlFlow::Continue(()),
        },
        _ => ControlFlow::Continue(()),
    }) {
        return Err(PredicateError::Placeholder(placeholder));
    }
    if let Expr::Value(v) = &expr
        && !matches!(v.value, Value::Boolean(_) | Value::Null)
    {
        return Err(PredicateError::NotCondition(expr.to_string()));
    }
    let sql = write_back(&expr, engine.backslash_escapes_in_strings());
    // The text that runs must parse to the same expression, or we would run something else.
    let reread = Parser::new(parser_dialect)
        .try_with_sql(&sql)
        .and_then(|mut p| {
            let e = p.parse_expr()?;
            Ok((e, p.peek_token().token == Token::EOF))
        });
    match reread {
        Ok((reread, true)) if reread == expr => Ok(sql),
        _ => Err(PredicateError::Unfaithful(input.trim().to_owned(), dialect)),
    }
}

/// The expression as SQL text. Where the engine reads a backslash in a string literal as an
/// escape (MariaDB), backslashes are doubled so the engine reads the value the parser read.
fn write_back(expr: &Expr, backslash_escapes: bool) -> String {
    if !backslash_escapes {
        return expr.to_string();
    }
    let mut expr = expr.clone();
    let _ = visit_expressions_mut(&mut expr, |e| {
        if let Expr::Value(v) = e
            && let Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) = &mut v.value
        {
            *s = s.replace('\\', "\\\\");
        }
        ControlFlow::<()>::Continue(())
    });
    expr.to_string()
}

/// The first few words of some SQL, for messages.
fn first_words(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(6).collect();
    let mut text = words.join(" ");
    if sql.split_whitespace().count() > words.len() {
        text.push_str(" ...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, dialect: Dialect) -> String {
        match parse(input, dialect) {
            Ok(sql) => sql,
            Err(e) => panic!("{input:?} on {dialect}: {e}"),
        }
    }

    #[test]
    fn accepts_one_condition_on_every_dialect() {
        for dialect in Dialect::ALL {
            assert_eq!(ok("uid = 'p1'", dialect), "uid = 'p1'");
            assert_eq!(
                ok("  uid LIKE 'p%' AND n > 3 ", dialect),
                "uid LIKE 'p%' AND n > 3"
            );
            assert_eq!(ok("name = 'O''Brien'", dialect), "name = 'O''Brien'");
            assert!(ok("uid IN (SELECT uid FROM project WHERE n < 2)", dialect).contains("IN"));
        }
    }

    #[test]
    fn refuses_what_is_not_exactly_one_condition() {
        for dialect in Dialect::ALL {
            let err = |input: &str| match parse(input, dialect) {
                Err(e) => e,
                Ok(sql) => panic!("{input:?} on {dialect} was accepted as {sql:?}"),
            };
            assert_eq!(err(""), PredicateError::Empty);
            assert_eq!(err("   "), PredicateError::Empty);
            assert!(matches!(
                err("uid = 'p1'; DELETE FROM model_label"),
                PredicateError::Several(rest) if rest == "DELETE FROM model_label"
            ));
            assert!(matches!(err("1=1; SELECT 1"), PredicateError::Several(_)));
            assert!(matches!(err("uid = 'p1';"), PredicateError::Several(_)));
            assert!(matches!(
                err("DELETE FROM model_label"),
                PredicateError::Statement(s) if s.starts_with("DELETE")
            ));
            assert!(matches!(err("'p1'"), PredicateError::NotCondition(_)));
            assert!(matches!(err("uid = "), PredicateError::Syntax { .. }));
            assert!(matches!(
                err("uid = 'p1' uid"),
                PredicateError::Syntax { .. }
            ));
        }
        assert!(matches!(
            parse("uid = ?", Dialect::MySql),
            Err(PredicateError::Placeholder(p)) if p == "?"
        ));
        assert!(matches!(
            parse("uid = $1", Dialect::Postgres),
            Err(PredicateError::Placeholder(p)) if p == "$1"
        ));
        assert!(matches!(
            parse("uid = ?1 OR uid = :name", Dialect::Sqlite),
            Err(PredicateError::Placeholder(_))
        ));
    }

    #[test]
    fn mariadb_backslashes_are_written_back_as_the_engine_reads_them() {
        // The parser reads 'x\'' as x' ; written back, MariaDB must read the same value.
        let sql = ok(r"uid = 'x\\' OR uid = 'y'", Dialect::MySql);
        assert_eq!(sql, r"uid = 'x\\' OR uid = 'y'");
        let sql = ok(r"uid = 'a\'b'", Dialect::MySql);
        assert_eq!(sql, r"uid = 'a''b'");
    }
}
