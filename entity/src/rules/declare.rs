//! Capturing a SeaORM entity's declaration (columns, keys, `belongs_to` rules) as plain data.
//!
//! SeaORM's own entity registry is opaque, so the domain lists its entities explicitly and each is
//! read here through the public traits (`Column::iter`, `PrimaryKey::iter`, `Relation::iter` and
//! `RelationDef`). Nothing is listed per table by hand.

use sea_orm::sea_query::{ColumnType, Expr, Keyword, StringLen, Value};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, ForeignKeyAction, IdenStatic, Iterable,
    PrimaryKeyToColumn, RelationTrait, RelationType, Schema,
};

use super::model::{ColumnDefault, ColumnKind, FkAction, Index};

/// One entity's declaration, ready to become a RuleGraph table.
#[derive(Debug, Clone)]
pub struct EntityDecl {
    /// The entity's table name.
    pub table: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnDecl>,
    /// Primary-key columns in key order.
    pub primary_key: Vec<String>,
    /// Indexes SeaORM derives from `indexed` and `unique_key` attributes.
    pub indexes: Vec<Index>,
    /// The `belongs_to` relations, each with its delete rule.
    pub relations: Vec<RelationDecl>,
}

/// One declared column, with what SeaORM's schema derivation writes for it.
#[derive(Debug, Clone)]
pub struct ColumnDecl {
    /// Column name as the table spells it.
    pub name: String,
    /// The declared sea-query type, mirrored ([`column_kind`]).
    pub kind: ColumnKind,
    /// Whether the column accepts NULL (an `Option` field, or `nullable`).
    pub nullable: bool,
    /// A column-level `unique` attribute.
    pub unique: bool,
    /// Whether SeaORM's derivation writes the column as auto-increment (its primary key's
    /// `auto_increment`).
    pub auto_increment: bool,
    /// The declared `default_value`, if any.
    pub default: Option<ColumnDefault>,
    /// The declared column comment, if any.
    pub comment: Option<String>,
    /// Extra column SQL carried verbatim (SeaORM's `extra`), if any.
    pub extra: Option<String>,
}

/// A `belongs_to` relation as declared on the child (the side that owns the rule).
#[derive(Debug, Clone)]
pub struct RelationDecl {
    /// The referenced (parent) table.
    pub parent_table: String,
    /// Child columns (`from`), in key order.
    pub columns: Vec<String>,
    /// Parent columns (`to`), pairwise with `columns`.
    pub parent_columns: Vec<String>,
    /// `None` when the declaration leaves the delete rule implicit.
    pub on_delete: Option<FkAction>,
    /// `None` when the declaration leaves the update rule implicit.
    pub on_update: Option<FkAction>,
    /// The declared constraint name; `None` takes `fk_<table>_<cols>`
    /// ([`fk_constraint_name`](super::fk_constraint_name)).
    pub fk_name: Option<String>,
    /// Declared `skip_fk`: no database constraint, only our executor applies the rule
    /// ([`Enforcement::OrmOnly`](super::Enforcement::OrmOnly)).
    pub skip_fk: bool,
}

impl EntityDecl {
    /// Reads entity `E` through SeaORM's public traits and its own schema derivation
    /// (`Schema::get_column_def`, `Schema::create_index_from_entity`), so the graph carries
    /// exactly what `Schema::create_table_from_entity` would write.
    pub fn of<E: EntityTrait>() -> EntityDecl {
        // The backend only matters for enum columns, whose raw declaration is read below.
        let schema = Schema::new(DbBackend::Sqlite);
        let columns = E::Column::iter()
            .map(|column| {
                let def = column.def();
                let spec_def = schema.get_column_def::<E>(column);
                let spec = spec_def.get_column_spec();
                ColumnDecl {
                    name: column.as_str().to_owned(),
                    kind: column_kind(def.get_column_type()),
                    nullable: def.is_null(),
                    unique: def.is_unique(),
                    auto_increment: spec.auto_increment,
                    default: def.get_column_default().map(column_default),
                    comment: spec.comment.clone(),
                    extra: spec.extra.clone(),
                }
            })
            .collect();
        let primary_key = E::PrimaryKey::iter()
            .map(|key| key.into_column().as_str().to_owned())
            .collect();
        let indexes = schema
            .create_index_from_entity(E::default())
            .iter()
            .map(|statement| {
                let index = statement.get_index_spec();
                Index {
                    name: index.get_name().map(str::to_owned),
                    columns: index.get_column_names(),
                    unique: statement.is_unique_key(),
                }
            })
            .collect();
        let relations = E::Relation::iter()
            .map(|relation| relation.def())
            .filter(|def| def.rel_type == RelationType::HasOne && !def.is_owner)
            .map(|def| RelationDecl {
                parent_table: def.to_tbl.sea_orm_table().to_string(),
                columns: def.from_col.iter().map(|c| c.to_string()).collect(),
                parent_columns: def.to_col.iter().map(|c| c.to_string()).collect(),
                on_delete: def.on_delete.and_then(fk_action),
                on_update: def.on_update.and_then(fk_action),
                fk_name: def.fk_name.clone(),
                skip_fk: def.skip_fk,
            })
            .collect();
        EntityDecl {
            table: E::default().table_name().to_owned(),
            columns,
            primary_key,
            indexes,
            relations,
        }
    }
}

/// sea-query's action enum is `#[non_exhaustive]`; its Debug spelling is the variant name.
fn fk_action(action: ForeignKeyAction) -> Option<FkAction> {
    FkAction::parse(&format!("{action:?}"))
}

/// Maps SeaORM's column type onto the graph's mirror of it, losslessly for every type an entity
/// can declare (custom types keep their SQL spelling).
pub fn column_kind(column_type: &ColumnType) -> ColumnKind {
    let len = |l: &StringLen| match l {
        StringLen::N(n) => Some(*n),
        _ => None,
    };
    match column_type {
        ColumnType::Char(n) => ColumnKind::Char(*n),
        ColumnType::String(StringLen::Max) => ColumnKind::StringMax,
        ColumnType::String(l) => ColumnKind::String(len(l)),
        ColumnType::Text => ColumnKind::Text,
        ColumnType::Blob => ColumnKind::Blob,
        ColumnType::TinyInteger => ColumnKind::TinyInteger,
        ColumnType::SmallInteger => ColumnKind::SmallInteger,
        ColumnType::Integer => ColumnKind::Integer,
        ColumnType::BigInteger => ColumnKind::BigInteger,
        ColumnType::TinyUnsigned => ColumnKind::TinyUnsigned,
        ColumnType::SmallUnsigned => ColumnKind::SmallUnsigned,
        ColumnType::Unsigned => ColumnKind::Unsigned,
        ColumnType::BigUnsigned => ColumnKind::BigUnsigned,
        ColumnType::Float => ColumnKind::Float,
        ColumnType::Double => ColumnKind::Double,
        ColumnType::Decimal(p) => ColumnKind::Decimal(*p),
        ColumnType::Money(p) => ColumnKind::Money(*p),
        ColumnType::DateTime => ColumnKind::DateTime,
        ColumnType::Timestamp => ColumnKind::Timestamp,
        ColumnType::TimestampWithTimeZone => ColumnKind::TimestampWithTimeZone,
        ColumnType::Time => ColumnKind::Time,
        ColumnType::Date => ColumnKind::Date,
        ColumnType::Year => ColumnKind::Year,
        ColumnType::Binary(n) => ColumnKind::Binary(*n),
        ColumnType::VarBinary(l) => ColumnKind::VarBinary(len(l)),
        ColumnType::Bit(n) => ColumnKind::Bit(*n),
        ColumnType::VarBit(n) => ColumnKind::VarBit(*n),
        ColumnType::Boolean => ColumnKind::Boolean,
        ColumnType::Json => ColumnKind::Json,
        ColumnType::JsonBinary => ColumnKind::JsonBinary,
        ColumnType::Uuid => ColumnKind::Uuid,
        ColumnType::Enum { name, variants } => ColumnKind::Enum {
            name: name.to_string(),
            variants: variants.iter().map(|v| v.to_string()).collect(),
        },
        ColumnType::Array(inner) => ColumnKind::Array(Box::new(column_kind(inner))),
        ColumnType::Vector(n) => ColumnKind::Vector(*n),
        ColumnType::Cidr => ColumnKind::Cidr,
        ColumnType::Inet => ColumnKind::Inet,
        ColumnType::MacAddr => ColumnKind::MacAddr,
        ColumnType::LTree => ColumnKind::LTree,
        ColumnType::Custom(name) => ColumnKind::Other(name.to_string()),
        other => ColumnKind::Other(format!("{other:?}")),
    }
}

fn column_default(expr: &Expr) -> ColumnDefault {
    match expr {
        Expr::Value(value) => match value {
            Value::Bool(Some(b)) => ColumnDefault::Bool(*b),
            Value::TinyInt(Some(i)) => ColumnDefault::Int(i64::from(*i)),
            Value::SmallInt(Some(i)) => ColumnDefault::Int(i64::from(*i)),
            Value::Int(Some(i)) => ColumnDefault::Int(i64::from(*i)),
            Value::BigInt(Some(i)) => ColumnDefault::Int(*i),
            Value::TinyUnsigned(Some(i)) => ColumnDefault::Int(i64::from(*i)),
            Value::SmallUnsigned(Some(i)) => ColumnDefault::Int(i64::from(*i)),
            Value::Unsigned(Some(i)) => ColumnDefault::Int(i64::from(*i)),
            Value::Float(Some(f)) => ColumnDefault::Float(f64::from(*f)),
            Value::Double(Some(f)) => ColumnDefault::Float(*f),
            Value::String(Some(s)) => ColumnDefault::Text(s.clone()),
            Value::Char(Some(c)) => ColumnDefault::Text(c.to_string()),
            _ => ColumnDefault::Sql(render(expr)),
        },
        Expr::Keyword(Keyword::Null) => ColumnDefault::Sql("NULL".to_owned()),
        Expr::Custom(sql) => ColumnDefault::Sql(sql.to_string()),
        other => ColumnDefault::Sql(render(other)),
    }
}

/// An expression as portable SQL text (sea-query's SQLite spelling is plain SQL).
fn render(expr: &Expr) -> String {
    use sea_orm::sea_query::{QueryBuilder, SqliteQueryBuilder};
    let mut sql = String::new();
    SqliteQueryBuilder.prepare_expr(expr, &mut sql);
    sql
}
