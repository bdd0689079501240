//! Key deliveries per second on one core, both ends.
//!
//! - `issue`: the home agent's `on_vector` for one subscriber: a random
//!   MN-HA key, the Ks_NAF, KIc and KID derivations (3 HMAC-SHA-256 runs), the
//!   CMAC and the AES-CBC ciphering of a 122-octet packet. The vector is
//!   made outside the timed part (the HLR's cost, measured in telsec-auth).
//! - `unwrap`: the node's `Receiver::unwrap` of one packet through the soft
//!   USIM's APDU interface (SELECT, AUTHENTICATE, GET RESPONSE; MILENAGE
//!   f1..f5), the same derivation, deciphering, CMAC and record decoding.
//!   Each iteration needs a packet the USIM has not seen, so packets are
//!   prepared in the untimed setup.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use telsec_auth::aka::{AuthVector, generate_vector};
use telsec_auth::milenage::Milenage;
use telsec_auth::sqn::{Sqn, SqnGenerator};
use telsec_auth::usim::{CardAlgorithm, SoftUsim, UsimConfig};
use telsec_keydist::{Issuer, IssuerConfig, Receiver, ReceiverConfig, Subscriber};

// MILENAGE test set 1 (TS 35.207 §4-6): K and OPc.
const K: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];
const IMSI: &str = "001010000000001";
const FQDN: &str = "ha.home.example.net";
const NOW_MS: u64 = 1_750_000_000_000;

struct Hlr {
    alg: Milenage,
    sqn: SqnGenerator,
    n: u128,
}

impl Hlr {
    fn new() -> Hlr {
        Hlr {
            alg: Milenage::with_opc(&K, &OPC),
            sqn: SqnGenerator::new(Sqn::ZERO, 5).unwrap_or_else(|e| panic!("{e}")),
            n: 0,
        }
    }

    fn vector(&mut self) -> AuthVector {
        self.n = self
            .n
            .wrapping_add(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        let sqn = self.sqn.next(0).unwrap_or_else(|e| panic!("{e}"));
        generate_vector(&self.alg, &self.n.to_be_bytes(), sqn, &[0x80, 0])
    }
}

fn issuer() -> Issuer<StdRng> {
    let config = IssuerConfig::new(FQDN, Ipv4Addr::new(10, 0, 0, 1));
    let mut issuer =
        Issuer::new(config, StdRng::seed_from_u64(1)).unwrap_or_else(|e| panic!("{e}"));
    issuer
        .provision(Subscriber {
            imsi: IMSI.into(),
            mnc_len: 2,
            msisdn: "491700000001".into(),
            home_address: Ipv4Addr::new(10, 0, 0, 5),
        })
        .unwrap_or_else(|e| panic!("{e}"));
    issuer
}

fn issue(c: &mut Criterion) {
    let mut hlr = Hlr::new();
    let mut issuer = issuer();
    let mut group = c.benchmark_group("keydist");
    group.throughput(Throughput::Elements(1));
    group.bench_function("issue", |b| {
        b.iter_batched(
            || hlr.vector(),
            |v| {
                issuer
                    .on_vector(NOW_MS, IMSI, black_box(&v))
                    .unwrap_or_else(|e| panic!("{e}"))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn unwrap(c: &mut Criterion) {
    let mut hlr = Hlr::new();
    let mut issuer = issuer();
    let config = UsimConfig::new(
        IMSI,
        CardAlgorithm::Aka(Box::new(Milenage::with_opc(&K, &OPC))),
    );
    let mut card = SoftUsim::new(config).unwrap_or_else(|e| panic!("{e}"));
    let mut node =
        Receiver::new(ReceiverConfig::new(IMSI, 2, FQDN)).unwrap_or_else(|e| panic!("{e}"));
    let mut group = c.benchmark_group("keydist");
    group.throughput(Throughput::Elements(1));
    group.bench_function("unwrap", |b| {
        b.iter_batched(
            || {
                let v = hlr.vector();
                issuer
                    .on_vector(NOW_MS, IMSI, &v)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .sms_payload
            },
            |packet| {
                node.unwrap(&mut card, black_box(&packet))
                    .unwrap_or_else(|e| panic!("{e}"))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, issue, unwrap);
criterion_main!(benches);
