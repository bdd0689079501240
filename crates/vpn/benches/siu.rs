//! Cost of the SIU on the handover path (seed 002, Figure 3): between the
//! home agent accepting a registration and the node receiving its reply,
//! the home agent builds and seals one SIU and the gateway verifies it,
//! checks replay and builds the sealed Ack. `handover_round` measures that
//! whole exchange (sender → receiver → sender), a fresh Identification
//! each time so no result is reused; `siu_build_verify` only the SIU build
//! and its verification at the gateway.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use telsec_vpn::{
    HaGwKey, KeyRing, SecurityInfoUpdate, SenderConfig, SiuOutcome, SiuReceiver, SiuSender,
};

const SPI: u32 = 0x1000;
const START: u64 = 0xe800_0000_0000_0000;

fn ring() -> KeyRing {
    [HaGwKey::new(SPI, &[0x5a; 32]).expect("valid key")]
        .into_iter()
        .collect()
}

fn update() -> SecurityInfoUpdate {
    SecurityInfoUpdate {
        home: Ipv4Addr::new(10, 0, 0, 7),
        old_coa: Ipv4Addr::new(192, 0, 2, 10),
        new_coa: Ipv4Addr::new(198, 51, 100, 20),
        new_port: 4500,
        lifetime: 1800,
        // A reply with an MN-HA authentication extension is about 50 octets.
        reply: vec![3; 50],
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("siu");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));

    let key = HaGwKey::new(SPI, &[0x5a; 32]).expect("valid key");
    let u = update();
    let mut id = START;
    g.bench_function("siu_build_verify", |b| {
        b.iter(|| {
            id += 1;
            let mut m = u.to_repr(id, SPI).to_bytes().expect("fits");
            assert!(key.seal(&mut m));
            black_box(key.verify(black_box(&m))).expect("verifies");
        })
    });

    let mut sender = SiuSender::new(ring(), SenderConfig::default()).expect("config");
    // A window as wide as the run: the clock below advances 1/2^32 s per
    // iteration while the replay check compares against START.
    let mut gw = SiuReceiver::with_window(ring(), 3600);
    let t = Instant::now();
    let mut now = START;
    g.bench_function("handover_round", |b| {
        b.iter(|| {
            now += 1;
            let siu = sender.send(t, now, SPI, u.clone()).expect("send");
            let SiuOutcome::Accepted { ack, .. } = gw.handle(now, black_box(&siu)) else {
                panic!("refused")
            };
            black_box(sender.handle_ack(t, now, &ack)).expect("ack");
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
