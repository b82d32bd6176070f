//! Data side: tools over a RuleGraph. The delete engine ([`delete`]: plan, delete, verify, on any
//! SeaORM connection or inside the app's transaction), audit, orphans, lint, docs, fixtures and
//! the test-database helper, and the benchmark harness. Everything takes a connection and a
//! RuleGraph and returns typed results and errors; nothing here parses arguments or draws on a
//! terminal (the `cascade-cli` crate does).

#![warn(missing_docs, unreachable_pub)]

pub mod audit;
pub mod bench;
pub mod connect;
pub mod counts;
pub mod db_error;
pub mod delete;
pub mod docs;
pub mod expected;
pub mod export;
pub mod fixtures;
pub mod lint;
pub mod orphans;
pub mod policy;
pub mod reach;
pub mod relation_spec;
pub mod rules_source;
pub mod snapshot;

/// Progress reports of long operations (defined in `cascade-migration`, whose repairs report it).
pub use cascade_migration::progress;
pub mod testdb;
