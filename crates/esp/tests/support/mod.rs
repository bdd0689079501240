//! Shared helpers for the peer interop tests (scapy, tshark).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

use telsec_esp::udp_encap::{self, IPPROTO_UDP, Ipv4Outer, Ipv6Outer};

/// Whether the environment asks to skip tests that need an external peer.
pub fn peers_skipped() -> bool {
    std::env::var("TELSEC_SKIP_PEERS").is_ok_and(|v| v == "1")
}

/// Checks that `program args` runs and exits 0. If it does not, the test
/// fails loudly, unless TELSEC_SKIP_PEERS=1, in which case this returns
/// false and the caller returns early.
pub fn require_peer(what: &str, program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if peers_skipped() {
        eprintln!("SKIPPED: {what} is not available and TELSEC_SKIP_PEERS=1");
        return false;
    }
    panic!(
        "{what} is required for this interop test (`{program} {}` failed); install it or set TELSEC_SKIP_PEERS=1",
        args.join(" ")
    );
}

/// An IPv4/UDP packet with correct IPv4 and UDP checksums.
pub fn ipv4_udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 28 + payload.len()];
    p[28..].copy_from_slice(payload);
    udp_encap::emit_udp_header(&mut p[20..], sport, dport, payload.len()).expect("fits");
    let c = udp_encap::udp_checksum(src.into(), dst.into(), &p[20..]);
    p[26..28].copy_from_slice(&c.to_be_bytes());
    Ipv4Outer {
        src,
        dst,
        protocol: IPPROTO_UDP,
        ident: 0x4242,
        ttl: 63,
    }
    .emit(&mut p, 8 + payload.len())
    .expect("fits");
    p
}

/// An IPv6/UDP packet with a correct UDP checksum.
pub fn ipv6_udp(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 48 + payload.len()];
    p[48..].copy_from_slice(payload);
    udp_encap::emit_udp_header(&mut p[40..], sport, dport, payload.len()).expect("fits");
    let c = udp_encap::udp_checksum(IpAddr::V6(src), IpAddr::V6(dst), &p[40..]);
    p[46..48].copy_from_slice(&c.to_be_bytes());
    Ipv6Outer {
        src,
        dst,
        next_header: IPPROTO_UDP,
        hop_limit: 63,
    }
    .emit(&mut p, 8 + payload.len())
    .expect("fits");
    p
}

/// Deterministic bytes for keys and payloads.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}
