//! The RuleGraph: the one runtime model of tables, keys and foreign keys with their delete rules.
//!
//! It is built either from entity declarations ([`super::build`]) or from a live database's
//! catalog (the `migration` crate's introspection), and everything else consumes it. Names are
//! plain strings as the database spells them; lookups go through the table map, which keeps
//! output deterministic (tables sorted by name).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tables keyed by name, each carrying its own foreign keys (the child side owns the rule).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleGraph {
    /// Every table, keyed by its name (the same as its [`Table::name`]).
    pub tables: BTreeMap<String, Table>,
}

/// One table: its columns, keys, indexes and CHECKs, and the foreign keys it holds as the child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Table name as the database spells it (the key of [`RuleGraph::tables`]).
    pub name: String,
    /// Columns in their declared (or catalog) order.
    pub columns: Vec<Column>,
    /// Primary-key columns in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    /// Unique keys other than the primary key, each in key order.
    pub unique_keys: Vec<Vec<String>>,
    /// Secondary indexes (unique or not), including the FK indexes the migration derives.
    pub indexes: Vec<Index>,
    /// Foreign keys held by this table, in declaration (or creation) order.
    pub foreign_keys: Vec<ForeignKey>,
    /// CHECK constraints, as the catalog spells their expressions (a rewrite can break them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// A CHECK constraint: its name where the source keeps one, and its boolean expression as SQL of
/// the table's dialect (unqualified column names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name; `None` for an unnamed CHECK in SQLite's schema text.
    pub name: Option<String>,
    /// The expression without the `CHECK` keyword, as the catalog prints it (on SQLite, as
    /// sqlparser prints the schema text's expression).
    pub expression: String,
}

/// One column: its type, nullability and default, and the column-level attributes SeaORM's own
/// table derivation writes (auto-increment, UNIQUE, comment, extra SQL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name as the database spells it.
    pub name: String,
    /// The column's type.
    pub kind: ColumnKind,
    /// Whether the column accepts NULL.
    pub nullable: bool,
    /// The column default, if any.
    pub default: Option<ColumnDefault>,
    /// The key column takes its value from the database when an insert leaves it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_increment: bool,
    /// A column-level `UNIQUE` (as declared; catalogs report unique keys in `unique_keys`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// The column comment, where the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Extra column SQL a declaration carries verbatim (SeaORM's `extra`, e.g. a CHECK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

impl Column {
    /// A column with no attributes beyond type, nullability and default.
    pub fn new(
        name: impl Into<String>,
        kind: ColumnKind,
        nullable: bool,
        default: Option<ColumnDefault>,
    ) -> Column {
        Column {
            name: name.into(),
            kind,
            nullable,
            default,
            auto_increment: false,
            unique: false,
            comment: None,
            extra: None,
        }
    }
}

/// A column's type: a lossless mirror of sea-query's `ColumnType` (what SeaORM entities declare),
/// so DDL derived from a graph is exactly SeaORM's, plus [`ColumnKind::Other`] for catalog
/// spellings no declaration produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "arg")]
#[non_exhaustive]
pub enum ColumnKind {
    /// `CHAR(n)`.
    Char(Option<u32>),
    /// `VARCHAR(n)`; `None` is the backend's default length.
    String(Option<u32>),
    /// `VARCHAR(MAX)`-like unbounded strings (sea-query's `StringLen::Max`).
    StringMax,
    /// `TEXT`: a string of any length.
    Text,
    /// Binary data of any length (`bytea` on PostgreSQL).
    Blob,
    /// 8-bit signed integer (`i8`); PostgreSQL has none and writes `smallint`.
    TinyInteger,
    /// 16-bit signed integer (`i16`).
    SmallInteger,
    /// 32-bit signed integer (`i32`).
    Integer,
    /// 64-bit signed integer (`i64`).
    BigInteger,
    /// 8-bit unsigned integer (`u8`): `UNSIGNED` on MariaDB, a wider signed type on PostgreSQL.
    TinyUnsigned,
    /// 16-bit unsigned integer (`u16`): `UNSIGNED` on MariaDB, a wider signed type on PostgreSQL.
    SmallUnsigned,
    /// 32-bit unsigned integer (`u32`): `UNSIGNED` on MariaDB, `bigint` on PostgreSQL.
    Unsigned,
    /// 64-bit unsigned integer (`u64`): `UNSIGNED` on MariaDB; PostgreSQL writes `bigint`, which
    /// holds nothing above `i64::MAX`.
    BigUnsigned,
    /// Single precision (`f32`).
    Float,
    /// Double precision (`f64`).
    Double,
    /// `DECIMAL(precision, scale)`.
    Decimal(Option<(u32, u32)>),
    /// A currency amount (`money` on PostgreSQL, `DECIMAL` on MariaDB), with an optional
    /// (precision, scale) as for [`ColumnKind::Decimal`].
    Money(Option<(u32, u32)>),
    /// Date and time without a time zone.
    DateTime,
    /// `TIMESTAMP` as the backend spells it (without a time zone on PostgreSQL).
    Timestamp,
    /// Date and time with a time zone (`DateTimeUtc`, `timestamptz`).
    TimestampWithTimeZone,
    /// Time of day, without a date.
    Time,
    /// Calendar date, without a time.
    Date,
    /// MariaDB `YEAR` (sea-query cannot write it for PostgreSQL or SQLite).
    Year,
    /// `BINARY(n)`: exactly `n` bytes (`bytea` on PostgreSQL).
    Binary(u32),
    /// `VARBINARY(n)`: at most `n` bytes (`bytea` on PostgreSQL); `None` is the backend's
    /// default length.
    VarBinary(Option<u32>),
    /// `BIT(n)`: a bit string of `n` bits (not on SQLite).
    Bit(Option<u32>),
    /// `VARBIT(n)`: a bit string of at most `n` bits (not on SQLite).
    VarBit(u32),
    /// Boolean (MariaDB's `tinyint(1)` reads back as this).
    Boolean,
    /// JSON as text (`json`; MariaDB's `LONGTEXT` with a `json_valid` check reads back as this).
    Json,
    /// PostgreSQL's binary `jsonb`; the other backends write plain JSON.
    JsonBinary,
    /// A UUID (`uuid` on PostgreSQL, `binary(16)` on MariaDB, text on SQLite).
    Uuid,
    /// A database enum type (PostgreSQL `CREATE TYPE`, MariaDB `ENUM(...)`).
    Enum {
        /// The type's name (PostgreSQL's `CREATE TYPE`); empty when read from MariaDB, whose
        /// enums are inline and unnamed.
        name: String,
        /// The allowed values, in declaration order.
        variants: Vec<String>,
    },
    /// A PostgreSQL array of the inner kind (PostgreSQL only).
    Array(Box<ColumnKind>),
    /// A pgvector `vector(n)` of `n` dimensions (PostgreSQL only).
    Vector(Option<u32>),
    /// A PostgreSQL `cidr` network (PostgreSQL only).
    Cidr,
    /// A PostgreSQL `inet` host or network address (PostgreSQL only).
    Inet,
    /// A PostgreSQL `macaddr` (PostgreSQL only).
    MacAddr,
    /// A PostgreSQL `ltree` label path (PostgreSQL only).
    LTree,
    /// Anything else, spelled as the source spelled it (a catalog type, a custom SQL type).
    Other(String),
}

impl ColumnKind {
    /// Whether values of this kind are integers (keys of this kind can be numbered).
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ColumnKind::TinyInteger
                | ColumnKind::SmallInteger
                | ColumnKind::Integer
                | ColumnKind::BigInteger
                | ColumnKind::TinyUnsigned
                | ColumnKind::SmallUnsigned
                | ColumnKind::Unsigned
                | ColumnKind::BigUnsigned
        )
    }

    /// Whether values of this kind are character strings.
    pub fn is_text(&self) -> bool {
        matches!(
            self,
            ColumnKind::Char(_) | ColumnKind::String(_) | ColumnKind::StringMax | ColumnKind::Text
        )
    }
}

/// A column default: literal values from declarations, raw SQL text from a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
#[non_exhaustive]
pub enum ColumnDefault {
    /// A boolean literal.
    Bool(bool),
    /// An integer literal, of any declared width.
    Int(i64),
    /// A floating-point literal (an `f32` default widened).
    Float(f64),
    /// A string (or `char`) literal, unquoted.
    Text(String),
    /// An expression (or a catalog's spelling of a default) kept verbatim.
    Sql(String),
}

/// A secondary index of a table (the primary key and catalog unique keys are not indexes here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Index name; `None` when the source has no name for it.
    pub name: Option<String>,
    /// Indexed columns in index order; lookups are served by a prefix of them.
    pub columns: Vec<String>,
    /// Whether the index is UNIQUE; catalog readers never set it, reporting a unique index as
    /// one of [`Table::unique_keys`] instead.
    pub unique: bool,
}

/// A referential action, normalised across dialect spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// Refuse while children still reference the parent when the statement ends (at COMMIT
    /// when deferred); InnoDB checks it at once, like RESTRICT. The rule of an unstated action.
    NoAction,
    /// Refuse while children reference the parent, checked at once and never deferred.
    Restrict,
    /// Delete the referencing child rows too (on update: carry the new key over to them).
    Cascade,
    /// Set the child's FK columns to NULL (PostgreSQL may name a subset,
    /// [`ForeignKey::set_null_columns`]); the columns must be nullable.
    SetNull,
    /// Set the child's FK columns to their defaults; InnoDB stores it as RESTRICT
    /// ([`Dialect::effective_action`](super::Dialect::effective_action)).
    SetDefault,
}

impl FkAction {
    /// The SQL spelling, as written after `ON DELETE`.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }

    /// Parses any catalog spelling (`SET NULL`, `set_null`, `SetNull`, `cascade`, ...).
    pub fn parse(text: &str) -> Option<FkAction> {
        let key: String = text
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "noaction" => Some(FkAction::NoAction),
            "restrict" => Some(FkAction::Restrict),
            "cascade" => Some(FkAction::Cascade),
            "setnull" => Some(FkAction::SetNull),
            "setdefault" => Some(FkAction::SetDefault),
            _ => None,
        }
    }
}

impl std::fmt::Display for FkAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sql())
    }
}

/// Who enforces a rule: the database (an FK constraint) or only our ORM-level executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// An FK constraint in the database and our executor, both.
    Database,
    /// Declared with `skip_fk`: no constraint, only our executor applies the rule.
    OrmOnly,
}

/// When the database checks a constraint (PostgreSQL only; others are always immediate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deferrable {
    /// `NOT DEFERRABLE`: checked no later than the end of its statement.
    #[default]
    No,
    /// `DEFERRABLE INITIALLY IMMEDIATE`: checked per statement unless a transaction says
    /// `SET CONSTRAINTS ... DEFERRED`.
    InitiallyImmediate,
    /// `DEFERRABLE INITIALLY DEFERRED`: a NO ACTION check waits for COMMIT.
    InitiallyDeferred,
}

/// A foreign key as its child table holds it: which columns reference which parent key, the
/// delete and update rules, and how the engine applies them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name; `None` where the source keeps none (SQLite).
    pub name: Option<String>,
    /// Child columns, in key order.
    pub columns: Vec<String>,
    /// The referenced (parent) table.
    pub parent_table: String,
    /// Referenced columns, pairwise with `columns`.
    pub parent_columns: Vec<String>,
    /// What deleting a referenced parent row does (NO ACTION when a declaration leaves it
    /// unstated, see `on_delete_explicit`).
    pub on_delete: FkAction,
    /// What changing a referenced parent key does (NO ACTION when unstated).
    pub on_update: FkAction,
    /// Whether the source stated the delete rule (declarations may leave it implicit;
    /// catalogs always state one).
    pub on_delete_explicit: bool,
    /// Whether a database constraint exists, or only our executor applies the rule.
    pub enforcement: Enforcement,
    /// When the database checks it ([`Deferrable::No`] from declarations, SQLite and MariaDB).
    pub deferrable: Deferrable,
    /// PostgreSQL 15 `ON DELETE SET NULL (cols)`: the subset of `columns` that is nulled.
    pub set_null_columns: Option<Vec<String>>,
    /// Position in the engine's creation order among this table's FKs (declaration order for
    /// declarations and SQLite, constraint creation order for PostgreSQL, `None` where the
    /// catalog does not record it: MariaDB fires in constraint-name order instead).
    pub creation_rank: Option<u32>,
}

impl RuleGraph {
    /// The table named `name`, if the graph has it.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Every foreign key with the table that holds it, tables in name order.
    pub fn foreign_keys(&self) -> impl Iterator<Item = (&Table, &ForeignKey)> {
        self.tables
            .values()
            .flat_map(|t| t.foreign_keys.iter().map(move |fk| (t, fk)))
    }

    /// Foreign keys that reference `parent`, with the child table holding each.
    pub fn referencing<'a>(
        &'a self,
        parent: &'a str,
    ) -> impl Iterator<Item = (&'a Table, &'a ForeignKey)> + 'a {
        self.foreign_keys()
            .filter(move |(_, fk)| fk.parent_table == parent)
    }

    /// Table names ordered so that every parent comes before its children, ignoring
    /// self-references. A cycle is broken at its first table in name order, so the result is
    /// deterministic; an FK whose parent comes later in this order is a back edge.
    pub fn dependency_order(&self) -> Vec<&str> {
        let mut placed: Vec<&str> = Vec::with_capacity(self.tables.len());
        let mut remaining: Vec<&Table> = self.tables.values().collect();
        while !remaining.is_empty() {
            let before = remaining.len();
            remaining.retain(|t| {
                let ready = t.foreign_keys.iter().all(|fk| {
                    fk.parent_table == t.name
                        || placed.contains(&fk.parent_table.as_str())
                        || !self.tables.contains_key(&fk.parent_table)
                });
                if ready {
                    placed.push(t.name.as_str());
                }
                !ready
            });
            if remaining.len() == before {
                // A cycle: break it at the first remaining table (name order), deterministically.
                let first = remaining.remove(0);
                placed.push(first.name.as_str());
            }
        }
        placed
    }
}

impl Table {
    /// A table with a name and nothing else yet (catalog readers fill it in).
    pub fn named(name: impl Into<String>) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The column named `name` (exact spelling), if the table has it.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True when every one of `columns` exists and accepts NULL.
    pub fn all_nullable(&self, columns: &[String]) -> bool {
        columns
            .iter()
            .all(|c| self.column(c).is_some_and(|c| c.nullable))
    }

    /// True when some key or index can serve lookups on exactly `columns`: its leading
    /// columns are the same set (in any order).
    pub fn has_index_covering(&self, columns: &[String]) -> bool {
        let covers = |key: &[String]| {
            key.len() >= columns.len()
                && columns
                    .iter()
                    .all(|c| key[..columns.len()].iter().any(|k| k == c))
        };
        covers(&self.primary_key)
            || self.unique_keys.iter().any(|k| covers(k))
            || self.indexes.iter().any(|i| covers(&i.columns))
    }

    /// True when `columns` (as a set) is the primary key or a unique key, i.e. a valid FK target.
    pub fn is_key(&self, columns: &[String]) -> bool {
        let same_set =
            |key: &[String]| key.len() == columns.len() && columns.iter().all(|c| key.contains(c));
        same_set(&self.primary_key)
            || self.unique_keys.iter().any(|k| same_set(k))
            || self
                .indexes
                .iter()
                .any(|i| i.unique && same_set(&i.columns))
    }
}

impl ForeignKey {
    /// A readable label: `child(col, ...) -> parent(col, ...)`.
    pub fn describe(&self, child: &str) -> String {
        format!(
            "{child}({}) -> {}({})",
            self.columns.join(", "),
            self.parent_table,
            self.parent_columns.join(", ")
        )
    }
}
