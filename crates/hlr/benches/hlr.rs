//! AuC throughput for one Milenage subscriber through the whole path: the
//! check that the prepared keys in the AuC's cache are current (one
//! `PRAGMA data_version`), RANDs drawn,
//! SQNs issued from the lease (with a durable SQLite write once per lease of
//! 32, synchronous = FULL, on a real file), Milenage and c2/c3. Also the same
//! without the cache (the subscriber's rows read and its secrets decrypted,
//! AES-256-GCM, on every request), and through the GSUP handler (Send Auth
//! Info in, encodable result out).

use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use telsec_gsup::GsupMessage;
use telsec_gsup::ie::Ie;
use telsec_hlr::model::Auth3g;
use telsec_hlr::{
    Algorithm3g, Auc, AucConfig, ConnId, ConnInfo, HlrConfig, HlrCore, Imsi, Kek, NewSubscriber,
    OperatorKey, SecretBytes, Store,
};

const IMSI: &str = "001010000000001";

fn auc(name: &str) -> Auc {
    auc_with_lease(name, AucConfig::default().lease_size)
}

fn auc_with_lease(name: &str, lease_size: u32) -> Auc {
    auc_with_config(
        name,
        AucConfig {
            lease_size,
            ..AucConfig::default()
        },
    )
}

fn auc_with_config(name: &str, config: AucConfig) -> Auc {
    let dir = std::env::temp_dir().join(format!("telsec-hlr-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = Store::open_data_dir(&dir, Kek::from_bytes([7; 32])).expect("store");
    let mut sub = NewSubscriber::new(Imsi::new(IMSI).expect("imsi"));
    let k = SecretBytes::new(vec![0x46; 16]);
    let opc = SecretBytes::new(vec![0xcd; 16]);
    sub.auth_3g = Some(Auth3g::new(
        Algorithm3g::milenage(k, OperatorKey::Opc(opc)).expect("keys"),
    ));
    store.add_subscriber(&sub).expect("add");
    Auc::new(store, config).expect("auc")
}

fn bench_auc(c: &mut Criterion) {
    let imsi = Imsi::new(IMSI).expect("imsi");
    let mut group = c.benchmark_group("auc_milenage");
    for n in [1usize, 5] {
        let mut auc = auc(&format!("auc{n}"));
        let mut rng = StdRng::seed_from_u64(1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| auc.vectors(&imsi, n, None, &mut rng).expect("vectors"))
        });
    }
    group.finish();

    // The same with leases of 4096: what the path costs when the durable
    // lease write (an fsync) is rare.
    let mut group = c.benchmark_group("auc_milenage_lease4096");
    for n in [1usize, 5] {
        let mut auc = auc_with_lease(&format!("big{n}"), 4096);
        let mut rng = StdRng::seed_from_u64(1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| auc.vectors(&imsi, n, None, &mut rng).expect("vectors"))
        });
    }
    group.finish();

    // Leases of 4096 without the cache: the per-request store reads and
    // AES-GCM opening the cache saves.
    let mut group = c.benchmark_group("auc_milenage_lease4096_uncached");
    for n in [1usize, 5] {
        let config = AucConfig {
            lease_size: 4096,
            cache_size: 0,
            ..AucConfig::default()
        };
        let mut auc = auc_with_config(&format!("nocache{n}"), config);
        let mut rng = StdRng::seed_from_u64(1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| auc.vectors(&imsi, n, None, &mut rng).expect("vectors"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("gsup_send_auth_info");
    for n in [1u8, 5] {
        let mut hlr = HlrCore::new(
            auc(&format!("gsup{n}")),
            HlrConfig::default(),
            StdRng::seed_from_u64(2),
        );
        let conn = ConnInfo {
            id: ConnId(1),
            peer_name: b"MSC-bench\0".to_vec(),
        };
        hlr.peer_connected(&conn);
        let req = GsupMessage::send_auth_info_request(telsec_gsup::Imsi::new(IMSI).expect("imsi"))
            .with(Ie::NumVectorsRequested(n));
        let bytes = req.to_vec().expect("encode");
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let msg = GsupMessage::decode(&bytes).expect("decode");
                let out = hlr.handle(Instant::now(), &conn, msg);
                out.into_iter()
                    .map(|o| o.msg.to_vec().expect("encode").len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_auc);
criterion_main!(benches);
