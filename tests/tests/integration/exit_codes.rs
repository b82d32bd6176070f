//! Exit codes of the real `cascade` process (the shipped domain's binary, built from its own
//! source), and the documentation of them:
//!
//! - a closed stdout is not an error: every command, human and `--json`, piped into `head -c1`
//!   and into a pipe whose reader is already gone, exits 0 and prints nothing on stderr;
//! - `--help` and the README say the same about exit codes, and 0 / 1 / 2 are what the process
//!   returns for success, a finding and an error.
//!
//! Runs on SQLite (the embedded default): nothing here depends on the dialect.

use std::process::{Command, Stdio};

use tests::run_cli;

const BIN: &str = env!("CARGO_BIN_EXE_cascade-domain");

/// Commands with output of every size, from one line to tens of kilobytes.
fn commands(url: &str) -> Vec<Vec<String>> {
    let lines: &[&[&str]] = &[
        &["--help"],
        &["rules"],
        &["rules", "--json"],
        &["docs"],
        &["docs", "--json"],
        &["lint"],
        &["lint", "--json"],
        &["--url", url, "--rules", "live", "rules", "--json"],
        &["--url", url, "audit"],
        &["--url", url, "audit", "--json"],
        &["--url", url, "orphans"],
        &["--url", url, "migrate", "status"],
        &[
            "--url",
            url,
            "plan",
            "--table",
            "project",
            "--where",
            "uid LIKE 'project-%'",
        ],
        &[
            "--url", url, "--json", "plan", "--table", "user", "--where", "1 = 1",
        ],
        &[
            "--url", url, "verify", "--table", "workflow", "--where", "1 = 1",
        ],
        &[
            "--url",
            url,
            "delete",
            "--dry-run",
            "--table",
            "project",
            "--where",
            "1 = 1",
        ],
        &[
            "--url",
            url,
            "plan",
            "--table",
            "project",
            "--where",
            "uid = 'nope'",
        ],
    ];
    lines
        .iter()
        .map(|args| args.iter().map(|a| (*a).to_owned()).collect())
        .collect()
}

async fn seeded_sqlite(dir: &std::path::Path) -> String {
    let url = format!("sqlite://{}/cascade.db?mode=rwc", dir.display());
    for args in [
        &["--url", url.as_str(), "migrate", "up"][..],
        &["--url", &url, "seed", "--scale", "2000"],
    ] {
        let run = run_cli(args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.err);
    }
    url
}

#[tokio::test]
async fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = seeded_sqlite(dir.path()).await;
    for args in commands(&url) {
        // Deterministic: the reader is gone before the first write.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let output = Command::new(BIN)
            .args(&args)
            .current_dir(dir.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("cascade runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} into a closed pipe: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );

        // As a user writes it: `cascade ... | head -c1`, with the process's own status.
        let line = format!(
            "set -o pipefail; \"$0\" {} | head -c1 >/dev/null",
            args.iter()
                .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let output = Command::new("bash")
            .args(["-c", &line, BIN])
            .current_dir(dir.path())
            .output()
            .expect("bash runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} | head -c1: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "{args:?} | head -c1: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn the_process_exits_as_documented() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = seeded_sqlite(dir.path()).await;
    let code = |args: &[&str]| {
        let output = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("cascade runs");
        output.status.code()
    };
    assert_eq!(code(&["--url", &url, "audit"]), Some(0), "clean: 0");
    assert_eq!(
        code(&[
            "--url",
            &url,
            "plan",
            "--table",
            "project",
            "--where",
            "uid = 'nope'"
        ]),
        Some(0),
        "nothing to delete: 0"
    );
    assert_eq!(
        code(&["lint", "--policy", "owner=user:cascade"]),
        Some(1),
        "a finding (lint error): 1"
    );
    assert_eq!(
        code(&[
            "--url", &url, "plan", "--table", "nosuch", "--where", "1 = 1"
        ]),
        Some(2)
    );
    assert_eq!(
        code(&["--url", "nonsense", "audit"]),
        Some(2),
        "a bad URL: 2"
    );
    assert_eq!(code(&["plan"]), Some(2), "usage: 2");
    assert_eq!(code(&[]), Some(2), "no command: usage, 2");
    assert_eq!(code(&["--version"]), Some(0));
}

/// `--help` carries the exit codes exactly as the library states them, and the README says the
/// same, word for word.
#[tokio::test]
async fn help_and_readme_state_the_exit_codes() {
    let help = run_cli(&["--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.out.contains(cascade_cli::EXIT_CODES), "{}", help.out);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    assert!(
        readme.contains(cascade_cli::EXIT_CODES),
        "README.md must show `cascade --help`'s exit codes verbatim:\n{}",
        cascade_cli::EXIT_CODES
    );
}
