//! Replays one differential case: SEED=n DIALECT=sqlite|postgres|mysql.
use entity::rules::Dialect;
use sea_orm::Condition;
use sea_orm::sea_query::Expr;
#[tokio::test]
async fn replay() {
    let Ok(seed) = std::env::var("SEED") else {
        return;
    };
    let seed: u64 = seed.parse().unwrap();
    let d = match std::env::var("DIALECT").unwrap().as_str() {
        "sqlite" => Dialect::Sqlite,
        "postgres" => Dialect::Postgres,
        _ => Dialect::MySql,
    };
    let case = tests::random_schema::random_case(seed, d).unwrap();
    for s in &case.ddl {
        println!("{s};");
    }
    for s in &case.data {
        println!("{s};");
    }
    println!("-- DELETE FROM {} WHERE {};", case.root, case.predicate);
    tests::with_db(d, |db| async move {
        tests::build_fixture(&db, &case.ddl, &case.data).await;
        let graph = migration::introspect(&db.conn).await.unwrap();
        let sel = service::delete::Selection::condition(
            Condition::all().add(Expr::cust(case.predicate.clone())),
        );
        let r = service::delete::verify(&db.url, &graph, &case.root, &sel)
            .await
            .unwrap();
        println!(
            "matches {} abstained {}\nnative {:?}\norm {:?}",
            r.matches, r.abstained, r.native, r.orm
        );
    })
    .await;
}
