//! Delete-rule tooling over a RuleGraph, and the `cascade` command line built on it.
//!
//! The library parts take a connection and a RuleGraph and return typed results and errors;
//! only [`cli`] formats output and maps outcomes to exit codes.

pub mod audit;
pub mod bench;
pub mod cli;
pub mod connect;
pub mod counts;
pub mod delete;
pub mod docs;
pub mod expected;
pub mod lint;
pub mod orphans;
pub mod policy;
pub mod reach;
pub mod relation_spec;
pub mod render;
pub mod rules_source;
pub mod seed;
pub mod snapshot;
