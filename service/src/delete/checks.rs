//! CHECK constraints against rewrites. A SET NULL / SET DEFAULT (or an ON UPDATE rewrite) can
//! make a row fail a CHECK constraint of its table; every engine then refuses the statement,
//! provided the rewrite reaches the row before another path deletes it.
//!
//! The database evaluates it, set-based: each CHECK that mentions a rewritten column is parsed
//! with the connection's SQL dialect (`sqlparser`), the rewritten columns are replaced by the
//! values the action writes, and the rows the action selects are counted where the result is
//! FALSE (a CHECK passes on NULL). Surviving rows that fail make a definite refusal; doomed rows
//! (deleted by another path) that would fail make the outcome depend on the engine's order.

use std::ops::ControlFlow;

use cascade_entity::rules::{FkAction, Table};
use sqlparser::ast::{Expr, Ident, visit_expressions_mut};
use sqlparser::parser::Parser;

use super::effects::{EdgeEffect, default_sql};
use super::report::DeleteError;
use super::session::Session;

/// Counts the rows `effect` rewrites that would fail one of `child`'s CHECK constraints:
/// survivors (the rewrite predicate) and, given `doomed`, rows also deleted by another path.
pub(crate) async fn measure(
    s: &mut Session<'_>,
    child: &Table,
    effect: &mut EdgeEffect,
    doomed: Option<&str>,
) -> Result<(), DeleteError> {
    let Some(rewrite) = effect.rewrite.clone() else {
        return Ok(());
    };
    let values = written_values(child, effect);
    for check in &child.checks {
        if !mentions_any(s, &check.expression, &effect.columns) {
            continue;
        }
        let Some(failing) = failing_condition(s, &check.expression, &effect.columns, &values)
        else {
            effect.unsupported = Some(format!(
                "the CHECK {} of `{}` could not be read to see whether {} breaks it",
                check.name.as_deref().unwrap_or("constraint"),
                child.name,
                effect.label
            ));
            return Ok(());
        };
        let table = s.q(&child.name);
        let survivors = s
            .scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE ({rewrite}) AND {failing}"
            ))
            .await?;
        if survivors > 0 && effect.check_violations == 0 {
            effect.check_name = check.name.clone();
        }
        effect.check_violations += u64::try_from(survivors).unwrap_or(0);
        if let Some(doomed) = doomed {
            let count = s
                .scalar(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE ({doomed}) AND {failing}"
                ))
                .await?;
            effect.check_doomed += u64::try_from(count).unwrap_or(0);
        }
    }
    Ok(())
}

/// The SQL values the rewrite writes, pairwise with `effect.columns`.
fn written_values(child: &Table, effect: &EdgeEffect) -> Vec<String> {
    match &effect.values {
        Some(values) => values.clone(),
        None => effect
            .columns
            .iter()
            .map(|column| match effect.action {
                FkAction::SetDefault => child
                    .column(column)
                    .and_then(|c| c.default.as_ref())
                    .map_or_else(|| "NULL".to_owned(), |d| format!("({})", default_sql(d))),
                _ => "NULL".to_owned(),
            })
            .collect(),
    }
}

fn matches(ident: &Ident, column: &str) -> bool {
    match ident.quote_style {
        Some(_) => ident.value == column,
        None => ident.value.eq_ignore_ascii_case(column),
    }
}

fn parse(s: &Session<'_>, sql: &str) -> Option<Expr> {
    let mut parser = Parser::new(s.engine.parser_dialect())
        .try_with_sql(sql)
        .ok()?;
    parser.parse_expr().ok()
}

/// Whether the CHECK expression names any of `columns` (a CHECK it cannot read counts).
fn mentions_any(s: &Session<'_>, expression: &str, columns: &[String]) -> bool {
    let Some(mut expr) = parse(s, expression) else {
        return true;
    };
    let found = visit_expressions_mut(&mut expr, |e| match e {
        Expr::Identifier(ident) if columns.iter().any(|c| matches(ident, c)) => {
            ControlFlow::Break(())
        }
        Expr::CompoundIdentifier(parts)
            if parts
                .last()
                .is_some_and(|i| columns.iter().any(|c| matches(i, c))) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

/// `NOT (check)` with `columns` replaced by `values`: true exactly where the rewritten row fails
/// the CHECK. `None` when the expression or a value cannot be parsed.
fn failing_condition(
    s: &Session<'_>,
    expression: &str,
    columns: &[String],
    values: &[String],
) -> Option<String> {
    let mut expr = parse(s, expression)?;
    let replacements: Vec<(String, Expr)> = columns
        .iter()
        .zip(values)
        .map(|(c, v)| parse(s, v).map(|e| (c.clone(), Expr::Nested(Box::new(e)))))
        .collect::<Option<_>>()?;
    let replacement = |ident: &Ident| {
        replacements
            .iter()
            .find(|(c, _)| matches(ident, c))
            .map(|(_, e)| e.clone())
    };
    let _ = visit_expressions_mut(&mut expr, |e| {
        let new = match e {
            Expr::Identifier(ident) => replacement(ident),
            Expr::CompoundIdentifier(parts) => parts.last().and_then(replacement),
            _ => None,
        };
        if let Some(new) = new {
            *e = new;
        }
        ControlFlow::<()>::Continue(())
    });
    Some(format!("NOT ({expr})"))
}
