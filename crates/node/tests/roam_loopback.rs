//! Loopback end to end, unprivileged: the home agent and the mobile node
//! drivers with a correspondent streaming to the node's home address; the
//! node registers care-of address 1, the flow reaches it through the home
//! agent (RFC 3519 UDP tunnel) and its answers come back through the
//! reverse tunnel; it moves to care-of address 2 and the flow follows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use telsec_node::roam_demo::{self, RoamOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_roams_and_the_flow_follows() {
    let dir = std::env::temp_dir().join(format!("telsec-roam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = RoamOptions::loopback(dir.clone());
    let coas = opts.care_of.clone();
    let report = roam_demo::run(opts, |_| {}).await.expect("scenario runs");
    assert_eq!(report.handovers.len(), 2);
    assert_eq!(report.handovers[0].to, coas[0]);
    assert_eq!(report.handovers[1].to, coas[1]);
    assert_eq!(report.handovers[1].from, Some(coas[0]));
    for h in &report.handovers {
        assert!(h.first_packet_ms >= h.registration_ms, "{h:?}");
    }
    // Every datagram but those sent before the first registration or in
    // the handover gap arrives; most of them.
    assert!(report.sent > 100, "{report:?}");
    assert!(report.received * 10 >= report.sent * 8, "{report:?}");
    assert!(
        report.answers_received * 10 >= report.received * 9,
        "{report:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
