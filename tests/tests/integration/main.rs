//! Every integration test, in one binary (as diesel does): one module per topic, each test
//! body run against real SQLite, PostgreSQL and MariaDB databases (and the Galera cluster where a
//! module says so). One binary links once, which keeps the build and the disk small.
//!
//! Run a topic with `cargo test -p tests --test integration <module>::`.

mod app_engine;
mod app_fixtures;
mod app_migrations;
mod app_schema;
mod audit_domain;
mod audit_owner_policy;
mod bad_input;
mod bench_smoke;
mod cli;
mod concurrent_writers;
mod ddl_cycles;
mod delete_batched;
mod delete_counts;
mod delete_differential;
mod delete_domain;
mod delete_engine_actions;
mod delete_semantics;
mod delete_semantics_keys;
mod delete_semantics_order;
mod docs;
mod exit_codes;
mod export;
mod galera;
mod honest_reports;
mod hostile_names;
mod introspect_live;
mod lint;
mod orphans;
mod repair_not_valid;
mod repair_sqlite_rebuild;
mod repair_sqlite_text;
mod rule_graph;
mod schema_roundtrip;
