//! Random schemas and data for the differential tests: 2–8 tables, single or composite integer
//! keys, self-references and cycles, nullable and NOT NULL FK columns, all five actions, an
//! occasional UNIQUE on an FK column, and data with NULLs, partly NULL composite keys and
//! pre-existing orphans. Deterministic in the seed, so a failing case can be replayed.

use cascade_entity::rules::Dialect;

const ACTIONS: [&str; 5] = [
    "CASCADE",
    "SET NULL",
    "SET DEFAULT",
    "RESTRICT",
    "NO ACTION",
];

#[derive(Debug, Clone)]
pub struct RandomCase {
    pub ddl: Vec<String>,
    pub data: Vec<String>,
    pub root: String,
    pub predicate: String,
}

#[derive(Debug, Clone)]
struct Fk {
    columns: Vec<String>,
    parent: usize,
    action: &'static str,
    not_null: bool,
    unique: bool,
}

#[derive(Debug, Clone)]
struct Tbl {
    name: String,
    key: Vec<String>,
    fks: Vec<Fk>,
}

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
        })
        .collect();
    for i in 0..count {
        for f in 0..rng.usize(0..=3) {
            let parent = rng.usize(..count);
            let width = tables[parent].key.len();
            let columns: Vec<String> = (0..width).map(|c| format!("f{f}_{c}")).collect();
            let mut action = ACTIONS[rng.usize(..ACTIONS.len())];
            if rng.bool() {
                action = "CASCADE";
            }
            let not_null = rng.u8(..4) == 0;
            // MariaDB refuses SET NULL on a NOT NULL column at CREATE.
            if dialect == Dialect::MySql && not_null && action == "SET NULL" {
                action = "CASCADE";
            }
            let unique = width == 1 && !not_null && rng.u8(..8) == 0;
            tables[i].fks.push(Fk {
                columns,
                parent,
                action,
                not_null,
                unique,
            });
        }
    }
    let ddl = ddl_for(&tables, dialect);

    // Rows: keys drawn from 1..=6 so FK values can hit, miss (orphans) or be NULL.
    let mut keys: Vec<Vec<Vec<i64>>> = Vec::new();
    for table in &tables {
        let mut rows: Vec<Vec<i64>> = Vec::new();
        for _ in 0..rng.usize(0..=6) {
            let key: Vec<i64> = table.key.iter().map(|_| rng.i64(1..=6)).collect();
            if !rows.contains(&key) {
                rows.push(key);
            }
        }
        keys.push(rows);
    }
    let mut data = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let mut used_unique: Vec<Vec<Vec<Option<i64>>>> = vec![Vec::new(); table.fks.len()];
        for key in &keys[t] {
            let mut columns = table.key.clone();
            let mut values: Vec<String> = key.iter().map(i64::to_string).collect();
            for (f, fk) in table.fks.iter().enumerate() {
                let parent_keys = &keys[fk.parent];
                let width = fk.columns.len();
                let roll = rng.u8(..10);
                let mut value: Vec<Option<i64>> = if roll < 6 && !parent_keys.is_empty() {
                    parent_keys[rng.usize(..parent_keys.len())]
                        .iter()
                        .map(|v| Some(*v))
                        .collect()
                } else if roll < 8 || fk.not_null {
                    (0..width).map(|_| Some(rng.i64(1..=9))).collect()
                } else if width == 2 && roll == 8 {
                    vec![Some(rng.i64(1..=6)), None]
                } else {
                    vec![None; width]
                };
                if fk.unique && used_unique[f].contains(&value) {
                    value = vec![None; width];
                }
                if fk.unique && value.iter().all(Option::is_some) {
                    used_unique[f].push(value.clone());
                }
                columns.extend(fk.columns.iter().cloned());
                values.extend(
                    value
                        .iter()
                        .map(|v| v.map_or("NULL".to_owned(), |v| v.to_string())),
                );
            }
            data.push(format!(
                "INSERT INTO {} ({}) VALUES ({})",
                table.name,
                columns.join(", "),
                values.join(", ")
            ));
        }
    }

    let candidates: Vec<usize> = (0..count).filter(|t| !keys[*t].is_empty()).collect();
    if candidates.is_empty() {
        return None;
    }
    let root = candidates[rng.usize(..candidates.len())];
    let mut chosen: Vec<&Vec<i64>> = keys[root].iter().filter(|_| rng.bool()).collect();
    if chosen.is_empty() {
        chosen.push(&keys[root][0]);
    }
    let predicate = chosen
        .iter()
        .map(|key| {
            let parts: Vec<String> = tables[root]
                .key
                .iter()
                .zip(key.iter())
                .map(|(c, v)| format!("{c} = {v}"))
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
        for fk in &table.fks {
            for column in &fk.columns {
                let default = if fk.action == "SET DEFAULT" {
                    " DEFAULT 1"
                } else {
                    ""
                };
                let null = if fk.not_null { " NOT NULL" } else { " NULL" };
                parts.push(format!("{column} INT{null}{default}"));
            }
        }
        parts.push(format!("PRIMARY KEY ({})", table.key.join(", ")));
        for (f, fk) in table.fks.iter().enumerate() {
            if fk.unique {
                parts.push(format!("UNIQUE ({})", fk.columns.join(", ")));
            }
            let parent = &tables[fk.parent];
            let clause = format!(
                "CONSTRAINT {}_fk{f} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {}",
                table.name,
                fk.columns.join(", "),
                parent.name,
                parent.key.join(", "),
                fk.action
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
