//! `cascade migrate generate NAME`: a new frozen migration from the difference between the
//! declarations and the schema as last migrated.
//!
//! A migrations directory holds, per migration, `mYYYYMMDD_HHMMSS_name.json` (the frozen graphs,
//! see [`crate::Snapshot`]) and `mYYYYMMDD_HHMMSS_name.rs` (loads it), plus a generated `mod.rs`
//! listing them all oldest first (`migrations()`), which the app's `MigratorTrait` returns. The
//! schema as last migrated is the `after` graph of the newest JSON file, so nothing needs a
//! database. Names sort by their timestamp, as sea-orm-migration orders them.

use std::path::{Path, PathBuf};

use cascade_entity::RuleGraph;
use cascade_entity::rules::Dialect;
use serde::Serialize;
use thiserror::Error;

use crate::evolve::{self, Change, EvolveError};
use crate::frozen::Snapshot;

/// Why no migration was written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The name is not lower-case letters, digits and `_` starting with a letter (it becomes a
    /// Rust module name).
    #[error(
        "migration name `{0}` must be lower-case letters, digits and `_`, starting with a letter"
    )]
    BadName(String),
    /// Reading or writing the migrations directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the directory is not a frozen [`Snapshot`] (or the new one did not
    /// serialize).
    #[error("{path} is not a frozen migration: {reason}")]
    BadSnapshot {
        /// The file read, or the directory written to when serializing failed.
        path: PathBuf,
        /// serde_json's complaint.
        reason: String,
    },
    /// A change no generated migration expresses, on one of the dialects.
    #[error(transparent)]
    Evolve(#[from] EvolveError),
}

/// What `generate` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    /// `mYYYYMMDD_HHMMSS_name`.
    pub name: String,
    /// The `.rs` file written, which loads the JSON file.
    pub rust_file: PathBuf,
    /// The `.json` file written: the frozen [`Snapshot`].
    pub json_file: PathBuf,
    /// The changes the migration makes, in words.
    pub changes: Vec<Change>,
}

/// The schema as the newest migration in `dir` left it (empty when there is none), with that
/// migration's name.
pub fn last_migrated(dir: &Path) -> Result<(Option<String>, RuleGraph), GenerateError> {
    let Some(newest) = snapshots(dir)?.pop() else {
        return Ok((None, RuleGraph::default()));
    };
    let snapshot = read_snapshot(&newest)?;
    Ok((Some(snapshot.name), snapshot.after))
}

/// Writes a migration named `name` (stamped `stamp`, `YYYYMMDD_HHMMSS`) into `dir` taking the
/// last migrated schema to `declared`, and regenerates `dir/mod.rs`. `Ok(None)` when there is
/// nothing to migrate. The changes are checked against every dialect first: a change one of
/// them cannot express is refused before anything is written.
pub fn generate(
    dir: &Path,
    name: &str,
    stamp: &str,
    declared: &RuleGraph,
) -> Result<Option<Generated>, GenerateError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(GenerateError::BadName(name.to_owned()));
    }
    let (_, before) = last_migrated(dir)?;
    let mut changes = Vec::new();
    for dialect in Dialect::ALL {
        let listed = evolve::changes(&before, declared, dialect)?;
        evolve::script(&before, declared, dialect)?;
        if dialect == Dialect::Postgres {
            changes = listed;
        }
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let full_name = format!("m{stamp}_{name}");
    let snapshot = Snapshot {
        name: full_name.clone(),
        before,
        after: declared.clone(),
    };
    let json = serde_json::to_string_pretty(&snapshot).map_err(|e| GenerateError::BadSnapshot {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let json_file = dir.join(format!("{full_name}.json"));
    let rust_file = dir.join(format!("{full_name}.rs"));
    write(&json_file, &(json + "\n"))?;
    write(&rust_file, &migration_file(&full_name, &changes))?;
    write_mod(dir)?;
    format_rust(&[rust_file.clone(), dir.join("mod.rs")]);
    Ok(Some(Generated {
        name: full_name,
        rust_file,
        json_file,
        changes,
    }))
}

/// Rewrites `dir/mod.rs` to list every frozen migration in `dir`, oldest first.
pub(crate) fn write_mod(dir: &Path) -> Result<(), GenerateError> {
    let names: Vec<String> = snapshots(dir)?
        .iter()
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    let mut text = String::from(
        "//! Every frozen migration in this directory, oldest first. Generated by `cascade migrate \
         generate`;\n//! do not edit (add hand-written migrations in another module).\n\n",
    );
    for name in &names {
        text.push_str(&format!("mod {name};\n"));
    }
    text.push_str(
        "\n/// The migrations, in the order sea-orm-migration applies them.\n\
         pub fn migrations() -> Vec<Box<dyn cascade_migration::MigrationTrait>> {\n    vec![",
    );
    for name in &names {
        text.push_str(&format!("\n        Box::new({name}::migration()),"));
    }
    text.push_str(if names.is_empty() {
        "]\n}\n"
    } else {
        "\n    ]\n}\n"
    });
    write(&dir.join("mod.rs"), &text)
}

/// Runs `rustfmt` on generated files when it is installed, so they pass `cargo fmt --check` as
/// written; without it the files are still valid Rust.
fn format_rust(files: &[PathBuf]) {
    let _ = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(files)
        .stderr(std::process::Stdio::null())
        .status();
}

fn migration_file(name: &str, changes: &[Change]) -> String {
    let mut text = format!("//! `{name}`, generated by `cascade migrate generate`:\n");
    for change in changes {
        text.push_str(&format!("//! - {}\n", change.0));
    }
    text.push_str(&format!(
        "//!\n//! Frozen: the graphs in `{name}.json` decide what it does, not today's entities.\n\n\
         /// The frozen migration.\n\
         pub(super) fn migration() -> cascade_migration::GraphMigration {{\n    \
         cascade_migration::GraphMigration::frozen(include_str!(\"{name}.json\"))\n}}\n"
    ));
    text
}

/// The frozen migrations' JSON files in `dir`, oldest first (a missing directory has none).
fn snapshots(dir: &Path) -> Result<Vec<PathBuf>, GenerateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(GenerateError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with('m') && n[1..].starts_with(|c: char| c.is_ascii_digit())
                })
        })
        .collect();
    files.sort();
    Ok(files)
}

fn read_snapshot(path: &Path) -> Result<Snapshot, GenerateError> {
    let text = std::fs::read_to_string(path).map_err(|source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| GenerateError::BadSnapshot {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn write(path: &Path, text: &str) -> Result<(), GenerateError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GenerateError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    })
}
