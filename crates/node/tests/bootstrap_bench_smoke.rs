//! The bootstrap benchmark (`telsec demo bootstrap --bench N`) runs end
//! to end with three subscribers, so it cannot rot: every bootstrap
//! completes against the real HLR, DNS server and home agent, the zone
//! confirms each node's name, and the attributed pass accounts for each
//! exchange. No timing is asserted.

use telsec_node::bootstrap_bench::{BenchOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_subscribers_at_concurrency_one_and_two() {
    let opts = BenchOptions {
        subscribers: 3,
        concurrency: vec![1, 2],
        ..BenchOptions::default()
    };
    let report = run(&opts).await.expect("benchmark runs");
    assert_eq!(report.subscribers, 3);
    assert_eq!(report.passes.len(), 2);
    for (pass, concurrency) in report.passes.iter().zip([1, 2]) {
        assert_eq!(pass.concurrency, concurrency);
        assert_eq!(pass.bootstraps, 3);
        assert!(pass.latency.min_ms <= pass.latency.p50_ms);
        assert!(pass.latency.p50_ms <= pass.latency.max_ms);
        let a = pass.attribution.as_ref().expect("attributed pass");
        // One timed exchange per node for each of the HA's four answers,
        // one SendAuthInfo and one DNS UPDATE per bootstrap, and
        // UpdateLocation's two legs (request, Insert Data result).
        let counts: Vec<u64> = a.stages.iter().map(|c| c.count).collect();
        assert_eq!(counts, [3, 3, 3, 3, 3], "{a:?}");
        let inside: Vec<u64> = a.inside.iter().map(|c| c.count).collect();
        assert_eq!(inside, [3, 3, 6, 3, 3], "{a:?}");
        let shares: f64 = a.stages.iter().map(|c| c.share_of_latency).sum();
        assert!(
            (shares - 1.0).abs() < 1e-6,
            "stages partition the latency: {shares}"
        );
    }
    // The temporary working directory is gone.
    assert!(!std::path::Path::new(&report.dir).exists());
    println!("{report}");
}
