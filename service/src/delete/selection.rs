//! Which root rows to delete: a typed SeaORM condition, a list of primary keys, or every row.
//! The CLI's `--where` (the operator's own SQL predicate) is the only raw-SQL selection and is
//! not part of the library API.

use cascade_entity::rules::Dialect;
use sea_orm::sea_query::{
    Alias, Condition, DeleteStatement, Expr, ExprTrait, Query, SelectStatement, Value,
};
use sea_orm::{DbBackend, Statement};

use super::predicate::PredicateError;

/// Which rows of the root table to delete: a typed condition, primary keys, or every row (the CLI's `--where` is parsed into one).
#[derive(Debug, Clone)]
pub struct Selection(Inner);

#[derive(Debug, Clone)]
enum Inner {
    All,
    Condition(Condition),
    Keys(Vec<Vec<Value>>),
    Sql(String),
}

impl Selection {
    /// Every row of the table.
    pub fn all() -> Selection {
        Selection(Inner::All)
    }

    /// Rows matching a SeaORM / sea-query condition, e.g.
    /// `Condition::all().add(project::Column::Uid.eq("p1"))`.
    pub fn condition(condition: Condition) -> Selection {
        Selection(Inner::Condition(condition))
    }

    /// Rows with these primary keys (each key lists the key columns' values in key order).
    pub fn keys(keys: impl IntoIterator<Item = Vec<Value>>) -> Selection {
        Selection(Inner::Keys(keys.into_iter().collect()))
    }

    /// For command-line tools: the operator's own SQL predicate (`cascade ... --where`), parsed as exactly one
    /// condition in `dialect`; what runs is the parsed expression written out again.
    pub fn parse_predicate(predicate: &str, dialect: Dialect) -> Result<Selection, PredicateError> {
        Ok(Selection(Inner::Sql(super::predicate::parse(
            predicate, dialect,
        )?)))
    }

    fn condition_for(&self, key: &[String]) -> Condition {
        match &self.0 {
            Inner::All => Condition::all(),
            Inner::Condition(condition) => condition.clone(),
            Inner::Sql(predicate) => Condition::all().add(Expr::cust(predicate.clone())),
            Inner::Keys(keys) => keys.iter().fold(Condition::any(), |any, values| {
                any.add(
                    key.iter()
                        .zip(values)
                        .fold(Condition::all(), |all, (column, value)| {
                            all.add(Expr::col(Alias::new(column)).eq(value.clone()))
                        }),
                )
            }),
        }
    }

    /// `SELECT key..., 0 FROM root WHERE ...`: the root rows at generation 0.
    pub(crate) fn root_select(&self, backend: DbBackend, root: &str, key: &[String]) -> Statement {
        let mut select: SelectStatement = Query::select();
        for column in key {
            select.column(Alias::new(column));
        }
        select.expr(Expr::cust("0"));
        select
            .from(Alias::new(root))
            .cond_where(self.condition_for(key));
        backend.build(&select)
    }

    /// `DELETE FROM root WHERE ...`: the native delete.
    pub(crate) fn delete_statement(
        &self,
        backend: DbBackend,
        root: &str,
        key: &[String],
    ) -> Statement {
        let mut delete: DeleteStatement = Query::delete();
        delete
            .from_table(Alias::new(root))
            .cond_where(self.condition_for(key));
        backend.build(&delete)
    }
}
