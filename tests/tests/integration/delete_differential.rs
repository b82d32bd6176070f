//! The parity proof: on random schemas and data (see `tests::random_schema`), deleting random
//! root rows through the database's own cascade and through our executor (FK enforcement off,
//! so it does all the work) ends the same way and leaves identical tables, on every dialect.
//!
//! The model may abstain (`order_dependent` / `unsupported`) where it cannot follow the engine;
//! where the engine's order decides, the judge replays it, so abstentions are rare: they are
//! counted per dialect and must stay at or under `CASCADE_PROPTEST_MAX_ABSTAIN_PCT` percent
//! (default 5). Cases per dialect default to 32; `CASCADE_PROPTEST_CASES` runs more. The run's
//! seed is fixed (`CASCADE_PROPTEST_SEED`, default 0) and printed with the counts;
//! `CASCADE_PROPTEST_RANDOM=1` draws a fresh one (printed, so the run can be repeated);
//! `CASCADE_PROPTEST_ONLY=<case seed>` (with `CASCADE_PROPTEST_CASES=1`) replays one case.
//!
//! Each dialect runs in both execution modes of the ORM side: on a connection with enforcement
//! off (the executor provably does all the work), and on an enforcing connection with the
//! engine's own actions suspended where safe and the closing integrity check
//! (`OrmSide::ActionsSuspended`, half the cases, the same seed sequence).

use std::sync::atomic::{AtomicU32, Ordering};

use cascade_entity::rules::Dialect;
use cascade_service::delete::{OrmSide, Selection, verify_url_with};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sea_orm::Condition;
use sea_orm::sea_query::Expr;
use tests::random_schema::random_case;
use tests::{build_fixture, with_db};

fn case_count() -> u32 {
    std::env::var("CASCADE_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// The run's seed: `CASCADE_PROPTEST_SEED`, a fresh one with `CASCADE_PROPTEST_RANDOM`, else 0.
fn run_seed() -> u64 {
    if let Some(seed) = std::env::var("CASCADE_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return seed;
    }
    if std::env::var_os("CASCADE_PROPTEST_RANDOM").is_some() {
        return fastrand::u64(..);
    }
    0
}

fn max_abstain_pct() -> u32 {
    std::env::var("CASCADE_PROPTEST_MAX_ABSTAIN_PCT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

fn differential(dialect: Dialect, orm_side: OrmSide) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (ran, abstained, mismatched) = (AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0));
    let cases = match orm_side {
        OrmSide::ActionsSuspended => case_count().div_ceil(2),
        _ => case_count(),
    };
    let config = Config {
        cases,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    };
    // Deterministic in the run's seed, so every run (CI's included) can be repeated.
    let run = run_seed();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&run.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let started = std::time::Instant::now();
    // `CASCADE_PROPTEST_ONLY=<case seed>` replays one reported case.
    let only: Option<u64> = std::env::var("CASCADE_PROPTEST_ONLY")
        .ok()
        .and_then(|v| v.parse().ok());
    let result = runner.run(&any::<u64>(), |seed| {
        let seed = only.unwrap_or(seed);
        let Some(case) = random_case(seed, dialect) else {
            return Ok(());
        };
        let report = runtime.block_on(async {
            let mut report = None;
            with_db(dialect, |db| {
                let case = case.clone();
                let slot = &mut report;
                async move {
                    build_fixture(&db, &case.ddl, &case.data).await;
                    let graph = cascade_migration::introspect(&db.conn)
                        .await
                        .expect("introspect");
                    let selection = Selection::condition(
                        Condition::all().add(Expr::cust(case.predicate.clone())),
                    );
                    *slot = Some(
                        verify_url_with(&db.url, &graph, &case.root, &selection, orm_side)
                            .await
                            .expect("verify"),
                    );
                }
            })
            .await;
            report.expect("ran")
        });
        ran.fetch_add(1, Ordering::Relaxed);
        if report.abstained {
            if let cascade_service::delete::Outcome::Refused { message, .. } = &report.orm {
                eprintln!("{dialect} seed {seed}: abstained: {message}");
            }
            abstained.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        // Every mismatch of the run is reported, then the run fails.
        if !report.matches {
            mismatched.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "{dialect} ({orm_side:?}) seed {seed}: native and ORM differ\ncase: {case:#?}\nreport: {report:#?}"
            );
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let (ran, abstained, mismatched) = (
        ran.load(Ordering::Relaxed),
        abstained.load(Ordering::Relaxed),
        mismatched.load(Ordering::Relaxed),
    );
    let pct = f64::from(abstained) * 100.0 / f64::from(ran.max(1));
    eprintln!(
        "{dialect} ({orm_side:?}): run seed {run}: {ran} random deletes compared, {mismatched} mismatches, {abstained} \
         abstentions ({pct:.1}%), {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(ran > 0);
    assert_eq!(
        mismatched, 0,
        "{dialect}: native and ORM differ (run seed {run})"
    );
    assert!(
        abstained * 100 <= ran * max_abstain_pct(),
        "{dialect}: the model abstained on {abstained} of {ran} cases (run seed {run})"
    );
}

#[test]
fn differential_sqlite() {
    differential(Dialect::Sqlite, OrmSide::EnforcementOff);
}

#[test]
fn differential_postgres() {
    differential(Dialect::Postgres, OrmSide::EnforcementOff);
}

#[test]
fn differential_mysql() {
    differential(Dialect::MySql, OrmSide::EnforcementOff);
}

#[test]
fn differential_sqlite_actions_suspended() {
    differential(Dialect::Sqlite, OrmSide::ActionsSuspended);
}

#[test]
fn differential_postgres_actions_suspended() {
    differential(Dialect::Postgres, OrmSide::ActionsSuspended);
}

#[test]
fn differential_mysql_actions_suspended() {
    differential(Dialect::MySql, OrmSide::ActionsSuspended);
}
