//! The home agent's registration path on one core: parse, MN-HA
//! authentication, replay check, binding update, signed reply and the
//! journal entry that persistence writes, for 10 000 mobile nodes
//! re-registering in turn. The fsync per batch is the driver's and is
//! measured by `telsec ha bench` (BENCHMARKS.md).

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telsec_mip::ext::ExtensionType;
use telsec_mip::ha::{Config, HomeAgent, HomeNetwork, Verdict};
use telsec_mip::{
    Algorithm, NtpTimestamp, ReplayMode, Request, RequestFlags, SecurityAssociation,
    append_signature,
};

const NODES: u32 = 10_000;
const ROUNDS: u32 = 8;
const NOW_MS: u64 = 1_800_000_000_000;

fn home(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 64, 0, 0)) + n + 1)
}

fn sa(n: u32, algorithm: Algorithm) -> SecurityAssociation {
    let key = [(n & 0xff) as u8; 16];
    SecurityAssociation::new(256 + n, algorithm, &key, ReplayMode::default()).expect("valid SA")
}

fn setup(algorithm: Algorithm) -> (HomeAgent, Vec<(SocketAddrV4, Vec<u8>)>) {
    let ha_addr = Ipv4Addr::new(192, 0, 2, 1);
    let mut ha = HomeAgent::new(Config::new(
        ha_addr,
        HomeNetwork {
            prefix: Ipv4Addr::new(10, 64, 0, 0),
            len: 10,
        },
        b"bench nonce secret",
    ));
    for n in 0..NODES {
        ha.add_sa_for_home(home(n), sa(n, algorithm));
    }
    let base = NtpTimestamp::from_unix(NOW_MS / 1000, 0).0;
    let mut requests = Vec::new();
    for r in 0..ROUNDS {
        for n in 0..NODES {
            let coa = Ipv4Addr::new(198, 18, (n >> 8) as u8, n as u8);
            let mut bytes = Request {
                flags: RequestFlags::default(),
                lifetime: 600,
                home_address: home(n),
                home_agent: ha_addr,
                care_of_address: coa,
                identification: base + u64::from(r) + 1,
                extensions: Vec::new(),
            }
            .to_vec()
            .expect("encodes");
            append_signature(&mut bytes, ExtensionType::MnHaAuth, &sa(n, algorithm))
                .expect("signs");
            requests.push((SocketAddrV4::new(coa, 434), bytes));
        }
    }
    (ha, requests)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ha");
    g.throughput(Throughput::Elements(1));
    for (name, algorithm) in [
        ("registration_hmac_md5", Algorithm::HmacMd5),
        ("registration_hmac_sha256", Algorithm::HmacSha256),
    ] {
        let (fresh, requests) = setup(algorithm);
        let dst = Ipv4Addr::new(192, 0, 2, 1);
        // What is measured is the accepting path: check once that it is.
        let mut check = fresh.clone();
        for (src, bytes) in &requests {
            let out = check.handle_request(NOW_MS, *src, dst, bytes);
            assert!(
                matches!(out.record.verdict, Verdict::Accepted { .. }),
                "{}",
                out.record
            );
        }
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let mut ha = fresh.clone();
                    let mut journal = Vec::with_capacity(1 << 20);
                    let take = left.min(requests.len() as u64) as usize;
                    let start = Instant::now();
                    for (src, bytes) in &requests[..take] {
                        let out = ha.handle_request(NOW_MS, *src, dst, black_box(bytes));
                        if let Some(home) = out.record.home_address {
                            journal.extend_from_slice(&ha.journal_entry(home));
                        }
                        black_box(out.reply);
                        if journal.len() > 1 << 20 {
                            journal.clear();
                        }
                    }
                    spent += start.elapsed();
                    left -= take as u64;
                }
                spent
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
