//! Bad input, data-driven, on every dialect (SQLite, PostgreSQL, MariaDB): each case is a command
//! line, the exit code it must end with, and the words its message must contain. Every case runs
//! through `cascade_cli::run_args`, exactly as the binary does (clap's usage errors included), on
//! a migrated and seeded database whose every table is checksummed after each case: nothing a
//! bad input does may change a row. Errors (exit 2) print one message on stderr, once, without
//! driver internals, and nothing on stdout.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use cascade_entity::rules::Dialect;
use rstest::rstest;
use tests::{Run, TestDb, run_cli, with_db};

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

/// Words no message may contain: the driver's wrapping, the server's source positions, a
/// retrying pool's euphemism for "nothing listens there".
const INTERNALS: &[&str] = &[
    "error returned from database",
    "Execution Error",
    "Connection Error",
    "Query Error",
    " at line ",
    "pool timed out",
    "Some(",
];

/// One bad input: the command line (`{url}` stands for the test database's URL), the exit code,
/// and the words the message (stderr on exit 2, stdout otherwise) must contain.
struct Case {
    args: Vec<String>,
    code: u8,
    problem: String,
}

fn case(args: &[&str], code: u8, problem: &str) -> Case {
    Case {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code,
        problem: problem.to_owned(),
    }
}

/// The cases every dialect runs, then the ones only its URLs and server messages have.
fn cases(dialect: Dialect, scratch: &str) -> Vec<Case> {
    let missing_dir = format!("{scratch}/no/such/dir/schema.md");
    let mut cases = vec![
        // Usage: clap refuses before anything runs.
        case(
            &[
                "delete",
                "--url",
                "{url}",
                "--table",
                "project",
                "--where",
                "uid = 'x'",
                "--mode",
                "bogus",
            ],
            2,
            "invalid value 'bogus'",
        ),
        case(
            &["plan", "--url", "{url}", "--where", "uid = 'x'"],
            2,
            "--table",
        ),
        case(
            &["--url", "{url}", "--rules", "bogus", "rules"],
            2,
            "invalid value 'bogus'",
        ),
        case(
            &["--url", "{url}", "seed", "--scale", "lots"],
            2,
            "invalid value 'lots'",
        ),
        case(&["--url", "{url}", "seed", "--scale", "-1"], 2, "'-1'"),
        case(
            &[
                "--url",
                "{url}",
                "seed",
                "--scale",
                "99999999999999999999999",
            ],
            2,
            "invalid value '99999999999999999999999'",
        ),
        case(
            &["--url", "{url}", "lint", "--dialect", "oracle"],
            2,
            "invalid value 'oracle'",
        ),
        case(
            &["--url", "{url}", "migrate", "sideways"],
            2,
            "invalid value 'sideways'",
        ),
        case(&["--url", "{url}", "migrate", "generate"], 2, "<NAME>"),
        case(
            &["--url", "{url}", "frobnicate"],
            2,
            "unrecognized subcommand 'frobnicate'",
        ),
        case(&["--url", "{url}", "orphans", "--dry-run"], 2, "--prune"),
        case(
            &["--url", "{url}", "bench", "--backend", "oracle"],
            2,
            "invalid value 'oracle'",
        ),
        // Refused combinations and values, before anything connects.
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "project",
                "--where",
                "uid = 'project-0000001'",
                "--mode",
                "db",
                "--no-enforce",
            ],
            2,
            "--mode db with --no-enforce",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "project",
                "--where",
                "uid = 'project-0000001'",
                "--mode",
                "db",
                "--no-enforce",
                "--dry-run",
            ],
            2,
            "cascades nothing",
        ),
        case(
            &["--url", "{url}", "seed", "--scale", "0"],
            2,
            "--scale must be at least 1",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "project",
                "--where",
                "uid = 'project-0000001'",
                "--batch-rows",
                "0",
            ],
            2,
            "invalid value '0' for '--batch-rows <N>'",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "project",
                "--where",
                "uid = 'project-0000001'",
                "--batch-rows",
                "5",
                "--mode",
                "db",
            ],
            2,
            "--batch-rows with --mode db",
        ),
        case(
            &["--url", "{url}", "seed", "--scale", "1000000000"],
            2,
            "more than seed serves",
        ),
        case(&["--url", "{url}", "seed"], 2, "already holds rows"),
        // URLs.
        case(
            &["--url", "nonsense", "--rules", "live", "rules"],
            2,
            "missing `://`",
        ),
        case(
            &["--url", "oracle://db.example/app", "audit"],
            2,
            "unknown scheme `oracle`",
        ),
        case(&["--url", "sqlite://", "audit"], 2, "nothing after `://`"),
        case(
            &["--url", "postgres://127.0.0.1:5432", "audit"],
            2,
            "no database name",
        ),
        case(
            &["--url", "mysql://root@127.0.0.1:3306/", "audit"],
            2,
            "no database name",
        ),
        // Unknown tables and columns.
        case(
            &[
                "--url",
                "{url}",
                "plan",
                "--table",
                "nosuch",
                "--where",
                "uid = 'x'",
            ],
            2,
            "unknown table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "nosuch",
                "--where",
                "uid = 'x'",
            ],
            2,
            "unknown table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "verify",
                "--table",
                "nosuch",
                "--where",
                "uid = 'x'",
            ],
            2,
            "unknown table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "--rules",
                "live",
                "plan",
                "--table",
                "nosuch",
                "--where",
                "uid = 'x'",
            ],
            2,
            "unknown table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "--json",
                "plan",
                "--table",
                "PROJECT",
                "--where",
                "uid = 'x'",
            ],
            2,
            "unknown table `PROJECT`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "plan",
                "--table",
                "project",
                "--where",
                "nosuch = 1",
            ],
            2,
            "nosuch",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "project",
                "--where",
                "nosuch = 1",
            ],
            2,
            "nosuch",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--mode",
                "db",
                "--table",
                "project",
                "--where",
                "nosuch = 1",
            ],
            2,
            "nosuch",
        ),
        case(
            &[
                "--url",
                "{url}",
                "verify",
                "--table",
                "project",
                "--where",
                "nosuch = 1",
            ],
            2,
            "nosuch",
        ),
        case(
            &[
                "--url",
                "{url}",
                "plan",
                "--table",
                "project",
                "--where",
                "uid IN (SELECT uid FROM nosuch_table)",
            ],
            2,
            "nosuch_table",
        ),
        // Policies: every command that takes one names the unknown table.
        case(
            &["--url", "{url}", "lint", "--policy", "owner=nosuch:cascade"],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "--rules",
                "live",
                "lint",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "audit",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "--rules",
                "live",
                "audit",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "repair",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "repair",
                "--apply",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--prune",
                "--policy",
                "owner=nosuch:cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &["--url", "{url}", "lint", "--policy", "reach=nosuch:x*"],
            2,
            "no table `nosuch`",
        ),
        case(
            &["--url", "{url}", "lint", "--policy", "owner=user:explode"],
            2,
            "unknown action",
        ),
        case(
            &["--url", "{url}", "lint", "--policy", "bogus"],
            2,
            "missing `=`",
        ),
        case(
            &["--url", "{url}", "lint", "--policy", "frob=x"],
            2,
            "unknown policy kind `frob`",
        ),
        case(
            &["--url", "{url}", "lint", "--policy", "owner=:cascade"],
            2,
            "empty table",
        ),
        case(
            &["--url", "{url}", "repair", "--policy", "owner=user"],
            2,
            "missing `:ACTION`",
        ),
        case(
            &["--url", "{url}", "audit", "--policy", "protect=audit_*"],
            2,
            "owner=TABLE:ACTION",
        ),
        case(
            &["--url", "{url}", "orphans", "--policy", "reach=user:x"],
            2,
            "owner=TABLE:ACTION",
        ),
        // Relations.
        case(
            &["--url", "{url}", "orphans", "--relation", "x"],
            2,
            "missing `->`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--relation",
                "nosuch.a -> user.uid cascade",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--relation",
                "project.owner_id -> nosuch.uid cascade",
                "--prune",
            ],
            2,
            "no table `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--relation",
                "project.nosuch -> user.uid cascade",
            ],
            2,
            "no column `nosuch`",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--relation",
                "project.owner_id -> user.uid explode",
            ],
            2,
            "unknown ACTION",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--relation",
                "project.owner_id -> user.uid",
            ],
            2,
            "missing ACTION",
        ),
        case(
            &[
                "--url",
                "{url}",
                "orphans",
                "--relation",
                "project.owner_id -> user.uid,name cascade",
            ],
            2,
            "column counts differ",
        ),
        // Files.
        case(
            &["docs", "--out", &missing_dir],
            2,
            &format!("writing {missing_dir}"),
        ),
        case(
            &["migrate", "generate", "Bad Name", "--dir", scratch],
            2,
            "must be lower-case letters",
        ),
        // No row matches: nothing to delete, which is success (a finished delete re-run).
        case(
            &[
                "--url",
                "{url}",
                "plan",
                "--table",
                "project",
                "--where",
                "uid = 'nope'",
            ],
            0,
            "nothing to delete: no row of `project` matches",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--table",
                "project",
                "--where",
                "uid = 'nope'",
            ],
            0,
            "nothing to delete",
        ),
        case(
            &[
                "--url",
                "{url}",
                "delete",
                "--mode",
                "db",
                "--table",
                "project",
                "--where",
                "uid = 'nope'",
            ],
            0,
            "nothing to delete",
        ),
        case(
            &[
                "--url",
                "{url}",
                "verify",
                "--table",
                "project",
                "--where",
                "uid = 'nope'",
            ],
            0,
            "nothing to delete",
        ),
        case(
            &[
                "--url",
                "{url}",
                "--json",
                "delete",
                "--table",
                "project",
                "--where",
                "uid = 'nope'",
            ],
            0,
            "\"nothing_matched\"",
        ),
    ];
    // A few `--where` refusals through every command that takes one.
    for (predicate, problem) in [BAD_PREDICATES[0], BAD_PREDICATES[2], BAD_PREDICATES[5]] {
        for command in ["plan", "delete", "verify"] {
            cases.push(case(
                &[
                    "--url", "{url}", command, "--table", "project", "--where", predicate,
                ],
                2,
                problem,
            ));
        }
    }
    cases.push(case(
        &[
            "--url",
            "{url}",
            "verify",
            "--table",
            "project",
            "--where",
            placeholders(dialect)[0],
        ],
        2,
        "placeholder",
    ));
    // The dialect's own URLs and server messages.
    match dialect {
        Dialect::Sqlite => cases.extend([
            case(
                &[
                    "--url",
                    &format!("sqlite://{scratch}/no/such/dir/x.db"),
                    "audit",
                ],
                2,
                "unable to open database file",
            ),
            case(
                &[
                    "--url",
                    &format!("sqlite://{scratch}/missing.db"),
                    "--rules",
                    "live",
                    "rules",
                ],
                2,
                "unable to open database file",
            ),
            case(
                &["--url", &format!("sqlite://{scratch}"), "audit"],
                2,
                "unable to open database file",
            ),
        ]),
        Dialect::Postgres => cases.extend([
            case(
                &["--url", "postgres://postgres@127.0.0.1:1/test", "audit"],
                2,
                "connection refused",
            ),
            case(
                &[
                    "--url",
                    "postgres://postgres@127.0.0.1:5432/cascade_no_such_db",
                    "audit",
                ],
                2,
                "database \"cascade_no_such_db\" does not exist",
            ),
            case(
                &[
                    "--url",
                    "postgres://cascade_no_such_role@127.0.0.1:5432/test",
                    "audit",
                ],
                2,
                "role \"cascade_no_such_role\" does not exist",
            ),
            case(
                &[
                    "--url", "{url}", "plan", "--table", "project", "--where", "uid = 1",
                ],
                2,
                "operator does not exist",
            ),
        ]),
        Dialect::MySql => cases.extend([
            case(
                &["--url", "mysql://root@127.0.0.1:1/test", "audit"],
                2,
                "connection refused",
            ),
            case(
                &[
                    "--url",
                    "mysql://root@127.0.0.1:3306/cascade_no_such_db",
                    "audit",
                ],
                2,
                "Unknown database 'cascade_no_such_db'",
            ),
            case(
                &[
                    "--url",
                    "mysql://cascade_nobody:s3cret-pw@127.0.0.1:3306/test",
                    "audit",
                ],
                2,
                "Access denied",
            ),
        ]),
    }
    cases
}

/// A checksum of every table of the domain.
async fn checksums(db: &TestDb) -> BTreeMap<String, u64> {
    let graph = tests::domain_rules();
    let tables = cascade_service::snapshot::snapshot(&db.conn, &graph)
        .await
        .expect("snapshot");
    tables
        .into_iter()
        .map(|(table, rows)| {
            let mut hasher = DefaultHasher::new();
            rows.hash(&mut hasher);
            (table, hasher.finish())
        })
        .collect()
}

/// Checks one finished run against its case.
fn check(run: &Run, args: &[String], code: u8, problem: &str) {
    assert_eq!(
        run.code, code,
        "{args:?} exited {} (want {code})\nstdout: {}\nstderr: {}",
        run.code, run.out, run.err
    );
    let message = if code == 2 { &run.err } else { &run.out };
    assert!(
        message.contains(problem),
        "{args:?}: the message lacks `{problem}`:\n{message}"
    );
    for internal in INTERNALS {
        assert!(
            !run.err.contains(internal),
            "{args:?}: driver internals (`{internal}`) in:\n{}",
            run.err
        );
    }
    if code == 2 {
        assert!(
            run.out.is_empty(),
            "{args:?} printed on stdout:\n{}",
            run.out
        );
        let clap = run.err.contains("Usage:") || run.err.contains("try '--help'");
        if !clap {
            // Our own errors: one line, each layer once.
            assert_eq!(
                run.err.lines().count(),
                1,
                "{args:?}: not one line:\n{}",
                run.err
            );
            assert!(run.err.starts_with("error: "), "{args:?}: {}", run.err);
            assert_eq!(
                run.err.matches(problem).count(),
                1,
                "{args:?}: `{problem}` printed more than once:\n{}",
                run.err
            );
        }
    }
}

#[rstest]
#[tokio::test]
async fn bad_input_exit_codes_messages_and_unchanged_tables(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        tests::seed_domain(&db.conn, 200, 1).await;
        let scratch = tempfile::tempdir().expect("tempdir");
        let scratch_path = scratch.path().to_str().expect("utf-8 path").to_owned();
        let before = checksums(&db).await;
        let cases = cases(dialect, &scratch_path);
        assert!(cases.len() >= 60, "{dialect}: only {} cases", cases.len());
        for Case {
            args,
            code,
            problem,
        } in &cases
        {
            let args: Vec<String> = args.iter().map(|a| a.replace("{url}", &db.url)).collect();
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let started = Instant::now();
            let run = run_cli(&argv).await;
            check(&run, &args, *code, problem);
            if problem == "connection refused" {
                assert!(
                    started.elapsed() < Duration::from_secs(3),
                    "{args:?}: a refused connection took {:?}",
                    started.elapsed()
                );
            }
            assert!(
                !run.err.contains("s3cret-pw"),
                "{args:?}: the password is in the message: {}",
                run.err
            );
            assert_eq!(
                checksums(&db).await,
                before,
                "{dialect}: {args:?} changed a table"
            );
        }
        let mut generated = std::fs::read_dir(scratch.path()).expect("scratch").count();
        // `missing.db` must not have been created by a bad URL either.
        generated -= usize::from(scratch.path().join("missing.db").exists());
        assert_eq!(generated, 0, "a bad input wrote into {scratch_path}");
    })
    .await;
}

/// A seed too large for the memory available is refused at once, naming the memory (the bound
/// is this machine's `MemAvailable`; the estimate is on the high side of a measured 2.4 KiB per
/// row).
#[tokio::test]
async fn seed_refuses_a_scale_memory_cannot_hold_at_once() {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .expect("MemAvailable in /proc/meminfo");
    let graph = tests::domain_rules();
    let per_row = cascade_service::fixtures::estimated_bytes(&graph, 1);
    // Three times what fits now: memory the machine frees between this read and the command's
    // own read (other processes finishing) must not make the scale fit.
    let too_many = (available * 1024 / per_row + 1).saturating_mul(3);
    // Beyond the fixed bound, that bound refuses first.
    let (scale, problem) = if too_many <= 20_000_000 {
        (too_many, "of memory")
    } else {
        (20_000_001, "more than seed serves")
    };
    let started = Instant::now();
    let scale = scale.to_string();
    let run = run_cli(&[
        "--url",
        "sqlite://unused.db?mode=ro",
        "seed",
        "--scale",
        &scale,
    ])
    .await;
    assert_eq!(run.code, 2, "{}", run.err);
    assert!(run.err.contains(problem), "{}", run.err);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[rstest]
#[tokio::test]
async fn bad_predicates_are_refused_before_anything_runs(
    #[values(Dialect::Sqlite, Dialect::Postgres, Dialect::MySql)] dialect: Dialect,
) {
    with_db(dialect, |db| async move {
        tests::seed_domain(&db.conn, 200, 1).await;
        let url = db.url.as_str();
        let before = checksums(&db).await;
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
                let run = run_cli(&args).await;
                let owned: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
                check(&run, &owned, 2, problem);
                checked += 1;
            }
        }
        assert_eq!(checksums(&db).await, before, "{dialect}: a table changed");
        assert!(checked >= 40, "{checked}");
    })
    .await;
}
