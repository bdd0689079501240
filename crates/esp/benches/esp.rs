//! ESP data-plane throughput on one core, AES-GCM-128.
//!
//! - `esp_roundtrip`: seal on an outbound SA, then open in place on the
//!   inbound SA (replay window, ICV, padding, selector checks included):
//!   two AES-GCM passes per packet; throughput counts inner bytes once.
//! - `esp_seal`: the outbound SA path alone (one pass).
//! - `esp_open`: the AES-GCM open path alone ([`GcmKey::open_into`], one
//!   pass), since the SA path refuses to open the same packet twice.
//! - `ring_seal_floor`: ring's AES-GCM seal over the same plaintext length
//!   (payload + trailer) with an 8-byte AAD and nothing else: the floor the
//!   ESP layers add to.
//!
//! `benches/esp_vs_openssl.sh` runs this and `openssl speed` side by side.

use std::hint::black_box;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use telsec_esp::{Algorithm, Direction, GcmKey, SaConfig, SecurityAssociation};

const SIZES: [usize; 3] = [64, 512, 1400];
const KEY: [u8; 20] = [0x42; 20];

/// An IPv4/UDP packet of exactly `len` bytes (len >= 28).
fn inner_packet(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    p[..20].copy_from_slice(&[
        0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[20..24].copy_from_slice(&[0x13, 0x88, 0x13, 0x89]);
    p[24..26].copy_from_slice(&((len - 20) as u16).to_be_bytes());
    p
}

fn pair(now: Instant) -> (SecurityAssociation, SecurityAssociation) {
    let gw: IpAddr = "192.0.2.1".parse().expect("valid bench setup");
    let mut out = SaConfig::new(0x100, Direction::Outbound, Algorithm::AesGcm128, &KEY, gw);
    out.peer = Some(SocketAddr::new(
        "198.51.100.7".parse().expect("valid bench setup"),
        4500,
    ));
    out.esn = true;
    let mut inb = SaConfig::new(0x100, Direction::Inbound, Algorithm::AesGcm128, &KEY, gw);
    inb.esn = true;
    (
        SecurityAssociation::new(out, now).expect("valid bench setup"),
        SecurityAssociation::new(inb, now).expect("valid bench setup"),
    )
}

fn roundtrip(c: &mut Criterion) {
    let now = Instant::now();
    let src: IpAddr = "192.0.2.1".parse().expect("valid bench setup");
    let mut g = c.benchmark_group("esp_roundtrip_aes128gcm");
    for size in SIZES {
        let inner = inner_packet(size);
        let (mut tx, mut rx) = pair(now);
        let mut buf = vec![0u8; SecurityAssociation::sealed_len(size)];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &inner, |b, inner| {
            b.iter(|| {
                let s = tx.seal(now, inner, &mut buf).expect("valid bench setup");
                let o = rx
                    .open_in_place(now, src, &mut buf[..s.len])
                    .expect("valid bench setup");
                black_box(o.inner.len())
            })
        });
    }
    g.finish();
}

fn seal(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("esp_seal_aes128gcm");
    for size in SIZES {
        let inner = inner_packet(size);
        let (mut tx, _) = pair(now);
        let mut buf = vec![0u8; SecurityAssociation::sealed_len(size)];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &inner, |b, inner| {
            b.iter(|| {
                black_box(
                    tx.seal(now, inner, &mut buf)
                        .expect("valid bench setup")
                        .len,
                )
            })
        });
    }
    g.finish();
}

fn open(c: &mut Criterion) {
    let now = Instant::now();
    let key = GcmKey::new(Algorithm::AesGcm128, &KEY).expect("valid bench setup");
    let mut g = c.benchmark_group("esp_open_aes128gcm");
    for size in SIZES {
        let inner = inner_packet(size);
        let (mut tx, _) = pair(now);
        let mut packet = vec![0u8; SecurityAssociation::sealed_len(size)];
        let s = tx
            .seal(now, &inner, &mut packet)
            .expect("valid bench setup");
        packet.truncate(s.len);
        let mut out = vec![0u8; GcmKey::opened_buffer_len(s.len)];
        let high = Some((s.seq >> 32) as u32);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &packet, |b, packet| {
            b.iter(|| {
                black_box(
                    key.open_into(packet, high, &mut out)
                        .expect("valid bench setup")
                        .payload
                        .len(),
                )
            })
        });
    }
    g.finish();
}

fn ring_floor(c: &mut Criterion) {
    use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &KEY[..16]).expect("valid bench setup"));
    let mut g = c.benchmark_group("ring_seal_floor_aes128gcm");
    for size in SIZES {
        let mut buf = vec![0u8; telsec_esp::trailer::padded_len(size)];
        let mut n = 0u64;
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                n += 1;
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&n.to_be_bytes());
                let aad = [0u8, 0, 1, 0, 0, 0, 0, 1];
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(&aad),
                        &mut buf,
                    )
                    .expect("valid bench setup");
                black_box(tag)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, roundtrip, seal, open, ring_floor);
criterion_main!(benches);
