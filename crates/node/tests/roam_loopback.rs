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

/// Seed 000 made secure, end to end: the node starts without a key, asks
/// the home agent's key service by SMS through its modem (the SMS centre's
/// virtual modem), the key service takes a vector from the HLR over GSUP
/// and sends the key in a secured packet by SMPP; the node's USIM unwraps
/// it, the node registers with it and roams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_by_secured_sms_then_roam() {
    let dir = std::env::temp_dir().join(format!("telsec-roam-sms-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut opts = RoamOptions::loopback(dir.clone());
    opts.home_agent = std::net::Ipv4Addr::new(127, 0, 0, 55);
    opts.correspondent = std::net::Ipv4Addr::new(127, 0, 0, 56);
    opts.care_of = vec![
        std::net::Ipv4Addr::new(127, 0, 0, 57),
        std::net::Ipv4Addr::new(127, 0, 0, 58),
    ];
    opts.network = std::net::Ipv4Addr::new(127, 0, 0, 59);
    opts.key = None;
    let report = roam_demo::run(opts, |_| {}).await.expect("scenario runs");
    let installed = report
        .timeline
        .iter()
        .position(|e| e.what.contains("Installed"))
        .expect("a key arrived by SMS");
    let registered = report
        .timeline
        .iter()
        .position(|e| e.what.contains("Registered"))
        .expect("the node registered");
    assert!(installed < registered, "{:#?}", report.timeline);
    assert!(
        report.timeline.iter().any(|e| e.what.contains("KeyNeeded")),
        "the node had no key before: {:#?}",
        report.timeline
    );
    assert_eq!(report.handovers.len(), 2);
    assert!(report.received * 10 >= report.sent * 7, "{report:?}");
    assert!(report.forged_refused, "{report:?}");
    // The key service kept its counter and the node its counter, on disk.
    assert!(dir.join("key-issuer.state").exists());
    assert!(dir.join("key-receiver.state").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
