//! Bad input, data-driven, on every dialect: each case names the command line, the problem the
//! message must name, and is checked for its exit status (2: usage) and for every table of the
//! seeded database being unchanged afterwards.

use std::collections::BTreeMap;

use cascade_entity::rules::Dialect;
use rstest::rstest;
use tests::{TestDb, cascade, dump_table, with_db};

/// `--where` inputs that must be refused before anything runs, with the words the refusal uses.
const BAD_PREDICATES: &[(&str, &str)] = &[
    ("", "empty"),
    ("   ", "empty"),
    (
        "uid = 'project-0000001'; DELETE FROM model_label",
        "exactly one condition",
    ),
    ("1=1; SELECT 1", "exactly one condition"),
    ("uid = 'project-0000001';", "exactly one condition"),
    ("DELETE FROM model_label", "not a statement"),
    ("'project-0000001'", "not a condition"),
    ("uid = ", "not a valid"),
    ("uid = 'x' uid", "not a valid"),
];

/// Placeholders per dialect: nothing is ever bound to them.
fn placeholders(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Sqlite => &["uid = ?", "uid = ?1", "uid = :uid"],
        Dialect::Postgres => &["uid = $1"],
        Dialect::MySql => &["uid = ?"],
    }
}

async fn everything(db: &TestDb) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let mut tables = BTreeMap::new();
    for table in tests::domain_rules().tables.keys() {
        tables.insert(table.clone(), dump_table(&db.conn, table).await);
    }
    tables
}

#[rstest]
#[tokio::test]
async fn bad_predicates_are_refused_before_anything_runs(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        let url = db.url.as_str();
        cascade(&["--url", url, "migrate", "up"])
            .await
            .0
            .expect("up");
        cascade(&["--url", url, "seed", "--scale", "200"])
            .await
            .0
            .expect("seed");
        let before = everything(&db).await;
        let cases = BAD_PREDICATES
            .iter()
            .copied()
            .chain(placeholders(dialect).iter().map(|p| (*p, "placeholder")));
        let mut checked = 0;
        for (predicate, problem) in cases {
            for command in [
                &["plan"][..],
                &["delete"],
                &["delete", "--mode", "db"],
                &["verify"],
            ] {
                let mut args = vec!["--url", url];
                args.extend(command);
                args.extend(["--table", "project", "--where", predicate]);
                let (status, out) = cascade(&args).await;
                let error = match status {
                    Err(error) => format!("{error:#}"),
                    Ok(status) => panic!("{args:?} was accepted ({status:?}):\n{out}"),
                };
                assert!(
                    error.contains(problem),
                    "{args:?}: `{error}` lacks `{problem}`"
                );
                assert!(out.is_empty(), "{args:?} printed {out}");
                checked += 1;
            }
        }
        assert_eq!(everything(&db).await, before, "{dialect}: a table changed");
        assert!(checked >= 40, "{checked}");
    })
    .await;
}
