//! DNS updates per second through telsec's update client: the embedded
//! server (journal fsynced per update) and BIND9 side by side in one run.
//! Each update is a full node publication (delete 4 RRsets, add A and
//! IPSECKEY) signed with TSIG HMAC-SHA-256, over UDP, cycling over 1000
//! node names. Measured one at a time (latency-bound) and with 32 in
//! flight (throughput). The BIND half is skipped when `named` is absent.
//! At the end the embedded/BIND ratio is printed.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    cell::RefCell,
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use common::{Bind, Embedded, admin_key, find_tool, zone};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telsec_dns::{Grant, NodeRecords, PublishMode, Transport, UpdateClient};

const IN_FLIGHT: usize = 32;
const NAMES: u64 = 1000;

fn node(i: u64) -> NodeRecords {
    let n = i % NAMES;
    let octets = [10, 3, (n >> 8) as u8, n as u8];
    NodeRecords::new(
        &format!("bench{n}.telsec.test."),
        Ipv4Addr::from(octets),
        [n as u8; 32],
    )
    .unwrap()
}

thread_local! {
    /// (target, in flight) -> (updates, elapsed), as measured by criterion.
    static TOTALS: RefCell<Vec<(String, u64, Duration)>> = const { RefCell::new(Vec::new()) };
}

fn record(label: &str, n: u64, d: Duration) {
    TOTALS.with(|t| {
        let mut t = t.borrow_mut();
        match t.iter_mut().find(|(l, _, _)| l == label) {
            Some(e) => {
                e.1 += n;
                e.2 += d;
            }
            None => t.push((label.to_owned(), n, d)),
        }
    });
}

fn rate(label: &str) -> Option<f64> {
    TOTALS.with(|t| {
        t.borrow()
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, n, d)| *n as f64 / d.as_secs_f64())
    })
}

fn bench_target(c: &mut Criterion, rt: &tokio::runtime::Runtime, target: &str, server: SocketAddr) {
    let client = rt.block_on(async {
        UpdateClient::connect(server, Transport::Udp, &admin_key(), &zone())
            .await
            .unwrap()
    });
    let mut group = c.benchmark_group("dns_update");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut counter = 0u64;

    group.throughput(Throughput::Elements(1));
    let label = format!("{target}/sequential");
    group.bench_function(&label, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    counter += 1;
                    client
                        .publish(&node(counter), PublishMode::Replace)
                        .await
                        .unwrap();
                }
            });
            let d = start.elapsed();
            record(&label, iters, d);
            d
        });
    });

    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    let label = format!("{target}/{IN_FLIGHT}_in_flight");
    group.bench_function(&label, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..IN_FLIGHT {
                        counter += 1;
                        let c = client.clone();
                        let n = node(counter);
                        set.spawn(async move { c.publish(&n, PublishMode::Replace).await });
                    }
                    while let Some(r) = set.join_next().await {
                        r.unwrap().unwrap();
                    }
                }
            });
            let d = start.elapsed();
            record(&label, iters * IN_FLIGHT as u64, d);
            d
        });
    });
    group.finish();
}

fn updates(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let embedded = rt.block_on(Embedded::start(
        SocketAddr::from(([127, 0, 0, 43], 15431)),
        Some(dir.path().to_owned()),
        vec![(admin_key(), Grant::Zone)],
    ));
    bench_target(c, &rt, "embedded", embedded.addr);
    rt.block_on(embedded.stop());

    match find_tool("named") {
        Some(named) => {
            let bind = Bind::start(&named, &[]);
            bench_target(c, &rt, "bind9", bind.addr);
            drop(bind);
        }
        None => eprintln!("SKIP bind9 half: `named` not installed (Debian: apt-get install bind9)"),
    }

    for mode in ["sequential".to_owned(), format!("{IN_FLIGHT}_in_flight")] {
        let e = rate(&format!("embedded/{mode}"));
        let b = rate(&format!("bind9/{mode}"));
        match (e, b) {
            (Some(e), Some(b)) => println!(
                "dns_update {mode}: embedded {e:.0} updates/s, BIND9 {b:.0} updates/s, embedded/BIND9 = {:.2}",
                e / b
            ),
            (Some(e), None) => println!("dns_update {mode}: embedded {e:.0} updates/s (no BIND9)"),
            _ => {}
        }
    }
}

criterion_group!(benches, updates);
criterion_main!(benches);
