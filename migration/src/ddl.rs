//! DDL derived from a RuleGraph: tables in dependency order with their FK constraints and
//! actions, then an index on every FK column set nothing else covers; and the reverse for `down`.
//!
//! Statements are sea-query builders, so quoting and per-backend spelling stay sea-query's job.
//! The only dialect decision made here is where an FK goes: inline in `CREATE TABLE` when its
//! parent already exists (or on SQLite, which does not check references at create time), else
//! added by `ALTER TABLE` once every table of a cycle exists.

use entity::rules::{ColumnDefault, ColumnKind, Dialect, FkAction, ForeignKey, RuleGraph, Table};
use sea_orm::sea_query::{
    Alias, ColumnDef, ColumnType, Expr, ForeignKey as FkBuilder, ForeignKeyAction,
    ForeignKeyCreateStatement, ForeignKeyDropStatement, Index as IndexBuilder,
    IndexCreateStatement, StringLen, Table as TableBuilder, TableCreateStatement,
    TableDropStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

/// One schema change, kept as a sea-query builder until it is run or printed.
#[derive(Debug, Clone)]
pub enum DdlStep {
    CreateTable(TableCreateStatement),
    CreateIndex(IndexCreateStatement),
    AddForeignKey(ForeignKeyCreateStatement),
    DropForeignKey(ForeignKeyDropStatement),
    DropTable(TableDropStatement),
}

impl DdlStep {
    /// The SQL this step runs on `backend`.
    pub fn to_sql(&self, backend: DbBackend) -> String {
        match self {
            DdlStep::CreateTable(s) => backend.build(s).to_string(),
            DdlStep::CreateIndex(s) => backend.build(s).to_string(),
            DdlStep::AddForeignKey(s) => backend.build(s).to_string(),
            DdlStep::DropForeignKey(s) => backend.build(s).to_string(),
            DdlStep::DropTable(s) => backend.build(s).to_string(),
        }
    }

    pub async fn apply(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        match self {
            DdlStep::CreateTable(s) => db.execute(s).await,
            DdlStep::CreateIndex(s) => db.execute(s).await,
            DdlStep::AddForeignKey(s) => db.execute(s).await,
            DdlStep::DropForeignKey(s) => db.execute(s).await,
            DdlStep::DropTable(s) => db.execute(s).await,
        }
        .map(drop)
        .map_err(|e| DbErr::Migration(format!("{e} while running: {}", self.to_sql(backend))))
    }
}

/// Everything `up` runs to create `graph` from an empty schema.
pub fn create_schema(graph: &RuleGraph, dialect: Dialect) -> Vec<DdlStep> {
    let order = graph.dependency_order();
    let mut steps = Vec::new();
    let mut deferred = Vec::new();
    for (position, name) in order.iter().enumerate() {
        let Some(table) = graph.table(name) else {
            continue;
        };
        let mut create = create_table(table, dialect);
        for fk in database_fks(table) {
            let parent_exists = order[..=position].contains(&fk.parent_table.as_str());
            if parent_exists || !dialect.can_add_foreign_key() {
                create.foreign_key(&mut foreign_key(table, fk, dialect));
            } else {
                deferred.push(DdlStep::AddForeignKey(foreign_key(table, fk, dialect)));
            }
        }
        steps.push(DdlStep::CreateTable(create));
        steps.extend(table.indexes.iter().map(|index| {
            let mut builder = IndexBuilder::create();
            builder.table(Alias::new(&table.name));
            if let Some(name) = &index.name {
                builder.name(dialect.builder_name(name));
            }
            if index.unique {
                builder.unique();
            }
            for column in &index.columns {
                builder.col(Alias::new(column));
            }
            DdlStep::CreateIndex(builder)
        }));
    }
    steps.extend(deferred);
    steps
}

/// Everything `down` runs to remove `graph`: FKs that close a cycle first, then tables,
/// children before parents.
pub fn drop_schema(graph: &RuleGraph, dialect: Dialect) -> Vec<DdlStep> {
    let order = graph.dependency_order();
    let mut steps = Vec::new();
    if dialect.can_add_foreign_key() {
        for (position, name) in order.iter().enumerate() {
            let Some(table) = graph.table(name) else {
                continue;
            };
            for fk in database_fks(table) {
                let back_edge = !order[..=position].contains(&fk.parent_table.as_str());
                if let (true, Some(fk_name)) = (back_edge, &fk.name) {
                    steps.push(DdlStep::DropForeignKey(
                        FkBuilder::drop()
                            .name(dialect.builder_name(fk_name))
                            .table(Alias::new(&table.name))
                            .to_owned(),
                    ));
                }
            }
        }
    }
    steps.extend(order.iter().rev().map(|name| {
        DdlStep::DropTable(
            TableBuilder::drop()
                .table(Alias::new(*name))
                .if_exists()
                .to_owned(),
        )
    }));
    steps
}

fn database_fks(table: &Table) -> impl Iterator<Item = &ForeignKey> {
    table
        .foreign_keys
        .iter()
        .filter(|fk| fk.enforcement == entity::rules::Enforcement::Database)
}

/// `CREATE TABLE` with columns, primary key and unique keys (no FKs); names quoted for `dialect`.
pub(crate) fn create_table(table: &Table, dialect: Dialect) -> TableCreateStatement {
    let mut create = TableBuilder::create();
    create.table(Alias::new(&table.name));
    for column in &table.columns {
        let mut def = ColumnDef::new_with_type(Alias::new(&column.name), column_type(&column.kind));
        if column.nullable {
            def.null();
        } else {
            def.not_null();
        }
        if let Some(default) = &column.default {
            def.default(default_expr(default));
        }
        create.col(&mut def);
    }
    if !table.primary_key.is_empty() {
        let mut pk = IndexBuilder::create();
        for column in &table.primary_key {
            pk.col(Alias::new(column));
        }
        create.primary_key(&mut pk);
    }
    for key in &table.unique_keys {
        let mut unique = IndexBuilder::create();
        unique
            .unique()
            .name(dialect.builder_name(&format!("uq_{}_{}", table.name, key.join("_"))));
        for column in key {
            unique.col(Alias::new(column));
        }
        create.index(&mut unique);
    }
    create
}

/// The FK constraint of `table`, its name quoted for `dialect`.
pub(crate) fn foreign_key(
    table: &Table,
    fk: &ForeignKey,
    dialect: Dialect,
) -> ForeignKeyCreateStatement {
    let mut builder = FkBuilder::create();
    if let Some(name) = &fk.name {
        builder.name(dialect.builder_name(name));
    }
    builder
        .from_tbl(Alias::new(&table.name))
        .to_tbl(Alias::new(&fk.parent_table))
        .on_delete(fk_action(fk.on_delete))
        .on_update(fk_action(fk.on_update));
    for (column, parent_column) in fk.columns.iter().zip(&fk.parent_columns) {
        builder
            .from_col(Alias::new(column))
            .to_col(Alias::new(parent_column));
    }
    builder
}

fn fk_action(action: FkAction) -> ForeignKeyAction {
    match action {
        FkAction::NoAction => ForeignKeyAction::NoAction,
        FkAction::Restrict => ForeignKeyAction::Restrict,
        FkAction::Cascade => ForeignKeyAction::Cascade,
        FkAction::SetNull => ForeignKeyAction::SetNull,
        FkAction::SetDefault => ForeignKeyAction::SetDefault,
    }
}

fn column_type(kind: &ColumnKind) -> ColumnType {
    match kind {
        ColumnKind::String(Some(n)) => ColumnType::String(StringLen::N(*n)),
        ColumnKind::String(None) => ColumnType::String(StringLen::None),
        ColumnKind::Text => ColumnType::Text,
        ColumnKind::Integer => ColumnType::Integer,
        ColumnKind::BigInteger => ColumnType::BigInteger,
        ColumnKind::Float => ColumnType::Double,
        ColumnKind::Boolean => ColumnType::Boolean,
        ColumnKind::Json => ColumnType::Json,
        ColumnKind::Timestamp => ColumnType::DateTime,
        ColumnKind::Other(spelling) => ColumnType::Custom(Alias::new(spelling).into()),
    }
}

fn default_expr(default: &ColumnDefault) -> Expr {
    match default {
        ColumnDefault::Bool(b) => Expr::val(*b),
        ColumnDefault::Int(i) => Expr::val(*i),
        ColumnDefault::Text(s) => Expr::val(s.as_str()),
        ColumnDefault::Sql(sql) => Expr::cust(sql.clone()),
    }
}
