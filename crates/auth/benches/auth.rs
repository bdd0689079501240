//! Cost of the algorithm kernels, for sizing an AuC.
//!
//! `aes128_block` is the floor: one AES-128 encryption with an expanded key.
//! A MILENAGE quintet costs 5 such blocks and `Milenage::generate` 6
//! (see the `milenage` module docs), so their ratio to the floor shows the
//! overhead around the cipher.

use std::hint::black_box;
use std::time::Duration;

use aes::Aes128Enc;
use cipher::{BlockCipherEncrypt, KeyInit};
use criterion::{Criterion, criterion_group, criterion_main};
use telsec_auth::comp128::{comp128v1, comp128v3};
use telsec_auth::milenage::Milenage;
use telsec_auth::tuak::{Tuak, TuakParams};

const K: [u8; 16] = [
    0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
];
const OPC: [u8; 16] = [
    0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e, 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
];

/// A different RAND on every call, so no result can be reused.
fn next_rand(counter: &mut u128) -> [u8; 16] {
    *counter = counter.wrapping_add(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    counter.to_be_bytes()
}

fn aes_block(c: &mut Criterion) {
    let cipher = Aes128Enc::new(&K.into());
    let mut block = aes::Block::from(OPC);
    c.bench_function("aes128_block", |b| {
        b.iter(|| {
            cipher.encrypt_block(black_box(&mut block));
        })
    });
}

/// AES-128 throughput with independent blocks in flight (8 at a time), the
/// way `Milenage::generate` encrypts its output blocks: the per-block cost
/// here is the true floor for the 5-6 blocks a vector needs.
fn aes_block_batch(c: &mut Criterion) {
    let cipher = Aes128Enc::new(&K.into());
    let mut blocks = [aes::Block::from(OPC); 8];
    let mut group = c.benchmark_group("aes128_batch8");
    group.throughput(criterion::Throughput::Elements(8));
    group.bench_function("blocks", |b| {
        b.iter(|| cipher.encrypt_blocks(black_box(&mut blocks)))
    });
    group.finish();
}

fn milenage(c: &mut Criterion) {
    let m = Milenage::with_opc(&K, &OPC);
    let (sqn, amf) = ([0, 0, 0, 0, 0, 0x20], [0x80, 0]);
    let mut counter = 0u128;
    c.bench_function("milenage_vector", |b| {
        b.iter(|| m.generate(&black_box(next_rand(&mut counter)), &sqn, &amf))
    });
    c.bench_function("milenage_quintet", |b| {
        b.iter(|| m.f1_f2345(&black_box(next_rand(&mut counter)), &sqn, &amf))
    });
    // The AuC path: a request's vectors generated together, 8 at a time.
    let mut group = c.benchmark_group("milenage_quintets_batch8");
    group.throughput(criterion::Throughput::Elements(8));
    let mut out = Vec::with_capacity(8);
    // Inputs prepared beforehand so that only vector generation is timed.
    let pool: Vec<([u8; 16], [u8; 6])> =
        (0..1024).map(|_| (next_rand(&mut counter), sqn)).collect();
    let mut at = 0;
    group.bench_function("vectors", |b| {
        b.iter(|| {
            at = (at + 8) % pool.len();
            out.clear();
            m.f1_f2345_many(black_box(&pool[at..at + 8]), &amf, &mut out);
            black_box(&out);
        })
    });
    group.finish();
    // A larger request (32 vectors per call), to show the cost per vector
    // once the per-call overhead is spread over several batches.
    let mut group = c.benchmark_group("milenage_quintets_batch32");
    group.throughput(criterion::Throughput::Elements(32));
    let mut out = Vec::with_capacity(32);
    let mut at = 0;
    group.bench_function("vectors", |b| {
        b.iter(|| {
            at = (at + 32) % pool.len();
            out.clear();
            m.f1_f2345_many(black_box(&pool[at..at + 32]), &amf, &mut out);
            black_box(&out);
        })
    });
    group.finish();
}

/// The same work in `oxirush-security` (a dev-dependency used as a second
/// opinion), measured in the same run: a single vector, and 8 vectors of one
/// subscriber through its batch API.
fn oxirush_milenage(c: &mut Criterion) {
    use oxirush_security::Rand;
    use oxirush_security::milenage::{self as ox, Amf, Opc, Sqn, VectorJob};
    let subscriber = ox::Milenage::new(&ox::K::new(&K), &Opc::new(&OPC));
    let sqn = match Sqn::try_from(0x20u64) {
        Ok(sqn) => sqn,
        Err(e) => panic!("SQN 0x20 is below 2^48: {e:?}"),
    };
    let amf = Amf::new(&[0x80, 0x00]);
    let mut counter = 0u128;
    c.bench_function("oxirush_milenage_vector", |b| {
        b.iter(|| {
            let rand = Rand::new(&next_rand(&mut counter));
            subscriber.authentication_vector(black_box(&rand), &sqn, &amf)
        })
    });
    let pool: Vec<Rand> = (0..1024)
        .map(|_| Rand::new(&next_rand(&mut counter)))
        .collect();
    let mut at = 0;
    let mut group = c.benchmark_group("oxirush_milenage_batch8");
    group.throughput(criterion::Throughput::Elements(8));
    group.bench_function("vectors", |b| {
        b.iter(|| {
            at = (at + 8) % pool.len();
            let mut jobs: Vec<VectorJob<'_>> = pool[at..at + 8]
                .iter()
                .map(|rand| VectorJob::new(&subscriber, rand, &sqn, &amf))
                .collect();
            ox::authentication_vector_batch(black_box(&mut jobs));
            black_box(&jobs);
        })
    });
    group.finish();
}

fn comp128(c: &mut Criterion) {
    let mut counter = 0u128;
    c.bench_function("comp128v1", |b| {
        b.iter(|| comp128v1(&K, &black_box(next_rand(&mut counter))))
    });
    c.bench_function("comp128v3", |b| {
        b.iter(|| comp128v3(&K, &black_box(next_rand(&mut counter))))
    });
}

fn tuak(c: &mut Criterion) {
    let t = match Tuak::with_topc(&K, &[0x55; 32], TuakParams::AKA) {
        Ok(t) => t,
        Err(e) => panic!("TUAK setup: {e}"),
    };
    let (sqn, amf) = ([0, 0, 0, 0, 0, 0x20], [0x80, 0]);
    let mut counter = 0u128;
    c.bench_function("tuak_vector", |b| {
        b.iter(|| t.generate(&black_box(next_rand(&mut counter)), &sqn, &amf))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = aes_block, aes_block_batch, milenage, oxirush_milenage, comp128, tuak
}
criterion_main!(benches);
