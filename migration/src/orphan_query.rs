//! The one definition of an orphan, as sea-query builders: a child row whose reference is fully
//! non-NULL and matches no parent row (MATCH SIMPLE: a partly NULL composite key is no orphan).
//!
//! Shared by the repair pre-flight (count what would make a new constraint fail) and the
//! service's orphan scan and prune, so both agree on what they count. Matching is done by the
//! engine itself (`NOT EXISTS` with `=`), so collations and type coercions are the engine's own.

use cascade_entity::rules::ForeignKey;
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, ExprTrait, Order, Query, SelectStatement,
};

/// Alias of the parent table inside the `NOT EXISTS` subquery (keeps self-references unambiguous).
const PARENT: &str = "cascade_parent";

/// `child.c1 IS NOT NULL AND ... AND NOT EXISTS (SELECT 1 FROM parent AS p WHERE p.k1 = child.c1 ...)`.
/// Child columns are qualified by the child table's own name, so the condition also works in
/// `UPDATE child` and `DELETE FROM child`.
pub fn orphan_condition(child: &str, fk: &ForeignKey) -> Condition {
    let mut condition = Condition::all();
    for column in &fk.columns {
        condition = condition.add(Expr::col((Alias::new(child), Alias::new(column))).is_not_null());
    }
    let mut parent = Query::select();
    parent
        .expr(Expr::val(1))
        .from_as(Alias::new(&fk.parent_table), Alias::new(PARENT));
    for (column, parent_column) in fk.columns.iter().zip(&fk.parent_columns) {
        parent.and_where(
            Expr::col((Alias::new(PARENT), Alias::new(parent_column)))
                .equals((Alias::new(child), Alias::new(column))),
        );
    }
    condition.add(Expr::exists(parent).not())
}

/// `SELECT COUNT(*) AS n FROM child WHERE <orphan>`.
pub fn count_orphans(child: &str, fk: &ForeignKey) -> SelectStatement {
    Query::select()
        .expr_as(Expr::col(Asterisk).count(), Alias::new("n"))
        .from(Alias::new(child))
        .cond_where(orphan_condition(child, fk))
        .to_owned()
}

/// Up to `limit` orphan rows of `child`, `key_columns` (and the reference) cast to text as
/// `k0, k1, ...`, ordered by those columns: deterministic sample keys for reports.
pub fn sample_orphans(
    child: &str,
    fk: &ForeignKey,
    key_columns: &[String],
    text_type: &str,
    limit: u64,
) -> SelectStatement {
    let mut query = Query::select();
    query.from(Alias::new(child));
    for (i, column) in key_columns.iter().enumerate() {
        query.expr_as(
            Expr::col((Alias::new(child), Alias::new(column))).cast_as(Alias::new(text_type)),
            Alias::new(format!("k{i}")),
        );
        query.order_by((Alias::new(child), Alias::new(column)), Order::Asc);
    }
    query.cond_where(orphan_condition(child, fk)).limit(limit);
    query
}
