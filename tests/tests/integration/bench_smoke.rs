//! `cascade bench` runs end to end on a small scale and its methods agree (a smoke test; the
//! performance targets are measured with the command itself, never asserted here).

use cascade_cli::Status;
use tests::cascade;

#[tokio::test]
async fn bench_runs_and_methods_agree_on_sqlite() {
    let (status, out) = cascade(&["bench", "--scale", "1000", "--repeats", "1", "--json"]).await;
    assert_eq!(status.expect("bench"), Status::Clean, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["tables_identical"], true);
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 12, "6 methods x 2 workloads");
    for result in results {
        for field in [
            "backend",
            "workload",
            "scale",
            "method",
            "median_s",
            "ratio_to_db",
            "statements",
            "peak_rss_bytes",
            "rows_affected",
            "longest_transaction_s",
        ] {
            assert!(!result[field].is_null(), "{field} missing in {result}");
        }
        assert!(result["rows_affected"].as_u64() > Some(500));
    }
    let statements = |method: &str| {
        results
            .iter()
            .find(|r| r["method"] == method && r["workload"] == "w1")
            .and_then(|r| r["statements"].as_u64())
    };
    assert_eq!(statements("db"), Some(1));
    assert!(
        statements("batched") >= statements("orm"),
        "batches add statements"
    );
    assert!(
        statements("naive") > statements("orm"),
        "row by row issues more statements"
    );
}

#[tokio::test]
async fn bench_on_the_servers_agrees() {
    for backend in ["postgres", "mysql"] {
        let (status, out) = cascade(&[
            "bench",
            "--scale",
            "300",
            "--repeats",
            "1",
            "--backend",
            backend,
            "--workload",
            "w1",
            "--json",
        ])
        .await;
        assert_eq!(status.expect(backend), Status::Clean, "{out}");
        let report: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(report["tables_identical"], true, "{backend}");
    }
}

#[tokio::test]
async fn bench_runs_only_the_methods_asked_for_beside_db() {
    let (status, out) = cascade(&[
        "bench",
        "--scale",
        "300",
        "--repeats",
        "1",
        "--workload",
        "w2",
        "--methods",
        "orm,plan",
        "--json",
    ])
    .await;
    assert_eq!(status.expect("bench"), Status::Clean, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    let methods: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["method"].as_str())
        .collect();
    assert_eq!(
        methods,
        ["db", "orm", "plan"],
        "db always runs: ratios are to it"
    );
    assert_eq!(report["tables_identical"], true);
}
