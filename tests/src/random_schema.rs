//! Random schemas and data for the differential tests, deterministic in the seed so a failing
//! case can be replayed. The generator produces every shape the engines support that the parity
//! claim covers:
//!
//! - 2–8 tables, single or composite integer keys, self-references and cycles;
//! - FKs with all five ON DELETE actions and all five ON UPDATE actions, NOT NULL or nullable
//!   columns, several FKs between the same two tables, constraint names whose order differs
//!   from declaration order (InnoDB fires in name order, SQLite newest first, PostgreSQL by OID);
//! - UNIQUE FK columns referenced by other FKs (non-primary referenced keys, so an ON DELETE
//!   SET NULL / SET DEFAULT that rewrites them fires the referencing rows' ON UPDATE rule, in
//!   chains);
//! - FK columns that are part of a composite primary key (SET NULL into a key column);
//! - CHECK constraints over FK columns (a rewrite may violate them);
//! - PostgreSQL DEFERRABLE constraints, initially deferred or immediate;
//! - data with NULLs, partly NULL composite keys, pre-existing orphans, and multi-row roots.

use cascade_entity::rules::Dialect;

const ACTIONS: [&str; 5] = [
    "CASCADE",
    "SET NULL",
    "SET DEFAULT",
    "RESTRICT",
    "NO ACTION",
];

/// One generated case: DDL, data (inserted with enforcement off), and the delete.
#[derive(Debug, Clone)]
pub struct RandomCase {
    pub ddl: Vec<String>,
    pub data: Vec<String>,
    pub root: String,
    pub predicate: String,
}

#[derive(Debug, Clone)]
struct Fk {
    name: String,
    columns: Vec<String>,
    parent: usize,
    /// The parent's columns referenced: its key, or one of its UNIQUE FK columns.
    parent_columns: Vec<String>,
    on_delete: &'static str,
    on_update: &'static str,
    not_null: bool,
    unique: bool,
    deferrable: &'static str,
}

#[derive(Debug, Clone)]
struct Tbl {
    name: String,
    key: Vec<String>,
    fks: Vec<Fk>,
    /// `CHECK (column IS NOT NULL OR <first key column> > 3)` on this column.
    check: Option<String>,
}

/// A value of a row: key columns and FK columns by name.
type Row = Vec<(String, Option<i64>)>;

/// A case for `dialect` from `seed`; `None` when the generated data has no row to delete.
pub fn random_case(seed: u64, dialect: Dialect) -> Option<RandomCase> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let count = rng.usize(2..=8);
    let mut tables: Vec<Tbl> = (0..count)
        .map(|i| Tbl {
            name: format!("t{i}"),
            key: if rng.u8(..4) == 0 {
                vec!["k1".into(), "k2".into()]
            } else {
                vec!["id".into()]
            },
            fks: Vec::new(),
            check: None,
        })
        .collect();
    for i in 0..count {
        let fk_count = rng.usize(0..=3);
        // Now and then a second FK to the same parent as the first (several FKs between the
        // same two tables, declared and named in either order), or a self-reference.
        let same_parent = rng.u8(..4) == 0;
        let self_reference = rng.u8(..6) == 0;
        let mut first_parent = None;
        for f in 0..fk_count + usize::from(self_reference) {
            let mut parent = rng.usize(..count);
            if f == fk_count && self_reference {
                parent = i;
            } else if f == 1 && same_parent {
                parent = first_parent.unwrap_or(parent);
            }
            first_parent.get_or_insert(parent);
            let parent_columns = tables[parent].key.clone();
            let width = parent_columns.len();
            let mut columns: Vec<String> = (0..width).map(|c| format!("f{f}_{c}")).collect();
            // Now and then the FK's last column is the table's own second key column.
            let in_key = tables[i].key.len() == 2 && width == 1 && rng.u8(..6) == 0;
            if in_key {
                columns = vec!["k2".into()];
            }
            let mut on_delete = ACTIONS[rng.usize(..ACTIONS.len())];
            if rng.bool() {
                on_delete = "CASCADE";
            }
            // Self-references are the shapes where the engines' row order shows most.
            if parent == i && rng.bool() {
                on_delete = ["NO ACTION", "RESTRICT"][rng.usize(..2)];
            }
            let mut on_update = if rng.u8(..3) == 0 {
                ACTIONS[rng.usize(..ACTIONS.len())]
            } else {
                "NO ACTION"
            };
            let not_null = in_key || rng.u8(..4) == 0;
            // MariaDB refuses SET NULL on a NOT NULL column (a key column included) at CREATE.
            if dialect == Dialect::MySql && not_null {
                if on_delete == "SET NULL" {
                    on_delete = "CASCADE";
                }
                if on_update == "SET NULL" {
                    on_update = "CASCADE";
                }
            }
            let unique = width == 1 && !not_null && !in_key && rng.u8(..5) == 0;
            let deferrable = match (dialect, rng.u8(..10)) {
                (Dialect::Postgres, 0 | 2) => " DEFERRABLE INITIALLY DEFERRED",
                (Dialect::Postgres, 1) => " DEFERRABLE INITIALLY IMMEDIATE",
                _ => "",
            };
            // Names in random order, so name order and declaration order differ.
            let name = format!("{}_{}{f}", tables[i].name, ["a", "m", "z"][rng.usize(..3)]);
            tables[i].fks.push(Fk {
                name,
                columns,
                parent,
                parent_columns,
                on_delete,
                on_update,
                not_null,
                unique,
                deferrable,
            });
        }
    }
    // Second pass: some single-column FKs reference a UNIQUE FK column of their parent instead
    // of its key, so rewriting that column is a key update.
    for i in 0..count {
        for f in 0..tables[i].fks.len() {
            let parent = tables[i].fks[f].parent;
            let target = tables[parent]
                .fks
                .iter()
                .filter(|p| p.unique && !(parent == i && p.columns == tables[i].fks[f].columns))
                .map(|p| p.columns[0].clone())
                .next();
            if let Some(column) = target
                && tables[i].fks[f].columns.len() == 1
                && tables[i].fks[f].columns[0] != "k2"
                && rng.u8(..3) == 0
            {
                tables[i].fks[f].parent_columns = vec![column];
            }
        }
    }
    for table in &mut tables {
        // MariaDB refuses a CHECK on a column whose FK has an action that writes it (1901).
        let writes = |fk: &Fk| {
            [fk.on_delete, fk.on_update]
                .iter()
                .any(|a| matches!(*a, "CASCADE" | "SET NULL" | "SET DEFAULT"))
        };
        let nullable: Vec<&Fk> = table
            .fks
            .iter()
            .filter(|fk| !(fk.not_null || dialect == Dialect::MySql && writes(fk)))
            .collect();
        if let Some(fk) = nullable.first()
            && rng.u8(..4) == 0
        {
            table.check = Some(fk.columns[0].clone());
        }
    }
    let ddl = ddl_for(&tables, dialect);

    // Rows: keys drawn from 1..=6 so FK values can hit, miss (orphans) or be NULL.
    let mut rows: Vec<Vec<Row>> = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let mut table_rows: Vec<Row> = Vec::new();
        let mut keys: Vec<Vec<i64>> = Vec::new();
        for _ in 0..rng.usize(0..=6) {
            let key: Vec<i64> = table.key.iter().map(|_| rng.i64(1..=6)).collect();
            if keys.contains(&key) {
                continue;
            }
            let mut row: Row = table
                .key
                .iter()
                .cloned()
                .zip(key.iter().map(|v| Some(*v)))
                .collect();
            for fk in &table.fks {
                let candidates: Vec<Vec<Option<i64>>> = rows
                    .get(fk.parent)
                    .map(|parent_rows| {
                        parent_rows
                            .iter()
                            .map(|r| {
                                fk.parent_columns
                                    .iter()
                                    .map(|c| value_of(r, c))
                                    .collect::<Vec<_>>()
                            })
                            .filter(|v| v.iter().all(Option::is_some))
                            .collect()
                    })
                    .unwrap_or_default();
                let width = fk.columns.len();
                let roll = rng.u8(..10);
                let mut value: Vec<Option<i64>> = if roll < 6 && !candidates.is_empty() {
                    candidates[rng.usize(..candidates.len())].clone()
                } else if roll < 8 || fk.not_null {
                    (0..width).map(|_| Some(rng.i64(1..=9))).collect()
                } else if width == 2 && roll == 8 {
                    vec![Some(rng.i64(1..=6)), None]
                } else {
                    vec![None; width]
                };
                let used = |value: &Vec<Option<i64>>| {
                    table_rows.iter().any(|r| {
                        fk.columns
                            .iter()
                            .zip(value)
                            .all(|(c, v)| v.is_some() && value_of(r, c) == *v)
                    })
                };
                if fk.unique && used(&value) {
                    value = vec![None; width];
                }
                for (column, v) in fk.columns.iter().zip(value) {
                    match row.iter_mut().find(|(c, _)| c == column) {
                        // An FK column that is also a key column keeps the key's value.
                        Some(_) => {}
                        None => row.push((column.clone(), v)),
                    }
                }
            }
            // The data satisfies the CHECK; only a rewrite may break it.
            if let Some(column) = &table.check
                && key[0] <= 3
                && value_of(&row, column).is_none()
                && let Some(slot) = row.iter_mut().find(|(c, _)| c == column)
            {
                // An orphan value no other row holds (the column may be UNIQUE).
                slot.1 = Some(100 + table_rows.len() as i64);
            }
            keys.push(key);
            table_rows.push(row);
        }
        let _ = t;
        rows.push(table_rows);
    }
    let data = rows
        .iter()
        .zip(&tables)
        .flat_map(|(table_rows, table)| {
            table_rows.iter().map(move |row| {
                let columns: Vec<&str> = row.iter().map(|(c, _)| c.as_str()).collect();
                let values: Vec<String> = row
                    .iter()
                    .map(|(_, v)| v.map_or("NULL".to_owned(), |v| v.to_string()))
                    .collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    columns.join(", "),
                    values.join(", ")
                )
            })
        })
        .collect();

    let candidates: Vec<usize> = (0..count).filter(|t| !rows[*t].is_empty()).collect();
    if candidates.is_empty() {
        return None;
    }
    let root = candidates[rng.usize(..candidates.len())];
    let mut chosen: Vec<&Row> = rows[root].iter().filter(|_| rng.bool()).collect();
    if chosen.is_empty() {
        chosen.push(&rows[root][0]);
    }
    let predicate = chosen
        .iter()
        .map(|row| {
            let parts: Vec<String> = tables[root]
                .key
                .iter()
                .map(|c| format!("{c} = {}", value_of(row, c).unwrap_or(0)))
                .collect();
            format!("({})", parts.join(" AND "))
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    Some(RandomCase {
        ddl,
        data,
        root: tables[root].name.clone(),
        predicate,
    })
}

fn value_of(row: &Row, column: &str) -> Option<i64> {
    row.iter().find(|(c, _)| c == column).and_then(|(_, v)| *v)
}

/// SQLite declares FKs inline (forward references are fine there); the servers get every FK by
/// ALTER TABLE once all tables exist, which also allows cycles.
fn ddl_for(tables: &[Tbl], dialect: Dialect) -> Vec<String> {
    let mut ddl = Vec::new();
    let mut alters = Vec::new();
    for table in tables {
        let mut parts: Vec<String> = table
            .key
            .iter()
            .map(|c| format!("{c} INT NOT NULL"))
            .collect();
        let mut declared: Vec<&str> = table.key.iter().map(String::as_str).collect();
        for fk in &table.fks {
            let set_default = fk.on_delete == "SET DEFAULT" || fk.on_update == "SET DEFAULT";
            for column in &fk.columns {
                if declared.contains(&column.as_str()) {
                    continue;
                }
                declared.push(column);
                let default = if set_default { " DEFAULT 1" } else { "" };
                let null = if fk.not_null { " NOT NULL" } else { " NULL" };
                parts.push(format!("{column} INT{null}{default}"));
            }
        }
        parts.push(format!("PRIMARY KEY ({})", table.key.join(", ")));
        for fk in &table.fks {
            if fk.unique {
                parts.push(format!("UNIQUE ({})", fk.columns.join(", ")));
            }
        }
        if let Some(column) = &table.check {
            parts.push(format!(
                "CONSTRAINT {}_ck CHECK ({column} IS NOT NULL OR {} > 3)",
                table.name, table.key[0]
            ));
        }
        for fk in &table.fks {
            let parent = &tables[fk.parent];
            let clause = format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}{}",
                fk.name,
                fk.columns.join(", "),
                parent.name,
                fk.parent_columns.join(", "),
                fk.on_delete,
                fk.on_update,
                fk.deferrable
            );
            if dialect == Dialect::Sqlite {
                parts.push(clause);
            } else {
                alters.push(format!("ALTER TABLE {} ADD {clause}", table.name));
            }
        }
        ddl.push(format!(
            "CREATE TABLE {} ({})",
            table.name,
            parts.join(", ")
        ));
    }
    ddl.extend(alters);
    ddl
}
