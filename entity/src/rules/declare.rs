//! Capturing a SeaORM entity's declaration (columns, keys, `belongs_to` rules) as plain data.
//!
//! SeaORM's own entity registry is opaque, so the domain lists its entities explicitly and each is
//! read here through the public traits (`Column::iter`, `PrimaryKey::iter`, `Relation::iter` and
//! `RelationDef`). Nothing is listed per table by hand.

use sea_orm::sea_query::{ColumnType, SimpleExpr, StringLen, Value};
use sea_orm::{
    ColumnTrait, EntityTrait, ForeignKeyAction, IdenStatic, Iterable, PrimaryKeyToColumn,
    RelationTrait, RelationType,
};

use super::model::{ColumnDefault, ColumnKind, FkAction};

/// One entity's declaration, ready to become a RuleGraph table.
#[derive(Debug, Clone)]
pub struct EntityDecl {
    pub table: String,
    pub columns: Vec<ColumnDecl>,
    pub primary_key: Vec<String>,
    pub relations: Vec<RelationDecl>,
}

#[derive(Debug, Clone)]
pub struct ColumnDecl {
    pub name: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub unique: bool,
    pub default: Option<ColumnDefault>,
}

/// A `belongs_to` relation as declared on the child (the side that owns the rule).
#[derive(Debug, Clone)]
pub struct RelationDecl {
    pub parent_table: String,
    pub columns: Vec<String>,
    pub parent_columns: Vec<String>,
    /// `None` when the declaration leaves the delete rule implicit.
    pub on_delete: Option<FkAction>,
    pub on_update: Option<FkAction>,
    pub fk_name: Option<String>,
    pub skip_fk: bool,
}

impl EntityDecl {
    /// Reads entity `E` through SeaORM's public traits.
    pub fn of<E: EntityTrait>() -> EntityDecl {
        let columns = E::Column::iter()
            .map(|column| {
                let def = column.def();
                ColumnDecl {
                    name: column.as_str().to_owned(),
                    kind: column_kind(def.get_column_type()),
                    nullable: def.is_null(),
                    unique: def.is_unique(),
                    default: def.get_column_default().map(column_default),
                }
            })
            .collect();
        let primary_key = E::PrimaryKey::iter()
            .map(|key| key.into_column().as_str().to_owned())
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
            relations,
        }
    }
}

/// sea-query's action enum is `#[non_exhaustive]`; its Debug spelling is the variant name.
fn fk_action(action: ForeignKeyAction) -> Option<FkAction> {
    FkAction::parse(&format!("{action:?}"))
}

/// Maps SeaORM's column type onto the portable kind the RuleGraph keeps.
pub fn column_kind(column_type: &ColumnType) -> ColumnKind {
    match column_type {
        ColumnType::String(StringLen::N(n)) => ColumnKind::String(Some(*n)),
        ColumnType::String(_) => ColumnKind::String(None),
        ColumnType::Char(n) => ColumnKind::String(*n),
        ColumnType::Text => ColumnKind::Text,
        ColumnType::TinyInteger | ColumnType::SmallInteger | ColumnType::Integer => {
            ColumnKind::Integer
        }
        ColumnType::BigInteger => ColumnKind::BigInteger,
        ColumnType::Float | ColumnType::Double => ColumnKind::Float,
        ColumnType::Boolean => ColumnKind::Boolean,
        ColumnType::Json | ColumnType::JsonBinary => ColumnKind::Json,
        ColumnType::DateTime | ColumnType::Timestamp | ColumnType::TimestampWithTimeZone => {
            ColumnKind::Timestamp
        }
        other => ColumnKind::Other(format!("{other:?}")),
    }
}

fn column_default(expr: &SimpleExpr) -> ColumnDefault {
    match expr {
        SimpleExpr::Value(Value::Bool(Some(b))) => ColumnDefault::Bool(*b),
        SimpleExpr::Value(Value::Int(Some(i))) => ColumnDefault::Int(i64::from(*i)),
        SimpleExpr::Value(Value::BigInt(Some(i))) => ColumnDefault::Int(*i),
        SimpleExpr::Value(Value::String(Some(s))) => ColumnDefault::Text(s.clone()),
        SimpleExpr::Custom(sql) => ColumnDefault::Sql(sql.to_string()),
        other => ColumnDefault::Sql(format!("{other:?}")),
    }
}
