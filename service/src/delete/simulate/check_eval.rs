//! CHECK constraints evaluated on a replayed row, in SQL's three-valued logic: a CHECK fails
//! only when it is FALSE (NULL passes). Covers the expressions CHECKs over key columns are made
//! of (column references, literals, comparisons, arithmetic, `IS [NOT] NULL`, `BETWEEN`,
//! `AND` / `OR` / `NOT`); anything else is reported, so the replay abstains instead of guessing.

use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};

use super::world::Val;

#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

/// Whether `expr` is FALSE for a row of `columns` holding `values`.
pub(crate) fn fails(expr: &Expr, columns: &[String], values: &[Val]) -> Result<bool, String> {
    Ok(matches!(
        eval(expr, columns, values)?,
        V::Bool(false) | V::Int(0)
    ))
}

fn column(name: &sqlparser::ast::Ident, columns: &[String], values: &[Val]) -> Result<V, String> {
    let position = columns.iter().position(|c| match name.quote_style {
        Some(_) => *c == name.value,
        None => c.eq_ignore_ascii_case(&name.value),
    });
    match position {
        Some(i) => Ok(match &values[i] {
            None => V::Null,
            Some(text) => text
                .parse::<i64>()
                .map_or_else(|_| V::Text(text.clone()), V::Int),
        }),
        None => Err(format!("CHECK names column `{}`, not loaded", name.value)),
    }
}

fn truth(v: &V) -> Option<bool> {
    match v {
        V::Null => None,
        V::Bool(b) => Some(*b),
        V::Int(i) => Some(*i != 0),
        V::Text(_) => None,
    }
}

fn from_truth(b: Option<bool>) -> V {
    b.map_or(V::Null, V::Bool)
}

fn compare(a: &V, b: &V) -> Result<Option<std::cmp::Ordering>, String> {
    Ok(match (a, b) {
        (V::Null, _) | (_, V::Null) => None,
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Text(x), V::Text(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Int(y)) | (V::Int(y), V::Bool(x)) => {
            return Err(format!("CHECK compares a boolean {x} with {y}"));
        }
        _ => return Err("CHECK compares text with a number".to_owned()),
    })
}

fn eval(expr: &Expr, columns: &[String], values: &[Val]) -> Result<V, String> {
    let go = |e: &Expr| eval(e, columns, values);
    Ok(match expr {
        Expr::Identifier(ident) => column(ident, columns, values)?,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(ident) => column(ident, columns, values)?,
            None => return Err("empty identifier".to_owned()),
        },
        Expr::Nested(inner) => go(inner)?,
        Expr::Value(v) => match &v.value {
            Value::Null => V::Null,
            Value::Boolean(b) => V::Bool(*b),
            Value::Number(n, _) => V::Int(
                n.to_string()
                    .parse()
                    .map_err(|_| format!("CHECK literal {n} is not an integer"))?,
            ),
            Value::SingleQuotedString(s) => V::Text(s.clone()),
            other => return Err(format!("CHECK literal {other} not evaluated")),
        },
        Expr::IsNull(inner) => V::Bool(go(inner)? == V::Null),
        Expr::IsNotNull(inner) => V::Bool(go(inner)? != V::Null),
        Expr::UnaryOp { op, expr } => match (op, go(expr)?) {
            (UnaryOperator::Not, v) => from_truth(truth(&v).map(|b| !b)),
            (UnaryOperator::Minus, V::Int(i)) => V::Int(-i),
            (UnaryOperator::Plus, v) => v,
            (_, V::Null) => V::Null,
            (op, _) => return Err(format!("CHECK operator {op} not evaluated")),
        },
        Expr::BinaryOp { left, op, right } => {
            let (a, b) = (go(left)?, go(right)?);
            match op {
                BinaryOperator::And => match (truth(&a), truth(&b)) {
                    (Some(false), _) | (_, Some(false)) => V::Bool(false),
                    (Some(true), Some(true)) => V::Bool(true),
                    _ => V::Null,
                },
                BinaryOperator::Or => match (truth(&a), truth(&b)) {
                    (Some(true), _) | (_, Some(true)) => V::Bool(true),
                    (Some(false), Some(false)) => V::Bool(false),
                    _ => V::Null,
                },
                BinaryOperator::Eq => from_truth(compare(&a, &b)?.map(|o| o.is_eq())),
                BinaryOperator::NotEq => from_truth(compare(&a, &b)?.map(|o| o.is_ne())),
                BinaryOperator::Lt => from_truth(compare(&a, &b)?.map(|o| o.is_lt())),
                BinaryOperator::LtEq => from_truth(compare(&a, &b)?.map(|o| o.is_le())),
                BinaryOperator::Gt => from_truth(compare(&a, &b)?.map(|o| o.is_gt())),
                BinaryOperator::GtEq => from_truth(compare(&a, &b)?.map(|o| o.is_ge())),
                BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply => {
                    match (a, b) {
                        (V::Int(x), V::Int(y)) => V::Int(match op {
                            BinaryOperator::Plus => x.wrapping_add(y),
                            BinaryOperator::Minus => x.wrapping_sub(y),
                            _ => x.wrapping_mul(y),
                        }),
                        (V::Null, _) | (_, V::Null) => V::Null,
                        _ => return Err(format!("CHECK arithmetic {op} on non-integers")),
                    }
                }
                other => return Err(format!("CHECK operator {other} not evaluated")),
            }
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let v = go(expr)?;
            let lo = compare(&v, &go(low)?)?.map(|o| o.is_ge());
            let hi = compare(&v, &go(high)?)?.map(|o| o.is_le());
            let inside = match (lo, hi) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            from_truth(inside.map(|b| b != *negated))
        }
        other => return Err(format!("CHECK expression `{other}` not evaluated")),
    })
}
