//! Pinned delete cases: one schema, data and delete per case, with the outcome each engine is
//! expected to give, checked by the verifier (the native delete with enforcement on against our
//! executor with enforcement off, outcome and every table compared). A case states its expected
//! outcome per engine, so it cannot pass by both sides being wrong the same way. Every case is
//! checked in both execution modes of the ORM side: enforcement off, and the engine's own
//! actions suspended where safe with the closing integrity check (`OrmSide`).

use cascade_service::delete::{
    OrmSide, Outcome, RefusalKind, Selection, VerifyReport, verify_url_with,
};
use sea_orm::Condition;
use sea_orm::sea_query::Expr;

use crate::{TestDb, build_fixture};

/// The expected outcome of a pinned case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Deleted(u64),
    Refused(RefusalKind),
    /// The model declines (order_dependent); the engine's outcome is whatever its ordering gives.
    Abstain,
    /// No expectation here: the caller asserts on the report itself.
    Any,
}

pub struct Case {
    pub ddl: Vec<String>,
    pub data: Vec<String>,
    pub table: &'static str,
    pub predicate: &'static str,
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub async fn check(db: &TestDb, case: Case, expect: Expect) -> VerifyReport {
    build_fixture(db, &case.ddl, &case.data).await;
    let graph = cascade_migration::introspect(&db.conn)
        .await
        .expect("introspect");
    let selection = Selection::condition(Condition::all().add(Expr::cust(case.predicate)));
    let suspended = verify_url_with(
        &db.url,
        &graph,
        case.table,
        &selection,
        OrmSide::ActionsSuspended,
    )
    .await
    .expect("verify with the engine's actions suspended");
    expect_outcome(db, &suspended, expect, "actions suspended");
    let report = verify_url_with(
        &db.url,
        &graph,
        case.table,
        &selection,
        OrmSide::EnforcementOff,
    )
    .await
    .expect("verify");
    expect_outcome(db, &report, expect, "enforcement off");
    report
}

fn expect_outcome(db: &TestDb, report: &VerifyReport, expect: Expect, side: &str) {
    let dialect = db.dialect;
    match expect {
        Expect::Any => {}
        Expect::Abstain => assert!(
            report.abstained,
            "{dialect} ({side}): expected the model to abstain: {report:#?}"
        ),
        Expect::Deleted(rows) => {
            assert!(report.matches, "{dialect} ({side}): {report:#?}");
            let Outcome::Deleted { deleted } = &report.native else {
                panic!("{dialect} ({side}): native refused: {report:#?}")
            };
            assert_eq!(
                deleted.values().sum::<u64>(),
                rows,
                "{dialect}: rows deleted"
            );
        }
        Expect::Refused(kind) => {
            assert!(report.matches, "{dialect} ({side}): {report:#?}");
            let Outcome::Refused { kind: native, .. } = &report.native else {
                panic!("{dialect} ({side}): native deleted: {report:#?}")
            };
            assert_eq!(
                native.engine_class(dialect),
                kind.engine_class(dialect),
                "{dialect}: native kind"
            );
            let Outcome::Refused { kind: orm, .. } = &report.orm else {
                panic!("{dialect} ({side}): orm deleted")
            };
            assert_eq!(
                *orm, kind,
                "{dialect} ({side}): the model names the precise kind"
            );
        }
    }
}
