//! What each SQL dialect does with a declared rule: the one place those facts live.
//!
//! Comparisons between a declaration and a live catalog go through [`Dialect::effective_action`],
//! so equivalent spellings (MariaDB's RESTRICT for an unstated action, its silent downgrade of
//! SET DEFAULT) never show up as drift.

use std::fmt;

use sea_orm::DbBackend;
use sea_orm::sea_query::{
    Alias, DynIden, IntoIden, MysqlQueryBuilder, PostgresQueryBuilder, QuotedBuilder,
    SqliteQueryBuilder,
};
use serde::{Deserialize, Serialize};

use super::model::FkAction;

/// A database engine the tools speak to; its methods are the per-dialect facts. Serialized and
/// displayed as `sqlite`, `postgres` and `mysql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// SQLite, which enforces FKs only on connections with `PRAGMA foreign_keys = ON`.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB (InnoDB). Spelled `mysql` everywhere, as on the command line (`my_sql`
    /// is still read).
    #[serde(rename = "mysql", alias = "my_sql")]
    MySql,
}

impl Dialect {
    /// Every dialect, in a fixed order (what `migrate generate` checks a change against).
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

    /// The SeaORM backend of this dialect, to build its statements with.
    pub fn backend(self) -> DbBackend {
        match self {
            Dialect::Sqlite => DbBackend::Sqlite,
            Dialect::Postgres => DbBackend::Postgres,
            Dialect::MySql => DbBackend::MySql,
        }
    }

    /// The action the engine really applies when `action` is declared.
    ///
    /// InnoDB checks NO ACTION immediately, exactly like RESTRICT, reads an unstated action back
    /// as RESTRICT, and stores SET DEFAULT as RESTRICT without a word. Compare two rules through
    /// this, never as declared.
    ///
    /// ```
    /// use cascade_entity::rules::{Dialect, FkAction};
    /// assert_eq!(Dialect::MySql.effective_action(FkAction::NoAction), FkAction::Restrict);
    /// assert_eq!(Dialect::MySql.effective_action(FkAction::SetDefault), FkAction::Restrict);
    /// assert_eq!(Dialect::Postgres.effective_action(FkAction::NoAction), FkAction::NoAction);
    /// ```
    pub fn effective_action(self, action: FkAction) -> FkAction {
        match (self, action) {
            (Dialect::MySql, FkAction::NoAction | FkAction::SetDefault) => FkAction::Restrict,
            (_, action) => action,
        }
    }

    /// `name` as a quoted identifier of this dialect (`"a""b"`, `` `a``b` ``): the one quoting
    /// path every identifier we emit goes through. It is sea-query's own quoting, which doubles
    /// the quote character inside the name, so no name can end the identifier early.
    ///
    /// ```
    /// use cascade_entity::rules::Dialect;
    /// assert_eq!(Dialect::Postgres.quote(r#"fk we"ird"#), r#""fk we""ird""#);
    /// assert_eq!(Dialect::MySql.quote("a`b"), "`a``b`");
    /// ```
    pub fn quote(self, name: &str) -> String {
        let iden: DynIden = Alias::new(name).into_iden();
        let mut out = String::with_capacity(name.len() + 2);
        match self {
            Dialect::Sqlite => SqliteQueryBuilder.prepare_iden(&iden, &mut out),
            Dialect::Postgres => PostgresQueryBuilder.prepare_iden(&iden, &mut out),
            Dialect::MySql => MysqlQueryBuilder.prepare_iden(&iden, &mut out),
        }
        out
    }

    /// The text to hand to a sea-query builder's `.name(...)` (constraint and index names):
    /// sea-query wraps those names in quote characters without escaping them, so the builder
    /// receives the inside of [`Dialect::quote`] and the statement carries exactly that quoting.
    pub fn builder_name(self, name: &str) -> String {
        let quoted = self.quote(name);
        quoted[1..quoted.len() - 1].to_owned()
    }

    /// Whether the catalog keeps FK constraint names (SQLite's pragmas expose none).
    pub fn keeps_constraint_names(self) -> bool {
        !matches!(self, Dialect::Sqlite)
    }

    /// Whether the engine creates an index for an FK by itself (InnoDB does, the others never).
    pub fn indexes_foreign_keys(self) -> bool {
        matches!(self, Dialect::MySql)
    }

    /// Whether inserting explicit values into an auto-increment key leaves the key's sequence
    /// behind them (PostgreSQL), so it must be moved past the largest key afterwards.
    pub fn resets_sequences_after_explicit_keys(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// Whether `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` exists (SQLite needs a rebuild).
    pub fn can_add_foreign_key(self) -> bool {
        !matches!(self, Dialect::Sqlite)
    }
}

impl From<DbBackend> for Dialect {
    fn from(backend: DbBackend) -> Dialect {
        match backend {
            DbBackend::Sqlite => Dialect::Sqlite,
            DbBackend::Postgres => Dialect::Postgres,
            _ => Dialect::MySql,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MySql => "mysql",
        })
    }
}
