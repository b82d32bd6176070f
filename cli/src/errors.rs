//! Errors as the command line prints them: each layer of the chain once, and a database error in
//! the database's own words ([`cascade_service::db_error`]), not the driver's wrapping of it; and
//! the one test for a closed stdout, which is not an error.

use sea_orm::{DbErr, RuntimeErr};

use cascade_service::db_error::{describe, describe_runtime};

/// How SeaORM's `DbErr` spells a runtime error into its own message (the empty prefix last).
const DB_ERR_PREFIXES: [&str; 4] = [
    "Connection Error: ",
    "Execution Error: ",
    "Query Error: ",
    "",
];

/// The error chain as one line: every layer whose words are not already shown, a database error
/// once and without driver internals (which ends the chain: below it are only the driver's
/// layers).
pub(crate) fn render(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let shown = cause.to_string();
        let database = if let Some(db) = cause.downcast_ref::<DbErr>() {
            Some(describe(db))
        } else {
            cause.downcast_ref::<RuntimeErr>().map(describe_runtime)
        };
        let Some(clean) = database else {
            if !text.contains(&shown) {
                append(&mut text, &shown);
            }
            continue;
        };
        // An outer layer may have spelled the driver's text (with SeaORM's wrapping, for a
        // runtime error under a transparent one) into its own message.
        if let Some(spelled) = DB_ERR_PREFIXES
            .iter()
            .map(|prefix| format!("{prefix}{shown}"))
            .find(|spelled| text.contains(spelled))
        {
            text = text.replace(&spelled, &clean);
        }
        if !text.contains(&clean) {
            append(&mut text, &clean);
        }
        break;
    }
    text
}

fn append(text: &mut String, part: &str) {
    if !text.is_empty() {
        text.push_str(": ");
    }
    text.push_str(part);
}

/// Whether `error` is (or was caused by) a write to a closed pipe.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
