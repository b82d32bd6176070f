//! DDL derived from a RuleGraph: tables in dependency order with their FK constraints and
//! actions, then an index on every FK column set nothing else covers; and the reverse for `down`.
//!
//! Statements are sea-query builders, so quoting and per-backend spelling stay sea-query's job.
//! The only dialect decision made here is where an FK goes: inline in `CREATE TABLE` when its
//! parent already exists (or on SQLite, which does not check references at create time), else
//! added by `ALTER TABLE` once every table of a cycle exists.

use cascade_entity::rules::{
    Column, ColumnDefault, ColumnKind, Dialect, FkAction, ForeignKey, Index, RuleGraph, Table,
};
use sea_orm::sea_query::extension::postgres::{Type, TypeCreateStatement, TypeDropStatement};
use sea_orm::sea_query::{
    Alias, ColumnDef, ColumnType, Expr, ForeignKey as FkBuilder, ForeignKeyAction,
    ForeignKeyCreateStatement, ForeignKeyDropStatement, Index as IndexBuilder,
    IndexCreateStatement, IntoIden, StringLen, Table as TableBuilder, TableCreateStatement,
    TableDropStatement,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use std::collections::BTreeMap;

/// One schema change, kept as a sea-query builder until it is run or printed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DdlStep {
    /// `CREATE TABLE` with columns, keys and the FKs whose parents exist by then.
    CreateTable(TableCreateStatement),
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex(IndexCreateStatement),
    /// `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`: an FK that closes a cycle, added once
    /// every table exists (never on SQLite).
    AddForeignKey(ForeignKeyCreateStatement),
    /// `ALTER TABLE ... DROP CONSTRAINT`: an FK that closes a cycle, dropped before its tables
    /// (never on SQLite).
    DropForeignKey(ForeignKeyDropStatement),
    /// `DROP TABLE IF EXISTS`.
    DropTable(TableDropStatement),
    /// PostgreSQL `CREATE TYPE ... AS ENUM`, for enum columns.
    CreateType(TypeCreateStatement),
    /// PostgreSQL `DROP TYPE IF EXISTS`.
    DropType(TypeDropStatement),
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
            DdlStep::CreateType(s) => backend.build(s).to_string(),
            DdlStep::DropType(s) => backend.build(s).to_string(),
        }
    }

    /// Runs this step on `db` (a connection or a transaction); a failure names the SQL it ran.
    pub async fn apply(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        match self {
            DdlStep::CreateTable(s) => db.execute(s).await,
            DdlStep::CreateIndex(s) => db.execute(s).await,
            DdlStep::AddForeignKey(s) => db.execute(s).await,
            DdlStep::DropForeignKey(s) => db.execute(s).await,
            DdlStep::DropTable(s) => db.execute(s).await,
            DdlStep::CreateType(s) => db.execute(s).await,
            DdlStep::DropType(s) => db.execute(s).await,
        }
        .map(drop)
        .map_err(|e| DbErr::Migration(format!("{e} while running: {}", self.to_sql(backend))))
    }
}

/// Everything `up` runs to create `graph` from an empty schema, in order: PostgreSQL enum types,
/// then each table (parents first) followed by its indexes, then the FKs that close a cycle
/// (none on SQLite, where every FK is inline).
///
/// ```
/// use cascade_entity::rules::{Column, ColumnKind, Deferrable, Dialect, Enforcement};
/// use cascade_entity::rules::{FkAction, ForeignKey, RuleGraph, Table};
/// use cascade_migration::ddl::create_schema;
///
/// let column = |name: &str| Column::new(name, ColumnKind::Integer, false, None);
/// let mut post = Table::named("post");
/// post.columns.push(column("id"));
/// post.primary_key.push("id".into());
/// let mut comment = Table::named("comment");
/// comment.columns.extend([column("id"), column("post_id")]);
/// comment.primary_key.push("id".into());
/// comment.foreign_keys.push(ForeignKey {
///     name: Some("fk_comment_post_id".into()),
///     columns: vec!["post_id".into()],
///     parent_table: "post".into(),
///     parent_columns: vec!["id".into()],
///     on_delete: FkAction::Cascade,
///     on_update: FkAction::NoAction,
///     on_delete_explicit: true,
///     enforcement: Enforcement::Database,
///     deferrable: Deferrable::No,
///     set_null_columns: None,
///     creation_rank: Some(0),
/// });
/// // The index every tool expects on `comment(post_id)`, as the declarations derive it.
/// let graph = RuleGraph { tables: [post, comment].map(|t| (t.name.clone(), t)).into() }
///     .with_fk_indexes();
///
/// let dialect = Dialect::Sqlite;
/// let sql: Vec<String> = create_schema(&graph, dialect)
///     .iter()
///     .map(|step| step.to_sql(dialect.backend()))
///     .collect();
/// assert_eq!(
///     sql,
///     [
///         r#"CREATE TABLE "post" ( "id" integer NOT NULL PRIMARY KEY )"#,
///         concat!(
///             r#"CREATE TABLE "comment" ( "id" integer NOT NULL PRIMARY KEY, "#,
///             r#""post_id" integer NOT NULL, FOREIGN KEY ("post_id") REFERENCES "post" ("id") "#,
///             r#"ON DELETE CASCADE ON UPDATE NO ACTION )"#,
///         ),
///         r#"CREATE INDEX "ix_comment_post_id" ON "comment" ("post_id")"#,
///     ]
/// );
/// ```
pub fn create_schema(graph: &RuleGraph, dialect: Dialect) -> Vec<DdlStep> {
    create_schema_within(graph, graph, dialect)
}

/// Everything that creates the tables of `created` (a part of `full`) next to tables of `full`
/// that already exist: enum types, tables in `full`'s dependency order, each FK inline when its
/// parent exists by then (always on SQLite, which does not check references at create time),
/// else added by `ALTER TABLE` once every new table exists; then each table's indexes.
pub fn create_schema_within(
    created: &RuleGraph,
    full: &RuleGraph,
    dialect: Dialect,
) -> Vec<DdlStep> {
    let order: Vec<&str> = full
        .dependency_order()
        .into_iter()
        .filter(|name| created.table(name).is_some())
        .collect();
    let mut steps = enum_types(created, dialect)
        .into_iter()
        .map(|(name, variants)| {
            DdlStep::CreateType(
                Type::create()
                    .as_enum(Alias::new(name))
                    .values(variants.iter().map(Alias::new))
                    .to_owned(),
            )
        })
        .collect::<Vec<_>>();
    let mut deferred = Vec::new();
    for (position, name) in order.iter().enumerate() {
        let Some(table) = created.table(name) else {
            continue;
        };
        let mut create = create_table(table, dialect);
        for fk in database_fks(table) {
            let parent_exists = created.table(&fk.parent_table).is_none()
                || order[..=position].contains(&fk.parent_table.as_str());
            if parent_exists || !dialect.can_add_foreign_key() {
                create.foreign_key(&mut foreign_key(table, fk, dialect));
            } else {
                deferred.push(DdlStep::AddForeignKey(foreign_key(table, fk, dialect)));
            }
        }
        steps.push(DdlStep::CreateTable(create));
        steps.extend(
            table
                .indexes
                .iter()
                .map(|index| DdlStep::CreateIndex(self::index(table, index, dialect))),
        );
    }
    steps.extend(deferred);
    steps
}

/// `CREATE [UNIQUE] INDEX name ON table (columns)`, the name quoted for `dialect`.
pub(crate) fn index(table: &Table, index: &Index, dialect: Dialect) -> IndexCreateStatement {
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
    builder
}

/// Everything `down` runs to remove `graph`: FKs that close a cycle first, then tables,
/// children before parents, then PostgreSQL's enum types.
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
    steps.extend(
        enum_types(graph, dialect).into_keys().map(|name| {
            DdlStep::DropType(Type::drop().if_exists().name(Alias::new(name)).to_owned())
        }),
    );
    steps
}

/// The enum types a graph's columns use, by name, where the dialect has named enum types
/// (PostgreSQL); elsewhere none.
fn enum_types(graph: &RuleGraph, dialect: Dialect) -> BTreeMap<&str, &[String]> {
    if dialect != Dialect::Postgres {
        return BTreeMap::new();
    }
    graph
        .tables
        .values()
        .flat_map(|t| &t.columns)
        .filter_map(|c| match &c.kind {
            ColumnKind::Enum { name, variants } => Some((name.as_str(), variants.as_slice())),
            _ => None,
        })
        .collect()
}

fn database_fks(table: &Table) -> impl Iterator<Item = &ForeignKey> {
    table
        .foreign_keys
        .iter()
        .filter(|fk| fk.enforcement == cascade_entity::rules::Enforcement::Database)
}

/// `CREATE TABLE` with columns, primary key and unique keys (no FKs), written the way SeaORM's
/// `Schema::create_table_from_entity` writes a declared entity: the same column definitions in
/// the same order, a single-column key inline, a composite key as `pk-<table>`. Names are quoted
/// for `dialect`.
pub fn create_table(table: &Table, dialect: Dialect) -> TableCreateStatement {
    let mut create = TableBuilder::create();
    create.table(Alias::new(&table.name));
    for column in &table.columns {
        create.col(column_def(table, column, dialect));
    }
    if table.primary_key.len() > 1 {
        let mut pk = IndexBuilder::create();
        pk.name(dialect.builder_name(&format!("pk-{}", table.name)))
            .primary();
        for column in &table.primary_key {
            pk.col(Alias::new(column));
        }
        create.primary_key(&mut pk);
    }
    for key in &table.unique_keys {
        let declared_inline =
            matches!(key.as_slice(), [only] if table.column(only).is_some_and(|c| c.unique));
        if declared_inline {
            continue;
        }
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

/// One column's definition as SeaORM writes it (type per dialect, NOT NULL, UNIQUE, default,
/// comment, extra SQL, auto-increment and inline PRIMARY KEY for a single-column key).
pub(crate) fn column_def(table: &Table, column: &Column, dialect: Dialect) -> ColumnDef {
    let mut def = ColumnDef::new_with_type(
        Alias::new(&column.name),
        dialect_column_type(&column.kind, dialect),
    );
    if !column.nullable {
        def.not_null();
    }
    if column.unique {
        def.unique_key();
    }
    if let Some(default) = &column.default {
        def.default(default_expr(default));
    }
    if let Some(comment) = &column.comment {
        def.comment(comment);
    }
    if let Some(extra) = &column.extra {
        def.extra(extra);
    }
    if table.primary_key.contains(&column.name) {
        if column.auto_increment {
            def.auto_increment();
        }
        if table.primary_key.len() == 1 {
            def.primary_key();
        }
    }
    def
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

/// The column type as SeaORM writes it for `dialect`: enums become PostgreSQL's named type or
/// MariaDB's inline `ENUM(...)`; everything else is the declared sea-query type.
fn dialect_column_type(kind: &ColumnKind, dialect: Dialect) -> ColumnType {
    match (kind, dialect) {
        (ColumnKind::Enum { variants, .. }, Dialect::MySql) => {
            let quoted: Vec<String> = variants
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect();
            ColumnType::custom(format!("ENUM({})", quoted.join(", ")))
        }
        (ColumnKind::Enum { name, .. }, Dialect::Postgres) => {
            ColumnType::Custom(Alias::new(name).into_iden())
        }
        _ => column_type(kind),
    }
}

/// The sea-query type a graph column kind mirrors (the inverse of
/// `cascade_entity::rules::column_kind`).
pub(crate) fn column_type(kind: &ColumnKind) -> ColumnType {
    let len = |n: &Option<u32>| n.map_or(StringLen::None, StringLen::N);
    match kind {
        ColumnKind::Char(n) => ColumnType::Char(*n),
        ColumnKind::String(n) => ColumnType::String(len(n)),
        ColumnKind::StringMax => ColumnType::String(StringLen::Max),
        ColumnKind::Text => ColumnType::Text,
        ColumnKind::Blob => ColumnType::Blob,
        ColumnKind::TinyInteger => ColumnType::TinyInteger,
        ColumnKind::SmallInteger => ColumnType::SmallInteger,
        ColumnKind::Integer => ColumnType::Integer,
        ColumnKind::BigInteger => ColumnType::BigInteger,
        ColumnKind::TinyUnsigned => ColumnType::TinyUnsigned,
        ColumnKind::SmallUnsigned => ColumnType::SmallUnsigned,
        ColumnKind::Unsigned => ColumnType::Unsigned,
        ColumnKind::BigUnsigned => ColumnType::BigUnsigned,
        ColumnKind::Float => ColumnType::Float,
        ColumnKind::Double => ColumnType::Double,
        ColumnKind::Decimal(p) => ColumnType::Decimal(*p),
        ColumnKind::Money(p) => ColumnType::Money(*p),
        ColumnKind::DateTime => ColumnType::DateTime,
        ColumnKind::Timestamp => ColumnType::Timestamp,
        ColumnKind::TimestampWithTimeZone => ColumnType::TimestampWithTimeZone,
        ColumnKind::Time => ColumnType::Time,
        ColumnKind::Date => ColumnType::Date,
        ColumnKind::Year => ColumnType::Year,
        ColumnKind::Binary(n) => ColumnType::Binary(*n),
        ColumnKind::VarBinary(n) => ColumnType::VarBinary(len(n)),
        ColumnKind::Bit(n) => ColumnType::Bit(*n),
        ColumnKind::VarBit(n) => ColumnType::VarBit(*n),
        ColumnKind::Boolean => ColumnType::Boolean,
        ColumnKind::Json => ColumnType::Json,
        ColumnKind::JsonBinary => ColumnType::JsonBinary,
        ColumnKind::Uuid => ColumnType::Uuid,
        ColumnKind::Enum { name, variants } => ColumnType::Enum {
            name: Alias::new(name).into_iden(),
            variants: variants.iter().map(|v| Alias::new(v).into_iden()).collect(),
        },
        ColumnKind::Array(inner) => ColumnType::Array(column_type(inner).into()),
        ColumnKind::Vector(n) => ColumnType::Vector(*n),
        ColumnKind::Cidr => ColumnType::Cidr,
        ColumnKind::Inet => ColumnType::Inet,
        ColumnKind::MacAddr => ColumnType::MacAddr,
        ColumnKind::LTree => ColumnType::LTree,
        ColumnKind::Other(spelling) => ColumnType::custom(spelling.clone()),
        _ => ColumnType::custom("TEXT"),
    }
}

/// A column default as a sea-query expression (literals bound, catalog text verbatim).
pub fn default_expr(default: &ColumnDefault) -> Expr {
    match default {
        ColumnDefault::Bool(b) => Expr::val(*b),
        ColumnDefault::Int(i) => Expr::val(*i),
        ColumnDefault::Float(f) => Expr::val(*f),
        ColumnDefault::Text(s) => Expr::val(s.as_str()),
        ColumnDefault::Sql(sql) => Expr::cust(sql.clone()),
        _ => Expr::cust("NULL"),
    }
}
